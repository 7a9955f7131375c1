#pragma once

#include <csetjmp>
#include <cstddef>
#include <string_view>

#include "allocator.hpp"
#include "escape_checker.hpp"
#include "event_fields.hpp"
#include "schema.hpp"
#include "type_scope.hpp"
#include "utf8.hpp"
#include "verdict.hpp"

struct yajl_handle_t;

namespace pbxwebhook {

struct Limits {
    std::size_t max_body_size = 64 * 1024;
    unsigned max_depth = 16;
};

// Validates one event body, fed in pieces split anywhere. The verdict and
// fields depend only on the bytes, never on how they were split.
//
// Size, syntax, depth and duplicate-key failures stop the parse at the byte
// that shows them; the schema checks run in finish() on a complete body.
class Validator {
public:
    Validator(const Schema &schema, Limits limits, Allocator allocator) noexcept;

    Validator(const Validator &) = delete;
    Validator &operator=(const Validator &) = delete;

    // False once a verdict is reached: further bytes would change nothing.
    bool feed(const void *data, std::size_t size) noexcept;

    // Ends the body and returns the verdict; idempotent. allowed is the
    // scope of the secret that matched, numbered secret.
    const Verdict &finish(const TypeScope &allowed, std::size_t secret) noexcept;
    const Verdict &finish() noexcept;

    const Verdict &verdict() const noexcept { return verdict_; }
    std::size_t bytes() const noexcept { return bytes_; }
    const EventFields &fields() const noexcept { return fields_; }

private:
    friend struct ValidatorCallbacks;

    bool start() noexcept;
    bool parse(const unsigned char *data, std::size_t size) noexcept;
    void decide(const Verdict &verdict) noexcept;
    void syntax_error() noexcept;
    void check_schema(const TypeScope &allowed, std::size_t secret) noexcept;

    // Parser events, from the yajl callbacks; false stops the parse.
    bool on_value(JsonKind kind, std::string_view text) noexcept;
    bool on_open(JsonKind kind) noexcept;
    bool on_close() noexcept;
    bool on_key(std::string_view key) noexcept;

    const Schema &schema_;
    Limits limits_;
    Allocator allocator_;
    yajl_handle_t *parser_ = nullptr;
    std::jmp_buf *out_of_memory_ = nullptr;  // while in yajl, where to leave it
    Utf8Checker utf8_;
    EscapeChecker escapes_;
    EventFields fields_;
    Verdict verdict_;
    std::size_t bytes_ = 0;
    unsigned depth_ = 0;
    JsonKind top_kind_ = JsonKind::null;
    bool decided_ = false;
    bool finished_ = false;
};

}  // namespace pbxwebhook
