#include "field_kind.hpp"

namespace pbxwebhook {

namespace {

constexpr std::string_view kind_names[] = {
    "string", "nonempty", "number", "numeric", "datetime", "array", "object", "any",
};

bool digit(char c) noexcept
{
    return c >= '0' && c <= '9';
}

// Reads n digits at text[at] into value if they are digits and within [lo, hi].
bool number_at(std::string_view text, std::size_t at, std::size_t n, int lo, int hi) noexcept
{
    int value = 0;
    for (std::size_t i = at; i < at + n; i++) {
        if (!digit(text[i])) {
            return false;
        }
        value = value * 10 + (text[i] - '0');
    }
    return value >= lo && value <= hi;
}

bool leap_year(int year) noexcept
{
    return year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
}

// The proleptic Gregorian calendar, as RFC 3339 (appendix C) has it.
int days_in_month(int year, int month) noexcept
{
    static constexpr int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return month == 2 && leap_year(year) ? 29 : days[month - 1];
}

int value_at(std::string_view text, std::size_t at, std::size_t n) noexcept
{
    int value = 0;
    for (std::size_t i = at; i < at + n; i++) {
        value = value * 10 + (text[i] - '0');
    }
    return value;
}

}  // namespace

std::optional<FieldKind> parse_field_kind(std::string_view name) noexcept
{
    for (std::size_t i = 0; i < sizeof(kind_names) / sizeof(kind_names[0]); i++) {
        if (kind_names[i] == name) {
            return static_cast<FieldKind>(i);
        }
    }
    return std::nullopt;
}

std::string_view field_kind_name(FieldKind kind) noexcept
{
    return kind_names[static_cast<int>(kind)];
}

bool is_digits(std::string_view text) noexcept
{
    if (text.empty()) {
        return false;
    }
    for (char c : text) {
        if (!digit(c)) {
            return false;
        }
    }
    return true;
}

bool is_datetime(std::string_view t) noexcept
{
    // 0123456789012345678
    // YYYY-MM-DDTHH:MM:SS
    if (t.size() < 19) {
        return false;
    }
    if (!number_at(t, 0, 4, 0, 9999) || t[4] != '-' || !number_at(t, 5, 2, 1, 12)
        || t[7] != '-' || !number_at(t, 8, 2, 1, 31) || (t[10] != 'T' && t[10] != ' ')
        || !number_at(t, 11, 2, 0, 23) || t[13] != ':' || !number_at(t, 14, 2, 0, 59)
        || t[16] != ':' || !number_at(t, 17, 2, 0, 60)
        || value_at(t, 8, 2) > days_in_month(value_at(t, 0, 4), value_at(t, 5, 2)))
    {
        return false;
    }

    std::size_t i = 19;

    if (i < t.size() && t[i] == '.') {
        std::size_t start = ++i;
        while (i < t.size() && digit(t[i])) {
            i++;
        }
        if (i == start) {
            return false;
        }
    }

    if (i == t.size()) {
        return true;
    }
    if (t[i] == 'Z') {
        return i + 1 == t.size();
    }
    if (t[i] == '+' || t[i] == '-') {
        return t.size() - i == 6 && number_at(t, i + 1, 2, 0, 23) && t[i + 3] == ':'
               && number_at(t, i + 4, 2, 0, 59);
    }
    return false;
}

ValueShape shape_of_string(std::string_view text) noexcept
{
    return {JsonKind::string, text.empty(), is_digits(text), is_datetime(text)};
}

bool satisfies(const ValueShape &shape, FieldKind kind) noexcept
{
    switch (kind) {
    case FieldKind::string:
        return shape.kind == JsonKind::string;
    case FieldKind::nonempty:
        return shape.kind == JsonKind::string && !shape.empty_string;
    case FieldKind::number:
        return shape.kind == JsonKind::number;
    case FieldKind::numeric:
        return shape.kind == JsonKind::number || (shape.kind == JsonKind::string && shape.digits);
    case FieldKind::datetime:
        return shape.kind == JsonKind::string && shape.datetime;
    case FieldKind::array:
        return shape.kind == JsonKind::array;
    case FieldKind::object:
        return shape.kind == JsonKind::object;
    case FieldKind::any:
        return true;
    }
    return false;
}

}  // namespace pbxwebhook
