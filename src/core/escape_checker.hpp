#pragma once

#include <cstddef>
#include <cstdint>

namespace pbxwebhook {

// Finds, in a JSON byte stream split anywhere, the \u escapes that name half
// a surrogate pair: a high surrogate not followed at once by an escaped low
// one, or a low one alone. yajl decodes those into bytes that are not UTF-8,
// or drops characters; RFC 8259 leaves them to the implementation, and here
// they are a syntax error.
//
// Only backslashes are looked at, which memchr finds fast. A backslash
// outside a string is yajl's syntax error, found no later than here, so
// strings need not be tracked.
class EscapeChecker {
public:
    // Offset within [data, data + size) of the byte that shows a bad escape,
    // or size.
    std::size_t scan(const unsigned char *data, std::size_t size) noexcept;

private:
    enum class State : std::uint8_t { text, after_backslash, in_hex };

    bool finish_escape() noexcept;

    State state_ = State::text;
    std::uint8_t hex_digits_ = 0;
    bool low_expected_ = false;  // a high surrogate was just read
    std::uint32_t code_ = 0;
};

}  // namespace pbxwebhook
