#include "token_set.hpp"

#include <cstdint>
#include <cstring>

namespace pbxwebhook {

namespace {

// 1 when x is zero, else 0, without a branch.
std::size_t is_zero(std::size_t x) noexcept
{
    return 1 ^ ((x | (0 - x)) >> (sizeof(std::size_t) * 8 - 1));
}

// Non-zero when the first n bytes of a and b differ; eight at a time, and
// never returning early.
std::uint64_t differs(const char *a, const char *b, std::size_t n) noexcept
{
    std::uint64_t diff = 0;
    std::size_t i = 0;

    for (; i + 8 <= n; i += 8) {
        std::uint64_t x;
        std::uint64_t y;
        std::memcpy(&x, a + i, 8);
        std::memcpy(&y, b + i, 8);
        diff |= x ^ y;
    }
    for (; i < n; i++) {
        diff |= static_cast<unsigned char>(a[i] ^ b[i]);
    }
    return diff;
}

}  // namespace

void TokenSet::add(std::string_view secret, TypeScope scope)
{
    if (secret.size() > longest_) {
        longest_ = secret.size();
        for (std::string &padded : padded_) {
            padded.resize(longest_, '\0');
        }
    }
    std::string padded(secret);
    padded.resize(longest_, '\0');
    padded_.push_back(std::move(padded));
    lengths_.push_back(secret.size());
    scopes_.push_back(std::move(scope));
}

const TypeScope &TokenSet::scope(std::size_t id) const noexcept
{
    static const TypeScope unscoped;
    return (id == 0 || id > scopes_.size()) ? unscoped : scopes_[id - 1];
}

std::size_t TokenSet::match(std::string_view token) const noexcept
{
    // Longer than every secret: equal to none. This depends on the longest
    // secret's length only, which the comparisons below do as well.
    if (token.size() > longest_) {
        return 0;
    }

    std::size_t found = 0;
    for (std::size_t k = 0; k < padded_.size(); k++) {
        // An empty secret never matches: an empty token is no token.
        std::uint64_t diff = (lengths_[k] ^ token.size()) | is_zero(lengths_[k])
                             | differs(padded_[k].data(), token.data(), token.size());
        std::size_t equal = is_zero(diff);
        std::size_t first = is_zero(found);
        found |= (0 - (equal & first)) & (k + 1);
    }
    return found;
}

}  // namespace pbxwebhook
