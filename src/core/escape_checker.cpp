#include "escape_checker.hpp"

#include <cstring>

namespace pbxwebhook {

namespace {

constexpr std::uint64_t ones = 0x0101010101010101ull;
constexpr std::uint64_t highs = 0x8080808080808080ull;

bool has_byte(std::uint64_t w, unsigned char c) noexcept
{
    std::uint64_t x = w ^ (ones * c);
    return ((x - ones) & ~x & highs) != 0;
}

// True when none of the 8 bytes at p is a quote, or (inside a string) a
// backslash: the scanner's state cannot change over them.
bool quiet_word(const unsigned char *p, bool in_string) noexcept
{
    std::uint64_t w;
    std::memcpy(&w, p, sizeof(w));
    return !has_byte(w, '"') && !(in_string && has_byte(w, '\\'));
}

int hex_value(unsigned char c) noexcept
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    c |= 0x20;
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    return -1;
}

}  // namespace

bool EscapeChecker::finish_escape() noexcept
{
    bool high = code_ >= 0xd800 && code_ <= 0xdbff;
    bool low = code_ >= 0xdc00 && code_ <= 0xdfff;

    if (low_expected_) {
        low_expected_ = false;
        return low;
    }
    if (low) {
        return false;
    }
    low_expected_ = high;
    return true;
}

std::size_t EscapeChecker::scan(const unsigned char *data, std::size_t size) noexcept
{
    for (std::size_t i = 0; i < size; i++) {
        unsigned char c = data[i];

        switch (state_) {
        case State::outside:
            while (i + 8 <= size && quiet_word(data + i, false)) {
                i += 8;
            }
            if (i < size && data[i] == '"') {
                state_ = State::in_string;
            }
            break;

        case State::in_string:
            if (!low_expected_) {
                while (i + 8 <= size && quiet_word(data + i, true)) {
                    i += 8;
                }
                if (i == size) {
                    return size;
                }
                c = data[i];
            }
            if (c == '\\') {
                state_ = State::after_backslash;
            } else if (low_expected_) {
                return i;
            } else if (c == '"') {
                state_ = State::outside;
            }
            break;

        case State::after_backslash:
            if (c == 'u') {
                state_ = State::in_hex;
                hex_digits_ = 0;
                code_ = 0;
            } else if (low_expected_) {
                return i;
            } else {
                state_ = State::in_string;
            }
            break;

        case State::in_hex: {
            int v = hex_value(c);
            if (v < 0) {
                // Not an escape yajl accepts either; it reports this byte.
                state_ = State::in_string;
                low_expected_ = false;
                break;
            }
            code_ = code_ << 4 | static_cast<std::uint32_t>(v);
            if (++hex_digits_ == 4) {
                state_ = State::in_string;
                if (!finish_escape()) {
                    return i;
                }
            }
            break;
        }
        }
    }
    return size;
}

}  // namespace pbxwebhook
