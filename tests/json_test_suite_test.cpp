#include <gtest/gtest.h>

#include <filesystem>
#include <iostream>
#include <string>
#include <vector>

#include "validation.hpp"

namespace {

using pbxtest::Outcome;
using pbxwebhook::Limits;
using pbxwebhook::Reason;

// Nicolas Seriot's JSONTestSuite (tests/data/JSONTestSuite, MIT): y_ must
// parse, n_ must not, i_ may go either way.
std::filesystem::path corpus_dir()
{
    return PBX_SOURCE_DIR "/tests/data/JSONTestSuite/test_parsing";
}

Limits generous()
{
    Limits limits;
    limits.max_body_size = 1024 * 1024;
    limits.max_depth = 512;
    return limits;
}

bool starts_with(const std::string &text, const char *prefix)
{
    return text.rfind(prefix, 0) == 0;
}

struct Corpus {
    std::vector<std::filesystem::path> files;

    std::vector<std::filesystem::path> with_prefix(const char *prefix) const
    {
        std::vector<std::filesystem::path> out;
        for (const auto &file : files) {
            if (starts_with(file.filename().string(), prefix)) {
                out.push_back(file);
            }
        }
        return out;
    }
};

Corpus load_corpus()
{
    return {pbxtest::files_in(corpus_dir(), ".json")};
}

#define REQUIRE_CORPUS(corpus)                                                                     \
    ASSERT_FALSE((corpus).files.empty()) << "JSONTestSuite not found at " << corpus_dir()

TEST(JsonTestSuite, ConformsToRfc8259)
{
    Corpus corpus = load_corpus();
    REQUIRE_CORPUS(corpus);

    std::size_t y_total = 0, y_passed = 0;
    std::size_t n_total = 0, n_passed = 0;
    std::size_t i_total = 0, i_passed = 0;
    std::size_t i_accepted = 0;

    for (const auto &path : corpus.files) {
        const std::string name = path.filename().string();
        const std::string body = pbxtest::read_file(path);
        SCOPED_TRACE(name);
        Outcome outcome = pbxtest::validate(body, pbxtest::built_in_catalog(), generous());

        if (starts_with(name, "y_")) {
            y_total++;
            // duplicate_key and the schema's 422s come after a clean parse.
            if (outcome.reason != Reason::json_syntax && outcome.reason != Reason::json_too_deep
                && outcome.reason != Reason::body_empty && outcome.reason != Reason::body_too_large
                && outcome.reason != Reason::internal)
            {
                y_passed++;
            } else {
                ADD_FAILURE() << "valid JSON refused: " << outcome;
            }
        } else if (starts_with(name, "n_")) {
            n_total++;
            // Zero bytes are body_empty, not a syntax error
            // (n_structure_no_data.json is such a file).
            Reason want_empty = body.empty() ? Reason::body_empty : Reason::json_syntax;
            if (outcome.reason == want_empty
                || (!body.empty() && outcome.reason == Reason::json_too_deep)) {
                n_passed++;
            } else {
                ADD_FAILURE() << "invalid JSON not refused as such: " << outcome;
            }
        } else if (starts_with(name, "i_")) {
            i_total++;
            if (outcome.reason != Reason::internal) {
                i_passed++;
                i_accepted += outcome.reason != Reason::json_syntax;
            } else {
                ADD_FAILURE() << "no verdict: " << outcome;
            }
        }
    }

    std::cout << "JSONTestSuite " << corpus_dir().string() << ":\n"
              << "  y_ accepted " << y_passed << "/" << y_total << "\n"
              << "  n_ refused  " << n_passed << "/" << n_total << "\n"
              << "  i_ decided  " << i_passed << "/" << i_total << " (" << i_accepted << " parsed, "
              << (i_passed - i_accepted) << " refused)\n";

    EXPECT_GT(y_total, 0u);
    EXPECT_GT(n_total, 0u);
    EXPECT_GT(i_total, 0u);
    EXPECT_EQ(y_passed, y_total);
    EXPECT_EQ(n_passed, n_total);
    EXPECT_EQ(i_passed, i_total);
}

TEST(JsonTestSuite, DeepestOpeningArraysAreRefusedAtAnyDepthLimit)
{
    Corpus corpus = load_corpus();
    REQUIRE_CORPUS(corpus);
    const std::filesystem::path path = corpus_dir() / "n_structure_100000_opening_arrays.json";
    ASSERT_TRUE(std::filesystem::exists(path)) << path;
    const std::string body = pbxtest::read_file(path);
    for (unsigned depth : {1u, 16u, 512u}) {
        Limits limits = generous();
        limits.max_depth = depth;
        Reason reason = pbxtest::validate(body, pbxtest::built_in_catalog(), limits).reason;
        EXPECT_TRUE(reason == Reason::json_too_deep || reason == Reason::json_syntax)
            << depth << ": " << pbxwebhook::reason_name(reason);
    }
}

// The verdicts above do not depend on how the bytes arrive.
TEST(JsonTestSuite, VerdictDoesNotDependOnSplitting)
{
    Corpus corpus = load_corpus();
    REQUIRE_CORPUS(corpus);
    for (const auto &path : corpus.files) {
        const std::string body = pbxtest::read_file(path);
        if (body.size() > 4096) {
            continue;
        }
        SCOPED_TRACE(path.filename().string());
        Outcome whole = pbxtest::validate(body, pbxtest::built_in_catalog(), generous());
        ASSERT_EQ(pbxtest::validate_bytewise(body, pbxtest::built_in_catalog(), generous()),
                  whole);
        ASSERT_EQ(pbxtest::validate_pieces(body, {body.size() / 2}, pbxtest::built_in_catalog(),
                                           generous()),
                  whole);
    }
}

}  // namespace
