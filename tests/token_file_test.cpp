#include <gtest/gtest.h>

#include <string>

#include "token_file.hpp"

namespace {

using pbxwebhook::ConfNote;
using pbxwebhook::judge_token_file;
using pbxwebhook::parse_token_file;
using pbxwebhook::secret_warning;
using pbxwebhook::TokenFile;

const std::string long_a = "aaaaaaaaaaaaaaaaaaaa";
const std::string long_b = "bbbbbbbbbbbbbbbbbbbb";

TEST(TokenFile, TrimsBlanksAndSkipsBlankLinesKeepingLineNumbers)
{
    std::string text = "\n  " + long_a + "  \r\n\n\t" + long_b + "\r\n   \n";
    TokenFile file = parse_token_file(text);

    ASSERT_EQ(file.secrets.size(), 2u);
    EXPECT_EQ(file.secrets[0].text, long_a);
    EXPECT_EQ(file.secrets[0].line, 2u);
    EXPECT_EQ(file.secrets[1].text, long_b);
    EXPECT_EQ(file.secrets[1].line, 4u);
    EXPECT_TRUE(file.notes.empty());
}

TEST(TokenFile, LastLineNeedsNoNewline)
{
    std::string text = long_a + "\n" + long_b;
    TokenFile file = parse_token_file(text);
    ASSERT_EQ(file.secrets.size(), 2u);
    EXPECT_EQ(file.secrets[1].text, long_b);
    EXPECT_EQ(file.secrets[1].line, 2u);
}

TEST(TokenFile, BlanksInsideASecretStay)
{
    TokenFile file = parse_token_file(" two words in one secret \n");
    ASSERT_EQ(file.secrets.size(), 1u);
    EXPECT_EQ(file.secrets[0].text, "two words in one secret");
}

TEST(TokenFile, ShortSecretWarnsWithItsLine)
{
    std::string text = long_a + "\n\nshort\n";
    TokenFile file = parse_token_file(text);
    ASSERT_EQ(file.secrets.size(), 2u);
    ASSERT_EQ(file.notes.size(), 1u);
    EXPECT_EQ(file.notes[0].severity, ConfNote::warning);
    EXPECT_EQ(file.notes[0].text, "line 3: secret is shorter than 16 bytes");
}

TEST(TokenFile, LineStartingWithHashIsASecretAndWarns)
{
    std::string text = "  # old secret below, remove after rotation\n" + long_a + "\n";
    TokenFile file = parse_token_file(text);
    ASSERT_EQ(file.secrets.size(), 2u);
    EXPECT_EQ(file.secrets[0].text, "# old secret below, remove after rotation");
    ASSERT_EQ(file.notes.size(), 1u);
    EXPECT_EQ(file.notes[0].severity, ConfNote::warning);
    EXPECT_EQ(file.notes[0].text,
              "line 1: starts with \"#\", which makes it a secret, not a comment");
}

TEST(TokenFile, HashInsideASecretIsNoNote)
{
    std::string text = long_a + "#" + long_b + "\n";
    TokenFile file = parse_token_file(text);
    ASSERT_EQ(file.secrets.size(), 1u);
    EXPECT_TRUE(file.notes.empty());
}

TEST(TokenFile, FileWithoutSecretFails)
{
    for (std::string text : {"", "\n", " \t\r\n\n  "}) {
        TokenFile file = parse_token_file(text);
        EXPECT_TRUE(file.secrets.empty());
        ASSERT_EQ(file.notes.size(), 1u);
        EXPECT_EQ(file.notes[0].severity, ConfNote::error);
        EXPECT_EQ(file.notes[0].text, "has no secret");
    }
}

TEST(SecretWarning, OnlyBelowSixteenBytes)
{
    EXPECT_EQ(secret_warning("fifteen bytes!!"), "secret is shorter than 16 bytes");
    EXPECT_EQ(secret_warning("sixteen bytes!!!"), "");
}

TEST(JudgeTokenFile, TooLargeIsAnErrorAndNothingElseIsSaid)
{
    std::vector<ConfNote> notes = judge_token_file(1024 * 1024 + 1, true);
    ASSERT_EQ(notes.size(), 1u);
    EXPECT_EQ(notes[0].severity, ConfNote::error);
    EXPECT_EQ(notes[0].text, "is larger than 1048576 bytes");
    EXPECT_TRUE(judge_token_file(1024 * 1024, false).empty());
}

TEST(JudgeTokenFile, ReadableByOthersWarns)
{
    std::vector<ConfNote> notes = judge_token_file(100, true);
    ASSERT_EQ(notes.size(), 1u);
    EXPECT_EQ(notes[0].severity, ConfNote::warning);
    EXPECT_EQ(notes[0].text, "is readable by others");
}

}  // namespace
