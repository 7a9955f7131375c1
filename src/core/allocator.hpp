#pragma once

#include <cstddef>

namespace pbxwebhook {

// Memory for one validation. The nginx adapter hands out the request pool,
// tests a counting arena; nothing is freed one block at a time, the owner
// drops everything at once.
struct Allocator {
    void *(*allocate)(void *context, std::size_t size) noexcept;
    void *context;

    void *get(std::size_t size) const noexcept { return allocate(context, size); }
};

}  // namespace pbxwebhook
