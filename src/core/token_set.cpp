#include "token_set.hpp"

#include <cstdint>

namespace pbxwebhook {

namespace {

// 1 when x is zero, else 0, without a branch.
std::size_t is_zero(std::size_t x) noexcept
{
    return 1 ^ ((x | (0 - x)) >> (sizeof(std::size_t) * 8 - 1));
}

std::size_t differs(const std::string &secret, std::string_view token) noexcept
{
    const unsigned char *s = reinterpret_cast<const unsigned char *>(secret.data());
    const unsigned char *t = reinterpret_cast<const unsigned char *>(token.data());
    std::size_t slen = secret.size();
    std::size_t diff = slen ^ token.size();

    if (slen == 0) {
        return diff | 1;
    }

    // A secret shorter than the token is read from its start again; the
    // length difference above already decides the result.
    for (std::size_t i = 0, j = 0; i < token.size(); i++) {
        diff |= static_cast<std::size_t>(s[j] ^ t[i]);
        j++;
        j &= 0 - (1 ^ is_zero(j ^ slen));
    }
    return diff;
}

}  // namespace

std::size_t TokenSet::match(std::string_view token) const noexcept
{
    std::size_t found = 0;

    for (std::size_t k = 0; k < secrets_.size(); k++) {
        std::size_t equal = is_zero(differs(secrets_[k], token));
        std::size_t first = is_zero(found);
        found |= (0 - (equal & first)) & (k + 1);
    }
    return found;
}

}  // namespace pbxwebhook
