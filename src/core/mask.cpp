#include "mask.hpp"

namespace pbxwebhook {

namespace {

bool is_digit(char c) noexcept
{
    return c >= '0' && c <= '9';
}

}  // namespace

void mask_digits(std::string_view text, std::size_t keep, char *out) noexcept
{
    std::size_t digits = 0;
    for (char c : text) {
        digits += is_digit(c);
    }
    std::size_t to_mask = digits > keep ? digits - keep : 0;

    for (std::size_t i = 0; i < text.size(); i++) {
        char c = text[i];
        if (to_mask > 0 && is_digit(c)) {
            c = '*';
            to_mask--;
        }
        out[i] = c;
    }
}

}  // namespace pbxwebhook
