#include <gtest/gtest.h>

#include <cstdio>
#include <string>

#include "field_kind.hpp"
#include "validation.hpp"

namespace {

using pbxtest::schema_of;
using pbxtest::validate;
using pbxwebhook::FieldKind;
using pbxwebhook::is_datetime;
using pbxwebhook::is_digits;
using pbxwebhook::JsonKind;
using pbxwebhook::parse_field_kind;
using pbxwebhook::Reason;
using pbxwebhook::satisfies;
using pbxwebhook::Schema;
using pbxwebhook::shape_of_string;
using pbxwebhook::ValueShape;

const FieldKind all_kinds[] = {
    FieldKind::string,   FieldKind::nonempty, FieldKind::number, FieldKind::numeric,
    FieldKind::datetime, FieldKind::array,    FieldKind::object, FieldKind::any,
};

TEST(FieldKind, ParsesEveryKindName)
{
    const char *names[] = {"string",   "nonempty", "number", "numeric",
                           "datetime", "array",    "object", "any"};
    for (std::size_t i = 0; i < std::size(names); i++) {
        std::optional<FieldKind> kind = parse_field_kind(names[i]);
        ASSERT_TRUE(kind.has_value()) << names[i];
        EXPECT_EQ(*kind, all_kinds[i]);
        EXPECT_EQ(pbxwebhook::field_kind_name(*kind), names[i]);
    }
}

TEST(FieldKind, RefusesUnknownKindNames)
{
    for (const char *name : {"", "String", "STRING", "int", "integer", "bool", "boolean", "null",
                             "date", "strings", " string", "string "})
    {
        EXPECT_FALSE(parse_field_kind(name).has_value()) << '"' << name << '"';
    }
    EXPECT_FALSE(parse_field_kind(std::string_view("any\0", 4)).has_value());
}

TEST(FieldKind, DigitsAreOneOrMoreAsciiDigits)
{
    EXPECT_TRUE(is_digits("0"));
    EXPECT_TRUE(is_digits("0123456789"));
    EXPECT_TRUE(is_digits(std::string(400, '9')));
    for (const char *text : {"", "-1", "+1", "1.5", "12a", "a12", " 12", "12 ", "1e3", "١٢"}) {
        EXPECT_FALSE(is_digits(text)) << text;
    }
}

TEST(FieldKind, AcceptsDatetimeForms)
{
    for (const char *text : {
             "2026-11-27T09:15:02",
             "2026-11-27 09:15:02",
             "2026-11-27T09:15:02Z",
             "2026-11-27T09:15:02+13:00",
             "2026-11-27T09:15:02-05:30",
             "2026-11-27 09:15:02+00:00",
             "2026-11-27T09:15:02.5",
             "2026-11-27T09:15:02.123456789Z",
             "2026-11-27T09:15:02.000+13:45",
             "0000-01-01T00:00:00",
             "9999-12-31T23:59:59",
             "2016-12-31T23:59:60Z",
         })
    {
        EXPECT_TRUE(is_datetime(text)) << text;
    }
}

TEST(FieldKind, RefusesMalformedDatetimes)
{
    for (const char *text : {
             "",
             "null",
             "2026-11-27",
             "2026-11-27T09:15",
             "2026-11-27T09:15Z",
             "2026-11-27T09:15:2",
             "2026-11-27t09:15:02",
             "2026-11-27_09:15:02",
             "2026-11-27T09:15:02z",
             "2026/11/27T09:15:02",
             "2026-11-27T09.15.02",
             "26-11-27T09:15:02",
             "2026-1-27T09:15:02",
             "2026-11-7T09:15:02",
             "+2026-11-27T09:15:02",
             "2026-00-27T09:15:02",
             "2026-13-27T09:15:02",
             "2026-11-00T09:15:02",
             "2026-11-32T09:15:02",
             "2026-11-27T24:00:00",
             "2026-11-27T23:60:00",
             "2026-11-27T23:59:61",
             "2026-11-27T09:15:02.",
             "2026-11-27T09:15:02.Z",
             "2026-11-27T09:15:02.5.5",
             "2026-11-27T09:15:02 Z",
             "2026-11-27T09:15:02ZZ",
             "2026-11-27T09:15:02+13",
             "2026-11-27T09:15:02+1300",
             "2026-11-27T09:15:02+13:0",
             "2026-11-27T09:15:02+13:000",
             "2026-11-27T09:15:02+24:00",
             "2026-11-27T09:15:02+13:60",
             "2026-11-27T09:15:02+1a:00",
             "2026-11-27T09:15:02 +13:00",
             "2026-11-27T09:15:02x",
             "2026-11-27T09:15:02\n",
             "2026-11-27T09:15:-2",
             " 2026-11-27T09:15:02",
             "２０２６-11-27T09:15:02",
         })
    {
        EXPECT_FALSE(is_datetime(text)) << '"' << text << '"';
    }
    EXPECT_FALSE(is_datetime(std::string_view("2026-11-27T09:15:02\0", 20)));
}

// The day must be one its month has: February 29 in leap years only, by
// the Gregorian rule (every fourth year, not centuries, but every fourth
// century).
TEST(FieldKind, DatetimeDayIsWithinItsMonth)
{
    for (const char *text : {
             "2024-02-29T00:00:00Z",
             "2000-02-29T12:00:00",
             "2400-02-29 12:00:00",
             "0000-02-29T00:00:00",
             "2026-02-28T23:59:59Z",
             "2026-04-30T09:15:02",
             "2026-12-31T23:59:59Z",
             "2026-01-31T00:00:00",
             "2016-12-31T23:59:60Z",
             "2026-02-28T23:59:60+01:00",
         })
    {
        EXPECT_TRUE(is_datetime(text)) << text;
    }
    for (const char *text : {
             "2026-02-29T00:00:00Z",
             "2026-02-30T09:15:02",
             "2024-02-30T09:15:02",
             "1900-02-29T00:00:00",
             "2100-02-29T00:00:00Z",
             "2026-04-31T09:15:02",
             "2026-06-31T09:15:02",
             "2026-09-31T09:15:02",
             "2026-11-31T09:15:02",
             "2026-02-31T23:59:60Z",
         })
    {
        EXPECT_FALSE(is_datetime(text)) << text;
    }

    const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    for (int year : {2023, 2024, 1900, 2000}) {
        bool leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
        for (int month = 1; month <= 12; month++) {
            int last = days[month - 1] + (month == 2 && leap ? 1 : 0);
            char text[32];
            std::snprintf(text, sizeof(text), "%04d-%02d-%02dT12:00:00Z", year, month, last);
            EXPECT_TRUE(is_datetime(text)) << text;
            std::snprintf(text, sizeof(text), "%04d-%02d-%02dT12:00:00Z", year, month, last + 1);
            EXPECT_FALSE(is_datetime(text)) << text;
        }
    }
}

TEST(FieldKind, ShapeOfStringRecordsEmptinessDigitsAndDatetime)
{
    ValueShape empty = shape_of_string("");
    EXPECT_EQ(empty.kind, JsonKind::string);
    EXPECT_TRUE(empty.empty_string);
    EXPECT_FALSE(empty.digits);
    EXPECT_FALSE(empty.datetime);

    ValueShape digits = shape_of_string("0042");
    EXPECT_FALSE(digits.empty_string);
    EXPECT_TRUE(digits.digits);
    EXPECT_FALSE(digits.datetime);

    ValueShape when = shape_of_string("2026-11-27T09:15:02Z");
    EXPECT_FALSE(when.digits);
    EXPECT_TRUE(when.datetime);
}

struct SatisfiesCase {
    const char *what;
    ValueShape shape;
    // string, nonempty, number, numeric, datetime, array, object, any
    bool expected[8];
};

TEST(FieldKind, SatisfiesMatrix)
{
    const SatisfiesCase cases[] = {
        {"empty string", shape_of_string(""), {1, 0, 0, 0, 0, 0, 0, 1}},
        {"text", shape_of_string("abc"), {1, 1, 0, 0, 0, 0, 0, 1}},
        {"digit string", shape_of_string("123"), {1, 1, 0, 1, 0, 0, 0, 1}},
        {"datetime string", shape_of_string("2026-11-27T09:15:02Z"), {1, 1, 0, 0, 1, 0, 0, 1}},
        {"number", {JsonKind::number, false, false, false}, {0, 0, 1, 1, 0, 0, 0, 1}},
        {"boolean", {JsonKind::boolean, false, false, false}, {0, 0, 0, 0, 0, 0, 0, 1}},
        {"null", {JsonKind::null, false, false, false}, {0, 0, 0, 0, 0, 0, 0, 1}},
        {"array", {JsonKind::array, false, false, false}, {0, 0, 0, 0, 0, 1, 0, 1}},
        {"object", {JsonKind::object, false, false, false}, {0, 0, 0, 0, 0, 0, 1, 1}},
    };
    for (const SatisfiesCase &c : cases) {
        for (std::size_t k = 0; k < std::size(all_kinds); k++) {
            EXPECT_EQ(satisfies(c.shape, all_kinds[k]), c.expected[k])
                << c.what << " as " << pbxwebhook::field_kind_name(all_kinds[k]);
        }
    }
}

// The same through the validator: a body carrying VALUE in field f against
// `pbx_webhook_event probe f:KIND`.
Reason verdict_for(std::string_view kind, std::string_view value)
{
    std::string line = "probe f:" + std::string(kind);
    Schema schema = schema_of({line});
    std::string body = R"({"type":"probe","unique_call_id":"1","f":)" + std::string(value) + "}";
    pbxtest::Outcome outcome = validate(body, schema);
    if (outcome.reason == Reason::field_type) {
        EXPECT_EQ(outcome.status, 422);
        EXPECT_NE(outcome.detail.find("\"f\""), std::string::npos) << outcome.detail;
        EXPECT_NE(outcome.detail.find(kind), std::string::npos) << outcome.detail;
    }
    return outcome.reason;
}

struct KindCase {
    const char *kind;
    std::vector<const char *> pass;
    std::vector<const char *> fail;
};

TEST(FieldKind, ValidatorAppliesEveryKind)
{
    const KindCase cases[] = {
        {"string",
         {R"("")", R"("x")", R"("123")", R"("null")"},
         {"1", "null", "true", "false", "[]", "{}", R"(["x"])"}},
        {"nonempty",
         {R"("x")", R"(" ")", R"("\u0000")"},
         {R"("")", "0", "null", "[]", "{}", "false"}},
        {"number",
         {"0", "-1", "1.5", "1e999999", "-0.0", "12345678901234567890123"},
         {R"("1")", R"("")", "null", "true", "[]", "{}", "[1]"}},
        {"numeric",
         {"0", "-1", "1.5", "1e10", R"("0")", R"("180")", R"("0042")"},
         {R"("")", R"("12a")", R"("-1")", R"("1.5")", R"(" 1")", R"("1e3")", "null", "true", "[]",
          "{}", "[1]"}},
        {"datetime",
         {R"("2026-11-27T09:15:02+13:00")", R"("2026-11-27 09:15:02")",
          R"("2026-11-27T09:15:02.25Z")", R"("2026-11-27T09:15:02-05:30")"},
         {R"("null")", "null", R"("")", R"("2026-11-27T09:15")", R"("2026-13-27T09:15:02")",
          R"("2026-11-27T25:15:02")", R"("2026-11-27")", "20261127", "[]", "{}"}},
        {"array", {"[]", "[1,2]", R"(["https://x"])", "[[]]"}, {"{}", R"("[]")", "null", "0"}},
        {"object", {"{}", R"({"a":1})", R"({"a":{"b":[]}})"}, {"[]", R"("{}")", "null", "0"}},
        {"any", {"0", "null", "true", "false", R"("")", R"("x")", "[]", "{}"}, {}},
    };
    for (const KindCase &c : cases) {
        for (const char *value : c.pass) {
            EXPECT_EQ(verdict_for(c.kind, value), Reason::ok) << c.kind << " " << value;
        }
        for (const char *value : c.fail) {
            EXPECT_EQ(verdict_for(c.kind, value), Reason::field_type) << c.kind << " " << value;
        }
    }
}

TEST(FieldKind, DefaultKindIsStringAndEmptyStringPasses)
{
    Schema schema = schema_of({"probe f"});
    EXPECT_EQ(validate(R"({"type":"probe","unique_call_id":"1","f":""})", schema).reason,
              Reason::ok);
    pbxtest::Outcome wrong = validate(R"({"type":"probe","unique_call_id":"1","f":7})", schema);
    EXPECT_EQ(wrong.reason, Reason::field_type);
    EXPECT_EQ(wrong.detail, "field \"f\" is a number, not string");
}

TEST(FieldKind, DetailNamesWhatTheValueWas)
{
    struct {
        const char *kind;
        const char *value;
        const char *detail;
    } cases[] = {
        {"nonempty", R"("")", "field \"f\" is an empty string, not nonempty"},
        {"number", R"("1")", "field \"f\" is a string, not number"},
        {"string", "true", "field \"f\" is a boolean, not string"},
        {"string", "null", "field \"f\" is null, not string"},
        {"object", "[]", "field \"f\" is an array, not object"},
        {"array", "{}", "field \"f\" is an object, not array"},
        {"datetime", R"("null")", "field \"f\" is a string, not datetime"},
    };
    for (const auto &c : cases) {
        Schema schema = schema_of({"probe f:" + std::string(c.kind)});
        std::string body =
            R"({"type":"probe","unique_call_id":"1","f":)" + std::string(c.value) + "}";
        pbxtest::Outcome outcome = validate(body, schema);
        EXPECT_EQ(outcome.reason, Reason::field_type);
        EXPECT_EQ(outcome.detail, c.detail);
    }
}

}  // namespace
