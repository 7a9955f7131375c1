#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "token_set.hpp"
#include "type_scope.hpp"
#include "validation.hpp"

namespace {

using pbxtest::CountingArena;
using pbxtest::schema_of;
using pbxwebhook::Reason;
using pbxwebhook::Schema;
using pbxwebhook::TokenSet;
using pbxwebhook::TypeScope;
using pbxwebhook::Validator;
using pbxwebhook::Verdict;

TypeScope scope_of(std::string_view parameter)
{
    TypeScope scope;
    std::string error = TypeScope::parse(parameter, scope);
    EXPECT_EQ(error, "") << parameter;
    return scope;
}

std::string parse_error(std::string_view parameter)
{
    TypeScope scope;
    return TypeScope::parse(parameter, scope);
}

TEST(TypeScope, UnscopedAllowsEveryType)
{
    TypeScope scope;
    EXPECT_TRUE(scope.unscoped());
    EXPECT_TRUE(scope.allows("user_inbound"));
    EXPECT_TRUE(scope.allows("anything"));
}

TEST(TypeScope, ParsesACommaSeparatedList)
{
    TypeScope scope = scope_of("types=webhook_component_event,voicemail");
    EXPECT_FALSE(scope.unscoped());
    EXPECT_EQ(scope.types(), (std::vector<std::string>{"webhook_component_event", "voicemail"}));
    EXPECT_TRUE(scope.allows("webhook_component_event"));
    EXPECT_TRUE(scope.allows("voicemail"));
    EXPECT_FALSE(scope.allows("user_inbound"));
    EXPECT_FALSE(scope.allows("Voicemail"));
    EXPECT_FALSE(scope.allows("voicemai"));
    EXPECT_FALSE(scope.allows(""));
}

TEST(TypeScope, ParsesOneType)
{
    TypeScope scope = scope_of("types=voicemail");
    EXPECT_EQ(scope.types(), std::vector<std::string>{"voicemail"});
}

TEST(TypeScope, RefusesAnEmptyList)
{
    EXPECT_EQ(parse_error("types="), "\"types=\" lists no event type");
}

TEST(TypeScope, RefusesAnEmptyTypeInTheList)
{
    EXPECT_EQ(parse_error("types=a,,b"), "\"types=a,,b\" has an empty event type");
    EXPECT_EQ(parse_error("types=,a"), "\"types=,a\" has an empty event type");
    EXPECT_EQ(parse_error("types=a,"), "\"types=a,\" has an empty event type");
    EXPECT_EQ(parse_error("types=,"), "\"types=,\" has an empty event type");
}

TEST(TypeScope, RefusesATypeListedTwice)
{
    EXPECT_EQ(parse_error("types=voicemail,queue_call,voicemail"),
              "\"types=voicemail,queue_call,voicemail\" lists \"voicemail\" twice");
}

TEST(TypeScope, RefusesAnotherParameter)
{
    EXPECT_EQ(parse_error("type=voicemail"),
              "unknown parameter \"type=voicemail\", expected \"types=type,...\"");
    EXPECT_EQ(parse_error("Types=voicemail"),
              "unknown parameter \"Types=voicemail\", expected \"types=type,...\"");
    EXPECT_EQ(parse_error(""), "unknown parameter \"\", expected \"types=type,...\"");
}

TEST(TypeScope, AFailedParseLeavesTheScopeAsItWas)
{
    TypeScope scope = scope_of("types=voicemail");
    EXPECT_NE(TypeScope::parse("types=a,a", scope), "");
    EXPECT_EQ(scope.types(), std::vector<std::string>{"voicemail"});
}

TEST(TypeScope, NamesTheFirstTypeTheSchemaDoesNotAccept)
{
    TypeScope scope = scope_of("types=voicemail,fax_received,pager");
    EXPECT_EQ(scope.unaccepted(pbxtest::built_in_catalog()), "fax_received");
    EXPECT_EQ(scope_of("types=voicemail,queue_call").unaccepted(pbxtest::built_in_catalog()), "");
    EXPECT_EQ(TypeScope().unaccepted(pbxtest::built_in_catalog()), "");

    Schema own = schema_of({"voicemail", "fax_received"});
    EXPECT_EQ(scope.unaccepted(own), "pager");
    EXPECT_EQ(scope_of("types=queue_call").unaccepted(own), "queue_call");
}

TEST(TokenSet, KeepsEachSecretsScope)
{
    TokenSet set;
    set.add("global-secret-0000000001");
    set.add("component-secret-000002", scope_of("types=webhook_component_event"));
    set.add("component-secret-000003", scope_of("types=voicemail,queue_call"));

    EXPECT_EQ(set.match("component-secret-000002"), 2u);
    EXPECT_TRUE(set.scope(1).unscoped());
    EXPECT_EQ(set.scope(2).types(), std::vector<std::string>{"webhook_component_event"});
    EXPECT_EQ(set.scope(3).types(), (std::vector<std::string>{"voicemail", "queue_call"}));
    EXPECT_TRUE(set.scope(0).unscoped()) << "no secret matched";
    EXPECT_TRUE(set.scope(4).unscoped()) << "past the last secret";
}

// Validates body whole, then finishes with the scope of secret number id.
struct Scoped {
    Reason reason;
    std::string detail;
};

Scoped validate_scoped(std::string_view body, const TypeScope &scope, std::size_t id,
                       const Schema &schema = pbxtest::built_in_catalog())
{
    CountingArena arena;
    Validator validator(schema, {}, arena.allocator());
    validator.feed(body.data(), body.size());
    const Verdict &verdict = validator.finish(scope, id);
    Scoped scoped{verdict.reason(), std::string(verdict.detail())};

    const Verdict &again = validator.finish(scope, id);
    EXPECT_EQ(again.reason(), scoped.reason) << "finish is not idempotent";
    return scoped;
}

const std::string component_event =
    R"({"type":"webhook_component_event","unique_call_id":"1","user_name":"Jane",)"
    R"("user_number":"201","dest_number":"+61412345678",)"
    R"("call_start_at":"2026-11-27T09:26:40+13:00","component_name":"After hours"})";
const std::string inbound_event =
    R"({"type":"user_inbound","unique_call_id":"1","caller_id":"+61412345678",)"
    R"("user_number":"201","dest_number":"0299999999"})";

TEST(ValidatorScope, ScopedSecretSendsItsOwnTypes)
{
    TypeScope scope = scope_of("types=webhook_component_event");
    Scoped got = validate_scoped(component_event, scope, 2);
    EXPECT_EQ(got.reason, Reason::ok) << got.detail;
}

TEST(ValidatorScope, ScopedSecretIsForbiddenAnotherAcceptedType)
{
    TypeScope scope = scope_of("types=webhook_component_event");
    Scoped got = validate_scoped(inbound_event, scope, 2);
    EXPECT_EQ(got.reason, Reason::type_forbidden);
    EXPECT_EQ(got.detail, "type \"user_inbound\" not allowed for secret 2");
    EXPECT_EQ(pbxwebhook::reason_status(got.reason), 403);
}

TEST(ValidatorScope, UnscopedSecretSendsEveryAcceptedType)
{
    EXPECT_EQ(validate_scoped(inbound_event, TypeScope(), 1).reason, Reason::ok);
    EXPECT_EQ(validate_scoped(component_event, TypeScope(), 1).reason, Reason::ok);
}

TEST(ValidatorScope, FinishWithoutAScopeIsUnscoped)
{
    CountingArena arena;
    Validator validator(pbxtest::built_in_catalog(), {}, arena.allocator());
    validator.feed(inbound_event.data(), inbound_event.size());
    EXPECT_EQ(validator.finish().reason(), Reason::ok);
}

TEST(ValidatorScope, UnknownTypeIsCheckedFirst)
{
    TypeScope scope = scope_of("types=webhook_component_event");
    Scoped got = validate_scoped(R"({"type":"fax_received","unique_call_id":"1"})", scope, 3);
    EXPECT_EQ(got.reason, Reason::type_unknown);
    EXPECT_EQ(got.detail, "type \"fax_received\" not accepted");
}

TEST(ValidatorScope, ForbiddenBeforeFieldChecks)
{
    TypeScope scope = scope_of("types=voicemail");
    Scoped got = validate_scoped(R"({"type":"user_inbound"})", scope, 1);
    EXPECT_EQ(got.reason, Reason::type_forbidden);
    EXPECT_EQ(got.detail, "type \"user_inbound\" not allowed for secret 1");
}

TEST(ValidatorScope, EarlierChecksStillWin)
{
    TypeScope scope = scope_of("types=voicemail");
    EXPECT_EQ(validate_scoped(R"({"unique_call_id":"1"})", scope, 1).reason, Reason::type_missing);
    EXPECT_EQ(validate_scoped(R"([])", scope, 1).reason, Reason::not_object);
    EXPECT_EQ(validate_scoped(R"({"type":"user_inbound",)", scope, 1).reason, Reason::json_syntax);
    EXPECT_EQ(validate_scoped("", scope, 1).reason, Reason::body_empty);
}

TEST(ValidatorScope, ScopeAppliesToTheLocationsOwnTypes)
{
    Schema schema = schema_of({"fax_received pages:number", "voicemail"});
    TypeScope scope = scope_of("types=fax_received");
    EXPECT_EQ(validate_scoped(R"({"type":"fax_received","unique_call_id":"1","pages":2})", scope,
                              1, schema)
                  .reason,
              Reason::ok);
    EXPECT_EQ(validate_scoped(R"({"type":"voicemail","unique_call_id":"1"})", scope, 1, schema)
                  .reason,
              Reason::type_forbidden);
}

TEST(ValidatorScope, EscapedTypeIsComparedUnescaped)
{
    TypeScope scope = scope_of("types=user_inbound");
    std::string escaped = inbound_event;
    escaped.replace(escaped.find("user_inbound"), 12, "user_\\u0069nbound");
    EXPECT_EQ(validate_scoped(escaped, scope, 1).reason, Reason::ok);
}

}  // namespace
