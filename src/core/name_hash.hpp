#pragma once

#include <cstdint>
#include <string_view>

namespace pbxwebhook {

// The hash the event's key index is built on. Seeded per process, so a
// body cannot be made of keys that collide; a schema's field names are
// hashed once at configuration time with the same seed and looked up in
// every event without hashing them again.
std::uint64_t name_hash(std::string_view name) noexcept;

}  // namespace pbxwebhook
