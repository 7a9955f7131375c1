#include "ngx_http_pbx_webhook_module.hpp"

namespace pbxwebhook {

namespace {

constexpr ngx_uint_t unprocessable_content = 422;

ngx_http_output_header_filter_pt next_header_filter;

// nginx (up to 1.31 at least) has no reason phrase for 422 and sends
// "HTTP/1.1 422 ", which some clients and proxies log as an unknown status.
ngx_int_t status_line_filter(ngx_http_request_t *r) noexcept
{
    if (r->headers_out.status == unprocessable_content
        && r->headers_out.status_line.len == 0 && r->http_version < NGX_HTTP_VERSION_20)
    {
        ngx_str_set(&r->headers_out.status_line, "422 Unprocessable Content");
    }
    return next_header_filter(r);
}

}  // namespace

ngx_int_t init_status_line(ngx_conf_t *) noexcept
{
    next_header_filter = ngx_http_top_header_filter;
    ngx_http_top_header_filter = status_line_filter;
    return NGX_OK;
}

}  // namespace pbxwebhook
