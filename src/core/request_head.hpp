#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

#include "token_set.hpp"
#include "verdict.hpp"

namespace pbxwebhook {

// What the gate needs to know of a request's head, gathered by the adapter.
struct RequestHead {
    std::string_view method;
    std::size_t token_count;  // headers named like the token header
    std::string_view token;   // the value of the last of them
    std::optional<std::string_view> content_type;
    std::int64_t content_length;  // -1: not declared
};

struct HeadRules {
    std::string_view token_header;  // as configured, for the detail
    const TokenSet &secrets;
    bool content_type;  // pbx_webhook_content_type
    std::size_t max_body_size;
};

struct HeadCheck {
    Verdict verdict;       // accepted: go on and read the body
    std::size_t token_id;  // the secret the token matched, from 1; 0: none
};

// The checks in the order the README's reason table lists them: method,
// token, content type, declared length.
HeadCheck check_request_head(const RequestHead &head, const HeadRules &rules) noexcept;

}  // namespace pbxwebhook
