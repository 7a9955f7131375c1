#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "dedup_table.hpp"
#include "reason.hpp"

namespace pbxwebhook {

enum class Result { accepted, rejected, would_reject, duplicate };

// Memory that every worker maps at the same address; allocation is rare (a
// new event type) and done under the zone's lock.
struct SharedMemory {
    void *(*allocate)(void *context, std::size_t size) noexcept;
    void (*lock)(void *context) noexcept;
    void (*unlock)(void *context) noexcept;
    void *context;
};

// One judged request, as the counters see it.
struct Judgement {
    Result result;
    Reason reason;
    std::size_t token_id;        // 0: no secret matched
    std::size_t bytes;           // body bytes validated
    std::string_view type;       // the accepted event's type, else empty
    std::int64_t now;            // Unix seconds
    std::size_t secrets = 0;     // how many the judging location holds
    bool duplicate = false;      // its key was delivered within the dedup window
};

// Counters shared by all workers of all generations: placed once in shared
// memory and found again after a reload. Updates are lock-free atomics; only
// the first sighting of an event type takes the lock.
class Metrics {
public:
    static constexpr std::size_t token_slots = 64;
    static constexpr std::size_t reason_count = static_cast<std::size_t>(Reason::internal) + 1;
    static constexpr std::size_t result_count = static_cast<std::size_t>(Result::duplicate) + 1;

    void count(const Judgement &judgement, const SharedMemory &memory) noexcept;

    std::uint64_t bytes() const noexcept { return bytes_.load(std::memory_order_relaxed); }
    std::uint64_t zone_full() const noexcept { return zone_full_.load(std::memory_order_relaxed); }
    std::uint64_t old_secret_matches() const noexcept
    {
        return old_secret_matches_.load(std::memory_order_relaxed);
    }
    std::uint64_t secrets() const noexcept { return secrets_.load(std::memory_order_relaxed); }

    struct Zone {
        std::string_view name;
        const Metrics *metrics;
    };

    // Prometheus text exposition format (0.0.4) for all zones, appended.
    static void render(const Zone *zones, std::size_t count, std::string &out);

private:
    struct TypeCounter {
        TypeCounter *next;
        std::atomic<std::uint64_t> events;
        std::atomic<std::int64_t> last_seen;
        std::atomic<std::uint64_t> duplicates;
        std::size_t name_len;
        char name[1];

        std::string_view type() const noexcept { return {name, name_len}; }
    };

    TypeCounter *find(std::string_view type) const noexcept;
    TypeCounter *add(std::string_view type, const SharedMemory &memory) noexcept;

    std::atomic<std::uint64_t> requests_[result_count][reason_count] = {};
    std::atomic<std::uint64_t> tokens_[token_slots] = {};
    std::atomic<std::uint64_t> bytes_{0};
    std::atomic<std::uint64_t> zone_full_{0};
    // A match of any secret but the last of its location's list: during a
    // rotation, the old one. Counted when it happens, against the list in
    // force then, so a reload that renumbers the secrets changes no count.
    std::atomic<std::uint64_t> old_secret_matches_{0};
    std::atomic<std::uint64_t> secrets_{0};
    std::atomic<TypeCounter *> types_{nullptr};
};

struct DedupZoneStats {
    std::string_view name;
    const DedupCounters *counters;
};

// The dedup zones' families: entries now, evictions so far.
void render_dedup_zones(const DedupZoneStats *zones, std::size_t count, std::string &out);

}  // namespace pbxwebhook
