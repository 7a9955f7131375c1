#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "verdict.hpp"

namespace pbxwebhook {

// A fixed-size digest of what identifies an event; the zone never keeps the
// event itself.
struct DedupKey {
    static constexpr std::size_t size = 20;
    unsigned char bytes[size];

    bool operator==(const DedupKey &other) const noexcept
    {
        return std::memcmp(bytes, other.bytes, size) == 0;
    }
};

enum class DedupState : std::uint8_t { in_flight, delivered };

// What the zone remembers of one key. Times are milliseconds of one clock.
struct DedupEntry {
    DedupState state;
    std::uint64_t ticket;  // which request recorded it in flight
    std::int64_t since;    // recorded in flight, or first delivered
    std::int64_t until;    // delivered: a duplicate until then; in flight: stale after
};

// Where the entries live: found by key and kept in two queues, in flight and
// delivered, each oldest first. The adapter keeps them in shared memory under
// a lock; the table never allocates on its own.
class DedupStore {
public:
    virtual DedupEntry *find(const DedupKey &key) noexcept = 0;
    // A new entry, in flight, at the newest end of that queue; null when
    // there is no room.
    virtual DedupEntry *insert(const DedupKey &key) noexcept = 0;
    virtual void erase(DedupEntry *entry) noexcept = 0;
    // To the newest end of the queue of the entry's (new) state.
    virtual void requeue(DedupEntry *entry) noexcept = 0;
    virtual DedupEntry *oldest(DedupState state) noexcept = 0;

protected:
    ~DedupStore() = default;
};

// Shared by every worker next to the store; read without the lock by the
// metrics endpoint.
struct DedupCounters {
    std::atomic<std::uint64_t> entries{0};
    std::atomic<std::uint64_t> evictions{0};
    std::uint64_t last_ticket = 0;  // under the lock
};

// What a check found: the request's part in the event's deliveries.
enum class DedupMark : std::uint8_t { none, first, in_flight, duplicate };

struct DedupCheck {
    DedupMark mark;
    std::uint64_t ticket;     // non-zero: this request recorded the entry
    std::int64_t delivered;   // duplicate: when the first delivery ended
};

// The contract of an idempotency zone. A key not in the zone is first and
// recorded in flight; at the request's end a 2xx marks it delivered for the
// window, anything else removes it, so a retry goes through. A retry while
// the first is in flight goes on too: at-least-once wins over exactly-once.
// A full zone evicts the oldest delivered entries first, in-flight ones last.
class DedupTable {
public:
    DedupTable(DedupStore &store, DedupCounters &counters, std::int64_t window) noexcept
        : store_(store), counters_(counters), window_(window)
    {
    }

    DedupCheck check(const DedupKey &key, std::int64_t now) noexcept;

    // The end of a request that checked the key: delivered when it got a
    // 2xx. A failure removes the entry only if this request recorded it.
    void settle(const DedupKey &key, std::uint64_t ticket, bool delivered,
                std::int64_t now) noexcept;

private:
    void expire(std::int64_t now) noexcept;
    bool evict_one() noexcept;
    DedupEntry *insert(const DedupKey &key) noexcept;
    void erase(DedupEntry *entry) noexcept;

    DedupStore &store_;
    DedupCounters &counters_;
    std::int64_t window_;
};

// The answer's reason and detail: "first delivered 42 s ago".
Verdict duplicate_verdict(std::int64_t delivered, std::int64_t now) noexcept;

}  // namespace pbxwebhook
