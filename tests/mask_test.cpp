#include <gtest/gtest.h>

#include <string>

#include "control_bytes.hpp"
#include "mask.hpp"

namespace pbxwebhook {
namespace {

std::string masked(std::string_view text, std::size_t keep)
{
    std::string out(text.size(), '#');
    mask_digits(text, keep, out.data());
    return out;
}

TEST(MaskDigits, KeepsTheLastThreeDigitsOfANumber)
{
    EXPECT_EQ(masked("+61412345678", 3), "+********678");
}

TEST(MaskDigits, CountsDigitsAcrossTheWholeValue)
{
    EXPECT_EQ(masked("Jane 4242 Doe", 3), "Jane *242 Doe");
    EXPECT_EQ(masked("(09) 555-0123", 3), "(**) ***-*123");
    EXPECT_EQ(masked("12 a 3", 2), "*2 a 3");
}

TEST(MaskDigits, LeavesValuesWithNoMoreDigitsThanKept)
{
    EXPECT_EQ(masked("201", 3), "201");
    EXPECT_EQ(masked("20", 3), "20");
    EXPECT_EQ(masked("anonymous", 3), "anonymous");
    EXPECT_EQ(masked("", 3), "");
}

TEST(MaskDigits, KeepZeroMasksEveryDigit)
{
    EXPECT_EQ(masked("+61412345678", 0), "+***********");
    EXPECT_EQ(masked("Jane 4242 Doe", 0), "Jane **** Doe");
    EXPECT_EQ(masked("no digits", 0), "no digits");
}

TEST(MaskDigits, KeepLargerThanTheDigitsMasksNothing)
{
    EXPECT_EQ(masked("+61412345678", 11), "+61412345678");
    EXPECT_EQ(masked("+61412345678", 1024), "+61412345678");
    EXPECT_EQ(masked("+61412345678", 10), "+*1412345678");
}

TEST(MaskDigits, LeavesNonAsciiDigitsAndUtf8Alone)
{
    // Arabic-Indic and fullwidth digits are not ASCII digits; UTF-8
    // continuation bytes are never '0'-'9'.
    std::string text = "\xd9\xa1\xd9\xa2 \xef\xbc\x91 caf\xc3\xa9 12345";
    EXPECT_EQ(masked(text, 2), "\xd9\xa1\xd9\xa2 \xef\xbc\x91 caf\xc3\xa9 ***45");
}

TEST(MaskDigits, WorksInPlace)
{
    std::string text = "+64 21 555 0199";
    mask_digits(text, 3, text.data());
    EXPECT_EQ(text, "+** ** *** *199");
}

TEST(MaskDigits, MasksWhatTheEventVariableShows)
{
    // The variable shows control bytes as '?' first; masking keeps them so.
    std::string text("021\r\n555\x00" "1234", 13);
    std::string shown(text.size(), ' ');
    replace_control_bytes(text, shown.data());
    mask_digits(shown, 3, shown.data());
    EXPECT_EQ(shown, "***??***?*234");
}

}  // namespace
}  // namespace pbxwebhook
