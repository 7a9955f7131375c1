#pragma once

#include <cstddef>
#include <string_view>

namespace pbxwebhook {

// An unescaped JSON string may hold CR, LF or NUL; put into a header with
// proxy_set_header, that would let a caller's name add headers of its own.
// Variables therefore show such bytes (0x00-0x1f, 0x7f) as '?'.
inline bool is_control_byte(unsigned char c) noexcept
{
    return c < 0x20 || c == 0x7f;
}

bool has_control_bytes(std::string_view text) noexcept;

// Copies text to out (text.size() bytes), control bytes replaced by '?'.
void replace_control_bytes(std::string_view text, char *out) noexcept;

}  // namespace pbxwebhook
