#include <gtest/gtest.h>

#include "body_refusal.hpp"

using pbxwebhook::body_refused_by_nginx;
using pbxwebhook::Reason;

TEST(BodyRefusal, NginxTooLargeIsBodyTooLarge)
{
    auto verdict = body_refused_by_nginx(413);
    EXPECT_EQ(verdict.reason(), Reason::body_too_large);
    EXPECT_EQ(verdict.status(), 413);
    EXPECT_EQ(verdict.detail(), "nginx refused the body: over client_max_body_size");
}

TEST(BodyRefusal, BrokenBodyIsIncompleteWithNginxStatus)
{
    auto verdict = body_refused_by_nginx(400);
    EXPECT_EQ(verdict.reason(), Reason::body_incomplete);
    EXPECT_EQ(verdict.status(), 400);
    EXPECT_EQ(verdict.detail(), "nginx refused the body with 400");
}

TEST(BodyRefusal, TimeoutNamesTheDirective)
{
    auto verdict = body_refused_by_nginx(408);
    EXPECT_EQ(verdict.reason(), Reason::body_incomplete);
    EXPECT_EQ(verdict.detail(), "nginx refused the body: client_body_timeout");
}
