#include "metrics.hpp"

#include <cstring>
#include <new>
#include <type_traits>

namespace pbxwebhook {

namespace {

constexpr std::string_view result_names[] = {"accepted", "rejected", "would_reject", "duplicate"};

// accepted goes with ok, duplicate with duplicate, the refusals with the rest.
bool result_has_reason(std::size_t result, std::size_t reason) noexcept
{
    bool ok = reason == static_cast<std::size_t>(Reason::ok);
    bool duplicate = reason == static_cast<std::size_t>(Reason::duplicate);
    switch (static_cast<Result>(result)) {
    case Result::accepted:
        return ok;
    case Result::duplicate:
        return duplicate;
    default:
        return !ok && !duplicate;
    }
}

void append_label_value(std::string &out, std::string_view value)
{
    for (char c : value) {
        switch (c) {
        case '\\':
            out += "\\\\";
            break;
        case '"':
            out += "\\\"";
            break;
        case '\n':
            out += "\\n";
            break;
        default:
            out += c;
        }
    }
}

void append_family(std::string &out, std::string_view name, std::string_view type,
                   std::string_view help)
{
    out.append("# HELP ").append(name).append(" ").append(help).append("\n");
    out.append("# TYPE ").append(name).append(" ").append(type).append("\n");
}

void append_sample(std::string &out, std::string_view name, std::string_view zone,
                   std::string_view labels, std::uint64_t value)
{
    out.append(name).append("{zone=\"");
    append_label_value(out, zone);
    out.append("\"").append(labels).append("} ").append(std::to_string(value)).append("\n");
}

// A family with one sample per zone, read by one of Metrics' getters.
template <typename Zone>
void append_zone_family(std::string &out, std::string_view name, std::string_view type,
                        std::string_view help, const Zone *zones, std::size_t count,
                        std::uint64_t (Metrics::*value)() const noexcept)
{
    append_family(out, name, type, help);
    for (std::size_t z = 0; z < count; z++) {
        append_sample(out, name, zones[z].name, "", (zones[z].metrics->*value)());
    }
}

}  // namespace

Metrics::TypeCounter *Metrics::find(std::string_view type) const noexcept
{
    for (TypeCounter *t = types_.load(std::memory_order_acquire); t; t = t->next) {
        if (t->type() == type) {
            return t;
        }
    }
    return nullptr;
}

Metrics::TypeCounter *Metrics::add(std::string_view type, const SharedMemory &memory) noexcept
{
    memory.lock(memory.context);

    // Another worker may have added it while this one waited.
    TypeCounter *t = find(type);
    if (t == nullptr) {
        // Shared memory is never destroyed.
        static_assert(std::is_trivially_destructible_v<TypeCounter>);
        void *p = memory.allocate(memory.context, sizeof(TypeCounter) + type.size());
        if (p != nullptr) {
            t = new (p) TypeCounter{types_.load(std::memory_order_relaxed), {0}, {0}, {0},
                                    type.size(), {}};
            std::memcpy(t->name, type.data(), type.size());
            types_.store(t, std::memory_order_release);
        }
    }

    memory.unlock(memory.context);
    return t;
}

void Metrics::count(const Judgement &j, const SharedMemory &memory) noexcept
{
    requests_[static_cast<int>(j.result)][static_cast<int>(j.reason)].fetch_add(
        1, std::memory_order_relaxed);
    bytes_.fetch_add(j.bytes, std::memory_order_relaxed);

    if (j.secrets != 0) {
        secrets_.store(j.secrets, std::memory_order_relaxed);
    }

    if (j.token_id != 0) {
        if (j.token_id < j.secrets) {
            old_secret_matches_.fetch_add(1, std::memory_order_relaxed);
        }
        if (j.token_id <= token_slots) {
            tokens_[j.token_id - 1].fetch_add(1, std::memory_order_relaxed);
        } else {
            zone_full_.fetch_add(1, std::memory_order_relaxed);
        }
    }

    if (j.result != Result::accepted && j.result != Result::duplicate) {
        return;
    }

    TypeCounter *t = find(j.type);
    if (t == nullptr) {
        t = add(j.type, memory);
    }
    if (t == nullptr) {
        zone_full_.fetch_add(1, std::memory_order_relaxed);
        return;
    }
    if (j.duplicate || j.result == Result::duplicate) {
        t->duplicates.fetch_add(1, std::memory_order_relaxed);
    }
    if (j.result != Result::accepted) {
        return;
    }
    t->events.fetch_add(1, std::memory_order_relaxed);

    std::int64_t seen = t->last_seen.load(std::memory_order_relaxed);
    while (seen < j.now
           && !t->last_seen.compare_exchange_weak(seen, j.now, std::memory_order_relaxed))
    {
    }
}

void Metrics::render(const Zone *zones, std::size_t count, std::string &out)
{
    constexpr std::string_view requests = "pbx_webhook_requests_total";
    append_family(out, requests, "counter",
                  "Requests judged by the gate, by result and reason.");
    for (std::size_t z = 0; z < count; z++) {
        for (std::size_t result = 0; result < result_count; result++) {
            for (std::size_t reason = 0; reason < reason_count; reason++) {
                if (!result_has_reason(result, reason)) {
                    continue;
                }
                std::string labels = ",result=\"";
                labels.append(result_names[result]).append("\",reason=\"");
                labels.append(reason_name(static_cast<Reason>(reason))).append("\"");
                append_sample(out, requests, zones[z].name, labels,
                              zones[z].metrics->requests_[result][reason].load(
                                  std::memory_order_relaxed));
            }
        }
    }

    // One sample per event type and zone, of the value the getter reads.
    auto per_type = [&](std::string_view name, std::uint64_t (*value)(const TypeCounter &)) {
        for (std::size_t z = 0; z < count; z++) {
            for (TypeCounter *t = zones[z].metrics->types_.load(std::memory_order_acquire); t;
                 t = t->next)
            {
                std::string labels = ",type=\"";
                append_label_value(labels, t->type());
                labels += '"';
                append_sample(out, name, zones[z].name, labels, value(*t));
            }
        }
    };

    constexpr std::string_view events = "pbx_webhook_events_total";
    append_family(out, events, "counter", "Accepted events by type.");
    per_type(events, [](const TypeCounter &t) {
        return t.events.load(std::memory_order_relaxed);
    });

    constexpr std::string_view last = "pbx_webhook_last_event_timestamp_seconds";
    append_family(out, last, "gauge", "Unix time of the last accepted event, by type.");
    per_type(last, [](const TypeCounter &t) {
        return static_cast<std::uint64_t>(t.last_seen.load(std::memory_order_relaxed));
    });

    constexpr std::string_view duplicates = "pbx_webhook_duplicates_total";
    append_family(out, duplicates, "counter",
                  "Events whose key was delivered within the dedup window, by type (monitor mode too).");
    per_type(duplicates, [](const TypeCounter &t) {
        return t.duplicates.load(std::memory_order_relaxed);
    });

    constexpr std::string_view tokens = "pbx_webhook_token_matches_total";
    append_family(out, tokens, "counter",
                  "Requests whose token matched, by the secret's 1-based index.");
    for (std::size_t z = 0; z < count; z++) {
        for (std::size_t i = 0; i < token_slots; i++) {
            std::uint64_t n = zones[z].metrics->tokens_[i].load(std::memory_order_relaxed);
            if (n != 0) {
                std::string labels = ",token_id=\"" + std::to_string(i + 1) + "\"";
                append_sample(out, tokens, zones[z].name, labels, n);
            }
        }
    }

    append_zone_family(out, "pbx_webhook_old_secret_matches_total", "counter",
                       "Requests whose token matched a secret other than the last of the location's list.",
                       zones, count, &Metrics::old_secret_matches);
    append_zone_family(out, "pbx_webhook_secrets", "gauge",
                       "Secrets held by the location that judged the zone's latest request.", zones,
                       count, &Metrics::secrets);
    append_zone_family(out, "pbx_webhook_validated_bytes_total", "counter",
                       "Request body bytes the validator read.", zones, count, &Metrics::bytes);
    append_zone_family(out, "pbx_webhook_zone_full_total", "counter",
                       "Counts dropped because the zone had no room (event types, secret indexes).",
                       zones, count, &Metrics::zone_full);
}

void render_dedup_zones(const DedupZoneStats *zones, std::size_t count, std::string &out)
{
    constexpr std::string_view entries = "pbx_webhook_dedup_entries";
    append_family(out, entries, "gauge", "Keys a dedup zone holds, in flight or delivered.");
    for (std::size_t z = 0; z < count; z++) {
        append_sample(out, entries, zones[z].name, "",
                      zones[z].counters->entries.load(std::memory_order_relaxed));
    }

    constexpr std::string_view evictions = "pbx_webhook_dedup_evictions_total";
    append_family(out, evictions, "counter",
                  "Keys a full dedup zone dropped before their window ended.");
    for (std::size_t z = 0; z < count; z++) {
        append_sample(out, evictions, zones[z].name, "",
                      zones[z].counters->evictions.load(std::memory_order_relaxed));
    }
}

}  // namespace pbxwebhook
