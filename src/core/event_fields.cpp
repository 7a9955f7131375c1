#include "event_fields.hpp"

#include <cstring>
#include <new>
#include <type_traits>

#include "name_hash.hpp"
#include "utf8.hpp"

namespace pbxwebhook {

// Names and values are short: they share blocks, so a key or a value costs
// a bump of a pointer, not an allocation. A long value gets its own block
// and leaves the shared one to the short texts after it.
inline const char *EventFields::copy(std::string_view text) noexcept
{
    if (text.empty()) {
        return "";
    }

    char *p;
    if (text.size() <= static_cast<std::size_t>(text_end_ - text_next_)) {
        p = text_next_;
        text_next_ += text.size();
    } else if (text.size() > text_block / 4) {
        p = static_cast<char *>(allocator_.get(text.size()));
        if (p == nullptr) {
            return nullptr;
        }
    } else {
        p = static_cast<char *>(allocator_.get(text_block));
        if (p == nullptr) {
            return nullptr;
        }
        text_next_ = p + text.size();
        text_end_ = p + text_block;
    }
    std::memcpy(p, text.data(), text.size());
    return p;
}

inline EventFields::IndexSlot *EventFields::probe(std::string_view name,
                                                  std::uint64_t hash) const noexcept
{
    std::uint32_t tag = static_cast<std::uint32_t>(hash >> 32);
    std::size_t i = hash & index_mask_;

    for (;;) {
        IndexSlot *slot = &index_[i];
        if (slot->field == 0
            || (slot->tag == tag && fields_[slot->field - 1].name == name))
        {
            return slot;
        }
        i = (i + 1) & index_mask_;
    }
}

// Fields live in the allocator's memory, freed without destructors.
static_assert(std::is_trivially_destructible_v<EventField>);

bool EventFields::grow_fields() noexcept
{
    std::size_t capacity = capacity_ ? capacity_ * 2 : first_capacity;
    void *p = allocator_.get(capacity * sizeof(EventField));
    if (p == nullptr) {
        return false;
    }
    EventField *fields = static_cast<EventField *>(p);
    for (std::size_t i = 0; i < size_; i++) {
        new (&fields[i]) EventField(fields_[i]);
    }
    fields_ = fields;
    capacity_ = capacity;
    return true;
}

bool EventFields::grow_index() noexcept
{
    std::size_t slots = index_ ? (index_mask_ + 1) * 2 : first_index_slots;
    void *p = allocator_.get(slots * sizeof(IndexSlot));
    if (p == nullptr) {
        return false;
    }
    index_ = static_cast<IndexSlot *>(p);
    std::memset(index_, 0, slots * sizeof(IndexSlot));
    index_mask_ = slots - 1;

    for (std::size_t i = 0; i < size_; i++) {
        std::uint64_t hash = name_hash(fields_[i].name);
        *probe(fields_[i].name, hash) = {static_cast<std::uint32_t>(hash >> 32),
                                         static_cast<std::uint32_t>(i + 1)};
    }
    return true;
}

EventFields::Added EventFields::add(std::string_view name) noexcept
{
    // Room first, so one probe both finds a duplicate and places the key.
    if (size_ == capacity_ && !grow_fields()) {
        return Added::no_memory;
    }
    // Keeps the load factor at or under one half.
    if ((size_ + 1) * 2 > index_mask_ + 1 || index_ == nullptr) {
        if (!grow_index()) {
            return Added::no_memory;
        }
    }

    std::uint64_t hash = name_hash(name);
    IndexSlot *slot = probe(name, hash);
    if (slot->field != 0) {
        return Added::duplicate;
    }

    const char *stored = copy(name);
    if (stored == nullptr) {
        return Added::no_memory;
    }

    fields_[size_] = EventField{{stored, name.size()}, {}, JsonKind::null, false, false, false};
    *slot = {static_cast<std::uint32_t>(hash >> 32), static_cast<std::uint32_t>(size_ + 1)};
    size_++;
    return Added::ok;
}

bool EventFields::set_value(JsonKind kind, std::string_view value) noexcept
{
    bool cut = value.size() > value_limit;
    std::string_view kept = cut ? value.substr(0, utf8_cut(value, value_limit)) : value;

    // Nothing changes unless the copy is made: a field whose value could
    // not be kept stays a null with no value, not half of one.
    const char *stored = copy(kept);
    if (stored == nullptr) {
        return false;
    }

    EventField &field = fields_[size_ - 1];
    field.value = {stored, kept.size()};
    field.kind = kind;
    if (cut) {
        // The stored value is not the whole: its shape is taken now.
        field.cut = true;
        field.cut_digits = kind == JsonKind::string && is_digits(value);
        field.cut_datetime = kind == JsonKind::string && is_datetime(value);
    }
    return true;
}

const EventField *EventFields::find(std::string_view name) const noexcept
{
    return find(name, name_hash(name));
}

const EventField *EventFields::find(std::string_view name, std::uint64_t hash) const noexcept
{
    if (index_ == nullptr) {
        return nullptr;
    }
    const IndexSlot *slot = probe(name, hash);
    return slot->field ? &fields_[slot->field - 1] : nullptr;
}

ValueShape EventField::shape() const noexcept
{
    if (kind != JsonKind::string) {
        return {kind, false, false, false};
    }
    if (cut) {
        return {kind, false, cut_digits, cut_datetime};
    }
    return shape_of_string(value);
}

bool satisfies(const EventField &field, FieldKind kind) noexcept
{
    if (field.kind == JsonKind::string) {
        switch (kind) {
        case FieldKind::numeric:
            return field.cut ? field.cut_digits : is_digits(field.value);
        case FieldKind::datetime:
            return field.cut ? field.cut_datetime : is_datetime(field.value);
        default:
            return satisfies(ValueShape{field.kind, field.value.empty(), false, false}, kind);
        }
    }
    return satisfies(ValueShape{field.kind, false, false, false}, kind);
}

}  // namespace pbxwebhook
