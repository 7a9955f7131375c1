// Input: two header bytes that choose where the body is split, then the body.
// Every body is validated whole, split where the header says and, up to
// 4 KiB, byte by byte, under several schemas and limits; the three verdicts
// and field lists must be identical and obey the README's invariants.

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <yajl/yajl_tree.h>

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

constexpr std::size_t byte_by_byte_limit = 4096;
constexpr std::size_t arena_budget = 32 * 1024 * 1024;

struct FieldCopy {
    std::string name;
    std::string value;
    ValueShape shape;
};

struct Outcome {
    Reason reason;
    int status;
    std::string detail;
    std::vector<FieldCopy> fields;
    std::size_t bytes;
    bool refused;  // the arena said no at least once
};

struct Setup {
    const char *name;
    const Schema *schema;
    Limits limits;
};

std::vector<std::string_view> words_of(std::string_view line)
{
    std::vector<std::string_view> words;
    std::size_t i = 0;
    while (i < line.size()) {
        std::size_t end = std::min(line.find(' ', i), line.size());
        if (end > i) {
            words.push_back(line.substr(i, end - i));
        }
        i = end + 1;
    }
    return words;
}

Schema build_custom_schema()
{
    static const std::string long_type(1023, 'x');
    const std::string lines[] = {
        "user_inbound",
        "ping",
        "call_note unique_call_id:numeric note:nonempty duration:number at:datetime"
        " tags:array meta:object extra:any",
        "appel_entr\xc3\xa9" "e caller_id numero:numeric",
        long_type + " n:numeric",
    };

    Schema schema;
    for (const std::string &line : lines) {
        std::string error = schema.add_event(words_of(line));
        if (!error.empty()) {
            fail("custom schema line refused: %s", error.c_str());
        }
    }
    return schema;
}

const std::vector<Setup> &setups()
{
    static const Schema custom = build_custom_schema();
    static const std::vector<Setup> all = {
        {"catalog 64k/16", &built_in_catalog(), {64 * 1024, 16}},
        {"custom 64k/16", &custom, {64 * 1024, 16}},
        {"catalog 64k/3", &built_in_catalog(), {64 * 1024, 3}},
        // Small enough that the size limit meets every other check.
        {"custom 512/16", &custom, {512, 16}},
    };
    return all;
}

// Header bit 7 set: pieces of a fixed stride; clear: 1 to 8 random cuts.
std::vector<std::size_t> header_cuts(std::uint8_t h0, std::uint8_t h1, std::size_t n)
{
    std::vector<std::size_t> cuts;

    if (h0 & 0x80) {
        std::size_t stride = 2 + (static_cast<std::size_t>(h0 & 0x7f) << 8 | h1) % 1024;
        for (std::size_t at = stride; at < n; at += stride) {
            cuts.push_back(at);
        }
        return cuts;
    }

    std::uint32_t state = ((static_cast<std::uint32_t>(h0) << 8 | h1) * 2654435761u) | 1;
    for (unsigned i = 0; i <= (h0 & 7u); i++) {
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        cuts.push_back(state % (n + 1));
    }
    std::sort(cuts.begin(), cuts.end());
    return cuts;
}

bool same_shape(const ValueShape &a, const ValueShape &b)
{
    return a.kind == b.kind && a.empty_string == b.empty_string && a.digits == b.digits
           && a.datetime == b.datetime;
}

Outcome run(const Setup &setup, const std::uint8_t *body, std::size_t n,
            const std::vector<std::size_t> &cuts, const char *mode,
            std::size_t budget = arena_budget)
{
    fuzz::Arena arena(budget);
    Validator validator(*setup.schema, setup.limits, arena.allocator());
    std::size_t at = 0;
    bool stopped = false;

    // Pieces after the verdict still go in: the adapter may have them
    // buffered already, and they must change nothing.
    auto feed_to = [&](std::size_t end) {
        bool more = validator.feed(body + at, end - at);
        if (stopped && more) {
            fail("%s, %s: feed took bytes after it had stopped", setup.name, mode);
        }
        if (!more) {
            stopped = true;
            if (validator.verdict().accepted()) {
                fail("%s, %s: feed stopped without a verdict", setup.name, mode);
            }
        }
        at = end;
    };
    for (std::size_t cut : cuts) {
        feed_to(cut);
    }
    feed_to(n);

    Verdict verdict = validator.finish();
    const Verdict &again = validator.finish();
    if (again.reason() != verdict.reason() || again.detail() != verdict.detail()) {
        fail("%s, %s: finish() is not idempotent", setup.name, mode);
    }
    if (arena.refused() && budget == arena_budget) {
        fail("%s, %s: a %zu-byte body needed over %zu bytes of memory", setup.name, mode, n,
             arena_budget);
    }

    Outcome outcome{verdict.reason(), verdict.status(), std::string(verdict.detail()), {},
                    validator.bytes(), arena.refused()};
    const EventFields &fields = validator.fields();
    for (std::size_t i = 0; i < fields.size(); i++) {
        ValueShape shape = fields[i].shape();
        // The schema check works out only what a kind needs; it must agree
        // with the whole shape.
        for (int k = 0; k <= static_cast<int>(FieldKind::any); k++) {
            FieldKind kind = static_cast<FieldKind>(k);
            if (satisfies(fields[i], kind) != satisfies(shape, kind)) {
                fail("%s, %s: field %s as %s: satisfies() disagrees with its shape", setup.name,
                     mode, fuzz::escaped(fields[i].name()).c_str(), field_kind_name(kind).data());
            }
        }
        outcome.fields.push_back({std::string(fields[i].name()), std::string(fields[i].value()), shape});
    }
    return outcome;
}

void compare(const Setup &setup, const Outcome &whole, const Outcome &other, const char *mode)
{
    if (whole.reason != other.reason || whole.detail != other.detail) {
        fail("%s: whole body gives %s %s, %s gives %s %s", setup.name,
             reason_name(whole.reason).data(), fuzz::escaped(whole.detail).c_str(), mode,
             reason_name(other.reason).data(), fuzz::escaped(other.detail).c_str());
    }
    if (whole.fields.size() != other.fields.size()) {
        fail("%s: whole body gives %zu fields, %s gives %zu (%s)", setup.name,
             whole.fields.size(), mode, other.fields.size(), reason_name(whole.reason).data());
    }
    for (std::size_t i = 0; i < whole.fields.size(); i++) {
        const FieldCopy &a = whole.fields[i];
        const FieldCopy &b = other.fields[i];
        if (a.name != b.name || a.value != b.value || !same_shape(a.shape, b.shape)) {
            fail("%s: field %zu differs between whole body and %s: %s=%s vs %s=%s", setup.name,
                 i, mode, fuzz::escaped(a.name).c_str(), fuzz::escaped(a.value).c_str(),
                 fuzz::escaped(b.name).c_str(), fuzz::escaped(b.value).c_str());
        }
    }
}

std::string_view before_nul(std::string_view text)
{
    return text.substr(0, text.find('\0'));
}

std::string_view cut_value(std::string_view text)
{
    if (text.size() <= EventFields::value_limit) {
        return text;
    }
    std::size_t n = EventFields::value_limit;
    while (n > 0 && (static_cast<unsigned char>(text[n]) & 0xc0) == 0x80) {
        n--;
    }
    return text.substr(0, n);
}

unsigned tree_depth(yajl_val v)
{
    unsigned deepest = 0;
    if (YAJL_IS_OBJECT(v)) {
        for (std::size_t i = 0; i < v->u.object.len; i++) {
            deepest = std::max(deepest, tree_depth(v->u.object.values[i]));
        }
        return deepest + 1;
    }
    if (YAJL_IS_ARRAY(v)) {
        for (std::size_t i = 0; i < v->u.array.len; i++) {
            deepest = std::max(deepest, tree_depth(v->u.array.values[i]));
        }
        return deepest + 1;
    }
    return 0;
}

JsonKind tree_kind(yajl_val v)
{
    if (YAJL_IS_STRING(v)) {
        return JsonKind::string;
    }
    if (YAJL_IS_NUMBER(v)) {
        return JsonKind::number;
    }
    if (YAJL_IS_TRUE(v) || YAJL_IS_FALSE(v)) {
        return JsonKind::boolean;
    }
    if (YAJL_IS_OBJECT(v)) {
        return JsonKind::object;
    }
    if (YAJL_IS_ARRAY(v)) {
        return JsonKind::array;
    }
    return JsonKind::null;
}

bool ascii_digit(char c)
{
    return c >= '0' && c <= '9';
}

int number_in(const char *s, std::size_t n)
{
    return std::atoi(std::string(s, n).c_str());
}

// The datetime kind read another way: the characters against a pattern,
// the day through the C library's calendar, which moves 2026-02-30 to
// March 2 and so gives back another day for any day the month has not.
bool tree_datetime(const char *s)
{
    static const char pattern[] = "dddd-dd-ddTdd:dd:dd";
    std::size_t n = std::strlen(s);
    if (n < 19) {
        return false;
    }
    for (std::size_t i = 0; i < 19; i++) {
        char p = pattern[i];
        bool ok = p == 'd' ? ascii_digit(s[i]) : p == 'T' ? s[i] == 'T' || s[i] == ' ' : s[i] == p;
        if (!ok) {
            return false;
        }
    }
    int year = number_in(s, 4), month = number_in(s + 5, 2), day = number_in(s + 8, 2);
    if (month < 1 || month > 12 || day < 1 || number_in(s + 11, 2) > 23
        || number_in(s + 14, 2) > 59 || number_in(s + 17, 2) > 60)
    {
        return false;
    }
    std::tm date{};
    date.tm_year = year - 1900;
    date.tm_mon = month - 1;
    date.tm_mday = day;
    date.tm_hour = 12;
    std::time_t t = timegm(&date);
    std::tm back{};
    if (gmtime_r(&t, &back) == nullptr || back.tm_mday != day || back.tm_mon != month - 1) {
        return false;
    }

    const char *rest = s + 19;
    if (*rest == '.') {
        const char *start = ++rest;
        while (ascii_digit(*rest)) {
            rest++;
        }
        if (rest == start) {
            return false;
        }
    }
    if (*rest == '\0' || std::strcmp(rest, "Z") == 0) {
        return true;
    }
    return (rest[0] == '+' || rest[0] == '-') && std::strlen(rest) == 6 && ascii_digit(rest[1])
           && ascii_digit(rest[2]) && rest[3] == ':' && ascii_digit(rest[4]) && ascii_digit(rest[5])
           && number_in(rest + 1, 2) <= 23 && number_in(rest + 4, 2) <= 59;
}

// What the value should read as, from an independent parse; strings with
// an unescaped NUL are compared up to it, as yajl_tree keeps C strings.
void check_tree_field(const Setup &setup, const FieldCopy &field, yajl_val v)
{
    std::string_view expected;
    switch (tree_kind(v)) {
    case JsonKind::string:
        expected = v->u.string;
        break;
    case JsonKind::number:
        expected = v->u.number.r;
        break;
    case JsonKind::boolean:
        expected = YAJL_IS_TRUE(v) ? "true" : "false";
        break;
    case JsonKind::null:
        expected = "null";
        break;
    case JsonKind::array:
    case JsonKind::object:
        break;
    }

    bool ok = field.value.find('\0') == std::string::npos ? field.value == cut_value(expected)
                                                          : before_nul(field.value) == expected;
    if (!ok || field.shape.kind != tree_kind(v)
        || field.shape.empty_string != (field.shape.kind == JsonKind::string && field.value.empty()))
    {
        fail("%s: field %s reads %s, an independent parse gives %s", setup.name,
             fuzz::escaped(field.name).c_str(), fuzz::escaped(field.value).c_str(),
             fuzz::escaped(expected).c_str());
    }
    // A whole string without NUL is what yajl_tree holds: its date-time
    // shape is known two ways.
    if (tree_kind(v) == JsonKind::string && field.value.size() < EventFields::value_limit
        && field.value.find('\0') == std::string::npos
        && field.shape.datetime != tree_datetime(v->u.string))
    {
        fail("%s: field %s: %s is%s a datetime, an independent reading says otherwise",
             setup.name, fuzz::escaped(field.name).c_str(), fuzz::escaped(field.value).c_str(),
             field.shape.datetime ? "" : " not");
    }
}

bool tree_satisfies(yajl_val v, const FieldCopy &field, FieldKind kind)
{
    bool plain_string = YAJL_IS_STRING(v) && field.value.find('\0') == std::string::npos;

    switch (kind) {
    case FieldKind::string:
        return YAJL_IS_STRING(v);
    case FieldKind::nonempty:
        return YAJL_IS_STRING(v) && !field.value.empty();
    case FieldKind::number:
        return YAJL_IS_NUMBER(v);
    case FieldKind::numeric:
        if (YAJL_IS_NUMBER(v)) {
            return true;
        }
        if (!plain_string || v->u.string[0] == '\0') {
            return false;
        }
        for (const char *p = v->u.string; *p; p++) {
            if (*p < '0' || *p > '9') {
                return false;
            }
        }
        return true;
    case FieldKind::datetime:
        return plain_string && tree_datetime(v->u.string);
    case FieldKind::array:
        return YAJL_IS_ARRAY(v);
    case FieldKind::object:
        return YAJL_IS_OBJECT(v);
    case FieldKind::any:
        return true;
    }
    return false;
}

// An accepted body, parsed again by yajl_tree: the event the gate let through
// must be the one the schema describes.
void check_accepted(const Setup &setup, const std::uint8_t *body, std::size_t n,
                    const Outcome &outcome)
{
    if (outcome.bytes != n) {
        fail("%s: accepted after %zu of %zu bytes", setup.name, outcome.bytes, n);
    }
    std::size_t first = 0;
    while (first < n
           && (body[first] == ' ' || body[first] == '\t' || body[first] == '\r'
               || body[first] == '\n'))
    {
        first++;
    }
    if (first == n || body[first] != '{') {
        fail("%s: accepted a body whose top level is not an object", setup.name);
    }

    std::string text(reinterpret_cast<const char *>(body), n);
    char error[256];
    yajl_val tree = yajl_tree_parse(text.c_str(), error, sizeof(error));
    if (tree == nullptr) {
        fail("%s: accepted a body yajl_tree rejects: %s", setup.name, error);
    }
    struct Free {
        yajl_val v;
        ~Free() { yajl_tree_free(v); }
    } free_tree{tree};

    if (!YAJL_IS_OBJECT(tree) || tree->u.object.len != outcome.fields.size()) {
        fail("%s: accepted body has %zu top-level fields, the validator saw %zu", setup.name,
             YAJL_IS_OBJECT(tree) ? tree->u.object.len : 0, outcome.fields.size());
    }
    if (tree_depth(tree) > setup.limits.max_depth) {
        fail("%s: accepted a body %u deep", setup.name, tree_depth(tree));
    }

    std::unordered_map<std::string_view, std::size_t> by_name;
    for (std::size_t i = 0; i < outcome.fields.size(); i++) {
        const FieldCopy &field = outcome.fields[i];
        if (!by_name.emplace(field.name, i).second) {
            fail("%s: accepted a duplicate key \"%s\"", setup.name, field.name.c_str());
        }
        if (before_nul(field.name) != tree->u.object.keys[i]) {
            fail("%s: field %zu is \"%s\", an independent parse gives \"%s\"", setup.name, i,
                 field.name.c_str(), tree->u.object.keys[i]);
        }
        check_tree_field(setup, field, tree->u.object.values[i]);
    }

    auto type = by_name.find("type");
    if (type == by_name.end()) {
        fail("%s: accepted without \"type\"", setup.name);
    }
    const FieldCopy &type_field = outcome.fields[type->second];
    yajl_val type_value = tree->u.object.values[type->second];
    if (!YAJL_IS_STRING(type_value) || type_field.value.empty()) {
        fail("%s: accepted with a \"type\" that is not a non-empty string", setup.name);
    }
    // Configured types hold no NUL, so the C string is the whole type.
    const EventRule *rule = setup.schema->find(type_value->u.string);
    if (rule == nullptr || type_field.value.find('\0') != std::string::npos) {
        fail("%s: accepted type %s is not in the schema; the validator read it as %s",
             setup.name, fuzz::escaped(type_value->u.string).c_str(),
             fuzz::escaped(type_field.value).c_str());
    }
    for (const FieldRule &required : rule->fields) {
        auto found = by_name.find(required.name);
        if (found == by_name.end()) {
            fail("%s: accepted without required field \"%s\"", setup.name, required.name.c_str());
        }
        if (!tree_satisfies(tree->u.object.values[found->second], outcome.fields[found->second],
                            required.kind))
        {
            fail("%s: accepted field \"%s\" that is not %s", setup.name, required.name.c_str(),
                 field_kind_name(required.kind).data());
        }
    }
}

void check_outcome(const Setup &setup, const std::uint8_t *body, std::size_t n,
                   const Outcome &outcome)
{
    if (outcome.status != reason_status(outcome.reason)) {
        fail("%s: status %d for %s", setup.name, outcome.status,
             reason_name(outcome.reason).data());
    }
    if (outcome.reason == Reason::internal) {
        fail("%s: internal error with memory to spare: %s", setup.name, outcome.detail.c_str());
    }
    if ((outcome.reason == Reason::ok) != outcome.detail.empty()) {
        fail("%s: %s with detail \"%s\"", setup.name, reason_name(outcome.reason).data(),
             outcome.detail.c_str());
    }
    if (outcome.detail.size() >= Verdict::detail_capacity) {
        fail("%s: detail has %zu bytes", setup.name, outcome.detail.size());
    }
    if (!fuzz::valid_utf8(outcome.detail)) {
        fail("%s: detail is not UTF-8: %s", setup.name, fuzz::escaped(outcome.detail).c_str());
    }
    for (unsigned char c : outcome.detail) {
        if (c < 0x20 || c == 0x7f) {
            fail("%s: detail has control byte 0x%02x", setup.name, c);
        }
    }

    if (n == 0 && outcome.reason != Reason::body_empty) {
        fail("%s: empty body gives %s", setup.name, reason_name(outcome.reason).data());
    }
    if (n > setup.limits.max_body_size
        && outcome.reason != Reason::body_too_large && outcome.reason != Reason::json_syntax
        && outcome.reason != Reason::json_too_deep && outcome.reason != Reason::duplicate_key)
    {
        fail("%s: %zu-byte body gives %s", setup.name, n, reason_name(outcome.reason).data());
    }
    if (n <= setup.limits.max_body_size && outcome.reason == Reason::body_too_large) {
        fail("%s: %zu-byte body is too large", setup.name, n);
    }

    for (const FieldCopy &field : outcome.fields) {
        // Variables hold strings unescaped, as UTF-8.
        if (!fuzz::valid_utf8(field.name) || !fuzz::valid_utf8(field.value)) {
            fail("%s: field %s=%s is not UTF-8", setup.name, fuzz::escaped(field.name).c_str(),
                 fuzz::escaped(field.value).c_str());
        }
        if (field.value.size() > EventFields::value_limit) {
            fail("%s: field \"%s\" value has %zu bytes", setup.name, field.name.c_str(),
                 field.value.size());
        }
        if ((field.shape.kind == JsonKind::array || field.shape.kind == JsonKind::object)
            && !field.value.empty())
        {
            fail("%s: field \"%s\" is a container with a value", setup.name, field.name.c_str());
        }
    }

    if (outcome.reason == Reason::ok) {
        check_accepted(setup, body, n, outcome);
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size)
{
    std::uint8_t h0 = size > 0 ? data[0] : 0;
    std::uint8_t h1 = size > 1 ? data[1] : 0;
    const std::uint8_t *body = data + std::min<std::size_t>(size, 2);
    std::size_t n = size - std::min<std::size_t>(size, 2);

    std::vector<std::size_t> cuts = header_cuts(h0, h1, n);
    std::vector<std::size_t> bytewise;
    if (n <= byte_by_byte_limit) {
        for (std::size_t i = 1; i < n; i++) {
            bytewise.push_back(i);
        }
    }

    const Setup &starved_setup = setups()[1];
    Outcome reference{};
    for (const Setup &setup : setups()) {
        Outcome whole = run(setup, body, n, {}, "whole");
        check_outcome(setup, body, n, whole);
        compare(setup, whole, run(setup, body, n, cuts, "split"), "split at header points");
        if (n <= byte_by_byte_limit) {
            compare(setup, whole, run(setup, body, n, bytewise, "bytewise"), "byte by byte");
        }
        if (&setup == &starved_setup) {
            reference = std::move(whole);
        }
    }

    // Again with too little memory, as a nginx pool can give: yajl or the
    // field index fails somewhere along the way, and the verdict must then
    // be a clean 500, never a crash or another answer.
    std::size_t budget = ((static_cast<std::size_t>(h0) << 8 | h1) * 131 + n) % 24576;
    Outcome starved = run(starved_setup, body, n, cuts, "starved", budget);
    if (starved.refused) {
        if (starved.reason != Reason::internal || starved.status != 500) {
            fail("%s with %zu bytes of memory: running out gives %s", starved_setup.name, budget,
                 reason_name(starved.reason).data());
        }
    } else {
        compare(starved_setup, reference, starved, "with little memory");
    }
    return 0;
}
