// Input: `pbx_webhook_event` lines, one per line, words separated by spaces
// or tabs; `""` stands for an empty word as nginx would pass it. Each line
// goes to one Schema, whose answers are checked against the README: what it
// accepts is findable and complete, what it refuses is explained, and an
// event built to match an accepted line passes the validator.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_support.hpp"
#include "validator.hpp"

namespace {

using namespace pbxwebhook;
using fuzz::fail;

const Schema &built_in_catalog()
{
    static const Schema schema = Schema::built_in();
    return schema;
}

constexpr std::string_view id_field = "unique_call_id";

std::vector<std::string_view> words_of(std::string_view line)
{
    std::vector<std::string_view> words;
    std::size_t i = 0;

    while (i < line.size()) {
        std::size_t end = line.find_first_of(" \t", i);
        if (end == std::string_view::npos) {
            end = line.size();
        }
        std::string_view word = line.substr(i, end - i);
        if (word == "\"\"") {
            words.push_back({});
        } else if (!word.empty()) {
            words.push_back(word);
        }
        i = end + 1;
    }
    return words;
}

// The fields a line should give, read from the README's FIELD[:KIND] form; none
// when the line is wrong.
std::optional<std::vector<FieldRule>> expected_fields(const Schema &schema,
                                                      const std::vector<std::string_view> &words)
{
    if (words.empty() || words[0].empty() || words[0].size() > Schema::max_type_length
        || schema.find(words[0]) != nullptr)
    {
        return std::nullopt;
    }
    if (words.size() == 1) {
        if (const EventRule *known = built_in_catalog().find(words[0])) {
            return known->fields;
        }
    }

    std::vector<FieldRule> fields{{std::string(id_field), FieldKind::nonempty}};
    bool id_listed = false;

    for (std::size_t i = 1; i < words.size(); i++) {
        std::string_view name = words[i];
        FieldKind kind = FieldKind::string;
        std::size_t colon = name.rfind(':');
        if (colon != std::string_view::npos) {
            std::optional<FieldKind> parsed = parse_field_kind(name.substr(colon + 1));
            if (!parsed) {
                return std::nullopt;
            }
            kind = *parsed;
            name = name.substr(0, colon);
        }
        if (name.empty() || name == "type") {
            return std::nullopt;
        }
        if (name == id_field) {
            if (id_listed) {
                return std::nullopt;
            }
            id_listed = true;
            fields.front().kind = kind;
            continue;
        }
        for (const FieldRule &field : fields) {
            if (field.name == name) {
                return std::nullopt;
            }
        }
        fields.push_back({std::string(name), kind});
    }
    return fields;
}

std::string_view good_value(FieldKind kind)
{
    switch (kind) {
    case FieldKind::string:
        return "\"\"";
    case FieldKind::nonempty:
        return "\"x\"";
    case FieldKind::number:
        return "-1.5e3";
    case FieldKind::numeric:
        return "\"0042\"";
    case FieldKind::datetime:
        return "\"2026-11-27 09:15:02.5+13:00\"";
    case FieldKind::array:
        return "[1]";
    case FieldKind::object:
        return "{}";
    case FieldKind::any:
        return "null";
    }
    return "null";
}

std::string_view bad_value(FieldKind kind)
{
    switch (kind) {
    case FieldKind::string:
        return "1";
    case FieldKind::nonempty:
        return "\"\"";
    case FieldKind::number:
        return "\"1\"";
    case FieldKind::numeric:
        return "\"1a\"";
    case FieldKind::datetime:
        return "\"2026-13-27T09:15:02Z\"";
    case FieldKind::array:
        return "{}";
    case FieldKind::object:
        return "[]";
    case FieldKind::any:
        break;
    }
    return {};
}

// An event for rule: skip leaves a field out, wrong gives one a value of
// another kind.
std::string event_for(const EventRule &rule, const FieldRule *skip, const FieldRule *wrong)
{
    std::string body = "{\"type\":" + fuzz::json_string(rule.type);
    for (const FieldRule &field : rule.fields) {
        if (&field == skip) {
            continue;
        }
        body += ',';
        body += fuzz::json_string(field.name);
        body += ':';
        body += &field == wrong ? bad_value(field.kind) : good_value(field.kind);
    }
    body += '}';
    return body;
}

Reason validate(const Schema &schema, const std::string &body)
{
    fuzz::Arena arena(16 * 1024 * 1024);
    Validator validator(schema, Limits{}, arena.allocator());
    validator.feed(body.data(), body.size());
    return validator.finish().reason();
}

void check_events(const Schema &schema, const EventRule &rule)
{
    // A type is compared as the variable holds it, cut at the value limit.
    if (!fuzz::valid_utf8(rule.type) || rule.type.size() >= EventFields::value_limit) {
        return;
    }
    for (const FieldRule &field : rule.fields) {
        if (!fuzz::valid_utf8(field.name)) {
            return;
        }
    }

    Reason reason = validate(schema, event_for(rule, nullptr, nullptr));
    if (reason != Reason::ok) {
        fail("an event made for type \"%s\" gives %s", rule.type.c_str(),
             reason_name(reason).data());
    }

    reason = validate(schema, event_for(rule, &rule.fields.back(), nullptr));
    if (reason != Reason::field_missing) {
        fail("an event of type \"%s\" without \"%s\" gives %s", rule.type.c_str(),
             rule.fields.back().name.c_str(), reason_name(reason).data());
    }

    for (const FieldRule &field : rule.fields) {
        if (field.kind != FieldKind::any) {
            reason = validate(schema, event_for(rule, nullptr, &field));
            if (reason != Reason::field_type) {
                fail("an event of type \"%s\" with \"%s\" not %s gives %s", rule.type.c_str(),
                     field.name.c_str(), field_kind_name(field.kind).data(),
                     reason_name(reason).data());
            }
            break;
        }
    }
}

void check_line(Schema &schema, const std::vector<std::string_view> &words)
{
    std::optional<std::vector<FieldRule>> expected = expected_fields(schema, words);
    std::size_t before = schema.rules().size();
    std::string error = schema.add_event(words);

    if (!error.empty()) {
        if (expected) {
            fail("a good line (type \"%.*s\") is refused: %s",
                 static_cast<int>(words[0].size()), words[0].data(), error.c_str());
        }
        if (schema.rules().size() != before) {
            fail("a refused line changed the schema: %s", error.c_str());
        }
        std::string again = schema.add_event(words);
        if (again != error) {
            fail("the same refused line gives \"%s\", then \"%s\"", error.c_str(), again.c_str());
        }
        return;
    }

    if (!expected) {
        fail("a wrong line (%zu words) is accepted", words.size());
    }
    if (schema.rules().size() != before + 1) {
        fail("an accepted line added %zu rules", schema.rules().size() - before);
    }
    const EventRule *rule = schema.find(words[0]);
    if (rule == nullptr || rule->type != words[0]) {
        fail("accepted type \"%.*s\" is not findable", static_cast<int>(words[0].size()),
             words[0].data());
    }
    if (rule->fields.size() != expected->size()) {
        fail("type \"%s\" has %zu fields, the line says %zu", rule->type.c_str(),
             rule->fields.size(), expected->size());
    }
    for (std::size_t i = 0; i < rule->fields.size(); i++) {
        const FieldRule &field = rule->fields[i];
        if (field.name.empty() || field.name != (*expected)[i].name
            || field.kind != (*expected)[i].kind)
        {
            fail("type \"%s\" field %zu is \"%s\":%s, the line says \"%s\":%s", rule->type.c_str(),
                 i, field.name.c_str(), field_kind_name(field.kind).data(),
                 (*expected)[i].name.c_str(), field_kind_name((*expected)[i].kind).data());
        }
    }

    check_events(schema, *rule);

    std::string again = schema.add_event(words);
    if (again.empty() || schema.rules().size() != before + 1) {
        fail("type \"%s\" was accepted twice", rule->type.c_str());
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size)
{
    std::string_view input(reinterpret_cast<const char *>(data), size);
    Schema schema;

    std::size_t i = 0;
    while (i <= input.size()) {
        std::size_t end = input.find('\n', i);
        if (end == std::string_view::npos) {
            end = input.size();
        }
        check_line(schema, words_of(input.substr(i, end - i)));
        i = end + 1;
    }
    return 0;
}
