#pragma once

// The one place the module's version is written; packaging, the startup log
// line and $pbx_webhook_version read it from here.
#define PBX_WEBHOOK_VERSION "0.1.0"
