#pragma once

#include "verdict.hpp"

namespace pbxwebhook {

// The verdict for a body that nginx itself refused, or threw away, before
// the gate could judge all of it: nginx's 413 is body_too_large, any other
// status (a broken chunked body, a client that stopped sending, an HTTP/2
// stream error) is body_incomplete. The detail names nginx's status.
Verdict body_refused_by_nginx(int status) noexcept;

}  // namespace pbxwebhook
