#pragma once

#include <cstddef>

#include "ngx.hpp"

#if (NGX_OPENSSL)
// OPENSSL_SUPPRESS_DEPRECATED, set by nginx's ngx_event_openssl.h, keeps
// OpenSSL 3 quiet about the SHA1_* calls.
#include <openssl/sha.h>
#else
extern "C" {
#include <ngx_sha1.h>
}
#endif

#include "dedup_table.hpp"

namespace pbxwebhook {

// The SHA-1 digest of a dedup key, fed as the key streams by. OpenSSL's
// when nginx was built with it: that one uses the CPU's SHA instructions
// where there are some, and nginx's own C code took ~1 µs of a 283-byte
// event's ~30 (perf, bench/RESULTS.md). Both give the same digest, so a
// zone's keys do not depend on the build. The low-level calls, not EVP:
// EVP allocates a context per digest, and this one lives in the request's
// pool.
class KeyDigest {
public:
    void init() noexcept
    {
#if (NGX_OPENSSL)
        SHA1_Init(&ctx_);
#else
        ngx_sha1_init(&ctx_);
#endif
    }

    void update(const void *data, std::size_t len) noexcept
    {
#if (NGX_OPENSSL)
        SHA1_Update(&ctx_, data, len);
#else
        ngx_sha1_update(&ctx_, data, len);
#endif
    }

    void final(DedupKey &key) noexcept
    {
        static_assert(DedupKey::size == 20, "the key is a SHA-1 digest");
#if (NGX_OPENSSL)
        SHA1_Final(key.bytes, &ctx_);
#else
        ngx_sha1_final(key.bytes, &ctx_);
#endif
    }

private:
#if (NGX_OPENSSL)
    SHA_CTX ctx_;
#else
    ngx_sha1_t ctx_;
#endif
};

}  // namespace pbxwebhook
