#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "schema.hpp"

namespace pbxwebhook {

// The event types one secret may send. A call-flow Webhook object's secret
// is set by whoever edits the call flow; scoped to its own type, it cannot
// forge call records once it leaks. Unscoped, a secret may send every type
// the location accepts.
class TypeScope {
public:
    static constexpr std::string_view prefix = "types=";

    // Parses the `types=t1,t2,...` parameter of a secret's directive.
    // Returns an empty string, or why it is wrong in words fit for `nginx -t`.
    static std::string parse(std::string_view parameter, TypeScope &out);

    bool unscoped() const noexcept { return types_.empty(); }
    bool allows(std::string_view type) const noexcept;

    // The first listed type the schema does not accept; empty when it
    // accepts them all.
    std::string_view unaccepted(const Schema &schema) const noexcept;

    const std::vector<std::string> &types() const noexcept { return types_; }

private:
    std::vector<std::string> types_;
};

}  // namespace pbxwebhook
