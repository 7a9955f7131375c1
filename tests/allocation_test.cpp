#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <new>
#include <string>
#include <vector>

#include "dedup_table.hpp"
#include "validation.hpp"

// Global operator new and delete for the whole test program, replaced here
// (and only here) so that a test can count the calls made while a flag is
// set. Every form that pairs with another is replaced, so the sanitizers see
// matching malloc and free.
namespace {

std::atomic<bool> counting_new{false};
std::atomic<std::size_t> new_calls{0};

void *counted_new(std::size_t size)
{
    if (counting_new.load(std::memory_order_relaxed)) {
        new_calls.fetch_add(1, std::memory_order_relaxed);
    }
    return std::malloc(size ? size : 1);
}

}  // namespace

void *operator new(std::size_t size)
{
    if (void *p = counted_new(size)) {
        return p;
    }
    throw std::bad_alloc();
}

void *operator new[](std::size_t size)
{
    return operator new(size);
}

void *operator new(std::size_t size, const std::nothrow_t &) noexcept
{
    return counted_new(size);
}

void *operator new[](std::size_t size, const std::nothrow_t &) noexcept
{
    return counted_new(size);
}

void operator delete(void *p) noexcept
{
    std::free(p);
}

void operator delete[](void *p) noexcept
{
    std::free(p);
}

void operator delete(void *p, std::size_t) noexcept
{
    std::free(p);
}

void operator delete[](void *p, std::size_t) noexcept
{
    std::free(p);
}

void operator delete(void *p, const std::nothrow_t &) noexcept
{
    std::free(p);
}

void operator delete[](void *p, const std::nothrow_t &) noexcept
{
    std::free(p);
}

namespace {

using pbxtest::CountingArena;
using pbxtest::Outcome;
using pbxwebhook::Limits;
using pbxwebhook::Reason;
using pbxwebhook::Schema;
using pbxwebhook::Validator;

class CountNew {
public:
    CountNew() noexcept
    {
        new_calls = 0;
        counting_new = true;
    }
    ~CountNew() { counting_new = false; }
    std::size_t calls() const noexcept { return new_calls; }
};

struct Body {
    std::string what;
    std::string text;
    Limits limits;
};

Limits limits(std::size_t size, unsigned depth)
{
    Limits l;
    l.max_body_size = size;
    l.max_depth = depth;
    return l;
}

// Bodies that make every allocating part of a validation work: yajl's
// handle, lexer and buffers (long tokens, escapes, deep stacks, error
// text), and the field table and its index as they grow.
std::vector<Body> bodies()
{
    std::vector<Body> out;
    for (const auto &path : pbxtest::files_in(pbxtest::events_dir(), ".json")) {
        out.push_back({path.stem().string(), pbxtest::read_file(path), {}});
    }
    const std::string sample = out.empty() ? std::string("{}") : out.front().text;
    const std::string head = sample.substr(0, sample.rfind('}'));

    std::string many_keys = head;
    for (int i = 0; i < 70; i++) {
        many_keys += ",\"k" + std::to_string(i) + "\":\"\\u00e9" + std::to_string(i) + "\"";
    }
    many_keys += "}";
    std::string long_escaped = head + ",\"long\":\"";
    for (int i = 0; i < 600; i++) {
        long_escaped += "\\u20ac";
    }
    long_escaped += "\"}";

    out.push_back({"many keys", many_keys, {}});
    out.push_back({"long escaped string", long_escaped, {}});
    out.push_back({"long number", head + ",\"n\":" + std::string(3000, '7') + "}", {}});
    out.push_back({"deep", head + ",\"d\":" + std::string(300, '[') + std::string(300, ']') + "}",
                   limits(1 << 20, 512)});
    out.push_back(
        {"too deep", head + ",\"d\":" + std::string(300, '[') + "1", limits(1 << 20, 200)});
    out.push_back({"syntax", head + ",,}", {}});
    out.push_back({"premature end", head, {}});
    out.push_back({"duplicate", head + ",\"type\":\"x\"}", {}});
    out.push_back({"invalid UTF-8", head + ",\"x\":\"\xed\xa0\x80\"}", {}});
    out.push_back({"too large", sample, limits(100, 16)});
    out.push_back({"not object", "[" + sample + "]", {}});
    out.push_back({"field missing", "{\"type\":\"voicemail\",\"unique_call_id\":\"1\"}", {}});
    return out;
}

TEST(CountingArena, CountsBlocksAndBytes)
{
    CountingArena arena;
    pbxwebhook::Allocator allocator = arena.allocator();
    void *a = allocator.get(10);
    void *b = allocator.get(0);
    void *c = allocator.get(1000);
    EXPECT_NE(a, nullptr);
    EXPECT_NE(b, nullptr);
    EXPECT_NE(c, nullptr);
    EXPECT_NE(a, c);
    EXPECT_EQ(arena.blocks(), 3u);
    EXPECT_EQ(arena.bytes(), 1010u);
    EXPECT_EQ(arena.failures(), 0u);
    EXPECT_EQ(reinterpret_cast<std::uintptr_t>(c) % alignof(std::max_align_t), 0u);
    EXPECT_EQ(static_cast<unsigned char *>(c)[999], 0xa5) << "blocks are not junk-filled";
}

TEST(CountingArena, FailsAfterTheGivenNumberOfBlocks)
{
    CountingArena arena;
    arena.fail_after(2);
    pbxwebhook::Allocator allocator = arena.allocator();
    EXPECT_NE(allocator.get(8), nullptr);
    EXPECT_NE(allocator.get(8), nullptr);
    EXPECT_EQ(allocator.get(8), nullptr);
    EXPECT_EQ(allocator.get(1), nullptr);
    EXPECT_EQ(arena.blocks(), 2u);
    EXPECT_EQ(arena.failures(), 2u);
    arena.fail_after(CountingArena::never);
    EXPECT_NE(allocator.get(8), nullptr);
}

TEST(CountingArena, GivesPoolAlignmentAndNoMore)
{
    CountingArena arena(8);
    for (int i = 0; i < 10; i++) {
        std::uintptr_t p = reinterpret_cast<std::uintptr_t>(arena.allocator().get(24));
        EXPECT_EQ(p % 8, 0u);
        if (alignof(std::max_align_t) > 8) {
            EXPECT_NE(p % alignof(std::max_align_t), 0u);
        }
    }
}

// Stores through a volatile pointer keep the compiler from eliding the
// allocations this test makes on purpose.
void *volatile escape;

TEST(Allocation, OperatorNewCounterWorks)
{
    std::size_t calls;
    {
        CountNew count;
        std::vector<int> *v = new std::vector<int>(3);
        escape = v;
        escape = v->data();
        delete v;
        calls = count.calls();
    }
    EXPECT_EQ(calls, 2u);
    counting_new = false;
    int *p = new int(1);
    escape = p;
    delete p;
    EXPECT_EQ(new_calls, 2u) << "counted while the flag was off";
}

// All memory of a validation comes from its Allocator: nothing from the
// global heap through new, whatever the body and however it arrives.
TEST(Allocation, ValidationAllocatesOnlyFromItsArena)
{
    const Schema &catalog = pbxtest::built_in_catalog();
    for (const Body &body : bodies()) {
        SCOPED_TRACE(body.what);
        for (bool bytewise : {false, true}) {
            CountingArena arena;
            Validator validator(catalog, body.limits, arena.allocator());
            Reason reason;
            std::size_t calls;
            {
                CountNew count;
                if (bytewise) {
                    for (char c : body.text) {
                        validator.feed(&c, 1);
                    }
                } else {
                    validator.feed(body.text.data(), body.text.size());
                }
                reason = validator.finish().reason();
                validator.fields().find("type");
                calls = count.calls();
            }
            EXPECT_EQ(calls, 0u) << "operator new called " << calls << " times";
            EXPECT_NE(reason, Reason::internal);
            if (!body.text.empty() && reason != Reason::body_too_large) {
                EXPECT_GT(arena.blocks(), 0u);
            }
        }
    }
}

// Running out of memory at any allocation gives a 500 or the verdict the
// body would have had, never a crash and never another verdict.
TEST(Allocation, FailureAtEveryPointGivesInternalOrTheNormalVerdict)
{
    const Schema &catalog = pbxtest::built_in_catalog();
    std::size_t points = 0;
    for (const Body &body : bodies()) {
        SCOPED_TRACE(body.what);
        for (bool bytewise : {false, true}) {
            std::vector<std::size_t> cuts =
                bytewise ? pbxtest::every_byte(body.text) : std::vector<std::size_t>{};
            CountingArena unlimited;
            Outcome normal =
                pbxtest::validate_pieces_in(unlimited, body.text, cuts, catalog, body.limits);
            ASSERT_NE(normal.reason, Reason::internal);

            for (std::size_t n = 0; n <= unlimited.blocks(); n++) {
                SCOPED_TRACE(testing::Message()
                             << (bytewise ? "bytewise" : "whole") << ", fail after " << n);
                CountingArena arena;
                arena.fail_after(n);
                Outcome outcome =
                    pbxtest::validate_pieces_in(arena, body.text, cuts, catalog, body.limits);
                if (arena.failures() == 0) {
                    ASSERT_EQ(outcome, normal);
                } else if (outcome.reason == Reason::internal) {
                    EXPECT_EQ(outcome.status, 500);
                    EXPECT_EQ(outcome.detail, "out of memory");
                    points++;
                } else {
                    ASSERT_EQ(outcome.reason, normal.reason);
                    ASSERT_EQ(outcome.detail, normal.detail);
                }
            }
        }
    }
    EXPECT_GT(points, 0u);
}

// nginx's pool aligns small blocks to sizeof(unsigned long) only.
TEST(Allocation, PoolAlignmentIsEnough)
{
    for (const Body &body : bodies()) {
        SCOPED_TRACE(body.what);
        CountingArena aligned;
        Outcome expected =
            pbxtest::validate_pieces_in(aligned, body.text, {}, pbxtest::built_in_catalog(), body.limits);
        CountingArena pool(8);
        Outcome outcome = pbxtest::validate_pieces_in(
            pool, body.text, pbxtest::every_byte(body.text), pbxtest::built_in_catalog(), body.limits);
        EXPECT_EQ(outcome, expected);
    }
}

// Pool memory lives as long as the request; what a body costs must stay a
// small multiple of its size however it is split.
TEST(Allocation, MemoryStaysProportionalToBody)
{
    for (const Body &body : bodies()) {
        SCOPED_TRACE(body.what);
        for (bool bytewise : {false, true}) {
            CountingArena arena;
            pbxtest::validate_pieces_in(arena, body.text,
                                        bytewise ? pbxtest::every_byte(body.text)
                                                 : std::vector<std::size_t>{},
                                        pbxtest::built_in_catalog(), body.limits);
            EXPECT_LE(arena.bytes(), 8 * body.text.size() + 16384)
                << (bytewise ? "bytewise " : "whole ") << arena.bytes() << " bytes in "
                << arena.blocks() << " blocks for " << body.text.size();
        }
    }
}

}  // namespace

namespace {

// The i-th of the shortest distinct keys: one printable ASCII byte, then two.
std::string short_key(std::size_t i)
{
    static const std::string alphabet = [] {
        std::string a;
        for (char c = ' '; c < 0x7f; c++) {
            if (c != '"' && c != '\\') {
                a += c;
            }
        }
        return a;
    }();
    std::string key;
    std::size_t n = alphabet.size();
    if (i < n) {
        return std::string(1, alphabet[i]);
    }
    i -= n;
    for (; i >= n * n; i -= n * n) {
        key += alphabet[0];
    }
    key += alphabet[i / n];
    key += alphabet[i % n];
    return key;
}

struct Shape {
    const char *what;
    // The member for key number i, without its comma.
    std::string (*member)(std::size_t i);
};

// A body of top-level members filling size bytes but for the closing brace,
// which a client holding the request open never sends.
std::string open_body(const Shape &shape, std::size_t size)
{
    std::string body = "{\"type\":\"user_inbound\"";
    for (std::size_t i = 0;; i++) {
        std::string member = "," + shape.member(i);
        if (body.size() + member.size() > size - 1) {
            break;
        }
        body += member;
    }
    return body;
}

const Shape worst_shapes[] = {
    {"short keys, tiny numbers", [](std::size_t i) { return '"' + short_key(i) + "\":0"; }},
    {"short keys, empty strings", [](std::size_t i) { return '"' + short_key(i) + "\":\"\""; }},
    {"short keys, empty arrays", [](std::size_t i) { return '"' + short_key(i) + "\":[]"; }},
    {"numbered keys (issue 15)",
     [](std::size_t i) { return "\"k" + std::to_string(i) + "\":" + std::to_string(i % 10); }},
    {"short keys, deep arrays",
     [](std::size_t i) {
         return '"' + short_key(i) + "\":" + std::string(15, '[') + std::string(15, ']');
     }},
    {"short keys, arrays of short strings",
     [](std::size_t i) { return '"' + short_key(i) + "\":[\"\",\"\",\"\",\"\"]"; }},
    {"long keys",
     [](std::size_t i) { return '"' + std::string(300, 'k') + std::to_string(i) + "\":0"; }},
    {"one long key", [](std::size_t i) { return '"' + (i ? short_key(i) : std::string(65000, 'k')) + "\":0"; }},
    {"long values",
     [](std::size_t i) { return '"' + short_key(i) + "\":\"" + std::string(1100, 'v') + '"'; }},
    {"values just fitting",
     [](std::size_t i) { return '"' + short_key(i) + "\":\"" + std::string(1024, 'v') + '"'; }},
    {"long numbers",
     [](std::size_t i) { return '"' + short_key(i) + "\":" + std::string(700, '7'); }},
};

// What a body at the size limit costs the request pool while its client
// holds it open, fed as nginx reads it (8 KB buffers), whole, and a byte at
// a time: a small multiple of its size whatever its shape.
TEST(Allocation, BodyAtTheLimitCostsASmallMultipleOfItsSize)
{
    constexpr std::size_t size = 64 * 1024;
    constexpr std::size_t bytes_per_byte = 4;
    constexpr std::size_t fixed = 16 * 1024;

    for (const Shape &shape : worst_shapes) {
        std::string body = open_body(shape, size);
        ASSERT_GT(body.size(), size - 1200) << shape.what;
        for (std::size_t piece : {std::size_t(8192), body.size(), std::size_t(1)}) {
            SCOPED_TRACE(testing::Message() << shape.what << ", pieces of " << piece);
            CountingArena arena;
            Validator validator(pbxtest::built_in_catalog(), limits(size, 16), arena.allocator());
            for (std::size_t at = 0; at < body.size(); at += piece) {
                ASSERT_TRUE(validator.feed(body.data() + at, std::min(piece, body.size() - at)))
                    << validator.verdict().detail();
            }
            EXPECT_GT(validator.fields().size(), 0u);
            EXPECT_LE(arena.bytes(), bytes_per_byte * body.size() + fixed)
                << arena.bytes() << " bytes in " << arena.blocks() << " blocks for "
                << body.size() << " bytes, " << validator.fields().size() << " fields";
            std::printf("[ pool     ] %-38s pieces %5zu: %7zu bytes, %5.2f per body byte, "
                        "%5zu fields\n",
                        shape.what, piece, arena.bytes(),
                        static_cast<double>(arena.bytes()) / body.size(),
                        validator.fields().size());
        }
    }
}

}  // namespace

namespace {

using pbxwebhook::DedupCheck;
using pbxwebhook::DedupCounters;
using pbxwebhook::DedupEntry;
using pbxwebhook::DedupKey;
using pbxwebhook::DedupMark;
using pbxwebhook::DedupState;
using pbxwebhook::DedupStore;
using pbxwebhook::DedupTable;

// A store in a fixed array with linear search: allocates nothing itself, so
// any allocation counted is the table's.
class ArrayStore final : public DedupStore {
public:
    DedupEntry *find(const DedupKey &key) noexcept override
    {
        for (Slot &s : slots_) {
            if (s.used && s.key == key) {
                return &s.entry;
            }
        }
        return nullptr;
    }
    DedupEntry *insert(const DedupKey &key) noexcept override
    {
        for (Slot &s : slots_) {
            if (!s.used) {
                s = {true, key, {DedupState::in_flight, 0, 0, 0}, ++clock_};
                return &s.entry;
            }
        }
        return nullptr;
    }
    void erase(DedupEntry *entry) noexcept override { slot(entry)->used = false; }
    void requeue(DedupEntry *entry) noexcept override { slot(entry)->order = ++clock_; }
    DedupEntry *oldest(DedupState state) noexcept override
    {
        Slot *best = nullptr;
        for (Slot &s : slots_) {
            if (s.used && s.entry.state == state && (!best || s.order < best->order)) {
                best = &s;
            }
        }
        return best ? &best->entry : nullptr;
    }

private:
    struct Slot {
        bool used;
        DedupKey key;
        DedupEntry entry;
        unsigned long order;
    };
    Slot *slot(DedupEntry *entry) noexcept
    {
        for (Slot &s : slots_) {
            if (&s.entry == entry) {
                return &s;
            }
        }
        return nullptr;
    }
    Slot slots_[4] = {};
    unsigned long clock_ = 0;
};

TEST(Allocation, DedupTableAllocatesNothing)
{
    ArrayStore store;
    DedupCounters counters;
    DedupTable table(store, counters, 1000);

    CountNew count;
    for (int i = 0; i < 20; i++) {
        DedupKey key = {};
        key.bytes[0] = static_cast<unsigned char>(i % 6);
        DedupCheck c = table.check(key, i * 100);
        table.settle(key, c.ticket, i % 3 != 0, i * 100 + 50);
        pbxwebhook::Verdict v = pbxwebhook::duplicate_verdict(0, i * 100);
        EXPECT_EQ(v.reason(), Reason::duplicate);
    }
    EXPECT_EQ(count.calls(), 0u);
    EXPECT_GT(counters.evictions.load(), 0u) << "the eviction path ran too";
}

}  // namespace
