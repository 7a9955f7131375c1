#pragma once

#include <cstddef>
#include <cstdint>

#include "dedup_table.hpp"

namespace pbxwebhook {

// Finds a zone's entries by key: open addressing with linear probing over a
// fixed array that the store provides. Each slot holds the first 32 bits of
// the key (a SHA-1 digest, so evenly spread: they choose the slot and tell
// most other keys apart) and the entry's place, a non-zero number the store
// gives each entry. Looking up a key not in the zone, the common case, reads
// a cache line of slots and no entry; a chained hash read an entry per link,
// a tree a node per level, and in a full zone each of those is a cache and
// TLB miss (bench/RESULTS.md).
class DedupIndex {
public:
    using Slot = std::uint64_t;  // 0: empty

    // count: a power of two, at least twice the entries the store can hold,
    // so that probes stay short and an empty slot is always found.
    DedupIndex(Slot *slots, std::size_t count) noexcept : slots_(slots), mask_(count - 1) {}

    // Every slot empty.
    void clear() noexcept;

    // The place of key's entry, or 0. same_key(place) says whether the entry
    // there has this key: two keys may share their first 32 bits.
    template <typename SameKey>
    std::uint32_t find(const DedupKey &key, SameKey &&same_key) const noexcept
    {
        std::uint32_t hash = hash_of(key);
        std::size_t i = hash & mask_;
        for (std::size_t probes = 0; probes <= mask_; probes++, i = (i + 1) & mask_) {
            Slot s = slots_[i];
            if (s == 0) {
                return 0;
            }
            if (hash_of(s) == hash && same_key(place_of(s))) {
                return place_of(s);
            }
        }
        return 0;
    }

    // False only if every slot is taken, which the sizing rules out.
    bool insert(const DedupKey &key, std::uint32_t place) noexcept;
    void erase(const DedupKey &key, std::uint32_t place) noexcept;

private:
    static std::uint32_t hash_of(const DedupKey &key) noexcept;
    static std::uint32_t hash_of(Slot s) noexcept { return static_cast<std::uint32_t>(s >> 32); }
    static std::uint32_t place_of(Slot s) noexcept { return static_cast<std::uint32_t>(s); }

    Slot *slots_;
    std::size_t mask_;
};

}  // namespace pbxwebhook
