#pragma once

// The only way into nginx's headers: they have no C++ guards of their own.
extern "C" {
#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>
}
