#include "utf8.hpp"

#include <cstring>

namespace pbxwebhook {

namespace {

bool rejected_ascii(unsigned char c) noexcept
{
    return c == 0x0b || c == 0x0c;
}

// True when none of the 8 bytes has its high bit set or is 0x0b or 0x0c.
bool plain_word(const unsigned char *p) noexcept
{
    std::uint64_t w;
    std::memcpy(&w, p, sizeof(w));

    constexpr std::uint64_t ones = 0x0101010101010101ull;
    constexpr std::uint64_t highs = 0x8080808080808080ull;

    std::uint64_t vt = w ^ (ones * 0x0b);
    std::uint64_t ff = w ^ (ones * 0x0c);
    std::uint64_t zero_byte = ((vt - ones) & ~vt) | ((ff - ones) & ~ff);
    return ((w | zero_byte) & highs) == 0;
}

}  // namespace

std::size_t Utf8Checker::scan(const unsigned char *data, std::size_t size) noexcept
{
    std::size_t i = 0;

    while (i < size) {
        if (need_ == 0) {
            while (i + 8 <= size && plain_word(data + i)) {
                i += 8;
            }
            if (i == size) {
                break;
            }

            unsigned char c = data[i];

            if (c < 0x80) {
                if (rejected_ascii(c)) {
                    return i;
                }
                i++;
                continue;
            }

            low_ = 0x80;
            high_ = 0xbf;

            if (c >= 0xc2 && c <= 0xdf) {
                need_ = 1;
            } else if (c >= 0xe0 && c <= 0xef) {
                need_ = 2;
                if (c == 0xe0) {
                    low_ = 0xa0;
                } else if (c == 0xed) {
                    high_ = 0x9f;
                }
            } else if (c >= 0xf0 && c <= 0xf4) {
                need_ = 3;
                if (c == 0xf0) {
                    low_ = 0x90;
                } else if (c == 0xf4) {
                    high_ = 0x8f;
                }
            } else {
                return i;
            }
            i++;
            continue;
        }

        unsigned char c = data[i];
        if (c < low_ || c > high_) {
            return i;
        }
        low_ = 0x80;
        high_ = 0xbf;
        need_--;
        i++;
    }

    return size;
}

std::size_t utf8_cut(std::string_view text, std::size_t max_bytes) noexcept
{
    if (text.size() <= max_bytes) {
        return text.size();
    }

    std::size_t n = max_bytes;
    while (n > 0 && (static_cast<unsigned char>(text[n]) & 0xc0) == 0x80) {
        n--;
    }
    return n;
}

}  // namespace pbxwebhook
