#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <ostream>
#include <sstream>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include "schema.hpp"
#include "test_arena.hpp"
#include "validator.hpp"

namespace pbxwebhook {

inline void PrintTo(Reason reason, std::ostream *os)
{
    *os << reason_name(reason);
}

inline void PrintTo(JsonKind kind, std::ostream *os)
{
    static const char *const names[] = {"string", "number", "boolean", "null", "array", "object"};
    *os << names[static_cast<int>(kind)];
}

inline void PrintTo(FieldKind kind, std::ostream *os)
{
    *os << field_kind_name(kind);
}

}  // namespace pbxwebhook

namespace pbxtest {

using pbxwebhook::JsonKind;
using pbxwebhook::Limits;
using pbxwebhook::Reason;
using pbxwebhook::Schema;

// The built-in catalog, built once for the whole run.
inline const Schema &built_in_catalog()
{
    static const Schema schema = Schema::built_in();
    return schema;
}

// An EventField copied out of the arena that held it.
struct Field {
    std::string name;
    std::string value;
    JsonKind kind;
    bool empty_string;
    bool digits;
    bool datetime;

    auto tie() const { return std::tie(name, value, kind, empty_string, digits, datetime); }
    bool operator==(const Field &other) const { return tie() == other.tie(); }
};

struct Outcome {
    Reason reason = Reason::ok;
    int status = 0;
    std::string detail;
    std::vector<Field> fields;

    bool operator==(const Outcome &other) const
    {
        return reason == other.reason && status == other.status && detail == other.detail
               && fields == other.fields;
    }

    const Field *find(std::string_view name) const
    {
        for (const Field &field : fields) {
            if (field.name == name) {
                return &field;
            }
        }
        return nullptr;
    }
};

inline std::string printable(std::string_view text)
{
    std::string out;
    for (unsigned char c : text) {
        if (c < 0x20 || c >= 0x7f || c == '\\') {
            char hex[8];
            std::snprintf(hex, sizeof(hex), "\\x%02x", c);
            out += hex;
        } else {
            out += static_cast<char>(c);
        }
    }
    return out;
}

inline std::ostream &operator<<(std::ostream &os, const Outcome &outcome)
{
    os << pbxwebhook::reason_name(outcome.reason) << " " << outcome.status << " \""
       << outcome.detail << "\" {";
    for (const Field &field : outcome.fields) {
        os << " \"" << printable(field.name) << "\"=\"" << printable(field.value.substr(0, 40))
           << (field.value.size() > 40 ? "..." : "") << "\"/" << static_cast<int>(field.kind)
           << field.empty_string << field.digits << field.datetime;
    }
    return os << " }";
}

inline Outcome outcome_of(const pbxwebhook::Validator &validator)
{
    Outcome outcome;
    outcome.reason = validator.verdict().reason();
    outcome.status = validator.verdict().status();
    outcome.detail = std::string(validator.verdict().detail());
    const pbxwebhook::EventFields &fields = validator.fields();
    for (std::size_t i = 0; i < fields.size(); i++) {
        const pbxwebhook::EventField &f = fields[i];
        pbxwebhook::ValueShape shape = f.shape();
        outcome.fields.push_back({std::string(f.name()), std::string(f.value()), shape.kind,
                                  shape.empty_string, shape.digits, shape.datetime});
    }
    return outcome;
}

// Feeds body in pieces that end at the given offsets. Each piece comes from
// its own heap copy of exactly its size, scribbled over and freed straight
// after the feed, so a pointer kept into it shows up (under ASan at once).
// Once feed says no, the remaining pieces must be refused and change nothing.
inline Outcome validate_pieces_in(CountingArena &arena, std::string_view body,
                                  const std::vector<std::size_t> &cuts, const Schema &schema,
                                  Limits limits)
{
    pbxwebhook::Validator validator(schema, limits, arena.allocator());

    std::vector<std::size_t> ends = cuts;
    ends.push_back(body.size());

    std::size_t start = 0;
    bool stopped = false;
    std::string stopped_detail;
    Reason stopped_reason = Reason::ok;
    std::size_t stopped_bytes = 0;

    for (std::size_t end : ends) {
        std::size_t n = end - start;
        unsigned char *copy = static_cast<unsigned char *>(std::malloc(n ? n : 1));
        std::memcpy(copy, body.data() + start, n);
        bool more = validator.feed(copy, n);
        std::memset(copy, 0xee, n);
        std::free(copy);
        start = end;

        if (stopped) {
            EXPECT_FALSE(more) << "a feed after the parse stopped was taken";
            EXPECT_EQ(validator.verdict().reason(), stopped_reason);
            EXPECT_EQ(std::string(validator.verdict().detail()), stopped_detail);
            EXPECT_EQ(validator.bytes(), stopped_bytes);
        } else if (!more) {
            EXPECT_FALSE(validator.verdict().accepted()) << "feed refused bytes without a verdict";
            stopped = true;
            stopped_reason = validator.verdict().reason();
            stopped_detail = std::string(validator.verdict().detail());
            stopped_bytes = validator.bytes();
        }
    }

    const pbxwebhook::Verdict &verdict = validator.finish();
    Outcome outcome = outcome_of(validator);
    EXPECT_EQ(verdict.reason(), validator.verdict().reason());
    if (stopped) {
        EXPECT_EQ(outcome.reason, stopped_reason)
            << "finish changed the verdict of a stopped parse";
        EXPECT_EQ(outcome.detail, stopped_detail);
    }

    const pbxwebhook::Verdict &again = validator.finish();
    EXPECT_EQ(again.reason(), outcome.reason) << "finish is not idempotent";
    EXPECT_EQ(std::string(again.detail()), outcome.detail);
    EXPECT_FALSE(validator.feed("{", 1)) << "feed after finish was taken";
    return outcome;
}

inline Outcome validate_pieces(std::string_view body, const std::vector<std::size_t> &cuts,
                               const Schema &schema = built_in_catalog(), Limits limits = {})
{
    CountingArena arena;
    return validate_pieces_in(arena, body, cuts, schema, limits);
}

inline std::vector<std::size_t> every_byte(std::string_view body)
{
    std::vector<std::size_t> cuts;
    for (std::size_t i = 1; i < body.size(); i++) {
        cuts.push_back(i);
    }
    return cuts;
}

inline Outcome validate(std::string_view body, const Schema &schema = built_in_catalog(),
                        Limits limits = {})
{
    return validate_pieces(body, {}, schema, limits);
}

inline Outcome validate_bytewise(std::string_view body, const Schema &schema = built_in_catalog(),
                                 Limits limits = {})
{
    return validate_pieces(body, every_byte(body), schema, limits);
}

// A schema from `pbx_webhook_event` argument lines, words split on spaces.
inline Schema schema_of(std::initializer_list<std::string_view> lines)
{
    Schema schema;
    for (std::string_view line : lines) {
        std::vector<std::string_view> words;
        std::size_t i = 0;
        while (i <= line.size()) {
            std::size_t end = std::min(line.find(' ', i), line.size());
            if (end > i) {
                words.push_back(line.substr(i, end - i));
            }
            i = end + 1;
        }
        std::string error = schema.add_event(words);
        EXPECT_EQ(error, "") << "in test schema line: " << line;
    }
    return schema;
}

inline std::string read_file(const std::filesystem::path &path)
{
    std::ifstream in(path, std::ios::binary);
    EXPECT_TRUE(in.good()) << "cannot read " << path;
    return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// Regular files in dir whose names end in suffix, sorted by name.
inline std::vector<std::filesystem::path> files_in(const std::filesystem::path &dir,
                                                   std::string_view suffix)
{
    std::vector<std::filesystem::path> files;
    std::error_code error;
    for (const auto &entry : std::filesystem::directory_iterator(dir, error)) {
        std::string name = entry.path().filename().string();
        if (entry.is_regular_file() && name.size() >= suffix.size()
            && name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0)
        {
            files.push_back(entry.path());
        }
    }
    std::sort(files.begin(), files.end());
    return files;
}

inline const std::filesystem::path &events_dir()
{
    static const std::filesystem::path dir = PBX_SOURCE_DIR "/examples/events";
    return dir;
}

}  // namespace pbxtest
