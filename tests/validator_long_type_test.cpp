#include <gtest/gtest.h>

#include <string>

#include "validation.hpp"

namespace pbxtest {
namespace {

std::string event_of_type(const std::string &type)
{
    return R"({"type":")" + type + R"(","unique_call_id":"1"})";
}

TEST(Validator, CutTypeDoesNotMatchAShorterConfiguredType)
{
    std::string configured(1023, 'x');
    Schema schema = schema_of({configured});

    Outcome sent_longer = validate(event_of_type(configured + "\xc3\xa9"), schema);
    EXPECT_EQ(sent_longer.reason, Reason::type_unknown) << sent_longer;

    Outcome exact = validate(event_of_type(configured), schema);
    EXPECT_EQ(exact.reason, Reason::ok) << exact;
}

TEST(Validator, TypeOfExactlyTheLimitMatches)
{
    std::string configured(Schema::max_type_length, 't');
    Schema schema = schema_of({configured});

    EXPECT_EQ(validate(event_of_type(configured), schema).reason, Reason::ok);
    EXPECT_EQ(validate(event_of_type(configured + "t"), schema).reason, Reason::type_unknown);
}

TEST(Schema, RefusesATypeLongerThanTheLimit)
{
    Schema schema;
    std::string type(Schema::max_type_length + 1, 't');
    std::string error = schema.add_event({type});
    EXPECT_NE(error.find("longer than"), std::string::npos) << error;
    EXPECT_EQ(schema.find(type), nullptr);
}

TEST(Validator, UnpairedSurrogateEscapeIsASyntaxError)
{
    for (const char *body : {R"({"type":"\udc00"})", R"({"\uDFAA":0})",
                             R"({"type":"voicemail","unique_call_id":"\ud800x"})"})
    {
        Outcome whole = validate(body);
        EXPECT_EQ(whole.reason, Reason::json_syntax) << body;
        EXPECT_NE(whole.detail.find("surrogate"), std::string::npos) << whole;
        EXPECT_EQ(validate_bytewise(body), whole) << body;
    }
}

TEST(Validator, SurrogatePairEscapeDecodesToUtf8)
{
    Outcome o = validate(R"({"type":"voicemail","unique_call_id":"\ud83d\udcde","caller_id":"",)"
                         R"("dest_number":""})");
    ASSERT_EQ(o.reason, Reason::ok) << o;
    EXPECT_EQ(o.find("unique_call_id")->value, "\xf0\x9f\x93\x9e");
}

}  // namespace
}  // namespace pbxtest
