#include "schema.hpp"

#include "catalog.hpp"
#include "quoted.hpp"

namespace pbxwebhook {

namespace {

constexpr std::string_view id_field = "unique_call_id";

std::vector<std::string_view> split_words(std::string_view text)
{
    std::vector<std::string_view> words;
    std::size_t i = 0;

    while (i < text.size()) {
        std::size_t end = text.find(' ', i);
        if (end == std::string_view::npos) {
            end = text.size();
        }
        if (end > i) {
            words.push_back(text.substr(i, end - i));
        }
        i = end + 1;
    }
    return words;
}


}  // namespace

EventRule Schema::catalog_rule(const CatalogEntry &entry)
{
    std::vector<std::string_view> words = split_words(entry.fields);
    words.insert(words.begin(), entry.type);
    EventRule rule;
    parse_rule(words, rule);
    return rule;
}

Schema Schema::built_in()
{
    Schema schema;

    for (std::size_t i = 0; i < catalog_size; i++) {
        schema.rules_.push_back(catalog_rule(catalog_entries[i]));
    }
    return schema;
}

const EventRule *Schema::find(std::string_view type) const noexcept
{
    for (const EventRule &rule : rules_) {
        if (rule.type == type) {
            return &rule;
        }
    }
    return nullptr;
}

std::string Schema::add_event(const std::vector<std::string_view> &words)
{
    if (words.empty() || words[0].empty()) {
        return "empty event type";
    }

    if (words[0].size() > max_type_length) {
        return "event type is longer than " + std::to_string(max_type_length) + " bytes";
    }

    if (find(words[0]) != nullptr) {
        return "event type " + quoted(words[0]) + " is listed twice";
    }

    if (words.size() == 1) {
        for (std::size_t i = 0; i < catalog_size; i++) {
            if (catalog_entries[i].type == words[0]) {
                rules_.push_back(catalog_rule(catalog_entries[i]));
                return {};
            }
        }
    }

    EventRule rule;
    std::string error = parse_rule(words, rule);
    if (error.empty()) {
        rules_.push_back(std::move(rule));
    }
    return error;
}

std::string Schema::parse_rule(const std::vector<std::string_view> &words, EventRule &rule)
{
    std::string_view type = words[0];
    bool id_listed = false;

    rule.type = type;
    rule.fields.emplace_back(id_field, FieldKind::nonempty);

    for (std::size_t i = 1; i < words.size(); i++) {
        std::string_view word = words[i];
        std::string_view name = word;
        FieldKind kind = FieldKind::string;

        std::size_t colon = word.rfind(':');
        if (colon != std::string_view::npos) {
            name = word.substr(0, colon);
            std::string_view kind_name = word.substr(colon + 1);
            std::optional<FieldKind> parsed = parse_field_kind(kind_name);
            if (!parsed) {
                return "unknown field kind " + quoted(kind_name) + " in " + quoted(word)
                       + " (string, nonempty, number, numeric, datetime, array, object, any)";
            }
            kind = *parsed;
        }

        if (name.empty()) {
            return "empty field name in " + quoted(word);
        }

        if (name == "type") {
            return "field \"type\" is always required as a non-empty string and cannot be listed";
        }

        bool listed = false;
        for (const FieldRule &field : rule.fields) {
            listed |= field.name == name;
        }

        if (name == id_field && !id_listed) {
            // Listing the call id changes its kind, not its place.
            rule.fields.front().kind = kind;
            id_listed = true;
            continue;
        }

        if (listed) {
            return "field " + quoted(name) + " is listed twice for type " + quoted(type);
        }

        rule.fields.emplace_back(name, kind);
    }

    return {};
}

}  // namespace pbxwebhook
