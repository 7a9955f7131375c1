#include "ngx_http_pbx_webhook_early_body.hpp"

#include <algorithm>

namespace pbxwebhook {

namespace {

// Enough to read a temp file in a few calls, small enough for the pool.
constexpr std::size_t file_chunk = 16384;

// False when the validator has decided, or, with why set, when the file
// could not be read.
bool feed_file(ngx_http_request_t *r, const ngx_buf_t *b, Validator &validator,
               const char *&why) noexcept
{
    off_t size = b->file_last - b->file_pos;
    std::size_t chunk = std::min(static_cast<std::size_t>(size), file_chunk);
    u_char *buf = static_cast<u_char *>(ngx_palloc(r->pool, chunk));
    if (buf == nullptr) {
        why = "out of memory";
        return false;
    }

    bool going = true;
    for (off_t at = b->file_pos; going && at < b->file_last;) {
        std::size_t want = std::min(static_cast<std::size_t>(b->file_last - at), chunk);
        ssize_t n = ngx_read_file(b->file, buf, want, at);
        if (n <= 0) {
            why = "request body temp file unreadable";
            going = false;
            break;
        }
        going = validator.feed(buf, static_cast<std::size_t>(n));
        at += n;
    }

    ngx_pfree(r->pool, buf);
    return going;
}

}  // namespace

bool early_body_whole(const ngx_http_request_t *r) noexcept
{
    const ngx_http_request_body_t *rb = r->request_body;

    if (rb->last_saved) {
        return true;
    }
    // No Content-Length and not chunked: nginx saw there was no body.
    return rb->rest == -1 && rb->bufs == nullptr && r->headers_in.content_length_n < 0
           && !r->headers_in.chunked;
}

Verdict judge_early_body(ngx_http_request_t *r, Validator &validator) noexcept
{
    for (ngx_chain_t *cl = r->request_body->bufs; cl; cl = cl->next) {
        const ngx_buf_t *b = cl->buf;

        if (ngx_buf_in_memory(b)) {
            if (!validator.feed(b->pos, static_cast<std::size_t>(b->last - b->pos))) {
                return validator.verdict();
            }
        } else if (b->in_file && b->file_last > b->file_pos) {
            const char *why = nullptr;
            if (!feed_file(r, b, validator, why)) {
                return why != nullptr ? Verdict::reject(Reason::internal, "%s", why)
                                      : validator.verdict();
            }
        }
    }

    return validator.finish();
}

}  // namespace pbxwebhook
