#pragma once

#include <cstdarg>
#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "allocator.hpp"

namespace pbxwebhook::fuzz {

// A failed property aborts, which libFuzzer records as a crash with the input.
[[noreturn]] __attribute__((format(printf, 1, 2))) inline void fail(const char *format, ...)
{
    va_list args;
    va_start(args, format);
    std::fputs("fuzz property violated: ", stderr);
    std::vfprintf(stderr, format, args);
    std::fputc('\n', stderr);
    va_end(args);
    std::abort();
}

// One malloc per block, so ASan sees every block's bounds; all go at once.
class Arena {
public:
    explicit Arena(std::size_t budget) noexcept : budget_(budget) {}
    ~Arena() { release(); }

    Arena(const Arena &) = delete;
    Arena &operator=(const Arena &) = delete;

    Allocator allocator() noexcept { return {allocate, this}; }
    bool refused() const noexcept { return refused_; }

    void release() noexcept
    {
        while (head_ != nullptr) {
            Block *next = head_->next;
            std::free(head_);
            head_ = next;
        }
        used_ = 0;
        refused_ = false;
    }

private:
    struct Block {
        alignas(std::max_align_t) Block *next;
    };

    static void *allocate(void *context, std::size_t size) noexcept
    {
        Arena *arena = static_cast<Arena *>(context);
        if (size > arena->budget_ - arena->used_) {
            arena->refused_ = true;
            return nullptr;
        }
        Block *block = static_cast<Block *>(std::malloc(sizeof(Block) + size));
        if (block == nullptr) {
            arena->refused_ = true;
            return nullptr;
        }
        arena->used_ += size;
        block->next = arena->head_;
        arena->head_ = block;
        return block + 1;
    }

    Block *head_ = nullptr;
    std::size_t budget_;
    std::size_t used_ = 0;
    bool refused_ = false;
};

// Strict RFC 3629, written apart from the core's checker so that one does
// not vouch for the other.
inline bool valid_utf8(std::string_view text) noexcept
{
    const unsigned char *p = reinterpret_cast<const unsigned char *>(text.data());
    std::size_t n = text.size();

    for (std::size_t i = 0; i < n;) {
        unsigned c = p[i];
        std::size_t len;
        unsigned cp;

        if (c < 0x80) {
            i++;
            continue;
        }
        if ((c & 0xe0) == 0xc0) {
            len = 2;
            cp = c & 0x1f;
        } else if ((c & 0xf0) == 0xe0) {
            len = 3;
            cp = c & 0x0f;
        } else if ((c & 0xf8) == 0xf0) {
            len = 4;
            cp = c & 0x07;
        } else {
            return false;
        }
        if (n - i < len) {
            return false;
        }
        for (std::size_t k = 1; k < len; k++) {
            if ((p[i + k] & 0xc0) != 0x80) {
                return false;
            }
            cp = (cp << 6) | (p[i + k] & 0x3f);
        }
        static constexpr unsigned least[] = {0, 0, 0x80, 0x800, 0x10000};
        if (cp < least[len] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) {
            return false;
        }
        i += len;
    }
    return true;
}

// Text for a failure message: printable ASCII kept, the rest as \xNN,
// and long text shortened.
inline std::string escaped(std::string_view text)
{
    std::string out = "\"";
    for (std::size_t i = 0; i < text.size(); i++) {
        unsigned char c = static_cast<unsigned char>(text[i]);
        if (i == 80 && text.size() > 100) {
            out += "...(" + std::to_string(text.size()) + " bytes)";
            break;
        }
        if (c >= 0x20 && c < 0x7f && c != '\\' && c != '"') {
            out += static_cast<char>(c);
        } else {
            char hex[5];
            std::snprintf(hex, sizeof(hex), "\\x%02x", c);
            out += hex;
        }
    }
    out += '"';
    return out;
}

// A JSON string literal for text that is valid UTF-8.
inline std::string json_string(std::string_view text)
{
    std::string out = "\"";
    for (unsigned char c : text) {
        if (c == '"' || c == '\\') {
            out += '\\';
            out += static_cast<char>(c);
        } else if (c < 0x20) {
            char escape[7];
            std::snprintf(escape, sizeof(escape), "\\u%04x", c);
            out += escape;
        } else {
            out += static_cast<char>(c);
        }
    }
    out += '"';
    return out;
}

}  // namespace pbxwebhook::fuzz
