#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "allocator.hpp"
#include "field_kind.hpp"

namespace pbxwebhook {

// A top-level field of the event as the variables show it. Sixteen bytes,
// its name and value side by side in one text: a body at the size limit can
// hold ten thousand fields, and each costs the request pool this much.
class EventField {
public:
    std::string_view name() const noexcept { return {text_, name_size_}; }  // unescaped, whole
    // The unescaped string or the number as written, cut; empty for arrays
    // and objects.
    std::string_view value() const noexcept { return {text_ + name_size_, value_size_}; }
    JsonKind kind() const noexcept { return static_cast<JsonKind>(kind_); }
    bool cut() const noexcept { return flags_ & cut_flag; }  // value is shorter than what was sent

    // Of the whole value. A string's digits and date-time shape are worked
    // out when asked: most fields are never asked.
    ValueShape shape() const noexcept;

private:
    friend class EventFields;
    friend bool satisfies(const EventField &field, FieldKind kind) noexcept;

    // When cut: the shape of the whole string.
    static constexpr std::uint8_t cut_flag = 1, cut_digits = 2, cut_datetime = 4;

    const char *text_;
    std::uint32_t name_size_;
    std::uint16_t value_size_;
    std::uint8_t kind_;
    std::uint8_t flags_;
};

// Whether the whole value of field is of kind; same answer as
// satisfies(field.shape(), kind), working out only what kind needs.
bool satisfies(const EventField &field, FieldKind kind) noexcept;

// The top-level fields of one event in arrival order, with a hash index so
// that duplicate keys and variable look-ups cost O(1) however many keys a
// hostile body carries. All memory comes from the allocator, and none of it
// is copied as the fields grow: a field stays where it was put, and the
// index is the only table that is rebuilt bigger, its old copy then holding
// names and values.
class EventFields {
public:
    static constexpr std::size_t value_limit = 1024;

    explicit EventFields(Allocator allocator) noexcept : allocator_(allocator) {}

    // The first chunks are listed inside the object.
    EventFields(const EventFields &) = delete;
    EventFields &operator=(const EventFields &) = delete;

    enum class Added { ok, duplicate, no_memory };

    // Starts a field; its value follows with set_value.
    Added add(std::string_view name) noexcept;
    // value is the text of a string or number, empty for the others.
    bool set_value(JsonKind kind, std::string_view value) noexcept;

    const EventField *find(std::string_view name) const noexcept;
    // hash is name_hash(name), worked out beforehand.
    const EventField *find(std::string_view name, std::uint64_t hash) const noexcept;

    std::size_t size() const noexcept { return size_; }
    const EventField &operator[](std::size_t i) const noexcept
    {
        return chunks_[i / chunk_fields]->fields[i % chunk_fields];
    }

private:
    // Fields are kept in chunks that never move; next chains the fields
    // whose names fall in the same bucket of the index (field number + 1;
    // 0 ends the chain).
    static constexpr std::size_t chunk_fields = 32;
    struct Chunk {
        EventField fields[chunk_fields];
        std::uint32_t next[chunk_fields];
    };

    static constexpr std::size_t first_buckets = 16;
    static constexpr std::size_t fields_per_bucket = 4;
    static constexpr std::size_t first_chunk_slots = 4;
    static constexpr std::size_t text_block = 512;

    bool grow_chunks() noexcept;
    bool grow_index() noexcept;
    void link(std::size_t i, std::uint64_t hash) noexcept;
    std::uint32_t &next(std::size_t i) const noexcept
    {
        return chunks_[i / chunk_fields]->next[i % chunk_fields];
    }
    EventField &field(std::size_t i) const noexcept
    {
        return chunks_[i / chunk_fields]->fields[i % chunk_fields];
    }
    char *room(std::size_t size, bool more_follows) noexcept;
    char *new_room(std::size_t size, bool more_follows) noexcept;
    void reuse_for_text(void *block, std::size_t size) noexcept;

    Allocator allocator_;
    Chunk *first_chunks_[first_chunk_slots] = {};  // enough for most events
    Chunk **chunks_ = first_chunks_;
    std::size_t chunk_slots_ = first_chunk_slots;
    std::size_t size_ = 0;
    std::size_t capacity_ = 0;
    EventField *last_ = nullptr;  // the field set_value completes
    std::uint32_t *heads_ = nullptr;  // field number + 1 of a bucket's first field; 0 is empty
    std::size_t bucket_mask_ = 0;
    char *text_next_ = nullptr;  // free part of the block names and values share
    char *text_end_ = nullptr;
};

}  // namespace pbxwebhook
