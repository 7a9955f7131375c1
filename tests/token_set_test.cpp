#include <gtest/gtest.h>

#include <string>

#include "token_set.hpp"

namespace {

using pbxwebhook::TokenSet;

TokenSet set_of(std::initializer_list<std::string_view> secrets)
{
    TokenSet set;
    for (std::string_view secret : secrets) {
        set.add(secret);
    }
    return set;
}

TEST(TokenSet, EmptySetMatchesNothing)
{
    TokenSet set;
    EXPECT_TRUE(set.empty());
    EXPECT_EQ(set.match("anything"), 0u);
    EXPECT_EQ(set.match(""), 0u);
}

TEST(TokenSet, OneSecretMatchesAsOne)
{
    TokenSet set = set_of({"s3cret-token-0001"});
    EXPECT_FALSE(set.empty());
    EXPECT_EQ(set.match("s3cret-token-0001"), 1u);
    EXPECT_EQ(set.match("s3cret-token-0002"), 0u);
}

TEST(TokenSet, IndexIsOneBasedInOrderAdded)
{
    TokenSet two = set_of({"first-secret-aaaa", "second-secret-bbbb"});
    EXPECT_EQ(two.match("first-secret-aaaa"), 1u);
    EXPECT_EQ(two.match("second-secret-bbbb"), 2u);

    TokenSet three = set_of({"alpha-alpha-alpha", "beta", "gamma-gamma-gamma-gamma"});
    EXPECT_EQ(three.match("alpha-alpha-alpha"), 1u);
    EXPECT_EQ(three.match("beta"), 2u);
    EXPECT_EQ(three.match("gamma-gamma-gamma-gamma"), 3u);
    EXPECT_EQ(three.match("delta"), 0u);
}

TEST(TokenSet, FirstOfEqualSecretsWins)
{
    TokenSet set = set_of({"other-secret-xxxx", "same-secret-yyyy", "same-secret-yyyy"});
    EXPECT_EQ(set.match("same-secret-yyyy"), 2u);

    TokenSet front = set_of({"dup", "dup", "dup"});
    EXPECT_EQ(front.match("dup"), 1u);
}

TEST(TokenSet, NoMatchForPrefix)
{
    TokenSet set = set_of({"0123456789abcdef"});
    for (std::size_t n = 0; n < 16; n++) {
        EXPECT_EQ(set.match(std::string("0123456789abcdef", n)), 0u) << n;
    }
}

TEST(TokenSet, NoMatchForSuffix)
{
    TokenSet set = set_of({"0123456789abcdef"});
    for (std::size_t n = 1; n < 16; n++) {
        EXPECT_EQ(set.match(std::string("0123456789abcdef").substr(n)), 0u) << n;
    }
}

TEST(TokenSet, NoMatchForCaseChange)
{
    TokenSet set = set_of({"Secret-Token-ABC"});
    EXPECT_EQ(set.match("secret-token-abc"), 0u);
    EXPECT_EQ(set.match("SECRET-TOKEN-ABC"), 0u);
    EXPECT_EQ(set.match("Secret-Token-ABc"), 0u);
    EXPECT_EQ(set.match("Secret-Token-ABC"), 1u);
}

TEST(TokenSet, NoMatchForEmptyToken)
{
    TokenSet set = set_of({"a", "some-longer-secret"});
    EXPECT_EQ(set.match(""), 0u);
}

TEST(TokenSet, NoMatchForSecretPlusNul)
{
    TokenSet set = set_of({"secret-secret-16"});
    EXPECT_EQ(set.match(std::string("secret-secret-16\0", 17)), 0u);
    EXPECT_EQ(set.match(std::string("\0secret-secret-16", 17)), 0u);
}

TEST(TokenSet, SecretWithNulMatchesOnlyWhole)
{
    TokenSet set;
    set.add(std::string("ab\0cd", 5));
    EXPECT_EQ(set.match(std::string("ab\0cd", 5)), 1u);
    EXPECT_EQ(set.match("ab"), 0u);
    EXPECT_EQ(set.match(std::string("ab\0ce", 5)), 0u);
}

TEST(TokenSet, NoMatchForTokenLongerThanEverySecret)
{
    TokenSet set = set_of({"abc", "abcdef"});
    // A token that repeats a short secret must not match it.
    EXPECT_EQ(set.match("abcabc"), 0u);
    EXPECT_EQ(set.match("abcdefabcdef"), 0u);
    EXPECT_EQ(set.match("abcdefg"), 0u);
    EXPECT_EQ(set.match(std::string(10000, 'a')), 0u);
}

TEST(TokenSet, NoMatchForSingleByteDifferenceAnywhere)
{
    const std::string secret = "0123456789abcdef0123456789abcdef";
    TokenSet set = set_of({secret});
    for (std::size_t i = 0; i < secret.size(); i++) {
        std::string token = secret;
        token[i] ^= 0x01;
        EXPECT_EQ(set.match(token), 0u) << i;
        token[i] = static_cast<char>(token[i] ^ 0x01 ^ 0x80);
        EXPECT_EQ(set.match(token), 0u) << i;
    }
    EXPECT_EQ(set.match(secret), 1u);
}

// Secrets are padded with zeros to the longest one's length, and a longer
// secret added later pads the earlier ones again.
TEST(TokenSet, ShortSecretDoesNotMatchItsPadding)
{
    TokenSet set = set_of({"abc"});
    set.add("abcdefgh");
    set.add("x");
    EXPECT_EQ(set.match(std::string("abc\0\0\0\0\0", 8)), 0u);
    EXPECT_EQ(set.match(std::string("abc\0", 4)), 0u);
    EXPECT_EQ(set.match(std::string("x\0", 2)), 0u);
    EXPECT_EQ(set.match("abc"), 1u);
    EXPECT_EQ(set.match("abcdefgh"), 2u);
    EXPECT_EQ(set.match("x"), 3u);
    EXPECT_EQ(set.match("abcdefg"), 0u);
}

TEST(TokenSet, EmptySecretNeverMatches)
{
    TokenSet set;
    set.add("");
    EXPECT_FALSE(set.empty());
    EXPECT_EQ(set.match(""), 0u);
    EXPECT_EQ(set.match("x"), 0u);
    EXPECT_EQ(set.match(std::string(1, '\0')), 0u);

    // Nor does it take the place of a later real secret.
    set.add("real-secret-value");
    EXPECT_EQ(set.match(""), 0u);
    EXPECT_EQ(set.match("real-secret-value"), 2u);
}

TEST(TokenSet, SecretsAreCopied)
{
    TokenSet set;
    {
        std::string secret = "temporary-secret-1";
        set.add(secret);
        secret.assign(secret.size(), 'x');
    }
    EXPECT_EQ(set.match("temporary-secret-1"), 1u);
}

}  // namespace
