#include "dedup_table.hpp"

namespace pbxwebhook {

void DedupTable::erase(DedupEntry *entry) noexcept
{
    store_.erase(entry);
    counters_.entries.fetch_sub(1, std::memory_order_relaxed);
}

// Delivered entries queue in the order they were delivered, so the expired
// ones are at the front.
void DedupTable::expire(std::int64_t now) noexcept
{
    for (DedupEntry *e = store_.oldest(DedupState::delivered); e && e->until <= now;
         e = store_.oldest(DedupState::delivered))
    {
        erase(e);
    }
}

bool DedupTable::evict_one() noexcept
{
    DedupEntry *victim = store_.oldest(DedupState::delivered);
    if (victim == nullptr) {
        victim = store_.oldest(DedupState::in_flight);
    }
    if (victim == nullptr) {
        return false;
    }
    erase(victim);
    counters_.evictions.fetch_add(1, std::memory_order_relaxed);
    return true;
}

DedupEntry *DedupTable::insert(const DedupKey &key) noexcept
{
    DedupEntry *e = store_.insert(key);
    while (e == nullptr && evict_one()) {
        e = store_.insert(key);
    }
    if (e != nullptr) {
        counters_.entries.fetch_add(1, std::memory_order_relaxed);
    }
    return e;
}

DedupCheck DedupTable::check(const DedupKey &key, std::int64_t now) noexcept
{
    expire(now);

    DedupEntry *e = store_.find(key);

    if (e != nullptr && e->until <= now) {
        if (e->state == DedupState::delivered) {
            erase(e);
            e = nullptr;
        } else {
            // Recorded so long ago that its request is gone (a worker that
            // died): this one takes the entry over.
            e->ticket = ++counters_.last_ticket;
            e->since = now;
            e->until = now + window_;
            store_.requeue(e);
            return {DedupMark::first, e->ticket, 0};
        }
    }

    if (e != nullptr) {
        if (e->state == DedupState::delivered) {
            return {DedupMark::duplicate, 0, e->since};
        }
        return {DedupMark::in_flight, 0, 0};
    }

    e = insert(key);
    if (e == nullptr) {
        // Not even room for one entry: pass it on unrecorded.
        return {DedupMark::first, 0, 0};
    }
    *e = {DedupState::in_flight, ++counters_.last_ticket, now, now + window_};
    return {DedupMark::first, e->ticket, 0};
}

void DedupTable::settle(const DedupKey &key, std::uint64_t ticket, bool delivered,
                        std::int64_t now) noexcept
{
    DedupEntry *e = store_.find(key);

    if (!delivered) {
        if (e != nullptr && ticket != 0 && e->state == DedupState::in_flight
            && e->ticket == ticket)
        {
            erase(e);
        }
        return;
    }

    if (e != nullptr && e->state == DedupState::delivered && e->until > now) {
        // Another request of the same event was delivered first.
        return;
    }

    if (e == nullptr) {
        // Evicted while in flight: the delivery still counts.
        e = insert(key);
        if (e == nullptr) {
            return;
        }
    }
    *e = {DedupState::delivered, ticket, now, now + window_};
    store_.requeue(e);
}

Verdict duplicate_verdict(std::int64_t delivered, std::int64_t now) noexcept
{
    long long ago = now > delivered ? (now - delivered) / 1000 : 0;
    return Verdict::reject(Reason::duplicate, "first delivered %lld s ago", ago);
}

}  // namespace pbxwebhook
