#pragma once

#include <string>
#include <string_view>

namespace pbxwebhook {

// A word from the configuration in double quotes, for nginx -t messages.
inline std::string quoted(std::string_view text)
{
    std::string out = "\"";
    out.append(text);
    out += '"';
    return out;
}

}  // namespace pbxwebhook
