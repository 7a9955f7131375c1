#include <gtest/gtest.h>

#include <cstring>
#include <map>
#include <random>
#include <vector>

#include "dedup_index.hpp"

namespace pbxwebhook {
namespace {

// A key whose first 32 bits, the part the index hashes, are `hash`; `tail`
// tells apart keys that share them.
DedupKey key(std::uint32_t hash, unsigned char tail = 0)
{
    DedupKey k{};
    std::memcpy(k.bytes, &hash, sizeof(hash));
    k.bytes[DedupKey::size - 1] = tail;
    return k;
}

// An index of `count` slots over entries numbered from 1, as a store gives.
struct Zone {
    explicit Zone(std::size_t count) : slots(count, 1), index(slots.data(), count) { index.clear(); }

    std::uint32_t add(const DedupKey &k)
    {
        entries.push_back(k);
        auto place = static_cast<std::uint32_t>(entries.size());
        EXPECT_TRUE(index.insert(k, place));
        return place;
    }

    std::uint32_t find(const DedupKey &k) const
    {
        return index.find(k, [&](std::uint32_t place) { return entries[place - 1] == k; });
    }

    std::vector<DedupIndex::Slot> slots;
    DedupIndex index;
    std::vector<DedupKey> entries;  // entries[place - 1]
};

TEST(DedupIndex, ClearEmptiesEverySlot)
{
    Zone z(8);
    for (DedupIndex::Slot s : z.slots) {
        EXPECT_EQ(s, 0u);
    }
}

TEST(DedupIndex, FindsWhatWasInsertedAndNothingElse)
{
    Zone z(16);
    std::uint32_t a = z.add(key(1));
    std::uint32_t b = z.add(key(2));
    EXPECT_EQ(z.find(key(1)), a);
    EXPECT_EQ(z.find(key(2)), b);
    EXPECT_EQ(z.find(key(3)), 0u);
}

TEST(DedupIndex, KeysSharingTheirHashAreToldApartByTheStore)
{
    Zone z(16);
    std::uint32_t a = z.add(key(5, 'a'));
    std::uint32_t b = z.add(key(5, 'b'));
    EXPECT_EQ(z.find(key(5, 'a')), a);
    EXPECT_EQ(z.find(key(5, 'b')), b);
    EXPECT_EQ(z.find(key(5, 'c')), 0u);
}

TEST(DedupIndex, ProbesWrapAroundTheEnd)
{
    Zone z(8);
    // All three want slot 7; two of them land in 0 and 1.
    std::uint32_t a = z.add(key(7));
    std::uint32_t b = z.add(key(15));
    std::uint32_t c = z.add(key(23));
    EXPECT_NE(z.slots[0], 0u);
    EXPECT_NE(z.slots[1], 0u);
    EXPECT_EQ(z.find(key(7)), a);
    EXPECT_EQ(z.find(key(15)), b);
    EXPECT_EQ(z.find(key(23)), c);
}

TEST(DedupIndex, ErasingFromAClusterKeepsTheRestFindable)
{
    Zone z(8);
    std::uint32_t a = z.add(key(2));
    std::uint32_t b = z.add(key(10));  // home 2, in 3
    std::uint32_t c = z.add(key(3));   // home 3, in 4
    std::uint32_t d = z.add(key(18));  // home 2, in 5
    z.index.erase(key(2), a);
    EXPECT_EQ(z.find(key(2)), 0u);
    EXPECT_EQ(z.find(key(10)), b);
    EXPECT_EQ(z.find(key(3)), c);
    EXPECT_EQ(z.find(key(18)), d);
    // The cluster closed up: three slots taken, the last one freed.
    EXPECT_NE(z.slots[2], 0u);
    EXPECT_NE(z.slots[3], 0u);
    EXPECT_NE(z.slots[4], 0u);
    EXPECT_EQ(z.slots[5], 0u);
}

TEST(DedupIndex, ErasingLeavesASlotWhoseHomeIsAfterTheHole)
{
    Zone z(8);
    std::uint32_t a = z.add(key(1));  // in 1
    std::uint32_t b = z.add(key(2));  // in 2, at home: must not move up to 1
    z.index.erase(key(1), a);
    EXPECT_EQ(z.slots[1], 0u);
    EXPECT_EQ(z.find(key(2)), b);
}

TEST(DedupIndex, EraseRemovesOnlyTheEntryAtThatPlace)
{
    Zone z(8);
    std::uint32_t a = z.add(key(4, 'a'));
    z.index.erase(key(4, 'a'), a + 1);  // no entry there
    EXPECT_EQ(z.find(key(4, 'a')), a);
    z.index.erase(key(6), 9);  // nothing at all
    EXPECT_EQ(z.find(key(4, 'a')), a);
}

TEST(DedupIndex, AFullIndexRefusesAnInsert)
{
    Zone z(4);
    for (std::uint32_t h = 0; h < 4; h++) {
        z.add(key(h));
    }
    EXPECT_FALSE(z.index.insert(key(9), 99));
    EXPECT_EQ(z.find(key(3)), 4u);
}

// Many inserts and erases in a crowded table, against a map.
TEST(DedupIndex, AgreesWithAMapUnderChurn)
{
    constexpr std::size_t count = 64;
    Zone z(count);
    std::map<std::uint32_t, std::uint32_t> live;  // hash -> place
    std::mt19937 rng(12345);
    for (int step = 0; step < 20000; step++) {
        // Few distinct hashes, so clusters form and wrap.
        std::uint32_t h = rng() % 96;
        auto it = live.find(h);
        if (it != live.end()) {
            z.index.erase(key(h), it->second);
            live.erase(it);
        } else if (live.size() < count / 2) {
            live[h] = z.add(key(h));
        }
        for (std::uint32_t probe = 0; probe < 96; probe += 7) {
            auto found = live.find(probe);
            ASSERT_EQ(z.find(key(probe)), found == live.end() ? 0u : found->second)
                << "step " << step << ", key " << probe;
        }
    }
}

}  // namespace
}  // namespace pbxwebhook
