#include <gtest/gtest.h>

#include <string>

#include "request_head.hpp"

namespace {

using pbxwebhook::check_request_head;
using pbxwebhook::HeadCheck;
using pbxwebhook::HeadRules;
using pbxwebhook::Reason;
using pbxwebhook::RequestHead;
using pbxwebhook::TokenSet;

constexpr std::string_view first = "first-secret-of-twenty";
constexpr std::string_view second = "second-secret-of-twenty";

class RequestHeadTest : public testing::Test {
protected:
    RequestHeadTest() { secrets.add(first), secrets.add(second); }

    HeadCheck check() const { return check_request_head(head, rules); }

    TokenSet secrets;
    HeadRules rules{"X-Pbx-Token", secrets, true, 65536};
    RequestHead head{"POST", 1, second, "application/json", 100};
};

TEST_F(RequestHeadTest, GoodHeadIsAcceptedWithItsSecret)
{
    HeadCheck c = check();
    EXPECT_TRUE(c.verdict.accepted());
    EXPECT_EQ(c.token_id, 2u);
}

TEST_F(RequestHeadTest, OtherMethodIsRejectedFirst)
{
    head.method = "GET";
    head.token_count = 0;
    HeadCheck c = check();
    EXPECT_EQ(c.verdict.reason(), Reason::method);
    EXPECT_EQ(c.verdict.status(), 405);
    EXPECT_EQ(c.verdict.detail(), "method GET not allowed");
    EXPECT_EQ(c.token_id, 0u);
}

TEST_F(RequestHeadTest, MethodIsCaseSensitiveAndQuotedSafely)
{
    head.method = "post";
    EXPECT_EQ(check().verdict.detail(), "method post not allowed");
    head.method = "P\"O\nST-AND-A-VERY-LONG-METHOD-NAME";
    EXPECT_EQ(check().verdict.detail(), "method P?O?ST-AND-A-VERY-LONG- not allowed");
}

TEST_F(RequestHeadTest, MissingTokenNamesTheHeader)
{
    head.token_count = 0;
    head.token = {};
    HeadCheck c = check();
    EXPECT_EQ(c.verdict.reason(), Reason::token_missing);
    EXPECT_EQ(c.verdict.detail(), "no \"X-Pbx-Token\" header");
}

TEST_F(RequestHeadTest, RepeatedTokenSaysHowOften)
{
    head.token_count = 3;
    HeadCheck c = check();
    EXPECT_EQ(c.verdict.reason(), Reason::token_repeated);
    EXPECT_EQ(c.verdict.status(), 400);
    EXPECT_EQ(c.verdict.detail(), "\"X-Pbx-Token\" header sent 3 times");
}

TEST_F(RequestHeadTest, WrongTokenMatchesNoSecret)
{
    head.token = "second-secret-of-twentY";
    HeadCheck c = check();
    EXPECT_EQ(c.verdict.reason(), Reason::token_mismatch);
    EXPECT_EQ(c.verdict.detail(), "token matches no secret");
    EXPECT_EQ(c.token_id, 0u);
}

TEST_F(RequestHeadTest, ContentTypeMustBeJsonButKeepsTheMatchedSecret)
{
    head.content_type.reset();
    HeadCheck c = check();
    EXPECT_EQ(c.verdict.reason(), Reason::content_type);
    EXPECT_EQ(c.verdict.status(), 415);
    EXPECT_EQ(c.verdict.detail(), "no content type");
    EXPECT_EQ(c.token_id, 2u);

    head.content_type = "text/plain\r\nX: \"y\"";
    EXPECT_EQ(check().verdict.detail(), "content type \"text/plain??X: ?y?\" is not JSON");

    head.content_type = "Application/Problem+JSON; charset=utf-8";
    EXPECT_TRUE(check().verdict.accepted());
}

TEST_F(RequestHeadTest, ContentTypeIsNotCheckedWhenSwitchedOff)
{
    rules.content_type = false;
    head.content_type.reset();
    EXPECT_TRUE(check().verdict.accepted());
    head.content_type = "text/plain";
    EXPECT_TRUE(check().verdict.accepted());
}

TEST_F(RequestHeadTest, DeclaredLengthOverTheLimitNamesBoth)
{
    head.content_length = 65536;
    EXPECT_TRUE(check().verdict.accepted());

    head.content_length = 70000;
    HeadCheck c = check();
    EXPECT_EQ(c.verdict.reason(), Reason::body_too_large);
    EXPECT_EQ(c.verdict.status(), 413);
    EXPECT_EQ(c.verdict.detail(), "body 70000 bytes > 65536");

    head.content_length = INT64_MAX;
    rules.max_body_size = 1;
    EXPECT_EQ(check().verdict.detail(), "body 9223372036854775807 bytes > 1");
}

TEST_F(RequestHeadTest, UndeclaredLengthIsLeftToTheBody)
{
    head.content_length = -1;
    rules.max_body_size = 1;
    EXPECT_TRUE(check().verdict.accepted());
}

}  // namespace
