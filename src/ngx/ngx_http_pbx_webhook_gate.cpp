#include "ngx_http_pbx_webhook_module.hpp"

#include <new>

#include "body_refusal.hpp"
#include "ngx_http_pbx_webhook_early_body.hpp"
#include "request_head.hpp"

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

    RequestCtx *ctx = new (cln->data) RequestCtx{};
    ctx->state = GateState::checking;
    ctx->monitor = lcf->mode == gate_monitor;
    ctx->secrets = lcf->token_set->size();
    ctx->zone = lcf->zone;
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

// Records a verdict, counts it once and logs a refusal.
void record(ngx_http_request_t *r, RequestCtx *ctx, const Verdict &verdict) noexcept
{
    ctx->verdict = verdict;
    ctx->judged = true;

    count_judgement(ctx);

    ngx_log_debug2(NGX_LOG_DEBUG_HTTP, r->connection->log, 0, "pbx_webhook verdict: %d %s",
                   verdict.status(), reason_name(verdict.reason()).data());

    if (!verdict.accepted()) {
        log_verdict(r, ctx);
    }
}

// Records a verdict. Returns what the gate's phase should do with it:
// NGX_DECLINED to go on, or the status that answers the request.
ngx_int_t decide(ngx_http_request_t *r, RequestCtx *ctx, const Verdict &verdict) noexcept
{
    if (verdict.accepted() && dedup_check(r, ctx)) {
        // A duplicate, recorded by dedup_check and answered by dedup_answer.
        ctx->state = GateState::decided;
        return NGX_DECLINED;
    }
    record(r, ctx, verdict);
    ctx->state = GateState::decided;

    if (verdict.accepted() || ctx->monitor) {
        return NGX_DECLINED;
    }
    return verdict.status();
}

// The gate answers the request itself, by nginx's own error response, so
// that error_page can reshape it.
ngx_int_t answer(ngx_http_request_t *r, RequestCtx *ctx, ngx_int_t rc) noexcept
{
    ctx->state = GateState::answered;

    if (rc == NGX_DECLINED) {
        return NGX_DECLINED;
    }

    ngx_log_debug1(NGX_LOG_DEBUG_HTTP, r->connection->log, 0, "pbx_webhook answers %i", rc);

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

// A request refused part-way through its body may still be sent on by an
// error_page target that proxies: it must not go with a Content-Length
// whose bytes never come, nor with the part read so far.
void drop_unjudged_body(ngx_http_request_t *r) noexcept
{
    r->headers_in.content_length_n = 0;
    r->headers_in.content_length = nullptr;
    r->headers_in.chunked = 0;

    if (r->request_body != nullptr) {
        r->request_body->bufs = nullptr;
        r->request_body->temp_file = nullptr;
        r->request_body->rest = 0;
    }
}

// While the gate reads the body, nginx's own refusals of it (a broken
// chunked body, client_max_body_size, an HTTP/2 stream error) skip
// error_page: an error_page target would see a body nobody judged, and
// nginx's status would be lost to the redirect.
void hold_error_pages(ngx_http_request_t *r, RequestCtx *ctx) noexcept
{
    if (!ctx->monitor && !r->error_page) {
        r->error_page = 1;
        ctx->error_page_set = true;
    }
}

void release_error_pages(ngx_http_request_t *r, RequestCtx *ctx) noexcept
{
    if (ctx->error_page_set) {
        r->error_page = 0;
        ctx->error_page_set = false;
    }
}

// nginx refused the body while the gate read it: the status nginx answered,
// or, where an error_page "=" replaced it, the one it must have been.
int refusal_status(ngx_http_request_t *r, const RequestCtx *ctx) noexcept
{
    if (r->err_status >= NGX_HTTP_BAD_REQUEST) {
        return static_cast<int>(r->err_status);
    }
    if (r->headers_out.status >= NGX_HTTP_BAD_REQUEST && !r->internal) {
        return static_cast<int>(r->headers_out.status);
    }

    off_t max = ctx->client_max_body_size;
    ngx_http_request_body_t *rb = r->request_body;
    if (max != 0 && rb != nullptr && rb->chunked != nullptr
        && max - r->headers_in.content_length_n < rb->chunked->size)
    {
        return NGX_HTTP_REQUEST_ENTITY_TOO_LARGE;
    }
    return NGX_HTTP_BAD_REQUEST;
}

// The error pages stay held: nginx's refusal is answered by nginx.
void record_refused_body(ngx_http_request_t *r, RequestCtx *ctx) noexcept
{
    ctx->monitor = false;
    ctx->body_cut = true;
    ctx->state = GateState::answered;
    record(r, ctx, body_refused_by_nginx(refusal_status(r, ctx)));
}

ngx_int_t check_headers(ngx_http_request_t *r, const LocConf *lcf, RequestCtx *ctx) noexcept
{
    // A chunked body has no declared length; the one nginx counts while it
    // reads one early (client_body_early_read) is not the client's.
    RequestHead head{view(r->method_name), 0, {}, {},
                     r->headers_in.chunked ? -1 : r->headers_in.content_length_n};

    for (ngx_list_part_t *part = &r->headers_in.headers.part; part; part = part->next) {
        ngx_table_elt_t *h = static_cast<ngx_table_elt_t *>(part->elts);
        for (ngx_uint_t i = 0; i < part->nelts; i++) {
            if (h[i].key.len == lcf->token_header_lower.len
                && ngx_strncmp(h[i].lowcase_key, lcf->token_header_lower.data,
                               lcf->token_header_lower.len) == 0)
            {
                head.token = view(h[i].value);
                head.token_count++;
            }
        }
    }

    if (r->headers_in.content_type != nullptr) {
        head.content_type = view(r->headers_in.content_type->value);
    }

    HeadCheck check = check_request_head(
        head, {view(lcf->token_header), *lcf->token_set, lcf->content_type != 0,
               lcf->max_body_size});

    ctx->token_id = check.token_id;
    if (!check.verdict.accepted()) {
        return decide(r, ctx, check.verdict);
    }
    return NGX_AGAIN;
}

void body_read(ngx_http_request_t *r) noexcept
{
    RequestCtx *ctx = get_request_ctx(r);

    if (ctx != nullptr && ctx->state == GateState::reading) {
        const LocConf *lcf =
            static_cast<LocConf *>(ngx_http_get_module_loc_conf(r, ngx_http_pbx_webhook_module));
        release_error_pages(r, ctx);
        decide(r, ctx,
               ctx->validator->finish(lcf->token_set->scope(ctx->token_id), ctx->token_id));
    }

    r->write_event_handler = ngx_http_core_run_phases;
    ngx_http_core_run_phases(r);
}

// nginx threw the body away before the gate met the request (a
// Content-Length over client_max_body_size, then error_page into this
// location; a handler that discarded it): there is nothing left to judge.
bool body_discarded(ngx_http_request_t *r) noexcept
{
    if (r->discard_body) {
        return true;
    }
#if (NGX_HTTP_V2)
    if (r->stream != nullptr && r->stream->skip_data) {
        return true;
    }
#endif
    ngx_table_elt_t *declared = r->headers_in.content_length;
    if (declared == nullptr || r->headers_in.chunked) {
        return false;
    }
    off_t length = ngx_atoof(declared->value.data, declared->value.len);
    return length > 0 && r->headers_in.content_length_n < length;
}

int discarded_body_status(ngx_http_request_t *r) noexcept
{
    if (r->err_status >= NGX_HTTP_BAD_REQUEST) {
        return static_cast<int>(r->err_status);
    }
    ngx_http_core_loc_conf_t *clcf = static_cast<ngx_http_core_loc_conf_t *>(
        ngx_http_get_module_loc_conf(r, ngx_http_core_module));
    ngx_table_elt_t *declared = r->headers_in.content_length;
    if (declared != nullptr && clcf->client_max_body_size
        && ngx_atoof(declared->value.data, declared->value.len) > clcf->client_max_body_size)
    {
        return NGX_HTTP_REQUEST_ENTITY_TOO_LARGE;
    }
    return NGX_HTTP_BAD_REQUEST;
}

Validator *new_validator(ngx_http_request_t *r, const LocConf *lcf) noexcept
{
    void *memory = ngx_palloc(r->pool, sizeof(Validator));
    if (memory == nullptr) {
        return nullptr;
    }
    return new (memory) Validator(*lcf->schema,
                                  Limits{lcf->max_body_size, static_cast<unsigned>(lcf->max_depth)},
                                  Allocator{pool_allocate, r->pool});
}

ngx_int_t start_reading(ngx_http_request_t *r, const LocConf *lcf, RequestCtx *ctx) noexcept
{
    ctx->validator = new_validator(r, lcf);
    if (ctx->validator == nullptr) {
        return answer(r, ctx, decide(r, ctx, Verdict::reject(Reason::internal, "out of memory")));
    }
    ctx->state = GateState::reading;

    ngx_http_core_loc_conf_t *clcf = static_cast<ngx_http_core_loc_conf_t *>(
        ngx_http_get_module_loc_conf(r, ngx_http_core_module));
    ctx->client_max_body_size = clcf->client_max_body_size;
    hold_error_pages(r, ctx);

    ngx_log_debug0(NGX_LOG_DEBUG_HTTP, r->connection->log, 0, "pbx_webhook reads the body");

    ngx_int_t rc = ngx_http_read_client_request_body(r, body_read);
    if (rc >= NGX_HTTP_SPECIAL_RESPONSE) {
        if (ctx->state == GateState::reading) {
            // nginx refused the body before the gate saw its end.
            r->err_status = rc;
            record_refused_body(r, ctx);
            return answer(r, ctx, rc);
        }
        release_error_pages(r, ctx);
        return answer(r, ctx, rc);
    }

    ngx_http_finalize_request(r, NGX_DONE);
    return NGX_DONE;
}

ngx_int_t judge_new_request(ngx_http_request_t *r, const LocConf *lcf) noexcept
{
    RequestCtx *ctx = create_ctx(r, lcf);
    if (ctx == nullptr) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (r->request_body != nullptr
        && (early_body_whole(r) || r->err_status >= NGX_HTTP_BAD_REQUEST))
    {
        // nginx read the body before it chose the location
        // (client_body_early_read): the gate judges what nginx holds; or
        // nginx refused it there and an error_page brought the request here.
        ngx_int_t rc = check_headers(r, lcf, ctx);
        if (rc == NGX_AGAIN && !early_body_whole(r)) {
            ctx->body_cut = true;
            rc = decide(r, ctx, body_refused_by_nginx(static_cast<int>(r->err_status)));
            return answer(r, ctx, rc == NGX_DECLINED ? NGX_DECLINED : r->err_status);
        }
        if (rc == NGX_AGAIN) {
            ctx->validator = new_validator(r, lcf);
            rc = decide(r, ctx, ctx->validator != nullptr
                                    ? judge_early_body(r, *ctx->validator)
                                    : Verdict::reject(Reason::internal, "out of memory"));
        }
        return answer(r, ctx, rc);
    }
    if (r->request_body != nullptr) {
        // Someone is reading the body before the gate could see it: fail
        // closed rather than pass an unchecked event.
        return answer(r, ctx,
                      decide(r, ctx,
                             Verdict::reject(Reason::internal,
                                             "request body was read before the gate")));
    }

    ngx_int_t rc = check_headers(r, lcf, ctx);
    ngx_log_debug1(NGX_LOG_DEBUG_HTTP, r->connection->log, 0, "pbx_webhook headers judged: %i",
                   rc);
    if (rc != NGX_AGAIN) {
        return answer(r, ctx, rc);
    }

    if (body_discarded(r)) {
        ctx->body_cut = true;
        ngx_int_t status = discarded_body_status(r);
        ngx_int_t verdict_rc = decide(r, ctx, body_refused_by_nginx(static_cast<int>(status)));
        return answer(r, ctx, verdict_rc == NGX_DECLINED ? NGX_DECLINED : status);
    }

    return start_reading(r, lcf, ctx);
}

// The request comes back to the gate's phase after it was judged: the body
// read and its verdict ready, or an internal redirect (error_page,
// try_files, "rewrite ... last") into this or another location. A location
// where the gate is on passes only what the gate accepted; the verdict is
// never made, counted or logged twice.
ngx_int_t judge_again(ngx_http_request_t *r, const LocConf *lcf, RequestCtx *ctx) noexcept
{
    switch (ctx->state) {
    case GateState::decided:
        if (ctx->verdict.reason() == Reason::duplicate) {
            return dedup_answer(r, ctx);
        }
        return answer(r, ctx,
                      (ctx->verdict.accepted() || ctx->monitor) ? NGX_DECLINED
                                                                : ctx->verdict.status());
    case GateState::reading:
        if (!r->internal) {
            return NGX_DONE;
        }
        // An error_page took over while the body was being read: nginx
        // refused the body (a monitor location keeps error_page for it).
        record_refused_body(r, ctx);
        break;
    case GateState::checking:
        // Never left half-judged; should it be, it is not accepted.
        record(r, ctx, Verdict::reject(Reason::internal, "request left unjudged"));
        ctx->state = GateState::answered;
        break;
    case GateState::answered:
        break;
    }

    bool passed = ctx->verdict.accepted() || ctx->monitor;

    if (!passed && ctx->body_cut) {
        drop_unjudged_body(r);
    }

    if (lcf->mode != gate_on || ctx->verdict.accepted()) {
        return NGX_DECLINED;
    }

    // Refused before, or would have been in a monitor location: refused here.
    ctx->monitor = false;
    ngx_log_debug1(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "pbx_webhook answers %d again", ctx->verdict.status());
    ngx_http_finalize_request(r, ctx->verdict.status());
    return NGX_DONE;
}

ngx_int_t gate_handler(ngx_http_request_t *r) noexcept
{
    if (r != r->main) {
        return NGX_DECLINED;
    }

    const LocConf *lcf =
        static_cast<LocConf *>(ngx_http_get_module_loc_conf(r, ngx_http_pbx_webhook_module));
    RequestCtx *ctx = get_request_ctx(r);

    if (ctx != nullptr) {
        return judge_again(r, lcf, ctx);
    }
    if (lcf->mode == gate_off) {
        return NGX_DECLINED;
    }
    return judge_new_request(r, lcf);
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
                ctx->body_cut = true;
                release_error_pages(r, ctx);
                return rc;
            }
            // Monitoring: the body still goes through, unparsed.
            break;
        }
    }

    return next_body_filter(r, in);
}

// Counts and records a refusal by nginx that no error_page brought back
// to the gate; the access log has already asked for it through the
// variables, which record it first.
ngx_int_t log_handler(ngx_http_request_t *r) noexcept
{
    if (r == r->main) {
        judged_request_ctx(r);
    }
    return NGX_OK;
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

const RequestCtx *judged_request_ctx(ngx_http_request_t *r) noexcept
{
    RequestCtx *ctx = get_request_ctx(r->main);
    if (ctx == nullptr) {
        return nullptr;
    }
    // Still reading once nginx has a status for the request: nginx refused
    // the body (or the client left) before the gate saw its end.
    if (ctx->state == GateState::reading
        && (r->main->err_status != 0 || r->main->headers_out.status != 0))
    {
        record_refused_body(r->main, ctx);
    }
    return ctx->judged ? ctx : nullptr;
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

    h = static_cast<ngx_http_handler_pt *>(
        ngx_array_push(&cmcf->phases[NGX_HTTP_LOG_PHASE].handlers));
    if (h == nullptr) {
        return NGX_ERROR;
    }
    *h = log_handler;

    next_body_filter = ngx_http_top_request_body_filter;
    ngx_http_top_request_body_filter = body_filter;

    return NGX_OK;
}

}  // namespace pbxwebhook
