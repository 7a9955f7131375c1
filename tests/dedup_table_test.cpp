#include <gtest/gtest.h>

#include <list>
#include <map>
#include <string>

#include "dedup_table.hpp"

namespace pbxwebhook {
namespace {

// The store as a map and two lists, with room for `capacity` entries.
class TestStore final : public DedupStore {
public:
    explicit TestStore(std::size_t capacity) : capacity_(capacity) {}

    DedupEntry *find(const DedupKey &key) noexcept override
    {
        auto it = entries_.find(name(key));
        return it == entries_.end() ? nullptr : &it->second;
    }

    DedupEntry *insert(const DedupKey &key) noexcept override
    {
        if (entries_.size() >= capacity_) {
            return nullptr;
        }
        DedupEntry &e = entries_[name(key)];
        e = {DedupState::in_flight, 0, 0, 0};
        queue(DedupState::in_flight).push_back(&e);
        return &e;
    }

    void erase(DedupEntry *entry) noexcept override
    {
        unqueue(entry);
        for (auto it = entries_.begin(); it != entries_.end(); ++it) {
            if (&it->second == entry) {
                erased_.push_back(it->first);
                entries_.erase(it);
                return;
            }
        }
    }

    void requeue(DedupEntry *entry) noexcept override
    {
        unqueue(entry);
        queue(entry->state).push_back(entry);
    }

    DedupEntry *oldest(DedupState state) noexcept override
    {
        auto &q = queue(state);
        return q.empty() ? nullptr : q.front();
    }

    std::size_t size() const { return entries_.size(); }
    std::list<std::string> erased_;

private:
    static std::string name(const DedupKey &key)
    {
        return std::string(reinterpret_cast<const char *>(key.bytes), DedupKey::size);
    }
    std::list<DedupEntry *> &queue(DedupState state)
    {
        return state == DedupState::in_flight ? in_flight_ : delivered_;
    }
    void unqueue(DedupEntry *entry)
    {
        in_flight_.remove(entry);
        delivered_.remove(entry);
    }

    std::size_t capacity_;
    std::map<std::string, DedupEntry> entries_;
    std::list<DedupEntry *> in_flight_;
    std::list<DedupEntry *> delivered_;
};

DedupKey key(char c)
{
    DedupKey k;
    for (unsigned char &b : k.bytes) {
        b = static_cast<unsigned char>(c);
    }
    return k;
}

std::string erased_name(char c)
{
    return std::string(DedupKey::size, c);
}

constexpr std::int64_t window = 600'000;

struct Zone {
    explicit Zone(std::size_t capacity = 100) : store(capacity) {}
    TestStore store;
    DedupCounters counters;
    DedupTable table{store, counters, window};
};

TEST(DedupTable, UnknownKeyIsFirstAndRecordedInFlight)
{
    Zone z;
    DedupCheck c = z.table.check(key('a'), 1000);
    EXPECT_EQ(c.mark, DedupMark::first);
    EXPECT_NE(c.ticket, 0u);
    ASSERT_NE(z.store.find(key('a')), nullptr);
    EXPECT_EQ(z.store.find(key('a'))->state, DedupState::in_flight);
    EXPECT_EQ(z.counters.entries.load(), 1u);
}

TEST(DedupTable, RetryWhileInFlightGoesOnUnrecorded)
{
    Zone z;
    DedupCheck first = z.table.check(key('a'), 1000);
    DedupCheck retry = z.table.check(key('a'), 2000);
    EXPECT_EQ(retry.mark, DedupMark::in_flight);
    EXPECT_EQ(retry.ticket, 0u);
    EXPECT_EQ(z.store.find(key('a'))->ticket, first.ticket);
    EXPECT_EQ(z.counters.entries.load(), 1u);
}

TEST(DedupTable, DeliveredKeyIsDuplicateUntilWindowEnds)
{
    Zone z;
    DedupCheck first = z.table.check(key('a'), 1000);
    z.table.settle(key('a'), first.ticket, true, 3000);

    DedupCheck again = z.table.check(key('a'), 45'000);
    EXPECT_EQ(again.mark, DedupMark::duplicate);
    EXPECT_EQ(again.delivered, 3000);

    EXPECT_EQ(z.table.check(key('a'), 3000 + window - 1).mark, DedupMark::duplicate);
    EXPECT_EQ(z.table.check(key('a'), 3000 + window).mark, DedupMark::first);
}

TEST(DedupTable, FailureRemovesTheEntrySoTheRetryIsFirst)
{
    Zone z;
    DedupCheck first = z.table.check(key('a'), 1000);
    z.table.settle(key('a'), first.ticket, false, 2000);
    EXPECT_EQ(z.store.find(key('a')), nullptr);
    EXPECT_EQ(z.counters.entries.load(), 0u);
    EXPECT_EQ(z.table.check(key('a'), 3000).mark, DedupMark::first);
}

TEST(DedupTable, FailureOfARetryLeavesTheFirstsEntry)
{
    Zone z;
    DedupCheck first = z.table.check(key('a'), 1000);
    DedupCheck retry = z.table.check(key('a'), 1500);
    z.table.settle(key('a'), retry.ticket, false, 2000);
    ASSERT_NE(z.store.find(key('a')), nullptr);
    EXPECT_EQ(z.store.find(key('a'))->ticket, first.ticket);
}

TEST(DedupTable, SuccessOfARetryInFlightMarksDelivered)
{
    Zone z;
    DedupCheck first = z.table.check(key('a'), 1000);
    DedupCheck retry = z.table.check(key('a'), 1500);
    z.table.settle(key('a'), retry.ticket, true, 2000);
    // The first fails later: the event was delivered all the same.
    z.table.settle(key('a'), first.ticket, false, 3000);
    DedupCheck again = z.table.check(key('a'), 4000);
    EXPECT_EQ(again.mark, DedupMark::duplicate);
    EXPECT_EQ(again.delivered, 2000);
}

TEST(DedupTable, SecondSuccessKeepsTheFirstDeliveryTime)
{
    Zone z;
    DedupCheck first = z.table.check(key('a'), 1000);
    DedupCheck retry = z.table.check(key('a'), 1500);
    z.table.settle(key('a'), first.ticket, true, 2000);
    z.table.settle(key('a'), retry.ticket, true, 5000);
    EXPECT_EQ(z.table.check(key('a'), 6000).delivered, 2000);
}

TEST(DedupTable, StaleInFlightEntryIsTakenOver)
{
    Zone z;
    DedupCheck lost = z.table.check(key('a'), 1000);
    DedupCheck next = z.table.check(key('a'), 1000 + window);
    EXPECT_EQ(next.mark, DedupMark::first);
    EXPECT_NE(next.ticket, lost.ticket);
    // The lost request's late failure no longer removes the new owner's entry.
    z.table.settle(key('a'), lost.ticket, false, 2000 + window);
    EXPECT_NE(z.store.find(key('a')), nullptr);
}

TEST(DedupTable, KeysAreIndependent)
{
    Zone z;
    DedupCheck a = z.table.check(key('a'), 1000);
    z.table.settle(key('a'), a.ticket, true, 1000);
    EXPECT_EQ(z.table.check(key('b'), 2000).mark, DedupMark::first);
    EXPECT_EQ(z.table.check(key('a'), 2000).mark, DedupMark::duplicate);
}

TEST(DedupTable, FullZoneEvictsOldestDeliveredFirstInFlightLast)
{
    Zone z(3);
    DedupCheck a = z.table.check(key('a'), 1000);  // stays in flight
    DedupCheck b = z.table.check(key('b'), 1100);
    DedupCheck c = z.table.check(key('c'), 1200);
    z.table.settle(key('c'), c.ticket, true, 1300);  // delivered first
    z.table.settle(key('b'), b.ticket, true, 1400);

    EXPECT_EQ(z.table.check(key('d'), 1500).mark, DedupMark::first);
    EXPECT_EQ(z.store.erased_.back(), erased_name('c'));
    EXPECT_EQ(z.table.check(key('e'), 1600).mark, DedupMark::first);
    EXPECT_EQ(z.store.erased_.back(), erased_name('b'));
    // Only in-flight entries are left: the oldest of them goes.
    EXPECT_EQ(z.table.check(key('f'), 1700).mark, DedupMark::first);
    EXPECT_EQ(z.store.erased_.back(), erased_name('a'));

    EXPECT_EQ(z.counters.evictions.load(), 3u);
    EXPECT_EQ(z.counters.entries.load(), 3u);
    (void) a;
}

TEST(DedupTable, ExpiryIsNotCountedAsEviction)
{
    Zone z(2);
    DedupCheck a = z.table.check(key('a'), 1000);
    z.table.settle(key('a'), a.ticket, true, 1000);
    z.table.check(key('b'), 1000 + window);
    EXPECT_EQ(z.store.find(key('a')), nullptr);
    EXPECT_EQ(z.counters.evictions.load(), 0u);
    EXPECT_EQ(z.counters.entries.load(), 1u);
}

TEST(DedupTable, DeliveryOfAnEvictedEntryIsRecordedAgain)
{
    Zone z(1);
    DedupCheck a = z.table.check(key('a'), 1000);
    z.table.check(key('b'), 1100);  // evicts a, in flight
    z.table.settle(key('a'), a.ticket, true, 1200);
    EXPECT_EQ(z.table.check(key('a'), 1300).mark, DedupMark::duplicate);
}

TEST(DedupTable, ZoneWithoutRoomPassesEventsUnrecorded)
{
    Zone z(0);
    DedupCheck a = z.table.check(key('a'), 1000);
    EXPECT_EQ(a.mark, DedupMark::first);
    EXPECT_EQ(a.ticket, 0u);
    z.table.settle(key('a'), a.ticket, false, 1100);
    EXPECT_EQ(z.counters.entries.load(), 0u);
}

TEST(DedupTable, DuplicateVerdictTellsWhenTheFirstWasDelivered)
{
    Verdict v = duplicate_verdict(3000, 45'999);
    EXPECT_EQ(v.reason(), Reason::duplicate);
    EXPECT_FALSE(v.accepted());
    EXPECT_EQ(v.detail(), "first delivered 42 s ago");
    EXPECT_EQ(duplicate_verdict(5000, 4000).detail(), "first delivered 0 s ago");
}

}  // namespace
}  // namespace pbxwebhook
