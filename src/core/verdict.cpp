#include "verdict.hpp"

#include <cstdarg>
#include <cstdio>

#include "control_bytes.hpp"
#include "utf8.hpp"

namespace pbxwebhook {

Verdict Verdict::reject(Reason reason, const char *format, ...) noexcept
{
    Verdict verdict;
    verdict.reason_ = reason;

    va_list args;
    va_start(args, format);
    int n = std::vsnprintf(verdict.detail_, sizeof(verdict.detail_), format, args);
    va_end(args);

    if (n < 0) {
        n = 0;
    }
    verdict.detail_len_ = static_cast<std::size_t>(n) < sizeof(verdict.detail_)
                              ? static_cast<std::size_t>(n)
                              : sizeof(verdict.detail_) - 1;
    return verdict;
}

std::size_t quote_for_detail(std::string_view text, char *out, std::size_t max_bytes) noexcept
{
    std::size_t n = 0;
    for (unsigned char c : text.substr(0, utf8_cut(text, max_bytes))) {
        out[n++] = (is_control_byte(c) || c == '"') ? '?' : static_cast<char>(c);
    }
    out[n] = '\0';
    return n;
}

}  // namespace pbxwebhook
