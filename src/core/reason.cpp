#include "reason.hpp"

namespace pbxwebhook {

namespace {

struct ReasonRow {
    std::string_view name;
    int status;
};

constexpr ReasonRow reason_rows[] = {
    {"ok", 0},
    {"method", 405},
    {"token_missing", 401},
    {"token_repeated", 400},
    {"token_mismatch", 401},
    {"content_type", 415},
    {"body_too_large", 413},
    {"body_incomplete", 400},
    {"body_empty", 400},
    {"json_syntax", 400},
    {"json_too_deep", 400},
    {"duplicate_key", 400},
    {"not_object", 422},
    {"type_missing", 422},
    {"type_unknown", 422},
    {"type_forbidden", 403},
    {"field_missing", 422},
    {"field_type", 422},
    {"duplicate", 200},
    {"internal", 500},
};

static_assert(sizeof(reason_rows) / sizeof(reason_rows[0])
              == static_cast<int>(Reason::internal) + 1);

}  // namespace

std::string_view reason_name(Reason reason) noexcept
{
    return reason_rows[static_cast<int>(reason)].name;
}

int reason_status(Reason reason) noexcept
{
    return reason_rows[static_cast<int>(reason)].status;
}

}  // namespace pbxwebhook
