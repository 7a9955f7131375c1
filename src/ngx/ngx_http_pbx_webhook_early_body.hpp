#pragma once

#include "ngx.hpp"

#include "validator.hpp"
#include "verdict.hpp"

namespace pbxwebhook {

// Whether nginx holds the whole request body, read before the gate chose to
// (client_body_early_read reads it before the location is known), or knows
// that none comes. Otherwise someone else is still reading it.
bool early_body_whole(const ngx_http_request_t *r) noexcept;

// Feeds the body nginx already holds, in memory buffers or in its temp file,
// to the validator and returns the verdict, as if the gate had read it.
Verdict judge_early_body(ngx_http_request_t *r, Validator &validator) noexcept;

}  // namespace pbxwebhook
