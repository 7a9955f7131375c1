#pragma once

#include <string_view>

namespace pbxwebhook {

// In the order the checks run; the first failure decides.
enum class Reason {
    ok,
    method,
    token_missing,
    token_repeated,
    token_mismatch,
    content_type,
    body_too_large,
    body_incomplete,
    body_empty,
    json_syntax,
    json_too_deep,
    duplicate_key,
    not_object,
    type_missing,
    type_unknown,
    type_forbidden,
    field_missing,
    field_type,
    duplicate,  // accepted, but its key was delivered within the window
    internal,
};

std::string_view reason_name(Reason reason) noexcept;

// The HTTP status that answers a rejection; 0 for ok.
int reason_status(Reason reason) noexcept;

}  // namespace pbxwebhook
