#pragma once

// The one place the module's version is written; packaging, the startup log
// line, $pbx_webhook_version and t/ read it from here, and the README and
// CHANGELOG.md are checked against it (tests/version_test.cpp).
#define PBX_WEBHOOK_VERSION "0.1.0"
