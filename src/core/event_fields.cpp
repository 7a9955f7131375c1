#include "event_fields.hpp"

#include <algorithm>
#include <cstring>
#include <limits>
#include <new>
#include <type_traits>

#include "name_hash.hpp"
#include "utf8.hpp"

namespace pbxwebhook {

// Pool memory is dropped at once, never destroyed field by field.
static_assert(std::is_trivially_destructible_v<EventField>);
static_assert(sizeof(void *) != 8 || sizeof(EventField) == 16);

// Names and values are short: they share blocks, so a key or a value costs
// a bump of a pointer, not an allocation. A name is followed by its value,
// so it gets room behind it; a long text that nothing follows gets a block
// of its own and leaves the shared one to the short texts after it.
inline char *EventFields::room(std::size_t size, bool more_follows) noexcept
{
    if (size <= static_cast<std::size_t>(text_end_ - text_next_)) {
        char *p = text_next_;
        text_next_ += size;
        return p;
    }
    return new_room(size, more_follows);
}

char *EventFields::new_room(std::size_t size, bool more_follows) noexcept
{
    if (size > text_block / 4 && !more_follows) {
        return static_cast<char *>(allocator_.get(size));
    }

    std::size_t block = std::max(text_block, size + (more_follows ? text_block / 4 : 0));
    char *p = static_cast<char *>(allocator_.get(block));
    if (p == nullptr) {
        return nullptr;
    }
    text_next_ = p + size;
    text_end_ = p + block;
    return p;
}

// A table outgrown stays in the pool until the request ends: it takes the
// texts that come next, if it has more room than the shared block has left.
void EventFields::reuse_for_text(void *block, std::size_t size) noexcept
{
    if (block != nullptr && size > static_cast<std::size_t>(text_end_ - text_next_)) {
        text_next_ = static_cast<char *>(block);
        text_end_ = text_next_ + size;
    }
}

bool EventFields::grow_chunks() noexcept
{
    std::size_t used = capacity_ / chunk_fields;

    if (used == chunk_slots_) {
        std::size_t slots = chunk_slots_ * 2;
        void *p = allocator_.get(slots * sizeof(Chunk *));
        if (p == nullptr) {
            return false;
        }
        Chunk **chunks = static_cast<Chunk **>(p);
        std::memcpy(chunks, chunks_, used * sizeof(Chunk *));
        if (chunks_ != first_chunks_) {
            reuse_for_text(chunks_, chunk_slots_ * sizeof(Chunk *));
        }
        chunks_ = chunks;
        chunk_slots_ = slots;
    }

    void *p = allocator_.get(sizeof(Chunk));
    if (p == nullptr) {
        return false;
    }
    chunks_[used] = new (p) Chunk;
    capacity_ += chunk_fields;
    return true;
}

inline void EventFields::link(std::size_t i, std::uint64_t hash) noexcept
{
    std::uint32_t &head = heads_[hash & bucket_mask_];
    next(i) = head;
    head = static_cast<std::uint32_t>(i + 1);
}

// Chains average at most fields_per_bucket fields: the seeded hash spreads
// any keys a body can choose.
bool EventFields::grow_index() noexcept
{
    std::size_t buckets = heads_ ? (bucket_mask_ + 1) * 2 : first_buckets;
    void *p = allocator_.get(buckets * sizeof(std::uint32_t));
    if (p == nullptr) {
        return false;
    }
    std::uint32_t *old = heads_;
    std::size_t old_size = heads_ ? (bucket_mask_ + 1) * sizeof(std::uint32_t) : 0;

    heads_ = static_cast<std::uint32_t *>(p);
    std::memset(heads_, 0, buckets * sizeof(std::uint32_t));
    bucket_mask_ = buckets - 1;
    for (std::size_t i = 0; i < size_; i++) {
        link(i, name_hash(field(i).name()));
    }
    reuse_for_text(old, old_size);
    return true;
}

EventFields::Added EventFields::add(std::string_view name) noexcept
{
    constexpr std::size_t most = std::numeric_limits<std::uint32_t>::max() - 1;
    if (name.size() > most || size_ == most) {
        return Added::no_memory;
    }
    // Room first, so one walk of the chain both finds a duplicate and places
    // the key; the outgrown index gives its memory to the texts before the
    // name is copied, so the value can follow the name.
    if (size_ == capacity_ && !grow_chunks()) {
        return Added::no_memory;
    }
    if ((heads_ == nullptr || size_ + 1 > (bucket_mask_ + 1) * fields_per_bucket)
        && !grow_index())
    {
        return Added::no_memory;
    }

    std::uint64_t hash = name_hash(name);
    for (std::uint32_t f = heads_[hash & bucket_mask_]; f != 0; f = next(f - 1)) {
        if (field(f - 1).name() == name) {
            return Added::duplicate;
        }
    }

    char *stored = room(name.size(), true);
    if (stored == nullptr && !name.empty()) {
        return Added::no_memory;
    }
    if (!name.empty()) {
        std::memcpy(stored, name.data(), name.size());
    }

    EventField &added = field(size_);
    last_ = &added;
    added.text_ = stored;
    added.name_size_ = static_cast<std::uint32_t>(name.size());
    added.value_size_ = 0;
    added.kind_ = static_cast<std::uint8_t>(JsonKind::null);
    added.flags_ = 0;
    link(size_, hash);
    size_++;
    return Added::ok;
}

bool EventFields::set_value(JsonKind kind, std::string_view value) noexcept
{
    bool cut = value.size() > value_limit;
    std::string_view kept = cut ? value.substr(0, utf8_cut(value, value_limit)) : value;
    EventField &f = *last_;
    const char *text = f.text_;

    // The value goes right behind the name; where there is no room there,
    // both move to where there is. Nothing changes unless the copy is made:
    // a field whose value could not be kept stays a null with no value, not
    // half of one.
    if (!kept.empty()) {
        if (text_next_ == f.text_ + f.name_size_
            && kept.size() <= static_cast<std::size_t>(text_end_ - text_next_))
        {
            std::memcpy(text_next_, kept.data(), kept.size());
            text_next_ += kept.size();
        } else {
            char *p = room(f.name_size_ + kept.size(), false);
            if (p == nullptr) {
                return false;
            }
            if (f.name_size_ > 0) {
                std::memcpy(p, f.text_, f.name_size_);
            }
            std::memcpy(p + f.name_size_, kept.data(), kept.size());
            text = p;
        }
    }

    f.text_ = text;
    f.value_size_ = static_cast<std::uint16_t>(kept.size());
    f.kind_ = static_cast<std::uint8_t>(kind);
    if (cut && kind == JsonKind::string) {
        // The stored value is not the whole: its shape is taken now.
        f.flags_ = EventField::cut_flag | (is_digits(value) ? EventField::cut_digits : 0)
                   | (is_datetime(value) ? EventField::cut_datetime : 0);
    } else if (cut) {
        f.flags_ = EventField::cut_flag;
    }
    return true;
}

const EventField *EventFields::find(std::string_view name) const noexcept
{
    return find(name, name_hash(name));
}

const EventField *EventFields::find(std::string_view name, std::uint64_t hash) const noexcept
{
    if (heads_ == nullptr) {
        return nullptr;
    }
    for (std::uint32_t f = heads_[hash & bucket_mask_]; f != 0; f = next(f - 1)) {
        const EventField &candidate = field(f - 1);
        if (candidate.name() == name) {
            return &candidate;
        }
    }
    return nullptr;
}

ValueShape EventField::shape() const noexcept
{
    if (kind() != JsonKind::string) {
        return {kind(), false, false, false};
    }
    if (cut()) {
        return {kind(), false, (flags_ & cut_digits) != 0, (flags_ & cut_datetime) != 0};
    }
    return shape_of_string(value());
}

bool satisfies(const EventField &field, FieldKind kind) noexcept
{
    if (field.kind() == JsonKind::string) {
        switch (kind) {
        case FieldKind::numeric:
            return field.cut() ? (field.flags_ & EventField::cut_digits) != 0
                               : is_digits(field.value());
        case FieldKind::datetime:
            return field.cut() ? (field.flags_ & EventField::cut_datetime) != 0
                               : is_datetime(field.value());
        default:
            return satisfies(ValueShape{field.kind(), field.value().empty(), false, false}, kind);
        }
    }
    return satisfies(ValueShape{field.kind(), false, false, false}, kind);
}

}  // namespace pbxwebhook
