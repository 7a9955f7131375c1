#pragma once

#include <string_view>

namespace pbxwebhook {

// application/json or application/<x>+json, any case, parameters allowed.
bool is_json_media_type(std::string_view content_type) noexcept;

}  // namespace pbxwebhook
