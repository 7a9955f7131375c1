#include <gtest/gtest.h>

#include <string>

#include "escape_checker.hpp"

namespace pbxwebhook {
namespace {

// Offset of the first bad byte when text is scanned in one piece, or npos.
std::size_t bad_at(const std::string &text)
{
    EscapeChecker checker;
    std::size_t at = checker.scan(reinterpret_cast<const unsigned char *>(text.data()), text.size());
    return at == text.size() ? std::string::npos : at;
}

// The same, one byte at a time.
std::size_t bad_at_bytewise(const std::string &text)
{
    EscapeChecker checker;
    for (std::size_t i = 0; i < text.size(); i++) {
        if (checker.scan(reinterpret_cast<const unsigned char *>(text.data()) + i, 1) == 0) {
            return i;
        }
    }
    return std::string::npos;
}

TEST(EscapeChecker, AcceptsPairsAndOrdinaryEscapes)
{
    for (const std::string text : {
             R"({"a":"\ud83d\ude00"})",
             R"({"a":"\uD834\uDD1E and \u00e9 \n \" \\ \/"})",
             R"({"\u0074ype":"x"})",
             R"(["\\ud800"])",  // an escaped backslash, then plain text
             R"(["\u0000"])",
             R"("no escapes at all, but long enough to use the word path")",
         })
    {
        EXPECT_EQ(bad_at(text), std::string::npos) << text;
        EXPECT_EQ(bad_at_bytewise(text), std::string::npos) << text;
    }
}

TEST(EscapeChecker, RejectsLoneLowSurrogate)
{
    std::string text = R"({"a":"\udc00"})";
    EXPECT_EQ(bad_at(text), text.find("00\"") + 1);
    EXPECT_EQ(bad_at_bytewise(text), bad_at(text));
}

TEST(EscapeChecker, RejectsHighSurrogateAtEndOfString)
{
    std::string text = R"({"a":"\ud800"})";
    EXPECT_EQ(bad_at(text), text.find("\"}"));
}

TEST(EscapeChecker, RejectsHighSurrogateFollowedByText)
{
    std::string text = R"(["\ud800x"])";
    EXPECT_EQ(bad_at(text), text.find('x'));
}

TEST(EscapeChecker, RejectsHighSurrogateFollowedByOtherEscape)
{
    EXPECT_EQ(bad_at(R"(["\ud800\n"])"), std::string(R"(["\ud800\n"])").find('n', 8));
    std::string not_low = R"(["\ud800\u0041"])";
    EXPECT_EQ(bad_at(not_low), not_low.find("41") + 1);
}

TEST(EscapeChecker, RejectsTwoHighSurrogates)
{
    std::string text = R"(["\ud800\ud800"])";
    EXPECT_EQ(bad_at(text), text.rfind("00") + 1);
}

TEST(EscapeChecker, AnEscapedBackslashIsNotTheStartOfAnEscape)
{
    EXPECT_EQ(bad_at(R"(["\\udc00"])"), std::string::npos);
    EXPECT_EQ(bad_at(R"(["\\\\udc00"])"), std::string::npos);
    std::string odd = R"(["\\\udc00"])";
    EXPECT_EQ(bad_at(odd), odd.find("00\"") + 1);
}

TEST(EscapeChecker, SameAnswerAtEverySplit)
{
    const std::string text =
        R"({"type":"voicemail","note":"pad pad pad pad \ud83d\ude00 pad","bad":"\udfaa"})";
    std::size_t whole = bad_at(text);
    ASSERT_NE(whole, std::string::npos);

    for (std::size_t split = 0; split <= text.size(); split++) {
        EscapeChecker checker;
        const unsigned char *p = reinterpret_cast<const unsigned char *>(text.data());
        std::size_t first = checker.scan(p, split);
        std::size_t at = first < split ? first : split + checker.scan(p + split, text.size() - split);
        EXPECT_EQ(at, whole) << "split at " << split;
    }
}

}  // namespace
}  // namespace pbxwebhook
