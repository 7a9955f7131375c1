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
    JsonKind kind;
    bool cut;                // value is shorter than what was sent
    bool cut_digits;         // when cut: the shape of the whole string
    bool cut_datetime;

    // Of the whole value. A string's digits and date-time shape are worked
    // out when asked: most fields are never asked.
    ValueShape shape() const noexcept;
};

// Whether the whole value of field is of kind; same answer as
// satisfies(field.shape(), kind), working out only what kind needs.
bool satisfies(const EventField &field, FieldKind kind) noexcept;

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
    // value is the text of a string or number, empty for the others.
    bool set_value(JsonKind kind, std::string_view value) noexcept;

    const EventField *find(std::string_view name) const noexcept;
    // hash is name_hash(name), worked out beforehand.
    const EventField *find(std::string_view name, std::uint64_t hash) const noexcept;

    std::size_t size() const noexcept { return size_; }
    const EventField &operator[](std::size_t i) const noexcept { return fields_[i]; }

private:
    // The high half of a name's hash beside its field number, so a probe
    // compares names only when the hashes agree.
    struct IndexSlot {
        std::uint32_t tag;
        std::uint32_t field;  // field number + 1; 0 is free
    };

    static constexpr std::size_t first_index_slots = 64;
    static constexpr std::size_t first_capacity = 16;
    static constexpr std::size_t text_block = 512;

    bool grow_fields() noexcept;
    bool grow_index() noexcept;
    IndexSlot *probe(std::string_view name, std::uint64_t hash) const noexcept;
    const char *copy(std::string_view text) noexcept;

    Allocator allocator_;
    EventField *fields_ = nullptr;
    std::size_t size_ = 0;
    std::size_t capacity_ = 0;
    IndexSlot *index_ = nullptr;
    std::size_t index_mask_ = 0;
    char *text_next_ = nullptr;  // free part of the block names and values share
    char *text_end_ = nullptr;
};

}  // namespace pbxwebhook
