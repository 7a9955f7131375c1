#include "escape_checker.hpp"

#include <cstring>

namespace pbxwebhook {

namespace {

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
    std::size_t i = 0;

    while (i < size) {
        switch (state_) {
        case State::text: {
            if (low_expected_) {
                // Only "\u" and a low surrogate may follow a high one.
                if (data[i] != '\\') {
                    return i;
                }
                state_ = State::after_backslash;
                i++;
                break;
            }
            const void *found = std::memchr(data + i, '\\', size - i);
            if (found == nullptr) {
                return size;
            }
            i = static_cast<const unsigned char *>(found) - data + 1;
            state_ = State::after_backslash;
            break;
        }

        case State::after_backslash:
            if (data[i] == 'u') {
                state_ = State::in_hex;
                hex_digits_ = 0;
                code_ = 0;
            } else if (low_expected_) {
                return i;
            } else {
                state_ = State::text;
            }
            i++;
            break;

        case State::in_hex: {
            int v = hex_value(data[i]);
            if (v < 0) {
                // Not an escape yajl accepts either; it reports this byte.
                state_ = State::text;
                low_expected_ = false;
                break;
            }
            code_ = code_ << 4 | static_cast<std::uint32_t>(v);
            if (++hex_digits_ == 4) {
                state_ = State::text;
                if (!finish_escape()) {
                    return i;
                }
            }
            i++;
            break;
        }
        }
    }
    return size;
}

}  // namespace pbxwebhook
