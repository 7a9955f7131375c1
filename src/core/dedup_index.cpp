#include "dedup_index.hpp"

#include <cstring>

namespace pbxwebhook {

std::uint32_t DedupIndex::hash_of(const DedupKey &key) noexcept
{
    std::uint32_t hash;
    std::memcpy(&hash, key.bytes, sizeof(hash));
    return hash;
}

void DedupIndex::clear() noexcept
{
    std::memset(slots_, 0, (mask_ + 1) * sizeof(Slot));
}

bool DedupIndex::insert(const DedupKey &key, std::uint32_t place) noexcept
{
    std::uint32_t hash = hash_of(key);
    std::size_t i = hash & mask_;
    for (std::size_t probes = 0; probes <= mask_; probes++, i = (i + 1) & mask_) {
        if (slots_[i] == 0) {
            slots_[i] = static_cast<Slot>(hash) << 32 | place;
            return true;
        }
    }
    return false;
}

// Backward-shift deletion (Knuth's algorithm R): the slots after the hole
// move up when the hole lies on their probe path, so that no lookup stops
// at an empty slot before its key, and no tombstones pile up.
void DedupIndex::erase(const DedupKey &key, std::uint32_t place) noexcept
{
    const Slot wanted = static_cast<Slot>(hash_of(key)) << 32 | place;
    std::size_t hole = hash_of(key) & mask_;
    for (std::size_t probes = 0; slots_[hole] != wanted; probes++, hole = (hole + 1) & mask_) {
        if (slots_[hole] == 0 || probes == mask_) {
            return;
        }
    }

    for (std::size_t j = (hole + 1) & mask_; slots_[j] != 0; j = (j + 1) & mask_) {
        std::size_t home = hash_of(slots_[j]) & mask_;
        // Moves up unless its home lies cyclically in (hole, j].
        if (((j - home) & mask_) >= ((j - hole) & mask_)) {
            slots_[hole] = slots_[j];
            hole = j;
        }
    }
    slots_[hole] = 0;
}

}  // namespace pbxwebhook
