#include "event_fields.hpp"

#include <cstring>
#include <new>

#include "utf8.hpp"

namespace pbxwebhook {

namespace {

// Eight bytes at a time: keys are short and a byte loop showed in profiles.
// The seed differs per process, so a body cannot be built to collide.
std::uint64_t hash_of(std::string_view text) noexcept
{
    static const std::uint64_t seed =
        reinterpret_cast<std::uintptr_t>(&seed) * 0x9e3779b97f4a7c15ull;
    constexpr std::uint64_t multiplier = 0xff51afd7ed558ccdull;

    std::uint64_t h = seed ^ text.size();
    const char *p = text.data();
    std::size_t n = text.size();

    for (; n >= 8; p += 8, n -= 8) {
        std::uint64_t w;
        std::memcpy(&w, p, 8);
        h = (h ^ w) * multiplier;
        h ^= h >> 29;
    }
    if (n > 0) {
        std::uint64_t w = 0;
        std::memcpy(&w, p, n);
        h = (h ^ w) * multiplier;
        h ^= h >> 29;
    }
    return h ^ (h >> 32);
}

}  // namespace

char *EventFields::copy(std::string_view text) noexcept
{
    char *p = static_cast<char *>(allocator_.get(text.size() + 1));
    if (p != nullptr) {
        std::memcpy(p, text.data(), text.size());
        p[text.size()] = '\0';
    }
    return p;
}

std::uint32_t *EventFields::slot(std::string_view name) const noexcept
{
    std::size_t i = hash_of(name) & index_mask_;

    while (index_[i] != 0 && fields_[index_[i] - 1].name != name) {
        i = (i + 1) & index_mask_;
    }
    return &index_[i];
}

bool EventFields::grow_fields() noexcept
{
    std::size_t capacity = capacity_ ? capacity_ * 2 : 16;
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
    std::size_t slots = index_ ? (index_mask_ + 1) * 2 : 32;
    void *p = allocator_.get(slots * sizeof(std::uint32_t));
    if (p == nullptr) {
        return false;
    }
    index_ = static_cast<std::uint32_t *>(p);
    std::memset(index_, 0, slots * sizeof(std::uint32_t));
    index_mask_ = slots - 1;

    for (std::size_t i = 0; i < size_; i++) {
        *slot(fields_[i].name) = static_cast<std::uint32_t>(i + 1);
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
    if (index_ == nullptr || (size_ + 1) * 2 > index_mask_ + 1) {
        if (!grow_index()) {
            return Added::no_memory;
        }
    }

    std::uint32_t *free_slot = slot(name);
    if (*free_slot != 0) {
        return Added::duplicate;
    }

    char *stored = copy(name);
    if (stored == nullptr) {
        return Added::no_memory;
    }

    fields_[size_] = EventField{{stored, name.size()}, {}, {JsonKind::null, false, false, false}, false};
    *free_slot = static_cast<std::uint32_t>(size_ + 1);
    size_++;
    return Added::ok;
}

bool EventFields::set_value(std::string_view value, const ValueShape &shape) noexcept
{
    EventField &field = fields_[size_ - 1];
    field.shape = shape;

    if (value.empty()) {
        return true;
    }

    std::size_t kept = utf8_cut(value, value_limit);
    field.cut = kept < value.size();
    value = value.substr(0, kept);
    char *stored = copy(value);
    if (stored == nullptr) {
        return false;
    }
    field.value = {stored, value.size()};
    return true;
}

const EventField *EventFields::find(std::string_view name) const noexcept
{
    if (index_ == nullptr) {
        return nullptr;
    }
    std::uint32_t n = *slot(name);
    return n ? &fields_[n - 1] : nullptr;
}

}  // namespace pbxwebhook
