#include "body_refusal.hpp"

namespace pbxwebhook {

Verdict body_refused_by_nginx(int status) noexcept
{
    if (status == 413) {
        return Verdict::reject(Reason::body_too_large,
                               "nginx refused the body: over client_max_body_size");
    }
    if (status == 408) {
        return Verdict::reject(Reason::body_incomplete,
                               "nginx refused the body: client_body_timeout");
    }
    return Verdict::reject(Reason::body_incomplete, "nginx refused the body with %d", status);
}

}  // namespace pbxwebhook
