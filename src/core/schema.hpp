#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "catalog.hpp"
#include "field_kind.hpp"
#include "name_hash.hpp"

namespace pbxwebhook {

struct FieldRule {
    FieldRule(std::string_view name, FieldKind kind) : name(name), kind(kind), hash(name_hash(name)) {}

    std::string name;
    FieldKind kind;
    std::uint64_t hash;  // name_hash(name)
};

// The fields one event type must carry, in the order they are checked.
struct EventRule {
    std::string type;
    std::vector<FieldRule> fields;
};

// The event types a location accepts. Built once at configuration time and
// read-only afterwards, so workers share it without locking.
class Schema {
public:
    // Longer types could not be told apart from a cut $pbx_event_type.
    static constexpr std::size_t max_type_length = 1024;

    // The built-in catalog (catalog.cpp), built anew: configuration builds
    // it once, so no request ever allocates for it.
    static Schema built_in();

    // Adds one `pbx_webhook_event TYPE [FIELD[:KIND] ...]` line (words after
    // the directive name). Returns an empty string, or why the line is
    // wrong in words fit for `nginx -t`.
    std::string add_event(const std::vector<std::string_view> &words);

    const EventRule *find(std::string_view type) const noexcept;

    const std::vector<EventRule> &rules() const noexcept { return rules_; }

private:
    static EventRule catalog_rule(const CatalogEntry &entry);
    static std::string parse_rule(const std::vector<std::string_view> &words, EventRule &rule);

    std::vector<EventRule> rules_;
};

}  // namespace pbxwebhook
