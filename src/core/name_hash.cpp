#include "name_hash.hpp"

#include <cstring>

#include <sys/random.h>
#include <time.h>

namespace pbxwebhook {

namespace {

// The kernel's random source. Early in boot, before it is seeded, the clock
// and the address-space layout stand in rather than hold nginx's start.
std::uint64_t random_seed() noexcept
{
    std::uint64_t seed = 0;
    if (getrandom(&seed, sizeof(seed), GRND_NONBLOCK) == static_cast<ssize_t>(sizeof(seed))) {
        return seed;
    }
    timespec now{};
    clock_gettime(CLOCK_MONOTONIC, &now);
    seed = static_cast<std::uint64_t>(now.tv_nsec) ^ reinterpret_cast<std::uintptr_t>(&seed);
    return seed * 0x9e3779b97f4a7c15ull;
}

// The seed differs per process, so a body cannot be built to collide. It
// is set up before the program's other static objects, so that a schema one
// of them might build still hashes its field names with the final seed.
struct HashSeed {
    HashSeed() noexcept : value(random_seed()) {}
    std::uint64_t value;
};

__attribute__((init_priority(101))) const HashSeed hash_seed;

std::uint64_t load64(const char *p) noexcept
{
    std::uint64_t w;
    std::memcpy(&w, p, sizeof(w));
    return w;
}

std::uint32_t load32(const char *p) noexcept
{
    std::uint32_t w;
    std::memcpy(&w, p, sizeof(w));
    return w;
}

}  // namespace

// Eight bytes at a time: keys are short and a byte loop showed in profiles.
// The tail is read as overlapping loads, never byte by byte; the length is
// in the seed, so tails of different lengths do not meet.
std::uint64_t name_hash(std::string_view text) noexcept
{
    constexpr std::uint64_t multiplier = 0xff51afd7ed558ccdull;

    const char *p = text.data();
    std::size_t n = text.size();
    std::uint64_t h = hash_seed.value ^ n;

    for (; n > 8; p += 8, n -= 8) {
        h = (h ^ load64(p)) * multiplier;
        h ^= h >> 29;
    }

    std::uint64_t tail;
    if (text.size() >= 8) {
        tail = load64(p + n - 8);
    } else if (n >= 4) {
        tail = load32(p) | static_cast<std::uint64_t>(load32(p + n - 4)) << 32;
    } else if (n > 0) {
        tail = static_cast<unsigned char>(p[0]) | static_cast<unsigned char>(p[n / 2]) << 8
               | static_cast<unsigned char>(p[n - 1]) << 16;
    } else {
        tail = 0;
    }
    h = (h ^ tail) * multiplier;

    // The index takes the low bits, and a product's low bits depend only on
    // its factors' low bits: without the whole of this final mix (MurmurHash3's)
    // keys that differ in their last bytes ("note_01", "note_02") would share
    // a few slots.
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdull;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ull;
    return h ^ (h >> 33);
}

}  // namespace pbxwebhook
