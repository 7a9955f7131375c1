#pragma once

#include <optional>
#include <string_view>

namespace pbxwebhook {

// What a JSON value is, as the parser saw it.
enum class JsonKind { string, number, boolean, null, array, object };

// What a schema requires of a field (the README's KINDs under `pbx_webhook_event`).
enum class FieldKind { string, nonempty, number, numeric, datetime, array, object, any };

std::optional<FieldKind> parse_field_kind(std::string_view name) noexcept;
std::string_view field_kind_name(FieldKind kind) noexcept;

// YYYY-MM-DD(T| )HH:MM:SS[.frac][Z|+HH:MM|-HH:MM], with field ranges checked:
// a day that its month has (February 29 in leap years only); second 60,
// RFC 3339's leap second, on any day.
bool is_datetime(std::string_view text) noexcept;

// One or more ASCII digits.
bool is_digits(std::string_view text) noexcept;

// What the parser learnt of a top-level value: enough to test every FieldKind.
struct ValueShape {
    JsonKind kind;
    bool empty_string;
    bool digits;
    bool datetime;
};

ValueShape shape_of_string(std::string_view text) noexcept;

bool satisfies(const ValueShape &shape, FieldKind kind) noexcept;

}  // namespace pbxwebhook
