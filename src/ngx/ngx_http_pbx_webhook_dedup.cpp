#include "ngx_http_pbx_webhook_module.hpp"

#include <cstddef>
#include <new>
#include <string>
#include <type_traits>
#include <vector>

#include "dedup_index.hpp"
#include "dedup_table.hpp"
#include "metrics.hpp"
#include "ngx_http_pbx_webhook_key_digest.hpp"

namespace pbxwebhook {

// One per request that dedup saw; the pool cleanup that holds it settles the
// entry should the log phase never come.
struct DedupRequest {
    ngx_shm_zone_t *zone;
    KeyDigest digest;
    DedupKey key;
    DedupCheck check;
    bool settled;
};

static_assert(std::is_trivially_destructible<DedupRequest>::value, "lives in pool memory");

namespace {

constexpr ngx_msec_t default_window = 10 * 60 * 1000;
constexpr ngx_msec_t min_window = 1000;
constexpr ngx_msec_t max_window = 24 * 60 * 60 * 1000;

// The tag of dedup zones: a name declared by pbx_webhook_zone cannot be used
// here, nor the reverse.
u_char dedup_tag;

struct DedupShared {
    DedupIndex::Slot *slots;
    std::size_t slot_count;
    ngx_queue_t queues[2];  // by DedupState, oldest at the head
    DedupCounters counters;
};

// zone->data: in the configuration pool, so a reload gets a fresh one that
// points at the same shared memory.
struct DedupZone {
    DedupShared *sh;
    ngx_slab_pool_t *pool;
    ngx_msec_t window;
};

struct DedupNode {
    DedupKey key;
    ngx_queue_t queue;  // by age, in the queue of its state
    DedupEntry entry;
};

static_assert(std::is_standard_layout<DedupNode>::value, "offsetof finds the node of an entry");

// A node's place in the index is its offset in the zone in slab chunks; the
// slab pool's own header is at offset 0, so no place is 0.
constexpr std::size_t node_chunk = 128;
static_assert(sizeof(DedupNode) > node_chunk / 2 && sizeof(DedupNode) <= node_chunk,
              "the slab gives each node a chunk of node_chunk bytes");

// Places are 32 bits.
constexpr std::uint64_t max_zone_size = (std::uint64_t{1} << 32) * node_chunk;

// The index takes at most an eighth of the zone, and holds at most half as
// many entries as it has slots.
constexpr std::size_t zone_bytes_per_slot = 8 * sizeof(DedupIndex::Slot);

DedupNode *node_of(DedupEntry *entry) noexcept
{
    return reinterpret_cast<DedupNode *>(reinterpret_cast<char *>(entry)
                                         - offsetof(DedupNode, entry));
}

// The table's store in a slab pool; every call is made under its lock.
class SlabStore final : public DedupStore {
public:
    explicit SlabStore(const DedupZone *zone) noexcept
        : sh_(zone->sh), pool_(zone->pool), index_(sh_->slots, sh_->slot_count)
    {
    }

    DedupEntry *find(const DedupKey &key) noexcept override
    {
        std::uint32_t place =
            index_.find(key, [&](std::uint32_t p) { return node_at(p)->key == key; });
        return place != 0 ? &node_at(place)->entry : nullptr;
    }

    DedupEntry *insert(const DedupKey &key) noexcept override
    {
        if (sh_->counters.entries.load(std::memory_order_relaxed) >= sh_->slot_count / 2) {
            return nullptr;
        }
        DedupNode *n = static_cast<DedupNode *>(ngx_slab_alloc_locked(pool_, sizeof(DedupNode)));
        if (n == nullptr) {
            return nullptr;
        }
        if (!index_.insert(key, place_of(n))) {
            ngx_slab_free_locked(pool_, n);
            return nullptr;
        }
        n->key = key;
        n->entry = {DedupState::in_flight, 0, 0, 0};
        ngx_queue_insert_tail(&sh_->queues[0], &n->queue);
        return &n->entry;
    }

    void erase(DedupEntry *entry) noexcept override
    {
        DedupNode *n = node_of(entry);
        index_.erase(n->key, place_of(n));
        ngx_queue_remove(&n->queue);
        ngx_slab_free_locked(pool_, n);
    }

    void requeue(DedupEntry *entry) noexcept override
    {
        DedupNode *n = node_of(entry);
        ngx_queue_remove(&n->queue);
        ngx_queue_insert_tail(&sh_->queues[static_cast<int>(entry->state)], &n->queue);
    }

    DedupEntry *oldest(DedupState state) noexcept override
    {
        ngx_queue_t *q = &sh_->queues[static_cast<int>(state)];
        if (ngx_queue_empty(q)) {
            return nullptr;
        }
        DedupNode *n = ngx_queue_data(ngx_queue_head(q), DedupNode, queue);
        return &n->entry;
    }

private:
    std::uint32_t place_of(const DedupNode *n) const noexcept
    {
        return static_cast<std::uint32_t>(
            (reinterpret_cast<const u_char *>(n) - reinterpret_cast<const u_char *>(pool_))
            / node_chunk);
    }

    DedupNode *node_at(std::uint32_t place) const noexcept
    {
        return reinterpret_cast<DedupNode *>(reinterpret_cast<u_char *>(pool_)
                                             + static_cast<std::size_t>(place) * node_chunk);
    }

    DedupShared *sh_;
    ngx_slab_pool_t *pool_;
    DedupIndex index_;
};

std::int64_t now_ms() noexcept
{
    ngx_time_t *tp = ngx_timeofday();
    return static_cast<std::int64_t>(tp->sec) * 1000 + tp->msec;
}

// Runs one call of the table under the zone's lock.
template <typename F>
void with_table(ngx_shm_zone_t *shm_zone, F &&f) noexcept
{
    const DedupZone *zone = static_cast<DedupZone *>(shm_zone->data);
    SlabStore store(zone);
    DedupTable table(store, zone->sh->counters, static_cast<std::int64_t>(zone->window));

    ngx_shmtx_lock(&zone->pool->mutex);
    f(table);
    ngx_shmtx_unlock(&zone->pool->mutex);
}

ngx_int_t init_zone(ngx_shm_zone_t *shm_zone, void *data) noexcept
{
    DedupZone *zone = static_cast<DedupZone *>(shm_zone->data);

    if (data != nullptr) {
        // A reload with the same name and size keeps the entries.
        const DedupZone *old = static_cast<DedupZone *>(data);
        zone->sh = old->sh;
        zone->pool = old->pool;
        return NGX_OK;
    }

    zone->pool = reinterpret_cast<ngx_slab_pool_t *>(shm_zone->shm.addr);

    if (shm_zone->shm.exists) {
        zone->sh = static_cast<DedupShared *>(zone->pool->data);
        return NGX_OK;
    }

    void *p = ngx_slab_alloc(zone->pool, sizeof(DedupShared));
    if (p == nullptr) {
        return NGX_ERROR;
    }
    zone->sh = new (p) DedupShared;
    ngx_queue_init(&zone->sh->queues[0]);
    ngx_queue_init(&zone->sh->queues[1]);

    std::size_t slots = 1;
    while (slots * 2 * zone_bytes_per_slot <= shm_zone->shm.size) {
        slots *= 2;
    }
    zone->sh->slots = static_cast<DedupIndex::Slot *>(
        ngx_slab_alloc(zone->pool, slots * sizeof(DedupIndex::Slot)));
    if (zone->sh->slots == nullptr) {
        return NGX_ERROR;
    }
    zone->sh->slot_count = slots;
    DedupIndex(zone->sh->slots, slots).clear();

    // A full zone evicts, visibly in pbx_webhook_dedup_evictions_total; it
    // is not worth a [crit] line per event.
    zone->pool->log_nomem = 0;
    zone->pool->data = zone->sh;
    return NGX_OK;
}

void settle(DedupRequest *d, bool delivered) noexcept
{
    if (d->settled) {
        return;
    }
    d->settled = true;

    if (d->check.mark != DedupMark::first && d->check.mark != DedupMark::in_flight) {
        return;
    }
    if (!delivered && d->check.ticket == 0) {
        return;
    }
    std::int64_t now = now_ms();
    with_table(d->zone, [&](DedupTable &table) {
        table.settle(d->key, d->check.ticket, delivered, now);
    });
}

// The safety net: a request that ends without a log phase did not deliver.
void settle_on_cleanup(void *data) noexcept
{
    settle(static_cast<DedupRequest *>(data), false);
}

const LocConf *loc_conf(ngx_http_request_t *r) noexcept
{
    return static_cast<LocConf *>(ngx_http_get_module_loc_conf(r, ngx_http_pbx_webhook_module));
}

DedupRequest *request_state(ngx_http_request_t *r, RequestCtx *ctx,
                            ngx_shm_zone_t *zone) noexcept
{
    if (ctx->dedup != nullptr) {
        return ctx->dedup;
    }
    ngx_pool_cleanup_t *cln = ngx_pool_cleanup_add(r->pool, sizeof(DedupRequest));
    if (cln == nullptr) {
        return nullptr;
    }
    DedupRequest *d = new (cln->data) DedupRequest{zone, {}, {}, {DedupMark::none, 0, 0}, false};
    d->digest.init();
    cln->handler = settle_on_cleanup;
    ctx->dedup = d;
    return d;
}

// The key's digest: of the key's text when pbx_webhook_dedup_key is set,
// else of the body as it streamed by. False: nothing to record.
bool compute_key(ngx_http_request_t *r, const DedupConf &conf, DedupRequest *d) noexcept
{
    if (conf.key == nullptr) {
        d->digest.final(d->key);
        return true;
    }

    ngx_str_t text;
    if (ngx_http_complex_value(r, conf.key, &text) != NGX_OK) {
        return false;
    }
    if (text.len == 0) {
        // An empty key would make every such event a duplicate of the first.
        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "pbx_webhook_dedup_key is empty, event not recorded");
        return false;
    }
    KeyDigest digest;
    digest.init();
    digest.update(text.data, text.len);
    digest.final(d->key);
    return true;
}

ngx_http_output_header_filter_pt next_header_filter;

// A 2xx is the backend's final word as soon as its header goes out: settled
// here, before the client can read it and send the event again. Everything
// else waits for the request's end, when the status is final.
ngx_int_t header_filter(ngx_http_request_t *r) noexcept
{
    if (r == r->main && r->headers_out.status >= 200 && r->headers_out.status < 300) {
        RequestCtx *ctx = get_request_ctx(r);
        if (ctx != nullptr && ctx->dedup != nullptr) {
            settle(ctx->dedup, true);
        }
    }
    return next_header_filter(r);
}

ngx_int_t log_handler(ngx_http_request_t *r) noexcept
{
    if (r != r->main) {
        return NGX_OK;
    }
    RequestCtx *ctx = get_request_ctx(r);
    if (ctx == nullptr || ctx->dedup == nullptr) {
        return NGX_OK;
    }

    // As $status tells it: an error page's status wins.
    ngx_uint_t status = r->err_status ? r->err_status : r->headers_out.status;
    settle(ctx->dedup, status >= 200 && status < 300);
    return NGX_OK;
}

ngx_int_t dedup_variable(ngx_http_request_t *r, ngx_http_variable_value_t *v, uintptr_t) noexcept
{
    const RequestCtx *ctx = get_request_ctx(r->main);
    if (ctx == nullptr || ctx->dedup == nullptr) {
        v->not_found = 1;
        return NGX_OK;
    }

    std::string_view value;
    switch (ctx->dedup->check.mark) {
    case DedupMark::first:
        value = "first";
        break;
    case DedupMark::in_flight:
        value = "in_flight";
        break;
    case DedupMark::duplicate:
        value = "duplicate";
        break;
    case DedupMark::none:
        v->not_found = 1;
        return NGX_OK;
    }

    return set_value(v, value);
}

ngx_str_t dedup_variable_name = ngx_string("pbx_webhook_dedup");

char *check_status(ngx_conf_t *cf, void *, void *data) noexcept
{
    ngx_int_t status = *static_cast<ngx_int_t *>(data);
    if (status < 200 || status > 299) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"pbx_webhook_dedup_status\" must be a 2xx status, not %i", status);
        return static_cast<char *>(NGX_CONF_ERROR);
    }
    return NGX_CONF_OK;
}

}  // namespace

ngx_conf_post_t dedup_status_post = {check_status};

void dedup_feed(ngx_http_request_t *r, RequestCtx *ctx, const u_char *data, size_t len) noexcept
{
    const DedupConf &conf = loc_conf(r)->dedup;
    if (conf.zone == nullptr || conf.key != nullptr) {
        return;
    }
    DedupRequest *d = request_state(r, ctx, conf.zone);
    if (d != nullptr) {
        d->digest.update(data, len);
    }
}

bool dedup_check(ngx_http_request_t *r, RequestCtx *ctx) noexcept
{
    const DedupConf &conf = loc_conf(r)->dedup;
    if (conf.zone == nullptr || conf.zone->data == nullptr) {
        return false;
    }
    DedupRequest *d = request_state(r, ctx, conf.zone);
    if (d == nullptr || !compute_key(r, conf, d)) {
        return false;
    }

    std::int64_t now = now_ms();
    with_table(conf.zone, [&](DedupTable &table) { d->check = table.check(d->key, now); });

    if (d->check.mark != DedupMark::duplicate) {
        return false;
    }

    Verdict verdict = duplicate_verdict(d->check.delivered, now);
    std::string_view detail = verdict.detail();
    ngx_log_error(NGX_LOG_INFO, r->connection->log, 0, "pbx_webhook %s: %i duplicate, %*s",
                  ctx->monitor ? "would answer duplicate request" : "answered duplicate request",
                  conf.status, detail.size(), detail.data());

    if (ctx->monitor) {
        return false;
    }
    ctx->verdict = verdict;
    ctx->judged = true;
    count_judgement(ctx);
    return true;
}

ngx_int_t dedup_answer(ngx_http_request_t *r, RequestCtx *ctx) noexcept
{
    ctx->state = GateState::answered;
    r->headers_out.status = loc_conf(r)->dedup.status;
    r->headers_out.content_length_n = 0;
    r->header_only = 1;
    ngx_http_finalize_request(r, ngx_http_send_header(r));
    return NGX_DONE;
}

DedupMark dedup_mark(const RequestCtx *ctx) noexcept
{
    return ctx->dedup != nullptr ? ctx->dedup->check.mark : DedupMark::none;
}

char *set_dedup_zone(ngx_conf_t *cf, ngx_command_t *, void *conf) noexcept
{
    MainConf *mcf = static_cast<MainConf *>(conf);
    ngx_str_t *value = static_cast<ngx_str_t *>(cf->args->elts);

    if (value[1].len == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "\"pbx_webhook_dedup_zone\" name is empty");
        return static_cast<char *>(NGX_CONF_ERROR);
    }

    ssize_t size = ngx_parse_size(&value[2]);
    if (size == NGX_ERROR) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"pbx_webhook_dedup_zone\" invalid size \"%V\"", &value[2]);
        return static_cast<char *>(NGX_CONF_ERROR);
    }
    if (size < static_cast<ssize_t>(8 * ngx_pagesize)) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"pbx_webhook_dedup_zone\" \"%V\" is too small, at least %uzk is needed",
                           &value[1], 8 * ngx_pagesize / 1024);
        return static_cast<char *>(NGX_CONF_ERROR);
    }
    if (static_cast<std::uint64_t>(size) > max_zone_size) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"pbx_webhook_dedup_zone\" \"%V\" is too large, at most %uLm",
                           &value[1], static_cast<std::uint64_t>(max_zone_size >> 20));
        return static_cast<char *>(NGX_CONF_ERROR);
    }

    ngx_msec_t window = default_window;
    for (ngx_uint_t i = 3; i < cf->args->nelts; i++) {
        if (ngx_strncmp(value[i].data, "window=", 7) != 0) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "\"pbx_webhook_dedup_zone\" invalid parameter \"%V\"", &value[i]);
            return static_cast<char *>(NGX_CONF_ERROR);
        }
        ngx_str_t s = {value[i].len - 7, value[i].data + 7};
        ngx_int_t ms = ngx_parse_time(&s, 0);
        if (ms == NGX_ERROR || static_cast<ngx_msec_t>(ms) < min_window
            || static_cast<ngx_msec_t>(ms) > max_window)
        {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "\"pbx_webhook_dedup_zone\" window must be between 1s and 24h, "
                               "not \"%V\"",
                               &s);
            return static_cast<char *>(NGX_CONF_ERROR);
        }
        window = static_cast<ngx_msec_t>(ms);
    }

    ngx_shm_zone_t *zone = ngx_shared_memory_add(cf, &value[1], size, &dedup_tag);
    if (zone == nullptr) {
        return static_cast<char *>(NGX_CONF_ERROR);
    }
    if (zone->data != nullptr) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "\"pbx_webhook_dedup_zone\" \"%V\" is duplicate",
                           &value[1]);
        return static_cast<char *>(NGX_CONF_ERROR);
    }

    DedupZone *dz = static_cast<DedupZone *>(ngx_pcalloc(cf->pool, sizeof(DedupZone)));
    if (dz == nullptr) {
        return static_cast<char *>(NGX_CONF_ERROR);
    }
    dz->window = window;
    zone->data = dz;
    zone->init = init_zone;

    if (mcf->dedup_zones == nullptr) {
        mcf->dedup_zones = ngx_array_create(cf->pool, 2, sizeof(ngx_shm_zone_t *));
        if (mcf->dedup_zones == nullptr) {
            return static_cast<char *>(NGX_CONF_ERROR);
        }
    }
    ngx_shm_zone_t **slot = static_cast<ngx_shm_zone_t **>(ngx_array_push(mcf->dedup_zones));
    if (slot == nullptr) {
        return static_cast<char *>(NGX_CONF_ERROR);
    }
    *slot = zone;
    return NGX_CONF_OK;
}

char *set_dedup(ngx_conf_t *cf, ngx_command_t *, void *conf) noexcept
{
    DedupConf &dedup = static_cast<LocConf *>(conf)->dedup;
    ngx_str_t *value = static_cast<ngx_str_t *>(cf->args->elts);

    if (dedup.zone != NGX_CONF_UNSET_PTR) {
        return const_cast<char *>("is duplicate");
    }
    if (ngx_strcmp(value[1].data, "off") == 0) {
        dedup.zone = nullptr;
        return NGX_CONF_OK;
    }

    // Size 0: a zone that pbx_webhook_dedup_zone declares, before or after.
    dedup.zone = ngx_shared_memory_add(cf, &value[1], 0, &dedup_tag);
    if (dedup.zone == nullptr) {
        return static_cast<char *>(NGX_CONF_ERROR);
    }
    return NGX_CONF_OK;
}

void init_dedup_conf(DedupConf *conf) noexcept
{
    conf->zone = static_cast<ngx_shm_zone_t *>(NGX_CONF_UNSET_PTR);
    conf->key = static_cast<ngx_http_complex_value_t *>(NGX_CONF_UNSET_PTR);
    conf->status = NGX_CONF_UNSET;
}

bool merge_dedup_conf(ngx_conf_t *cf, const DedupConf *prev, DedupConf *conf) noexcept
{
    ngx_conf_merge_ptr_value(conf->zone, prev->zone, nullptr);
    ngx_conf_merge_ptr_value(conf->key, prev->key, nullptr);
    ngx_conf_merge_value(conf->status, prev->status, NGX_HTTP_OK);

    if (conf->zone != nullptr && conf->zone->shm.size == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"pbx_webhook_dedup\" names \"%V\", which no "
                           "\"pbx_webhook_dedup_zone\" declares",
                           &conf->zone->shm.name);
        return false;
    }
    return true;
}

ngx_int_t add_dedup_variables(ngx_conf_t *cf) noexcept
{
    ngx_http_variable_t *var =
        ngx_http_add_variable(cf, &dedup_variable_name, NGX_HTTP_VAR_NOCACHEABLE);
    if (var == nullptr) {
        return NGX_ERROR;
    }
    var->get_handler = dedup_variable;
    return NGX_OK;
}

ngx_int_t init_dedup(ngx_conf_t *cf) noexcept
{
    ngx_http_core_main_conf_t *cmcf = static_cast<ngx_http_core_main_conf_t *>(
        ngx_http_conf_get_module_main_conf(cf, ngx_http_core_module));

    ngx_http_handler_pt *h = static_cast<ngx_http_handler_pt *>(
        ngx_array_push(&cmcf->phases[NGX_HTTP_LOG_PHASE].handlers));
    if (h == nullptr) {
        return NGX_ERROR;
    }
    *h = log_handler;

    next_header_filter = ngx_http_top_header_filter;
    ngx_http_top_header_filter = header_filter;
    return NGX_OK;
}

void render_dedup_metrics(const MainConf *mcf, std::string &text)
{
    std::vector<DedupZoneStats> zones;
    if (mcf->dedup_zones != nullptr) {
        ngx_shm_zone_t **zone = static_cast<ngx_shm_zone_t **>(mcf->dedup_zones->elts);
        for (ngx_uint_t i = 0; i < mcf->dedup_zones->nelts; i++) {
            const DedupZone *dz = static_cast<DedupZone *>(zone[i]->data);
            if (dz->sh != nullptr) {
                zones.push_back({view(zone[i]->shm.name), &dz->sh->counters});
            }
        }
    }
    if (!zones.empty()) {
        render_dedup_zones(zones.data(), zones.size(), text);
    }
}

}  // namespace pbxwebhook
