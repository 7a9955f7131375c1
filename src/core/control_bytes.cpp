#include "control_bytes.hpp"

namespace pbxwebhook {

namespace {

bool is_control(unsigned char c) noexcept
{
    return c < 0x20 || c == 0x7f;
}

}  // namespace

bool has_control_bytes(std::string_view text) noexcept
{
    for (unsigned char c : text) {
        if (is_control(c)) {
            return true;
        }
    }
    return false;
}

void replace_control_bytes(std::string_view text, char *out) noexcept
{
    for (std::size_t i = 0; i < text.size(); i++) {
        unsigned char c = static_cast<unsigned char>(text[i]);
        out[i] = is_control(c) ? '?' : static_cast<char>(c);
    }
}

}  // namespace pbxwebhook
