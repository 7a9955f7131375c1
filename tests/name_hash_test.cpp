#include <gtest/gtest.h>

#include <set>
#include <string>

#include "name_hash.hpp"
#include "schema.hpp"
#include "validation.hpp"

namespace {

using pbxwebhook::name_hash;

TEST(NameHash, SameNameSameHash)
{
    std::string a = "unique_call_id";
    std::string b(a.begin(), a.end());
    EXPECT_EQ(name_hash(a), name_hash(b));
    EXPECT_NE(name_hash("unique_call_id"), name_hash("unique_call_ie"));
}

// Every length up to two words, so each way the tail is read is covered:
// changing any one byte, or the length, changes the hash.
TEST(NameHash, EveryByteAndTheLengthCount)
{
    for (std::size_t length = 0; length <= 17; length++) {
        std::string name(length, 'k');
        std::uint64_t base = name_hash(name);
        EXPECT_NE(name_hash(name + '\0'), base) << length;
        for (std::size_t i = 0; i < length; i++) {
            std::string changed = name;
            changed[i] = 'j';
            EXPECT_NE(name_hash(changed), base) << length << " at " << i;
        }
    }
}

// The index takes the low bits. Keys that differ only in their last bytes
// (note_01, note_02, ...) must spread over them, not share a few slots.
TEST(NameHash, SimilarKeysSpreadOverLowBits)
{
    for (const char *prefix : {"note_", "custom_field_", "x"}) {
        std::set<std::uint64_t> slots;
        for (int i = 0; i < 256; i++) {
            slots.insert(name_hash(prefix + std::to_string(i)) & 255);
        }
        // 256 random keys fill about 162 of 256 slots, give or take 6; the
        // seed changes from run to run, so the bound is far below that. A
        // hash whose low bits ignore the last bytes fills a handful.
        EXPECT_GE(slots.size(), 125u) << prefix;
    }
}

TEST(NameHash, SchemaFieldsCarryTheirHash)
{
    for (const pbxwebhook::EventRule &rule : pbxtest::built_in_catalog().rules()) {
        for (const pbxwebhook::FieldRule &field : rule.fields) {
            EXPECT_EQ(field.hash, name_hash(field.name)) << rule.type << " " << field.name;
        }
    }
}

}  // namespace
