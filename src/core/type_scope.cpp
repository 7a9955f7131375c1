#include "type_scope.hpp"

#include <algorithm>

#include "quoted.hpp"

namespace pbxwebhook {

std::string TypeScope::parse(std::string_view parameter, TypeScope &out)
{
    if (parameter.substr(0, prefix.size()) != prefix) {
        return "unknown parameter " + quoted(parameter) + ", expected \"types=type,...\"";
    }

    std::string_view list = parameter.substr(prefix.size());
    if (list.empty()) {
        return quoted(parameter) + " lists no event type";
    }

    TypeScope scope;
    std::size_t i = 0;
    while (i <= list.size()) {
        std::size_t end = std::min(list.find(',', i), list.size());
        std::string_view type = list.substr(i, end - i);
        if (type.empty()) {
            return quoted(parameter) + " has an empty event type";
        }
        if (std::find(scope.types_.begin(), scope.types_.end(), type) != scope.types_.end()) {
            return quoted(parameter) + " lists " + quoted(type) + " twice";
        }
        scope.types_.emplace_back(type);
        i = end + 1;
    }

    out = std::move(scope);
    return {};
}

bool TypeScope::allows(std::string_view type) const noexcept
{
    if (types_.empty()) {
        return true;
    }
    return std::find(types_.begin(), types_.end(), type) != types_.end();
}

std::string_view TypeScope::unaccepted(const Schema &schema) const noexcept
{
    for (const std::string &type : types_) {
        if (schema.find(type) == nullptr) {
            return type;
        }
    }
    return {};
}

}  // namespace pbxwebhook
