#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace pbxwebhook {

// Checks a byte stream, split anywhere, for strict UTF-8 (RFC 3629: no
// overlong forms, no surrogates, nothing above U+10FFFF) and for the two
// control bytes yajl would take as whitespace though RFC 8259 does not
// (vertical tab and form feed). Every other control byte yajl rejects itself.
class Utf8Checker {
public:
    // Offset within [data, data + size) of the first bad byte, or size.
    std::size_t scan(const unsigned char *data, std::size_t size) noexcept;

    // False when the stream ended inside a sequence.
    bool complete() const noexcept { return need_ == 0; }

private:
    std::uint8_t need_ = 0;  // continuation bytes still expected
    std::uint8_t low_ = 0x80;  // bounds of the next continuation byte
    std::uint8_t high_ = 0xbf;
};

// The longest prefix of text no longer than max_bytes that does not end
// inside a UTF-8 sequence.
std::size_t utf8_cut(std::string_view text, std::size_t max_bytes) noexcept;

}  // namespace pbxwebhook
