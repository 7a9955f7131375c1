#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "validation.hpp"

namespace {

using namespace std::string_literals;

using pbxtest::CountingArena;
using pbxtest::Outcome;
using pbxtest::schema_of;
using pbxtest::validate;
using pbxtest::validate_bytewise;
using pbxwebhook::Limits;
using pbxwebhook::Reason;
using pbxwebhook::Schema;
using pbxwebhook::Validator;

const Schema &probe_schema()
{
    static const Schema schema = schema_of({"probe"});
    return schema;
}

const std::string probe_event = R"({"type":"probe","unique_call_id":"1"})";

std::string probe_with(const std::string &members)
{
    return probe_event.substr(0, probe_event.size() - 1) + "," + members + "}";
}

Limits limits(std::size_t max_body_size, unsigned max_depth = 16)
{
    Limits l;
    l.max_body_size = max_body_size;
    l.max_depth = max_depth;
    return l;
}

// Fed whole and byte by byte, with the same outcome either way.
Outcome check(const std::string &body, const Schema &schema = probe_schema(), Limits l = {})
{
    Outcome whole = validate(body, schema, l);
    Outcome bytewise = validate_bytewise(body, schema, l);
    EXPECT_EQ(whole, bytewise) << "body: " << pbxtest::printable(body);
    return whole;
}

void expect_reason(const std::string &body, Reason reason, const std::string &detail,
                   const Schema &schema = probe_schema(), Limits l = {})
{
    Outcome outcome = check(body, schema, l);
    EXPECT_EQ(outcome.reason, reason) << pbxtest::printable(body) << " -> " << outcome;
    EXPECT_EQ(outcome.status, pbxwebhook::reason_status(reason));
    if (!detail.empty()) {
        EXPECT_EQ(outcome.detail, detail) << pbxtest::printable(body);
    }
}

TEST(Validator, RejectsBodyOverLimit)
{
    std::string body = probe_with(R"("pad":"xxxxxxxxxxxxxxxx")");
    expect_reason(body, Reason::body_too_large, "body over 40 bytes", probe_schema(), limits(40));
    EXPECT_EQ(pbxwebhook::reason_status(Reason::body_too_large), 413);
}

TEST(Validator, AcceptsBodyExactlyAtLimit)
{
    expect_reason(probe_event, Reason::ok, "", probe_schema(), limits(probe_event.size()));
    expect_reason(probe_event + " ", Reason::body_too_large, "", probe_schema(),
                  limits(probe_event.size()));
}

TEST(Validator, StopsAtTheByteThatPassesTheLimit)
{
    const std::size_t limit = 20;
    CountingArena arena;
    Validator validator(probe_schema(), limits(limit), arena.allocator());
    for (std::size_t i = 0; i < probe_event.size(); i++) {
        bool more = validator.feed(&probe_event[i], 1);
        EXPECT_EQ(more, i < limit) << i;
    }
    EXPECT_EQ(validator.finish().reason(), Reason::body_too_large);
    EXPECT_EQ(validator.bytes(), limit);
}

// The bytes within the limit are judged first, however the body is split:
// an error in them is the verdict, not the size.
TEST(Validator, ErrorWithinLimitWinsOverSize)
{
    expect_reason(R"({"a":1}xxxxxxxxxxxxxxxx)", Reason::json_syntax, "", probe_schema(), limits(8));
    expect_reason("{\"type\":\"\xc0\x80\"}     ", Reason::json_syntax, "invalid UTF-8 at byte 9",
                  probe_schema(), limits(12));
    expect_reason(R"({"a":1,"a":2,"bbbbbbbbbbbbbbbb":3})", Reason::duplicate_key, "",
                  probe_schema(), limits(16));
    expect_reason(R"({"a":[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]})", Reason::json_too_deep,
                  "", probe_schema(), limits(16, 4));
    expect_reason(R"({"a":[1,2,3,4,5,6,7,8,9,0]})", Reason::body_too_large, "body over 16 bytes",
                  probe_schema(), limits(16));
}

TEST(Validator, RejectsEmptyBody)
{
    CountingArena arena;
    Validator validator(probe_schema(), {}, arena.allocator());
    const pbxwebhook::Verdict &verdict = validator.finish();
    EXPECT_EQ(verdict.reason(), Reason::body_empty);
    EXPECT_EQ(verdict.status(), 400);
    EXPECT_EQ(verdict.detail(), "empty body");
    EXPECT_EQ(validator.fields().size(), 0u);
}

TEST(Validator, ZeroLengthFeedsAreAnEmptyBody)
{
    CountingArena arena;
    Validator validator(probe_schema(), {}, arena.allocator());
    EXPECT_TRUE(validator.feed("", 0));
    EXPECT_TRUE(validator.feed(nullptr, 0));
    EXPECT_TRUE(validator.verdict().accepted());
    EXPECT_EQ(validator.finish().reason(), Reason::body_empty);
    EXPECT_EQ(arena.blocks(), 0u);
}

struct SyntaxCase {
    const char *what;
    std::string body;
};

void expect_syntax(const std::vector<SyntaxCase> &cases)
{
    for (const SyntaxCase &c : cases) {
        Outcome outcome = check(c.body);
        EXPECT_EQ(outcome.reason, Reason::json_syntax) << c.what << ": " << outcome;
        EXPECT_EQ(outcome.status, 400) << c.what;
        EXPECT_FALSE(outcome.detail.empty()) << c.what;
    }
}

TEST(Validator, RejectsTrailingBytes)
{
    expect_syntax({
        {"letter", probe_event + " x"},
        {"brace", probe_event + "}"},
        {"bracket", probe_event + "]"},
        {"comma", probe_event + ","},
        {"nul", probe_event + "\0"s},
        {"after number", "1 x"},
        {"after string", "\"s\"x"},
    });
    Outcome outcome = check(probe_event + " x");
    EXPECT_EQ(outcome.detail.rfind("syntax error: ", 0), 0u) << outcome.detail;
}

TEST(Validator, RejectsSecondValue)
{
    expect_syntax({
        {"two objects", probe_event + " " + probe_event},
        {"two objects adjacent", probe_event + "{}"},
        {"object then array", "{}[]"},
        {"two numbers", "1 2"},
        {"two strings", "\"a\" \"b\""},
        {"object then newline then object", probe_event + "\n" + probe_event + "\n"},
    });
}

TEST(Validator, RejectsComments)
{
    expect_syntax({
        {"block before", "/* c */" + probe_event},
        {"block after", probe_event + "/* c */"},
        {"line after", probe_event + "// c"},
        {"line before", "// c\n" + probe_event},
        {"inside", R"({"type"/* c */:"probe","unique_call_id":"1"})"},
        {"hash", "# c\n" + probe_event},
    });
}

TEST(Validator, RejectsWhitespaceOnlyBody)
{
    expect_syntax({
        {"space", " "},
        {"mixed", " \t\r\n  \n"},
        {"newline", "\n"},
    });
}

TEST(Validator, RejectsIncompleteAndMalformedJson)
{
    expect_syntax({
        {"open brace", "{"},
        {"unterminated object", R"({"type":"probe")"},
        {"unterminated string", R"({"type":"pro)"},
        {"open bracket", "["},
        {"bare word", "probe"},
        {"partial literal", "tru"},
        {"minus", "-"},
        {"missing value", R"({"a":})"},
        {"missing colon", R"({"a" 1})"},
        {"lone comma", "{,}"},
        {"trailing comma in object", R"({"a":1,})"},
        {"trailing comma in array", R"({"a":[1,]})"},
        {"single quotes", "{'a':1}"},
        {"unquoted key", "{a:1}"},
        {"leading zero", R"({"a":01})"},
        {"bare fraction point", R"({"a":1.})"},
        {"leading point", R"({"a":.5})"},
        {"plus sign", R"({"a":+1})"},
        {"NaN", R"({"a":NaN})"},
        {"Infinity", R"({"a":Infinity})"},
        {"bad escape", R"({"a":"\x41"})"},
        {"short unicode escape", R"({"a":"\u12"})"},
        {"bad unicode escape", R"({"a":"\uZZZZ"})"},
        {"byte order mark", "\xef\xbb\xbf" + probe_event},
        {"non-breaking space as whitespace", "{\xc2\xa0\"a\":1}"},
        {"key not a string", R"({1:1})"},
    });
}

// Bad bytes inside a key, inside a value and between tokens; the detail
// names the offset of the first byte that cannot be UTF-8.
TEST(Validator, RejectsInvalidUtf8)
{
    struct Case {
        const char *what;
        std::string bad;
        std::size_t offset;  // of the refused byte within bad
    };
    std::vector<Case> cases = {
        {"overlong C0 80", "\xc0\x80", 0},
        {"overlong C1 BF", "\xc1\xbf", 0},
        {"overlong E0 80 80", "\xe0\x80\x80", 1},
        {"overlong F0 80 80 80", "\xf0\x80\x80\x80", 1},
        {"surrogate ED A0 80", "\xed\xa0\x80", 1},
        {"surrogate ED BF BF", "\xed\xbf\xbf", 1},
        {"above U+10FFFF", "\xf4\x90\x80\x80", 1},
        {"lone continuation", "\x80", 0},
        {"truncated before quote", "\xc3", 1},
        {"truncated three-byte before quote", "\xe2\x82", 2},
        {"second lead in sequence", "\xe2\xe2\x82\xac", 1},
    };
    for (int c = 0xf5; c <= 0xff; c++) {
        cases.push_back({"lead F5..FF", std::string(1, static_cast<char>(c)) + "\x80\x80\x80", 0});
    }

    for (const Case &c : cases) {
        const std::string in_value = R"({"type":"probe","unique_call_id":")";
        const std::string in_key = R"({"type":"probe",")";
        for (const std::string &prefix : {in_value, in_key}) {
            std::string body = prefix + c.bad + R"(":"1"})";
            std::string detail =
                "invalid UTF-8 at byte " + std::to_string(prefix.size() + c.offset);
            SCOPED_TRACE(c.what);
            expect_reason(body, Reason::json_syntax, detail);
        }
    }
}

TEST(Validator, RejectsInvalidUtf8BetweenTokens)
{
    Outcome outcome = check("{\"type\":\"probe\"\xc0\x80}");
    EXPECT_EQ(outcome.reason, Reason::json_syntax);
    EXPECT_EQ(outcome.detail, "invalid UTF-8 at byte 15");
    EXPECT_EQ(check("{\xff}").reason, Reason::json_syntax);
}

TEST(Validator, RejectsBodyEndingInsideUtf8Sequence)
{
    expect_reason("{\"type\":\"probe\xe2\x82", Reason::json_syntax, "invalid UTF-8 at byte 16");
    expect_reason("\"\xf0\x9f\x98", Reason::json_syntax, "invalid UTF-8 at byte 4");
}

TEST(Validator, AcceptsValidUtf8Everywhere)
{
    Outcome outcome =
        check(probe_with("\"caf\xc3\xa9\":\"\xe2\x82\xac \xf0\x9f\x98\x80 \xf4\x8f\xbf\xbf\""));
    EXPECT_EQ(outcome.reason, Reason::ok) << outcome;
}

TEST(Validator, RejectsFormFeedAndVerticalTabBetweenTokens)
{
    for (char c : {'\x0c', '\x0b'}) {
        for (std::size_t at :
             {std::size_t(0), std::size_t(1), std::size_t(7), std::size_t(8), probe_event.size()})
        {
            std::string body = probe_event;
            body.insert(at, 1, c);
            expect_reason(body, Reason::json_syntax, "control byte at byte " + std::to_string(at));
        }
    }
}

TEST(Validator, RejectsRawControlBytesInsideStrings)
{
    for (int c = 0; c < 0x20; c++) {
        SCOPED_TRACE(c);
        std::string raw(1, static_cast<char>(c));
        Outcome value = check(probe_with("\"a\":\"x" + raw + "y\""));
        EXPECT_EQ(value.reason, Reason::json_syntax) << value;
        Outcome key = check(probe_with("\"x" + raw + "y\":\"a\""));
        EXPECT_EQ(key.reason, Reason::json_syntax) << key;
        Outcome type = check("{\"type\":\"pro" + raw + "be\",\"unique_call_id\":\"1\"}");
        EXPECT_EQ(type.reason, Reason::json_syntax) << type;
    }
}

TEST(Validator, RejectsRawControlBytesBetweenTokens)
{
    for (int c = 0; c < 0x20; c++) {
        if (c == '\t' || c == '\n' || c == '\r') {
            continue;
        }
        std::string body = probe_event;
        body.insert(1, 1, static_cast<char>(c));
        Outcome outcome = check(body);
        EXPECT_EQ(outcome.reason, Reason::json_syntax) << c << ": " << outcome;
    }
    EXPECT_EQ(check(probe_event + "\x7f").reason, Reason::json_syntax);
}

TEST(Validator, AcceptsJsonWhitespaceBetweenTokens)
{
    std::string body = " \t\r\n{ \"type\" :\n\"probe\" ,\r\n\t\"unique_call_id\"\t:\t\"1\" } \n";
    EXPECT_EQ(check(body).reason, Reason::ok);
}

TEST(Validator, AcceptsDeleteAndEscapedControlsInStrings)
{
    Outcome outcome = check(probe_with("\"a\":\"\x7f\",\"b\":\"\\u0000\\u001f\\b\\f\\n\\r\\t\""));
    EXPECT_EQ(outcome.reason, Reason::ok) << outcome;
}

// A member whose value adds levels to the depth of the object holding it.
std::string nested(const std::string &key, unsigned levels)
{
    return "\"" + key + "\":" + std::string(levels, '[') + "1" + std::string(levels, ']');
}

TEST(Validator, TopLevelObjectIsDepthOne)
{
    expect_reason(probe_event, Reason::ok, "", probe_schema(), limits(1024, 1));
    expect_reason(probe_with(R"("n":[])"), Reason::json_too_deep, "nesting deeper than 1",
                  probe_schema(), limits(1024, 1));
    expect_reason(probe_with(R"("n":{})"), Reason::json_too_deep, "nesting deeper than 1",
                  probe_schema(), limits(1024, 1));
    expect_reason(probe_with(R"("n":[])"), Reason::ok, "", probe_schema(), limits(1024, 2));
    expect_reason(probe_with(R"("n":{"m":[]})"), Reason::json_too_deep, "", probe_schema(),
                  limits(1024, 2));
}

TEST(Validator, MaxDepthAllowsExactlyThatDepth)
{
    for (unsigned max : {1u, 2u, 3u, 5u, 16u, 100u, 512u}) {
        SCOPED_TRACE(max);
        expect_reason(probe_with(nested("n", max - 1)), Reason::ok, "", probe_schema(),
                      limits(1 << 20, max));
        expect_reason(probe_with(nested("n", max)), Reason::json_too_deep,
                      "nesting deeper than " + std::to_string(max), probe_schema(),
                      limits(1 << 20, max));
    }
}

TEST(Validator, DefaultMaxDepthIsSixteen)
{
    EXPECT_EQ(Limits{}.max_depth, 16u);
    EXPECT_EQ(Limits{}.max_body_size, 64u * 1024);
    expect_reason(probe_with(nested("n", 15)), Reason::ok, "");
    expect_reason(probe_with(nested("n", 16)), Reason::json_too_deep, "nesting deeper than 16");
}

TEST(Validator, DepthCountsArraysAtTopLevelToo)
{
    expect_reason("[[1]]", Reason::not_object, "", probe_schema(), limits(64, 2));
    expect_reason("[[1]]", Reason::json_too_deep, "nesting deeper than 1", probe_schema(),
                  limits(64, 1));
    expect_reason("[]", Reason::not_object, "", probe_schema(), limits(64, 1));
}

TEST(Validator, ClosedContainersGiveDepthBack)
{
    std::string body = probe_with(R"("a":[[1],[2]],"b":{"c":[3]},"d":[[],[],{}])");
    expect_reason(body, Reason::ok, "", probe_schema(), limits(1024, 3));
    expect_reason(body, Reason::json_too_deep, "", probe_schema(), limits(1024, 2));
}

TEST(Validator, TooDeepStopsAtTheOpeningByte)
{
    std::string body = probe_with(nested("n", 10));
    std::size_t fourth = body.find('[') + 3;
    CountingArena arena;
    Validator validator(probe_schema(), limits(1024, 4), arena.allocator());
    for (std::size_t i = 0; i < body.size(); i++) {
        EXPECT_EQ(validator.feed(&body[i], 1), i < fourth) << i;
    }
    EXPECT_EQ(validator.finish().reason(), Reason::json_too_deep);
}

TEST(Validator, RejectsDuplicateTopLevelKey)
{
    expect_reason(R"({"type":"probe","unique_call_id":"1","type":"probe"})", Reason::duplicate_key,
                  "duplicate key \"type\"");
    expect_reason(probe_with(R"("a":1,"b":2,"a":[1])"), Reason::duplicate_key,
                  "duplicate key \"a\"");
    expect_reason(R"({"":1,"":2})", Reason::duplicate_key, "duplicate key \"\"");
}

TEST(Validator, ComparesKeysAfterUnescaping)
{
    expect_reason(R"({"type":"probe","unique_call_id":"1","t\u0079pe":"x"})", Reason::duplicate_key,
                  "duplicate key \"type\"");
    expect_reason(R"({"\u0074ype":"probe","type":"x"})", Reason::duplicate_key,
                  "duplicate key \"type\"");
    expect_reason(probe_with(R"("caf\u00e9":1,"café":2)"), Reason::duplicate_key,
                  "duplicate key \"café\"");
    expect_reason(probe_with(R"("a\/b":1,"a/b":2)"), Reason::duplicate_key,
                  "duplicate key \"a/b\"");
    expect_reason(probe_with(R"("\ud83d\ude00":1,"😀":2)"), Reason::duplicate_key, "");
}

TEST(Validator, UnescapedTypeKeyIsTheTypeField)
{
    expect_reason(R"({"t\u0079pe":"probe","unique_call_id":"1"})", Reason::ok, "");
}

TEST(Validator, DuplicateKeyDetailIsQuotedSafely)
{
    expect_reason(probe_with(R"("a\"b\n":1,"a\"b\n":2)"), Reason::duplicate_key,
                  "duplicate key \"a?b?\"");
    std::string long_key(300, 'k');
    Outcome outcome = check(probe_with("\"" + long_key + "\":1,\"" + long_key + "\":2"));
    EXPECT_EQ(outcome.reason, Reason::duplicate_key);
    EXPECT_LT(outcome.detail.size(), pbxwebhook::Verdict::detail_capacity);
}

TEST(Validator, KeysDifferingOnlyByNulAreDistinct)
{
    expect_reason(probe_with(R"("a":1,"a\u0000":2,"\u0000a":3,"a\u0000\u0000":4)"), Reason::ok, "");
    expect_reason(probe_with(R"("a\u0000b":1,"a\u0000b":2)"), Reason::duplicate_key,
                  "duplicate key \"a?b\"");
}

TEST(Validator, KeysDifferingInCaseAreDistinct)
{
    expect_reason(probe_with(R"("Type":1,"TYPE":2,"a":1,"A":2)"), Reason::ok, "");
}

TEST(Validator, AllowsNestedDuplicateKeys)
{
    expect_reason(
        probe_with(R"("o":{"a":1,"a":2},"l":[{"x":1,"x":1}],"p":{"q":{"type":1,"type":2}})"),
        Reason::ok, "");
    expect_reason(R"([{"a":1,"a":2}])", Reason::not_object, "");
}

TEST(Validator, AllowsNestedKeyEqualToTopLevelKey)
{
    expect_reason(probe_with(R"("o":{"type":"x","unique_call_id":"2","o":3})"), Reason::ok, "");
}

TEST(Validator, FindsDuplicateAmongManyKeys)
{
    std::string members;
    for (int i = 0; i < 3000; i++) {
        members += "\"k" + std::to_string(i) + "\":" + std::to_string(i) + ",";
    }
    members.pop_back();
    expect_reason(probe_with(members), Reason::ok, "");
    expect_reason(probe_with(members + ",\"k17\":0"), Reason::duplicate_key,
                  "duplicate key \"k17\"");
    expect_reason(probe_with(members + ",\"k2999\":0"), Reason::duplicate_key,
                  "duplicate key \"k2999\"");
    expect_reason(probe_with(members + ",\"unique_call_id\":0"), Reason::duplicate_key, "");
}

TEST(Validator, RejectsJsonTextThatIsNotAnObject)
{
    struct {
        const char *body;
        const char *detail;
    } cases[] = {
        {"[]", "JSON text is an array, not an object"},
        {R"([{"type":"probe","unique_call_id":"1"}])", "JSON text is an array, not an object"},
        {R"("probe")", "JSON text is a string, not an object"},
        {"12", "JSON text is a number, not an object"},
        {"-0.5e3", "JSON text is a number, not an object"},
        {"true", "JSON text is a boolean, not an object"},
        {"false", "JSON text is a boolean, not an object"},
        {"null", "JSON text is null, not an object"},
        {" null ", "JSON text is null, not an object"},
    };
    for (const auto &c : cases) {
        expect_reason(c.body, Reason::not_object, c.detail);
    }
}

TEST(Validator, RejectsMissingType)
{
    expect_reason(R"({})", Reason::type_missing, "field \"type\" missing");
    expect_reason(R"({"unique_call_id":"1"})", Reason::type_missing, "field \"type\" missing");
    expect_reason(R"({"Type":"probe","unique_call_id":"1"})", Reason::type_missing, "");
    expect_reason(R"({"o":{"type":"probe"},"unique_call_id":"1"})", Reason::type_missing, "");
}

TEST(Validator, RejectsTypeThatIsNotANonEmptyString)
{
    struct {
        const char *value;
        const char *detail;
    } cases[] = {
        {R"("")", "field \"type\" is empty, not a non-empty string"},
        {"1", "field \"type\" is a number, not a non-empty string"},
        {"null", "field \"type\" is null, not a non-empty string"},
        {"true", "field \"type\" is a boolean, not a non-empty string"},
        {R"(["probe"])", "field \"type\" is an array, not a non-empty string"},
        {R"({"probe":1})", "field \"type\" is an object, not a non-empty string"},
    };
    for (const auto &c : cases) {
        expect_reason(std::string(R"({"type":)") + c.value + R"(,"unique_call_id":"1"})",
                      Reason::type_missing, c.detail);
    }
}

TEST(Validator, RejectsUnknownType)
{
    expect_reason(R"({"type":"nope","unique_call_id":"1"})", Reason::type_unknown,
                  "type \"nope\" not accepted");
    expect_reason(R"({"type":"Probe","unique_call_id":"1"})", Reason::type_unknown, "");
    expect_reason(R"({"type":"probe ","unique_call_id":"1"})", Reason::type_unknown, "");
    expect_reason(R"({"type":"probe\u0000","unique_call_id":"1"})", Reason::type_unknown,
                  "type \"probe?\" not accepted");
    expect_reason(R"({"type":"a\"b","unique_call_id":"1"})", Reason::type_unknown,
                  "type \"a?b\" not accepted");
    expect_reason(R"({"type":"user_inbound","unique_call_id":"1"})", Reason::type_unknown,
                  "type \"user_inbound\" not accepted");
}

TEST(Validator, UnknownTypeDetailIsShort)
{
    std::string type(5000, 't');
    Outcome outcome = check("{\"type\":\"" + type + "\"}");
    EXPECT_EQ(outcome.reason, Reason::type_unknown);
    EXPECT_LT(outcome.detail.size(), pbxwebhook::Verdict::detail_capacity);
    EXPECT_EQ(outcome.detail.rfind("type \"ttt", 0), 0u);
}

TEST(Validator, EscapedTypeMatchesSchema)
{
    expect_reason(R"({"type":"pr\u006fbe","unique_call_id":"1"})", Reason::ok, "");
}

TEST(Validator, RejectsMissingRequiredField)
{
    expect_reason(R"({"type":"probe"})", Reason::field_missing, "field \"unique_call_id\" missing");
    expect_reason(R"({"type":"probe","o":{"unique_call_id":"1"}})", Reason::field_missing,
                  "field \"unique_call_id\" missing");
}

TEST(Validator, RejectsRequiredFieldOfWrongKind)
{
    expect_reason(R"({"type":"probe","unique_call_id":1})", Reason::field_type,
                  "field \"unique_call_id\" is a number, not nonempty");
}

Schema three_fields()
{
    return schema_of({"probe a b:number c"});
}

TEST(Validator, FieldMissingBeatsFieldTypeEvenWhenWrongFieldComesFirst)
{
    expect_reason(R"({"type":"probe","unique_call_id":"1","a":1,"b":2})", Reason::field_missing,
                  "field \"c\" missing", three_fields());
    expect_reason(R"({"a":1,"b":"x","type":"probe","unique_call_id":"1"})", Reason::field_missing,
                  "field \"c\" missing", three_fields());
}

TEST(Validator, FieldsAreCheckedInSchemaOrderNotBodyOrder)
{
    expect_reason(R"({"type":"probe","unique_call_id":"1"})", Reason::field_missing,
                  "field \"a\" missing", three_fields());
    expect_reason(R"({"c":"","type":"probe","unique_call_id":"1","b":1})", Reason::field_missing,
                  "field \"a\" missing", three_fields());
    expect_reason(R"({"c":1,"b":"x","a":1,"type":"probe","unique_call_id":"1"})",
                  Reason::field_type, "field \"a\" is a number, not string", three_fields());
    expect_reason(R"({"c":1,"b":"x","a":"","type":"probe","unique_call_id":"1"})",
                  Reason::field_type, "field \"b\" is a string, not number", three_fields());
    expect_reason(R"({"c":"","b":1,"a":"","type":"probe","unique_call_id":1})", Reason::field_type,
                  "field \"unique_call_id\" is a number, not nonempty", three_fields());
    expect_reason(R"({"c":"","b":1,"a":"","type":"probe","unique_call_id":"1"})", Reason::ok, "",
                  three_fields());
}

TEST(Validator, ChecksRunInTableOrder)
{
    // Each body breaks every later rule as well as its own.
    expect_reason("[1", Reason::json_syntax, "", three_fields());
    expect_reason(R"({"type":1,"type":2,)", Reason::duplicate_key, "", three_fields());
    expect_reason(R"({"x":[[[[{"type":1,"type":2}]]]],)", Reason::json_too_deep, "", three_fields(),
                  limits(1024, 3));
    expect_reason(R"({"type":1,})", Reason::json_syntax, "", three_fields());
    expect_reason(R"([{"type":1,"b":"x"}])", Reason::not_object, "", three_fields());
    expect_reason(R"({"type":"","b":"x"})", Reason::type_missing, "", three_fields());
    expect_reason(R"({"type":"other","b":"x"})", Reason::type_unknown, "", three_fields());
    expect_reason(R"({"type":"probe","b":"x"})", Reason::field_missing, "", three_fields());
}

TEST(Validator, FirstStoppingErrorInTheStreamWins)
{
    expect_reason(R"({"a":1,,"a":2})", Reason::json_syntax, "");
    expect_reason(R"({"a":1,"a":2,,})", Reason::duplicate_key, "");
    expect_reason(R"({"a":1,"a":[[[[[[]]]]]]})", Reason::duplicate_key, "", probe_schema(),
                  limits(1024, 3));
    expect_reason(R"({"b":[[[[[[]]]]]],"b":1})", Reason::json_too_deep, "", probe_schema(),
                  limits(1024, 3));
    expect_reason(R"({"b":[[[[[[]]]]]],,})", Reason::json_too_deep, "", probe_schema(),
                  limits(1024, 3));
    expect_reason(R"({"b":[[,[[[]]]]]})", Reason::json_syntax, "", probe_schema(), limits(1024, 3));
}

struct StopCase {
    const char *what;
    std::string first;  // holds the error
    Reason reason;
    Limits limits;
};

TEST(Validator, StoppingErrorsEndTheParseAtOnce)
{
    const StopCase cases[] = {
        {"size", R"({"type":"probe","pad":"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx)",
         Reason::body_too_large, limits(32)},
        {"syntax", R"({"type":"probe",,)", Reason::json_syntax, limits(1024)},
        {"utf-8", "{\"type\":\"probe\",\"\xff", Reason::json_syntax, limits(1024)},
        {"depth", R"({"type":"probe","n":[[[)", Reason::json_too_deep, limits(1024, 2)},
        {"duplicate", R"({"type":"probe","type":)", Reason::duplicate_key, limits(1024)},
    };
    for (const StopCase &c : cases) {
        SCOPED_TRACE(c.what);
        CountingArena arena;
        Validator validator(probe_schema(), c.limits, arena.allocator());
        EXPECT_FALSE(validator.feed(c.first.data(), c.first.size()));
        EXPECT_EQ(validator.verdict().reason(), c.reason);
        std::string detail(validator.verdict().detail());
        std::size_t bytes = validator.bytes();
        std::size_t fields = validator.fields().size();
        std::size_t blocks = arena.blocks();

        for (const std::string &more : {std::string(R"("probe","unique_call_id":"1"})"),
                                        std::string(" "), std::string("\xff"), std::string("{")})
        {
            EXPECT_FALSE(validator.feed(more.data(), more.size()));
            EXPECT_EQ(validator.verdict().reason(), c.reason);
            EXPECT_EQ(validator.verdict().detail(), detail);
            EXPECT_EQ(validator.bytes(), bytes);
            EXPECT_EQ(validator.fields().size(), fields);
            EXPECT_EQ(arena.blocks(), blocks);
        }
        EXPECT_FALSE(validator.feed("", 0));
        EXPECT_EQ(validator.finish().reason(), c.reason);
        EXPECT_EQ(validator.finish().detail(), detail);
    }
}

TEST(Validator, SchemaChecksWaitForTheWholeBody)
{
    CountingArena arena;
    Validator validator(probe_schema(), {}, arena.allocator());
    const std::string body = R"({"type":1,"x":"y"})";
    for (char c : body) {
        EXPECT_TRUE(validator.feed(&c, 1));
        EXPECT_TRUE(validator.verdict().accepted());
    }
    EXPECT_EQ(validator.finish().reason(), Reason::type_missing);
}

TEST(Validator, FeedAfterFinishIsRefused)
{
    CountingArena arena;
    Validator validator(probe_schema(), {}, arena.allocator());
    EXPECT_TRUE(validator.feed(probe_event.data(), probe_event.size()));
    EXPECT_TRUE(validator.finish().accepted());
    EXPECT_FALSE(validator.feed("x", 1));
    EXPECT_TRUE(validator.finish().accepted());
    EXPECT_EQ(validator.verdict().reason(), Reason::ok);
}

TEST(Validator, FinishWithoutBodyThenFeedIsRefused)
{
    CountingArena arena;
    Validator validator(probe_schema(), {}, arena.allocator());
    EXPECT_EQ(validator.finish().reason(), Reason::body_empty);
    EXPECT_FALSE(validator.feed(probe_event.data(), probe_event.size()));
    EXPECT_EQ(validator.finish().reason(), Reason::body_empty);
}

TEST(Validator, CountsBytesFed)
{
    CountingArena arena;
    Validator validator(probe_schema(), {}, arena.allocator());
    EXPECT_TRUE(validator.feed(probe_event.data(), 10));
    EXPECT_EQ(validator.bytes(), 10u);
    EXPECT_TRUE(validator.feed(probe_event.data() + 10, probe_event.size() - 10));
    EXPECT_EQ(validator.bytes(), probe_event.size());
    EXPECT_TRUE(validator.finish().accepted());
}

TEST(Validator, EmptySchemaAcceptsNoType)
{
    Schema empty;
    expect_reason(probe_event, Reason::type_unknown, "type \"probe\" not accepted", empty);
}

}  // namespace
