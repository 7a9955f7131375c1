#include "ngx_http_pbx_webhook_module.hpp"

#include <new>

#include "media_type.hpp"

namespace pbxwebhook {

namespace {

ngx_http_request_body_filter_pt next_body_filter;

// Marks the pool cleanup that holds the request context; it owns nothing
// that needs freeing.
void ctx_anchor(void *) noexcept {}

void *pool_allocate(void *pool, std::size_t size) noexcept
{
    return ngx_palloc(static_cast<ngx_pool_t *>(pool), size);
}

RequestCtx *create_ctx(ngx_http_request_t *r, const LocConf *lcf) noexcept
{
    ngx_pool_cleanup_t *cln = ngx_pool_cleanup_add(r->pool, sizeof(RequestCtx));
    if (cln == nullptr) {
        return nullptr;
    }
    cln->handler = ctx_anchor;

    RequestCtx *ctx = new (cln->data) RequestCtx{GateState::checking, lcf->mode == gate_monitor, false, 0, lcf->zone, nullptr, {}};
    ngx_http_set_ctx(r, ctx, ngx_http_pbx_webhook_module);
    return ctx;
}

void log_verdict(ngx_http_request_t *r, const RequestCtx *ctx) noexcept
{
    std::string_view reason = reason_name(ctx->verdict.reason());
    std::string_view detail = ctx->verdict.detail();

    ngx_uint_t level = ctx->verdict.reason() == Reason::internal ? NGX_LOG_ALERT : NGX_LOG_INFO;

    ngx_log_error(level, r->connection->log, 0, "pbx_webhook %s request: %d %*s, %*s",
                  ctx->monitor ? "would reject" : "rejected", ctx->verdict.status(),
                  reason.size(), reason.data(), detail.size(), detail.data());
}

// Records a verdict. Returns what the gate's phase should do with it:
// NGX_DECLINED to go on, or the status that answers the request.
ngx_int_t decide(ngx_http_request_t *r, RequestCtx *ctx, const Verdict &verdict) noexcept
{
    ctx->verdict = verdict;
    ctx->judged = true;
    ctx->state = GateState::decided;

    // An accepted event may turn out a duplicate, answered by dedup_answer.
    bool duplicate = verdict.accepted() && dedup_check(r, ctx);

    count_judgement(ctx);

    if (verdict.accepted() || duplicate) {
        return NGX_DECLINED;
    }

    log_verdict(r, ctx);
    return ctx->monitor ? NGX_DECLINED : verdict.status();
}

// Answers a rejected request here and now, so that nothing later in the
// phases (rewrite directives, access modules under "satisfy any") can
// overrule the gate.
ngx_int_t answer(ngx_http_request_t *r, ngx_int_t rc) noexcept
{
    if (rc == NGX_DECLINED) {
        return NGX_DECLINED;
    }

    if (rc == NGX_HTTP_NOT_ALLOWED) {
        ngx_table_elt_t *allow =
            static_cast<ngx_table_elt_t *>(ngx_list_push(&r->headers_out.headers));
        if (allow != nullptr) {
            allow->hash = 1;
            ngx_str_set(&allow->key, "Allow");
            ngx_str_set(&allow->value, "POST");
        }
    }

    ngx_http_finalize_request(r, rc);
    return NGX_DONE;
}

ngx_int_t check_headers(ngx_http_request_t *r, const LocConf *lcf, RequestCtx *ctx) noexcept
{
    if (r->method != NGX_HTTP_POST) {
        char method[24];
        quote_for_detail(view(r->method_name), method, sizeof(method) - 1);
        return decide(r, ctx, Verdict::reject(Reason::method, "method %s not allowed", method));
    }

    ngx_table_elt_t *token = nullptr;
    ngx_uint_t count = 0;

    for (ngx_list_part_t *part = &r->headers_in.headers.part; part; part = part->next) {
        ngx_table_elt_t *h = static_cast<ngx_table_elt_t *>(part->elts);
        for (ngx_uint_t i = 0; i < part->nelts; i++) {
            if (h[i].key.len == lcf->token_header_lower.len
                && ngx_strncmp(h[i].lowcase_key, lcf->token_header_lower.data,
                               lcf->token_header_lower.len) == 0)
            {
                token = &h[i];
                count++;
            }
        }
    }

    if (count == 0) {
        return decide(r, ctx, Verdict::reject(Reason::token_missing, "no \"%.*s\" header",
                                              static_cast<int>(lcf->token_header.len),
                                              lcf->token_header.data));
    }
    if (count > 1) {
        return decide(r, ctx,
                      Verdict::reject(Reason::token_repeated, "\"%.*s\" header sent %lu times",
                                      static_cast<int>(lcf->token_header.len),
                                      lcf->token_header.data, static_cast<unsigned long>(count)));
    }

    ctx->token_id = lcf->token_set->match(view(token->value));
    if (ctx->token_id == 0) {
        return decide(r, ctx, Verdict::reject(Reason::token_mismatch, "token matches no secret"));
    }

    if (lcf->content_type) {
        ngx_table_elt_t *type = r->headers_in.content_type;
        if (type == nullptr) {
            return decide(r, ctx, Verdict::reject(Reason::content_type, "no content type"));
        }
        if (!is_json_media_type(view(type->value))) {
            char quoted[48];
            quote_for_detail(view(type->value), quoted, sizeof(quoted) - 1);
            return decide(r, ctx, Verdict::reject(Reason::content_type,
                                                  "content type \"%s\" is not JSON", quoted));
        }
    }

    if (r->headers_in.content_length_n > static_cast<off_t>(lcf->max_body_size)) {
        return decide(r, ctx,
                      body_too_large(static_cast<std::size_t>(r->headers_in.content_length_n),
                                     lcf->max_body_size));
    }

    return NGX_AGAIN;
}

void body_read(ngx_http_request_t *r) noexcept
{
    RequestCtx *ctx = get_request_ctx(r);

    if (ctx != nullptr && ctx->state == GateState::reading) {
        decide(r, ctx, ctx->validator->finish());
    }

    r->write_event_handler = ngx_http_core_run_phases;
    ngx_http_core_run_phases(r);
}

ngx_int_t start_reading(ngx_http_request_t *r, const LocConf *lcf, RequestCtx *ctx) noexcept
{
    void *memory = ngx_palloc(r->pool, sizeof(Validator));
    if (memory == nullptr) {
        ngx_int_t rc = decide(r, ctx, Verdict::reject(Reason::internal, "out of memory"));
        ctx->state = GateState::answered;
        return answer(r, rc);
    }
    ctx->validator = new (memory)
        Validator(lcf->schema ? *lcf->schema : Schema::catalog(),
                  Limits{lcf->max_body_size, static_cast<unsigned>(lcf->max_depth)},
                  Allocator{pool_allocate, r->pool});
    ctx->state = GateState::reading;

    ngx_int_t rc = ngx_http_read_client_request_body(r, body_read);
    if (rc >= NGX_HTTP_SPECIAL_RESPONSE) {
        ctx->state = GateState::answered;
        return answer(r, rc);
    }

    ngx_http_finalize_request(r, NGX_DONE);
    return NGX_DONE;
}

ngx_int_t gate_handler(ngx_http_request_t *r) noexcept
{
    const LocConf *lcf =
        static_cast<LocConf *>(ngx_http_get_module_loc_conf(r, ngx_http_pbx_webhook_module));

    if (lcf->mode == gate_off || r != r->main) {
        return NGX_DECLINED;
    }

    ngx_int_t rc;
    RequestCtx *ctx = get_request_ctx(r);

    if (ctx != nullptr) {
        switch (ctx->state) {
        case GateState::decided:
            // The body has been read and judged: answer once.
            ctx->state = GateState::answered;
            if (ctx->verdict.reason() == Reason::duplicate) {
                return dedup_answer(r, ctx);
            }
            return answer(r, (ctx->verdict.accepted() || ctx->monitor) ? NGX_DECLINED
                                                                         : ctx->verdict.status());
        case GateState::answered:
            // An internal redirect (error_page, try_files) brought the
            // request back: the gate has spoken and never runs twice.
            return NGX_DECLINED;
        case GateState::reading:
            // Only an internal redirect gets here mid-body: nginx itself
            // refused the body (bad chunk, client_max_body_size) and an
            // error_page took over. Let that page be served.
            if (r->internal) {
                ctx->state = GateState::answered;
                return NGX_DECLINED;
            }
            return NGX_DONE;
        case GateState::checking:
            break;
        }
    } else {
        if (r->request_body != nullptr) {
            // Someone read the body before the gate could see it: fail
            // closed rather than pass an unchecked event.
            ctx = create_ctx(r, lcf);
            if (ctx == nullptr) {
                return NGX_HTTP_INTERNAL_SERVER_ERROR;
            }
            rc = decide(r, ctx,
                        Verdict::reject(Reason::internal, "request body was read before the gate"));
            ctx->state = GateState::answered;
            return answer(r, rc);
        }

        ctx = create_ctx(r, lcf);
        if (ctx == nullptr) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }
    }

    rc = check_headers(r, lcf, ctx);
    if (rc != NGX_AGAIN) {
        ctx->state = GateState::answered;
        return answer(r, rc);
    }

    return start_reading(r, lcf, ctx);
}

ngx_int_t body_filter(ngx_http_request_t *r, ngx_chain_t *in) noexcept
{
    RequestCtx *ctx = static_cast<RequestCtx *>(ngx_http_get_module_ctx(r, ngx_http_pbx_webhook_module));

    if (ctx != nullptr && ctx->state == GateState::reading) {
        for (ngx_chain_t *cl = in; cl; cl = cl->next) {
            ngx_buf_t *b = cl->buf;
            ngx_int_t rc;

            if (ngx_buf_in_memory(b)) {
                dedup_feed(r, ctx, b->pos, b->last - b->pos);
                if (ctx->validator->feed(b->pos, b->last - b->pos)) {
                    continue;
                }
                rc = decide(r, ctx, ctx->validator->verdict());
            } else if (ngx_buf_size(b) == 0) {
                continue;
            } else {
                rc = decide(r, ctx,
                            Verdict::reject(Reason::internal, "request body buffer not in memory"));
            }

            if (rc != NGX_DECLINED) {
                ctx->state = GateState::answered;
                return rc;
            }
            // Monitoring: the body still goes through, unparsed.
            break;
        }
    }

    return next_body_filter(r, in);
}

}  // namespace

RequestCtx *get_request_ctx(ngx_http_request_t *r) noexcept
{
    RequestCtx *ctx = static_cast<RequestCtx *>(ngx_http_get_module_ctx(r, ngx_http_pbx_webhook_module));

    if (ctx == nullptr && (r->internal || r->filter_finalize)) {
        for (ngx_pool_cleanup_t *cln = r->pool->cleanup; cln; cln = cln->next) {
            if (cln->handler == ctx_anchor) {
                ctx = static_cast<RequestCtx *>(cln->data);
                ngx_http_set_ctx(r, ctx, ngx_http_pbx_webhook_module);
                break;
            }
        }
    }
    return ctx;
}

ngx_int_t init_gate(ngx_conf_t *cf) noexcept
{
    ngx_http_core_main_conf_t *cmcf = static_cast<ngx_http_core_main_conf_t *>(
        ngx_http_conf_get_module_main_conf(cf, ngx_http_core_module));

    // The location's rewrite phase, and in it before the rewrite module's
    // own handler (handlers run last-registered first): a "return" or
    // "rewrite" in a gated location must not get ahead of the gate.
    ngx_array_t *handlers = &cmcf->phases[NGX_HTTP_REWRITE_PHASE].handlers;
    ngx_http_handler_pt *h = static_cast<ngx_http_handler_pt *>(ngx_array_push(handlers));
    if (h == nullptr) {
        return NGX_ERROR;
    }
    *h = gate_handler;

    next_body_filter = ngx_http_top_request_body_filter;
    ngx_http_top_request_body_filter = body_filter;

    return NGX_OK;
}

}  // namespace pbxwebhook
