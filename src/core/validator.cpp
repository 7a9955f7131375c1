#include "validator.hpp"

#include <csetjmp>
#include <cstring>

#include <yajl/yajl_parse.h>

namespace pbxwebhook {

namespace {

// yajl frees and reallocates; the arena only hands out. A size header lets
// realloc copy the old block; freed blocks go back with the whole arena.
// It asks for no more alignment than nginx's pool gives (NGX_ALIGNMENT,
// sizeof(unsigned long)); nothing yajl allocates needs more.
struct BlockHeader {
    std::size_t size;
};

void arena_free(void *, void *) noexcept {}

std::string_view kind_words(JsonKind kind) noexcept
{
    switch (kind) {
    case JsonKind::string:
        return "a string";
    case JsonKind::number:
        return "a number";
    case JsonKind::boolean:
        return "a boolean";
    case JsonKind::null:
        return "null";
    case JsonKind::array:
        return "an array";
    case JsonKind::object:
        return "an object";
    }
    return "a value";
}

constexpr std::size_t quote_limit = 64;

}  // namespace

struct ValidatorCallbacks {
    static Validator *self(void *context) noexcept { return static_cast<Validator *>(context); }

    static int on_null(void *context) noexcept
    {
        return self(context)->on_value(JsonKind::null, "null");
    }

    static int on_boolean(void *context, int value) noexcept
    {
        return self(context)->on_value(JsonKind::boolean, value ? "true" : "false");
    }

    static int on_number(void *context, const char *text, std::size_t size) noexcept
    {
        return self(context)->on_value(JsonKind::number, {text, size});
    }

    static int on_string(void *context, const unsigned char *text, std::size_t size) noexcept
    {
        return self(context)->on_value(JsonKind::string,
                                       {reinterpret_cast<const char *>(text), size});
    }

    static int on_start_map(void *context) noexcept
    {
        return self(context)->on_open(JsonKind::object);
    }

    static int on_map_key(void *context, const unsigned char *text, std::size_t size) noexcept
    {
        return self(context)->on_key({reinterpret_cast<const char *>(text), size});
    }

    static int on_end(void *context) noexcept { return self(context)->on_close(); }

    static int on_start_array(void *context) noexcept
    {
        return self(context)->on_open(JsonKind::array);
    }

    // yajl 2.1 uses what its allocator returns without a check, so running
    // out of memory must not return to it: arena_malloc leaves by longjmp
    // for the guarded() call that entered yajl. Only yajl's C frames and
    // this function, none with a destructor, are skipped.
    static void *arena_malloc(void *context, std::size_t size) noexcept
    {
        Validator *validator = self(context);
        void *p = validator->allocator_.get(sizeof(BlockHeader) + size);
        if (p == nullptr) {
            std::longjmp(*validator->out_of_memory_, 1);
        }
        static_cast<BlockHeader *>(p)->size = size;
        return static_cast<BlockHeader *>(p) + 1;
    }

    static void *arena_realloc(void *context, void *old, std::size_t size) noexcept
    {
        void *p = arena_malloc(context, size);
        if (old != nullptr) {
            std::size_t old_size = (static_cast<BlockHeader *>(old) - 1)->size;
            std::memcpy(p, old, old_size < size ? old_size : size);
        }
        return p;
    }

    // Runs call, which enters yajl; false when yajl ran out of memory, and
    // then the yajl handle must not be used again.
    template <typename Call>
    static bool guarded(Validator &validator, Call call) noexcept
    {
        std::jmp_buf out_of_memory;
        if (setjmp(out_of_memory) != 0) {
            validator.out_of_memory_ = nullptr;
            return false;
        }
        validator.out_of_memory_ = &out_of_memory;
        call();
        validator.out_of_memory_ = nullptr;
        return true;
    }

    static constexpr yajl_callbacks table = {
        on_null,  on_boolean, nullptr, nullptr, on_number,      on_string,
        on_start_map, on_map_key, on_end, on_start_array, on_end,
    };
};

Validator::Validator(const Schema &schema, Limits limits, Allocator allocator) noexcept
    : schema_(schema), limits_(limits), allocator_(allocator), fields_(allocator)
{
}

bool Validator::start() noexcept
{
    static const yajl_callbacks callbacks = ValidatorCallbacks::table;

    void *p = allocator_.get(sizeof(yajl_alloc_funcs));
    if (p == nullptr) {
        return false;
    }
    yajl_alloc_funcs *funcs = static_cast<yajl_alloc_funcs *>(p);
    funcs->malloc = ValidatorCallbacks::arena_malloc;
    funcs->realloc = ValidatorCallbacks::arena_realloc;
    funcs->free = arena_free;
    funcs->ctx = this;

    yajl_handle parser = nullptr;
    if (!ValidatorCallbacks::guarded(*this, [&] { parser = yajl_alloc(&callbacks, funcs, this); })
        || parser == nullptr)
    {
        return false;
    }
    parser_ = parser;
    // Utf8Checker validates every byte more strictly than yajl does.
    yajl_config(parser_, yajl_dont_validate_strings, 1);
    return true;
}

void Validator::decide(const Verdict &verdict) noexcept
{
    verdict_ = verdict;
    decided_ = true;
}

bool Validator::feed(const void *data, std::size_t size) noexcept
{
    if (decided_ || finished_) {
        return false;
    }
    if (size == 0) {
        return true;
    }

    std::size_t room = limits_.max_body_size - bytes_;
    if (size > room) {
        // The bytes within the limit are judged first, as they would be had
        // they come alone: an error there is the verdict, however the body
        // was split.
        if (room > 0 && !feed(data, room)) {
            return false;
        }
        decide(Verdict::reject(Reason::body_too_large, "body over %zu bytes",
                               limits_.max_body_size));
        return false;
    }

    if (parser_ == nullptr && !start()) {
        decide(Verdict::reject(Reason::internal, "out of memory"));
        return false;
    }

    const unsigned char *bytes = static_cast<const unsigned char *>(data);
    std::size_t utf8_good = utf8_.scan(bytes, size);
    std::size_t good = escapes_.scan(bytes, utf8_good);

    // The bytes before a bad one still go to the parser: an earlier error
    // there must win, so the verdict does not depend on where splits fall.
    if (!parse(bytes, good)) {
        return false;
    }
    if (good < utf8_good) {
        decide(Verdict::reject(Reason::json_syntax, "unpaired surrogate escape at byte %zu",
                               bytes_));
        return false;
    }
    if (good < size) {
        decide(Verdict::reject(Reason::json_syntax, "%s at byte %zu",
                               bytes[good] < 0x80 && utf8_.complete() ? "control byte"
                                                                      : "invalid UTF-8",
                               bytes_));
        return false;
    }
    return true;
}

bool Validator::parse(const unsigned char *data, std::size_t size) noexcept
{
    if (size == 0) {
        return true;
    }

    yajl_status status = yajl_status_error;
    if (!ValidatorCallbacks::guarded(*this, [&] { status = yajl_parse(parser_, data, size); })) {
        decide(Verdict::reject(Reason::internal, "out of memory"));
        return false;
    }

    if (status == yajl_status_ok) {
        bytes_ += size;
        return true;
    }

    if (!decided_) {
        syntax_error();
    }
    return false;
}

// yajl's byte offsets move with the way a body was split (a token spanning
// two pieces is not counted back), so the detail names what was wrong, not
// where: the same text for the same bytes however they arrived.
void Validator::syntax_error() noexcept
{
    unsigned char *message = nullptr;
    auto get_error = [&] { message = yajl_get_error(parser_, 0, nullptr, 0); };
    if (!ValidatorCallbacks::guarded(*this, get_error)) {
        decide(Verdict::reject(Reason::internal, "out of memory"));
        return;
    }
    std::string_view text = message ? reinterpret_cast<const char *>(message) : "";

    std::size_t colon = text.find(": ");
    if (colon != std::string_view::npos) {
        text.remove_prefix(colon + 2);
    }
    while (!text.empty() && (text.back() == '\n' || text.back() == '.')) {
        text.remove_suffix(1);
    }

    char quoted[quote_limit + 1];
    quote_for_detail(text, quoted, quote_limit);
    decide(Verdict::reject(Reason::json_syntax, "syntax error: %s", quoted));
}

const Verdict &Validator::finish() noexcept
{
    static const TypeScope unscoped;
    return finish(unscoped, 0);
}

const Verdict &Validator::finish(const TypeScope &allowed, std::size_t secret) noexcept
{
    if (decided_ || finished_) {
        return verdict_;
    }
    finished_ = true;

    if (bytes_ == 0) {
        decide(Verdict::reject(Reason::body_empty, "empty body"));
        return verdict_;
    }

    if (!utf8_.complete()) {
        decide(Verdict::reject(Reason::json_syntax, "invalid UTF-8 at byte %zu", bytes_));
        return verdict_;
    }

    yajl_status status = yajl_status_error;
    if (!ValidatorCallbacks::guarded(*this, [&] { status = yajl_complete_parse(parser_); })) {
        decide(Verdict::reject(Reason::internal, "out of memory"));
        return verdict_;
    }
    if (status != yajl_status_ok) {
        if (!decided_) {
            syntax_error();
        }
        return verdict_;
    }

    check_schema(allowed, secret);
    decided_ = true;
    return verdict_;
}

void Validator::check_schema(const TypeScope &allowed, std::size_t secret) noexcept
{
    char quoted[quote_limit + 1];

    if (top_kind_ != JsonKind::object) {
        decide(Verdict::reject(Reason::not_object, "JSON text is %s, not an object",
                               kind_words(top_kind_).data()));
        return;
    }

    const EventField *type = fields_.find("type");
    if (type == nullptr) {
        decide(Verdict::reject(Reason::type_missing, "field \"type\" missing"));
        return;
    }
    if (type->kind() != JsonKind::string || type->value().empty()) {
        decide(Verdict::reject(Reason::type_missing, "field \"type\" is %s, not a non-empty string",
                               type->kind() == JsonKind::string ? "empty"
                                                              : kind_words(type->kind()).data()));
        return;
    }

    // A cut value is not the type that was sent; no schema type is that long.
    static_assert(Schema::max_type_length <= EventFields::value_limit);
    const EventRule *rule = type->cut() ? nullptr : schema_.find(type->value());
    if (rule == nullptr) {
        quote_for_detail(type->value(), quoted, quote_limit);
        decide(Verdict::reject(Reason::type_unknown, "type \"%s\" not accepted", quoted));
        return;
    }
    if (!allowed.allows(rule->type)) {
        quote_for_detail(rule->type, quoted, quote_limit);
        decide(Verdict::reject(Reason::type_forbidden, "type \"%s\" not allowed for secret %zu",
                               quoted, secret));
        return;
    }

    // Every missing field is reported before any of the wrong kind, with
    // one look-up per field.
    const FieldRule *wrong = nullptr;
    const EventField *wrong_value = nullptr;
    for (const FieldRule &field : rule->fields) {
        const EventField *value = fields_.find(field.name, field.hash);
        if (value == nullptr) {
            quote_for_detail(field.name, quoted, quote_limit);
            decide(Verdict::reject(Reason::field_missing, "field \"%s\" missing", quoted));
            return;
        }
        if (wrong == nullptr && !satisfies(*value, field.kind)) {
            wrong = &field;
            wrong_value = value;
        }
    }

    if (wrong != nullptr) {
        quote_for_detail(wrong->name, quoted, quote_limit);
        decide(Verdict::reject(Reason::field_type, "field \"%s\" is %s, not %s", quoted,
                               wrong_value->kind() == JsonKind::string
                                   ? (wrong_value->value().empty() ? "an empty string" : "a string")
                                   : kind_words(wrong_value->kind()).data(),
                               field_kind_name(wrong->kind).data()));
        return;
    }

    verdict_ = Verdict::accept();
}

bool Validator::on_value(JsonKind kind, std::string_view text) noexcept
{
    if (depth_ == 0) {
        top_kind_ = kind;
        return true;
    }
    if (depth_ != 1 || top_kind_ != JsonKind::object) {
        return true;
    }

    if (!fields_.set_value(kind, text)) {
        decide(Verdict::reject(Reason::internal, "out of memory"));
        return false;
    }
    return true;
}

bool Validator::on_open(JsonKind kind) noexcept
{
    if (depth_ == 0) {
        top_kind_ = kind;
    } else if (depth_ == 1 && top_kind_ == JsonKind::object) {
        fields_.set_value(kind, {});
    }

    if (++depth_ > limits_.max_depth) {
        decide(Verdict::reject(Reason::json_too_deep, "nesting deeper than %u", limits_.max_depth));
        return false;
    }
    return true;
}

bool Validator::on_close() noexcept
{
    depth_--;
    return true;
}

bool Validator::on_key(std::string_view key) noexcept
{
    if (depth_ != 1) {
        return true;
    }

    switch (fields_.add(key)) {
    case EventFields::Added::ok:
        return true;
    case EventFields::Added::duplicate: {
        char quoted[quote_limit + 1];
        quote_for_detail(key, quoted, quote_limit);
        decide(Verdict::reject(Reason::duplicate_key, "duplicate key \"%s\"", quoted));
        return false;
    }
    case EventFields::Added::no_memory:
        break;
    }
    decide(Verdict::reject(Reason::internal, "out of memory"));
    return false;
}

}  // namespace pbxwebhook
