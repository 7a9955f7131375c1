#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

#include "catalog.hpp"
#include "schema.hpp"
#include "validation.hpp"

namespace {

using pbxtest::schema_of;
using pbxtest::validate;
using pbxwebhook::EventRule;
using pbxwebhook::FieldKind;
using pbxwebhook::Reason;
using pbxwebhook::Schema;

struct Required {
    std::string name;
    FieldKind kind;
};

// The README's built-in catalog, every type led by unique_call_id:nonempty.
const std::map<std::string, std::vector<Required>> &spec_catalog()
{
    static const std::map<std::string, std::vector<Required>> catalog = [] {
        const Required id{"unique_call_id", FieldKind::nonempty};
        auto s = [](const char *name) { return Required{name, FieldKind::string}; };
        std::vector<Required> inbound{id, s("caller_id"), s("user_number"), s("dest_number")};
        std::vector<Required> outbound{id, s("user_number"), s("dest_number")};
        std::vector<Required> recording{id, s("dest_number"), s("call_recording_link")};
        return std::map<std::string, std::vector<Required>>{
            {"webhook_component_event",
             {id,
              s("user_name"),
              s("user_number"),
              s("dest_number"),
              {"call_start_at", FieldKind::datetime},
              s("component_name")}},
            {"user_inbound", inbound},
            {"user_inbound_answered", inbound},
            {"user_inbound_completed", inbound},
            {"user_outbound", outbound},
            {"user_outbound_answered", outbound},
            {"user_outbound_completed", outbound},
            {"queue_call", {id, s("caller_id"), s("dest_number"), s("queue_name")}},
            {"ring_group_call", {id, s("caller_id"), s("dest_number"), s("ring_group_name")}},
            {"voicemail", {id, s("caller_id"), s("dest_number")}},
            {"recording_inbound", recording},
            {"recording_outbound", recording},
        };
    }();
    return catalog;
}

std::string value_for(const Required &field)
{
    switch (field.kind) {
    case FieldKind::datetime:
        return "\"2026-11-27T09:26:40+13:00\"";
    case FieldKind::nonempty:
        return "\"1764202400.48401\"";
    default:
        return "\"v-" + field.name + "\"";
    }
}

// An event of the type with every required field but skip, and with
// override given as the value of the field named in it.
std::string event_of(const std::string &type, const std::string &skip = "",
                     const std::string &override_name = "", const std::string &override_value = "")
{
    std::string body = "{\"type\":\"" + type + "\"";
    for (const Required &field : spec_catalog().at(type)) {
        if (field.name == skip) {
            continue;
        }
        body += ",\"" + field.name + "\":";
        body += field.name == override_name ? override_value : value_for(field);
    }
    return body + "}";
}

void expect_rule(const EventRule *rule, const std::vector<Required> &expected)
{
    ASSERT_NE(rule, nullptr);
    ASSERT_EQ(rule->fields.size(), expected.size()) << rule->type;
    for (std::size_t i = 0; i < expected.size(); i++) {
        EXPECT_EQ(rule->fields[i].name, expected[i].name) << rule->type << " field " << i;
        EXPECT_EQ(rule->fields[i].kind, expected[i].kind) << rule->type << " " << expected[i].name;
    }
}

std::string add(Schema &schema, std::initializer_list<std::string_view> words)
{
    return schema.add_event(std::vector<std::string_view>(words));
}

TEST(Catalog, HasExactlyTheTwelveSpecTypes)
{
    const Schema &catalog = pbxtest::built_in_catalog();
    EXPECT_EQ(catalog.rules().size(), 12u);
    EXPECT_EQ(pbxwebhook::catalog_size, 12u);
    for (const auto &[type, fields] : spec_catalog()) {
        SCOPED_TRACE(type);
        expect_rule(catalog.find(type), fields);
    }
    for (const EventRule &rule : catalog.rules()) {
        EXPECT_EQ(spec_catalog().count(rule.type), 1u) << rule.type;
    }
}

TEST(Catalog, DoesNotKnowOtherTypes)
{
    const Schema &catalog = pbxtest::built_in_catalog();
    for (const char *type : {"", "USER_INBOUND", "user_inbound ", "user_inbound\n", "inbound",
                             "webhook_component", "call"})
    {
        EXPECT_EQ(catalog.find(type), nullptr) << type;
    }
}

TEST(Catalog, EventWithEveryRequiredFieldPasses)
{
    for (const auto &entry : spec_catalog()) {
        pbxtest::Outcome outcome = validate(event_of(entry.first));
        EXPECT_EQ(outcome.reason, Reason::ok) << entry.first << ": " << outcome;
        EXPECT_EQ(outcome.status, 0);
        EXPECT_EQ(outcome.detail, "");
    }
}

TEST(Catalog, RemovingAnyRequiredFieldGivesFieldMissingNamingIt)
{
    for (const auto &[type, fields] : spec_catalog()) {
        for (const Required &field : fields) {
            pbxtest::Outcome outcome = validate(event_of(type, field.name));
            EXPECT_EQ(outcome.reason, Reason::field_missing) << type << " without " << field.name;
            EXPECT_EQ(outcome.status, 422);
            EXPECT_EQ(outcome.detail, "field \"" + field.name + "\" missing") << type;
        }
    }
}

TEST(Catalog, WrongKindOfAnyRequiredFieldGivesFieldTypeNamingIt)
{
    for (const auto &[type, fields] : spec_catalog()) {
        for (const Required &field : fields) {
            for (const char *wrong : {"1", "null", "[]", "{}", "false"}) {
                pbxtest::Outcome outcome = validate(event_of(type, "", field.name, wrong));
                EXPECT_EQ(outcome.reason, Reason::field_type)
                    << type << " " << field.name << "=" << wrong;
                EXPECT_EQ(outcome.status, 422);
                EXPECT_EQ(outcome.detail.rfind("field \"" + field.name + "\" is ", 0), 0u)
                    << outcome.detail;
            }
        }
    }
}

TEST(Catalog, RequiredStringFieldsMayBeEmpty)
{
    for (const auto &[type, fields] : spec_catalog()) {
        std::string body = "{\"type\":\"" + type + "\"";
        for (const Required &field : fields) {
            body += ",\"" + field.name + "\":";
            body += field.kind == FieldKind::string ? "\"\"" : value_for(field);
        }
        body += "}";
        EXPECT_EQ(validate(body).reason, Reason::ok) << body;
    }
}

TEST(Catalog, CallIdMustBeNonEmpty)
{
    pbxtest::Outcome outcome = validate(event_of("voicemail", "", "unique_call_id", "\"\""));
    EXPECT_EQ(outcome.reason, Reason::field_type);
    EXPECT_EQ(outcome.detail, "field \"unique_call_id\" is an empty string, not nonempty");
}

TEST(Catalog, WebhookComponentEventCallStartAtMustBeDatetime)
{
    const std::string type = "webhook_component_event";
    for (const char *bad :
         {"\"null\"", "\"\"", "\"27/11/2026 09:26\"", "\"2026-11-27\"", "1764202400",
          "\"2026-02-29T09:26:40Z\"", "\"2026-04-31 09:26:40\""})
    {
        pbxtest::Outcome outcome = validate(event_of(type, "", "call_start_at", bad));
        EXPECT_EQ(outcome.reason, Reason::field_type) << bad;
        EXPECT_EQ(outcome.detail.rfind("field \"call_start_at\" is ", 0), 0u) << outcome.detail;
        EXPECT_NE(outcome.detail.find("datetime"), std::string::npos) << outcome.detail;
    }
    for (const char *good :
         {"\"2026-11-27T09:26:40+13:00\"", "\"2026-11-27 09:26:40\"", "\"2026-11-26T20:26:40Z\"",
          "\"2024-02-29T09:26:40Z\""})
    {
        EXPECT_EQ(validate(event_of(type, "", "call_start_at", good)).reason, Reason::ok) << good;
    }
}

TEST(Catalog, UnlistedFieldsMayBeAnythingIncludingNullDates)
{
    std::string body = event_of("user_inbound_completed");
    body.pop_back();
    body += R"(,"call_start_at":"null","connected_at":null,"call_duration":187,)"
            R"("conversation_duration":"180","audio_file":["a","b"],"extra":{"x":[1,{}]}})";
    EXPECT_EQ(validate(body).reason, Reason::ok) << body;
}

TEST(Schema, CatalogTypeAloneKeepsCatalogFields)
{
    Schema schema;
    EXPECT_EQ(add(schema, {"queue_call"}), "");
    EXPECT_EQ(schema.rules().size(), 1u);
    expect_rule(schema.find("queue_call"), spec_catalog().at("queue_call"));

    EXPECT_EQ(validate(event_of("queue_call"), schema).reason, Reason::ok);
    pbxtest::Outcome missing = validate(event_of("queue_call", "queue_name"), schema);
    EXPECT_EQ(missing.reason, Reason::field_missing);
    EXPECT_EQ(missing.detail, "field \"queue_name\" missing");

    Schema component;
    EXPECT_EQ(add(component, {"webhook_component_event"}), "");
    expect_rule(component.find("webhook_component_event"),
                spec_catalog().at("webhook_component_event"));
}

TEST(Schema, OnlyListedTypesAreAccepted)
{
    Schema schema = schema_of({"queue_call", "voicemail"});
    EXPECT_EQ(validate(event_of("voicemail"), schema).reason, Reason::ok);
    pbxtest::Outcome other = validate(event_of("user_inbound"), schema);
    EXPECT_EQ(other.reason, Reason::type_unknown);
    EXPECT_EQ(other.detail, "type \"user_inbound\" not accepted");
}

TEST(Schema, NewTypeAloneRequiresOnlyTypeAndCallId)
{
    Schema schema;
    EXPECT_EQ(add(schema, {"call_parked"}), "");
    expect_rule(schema.find("call_parked"), {{"unique_call_id", FieldKind::nonempty}});

    EXPECT_EQ(validate(R"({"type":"call_parked","unique_call_id":"9"})", schema).reason,
              Reason::ok);
    pbxtest::Outcome outcome = validate(R"({"type":"call_parked","caller_id":"1"})", schema);
    EXPECT_EQ(outcome.reason, Reason::field_missing);
    EXPECT_EQ(outcome.detail, "field \"unique_call_id\" missing");
    EXPECT_EQ(validate(R"({"unique_call_id":"9"})", schema).reason, Reason::type_missing);
}

TEST(Schema, CatalogTypeWithFieldsRequiresExactlyThose)
{
    Schema schema;
    EXPECT_EQ(add(schema, {"queue_call", "queue_name"}), "");
    expect_rule(schema.find("queue_call"),
                {{"unique_call_id", FieldKind::nonempty}, {"queue_name", FieldKind::string}});
    EXPECT_EQ(validate(R"({"type":"queue_call","unique_call_id":"1","queue_name":"Sales"})", schema)
                  .reason,
              Reason::ok);
}

TEST(Schema, FieldsTakeKindsAndDefaultToString)
{
    Schema schema;
    EXPECT_EQ(add(schema, {"probe", "a:number", "b", "c:datetime", "d:any", "e:string", "f:numeric",
                           "g:nonempty", "h:array", "i:object"}),
              "");
    expect_rule(schema.find("probe"), {{"unique_call_id", FieldKind::nonempty},
                                       {"a", FieldKind::number},
                                       {"b", FieldKind::string},
                                       {"c", FieldKind::datetime},
                                       {"d", FieldKind::any},
                                       {"e", FieldKind::string},
                                       {"f", FieldKind::numeric},
                                       {"g", FieldKind::nonempty},
                                       {"h", FieldKind::array},
                                       {"i", FieldKind::object}});
}

TEST(Schema, FieldNameMayContainColonBeforeKind)
{
    Schema schema;
    EXPECT_EQ(add(schema, {"probe", "ns:name:number"}), "");
    expect_rule(schema.find("probe"),
                {{"unique_call_id", FieldKind::nonempty}, {"ns:name", FieldKind::number}});
}

void expect_error(std::initializer_list<std::string_view> words, std::string_view mentions)
{
    Schema schema;
    std::string error = add(schema, words);
    EXPECT_FALSE(error.empty()) << "no error for line starting " << *words.begin();
    EXPECT_NE(error.find(mentions), std::string::npos)
        << "error \"" << error << "\" does not mention " << mentions;
    if (words.size() > 0) {
        EXPECT_EQ(schema.find(*words.begin()), nullptr) << "a rejected line left a rule behind";
    }
    EXPECT_TRUE(schema.rules().empty());
}

TEST(Schema, UnknownKindIsAnErrorNamingTheKind)
{
    expect_error({"probe", "a:integer"}, "integer");
    expect_error({"probe", "a", "b:String"}, "String");
    expect_error({"probe", "a:"}, "a:");
    expect_error({"user_inbound", "caller_id:bool"}, "bool");
}

TEST(Schema, SameTypeTwiceIsAnError)
{
    Schema schema;
    EXPECT_EQ(add(schema, {"probe", "a"}), "");
    std::string error = add(schema, {"probe", "b"});
    EXPECT_FALSE(error.empty());
    EXPECT_NE(error.find("probe"), std::string::npos) << error;
    expect_rule(schema.find("probe"),
                {{"unique_call_id", FieldKind::nonempty}, {"a", FieldKind::string}});

    Schema catalog_twice;
    EXPECT_EQ(add(catalog_twice, {"voicemail"}), "");
    error = add(catalog_twice, {"voicemail"});
    EXPECT_NE(error.find("voicemail"), std::string::npos) << error;
    EXPECT_EQ(catalog_twice.rules().size(), 1u);
}

TEST(Schema, EmptyFieldNameIsAnError)
{
    expect_error({"probe", ":number"}, ":number");
    expect_error({"probe", "ok", ":"}, "\":\"");
}

TEST(Schema, FieldListedTwiceIsAnError)
{
    expect_error({"probe", "caller_id", "caller_id:number"}, "caller_id");
    expect_error({"probe", "dest_number:string", "queue_name", "dest_number"}, "dest_number");
    expect_error({"probe", "unique_call_id", "unique_call_id"}, "unique_call_id");
}

TEST(Schema, TypeFieldCannotBeListed)
{
    expect_error({"probe", "type"}, "type");
    expect_error({"probe", "a", "type:string"}, "type");
    expect_error({"probe", "type:any"}, "\"type\"");
}

TEST(Schema, EmptyTypeIsAnError)
{
    Schema schema;
    EXPECT_FALSE(schema.add_event({}).empty());
    EXPECT_FALSE(add(schema, {""}).empty());
    EXPECT_FALSE(add(schema, {"", "a"}).empty());
    EXPECT_TRUE(schema.rules().empty());
}

TEST(Schema, RejectedLineCanBeCorrected)
{
    Schema schema;
    EXPECT_NE(add(schema, {"probe", "a:integer"}), "");
    EXPECT_EQ(add(schema, {"probe", "a:number"}), "");
    expect_rule(schema.find("probe"),
                {{"unique_call_id", FieldKind::nonempty}, {"a", FieldKind::number}});
}

TEST(Schema, ListingCallIdChangesItsKindNotItsPlace)
{
    Schema schema;
    EXPECT_EQ(add(schema, {"probe", "a", "unique_call_id:numeric"}), "");
    expect_rule(schema.find("probe"),
                {{"unique_call_id", FieldKind::numeric}, {"a", FieldKind::string}});

    EXPECT_EQ(validate(R"({"type":"probe","unique_call_id":"42","a":""})", schema).reason,
              Reason::ok);
    EXPECT_EQ(validate(R"({"type":"probe","unique_call_id":42,"a":""})", schema).reason,
              Reason::ok);
    pbxtest::Outcome outcome = validate(R"({"type":"probe","unique_call_id":"4a","a":""})", schema);
    EXPECT_EQ(outcome.reason, Reason::field_type);
    EXPECT_EQ(outcome.detail, "field \"unique_call_id\" is a string, not numeric");

    Schema loose;
    EXPECT_EQ(add(loose, {"probe", "unique_call_id"}), "");
    expect_rule(loose.find("probe"), {{"unique_call_id", FieldKind::string}});
    EXPECT_EQ(validate(R"({"type":"probe","unique_call_id":""})", loose).reason, Reason::ok);
}

TEST(Schema, CustomFieldsAreCheckedInListedOrder)
{
    Schema schema = schema_of({"probe z a:number m"});
    pbxtest::Outcome missing = validate(R"({"type":"probe","unique_call_id":"1"})", schema);
    EXPECT_EQ(missing.detail, "field \"z\" missing");
    pbxtest::Outcome wrong =
        validate(R"({"m":1,"a":"x","z":2,"type":"probe","unique_call_id":"1"})", schema);
    EXPECT_EQ(wrong.reason, Reason::field_type);
    EXPECT_EQ(wrong.detail, "field \"z\" is a number, not string");
}

TEST(Schema, FindIsExact)
{
    Schema schema = schema_of({"probe"});
    EXPECT_NE(schema.find("probe"), nullptr);
    EXPECT_EQ(schema.find("Probe"), nullptr);
    EXPECT_EQ(schema.find("probe "), nullptr);
    EXPECT_EQ(schema.find("prob"), nullptr);
    EXPECT_EQ(schema.find(std::string_view("probe\0", 6)), nullptr);
}

}  // namespace
