#include <gtest/gtest.h>

#include "media_type.hpp"

namespace pbxwebhook {
namespace {

TEST(MediaType, AcceptsApplicationJson)
{
    EXPECT_TRUE(is_json_media_type("application/json"));
    EXPECT_TRUE(is_json_media_type("Application/JSON"));
    EXPECT_TRUE(is_json_media_type("application/json; charset=utf-8"));
    EXPECT_TRUE(is_json_media_type("application/json;charset=UTF-8"));
    EXPECT_TRUE(is_json_media_type("  application/json  ; charset=utf-8"));
}

TEST(MediaType, AcceptsStructuredSyntaxSuffix)
{
    EXPECT_TRUE(is_json_media_type("application/vnd.pbx.event+json"));
    EXPECT_TRUE(is_json_media_type("application/problem+JSON; charset=utf-8"));
}

TEST(MediaType, RejectsOtherTypes)
{
    EXPECT_FALSE(is_json_media_type(""));
    EXPECT_FALSE(is_json_media_type("text/plain"));
    EXPECT_FALSE(is_json_media_type("text/json"));
    EXPECT_FALSE(is_json_media_type("application/"));
    EXPECT_FALSE(is_json_media_type("application/+json"));
    EXPECT_FALSE(is_json_media_type("application/jsonp"));
    EXPECT_FALSE(is_json_media_type("application/json5"));
    EXPECT_FALSE(is_json_media_type("application/x-www-form-urlencoded"));
    EXPECT_FALSE(is_json_media_type("application/a/b+json"));
    EXPECT_FALSE(is_json_media_type("application/json-patch"));
    EXPECT_FALSE(is_json_media_type("multipart/form-data; boundary=application/json"));
}

}  // namespace
}  // namespace pbxwebhook
