#include <gtest/gtest.h>

#include <string>

#include "control_bytes.hpp"

namespace pbxwebhook {
namespace {

TEST(ControlBytes, FindsEveryControlByte)
{
    for (int c = 0; c < 0x20; c++) {
        EXPECT_TRUE(has_control_bytes(std::string("ab") + static_cast<char>(c))) << c;
    }
    EXPECT_TRUE(has_control_bytes("a\x7f"));
    EXPECT_FALSE(has_control_bytes("plain text, caf\xc3\xa9 and \"quotes\""));
    EXPECT_FALSE(has_control_bytes(""));
}

TEST(ControlBytes, ReplacesCrLfAndNulSoAHeaderStaysOneLine)
{
    std::string text("Bob\r\nX-Injected: yes\0!", 22);
    std::string out(text.size(), ' ');
    replace_control_bytes(text, out.data());
    EXPECT_EQ(out, "Bob??X-Injected: yes?!");
}

TEST(ControlBytes, KeepsUtf8)
{
    std::string text = "Aroha \xc4\x81 \xf0\x9f\x93\x9e";
    std::string out(text.size(), ' ');
    replace_control_bytes(text, out.data());
    EXPECT_EQ(out, text);
}

}  // namespace
}  // namespace pbxwebhook
