#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "allocator.hpp"
#include "field_kind.hpp"

namespace pbxwebhook {

// A top-level field of the event as the variables show it.
struct EventField {
    std::string_view name;   // unescaped, whole
    std::string_view value;  // unescaped string or number as written, cut; empty for arrays and objects
    ValueShape shape;        // of the whole value
    bool cut;                // value is shorter than what was sent
};

// The top-level fields of one event in arrival order, with a hash index so
// that duplicate keys and variable look-ups cost O(1) however many keys a
// hostile body carries. All memory comes from the allocator.
class EventFields {
public:
    static constexpr std::size_t value_limit = 1024;

    explicit EventFields(Allocator allocator) noexcept : allocator_(allocator) {}

    enum class Added { ok, duplicate, no_memory };

    // Starts a field; its value follows with set_value.
    Added add(std::string_view name) noexcept;
    bool set_value(std::string_view value, const ValueShape &shape) noexcept;

    const EventField *find(std::string_view name) const noexcept;

    std::size_t size() const noexcept { return size_; }
    const EventField &operator[](std::size_t i) const noexcept { return fields_[i]; }

private:
    bool grow_fields() noexcept;
    bool grow_index() noexcept;
    std::uint32_t *slot(std::string_view name) const noexcept;
    char *copy(std::string_view text) noexcept;

    Allocator allocator_;
    EventField *fields_ = nullptr;
    std::size_t size_ = 0;
    std::size_t capacity_ = 0;
    std::uint32_t *index_ = nullptr;  // field number + 1; 0 is free
    std::size_t index_mask_ = 0;
};

}  // namespace pbxwebhook
