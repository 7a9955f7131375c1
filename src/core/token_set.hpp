#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace pbxwebhook {

// The accepted secrets of one location, in configuration order.
class TokenSet {
public:
    void add(std::string_view secret) { secrets_.emplace_back(secret); }

    std::size_t size() const noexcept { return secrets_.size(); }
    bool empty() const noexcept { return secrets_.empty(); }

    // 1-based index of the first secret equal to token, 0 when none is.
    // Every secret is compared over the whole token, whatever matched
    // before: the time taken depends on the token's length and the number
    // and lengths of the secrets, never on their bytes.
    std::size_t match(std::string_view token) const noexcept;

private:
    std::vector<std::string> secrets_;
};

}  // namespace pbxwebhook
