#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "validation.hpp"

namespace {

using namespace std::string_literals;

using pbxtest::Outcome;
using pbxtest::validate;
using pbxtest::validate_bytewise;
using pbxtest::validate_pieces;
using pbxwebhook::Limits;
using pbxwebhook::Reason;
using pbxwebhook::Schema;

struct Sample {
    std::string name;
    std::string body;
};

std::vector<Sample> samples()
{
    std::vector<Sample> out;
    for (const auto &path : pbxtest::files_in(pbxtest::events_dir(), ".json")) {
        out.push_back({path.stem().string(), pbxtest::read_file(path)});
    }
    return out;
}

// Whole, byte by byte, and in two pieces at every split point: one outcome.
void expect_split_invariant(const std::string &body, const Schema &schema, Limits limits,
                            const Outcome &expected)
{
    EXPECT_EQ(validate_bytewise(body, schema, limits), expected) << "byte by byte";
    for (std::size_t cut = 0; cut <= body.size(); cut++) {
        Outcome outcome = validate_pieces(body, {cut}, schema, limits);
        ASSERT_EQ(outcome, expected) << "split at " << cut;
    }
}

TEST(SampleEvents, AllTwelveTypesArePresent)
{
    std::vector<Sample> all = samples();
    ASSERT_EQ(all.size(), 12u) << "in " << pbxtest::events_dir();
    for (const Sample &sample : all) {
        EXPECT_NE(pbxtest::built_in_catalog().find(sample.name), nullptr) << sample.name;
    }
}

TEST(SampleEvents, EachPassesTheCatalog)
{
    std::vector<Sample> all = samples();
    ASSERT_FALSE(all.empty());
    for (const Sample &sample : all) {
        Outcome outcome = validate(sample.body);
        EXPECT_EQ(outcome.reason, Reason::ok) << sample.name << ": " << outcome;
        ASSERT_NE(outcome.find("type"), nullptr) << sample.name;
        EXPECT_EQ(outcome.find("type")->value, sample.name);
        EXPECT_NE(outcome.find("unique_call_id"), nullptr);
    }
}

TEST(SampleEvents, SameVerdictAndFieldsHoweverSplit)
{
    for (const Sample &sample : samples()) {
        SCOPED_TRACE(sample.name);
        Outcome whole = validate(sample.body);
        EXPECT_GE(whole.fields.size(), 4u);
        expect_split_invariant(sample.body, pbxtest::built_in_catalog(), {}, whole);
    }
}

TEST(SampleEvents, FieldsCarryTheSampleValues)
{
    std::string body = pbxtest::read_file(pbxtest::events_dir() / "ring_group_call.json");
    Outcome outcome = validate(body);
    ASSERT_EQ(outcome.reason, Reason::ok);
    EXPECT_EQ(outcome.find("caller_id")->value, "+6421555019");
    EXPECT_EQ(outcome.find("caller_name")->value, "");
    EXPECT_TRUE(outcome.find("caller_name")->empty_string);
    EXPECT_EQ(outcome.find("connected_at")->value, "null");
    EXPECT_EQ(outcome.find("connected_at")->kind, pbxwebhook::JsonKind::string);
    EXPECT_EQ(outcome.find("call_duration")->value, "31");
    EXPECT_EQ(outcome.find("call_duration")->kind, pbxwebhook::JsonKind::number);
    EXPECT_TRUE(outcome.find("conversation_duration")->digits);

    std::string voicemail = pbxtest::read_file(pbxtest::events_dir() / "voicemail.json");
    Outcome vm = validate(voicemail);
    ASSERT_NE(vm.find("audio_file"), nullptr);
    EXPECT_EQ(vm.find("audio_file")->kind, pbxwebhook::JsonKind::array);
    EXPECT_EQ(vm.find("audio_file")->value, "");
}

struct Bad {
    const char *what;
    std::string body;
    Reason reason;
    Limits limits;
};

Limits limits(std::size_t size, unsigned depth = 16)
{
    Limits l;
    l.max_body_size = size;
    l.max_depth = depth;
    return l;
}

std::vector<Bad> bad_bodies()
{
    const std::string sample = pbxtest::read_file(pbxtest::events_dir() / "queue_call.json");
    std::string trimmed = sample.substr(0, sample.rfind('}'));
    auto with = [&](const std::string &members) { return trimmed + "," + members + "}"; };

    return {
        {"trailing garbage", sample + "x", Reason::json_syntax, {}},
        {"second value", sample + sample, Reason::json_syntax, {}},
        {"unterminated", trimmed, Reason::json_syntax, {}},
        {"comment", with("/* c */ \"x\":1"), Reason::json_syntax, {}},
        {"bad literal", with("\"x\":tru"), Reason::json_syntax, {}},
        {"literal cut short", with("\"x\":nul,\"y\":1"), Reason::json_syntax, {}},
        {"bad number", with("\"x\":-01"), Reason::json_syntax, {}},
        {"bad escape", with("\"x\":\"\\q\""), Reason::json_syntax, {}},
        {"short unicode escape", with("\"x\":\"\\u00e\""), Reason::json_syntax, {}},
        {"raw tab in string", with("\"x\":\"a\tb\""), Reason::json_syntax, {}},
        {"raw nul in string", with("\"x\":\"a\0b\""s), Reason::json_syntax, {}},
        {"form feed", with("\f\"x\":1"), Reason::json_syntax, {}},
        {"vertical tab", with("\"x\":\v1"), Reason::json_syntax, {}},
        {"overlong", with("\"x\":\"\xc0\xaf\""), Reason::json_syntax, {}},
        {"surrogate", with("\"x\":\"\xed\xa0\x80\""), Reason::json_syntax, {}},
        {"truncated sequence", with("\"x\":\"\xe2\x82\""), Reason::json_syntax, {}},
        {"ends inside sequence", trimmed + ",\"x\":\"\xf0\x9f\x98", Reason::json_syntax, {}},
        {"invalid lead outside string", with("\xff\"x\":1"), Reason::json_syntax, {}},
        {"whitespace only", " \r\n\t ", Reason::json_syntax, {}},
        {"too deep",
         with("\"x\":[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]"),
         Reason::json_too_deep,
         {}},
        {"too deep object", with("\"x\":{\"a\":{\"b\":{\"c\":1}}}"), Reason::json_too_deep,
         limits(4096, 3)},
        {"too large", sample, Reason::body_too_large, limits(200)},
        {"too large after error", trimmed + "}}" + std::string(300, ' '), Reason::json_syntax,
         limits(trimmed.size() + 10)},
        {"duplicate", with("\"queue_name\":\"Support\""), Reason::duplicate_key, {}},
        {"escaped duplicate", with("\"q\\u0075eue_name\":\"Support\""), Reason::duplicate_key, {}},
        {"not object", "[" + sample + "]", Reason::not_object, {}},
        {"string text", "\"queue_call\"", Reason::not_object, {}},
        {"number text", "12345678901234567890", Reason::not_object, {}},
        {"type missing", R"({"unique_call_id":"1","caller_id":"2"})", Reason::type_missing, {}},
        {"type empty", R"({"type":"","unique_call_id":"1"})", Reason::type_missing, {}},
        {"type unknown",
         R"({"type":"queue_cal\u006c_x","unique_call_id":"1"})",
         Reason::type_unknown,
         {}},
        {"field missing",
         R"({"type":"queue_call","unique_call_id":"1","caller_id":"2"})",
         Reason::field_missing,
         {}},
        {"field type",
         R"({"type":"queue_call","unique_call_id":"1","caller_id":2,)"
         R"("dest_number":"3","queue_name":"\u00e9t\u00e9"})",
         Reason::field_type,
         {}},
        {"empty", "", Reason::body_empty, {}},
    };
}

TEST(InvalidBodies, SameVerdictAndFieldsHoweverSplit)
{
    for (const Bad &bad : bad_bodies()) {
        SCOPED_TRACE(bad.what);
        Outcome whole = validate(bad.body, pbxtest::built_in_catalog(), bad.limits);
        EXPECT_EQ(whole.reason, bad.reason) << whole;
        expect_split_invariant(bad.body, pbxtest::built_in_catalog(), bad.limits, whole);
    }
}

// Three pieces at every pair of split points, around the tokens that span
// pieces in the hardest ways: escapes, numbers, literals, UTF-8.
TEST(InvalidBodies, SameVerdictInThreePieces)
{
    const Schema schema = pbxtest::schema_of({"probe n:number s b:any"});
    const std::string bodies[] = {
        R"({"type":"probe","unique_call_id":"\u00e9","n":-1.5e+3,"s":"\ud83d\ude00","b":true})",
        R"({"type":"probe","unique_call_id":"1","n":"1","s":"","b":null})",
        "{\"type\":\"probe\",\"unique_call_id\":\"\xe2\x82\xac\",\"n\":1,\"s\":\"\xed\xa0\x80\"}",
        R"({"type":"probe","unique_call_id":"1","n":12,"s":"x","b":fals})",
        R"({"type":"probe","unique_call_id":"1","n":12,"s":"x","b":[[[[]]]]})",
        R"({"type":"probe","t\u0079pe":"1"})",
    };
    for (const std::string &body : bodies) {
        SCOPED_TRACE(body);
        Outcome whole = validate(body, schema, limits(4096, 4));
        for (std::size_t i = 0; i <= body.size(); i++) {
            for (std::size_t j = i; j <= body.size(); j++) {
                Outcome outcome = validate_pieces(body, {i, j}, schema, limits(4096, 4));
                ASSERT_EQ(outcome, whole) << "split at " << i << " and " << j;
            }
        }
    }
}

}  // namespace
