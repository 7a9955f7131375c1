#pragma once

#include <string>
#include <string_view>
#include <type_traits>

#include "ngx.hpp"

#include "dedup_table.hpp"
#include "schema.hpp"
#include "token_set.hpp"
#include "validator.hpp"
#include "verdict.hpp"

// The one symbol the .so exports: nginx looks it up by name.
extern "C" __attribute__((visibility("default"))) ngx_module_t ngx_http_pbx_webhook_module;

namespace pbxwebhook {

enum GateMode : ngx_uint_t { gate_off, gate_on, gate_monitor };

// pbx_webhook_dedup, _key, _status.
struct DedupConf {
    ngx_shm_zone_t *zone;           // null: off
    ngx_http_complex_value_t *key;  // null: the exact body bytes
    ngx_int_t status;
};

// Where a directive was written (line 0: nowhere), for what nginx -t says
// about it after the whole file is read, when cf points at the file's end.
struct ConfPlace {
    ngx_str_t file;
    ngx_uint_t line;
};

inline ConfPlace place_of(const ngx_conf_t *cf) noexcept
{
    return {cf->conf_file->file.name, cf->conf_file->line};
}

// Plain data, so that offsetof works in the directive table; the C++ objects
// it points to live in the configuration pool, destroyed by its cleanups.
struct LocConf {
    ngx_uint_t mode;
    ngx_array_t *tokens;       // ConfSecret, pbx_webhook_token in order
    ngx_array_t *file_tokens;  // ConfSecret, pbx_webhook_token_file lines in order
    ngx_str_t token_header;
    ngx_str_t token_header_lower;
    Schema *schema;  // after merge: the level's own, inherited, or MainConf's catalog
    size_t max_body_size;
    ngx_uint_t max_depth;
    ngx_flag_t content_type;
    TokenSet *token_set;
    ngx_shm_zone_t *zone;  // pbx_webhook_zone_use: where requests are counted
    ConfPlace mode_at;     // these three inherited with their values
    ConfPlace token_header_at;
    ConfPlace max_body_size_at;
    ConfPlace metrics_at;  // pbx_webhook_metrics, in this location only
    DedupConf dedup;
    ngx_uint_t mask_keep;  // digits $pbx_masked_NAME leaves
};

struct MainConf {
    ngx_array_t *zones;        // ngx_shm_zone_t *, every pbx_webhook_zone
    ngx_array_t *dedup_zones;  // ngx_shm_zone_t *, every pbx_webhook_dedup_zone
    Schema *catalog;           // the built-in catalog, built with the configuration
};

struct DedupRequest;

// checking headers → reading the body → decided → answered; a request that
// fails on its headers goes straight to answered. A request still "reading"
// when nginx finalizes it had its body refused by nginx itself.
enum class GateState { checking, reading, decided, answered };

// One per request; kept in a pool cleanup so that it survives the context
// reset of an internal redirect.
struct RequestCtx {
    GateState state;
    bool monitor;
    bool judged;          // verdict holds the gate's decision
    bool body_cut;        // refused before the whole body was read
    bool error_page_set;  // the gate set r->error_page while reading
    ngx_uint_t token_id;
    ngx_uint_t secrets;  // how many the location holds, for the metrics
    ngx_shm_zone_t *zone;
    off_t client_max_body_size;  // of the location that read the body
    Validator *validator;
    Verdict verdict;
    DedupRequest *dedup = nullptr;  // deduplication did not see the request
};

// Both live in the request pool, which frees them without running a
// destructor.
static_assert(std::is_trivially_destructible_v<RequestCtx>);
static_assert(std::is_trivially_destructible_v<Validator>);

inline std::string_view view(const ngx_str_t &s) noexcept
{
    return {reinterpret_cast<const char *>(s.data), s.len};
}

RequestCtx *get_request_ctx(ngx_http_request_t *r) noexcept;

// The context with its verdict final: a body that nginx refused while the
// gate read it is recorded first. Null when the gate has not judged.
const RequestCtx *judged_request_ctx(ngx_http_request_t *r) noexcept;

ngx_int_t init_gate(ngx_conf_t *cf) noexcept;
ngx_int_t init_status_line(ngx_conf_t *cf) noexcept;

char *set_zone(ngx_conf_t *cf, ngx_command_t *cmd, void *conf) noexcept;
char *set_zone_use(ngx_conf_t *cf, ngx_command_t *cmd, void *conf) noexcept;
// Whether the zone pbx_webhook_zone_use names was declared; logs if not.
bool check_zone_use(ngx_conf_t *cf, const LocConf *conf) noexcept;
char *set_metrics(ngx_conf_t *cf, ngx_command_t *cmd, void *conf) noexcept;
void count_judgement(const RequestCtx *ctx) noexcept;
ngx_int_t add_variables(ngx_conf_t *cf) noexcept;

// Deduplication (ngx_http_pbx_webhook_dedup.cpp). The gate feeds it the body
// bytes as they stream by and asks it about each accepted event; it settles
// the entry in its own log-phase handler.
void dedup_feed(ngx_http_request_t *r, RequestCtx *ctx, const u_char *data, size_t len) noexcept;
// True: a duplicate to answer with dedup_answer, its verdict recorded and
// counted (monitor mode: false, the event goes on marked duplicate).
bool dedup_check(ngx_http_request_t *r, RequestCtx *ctx) noexcept;
ngx_int_t dedup_answer(ngx_http_request_t *r, RequestCtx *ctx) noexcept;
DedupMark dedup_mark(const RequestCtx *ctx) noexcept;

char *set_dedup_zone(ngx_conf_t *cf, ngx_command_t *cmd, void *conf) noexcept;
char *set_dedup(ngx_conf_t *cf, ngx_command_t *cmd, void *conf) noexcept;
extern ngx_conf_post_t dedup_status_post;
void init_dedup_conf(DedupConf *conf) noexcept;
// False: the configuration fails (logged).
bool merge_dedup_conf(ngx_conf_t *cf, const DedupConf *prev, DedupConf *conf) noexcept;
ngx_int_t add_dedup_variables(ngx_conf_t *cf) noexcept;
ngx_int_t init_dedup(ngx_conf_t *cf) noexcept;
void render_dedup_metrics(const MainConf *mcf, std::string &text);

}  // namespace pbxwebhook
