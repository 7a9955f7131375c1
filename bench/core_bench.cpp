// Throughput of the core Validator against yajl alone on the same bytes,
// and the heap allocations each makes.
//
// The Validator gets a bump arena reset before every iteration, as the
// request pool is per request, so after the warm-up its memory costs
// nothing but the arena's pointer arithmetic. yajl is driven as a bare
// syntax check: yajl_alloc(NULL, NULL, NULL), one yajl_parse,
// yajl_complete_parse, yajl_free; it takes its memory from malloc.
//
// Heap allocations are counted by interposing malloc and its relatives in
// this executable (libyajl and libstdc++ resolve to them) and by counting
// operator new separately. Counting is switched on only around the
// measured loop.
//
// A third series, yajl_callbacks, runs yajl as the Validator configures it
// with callbacks that do nothing, to split a validation's cost between the
// parser and the Validator's own work.

#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <new>
#include <string>
#include <vector>

#include <benchmark/benchmark.h>
#include <yajl/yajl_parse.h>

#include "allocator.hpp"
#include "schema.hpp"
#include "validator.hpp"

extern "C" {
void *__libc_malloc(std::size_t size);
void *__libc_calloc(std::size_t count, std::size_t size);
void *__libc_realloc(void *p, std::size_t size);
void *__libc_memalign(std::size_t alignment, std::size_t size);
void __libc_free(void *p);
}

namespace {

// Single-threaded benchmark: plain counters are enough.
bool counting = false;
std::size_t heap_allocations = 0;
std::size_t new_calls = 0;

inline void count_heap() noexcept
{
    if (counting) {
        heap_allocations++;
    }
}

}  // namespace

#define PBX_EXPORT extern "C" __attribute__((visibility("default")))

PBX_EXPORT void *malloc(std::size_t size)
{
    count_heap();
    return __libc_malloc(size);
}

PBX_EXPORT void *calloc(std::size_t count, std::size_t size)
{
    count_heap();
    return __libc_calloc(count, size);
}

PBX_EXPORT void *realloc(void *p, std::size_t size)
{
    count_heap();
    return __libc_realloc(p, size);
}

PBX_EXPORT void *memalign(std::size_t alignment, std::size_t size)
{
    count_heap();
    return __libc_memalign(alignment, size);
}

PBX_EXPORT void *aligned_alloc(std::size_t alignment, std::size_t size)
{
    count_heap();
    return __libc_memalign(alignment, size);
}

PBX_EXPORT int posix_memalign(void **out, std::size_t alignment, std::size_t size)
{
    count_heap();
    void *p = __libc_memalign(alignment, size);
    if (p == nullptr) {
        return ENOMEM;
    }
    *out = p;
    return 0;
}

PBX_EXPORT void free(void *p)
{
    __libc_free(p);
}

void *operator new(std::size_t size)
{
    if (counting) {
        new_calls++;
    }
    void *p = std::malloc(size != 0 ? size : 1);
    if (p == nullptr) {
        throw std::bad_alloc();
    }
    return p;
}

void *operator new[](std::size_t size)
{
    return operator new(size);
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

namespace {

using pbxwebhook::Allocator;
using pbxwebhook::Limits;
using pbxwebhook::Schema;
using pbxwebhook::Validator;
using pbxwebhook::Verdict;

const Schema &built_in_catalog()
{
    static const Schema schema = Schema::built_in();
    return schema;
}

// The request pool's stand-in: one buffer, handed out front to back,
// emptied at once.
class BumpArena {
public:
    explicit BumpArena(std::size_t capacity)
        : memory_(static_cast<unsigned char *>(std::malloc(capacity))), capacity_(capacity)
    {
    }

    ~BumpArena() { std::free(memory_); }

    BumpArena(const BumpArena &) = delete;
    BumpArena &operator=(const BumpArena &) = delete;

    Allocator allocator() noexcept { return {allocate, this}; }

    void reset() noexcept
    {
        used_ = 0;
        blocks_ = 0;
    }

    std::size_t used() const noexcept { return used_; }
    std::size_t blocks() const noexcept { return blocks_; }

private:
    static void *allocate(void *context, std::size_t size) noexcept
    {
        BumpArena *arena = static_cast<BumpArena *>(context);
        constexpr std::size_t align = alignof(std::max_align_t);
        std::size_t start = (arena->used_ + align - 1) & ~(align - 1);
        if (arena->memory_ == nullptr || start > arena->capacity_ || size > arena->capacity_ - start) {
            return nullptr;
        }
        arena->used_ = start + size;
        arena->blocks_++;
        return arena->memory_ + start;
    }

    unsigned char *memory_;
    std::size_t capacity_;
    std::size_t used_ = 0;
    std::size_t blocks_ = 0;
};

struct Event {
    std::string name;
    std::string bytes;
};

std::string read_file(const std::filesystem::path &path)
{
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        std::fprintf(stderr, "core_bench: cannot read %s\n", path.c_str());
        std::exit(2);
    }
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

std::vector<Event> load_events()
{
    std::vector<Event> events;
    std::vector<std::filesystem::path> paths;

    for (const auto &entry : std::filesystem::directory_iterator(PBX_SOURCE_DIR "/examples/events")) {
        if (entry.path().extension() == ".json") {
            paths.push_back(entry.path());
        }
    }
    std::sort(paths.begin(), paths.end());
    paths.push_back(PBX_SOURCE_DIR "/bench/events/valid_8k.json");

    for (const auto &path : paths) {
        events.push_back({path.stem().string(), read_file(path)});
    }
    return events;
}

// One validation as the gate runs it: a fresh Validator over pool memory,
// the body in one piece (the benchmark bodies fit nginx's buffers).
__attribute__((noinline)) bool validator_once(BumpArena &arena, const Event &event) noexcept
{
    arena.reset();
    Validator validator(built_in_catalog(), Limits{}, arena.allocator());
    validator.feed(event.bytes.data(), event.bytes.size());
    const Verdict &verdict = validator.finish();
    benchmark::DoNotOptimize(&verdict);
    return verdict.accepted();
}

__attribute__((noinline)) bool yajl_once(const Event &event) noexcept
{
    yajl_handle parser = yajl_alloc(nullptr, nullptr, nullptr);
    if (parser == nullptr) {
        return false;
    }
    const unsigned char *bytes = reinterpret_cast<const unsigned char *>(event.bytes.data());
    bool ok = yajl_parse(parser, bytes, event.bytes.size()) == yajl_status_ok
              && yajl_complete_parse(parser) == yajl_status_ok;
    yajl_free(parser);
    return ok;
}

// yajl as the Validator drives it (every callback set, strings not
// validated by yajl, memory from the arena) with callbacks that do nothing:
// the parser's share of a validation.
int cb_value(void *) noexcept { return 1; }
int cb_boolean(void *, int) noexcept { return 1; }
int cb_text(void *, const char *, std::size_t) noexcept { return 1; }
int cb_string(void *, const unsigned char *, std::size_t) noexcept { return 1; }

const yajl_callbacks noop_callbacks = {
    cb_value, cb_boolean, nullptr, nullptr, cb_text, cb_string,
    cb_value, cb_string, cb_value, cb_value, cb_value,
};

void *noop_malloc(void *context, std::size_t size) noexcept
{
    const Allocator *allocator = static_cast<const Allocator *>(context);
    return allocator->get(size);
}

// Blocks are never freed one by one, so a realloc copies what it can; the
// sizes are not kept, so it copies the new size, which the arena holds.
void *noop_realloc(void *context, void *old, std::size_t size) noexcept
{
    void *p = noop_malloc(context, size);
    if (p != nullptr && old != nullptr) {
        std::memmove(p, old, size);
    }
    return p;
}

void noop_free(void *, void *) noexcept {}

__attribute__((noinline)) bool yajl_callbacks_once(BumpArena &arena, const Event &event) noexcept
{
    arena.reset();
    Allocator allocator = arena.allocator();
    yajl_alloc_funcs funcs = {noop_malloc, noop_realloc, noop_free, &allocator};
    yajl_handle parser = yajl_alloc(&noop_callbacks, &funcs, nullptr);
    if (parser == nullptr) {
        return false;
    }
    yajl_config(parser, yajl_dont_validate_strings, 1);
    const unsigned char *bytes = reinterpret_cast<const unsigned char *>(event.bytes.data());
    return yajl_parse(parser, bytes, event.bytes.size()) == yajl_status_ok
           && yajl_complete_parse(parser) == yajl_status_ok;
}

void set_common_counters(benchmark::State &state, const Event &event, std::size_t heap,
                         std::size_t news)
{
    state.SetBytesProcessed(static_cast<int64_t>(state.iterations())
                            * static_cast<int64_t>(event.bytes.size()));
    state.counters["body_bytes"] = static_cast<double>(event.bytes.size());
    state.counters["heap_allocs"] =
        benchmark::Counter(static_cast<double>(heap), benchmark::Counter::kAvgIterations);
    state.counters["new_calls"] =
        benchmark::Counter(static_cast<double>(news), benchmark::Counter::kAvgIterations);
}

// Runs once() outside the count to warm up and check the event, then in
// the measured loop with the interposed allocators counting.
template <typename Once>
bool measure(benchmark::State &state, const Event &event, const char *refused, Once once)
{
    if (!once()) {
        state.SkipWithError(refused);
        return false;
    }

    std::size_t rejected = 0;
    heap_allocations = 0;
    new_calls = 0;
    counting = true;
    for (auto _ : state) {
        rejected += !once();
    }
    counting = false;

    if (rejected != 0) {
        state.SkipWithError("event rejected during the run");
        return false;
    }
    set_common_counters(state, event, heap_allocations, new_calls);
    return true;
}

void bm_validator(benchmark::State &state, const Event &event)
{
    BumpArena arena(1 << 20);
    if (measure(state, event, "event rejected by the validator",
                [&] { return validator_once(arena, event); }))
    {
        state.counters["arena_blocks"] = static_cast<double>(arena.blocks());
        state.counters["arena_bytes"] = static_cast<double>(arena.used());
    }
}

void bm_yajl(benchmark::State &state, const Event &event)
{
    measure(state, event, "event rejected by yajl", [&] { return yajl_once(event); });
}

void bm_yajl_callbacks(benchmark::State &state, const Event &event)
{
    BumpArena arena(1 << 20);
    measure(state, event, "event rejected by yajl",
            [&] { return yajl_callbacks_once(arena, event); });
}

// The counts are only worth reporting if the interposed malloc is the one
// yajl calls.
bool interposition_works()
{
    heap_allocations = 0;
    counting = true;
    yajl_handle parser = yajl_alloc(nullptr, nullptr, nullptr);
    counting = false;
    yajl_free(parser);
    return heap_allocations > 0;
}

}  // namespace

// --profile=SERIES/EVENT:N runs one series N times on one event and
// exits: under valgrind --tool=callgrind --toggle-collect=*SERIES_once*
// that gives instructions per run, free of the timing noise of a shared
// machine.
int profile(const std::vector<Event> &events, const std::string &spec)
{
    std::size_t slash = spec.find('/');
    std::size_t colon = spec.rfind(':');
    if (slash == std::string::npos || colon == std::string::npos || colon < slash) {
        std::fprintf(stderr, "core_bench: --profile=SERIES/EVENT:N\n");
        return 2;
    }
    std::string series = spec.substr(0, slash);
    std::string name = spec.substr(slash + 1, colon - slash - 1);
    long runs = std::strtol(spec.c_str() + colon + 1, nullptr, 10);

    const Event *event = nullptr;
    for (const Event &e : events) {
        if (e.name == name) {
            event = &e;
        }
    }
    if (event == nullptr || runs <= 0) {
        std::fprintf(stderr, "core_bench: no event %s, or no runs\n", name.c_str());
        return 2;
    }

    built_in_catalog();
    BumpArena arena(1 << 20);
    bool ok = true;
    for (long i = 0; i < runs; i++) {
        if (series == "validator") {
            ok &= validator_once(arena, *event);
        } else if (series == "yajl") {
            ok &= yajl_once(*event);
        } else if (series == "yajl_callbacks") {
            ok &= yajl_callbacks_once(arena, *event);
        } else {
            std::fprintf(stderr, "core_bench: no series %s\n", series.c_str());
            return 2;
        }
    }
    return ok ? 0 : 1;
}

int main(int argc, char **argv)
{
    if (!interposition_works()) {
        std::fprintf(stderr, "core_bench: yajl does not call the counting malloc; "
                             "link with ENABLE_EXPORTS\n");
        return 2;
    }

    static const std::vector<Event> events = load_events();

    if (argc == 2 && std::strncmp(argv[1], "--profile=", 10) == 0) {
        return profile(events, argv[1] + 10);
    }

    for (const Event &event : events) {
        benchmark::RegisterBenchmark(("validator/" + event.name).c_str(),
                                     [&event](benchmark::State &state) { bm_validator(state, event); });
        benchmark::RegisterBenchmark(("yajl/" + event.name).c_str(),
                                     [&event](benchmark::State &state) { bm_yajl(state, event); });
        benchmark::RegisterBenchmark(("yajl_callbacks/" + event.name).c_str(),
                                     [&event](benchmark::State &state) {
                                         bm_yajl_callbacks(state, event);
                                     });
    }

    benchmark::Initialize(&argc, argv);
    if (benchmark::ReportUnrecognizedArguments(argc, argv)) {
        return 1;
    }
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    return 0;
}
