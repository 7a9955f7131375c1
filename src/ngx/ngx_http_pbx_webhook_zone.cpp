#include "ngx_http_pbx_webhook_module.hpp"

#include <new>
#include <string>
#include <type_traits>
#include <vector>

#include "metrics.hpp"

namespace pbxwebhook {

namespace {

void *slab_allocate(void *pool, std::size_t size) noexcept
{
    return ngx_slab_alloc_locked(static_cast<ngx_slab_pool_t *>(pool), size);
}

void slab_lock(void *pool) noexcept
{
    ngx_shmtx_lock(&static_cast<ngx_slab_pool_t *>(pool)->mutex);
}

void slab_unlock(void *pool) noexcept
{
    ngx_shmtx_unlock(&static_cast<ngx_slab_pool_t *>(pool)->mutex);
}

ngx_int_t init_zone(ngx_shm_zone_t *zone, void *data) noexcept
{
    if (data != nullptr) {
        // A reload with the same name and size: keep counting where the
        // previous configuration left off.
        zone->data = data;
        return NGX_OK;
    }

    ngx_slab_pool_t *pool = reinterpret_cast<ngx_slab_pool_t *>(zone->shm.addr);

    if (zone->shm.exists) {
        zone->data = pool->data;
        return NGX_OK;
    }

    // A full zone degrades counting, visibly in pbx_webhook_zone_full_total;
    // it is not worth a [crit] line per event.
    pool->log_nomem = 0;

    // Shared memory outlives every process and is never destroyed.
    static_assert(std::is_trivially_destructible_v<Metrics>);
    void *p = ngx_slab_alloc(pool, sizeof(Metrics));
    if (p == nullptr) {
        return NGX_ERROR;
    }
    pool->data = new (p) Metrics();
    zone->data = pool->data;
    return NGX_OK;
}

ngx_int_t send_metrics(ngx_http_request_t *r, const std::string &text) noexcept
{
    r->headers_out.status = NGX_HTTP_OK;
    r->headers_out.content_length_n = text.size();
    ngx_str_set(&r->headers_out.content_type, "text/plain; version=0.0.4; charset=utf-8");
    r->headers_out.content_type_len = r->headers_out.content_type.len;
    r->headers_out.content_type_lowcase = nullptr;

    if (text.empty() || r->header_only) {
        r->header_only = 1;
        return ngx_http_send_header(r);
    }

    ngx_buf_t *b = ngx_create_temp_buf(r->pool, text.size());
    if (b == nullptr) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }
    b->last = ngx_cpymem(b->last, text.data(), text.size());
    b->last_buf = (r == r->main) ? 1 : 0;
    b->last_in_chain = 1;

    ngx_int_t rc = ngx_http_send_header(r);
    if (rc == NGX_ERROR || rc > NGX_OK || r->header_only) {
        return rc;
    }

    ngx_chain_t out = {b, nullptr};
    return ngx_http_output_filter(r, &out);
}

ngx_int_t metrics_handler(ngx_http_request_t *r) noexcept
{
    if (!(r->method & (NGX_HTTP_GET | NGX_HTTP_HEAD))) {
        return NGX_HTTP_NOT_ALLOWED;
    }

    ngx_int_t rc = ngx_http_discard_request_body(r);
    if (rc != NGX_OK) {
        return rc;
    }

    const MainConf *mcf =
        static_cast<MainConf *>(ngx_http_get_module_main_conf(r, ngx_http_pbx_webhook_module));

    try {
        std::vector<Metrics::Zone> zones;
        if (mcf->zones != nullptr) {
            ngx_shm_zone_t **zone = static_cast<ngx_shm_zone_t **>(mcf->zones->elts);
            for (ngx_uint_t i = 0; i < mcf->zones->nelts; i++) {
                if (zone[i]->data != nullptr) {
                    zones.push_back({view(zone[i]->shm.name),
                                     static_cast<const Metrics *>(zone[i]->data)});
                }
            }
        }

        std::string text;
        Metrics::render(zones.data(), zones.size(), text);
        render_dedup_metrics(mcf, text);
        return send_metrics(r, text);

    } catch (const std::exception &e) {
        ngx_log_error(NGX_LOG_ALERT, r->connection->log, 0, "pbx_webhook metrics: %s", e.what());
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }
}

}  // namespace

char *set_zone(ngx_conf_t *cf, ngx_command_t *, void *conf) noexcept
{
    MainConf *mcf = static_cast<MainConf *>(conf);
    ngx_str_t *value = static_cast<ngx_str_t *>(cf->args->elts);

    if (value[1].len == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "\"pbx_webhook_zone\" name is empty");
        return static_cast<char *>(NGX_CONF_ERROR);
    }

    ssize_t size = ngx_parse_size(&value[2]);
    if (size == NGX_ERROR) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "\"pbx_webhook_zone\" invalid size \"%V\"",
                           &value[2]);
        return static_cast<char *>(NGX_CONF_ERROR);
    }
    if (size < static_cast<ssize_t>(8 * ngx_pagesize)) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"pbx_webhook_zone\" \"%V\" is too small, at least %uzk is needed",
                           &value[1], 8 * ngx_pagesize / 1024);
        return static_cast<char *>(NGX_CONF_ERROR);
    }

    ngx_shm_zone_t *zone =
        ngx_shared_memory_add(cf, &value[1], size, &ngx_http_pbx_webhook_module);
    if (zone == nullptr) {
        return static_cast<char *>(NGX_CONF_ERROR);
    }

    if (zone->init != nullptr) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "\"pbx_webhook_zone\" \"%V\" is duplicate",
                           &value[1]);
        return static_cast<char *>(NGX_CONF_ERROR);
    }
    zone->init = init_zone;

    if (mcf->zones == nullptr) {
        mcf->zones = ngx_array_create(cf->pool, 2, sizeof(ngx_shm_zone_t *));
        if (mcf->zones == nullptr) {
            return static_cast<char *>(NGX_CONF_ERROR);
        }
    }
    ngx_shm_zone_t **slot = static_cast<ngx_shm_zone_t **>(ngx_array_push(mcf->zones));
    if (slot == nullptr) {
        return static_cast<char *>(NGX_CONF_ERROR);
    }
    *slot = zone;
    return NGX_CONF_OK;
}

char *set_zone_use(ngx_conf_t *cf, ngx_command_t *, void *conf) noexcept
{
    LocConf *lcf = static_cast<LocConf *>(conf);
    ngx_str_t *value = static_cast<ngx_str_t *>(cf->args->elts);

    if (lcf->zone != NGX_CONF_UNSET_PTR) {
        return const_cast<char *>("is duplicate");
    }

    if (ngx_strcmp(value[1].data, "off") == 0) {
        lcf->zone = nullptr;
        return NGX_CONF_OK;
    }

    // Size 0 refers to a zone that pbx_webhook_zone declares, anywhere in
    // the http block; check_zone_use makes sure one does once all is read.
    lcf->zone = ngx_shared_memory_add(cf, &value[1], 0, &ngx_http_pbx_webhook_module);
    if (lcf->zone == nullptr) {
        return static_cast<char *>(NGX_CONF_ERROR);
    }
    return NGX_CONF_OK;
}

bool check_zone_use(ngx_conf_t *cf, const LocConf *conf) noexcept
{
    if (conf->zone != nullptr && conf->zone->shm.size == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"pbx_webhook_zone_use\" names \"%V\", which no \"pbx_webhook_zone\" "
                           "declares",
                           &conf->zone->shm.name);
        return false;
    }
    return true;
}

char *set_metrics(ngx_conf_t *cf, ngx_command_t *, void *conf) noexcept
{
    static_cast<LocConf *>(conf)->metrics_at = place_of(cf);

    ngx_http_core_loc_conf_t *clcf = static_cast<ngx_http_core_loc_conf_t *>(
        ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module));
    clcf->handler = metrics_handler;
    return NGX_CONF_OK;
}

void count_judgement(const RequestCtx *ctx) noexcept
{
    ngx_shm_zone_t *zone = ctx->zone;
    if (zone == nullptr || zone->data == nullptr) {
        return;
    }

    Judgement j{Result::accepted, ctx->verdict.reason(), ctx->token_id, 0, {}, ngx_time(),
                ctx->secrets};

    bool duplicate = ctx->verdict.reason() == Reason::duplicate;
    if (duplicate) {
        j.result = Result::duplicate;
    } else if (!ctx->verdict.accepted()) {
        j.result = ctx->monitor ? Result::would_reject : Result::rejected;
    }
    j.duplicate = dedup_mark(ctx) == DedupMark::duplicate;
    if (ctx->validator != nullptr) {
        j.bytes = ctx->validator->bytes();
        if (ctx->verdict.accepted() || duplicate) {
            j.type = ctx->validator->fields().find("type")->value();
        }
    }

    ngx_slab_pool_t *pool = reinterpret_cast<ngx_slab_pool_t *>(zone->shm.addr);
    SharedMemory memory{slab_allocate, slab_lock, slab_unlock, pool};

    static_cast<Metrics *>(zone->data)->count(j, memory);
}

}  // namespace pbxwebhook
