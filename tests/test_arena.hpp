#pragma once

#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <limits>

#include "allocator.hpp"

namespace pbxtest {

// The memory of one validation, standing in for the request pool: every
// block is malloc'd, counted and freed when the arena goes. It can be told
// to run out after a number of allocations. New blocks are filled with junk,
// as pool memory is not zeroed. Its own bookkeeping never calls operator new,
// so a test can check that a validation calls nothing but the arena.
class CountingArena {
public:
    static constexpr std::size_t never = std::numeric_limits<std::size_t>::max();

    // alignment 8 gives blocks aligned as nginx's pool aligns them on 64-bit
    // systems (NGX_ALIGNMENT) and never more, to catch code that needs more.
    explicit CountingArena(std::size_t alignment = alignof(std::max_align_t)) noexcept
        : alignment_(alignment)
    {
    }

    CountingArena(const CountingArena &) = delete;
    CountingArena &operator=(const CountingArena &) = delete;

    ~CountingArena()
    {
        while (head_ != nullptr) {
            Node *next = head_->next;
            std::free(head_);
            head_ = next;
        }
    }

    pbxwebhook::Allocator allocator() noexcept { return {allocate, this}; }

    // Every allocation after the first n fails.
    void fail_after(std::size_t n) noexcept { fail_after_ = n; }

    std::size_t blocks() const noexcept { return blocks_; }
    std::size_t bytes() const noexcept { return bytes_; }
    std::size_t failures() const noexcept { return failures_; }

private:
    struct Node {
        Node *next;
    };

    static constexpr std::size_t slack = 2 * alignof(std::max_align_t);

    static void *allocate(void *context, std::size_t size) noexcept
    {
        CountingArena *arena = static_cast<CountingArena *>(context);

        if (arena->blocks_ >= arena->fail_after_) {
            arena->failures_++;
            return nullptr;
        }

        Node *node = static_cast<Node *>(std::malloc(slack + size));
        if (node == nullptr) {
            return nullptr;
        }
        node->next = arena->head_;
        arena->head_ = node;
        arena->blocks_++;
        arena->bytes_ += size;

        unsigned char *block = reinterpret_cast<unsigned char *>(node) + alignof(std::max_align_t);
        if (arena->alignment_ < alignof(std::max_align_t)) {
            block += arena->alignment_;
        }
        std::memset(block, 0xa5, size);
        return block;
    }

    std::size_t alignment_;
    std::size_t fail_after_ = never;
    std::size_t blocks_ = 0;
    std::size_t bytes_ = 0;
    std::size_t failures_ = 0;
    Node *head_ = nullptr;
};

}  // namespace pbxtest
