#include <gtest/gtest.h>

#include <cstdlib>
#include <map>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "metrics.hpp"

namespace pbxwebhook {
namespace {

// A sample of one zone's rendered text, as Prometheus would read it; 0 for
// a series that is not there (render leaves out what never counted).
std::uint64_t sample(const Metrics &metrics, const std::string &series)
{
    Metrics::Zone zone{"z", &metrics};
    std::string text;
    Metrics::render(&zone, 1, text);
    std::istringstream lines(text);
    for (std::string line; std::getline(lines, line);) {
        if (line.rfind(series + " ", 0) == 0) {
            return std::stoull(line.substr(series.size() + 1));
        }
    }
    return 0;
}

std::uint64_t requests(const Metrics &metrics, const char *result, const char *reason)
{
    return sample(metrics, std::string("pbx_webhook_requests_total{zone=\"z\",result=\"") + result
                               + "\",reason=\"" + reason + "\"}");
}

std::uint64_t events(const Metrics &metrics, const char *type)
{
    return sample(metrics,
                  std::string("pbx_webhook_events_total{zone=\"z\",type=\"") + type + "\"}");
}

std::uint64_t token_matches(const Metrics &metrics, int token_id)
{
    return sample(metrics, "pbx_webhook_token_matches_total{zone=\"z\",token_id=\""
                               + std::to_string(token_id) + "\"}");
}

struct TestZone {
    std::vector<void *> blocks;
    std::size_t budget = 1 << 20;
    int locks = 0;

    ~TestZone()
    {
        for (void *p : blocks) {
            std::free(p);
        }
    }

    static void *allocate(void *context, std::size_t size) noexcept
    {
        TestZone *zone = static_cast<TestZone *>(context);
        if (size > zone->budget) {
            return nullptr;
        }
        zone->budget -= size;
        void *p = std::malloc(size);
        zone->blocks.push_back(p);
        return p;
    }
    static void lock(void *context) noexcept { static_cast<TestZone *>(context)->locks++; }
    static void unlock(void *) noexcept {}

    SharedMemory memory() { return {allocate, lock, unlock, this}; }
};

Judgement accepted(std::string_view type, std::size_t token_id = 1, std::int64_t now = 100)
{
    return {Result::accepted, Reason::ok, token_id, 10, type, now};
}

// Parses Prometheus text: every sample line into "name{labels}" -> value,
// checking that each family has HELP and TYPE before its samples.
std::map<std::string, std::string> parse_exposition(const std::string &text)
{
    std::map<std::string, std::string> samples;
    std::map<std::string, int> declared;
    std::istringstream in(text);
    std::string line;

    while (std::getline(in, line)) {
        if (line.rfind("# HELP ", 0) == 0 || line.rfind("# TYPE ", 0) == 0) {
            std::string name = line.substr(7, line.find(' ', 7) - 7);
            declared[name]++;
            continue;
        }
        EXPECT_FALSE(line.empty());
        std::size_t brace = line.find('{');
        std::size_t space = line.rfind(' ');
        EXPECT_NE(brace, std::string::npos) << line;
        EXPECT_NE(space, std::string::npos) << line;
        std::string name = line.substr(0, brace);
        EXPECT_EQ(declared[name], 2) << "family " << name << " lacks HELP or TYPE";
        std::string value = line.substr(space + 1);
        EXPECT_FALSE(value.empty());
        for (char c : value) {
            EXPECT_TRUE(c >= '0' && c <= '9') << line;
        }
        samples[line.substr(0, space)] = value;
    }
    return samples;
}

TEST(Metrics, CountsRequestsByResultAndReason)
{
    TestZone zone;
    Metrics m;

    m.count(accepted("voicemail"), zone.memory());
    m.count({Result::rejected, Reason::token_mismatch, 0, 0, {}, 1}, zone.memory());
    m.count({Result::rejected, Reason::token_mismatch, 0, 0, {}, 1}, zone.memory());
    m.count({Result::would_reject, Reason::field_missing, 2, 50, {}, 1}, zone.memory());

    EXPECT_EQ(requests(m, "accepted", "ok"), 1u);
    EXPECT_EQ(requests(m, "rejected", "token_mismatch"), 2u);
    EXPECT_EQ(requests(m, "would_reject", "field_missing"), 1u);
    EXPECT_EQ(requests(m, "rejected", "field_missing"), 0u);
    EXPECT_EQ(m.bytes(), 60u);
}

TEST(Metrics, CountsEventsOnlyWhenAccepted)
{
    TestZone zone;
    Metrics m;

    m.count(accepted("voicemail"), zone.memory());
    m.count(accepted("voicemail"), zone.memory());
    m.count(accepted("queue_call"), zone.memory());
    m.count({Result::would_reject, Reason::field_type, 1, 0, "voicemail", 1}, zone.memory());

    EXPECT_EQ(events(m, "voicemail"), 2u);
    EXPECT_EQ(events(m, "queue_call"), 1u);
    EXPECT_EQ(events(m, "user_inbound"), 0u);
    EXPECT_EQ(zone.locks, 2) << "only a type's first sighting takes the lock";
}

TEST(Metrics, CountsTokenMatchesByIndex)
{
    TestZone zone;
    Metrics m;

    m.count(accepted("voicemail", 1), zone.memory());
    m.count(accepted("voicemail", 2), zone.memory());
    m.count(accepted("voicemail", 2), zone.memory());
    m.count({Result::rejected, Reason::token_mismatch, 0, 0, {}, 1}, zone.memory());

    EXPECT_EQ(token_matches(m, 1), 1u);
    EXPECT_EQ(token_matches(m, 2), 2u);
    EXPECT_EQ(token_matches(m, 3), 0u);
    EXPECT_EQ(m.zone_full(), 0u);
}

TEST(Metrics, SecretIndexBeyondSlotsCountsAsZoneFull)
{
    TestZone zone;
    Metrics m;

    m.count(accepted("voicemail", Metrics::token_slots + 1), zone.memory());

    EXPECT_EQ(m.zone_full(), 1u);
    EXPECT_EQ(requests(m, "accepted", "ok"), 1u);
}

TEST(Metrics, CountsMatchesOfAnySecretButTheLast)
{
    TestZone zone;
    Metrics m;

    auto matched = [](std::size_t token_id, std::size_t secrets) {
        return Judgement{Result::accepted, Reason::ok, token_id, 0, "voicemail", 1, secrets};
    };

    m.count(matched(1, 1), zone.memory());  // the only secret
    m.count(matched(2, 2), zone.memory());  // the newer of two
    m.count(matched(1, 2), zone.memory());  // the older of two
    m.count(matched(1, 3), zone.memory());
    m.count(matched(2, 3), zone.memory());
    m.count(matched(0, 2), zone.memory());  // no match

    EXPECT_EQ(m.old_secret_matches(), 3u);
}

TEST(Metrics, SecretsGaugeFollowsTheLatestJudgingLocation)
{
    TestZone zone;
    Metrics m;

    EXPECT_EQ(m.secrets(), 0u);
    m.count({Result::rejected, Reason::token_mismatch, 0, 0, {}, 1, 2}, zone.memory());
    EXPECT_EQ(m.secrets(), 2u);
    m.count({Result::accepted, Reason::ok, 1, 0, "voicemail", 1, 1}, zone.memory());
    EXPECT_EQ(m.secrets(), 1u);

    std::string text;
    Metrics::Zone zones[] = {{"z", &m}};
    Metrics::render(zones, 1, text);
    auto samples = parse_exposition(text);

    EXPECT_EQ(samples["pbx_webhook_secrets{zone=\"z\"}"], "1");
    EXPECT_EQ(samples["pbx_webhook_old_secret_matches_total{zone=\"z\"}"], "0");
}

TEST(Metrics, FullZoneDegradesCountingButKeepsTotals)
{
    TestZone zone;
    zone.budget = 0;
    Metrics m;

    m.count(accepted("voicemail"), zone.memory());

    EXPECT_EQ(events(m, "voicemail"), 0u);
    EXPECT_EQ(m.zone_full(), 1u);
    EXPECT_EQ(requests(m, "accepted", "ok"), 1u);
}

TEST(Metrics, LastSeenKeepsTheLatestTime)
{
    TestZone zone;
    Metrics m;

    m.count(accepted("voicemail", 1, 200), zone.memory());
    m.count(accepted("voicemail", 1, 150), zone.memory());

    std::string text;
    Metrics::Zone zones[] = {{"z", &m}};
    Metrics::render(zones, 1, text);
    auto samples = parse_exposition(text);

    EXPECT_EQ(samples["pbx_webhook_last_event_timestamp_seconds{zone=\"z\",type=\"voicemail\"}"],
              "200");
}

TEST(Metrics, RendersValidExpositionForEveryZone)
{
    TestZone zone;
    Metrics a, b;

    a.count(accepted("voicemail"), zone.memory());
    b.count({Result::rejected, Reason::json_syntax, 0, 7, {}, 1}, zone.memory());

    std::string text;
    Metrics::Zone zones[] = {{"first", &a}, {"second", &b}};
    Metrics::render(zones, 2, text);
    auto samples = parse_exposition(text);

    EXPECT_EQ(samples["pbx_webhook_requests_total{zone=\"first\",result=\"accepted\",reason=\"ok\"}"],
              "1");
    EXPECT_EQ(
        samples["pbx_webhook_requests_total{zone=\"second\",result=\"rejected\",reason=\"json_syntax\"}"],
        "1");
    EXPECT_EQ(samples["pbx_webhook_events_total{zone=\"first\",type=\"voicemail\"}"], "1");
    EXPECT_EQ(samples["pbx_webhook_validated_bytes_total{zone=\"second\"}"], "7");
    EXPECT_EQ(samples["pbx_webhook_zone_full_total{zone=\"first\"}"], "0");
    EXPECT_EQ(samples.count(
                  "pbx_webhook_requests_total{zone=\"first\",result=\"accepted\",reason=\"json_syntax\"}"),
              0u)
        << "an accepted request has no failure reason";
    EXPECT_EQ(samples.count(
                  "pbx_webhook_requests_total{zone=\"first\",result=\"rejected\",reason=\"ok\"}"),
              0u);
}

TEST(Metrics, ListsTypeForbiddenForRejectedAndWouldReject)
{
    TestZone zone;
    Metrics m;

    m.count({Result::rejected, Reason::type_forbidden, 2, 120, {}, 1}, zone.memory());

    std::string text;
    Metrics::Zone zones[] = {{"z", &m}};
    Metrics::render(zones, 1, text);
    auto samples = parse_exposition(text);

    EXPECT_EQ(
        samples["pbx_webhook_requests_total{zone=\"z\",result=\"rejected\",reason=\"type_forbidden\"}"],
        "1");
    EXPECT_EQ(
        samples["pbx_webhook_requests_total{zone=\"z\",result=\"would_reject\",reason=\"type_forbidden\"}"],
        "0");
    EXPECT_EQ(samples["pbx_webhook_token_matches_total{zone=\"z\",token_id=\"2\"}"], "1");
}

TEST(Metrics, EscapesLabelValues)
{
    TestZone zone;
    Metrics m;

    m.count(accepted("a\"b\\c\nd"), zone.memory());

    std::string text;
    Metrics::Zone zones[] = {{"z", &m}};
    Metrics::render(zones, 1, text);

    EXPECT_NE(text.find("type=\"a\\\"b\\\\c\\nd\""), std::string::npos) << text;
}

TEST(Metrics, ExactUnderConcurrentUpdates)
{
    TestZone zone;
    Metrics m;
    constexpr int threads = 4;
    constexpr int per_thread = 20000;

    // The lock in the test zone is not a real one, so let the types exist
    // first; the counters themselves are what is under test.
    m.count(accepted("voicemail"), zone.memory());
    m.count(accepted("queue_call"), zone.memory());

    std::vector<std::thread> workers;
    for (int t = 0; t < threads; t++) {
        workers.emplace_back([&m, &zone, t] {
            for (int i = 0; i < per_thread; i++) {
                m.count(accepted(i % 2 ? "voicemail" : "queue_call", 1 + t % 2), zone.memory());
            }
        });
    }
    for (std::thread &w : workers) {
        w.join();
    }

    EXPECT_EQ(requests(m, "accepted", "ok"), 2u + threads * per_thread);
    EXPECT_EQ(events(m, "voicemail") + events(m, "queue_call"), 2u + threads * per_thread);
    EXPECT_EQ(token_matches(m, 1) + token_matches(m, 2), 2u + threads * per_thread);
}

}  // namespace
}  // namespace pbxwebhook

namespace pbxwebhook {
namespace {

TEST(Metrics, CountsDuplicatesAsResultAndByType)
{
    TestZone zone;
    Metrics m;

    m.count({Result::duplicate, Reason::duplicate, 1, 10, "voicemail", 1}, zone.memory());
    Judgement monitored{Result::accepted, Reason::ok, 1, 10, "voicemail", 1};
    monitored.duplicate = true;
    m.count(monitored, zone.memory());
    m.count(accepted("voicemail"), zone.memory());

    EXPECT_EQ(requests(m, "duplicate", "duplicate"), 1u);
    EXPECT_EQ(events(m, "voicemail"), 2u) << "a duplicate answered by nginx is not an event passed on";

    std::string text;
    Metrics::Zone zones[] = {{"z", &m}};
    Metrics::render(zones, 1, text);
    auto samples = parse_exposition(text);
    EXPECT_EQ(samples["pbx_webhook_requests_total{zone=\"z\",result=\"duplicate\",reason=\"duplicate\"}"],
              "1");
    EXPECT_EQ(samples.count("pbx_webhook_requests_total{zone=\"z\",result=\"rejected\",reason=\"duplicate\"}"),
              0u);
    EXPECT_EQ(samples["pbx_webhook_duplicates_total{zone=\"z\",type=\"voicemail\"}"], "2")
        << "monitor mode's duplicates are counted too";
}

TEST(Metrics, RendersDedupZones)
{
    DedupCounters a, b;
    a.entries = 3;
    a.evictions = 7;

    std::string text;
    DedupZoneStats zones[] = {{"first", &a}, {"second", &b}};
    render_dedup_zones(zones, 2, text);
    auto samples = parse_exposition(text);

    EXPECT_EQ(samples["pbx_webhook_dedup_entries{zone=\"first\"}"], "3");
    EXPECT_EQ(samples["pbx_webhook_dedup_evictions_total{zone=\"first\"}"], "7");
    EXPECT_EQ(samples["pbx_webhook_dedup_entries{zone=\"second\"}"], "0");
}

}  // namespace
}  // namespace pbxwebhook
