#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

#include "event_fields.hpp"
#include "validation.hpp"

namespace {

using namespace std::string_literals;

using pbxtest::CountingArena;
using pbxtest::Field;
using pbxtest::Outcome;
using pbxwebhook::EventField;
using pbxwebhook::EventFields;
using pbxwebhook::FieldKind;
using pbxwebhook::JsonKind;
using pbxwebhook::Reason;
using pbxwebhook::Schema;
using pbxwebhook::Validator;

const Schema &probe_schema()
{
    static const Schema schema = pbxtest::schema_of({"probe"});
    return schema;
}

// Validates {"type":"probe","unique_call_id":"1",MEMBERS}, fed whole and
// byte by byte, and returns the fields, which must agree.
Outcome fields_of(const std::string &members)
{
    std::string body = R"({"type":"probe","unique_call_id":"1")";
    if (!members.empty()) {
        body += "," + members;
    }
    body += "}";
    Outcome whole = pbxtest::validate(body, probe_schema());
    EXPECT_EQ(whole, pbxtest::validate_bytewise(body, probe_schema()));
    EXPECT_EQ(whole.reason, Reason::ok) << whole;
    return whole;
}

Field field_of(const std::string &members, std::string_view name)
{
    Outcome outcome = fields_of(members);
    const Field *field = outcome.find(name);
    EXPECT_NE(field, nullptr) << "no field " << name;
    return field ? *field : Field{};
}

std::string value_of(const std::string &json_value)
{
    return field_of("\"f\":" + json_value, "f").value;
}

TEST(EventFields, StringsAreUnescaped)
{
    EXPECT_EQ(value_of(R"("plain")"), "plain");
    EXPECT_EQ(value_of(R"("caf\u00e9")"), "caf\xc3\xa9");
    EXPECT_EQ(value_of(R"("\u20ac")"), "\xe2\x82\xac");
    EXPECT_EQ(value_of(R"("\ud83d\ude00")"), "\xf0\x9f\x98\x80");
    EXPECT_EQ(value_of(R"("\"\\\/\b\f\n\r\t")"), "\"\\/\b\f\n\r\t");
    EXPECT_EQ(value_of(R"("\u0041\u0062")"), "Ab");
    EXPECT_EQ(value_of("\"caf\xc3\xa9\""), "caf\xc3\xa9");
    EXPECT_EQ(value_of(R"("")"), "");
}

TEST(EventFields, NumbersAreKeptAsWritten)
{
    const std::string hundreds(400, '7');
    for (const std::string &number : {"0"s, "-0"s, "-0.0"s, "1e999999"s, "1E+2"s, "-1.250e-07"s,
                                      hundreds, "-" + hundreds, "18446744073709551616"s})
    {
        Field field = field_of("\"f\":" + number, "f");
        EXPECT_EQ(field.value, number);
        EXPECT_EQ(field.kind, JsonKind::number) << number;
    }
}

TEST(EventFields, LiteralsAreKeptAsWritten)
{
    struct {
        const char *json;
        JsonKind kind;
    } cases[] = {
        {"true", JsonKind::boolean}, {"false", JsonKind::boolean}, {"null", JsonKind::null}};
    for (const auto &c : cases) {
        Field field = field_of(std::string("\"f\":") + c.json, "f");
        EXPECT_EQ(field.value, c.json);
        EXPECT_EQ(field.kind, c.kind);
    }
}

TEST(EventFields, ObjectsAndArraysHaveShapeButNoValue)
{
    Outcome outcome = fields_of(R"("a":[1,"x",{"y":2}],"o":{"k":"v","n":[1]},"e":[],"eo":{})");
    struct {
        const char *name;
        JsonKind kind;
    } cases[] = {{"a", JsonKind::array},
                 {"o", JsonKind::object},
                 {"e", JsonKind::array},
                 {"eo", JsonKind::object}};
    for (const auto &c : cases) {
        const Field *field = outcome.find(c.name);
        ASSERT_NE(field, nullptr) << c.name;
        EXPECT_EQ(field->value, "") << c.name;
        EXPECT_EQ(field->kind, c.kind) << c.name;
        EXPECT_FALSE(field->empty_string);
    }
}

TEST(EventFields, OnlyTopLevelMembersAreFields)
{
    Outcome outcome = fields_of(R"("o":{"inner":"x","deep":{"deeper":1}},"a":[{"in_array":1}])");
    EXPECT_EQ(outcome.fields.size(), 4u);
    for (const char *name : {"inner", "deep", "deeper", "in_array", "k"}) {
        EXPECT_EQ(outcome.find(name), nullptr) << name;
    }
}

TEST(EventFields, ShapeDescribesWholeValue)
{
    Field digits = field_of(R"("f":"0042")", "f");
    EXPECT_TRUE(digits.digits);
    EXPECT_FALSE(digits.empty_string);
    EXPECT_FALSE(digits.datetime);

    Field empty = field_of(R"("f":"")", "f");
    EXPECT_TRUE(empty.empty_string);
    EXPECT_FALSE(empty.digits);

    Field when = field_of(R"("f":"2026-11-27T09:15:02+13:00")", "f");
    EXPECT_TRUE(when.datetime);

    Field escaped = field_of(R"("f":"\u0031\u0032")", "f");
    EXPECT_EQ(escaped.value, "12");
    EXPECT_TRUE(escaped.digits);

    std::string long_digits(3000, '5');
    Field long_field = field_of("\"f\":\"" + long_digits + "\"", "f");
    EXPECT_TRUE(long_field.digits);
    EXPECT_EQ(long_field.value.size(), EventFields::value_limit);

    Field long_then_letter = field_of("\"f\":\"" + long_digits + "x\"", "f");
    EXPECT_FALSE(long_then_letter.digits) << "shape of the whole value, not of the cut one";
}

TEST(EventFields, ValuesAreCutAtLimit)
{
    ASSERT_EQ(EventFields::value_limit, 1024u);
    EXPECT_EQ(value_of("\"" + std::string(1024, 'a') + "\""), std::string(1024, 'a'));
    EXPECT_EQ(value_of("\"" + std::string(1025, 'a') + "\""), std::string(1024, 'a'));
    EXPECT_EQ(value_of("\"" + std::string(5000, 'a') + "\""), std::string(1024, 'a'));
    EXPECT_EQ(value_of(std::string(2000, '9')), std::string(1024, '9'));
}

TEST(EventFields, ValuesAreCutAtUtf8Boundary)
{
    // 1023 bytes then a 2-byte character: the character does not fit.
    std::string head(1023, 'a');
    EXPECT_EQ(value_of("\"" + head
                       + "\xc3\xa9"
                         "tail\""),
              head);
    // 1022 then a 4-byte character.
    EXPECT_EQ(value_of("\"" + std::string(1022, 'a') + "\xf0\x9f\x98\x80\""),
              std::string(1022, 'a'));
    // 1021 then a 3-byte character fits exactly.
    std::string exact = std::string(1021, 'a') + "\xe2\x82\xac";
    EXPECT_EQ(value_of("\"" + exact + "zz\""), exact);
    // Escaped characters count by their UTF-8 bytes.
    std::string escaped_euros;
    for (int i = 0; i < 400; i++) {
        escaped_euros += "\\u20ac";
    }
    std::string euros_value = value_of("\"" + escaped_euros + "\"");
    EXPECT_EQ(euros_value.size(), 1023u);
    EXPECT_EQ(euros_value.substr(0, 3), "\xe2\x82\xac");
    EXPECT_EQ(euros_value.substr(1020), "\xe2\x82\xac");
}

TEST(EventFields, NamesAreWholeAndExact)
{
    std::string long_name(3000, 'n');
    Outcome outcome =
        fields_of("\"" + long_name + "\":1,\"with space\":2,\"Caf\\u00e9\":3,\"CASE\":4");
    ASSERT_NE(outcome.find(long_name), nullptr);
    EXPECT_EQ(outcome.find(long_name)->value, "1");
    EXPECT_NE(outcome.find("with space"), nullptr);
    EXPECT_NE(outcome.find("Caf\xc3\xa9"), nullptr);
    EXPECT_NE(outcome.find("CASE"), nullptr);
    EXPECT_EQ(outcome.find("case"), nullptr);
    EXPECT_EQ(outcome.find(long_name.substr(1)), nullptr);
}

TEST(EventFields, FieldsKeepArrivalOrder)
{
    Outcome outcome = fields_of(R"("z":1,"a":2,"m":3)");
    std::vector<std::string> names;
    for (const Field &field : outcome.fields) {
        names.push_back(field.name);
    }
    EXPECT_EQ(names, (std::vector<std::string>{"type", "unique_call_id", "z", "a", "m"}));
}

TEST(EventFields, NulBytesSurviveInNamesAndValues)
{
    Outcome outcome = fields_of(R"("a\u0000b":"x\u0000y","a":"\u0000")");
    const Field *nul_name = outcome.find("a\0b"s);
    ASSERT_NE(nul_name, nullptr);
    EXPECT_EQ(nul_name->name, "a\0b"s);
    EXPECT_EQ(nul_name->value, "x\0y"s);
    const Field *a = outcome.find("a");
    ASSERT_NE(a, nullptr);
    EXPECT_EQ(a->value, "\0"s);
    EXPECT_FALSE(a->empty_string);
}

// Validator::fields().find, the look-up the variables use.
TEST(EventFields, FindThroughValidator)
{
    CountingArena arena;
    Validator validator(probe_schema(), {}, arena.allocator());
    const std::string body =
        R"({"type":"probe","unique_call_id":"1","a\u0000b":"v","n":-0.0,"o":{"x":1},"s":"caf\u00e9"})";
    ASSERT_TRUE(validator.feed(body.data(), body.size()));
    ASSERT_TRUE(validator.finish().accepted());

    const EventFields &fields = validator.fields();
    EXPECT_EQ(fields.size(), 6u);
    ASSERT_NE(fields.find("type"), nullptr);
    EXPECT_EQ(fields.find("type")->value(), "probe");
    EXPECT_EQ(fields.find("s")->value(), "caf\xc3\xa9");
    EXPECT_EQ(fields.find("n")->value(), "-0.0");
    EXPECT_EQ(fields.find("n")->kind(), JsonKind::number);
    EXPECT_EQ(fields.find("o")->value(), "");
    EXPECT_EQ(fields.find("o")->kind(), JsonKind::object);
    ASSERT_NE(fields.find("a\0b"s), nullptr);
    EXPECT_EQ(fields.find("a\0b"s)->value(), "v");

    EXPECT_EQ(fields.find("absent"), nullptr);
    EXPECT_EQ(fields.find("a"), nullptr);
    EXPECT_EQ(fields.find("x"), nullptr);
    EXPECT_EQ(fields.find(""), nullptr);
    EXPECT_EQ(fields.find("Type"), nullptr);
    EXPECT_EQ(&fields[0], fields.find("type"));
}

TEST(EventFields, FieldsStayAfterSchemaRejection)
{
    Outcome outcome = pbxtest::validate(R"({"type":"other","caller_id":"+64 9 555","n":3})");
    EXPECT_EQ(outcome.reason, Reason::type_unknown);
    ASSERT_NE(outcome.find("caller_id"), nullptr);
    EXPECT_EQ(outcome.find("caller_id")->value, "+64 9 555");
    EXPECT_EQ(outcome.find("type")->value, "other");
}

TEST(EventFields, TopLevelArrayHasNoFields)
{
    Outcome outcome = pbxtest::validate(R"([{"type":"probe"},"x",1])");
    EXPECT_EQ(outcome.reason, Reason::not_object);
    EXPECT_TRUE(outcome.fields.empty());
}

TEST(EventFields, EmptyValidatorFindsNothing)
{
    CountingArena arena;
    EventFields fields(arena.allocator());
    EXPECT_EQ(fields.size(), 0u);
    EXPECT_EQ(fields.find("type"), nullptr);
    EXPECT_EQ(arena.blocks(), 0u);
}

TEST(EventFields, AddFindsDuplicatesAndGrows)
{
    CountingArena arena;
    EventFields fields(arena.allocator());
    for (int i = 0; i < 1000; i++) {
        std::string name = "field" + std::to_string(i);
        ASSERT_EQ(fields.add(name), EventFields::Added::ok) << name;
        ASSERT_TRUE(fields.set_value(JsonKind::number, std::to_string(i)));
    }
    EXPECT_EQ(fields.size(), 1000u);
    for (int i = 0; i < 1000; i++) {
        std::string name = "field" + std::to_string(i);
        const EventField *field = fields.find(name);
        ASSERT_NE(field, nullptr) << name;
        EXPECT_EQ(field->name(), name);
        EXPECT_EQ(field->value(), std::to_string(i));
        EXPECT_EQ(&fields[i], field);
        EXPECT_EQ(fields.add(name), EventFields::Added::duplicate);
    }
    EXPECT_EQ(fields.size(), 1000u);
    EXPECT_EQ(fields.find("field1000"), nullptr);
}

TEST(EventFields, AddCopiesNameAndValue)
{
    CountingArena arena;
    EventFields fields(arena.allocator());
    std::string name = "caller_id";
    std::string value = "+6493031234";
    ASSERT_EQ(fields.add(name), EventFields::Added::ok);
    ASSERT_TRUE(fields.set_value(JsonKind::string, value));
    name.assign(name.size(), 'x');
    value.assign(value.size(), 'y');
    const EventField *field = fields.find("caller_id");
    ASSERT_NE(field, nullptr);
    EXPECT_EQ(field->value(), "+6493031234");
}

TEST(EventFields, AddReportsNoMemory)
{
    for (std::size_t budget = 0; budget < 3; budget++) {
        CountingArena arena;
        arena.fail_after(budget);
        EventFields fields(arena.allocator());
        EXPECT_EQ(fields.add("a"), EventFields::Added::no_memory) << budget;
        EXPECT_EQ(fields.find("a"), nullptr);
    }
    CountingArena arena;
    EventFields fields(arena.allocator());
    ASSERT_EQ(fields.add("a"), EventFields::Added::ok);
    arena.fail_after(arena.blocks());
    EXPECT_TRUE(fields.set_value(JsonKind::string, "value")) << "fits the block names share";
    EXPECT_EQ(fields.add(std::string(600, 'n')), EventFields::Added::no_memory)
        << "a name longer than the shared block has a block of its own";
    ASSERT_EQ(fields.add("b"), EventFields::Added::ok);
    EXPECT_FALSE(fields.set_value(JsonKind::string, std::string(2000, 'v')));
    const EventField *b = fields.find("b");
    ASSERT_NE(b, nullptr);
    EXPECT_EQ(b->kind(), JsonKind::null) << "a value not kept leaves no half of it";
    EXPECT_EQ(b->value(), "");
    EXPECT_FALSE(b->cut());
    ASSERT_EQ(fields.add("c"), EventFields::Added::ok);
    EXPECT_TRUE(fields.set_value(JsonKind::string, ""));
    // Names without values until the shared block or the field array is
    // full: the name that did not fit leaves the fields as they were.
    for (int i = 0; i < 1000; i++) {
        std::string name = "name_" + std::to_string(i);
        std::size_t before = fields.size();
        EventFields::Added added = fields.add(name);
        if (added == EventFields::Added::no_memory) {
            EXPECT_EQ(fields.size(), before);
            EXPECT_EQ(fields.find(name), nullptr) << name;
            EXPECT_NE(fields.find("b"), nullptr);
            return;
        }
        ASSERT_EQ(added, EventFields::Added::ok) << name;
    }
    ADD_FAILURE() << "the shared block never filled up";
}

// Short names and values share blocks of the arena; long values get their
// own. Every text must read back whole, whichever block it went to.
TEST(EventFields, TextsShareBlocks)
{
    CountingArena arena;
    EventFields fields(arena.allocator());
    std::vector<std::pair<std::string, std::string>> sent;
    for (int i = 0; i < 200; i++) {
        std::string name = "key_" + std::to_string(i);
        std::string value(static_cast<std::size_t>(i * 7 % 300), static_cast<char>('a' + i % 26));
        ASSERT_EQ(fields.add(name), EventFields::Added::ok);
        ASSERT_TRUE(fields.set_value(JsonKind::string, value));
        sent.emplace_back(name, value);
    }
    for (std::size_t i = 0; i < sent.size(); i++) {
        const EventField *field = fields.find(sent[i].first);
        ASSERT_NE(field, nullptr) << sent[i].first;
        EXPECT_EQ(field->name(), sent[i].first);
        EXPECT_EQ(field->value(), sent[i].second) << sent[i].first;
    }
    // ~31 KB of text in 512-byte blocks or blocks of their own: far fewer
    // blocks than the 400 texts, however the fields and index grew.
    EXPECT_LT(arena.blocks(), 150u);
}

// A field stays where it was put while thousands more arrive: find() and
// operator[] hand out pointers that later fields must not move.
TEST(EventFields, FieldsStayWhereTheyArePut)
{
    CountingArena arena;
    EventFields fields(arena.allocator());
    std::vector<const EventField *> seen;
    for (int i = 0; i < 5000; i++) {
        std::string name = "f" + std::to_string(i);
        ASSERT_EQ(fields.add(name), EventFields::Added::ok);
        ASSERT_TRUE(fields.set_value(JsonKind::number, std::to_string(i * 3)));
        seen.push_back(fields.find(name));
    }
    for (int i = 0; i < 5000; i++) {
        ASSERT_EQ(&fields[i], seen[i]) << i;
        EXPECT_EQ(seen[i]->name(), "f" + std::to_string(i));
        EXPECT_EQ(seen[i]->value(), std::to_string(i * 3));
    }
}

// A value goes behind its name; when the block has no room left there,
// both move. Names and values of every length around the block's size,
// empty ones too, must read back whole.
TEST(EventFields, NamesAndValuesReadBackWhateverTheirLengths)
{
    CountingArena arena;
    EventFields fields(arena.allocator());
    std::vector<std::pair<std::string, std::string>> sent;
    const std::size_t lengths[] = {0, 1, 7, 100, 127, 128, 129, 300, 511, 512, 513, 1024, 1500};
    int n = 0;
    for (std::size_t name_length : lengths) {
        for (std::size_t value_length : lengths) {
            std::string name = std::to_string(n++) + std::string(name_length, 'n');
            if (n == 1) {
                name.clear();
            }
            std::string value(value_length, static_cast<char>('a' + n % 26));
            ASSERT_EQ(fields.add(name), EventFields::Added::ok) << name.size();
            ASSERT_TRUE(fields.set_value(JsonKind::string, value));
            sent.emplace_back(name, value.substr(0, EventFields::value_limit));
        }
    }
    ASSERT_EQ(fields.size(), sent.size());
    for (std::size_t i = 0; i < sent.size(); i++) {
        const EventField *field = fields.find(sent[i].first);
        ASSERT_EQ(field, &fields[i]) << i;
        EXPECT_EQ(field->name(), sent[i].first) << i;
        EXPECT_EQ(field->value(), sent[i].second) << i;
    }
}

// satisfies() on a field works out only what the kind needs; it must give
// the answer the whole value's shape gives, cut or not.
TEST(EventFields, SatisfiesAgreesWithShapeOfWholeValue)
{
    const std::string digits(3000, '5');
    const std::string stamp = "2026-11-27T09:15:02";
    struct Case {
        JsonKind kind;
        std::string text;
    };
    const Case cases[] = {
        {JsonKind::string, ""},
        {JsonKind::string, "abc"},
        {JsonKind::string, "0042"},
        {JsonKind::string, stamp + "Z"},
        {JsonKind::string, "2026-13-27T09:15:02Z"},
        {JsonKind::string, digits},
        {JsonKind::string, digits + "x"},
        {JsonKind::string, stamp + "." + digits},
        {JsonKind::string, stamp + "." + digits + "Z"},
        {JsonKind::string, stamp + "." + digits + "!"},
        {JsonKind::number, "12"},
        {JsonKind::number, digits},
        {JsonKind::boolean, "true"},
        {JsonKind::null, "null"},
        {JsonKind::array, ""},
        {JsonKind::object, ""},
    };
    const FieldKind kinds[] = {FieldKind::string,   FieldKind::nonempty, FieldKind::number,
                               FieldKind::numeric,  FieldKind::datetime, FieldKind::array,
                               FieldKind::object,   FieldKind::any};
    for (const Case &c : cases) {
        CountingArena arena;
        EventFields fields(arena.allocator());
        ASSERT_EQ(fields.add("f"), EventFields::Added::ok);
        ASSERT_TRUE(fields.set_value(c.kind, c.text));
        const EventField &field = *fields.find("f");
        pbxwebhook::ValueShape whole = c.kind == JsonKind::string
                                           ? pbxwebhook::shape_of_string(c.text)
                                           : pbxwebhook::ValueShape{c.kind, false, false, false};
        EXPECT_EQ(field.cut(), c.text.size() > EventFields::value_limit) << c.text.substr(0, 30);
        for (FieldKind kind : kinds) {
            EXPECT_EQ(pbxwebhook::satisfies(field, kind), pbxwebhook::satisfies(whole, kind))
                << c.text.substr(0, 30) << " as " << pbxwebhook::field_kind_name(kind);
            EXPECT_EQ(pbxwebhook::satisfies(field.shape(), kind), pbxwebhook::satisfies(whole, kind))
                << c.text.substr(0, 30) << " as " << pbxwebhook::field_kind_name(kind);
        }
    }
}

}  // namespace
