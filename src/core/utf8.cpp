#include "utf8.hpp"

#include <cstring>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

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

// Offset from i of the first byte that is not plain ASCII (high bit set,
// or 0x0b or 0x0c), or size: bodies are mostly ASCII, and this is the only
// look at each byte besides yajl's.
std::size_t skip_plain(const unsigned char *data, std::size_t i, std::size_t size) noexcept
{
#if defined(__SSE2__)
    const __m128i vt = _mm_set1_epi8(0x0b);
    const __m128i ff = _mm_set1_epi8(0x0c);
    auto flagged = [&](std::size_t at) {
        __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i *>(data + at));
        return _mm_or_si128(v, _mm_or_si128(_mm_cmpeq_epi8(v, vt), _mm_cmpeq_epi8(v, ff)));
    };
    auto first = [](__m128i flags) {
        return static_cast<std::size_t>(
            __builtin_ctz(static_cast<unsigned>(_mm_movemask_epi8(flags))));
    };
    for (; i + 32 <= size; i += 32) {
        __m128i a = flagged(i);
        __m128i b = flagged(i + 16);
        if (_mm_movemask_epi8(_mm_or_si128(a, b)) != 0) {
            return _mm_movemask_epi8(a) != 0 ? i + first(a) : i + 16 + first(b);
        }
    }
    if (i + 16 <= size) {
        __m128i a = flagged(i);
        if (_mm_movemask_epi8(a) != 0) {
            return i + first(a);
        }
        i += 16;
    }
#endif
    while (i + 8 <= size && plain_word(data + i)) {
        i += 8;
    }
    while (i < size && data[i] < 0x80 && !rejected_ascii(data[i])) {
        i++;
    }
    return i;
}

}  // namespace

std::size_t Utf8Checker::scan(const unsigned char *data, std::size_t size) noexcept
{
    std::size_t i = 0;

    while (i < size) {
        if (need_ == 0) {
            i = skip_plain(data, i, size);
            if (i == size) {
                break;
            }

            unsigned char c = data[i];

            if (c < 0x80) {
                return i;  // 0x0b or 0x0c
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
