#include "media_type.hpp"

namespace pbxwebhook {

namespace {

bool equal_ignoring_case(std::string_view a, std::string_view lower) noexcept
{
    if (a.size() != lower.size()) {
        return false;
    }
    for (std::size_t i = 0; i < a.size(); i++) {
        char c = a[i];
        if (c >= 'A' && c <= 'Z') {
            c = static_cast<char>(c - 'A' + 'a');
        }
        if (c != lower[i]) {
            return false;
        }
    }
    return true;
}

}  // namespace

bool is_json_media_type(std::string_view value) noexcept
{
    std::size_t end = value.find(';');
    std::string_view type = value.substr(0, end);

    while (!type.empty() && (type.back() == ' ' || type.back() == '\t')) {
        type.remove_suffix(1);
    }
    while (!type.empty() && (type.front() == ' ' || type.front() == '\t')) {
        type.remove_prefix(1);
    }

    constexpr std::string_view application = "application/";
    if (type.size() <= application.size()
        || !equal_ignoring_case(type.substr(0, application.size()), application))
    {
        return false;
    }

    std::string_view subtype = type.substr(application.size());
    if (equal_ignoring_case(subtype, "json")) {
        return true;
    }

    constexpr std::string_view suffix = "+json";
    if (subtype.size() <= suffix.size()) {
        return false;
    }
    std::string_view prefix = subtype.substr(0, subtype.size() - suffix.size());
    for (char c : prefix) {
        if (c == '/' || c == ' ' || c == '\t') {
            return false;
        }
    }
    return equal_ignoring_case(subtype.substr(prefix.size()), suffix);
}

}  // namespace pbxwebhook
