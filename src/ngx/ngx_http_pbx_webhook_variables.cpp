#include "ngx_http_pbx_webhook_module.hpp"

#include "control_bytes.hpp"
#include "mask.hpp"
#include "version.hpp"

namespace pbxwebhook {

namespace {

constexpr std::string_view event_prefix = "pbx_event_";
constexpr std::string_view masked_prefix = "pbx_masked_";

// One rule for every variable of the module: nothing to show is "not
// found" (logged "-"), never an empty string.
ngx_int_t set_value(ngx_http_variable_value_t *v, std::string_view value) noexcept
{
    if (value.empty()) {
        v->not_found = 1;
        return NGX_OK;
    }
    v->data = reinterpret_cast<u_char *>(const_cast<char *>(value.data()));
    v->len = value.size();
    v->valid = 1;
    v->no_cacheable = 0;
    v->not_found = 0;
    return NGX_OK;
}

const RequestCtx *judged_ctx(ngx_http_request_t *r) noexcept
{
    return judged_request_ctx(r);
}

ngx_int_t result_variable(ngx_http_request_t *r, ngx_http_variable_value_t *v, uintptr_t) noexcept
{
    const RequestCtx *ctx = judged_ctx(r);
    if (ctx == nullptr) {
        v->not_found = 1;
        return NGX_OK;
    }
    if (ctx->verdict.accepted()) {
        return set_value(v, "accepted");
    }
    if (ctx->verdict.reason() == Reason::duplicate) {
        return set_value(v, "duplicate");
    }
    return set_value(v, ctx->monitor ? "would_reject" : "rejected");
}

ngx_int_t reason_variable(ngx_http_request_t *r, ngx_http_variable_value_t *v, uintptr_t) noexcept
{
    const RequestCtx *ctx = judged_ctx(r);
    if (ctx == nullptr) {
        v->not_found = 1;
        return NGX_OK;
    }
    return set_value(v, reason_name(ctx->verdict.reason()));
}

ngx_int_t detail_variable(ngx_http_request_t *r, ngx_http_variable_value_t *v, uintptr_t) noexcept
{
    const RequestCtx *ctx = judged_ctx(r);
    if (ctx == nullptr) {
        v->not_found = 1;
        return NGX_OK;
    }
    return set_value(v, ctx->verdict.detail());
}

ngx_int_t token_id_variable(ngx_http_request_t *r, ngx_http_variable_value_t *v,
                            uintptr_t) noexcept
{
    const RequestCtx *ctx = get_request_ctx(r->main);
    if (ctx == nullptr || ctx->token_id == 0) {
        v->not_found = 1;
        return NGX_OK;
    }

    u_char *p = static_cast<u_char *>(ngx_pnalloc(r->pool, NGX_INT_T_LEN));
    if (p == nullptr) {
        return NGX_ERROR;
    }
    u_char *end = ngx_sprintf(p, "%ui", ctx->token_id);
    return set_value(v, {reinterpret_cast<char *>(p), static_cast<std::size_t>(end - p)});
}

ngx_int_t version_variable(ngx_http_request_t *, ngx_http_variable_value_t *v, uintptr_t) noexcept
{
    return set_value(v, PBX_WEBHOOK_VERSION);
}

ngx_int_t event_variable(ngx_http_request_t *r, ngx_http_variable_value_t *v,
                         uintptr_t data) noexcept
{
    const ngx_str_t *name = reinterpret_cast<const ngx_str_t *>(data);
    const RequestCtx *ctx = get_request_ctx(r->main);

    if (ctx == nullptr || ctx->validator == nullptr) {
        v->not_found = 1;
        return NGX_OK;
    }

    std::string_view field_name = view(*name);
    field_name.remove_prefix(event_prefix.size());

    const EventField *field = ctx->validator->fields().find(field_name);
    if (field == nullptr) {
        v->not_found = 1;
        return NGX_OK;
    }

    if (!has_control_bytes(field->value())) {
        return set_value(v, field->value());
    }

    char *safe = static_cast<char *>(ngx_pnalloc(r->pool, field->value().size()));
    if (safe == nullptr) {
        return NGX_ERROR;
    }
    replace_control_bytes(field->value(), safe);
    return set_value(v, {safe, field->value().size()});
}

// $pbx_event_NAME as it shows, with all but the last mask_keep digits
// masked. The location that asks (the one writing the log line) sets
// mask_keep.
ngx_int_t masked_variable(ngx_http_request_t *r, ngx_http_variable_value_t *v,
                          uintptr_t data) noexcept
{
    const ngx_str_t *name = reinterpret_cast<const ngx_str_t *>(data);
    const RequestCtx *ctx = get_request_ctx(r->main);

    if (ctx == nullptr || ctx->validator == nullptr) {
        v->not_found = 1;
        return NGX_OK;
    }

    std::string_view field_name = view(*name);
    field_name.remove_prefix(masked_prefix.size());

    const EventField *field = ctx->validator->fields().find(field_name);
    if (field == nullptr) {
        v->not_found = 1;
        return NGX_OK;
    }

    const LocConf *lcf =
        static_cast<LocConf *>(ngx_http_get_module_loc_conf(r, ngx_http_pbx_webhook_module));

    std::string_view value = field->value();
    char *masked = static_cast<char *>(ngx_pnalloc(r->pool, value.size()));
    if (masked == nullptr) {
        return NGX_ERROR;
    }
    replace_control_bytes(value, masked);
    mask_digits({masked, value.size()}, lcf->mask_keep, masked);
    return set_value(v, {masked, value.size()});
}

ngx_http_variable_t variables[] = {

    {ngx_string("pbx_webhook_result"), nullptr, result_variable, 0,
     NGX_HTTP_VAR_NOCACHEABLE, 0},

    {ngx_string("pbx_webhook_reason"), nullptr, reason_variable, 0,
     NGX_HTTP_VAR_NOCACHEABLE, 0},

    {ngx_string("pbx_webhook_detail"), nullptr, detail_variable, 0,
     NGX_HTTP_VAR_NOCACHEABLE, 0},

    {ngx_string("pbx_webhook_token_id"), nullptr, token_id_variable, 0,
     NGX_HTTP_VAR_NOCACHEABLE, 0},

    {ngx_string("pbx_webhook_version"), nullptr, version_variable, 0, 0, 0},

    {ngx_string("pbx_event_"), nullptr, event_variable, 0,
     NGX_HTTP_VAR_NOCACHEABLE | NGX_HTTP_VAR_PREFIX, 0},

    {ngx_string("pbx_masked_"), nullptr, masked_variable, 0,
     NGX_HTTP_VAR_NOCACHEABLE | NGX_HTTP_VAR_PREFIX, 0},

    ngx_http_null_variable
};

}  // namespace

ngx_int_t add_variables(ngx_conf_t *cf) noexcept
{
    for (ngx_http_variable_t *v = variables; v->name.len; v++) {
        ngx_http_variable_t *var = ngx_http_add_variable(cf, &v->name, v->flags);
        if (var == nullptr) {
            return NGX_ERROR;
        }
        var->get_handler = v->get_handler;
        var->data = v->data;
    }
    return NGX_OK;
}

}  // namespace pbxwebhook
