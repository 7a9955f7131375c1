#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "type_scope.hpp"

namespace pbxwebhook {

// The accepted secrets of one location, in configuration order, each with
// the event types it may send.
class TokenSet {
public:
    void add(std::string_view secret, TypeScope scope = {});

    std::size_t size() const noexcept { return lengths_.size(); }
    bool empty() const noexcept { return lengths_.empty(); }

    // 1-based index of the first secret equal to token, 0 when none is.
    // Every secret is compared over the whole token, whatever matched
    // before: the time taken depends on the token's length, the number of
    // secrets and the longest one's length, never on their bytes.
    std::size_t match(std::string_view token) const noexcept;

    // The scope of the secret numbered id (1-based); unscoped for 0 or a
    // number past the last secret.
    const TypeScope &scope(std::size_t id) const noexcept;

private:
    // Every secret padded with zeros to the longest one's length, so any
    // token no longer than that is compared byte for byte with no wrapping.
    std::vector<std::string> padded_;
    std::vector<std::size_t> lengths_;
    std::vector<TypeScope> scopes_;
    std::size_t longest_ = 0;
};

}  // namespace pbxwebhook
