#include "control_bytes.hpp"

namespace pbxwebhook {

bool has_control_bytes(std::string_view text) noexcept
{
    for (unsigned char c : text) {
        if (is_control_byte(c)) {
            return true;
        }
    }
    return false;
}

void replace_control_bytes(std::string_view text, char *out) noexcept
{
    for (std::size_t i = 0; i < text.size(); i++) {
        unsigned char c = static_cast<unsigned char>(text[i]);
        out[i] = is_control_byte(c) ? '?' : static_cast<char>(c);
    }
}

}  // namespace pbxwebhook
