#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <map>
#include <set>
#include <string>

#include "validation.hpp"

namespace {

using pbxwebhook::Reason;
using pbxwebhook::reason_name;
using pbxwebhook::reason_status;
using pbxwebhook::Verdict;

struct Row {
    Reason reason;
    const char *name;
    int status;
};

// The README's "Reasons" table, in the order of checks; internal is the
// allocation-failure answer, below the table.
const Row rows[] = {
    {Reason::method, "method", 405},
    {Reason::token_missing, "token_missing", 401},
    {Reason::token_repeated, "token_repeated", 400},
    {Reason::token_mismatch, "token_mismatch", 401},
    {Reason::content_type, "content_type", 415},
    {Reason::body_too_large, "body_too_large", 413},
    {Reason::body_incomplete, "body_incomplete", 400},
    {Reason::body_empty, "body_empty", 400},
    {Reason::json_syntax, "json_syntax", 400},
    {Reason::json_too_deep, "json_too_deep", 400},
    {Reason::duplicate_key, "duplicate_key", 400},
    {Reason::not_object, "not_object", 422},
    {Reason::type_missing, "type_missing", 422},
    {Reason::type_unknown, "type_unknown", 422},
    {Reason::type_forbidden, "type_forbidden", 403},
    {Reason::field_missing, "field_missing", 422},
    {Reason::field_type, "field_type", 422},
    {Reason::duplicate, "duplicate", 200},
    {Reason::ok, "ok", 0},
    {Reason::internal, "internal", 500},
};

TEST(Reason, NameAndStatusOfEveryReason)
{
    std::set<int> seen;
    for (const Row &row : rows) {
        SCOPED_TRACE(row.name);
        EXPECT_EQ(reason_name(row.reason), row.name);
        EXPECT_EQ(reason_status(row.reason), row.status);
        seen.insert(static_cast<int>(row.reason));
    }
    // Every enumerator, ok through internal, is in the table above.
    EXPECT_EQ(seen.size(), static_cast<std::size_t>(Reason::internal) + 1);
    EXPECT_EQ(*seen.begin(), 0);
    EXPECT_EQ(*seen.rbegin(), static_cast<int>(Reason::internal));
}

TEST(Reason, EnumeratorsFollowTheOrderOfChecks)
{
    for (std::size_t i = 1; i + 2 < std::size(rows); i++) {
        EXPECT_LT(static_cast<int>(rows[i - 1].reason), static_cast<int>(rows[i].reason))
            << rows[i - 1].name << " before " << rows[i].name;
    }
}

TEST(Reason, NamesAreUnique)
{
    std::set<std::string_view> names;
    for (int i = 0; i <= static_cast<int>(Reason::internal); i++) {
        EXPECT_TRUE(names.insert(reason_name(static_cast<Reason>(i))).second)
            << reason_name(static_cast<Reason>(i));
    }
}

// The README's "Reasons" table, reason → status (0 for "—").
std::map<std::string, int> readme_reasons()
{
    std::ifstream readme(PBX_SOURCE_DIR "/README.md");
    std::map<std::string, int> table;
    std::string line;
    bool in_section = false;

    while (std::getline(readme, line)) {
        if (line.rfind("## ", 0) == 0) {
            in_section = line == "## Reasons";
            continue;
        }
        // | `name` | status ... | when | detail |
        if (!in_section || line.rfind("| `", 0) != 0) {
            continue;
        }
        std::size_t close = line.find('`', 3);
        std::size_t bar = line.find('|', close);
        if (close == std::string::npos || bar == std::string::npos) {
            continue;
        }
        std::string status = line.substr(bar + 1);
        status.erase(0, status.find_first_not_of(' '));
        table[line.substr(3, close - 3)] =
            status.rfind("—", 0) == 0 ? 0 : std::atoi(status.c_str());
    }
    return table;
}

// The table users read and the code's table, both ways; internal is the
// README's allocation failure, told below the table.
TEST(Reason, ReadmeTableMatchesTheCode)
{
    std::map<std::string, int> readme = readme_reasons();
    ASSERT_FALSE(readme.empty()) << "no Reasons table in " PBX_SOURCE_DIR "/README.md";

    std::map<std::string, int> code;
    for (int i = 0; i < static_cast<int>(Reason::internal); i++) {
        Reason reason = static_cast<Reason>(i);
        code[std::string(reason_name(reason))] = reason_status(reason);
    }
    EXPECT_EQ(readme, code);
    EXPECT_EQ(readme.count("internal"), 0u);
    EXPECT_EQ(reason_status(Reason::internal), 500);
}

TEST(Verdict, AcceptIsOkWithoutDetail)
{
    Verdict verdict = Verdict::accept();
    EXPECT_TRUE(verdict.accepted());
    EXPECT_EQ(verdict.reason(), Reason::ok);
    EXPECT_EQ(verdict.status(), 0);
    EXPECT_EQ(verdict.detail(), "");
}

TEST(Verdict, RejectFormatsDetail)
{
    Verdict verdict = Verdict::reject(Reason::field_missing, "field \"%s\" missing", "user_number");
    EXPECT_FALSE(verdict.accepted());
    EXPECT_EQ(verdict.reason(), Reason::field_missing);
    EXPECT_EQ(verdict.status(), 422);
    EXPECT_EQ(verdict.detail(), "field \"user_number\" missing");
}

TEST(Verdict, DetailIsCutToCapacity)
{
    std::string long_text(500, 'x');
    Verdict verdict = Verdict::reject(Reason::type_unknown, "%s", long_text.c_str());
    EXPECT_EQ(verdict.detail().size(), Verdict::detail_capacity - 1);
    EXPECT_EQ(verdict.detail(), long_text.substr(0, Verdict::detail_capacity - 1));
}

TEST(Verdict, CopyKeepsDetail)
{
    Verdict copy;
    {
        Verdict verdict = Verdict::reject(Reason::json_syntax, "syntax error at byte %d", 37);
        copy = verdict;
    }
    EXPECT_EQ(copy.detail(), "syntax error at byte 37");
    EXPECT_EQ(copy.status(), 400);
}

TEST(Verdict, QuoteForDetailReplacesControlBytesAndQuotes)
{
    char out[65];
    std::string text("a\"b\nc\x7f"
                     "d\x01\x00z",
                     10);
    std::size_t n = pbxwebhook::quote_for_detail(text, out, 64);
    EXPECT_EQ(std::string(out, n), "a?b?c?d??z");
    EXPECT_EQ(out[n], '\0');
}

TEST(Verdict, QuoteForDetailCutsAtUtf8Boundary)
{
    char out[8];
    // "abcde" then U+20AC (3 bytes): 6 bytes would split the euro sign.
    std::size_t n = pbxwebhook::quote_for_detail("abcde\xe2\x82\xac", out, 6);
    EXPECT_EQ(std::string(out, n), "abcde");
    n = pbxwebhook::quote_for_detail("abcde\xe2\x82\xac", out, 7);
    EXPECT_EQ(std::string(out, n), "abcde");
    char wide[16];
    n = pbxwebhook::quote_for_detail("abcde\xe2\x82\xac", wide, 8);
    EXPECT_EQ(std::string(wide, n), "abcde\xe2\x82\xac");
}

}  // namespace
