#pragma once

#include <cstddef>
#include <string_view>

#include "reason.hpp"

namespace pbxwebhook {

// A decision and the short text that explains it. The text is kept inline so
// a verdict can be copied into any request context without an allocation.
class Verdict {
public:
    static constexpr std::size_t detail_capacity = 120;

    Verdict() noexcept = default;

    static Verdict accept() noexcept { return Verdict(); }

    // printf-style detail, cut to detail_capacity.
    static Verdict reject(Reason reason, const char *format, ...) noexcept
        __attribute__((format(printf, 2, 3)));

    Reason reason() const noexcept { return reason_; }
    int status() const noexcept { return reason_status(reason_); }
    bool accepted() const noexcept { return reason_ == Reason::ok; }
    std::string_view detail() const noexcept { return {detail_, detail_len_}; }

private:
    Reason reason_ = Reason::ok;
    std::size_t detail_len_ = 0;
    char detail_[detail_capacity] = {};
};

// Copies text from a request into a detail: at most max_bytes, with control
// bytes and double quotes replaced, so a detail is always one log line and
// a quoted name in it cannot be confused with the text around it.
std::size_t quote_for_detail(std::string_view text, char *out, std::size_t max_bytes) noexcept;

}  // namespace pbxwebhook
