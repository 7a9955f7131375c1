#include "ngx_http_pbx_webhook_module.hpp"

#include <cctype>
#include <cstdarg>
#include <new>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "token_file.hpp"
#include "version.hpp"

namespace pbxwebhook {

namespace {

constexpr size_t max_body_size_limit = 1024 * 1024 * 1024;
constexpr ngx_uint_t max_depth_limit = 512;
constexpr ngx_uint_t mask_keep_limit = EventFields::value_limit;

template <typename T>
void destroy(void *data) noexcept
{
    static_cast<T *>(data)->~T();
}

// A configuration object destroyed with the configuration pool, so a reload
// frees the old cycle's secrets and schemas.
template <typename T>
T *pool_new(ngx_pool_t *pool) noexcept
{
    ngx_pool_cleanup_t *cln = ngx_pool_cleanup_add(pool, sizeof(T));
    if (cln == nullptr) {
        return nullptr;
    }
    T *object = new (cln->data) T();
    cln->handler = destroy<T>;
    return object;
}

char *set_mode(ngx_conf_t *cf, ngx_command_t *, void *conf) noexcept
{
    LocConf *lcf = static_cast<LocConf *>(conf);
    ngx_str_t *value = static_cast<ngx_str_t *>(cf->args->elts);

    if (lcf->mode != NGX_CONF_UNSET_UINT) {
        return const_cast<char *>("is duplicate");
    }

    if (ngx_strcmp(value[1].data, "on") == 0) {
        lcf->mode = gate_on;
    } else if (ngx_strcmp(value[1].data, "off") == 0) {
        lcf->mode = gate_off;
    } else if (ngx_strcmp(value[1].data, "monitor") == 0) {
        lcf->mode = gate_monitor;
    } else {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"pbx_webhook\" must be \"on\", \"off\" or \"monitor\", not \"%V\"",
                           &value[1]);
        return static_cast<char *>(NGX_CONF_ERROR);
    }
    lcf->mode_at = place_of(cf);
    return NGX_CONF_OK;
}

// The types= of one secret directive, and how and where nginx -t names the
// directive.
struct ConfScope {
    TypeScope types;
    std::string origin;
    ConfPlace at;
};

// A secret as configured, kept in an ngx_array_t.
struct ConfSecret {
    ngx_str_t secret;
    const ConfScope *scope;  // null: every type the location accepts
};

static_assert(std::is_trivially_destructible_v<ConfSecret>);

// The scope a secret directive's optional types= parameter (argument 2)
// gives; *scope stays null without one. False (logged) when it is wrong.
bool parse_scope(ngx_conf_t *cf, std::string_view directive, const ngx_str_t *path,
                 const ConfScope **scope) noexcept
{
    *scope = nullptr;
    if (cf->args->nelts < 3) {
        return true;
    }
    ngx_str_t *value = static_cast<ngx_str_t *>(cf->args->elts);

    try {
        ConfScope *parsed = pool_new<ConfScope>(cf->pool);
        if (parsed == nullptr) {
            return false;
        }
        std::string error = TypeScope::parse(view(value[2]), parsed->types);
        if (!error.empty()) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "\"%*s\" %s", directive.size(),
                               directive.data(), error.c_str());
            return false;
        }
        parsed->origin = "\"" + std::string(directive) + "\"";
        if (path != nullptr) {
            parsed->origin += " \"" + std::string(view(*path)) + "\"";
        }
        parsed->at = place_of(cf);
        *scope = parsed;
    } catch (const std::exception &e) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "\"%*s\" failed: %s", directive.size(),
                           directive.data(), e.what());
        return false;
    }
    return true;
}

char *add_secret(ngx_conf_t *cf, ngx_array_t **list, ngx_str_t secret,
                 const ConfScope *scope) noexcept
{
    if (*list == NGX_CONF_UNSET_PTR) {
        *list = ngx_array_create(cf->pool, 2, sizeof(ConfSecret));
        if (*list == nullptr) {
            return static_cast<char *>(NGX_CONF_ERROR);
        }
    }

    ConfSecret *slot = static_cast<ConfSecret *>(ngx_array_push(*list));
    if (slot == nullptr) {
        return static_cast<char *>(NGX_CONF_ERROR);
    }
    *slot = {secret, scope};
    return NGX_CONF_OK;
}

char *set_token(ngx_conf_t *cf, ngx_command_t *, void *conf) noexcept
{
    LocConf *lcf = static_cast<LocConf *>(conf);
    ngx_str_t *value = static_cast<ngx_str_t *>(cf->args->elts);

    if (value[1].len == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "\"pbx_webhook_token\" secret is empty");
        return static_cast<char *>(NGX_CONF_ERROR);
    }

    try {
        std::string warning = secret_warning(view(value[1]));
        if (!warning.empty()) {
            ngx_conf_log_error(NGX_LOG_WARN, cf, 0, "\"pbx_webhook_token\" %s", warning.c_str());
        }
    } catch (const std::exception &e) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "\"pbx_webhook_token\" failed: %s", e.what());
        return static_cast<char *>(NGX_CONF_ERROR);
    }

    const ConfScope *scope;
    if (!parse_scope(cf, "pbx_webhook_token", nullptr, &scope)) {
        return static_cast<char *>(NGX_CONF_ERROR);
    }
    return add_secret(cf, &lcf->tokens, value[1], scope);
}

// Logs what the core says about a token file; false on an error.
bool log_token_file_notes(ngx_conf_t *cf, const ngx_str_t *path,
                          const std::vector<ConfNote> &notes) noexcept
{
    bool ok = true;
    for (const ConfNote &note : notes) {
        ngx_uint_t level = note.severity == ConfNote::error ? NGX_LOG_EMERG : NGX_LOG_WARN;
        ngx_conf_log_error(level, cf, 0, "\"pbx_webhook_token_file\" \"%V\" %s", path,
                           note.text.c_str());
        ok = ok && note.severity != ConfNote::error;
    }
    return ok;
}

// Reads an open token file whole into the configuration pool, which keeps
// the secrets; false (logged) when it cannot or must not be read.
bool read_token_file(ngx_conf_t *cf, ngx_fd_t fd, const ngx_str_t *path, ngx_str_t *text) noexcept
{
    ngx_file_info_t info;
    if (ngx_fd_info(fd, &info) == NGX_FILE_ERROR) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, ngx_errno,
                           "\"pbx_webhook_token_file\" cannot stat \"%V\"", path);
        return false;
    }

    off_t size = ngx_file_size(&info);
    try {
        if (!log_token_file_notes(cf, path,
                                  judge_token_file(size, (info.st_mode & S_IROTH) != 0))) {
            return false;
        }
    } catch (const std::exception &e) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "\"pbx_webhook_token_file\" failed: %s",
                           e.what());
        return false;
    }

    text->data = static_cast<u_char *>(ngx_pnalloc(cf->pool, size));
    if (text->data == nullptr) {
        return false;
    }

    ssize_t n = ngx_read_fd(fd, text->data, size);
    if (n == -1) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, ngx_errno,
                           "\"pbx_webhook_token_file\" cannot read \"%V\"", path);
        return false;
    }
    text->len = n;
    return true;
}

bool open_and_read_token_file(ngx_conf_t *cf, const ngx_str_t *path, ngx_str_t *text) noexcept
{
    ngx_fd_t fd = ngx_open_file(path->data, NGX_FILE_RDONLY, NGX_FILE_OPEN, 0);
    if (fd == NGX_INVALID_FILE) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, ngx_errno,
                           "\"pbx_webhook_token_file\" cannot open \"%V\"", path);
        return false;
    }

    bool ok = read_token_file(cf, fd, path, text);

    if (ngx_close_file(fd) == NGX_FILE_ERROR) {
        ngx_conf_log_error(NGX_LOG_ALERT, cf, ngx_errno, ngx_close_file_n " \"%V\" failed", path);
    }
    return ok;
}

char *add_file_secrets(ngx_conf_t *cf, LocConf *lcf, const ngx_str_t *path,
                       const ngx_str_t &text, const ConfScope *scope) noexcept
{
    try {
        TokenFile file = parse_token_file(view(text));
        if (!log_token_file_notes(cf, path, file.notes)) {
            return static_cast<char *>(NGX_CONF_ERROR);
        }
        for (const FileSecret &secret : file.secrets) {
            ngx_str_t s = {secret.text.size(),
                           const_cast<u_char *>(reinterpret_cast<const u_char *>(secret.text.data()))};
            if (add_secret(cf, &lcf->file_tokens, s, scope) != NGX_CONF_OK) {
                return static_cast<char *>(NGX_CONF_ERROR);
            }
        }
    } catch (const std::exception &e) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "\"pbx_webhook_token_file\" failed: %s",
                           e.what());
        return static_cast<char *>(NGX_CONF_ERROR);
    }
    return NGX_CONF_OK;
}

char *set_token_file(ngx_conf_t *cf, ngx_command_t *, void *conf) noexcept
{
    ngx_str_t *value = static_cast<ngx_str_t *>(cf->args->elts);
    ngx_str_t path = value[1];

    if (ngx_conf_full_name(cf->cycle, &path, 1) != NGX_OK) {
        return static_cast<char *>(NGX_CONF_ERROR);
    }

    const ConfScope *scope;
    if (!parse_scope(cf, "pbx_webhook_token_file", &path, &scope)) {
        return static_cast<char *>(NGX_CONF_ERROR);
    }

    ngx_str_t text;
    if (!open_and_read_token_file(cf, &path, &text)) {
        return static_cast<char *>(NGX_CONF_ERROR);
    }

    return add_file_secrets(cf, static_cast<LocConf *>(conf), &path, text, scope);
}

char *set_event(ngx_conf_t *cf, ngx_command_t *, void *conf) noexcept
{
    LocConf *lcf = static_cast<LocConf *>(conf);
    ngx_str_t *value = static_cast<ngx_str_t *>(cf->args->elts);

    if (lcf->schema == nullptr) {
        lcf->schema = pool_new<Schema>(cf->pool);
        if (lcf->schema == nullptr) {
            return static_cast<char *>(NGX_CONF_ERROR);
        }
    }

    try {
        std::vector<std::string_view> words;
        for (ngx_uint_t i = 1; i < cf->args->nelts; i++) {
            words.push_back(view(value[i]));
        }

        std::string error = lcf->schema->add_event(words);
        if (!error.empty()) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "\"pbx_webhook_event\" %s", error.c_str());
            return static_cast<char *>(NGX_CONF_ERROR);
        }
    } catch (const std::exception &e) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "\"pbx_webhook_event\" failed: %s", e.what());
        return static_cast<char *>(NGX_CONF_ERROR);
    }

    return NGX_CONF_OK;
}

char *set_token_header(ngx_conf_t *cf, ngx_command_t *cmd, void *conf) noexcept
{
    char *rv = ngx_conf_set_str_slot(cf, cmd, conf);
    if (rv == NGX_CONF_OK) {
        static_cast<LocConf *>(conf)->token_header_at = place_of(cf);
    }
    return rv;
}

char *set_max_body_size(ngx_conf_t *cf, ngx_command_t *cmd, void *conf) noexcept
{
    char *rv = ngx_conf_set_size_slot(cf, cmd, conf);
    if (rv == NGX_CONF_OK) {
        static_cast<LocConf *>(conf)->max_body_size_at = place_of(cf);
    }
    return rv;
}

char *check_max_body_size(ngx_conf_t *cf, void *, void *data) noexcept
{
    size_t size = *static_cast<size_t *>(data);

    if (size == 0 || size > max_body_size_limit) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"pbx_webhook_max_body_size\" must be between 1 and %uz bytes",
                           max_body_size_limit);
        return static_cast<char *>(NGX_CONF_ERROR);
    }
    return NGX_CONF_OK;
}

char *check_mask_keep(ngx_conf_t *cf, void *, void *data) noexcept
{
    ngx_uint_t keep = *static_cast<ngx_uint_t *>(data);

    if (keep > mask_keep_limit) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"pbx_webhook_mask_keep\" must be between 0 and %ui",
                           mask_keep_limit);
        return static_cast<char *>(NGX_CONF_ERROR);
    }
    return NGX_CONF_OK;
}

char *check_max_depth(ngx_conf_t *cf, void *, void *data) noexcept
{
    ngx_int_t depth = *static_cast<ngx_int_t *>(data);

    if (depth < 1 || depth > static_cast<ngx_int_t>(max_depth_limit)) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"pbx_webhook_max_depth\" must be between 1 and %ui", max_depth_limit);
        return static_cast<char *>(NGX_CONF_ERROR);
    }
    return NGX_CONF_OK;
}

ngx_conf_post_t max_body_size_post = {check_max_body_size};
ngx_conf_post_t max_depth_post = {check_max_depth};
ngx_conf_post_t mask_keep_post = {check_mask_keep};

constexpr ngx_uint_t any_level =
    NGX_HTTP_MAIN_CONF | NGX_HTTP_SRV_CONF | NGX_HTTP_LOC_CONF;

ngx_command_t commands[] = {

    {ngx_string("pbx_webhook"),
     any_level | NGX_CONF_TAKE1,
     set_mode,
     NGX_HTTP_LOC_CONF_OFFSET,
     0,
     nullptr},

    {ngx_string("pbx_webhook_token"),
     any_level | NGX_CONF_TAKE12,
     set_token,
     NGX_HTTP_LOC_CONF_OFFSET,
     0,
     nullptr},

    {ngx_string("pbx_webhook_token_file"),
     any_level | NGX_CONF_TAKE12,
     set_token_file,
     NGX_HTTP_LOC_CONF_OFFSET,
     0,
     nullptr},

    {ngx_string("pbx_webhook_token_header"),
     any_level | NGX_CONF_TAKE1,
     set_token_header,
     NGX_HTTP_LOC_CONF_OFFSET,
     offsetof(LocConf, token_header),
     nullptr},

    {ngx_string("pbx_webhook_event"),
     any_level | NGX_CONF_1MORE,
     set_event,
     NGX_HTTP_LOC_CONF_OFFSET,
     0,
     nullptr},

    {ngx_string("pbx_webhook_max_body_size"),
     any_level | NGX_CONF_TAKE1,
     set_max_body_size,
     NGX_HTTP_LOC_CONF_OFFSET,
     offsetof(LocConf, max_body_size),
     &max_body_size_post},

    {ngx_string("pbx_webhook_max_depth"),
     any_level | NGX_CONF_TAKE1,
     ngx_conf_set_num_slot,
     NGX_HTTP_LOC_CONF_OFFSET,
     offsetof(LocConf, max_depth),
     &max_depth_post},

    {ngx_string("pbx_webhook_mask_keep"),
     any_level | NGX_CONF_TAKE1,
     ngx_conf_set_num_slot,
     NGX_HTTP_LOC_CONF_OFFSET,
     offsetof(LocConf, mask_keep),
     &mask_keep_post},

    {ngx_string("pbx_webhook_zone"),
     NGX_HTTP_MAIN_CONF | NGX_CONF_TAKE2,
     set_zone,
     NGX_HTTP_MAIN_CONF_OFFSET,
     0,
     nullptr},

    {ngx_string("pbx_webhook_zone_use"),
     any_level | NGX_CONF_TAKE1,
     set_zone_use,
     NGX_HTTP_LOC_CONF_OFFSET,
     0,
     nullptr},

    {ngx_string("pbx_webhook_metrics"),
     NGX_HTTP_LOC_CONF | NGX_CONF_NOARGS,
     set_metrics,
     NGX_HTTP_LOC_CONF_OFFSET,
     0,
     nullptr},

    {ngx_string("pbx_webhook_content_type"),
     any_level | NGX_CONF_FLAG,
     ngx_conf_set_flag_slot,
     NGX_HTTP_LOC_CONF_OFFSET,
     offsetof(LocConf, content_type),
     nullptr},

    {ngx_string("pbx_webhook_dedup_zone"),
     NGX_HTTP_MAIN_CONF | NGX_CONF_TAKE23,
     set_dedup_zone,
     NGX_HTTP_MAIN_CONF_OFFSET,
     0,
     nullptr},

    {ngx_string("pbx_webhook_dedup"),
     any_level | NGX_CONF_TAKE1,
     set_dedup,
     NGX_HTTP_LOC_CONF_OFFSET,
     0,
     nullptr},

    {ngx_string("pbx_webhook_dedup_key"),
     any_level | NGX_CONF_TAKE1,
     ngx_http_set_complex_value_slot,
     NGX_HTTP_LOC_CONF_OFFSET,
     offsetof(LocConf, dedup.key),
     nullptr},

    {ngx_string("pbx_webhook_dedup_status"),
     any_level | NGX_CONF_TAKE1,
     ngx_conf_set_num_slot,
     NGX_HTTP_LOC_CONF_OFFSET,
     offsetof(LocConf, dedup.status),
     &dedup_status_post},

    ngx_null_command
};

void *create_loc_conf(ngx_conf_t *cf) noexcept
{
    LocConf *conf = static_cast<LocConf *>(ngx_pcalloc(cf->pool, sizeof(LocConf)));
    if (conf == nullptr) {
        return nullptr;
    }

    /*
     * set by ngx_pcalloc():
     *
     *     conf->token_header = { 0, NULL };
     *     conf->token_header_lower = { 0, NULL };
     *     conf->schema = NULL;
     *     conf->token_set = NULL;
     */

    conf->mode = NGX_CONF_UNSET_UINT;
    conf->tokens = static_cast<ngx_array_t *>(NGX_CONF_UNSET_PTR);
    conf->file_tokens = static_cast<ngx_array_t *>(NGX_CONF_UNSET_PTR);
    conf->max_body_size = NGX_CONF_UNSET_SIZE;
    conf->max_depth = NGX_CONF_UNSET_UINT;
    conf->content_type = NGX_CONF_UNSET;
    conf->zone = static_cast<ngx_shm_zone_t *>(NGX_CONF_UNSET_PTR);
    conf->mask_keep = NGX_CONF_UNSET_UINT;
    init_dedup_conf(&conf->dedup);

    return conf;
}

bool build_token_set(ngx_conf_t *cf, LocConf *conf) noexcept
{
    conf->token_set = pool_new<TokenSet>(cf->pool);
    if (conf->token_set == nullptr) {
        return false;
    }

    try {
        for (ngx_array_t *list : {conf->tokens, conf->file_tokens}) {
            if (list == nullptr) {
                continue;
            }
            const ConfSecret *secrets = static_cast<const ConfSecret *>(list->elts);
            for (ngx_uint_t i = 0; i < list->nelts; i++) {
                const ConfSecret &s = secrets[i];
                conf->token_set->add(view(s.secret), s.scope ? s.scope->types : TypeScope());
            }
        }
    } catch (const std::exception &e) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "pbx_webhook: %s", e.what());
        return false;
    }
    return true;
}

void merge_values(const LocConf *prev, LocConf *conf) noexcept
{
    if (conf->mode == NGX_CONF_UNSET_UINT) {
        conf->mode_at = prev->mode_at;
    }
    if (conf->max_body_size == NGX_CONF_UNSET_SIZE) {
        conf->max_body_size_at = prev->max_body_size_at;
    }
    ngx_conf_merge_uint_value(conf->mode, prev->mode, gate_off);
    ngx_conf_merge_size_value(conf->max_body_size, prev->max_body_size, 64 * 1024);
    ngx_conf_merge_uint_value(conf->max_depth, prev->max_depth, 16);
    ngx_conf_merge_value(conf->content_type, prev->content_type, 1);
    ngx_conf_merge_ptr_value(conf->zone, prev->zone, nullptr);
    ngx_conf_merge_uint_value(conf->mask_keep, prev->mask_keep, 3);
}

// Every level ends up with a schema, so that a request never needs to
// build one.
void merge_schema(ngx_conf_t *cf, const LocConf *prev, LocConf *conf) noexcept
{
    if (conf->schema == nullptr) {
        conf->schema = prev->schema;
    }
    if (conf->schema == nullptr) {
        MainConf *mcf = static_cast<MainConf *>(
            ngx_http_conf_get_module_main_conf(cf, ngx_http_pbx_webhook_module));
        conf->schema = mcf->catalog;
    }
}

// Secrets are inherited as a whole: a level that names any secret, inline
// or from a file, replaces all of its parent's.
bool merge_secrets(ngx_conf_t *cf, const LocConf *prev, LocConf *conf) noexcept
{
    if (conf->tokens == NGX_CONF_UNSET_PTR && conf->file_tokens == NGX_CONF_UNSET_PTR) {
        conf->tokens = prev->tokens;
        conf->file_tokens = prev->file_tokens;
        conf->token_set = prev->token_set;
    }
    if (conf->tokens == NGX_CONF_UNSET_PTR) {
        conf->tokens = nullptr;
    }
    if (conf->file_tokens == NGX_CONF_UNSET_PTR) {
        conf->file_tokens = nullptr;
    }
    return conf->token_set != nullptr || build_token_set(cf, conf);
}

bool merge_token_header(ngx_conf_t *cf, const LocConf *prev, LocConf *conf) noexcept
{
    if (conf->token_header.data == nullptr) {
        conf->token_header_at = prev->token_header_at;
    }
    ngx_conf_merge_str_value(conf->token_header, prev->token_header, "X-Pbx-Token");

    for (size_t i = 0; i < conf->token_header.len; i++) {
        u_char c = conf->token_header.data[i];
        if (!(isalnum(c) || c == '-' || c == '_')) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "\"pbx_webhook_token_header\" \"%V\" is not a header name",
                               &conf->token_header);
            return false;
        }
    }
    if (conf->token_header.len == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "\"pbx_webhook_token_header\" is empty");
        return false;
    }

    conf->token_header_lower.len = conf->token_header.len;
    conf->token_header_lower.data =
        static_cast<u_char *>(ngx_pnalloc(cf->pool, conf->token_header.len));
    if (conf->token_header_lower.data == nullptr) {
        return false;
    }
    ngx_strlow(conf->token_header_lower.data, conf->token_header.data, conf->token_header.len);
    return true;
}

const ngx_http_core_loc_conf_t *core_loc_conf(ngx_conf_t *cf) noexcept
{
    return static_cast<ngx_http_core_loc_conf_t *>(
        ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module));
}

// A message about a directive read earlier, in nginx -t's own format, at
// the place it was written: ngx_conf_log_error would name the end of the
// http block, where merging happens.
void log_at(ngx_conf_t *cf, ngx_uint_t level, const ConfPlace &at, const char *fmt, ...) noexcept
{
    u_char text[NGX_MAX_CONF_ERRSTR];
    va_list args;
    va_start(args, fmt);
    u_char *end = ngx_vslprintf(text, text + sizeof(text), fmt, args);
    va_end(args);

    size_t len = end - text;
    if (at.line == 0) {
        ngx_conf_log_error(level, cf, 0, "%*s", len, text);
        return;
    }
    ngx_log_error(level, cf->log, 0, "%*s in %V:%ui", len, text, &at.file, at.line);
}

// A server or http level without secrets of its own is fine as long as its
// locations have them; should a request still be judged there, no token
// matches and the gate fails closed.
bool check_gate_has_secret(ngx_conf_t *cf, const LocConf *conf) noexcept
{
    const ngx_http_core_loc_conf_t *clcf = core_loc_conf(cf);

    if (conf->mode != gate_off && conf->token_set->empty() && clcf->name.len != 0) {
        log_at(cf, NGX_LOG_EMERG, conf->mode_at,
               "\"pbx_webhook %s\" needs a secret: add \"pbx_webhook_token\" or "
               "\"pbx_webhook_token_file\" to location \"%V\"",
               conf->mode == gate_on ? "on" : "monitor", &clcf->name);
        return false;
    }
    return true;
}

// Every type a secret's scope names must be one the location accepts, or
// the secret could never send it: most likely a typo. Checked where the gate
// runs, once the location's own types are known.
bool check_scopes(ngx_conf_t *cf, const LocConf *conf) noexcept
{
    const ngx_http_core_loc_conf_t *clcf = core_loc_conf(cf);
    if (conf->mode == gate_off || clcf->name.len == 0) {
        return true;
    }

    const Schema &schema = *conf->schema;
    for (const ngx_array_t *list : {conf->tokens, conf->file_tokens}) {
        if (list == nullptr) {
            continue;
        }
        const ConfSecret *secrets = static_cast<const ConfSecret *>(list->elts);
        for (ngx_uint_t i = 0; i < list->nelts; i++) {
            const ConfScope *scope = secrets[i].scope;
            std::string_view type = scope ? scope->types.unaccepted(schema) : std::string_view();
            if (!type.empty()) {
                log_at(cf, NGX_LOG_EMERG, scope->at,
                       "%s types= names \"%*s\", which location \"%V\" does not accept",
                       scope->origin.c_str(), type.size(), type.data(), &clcf->name);
                return false;
            }
        }
    }
    return true;
}

// The gate answers a GET with 405 before the metrics handler could run.
bool check_metrics(ngx_conf_t *cf, const LocConf *conf) noexcept
{
    if (conf->metrics_at.line == 0) {
        return true;
    }
    if (conf->mode == gate_on) {
        log_at(cf, NGX_LOG_EMERG, conf->metrics_at,
               "\"pbx_webhook_metrics\" where \"pbx_webhook\" is on: the gate refuses the GET "
               "that reads the metrics");
        return false;
    }

    const MainConf *mcf = static_cast<MainConf *>(
        ngx_http_conf_get_module_main_conf(cf, ngx_http_pbx_webhook_module));
    if (mcf->zones == nullptr || mcf->zones->nelts == 0) {
        log_at(cf, NGX_LOG_WARN, conf->metrics_at,
               "\"pbx_webhook_metrics\" has nothing to show: no \"pbx_webhook_zone\" is declared");
    }
    return true;
}

// nginx refuses a body over client_max_body_size before the gate has read
// it, with a 413 and no verdict.
void warn_body_limits(ngx_conf_t *cf, const LocConf *conf,
                      const ngx_http_core_loc_conf_t *clcf) noexcept
{
    if (clcf->client_max_body_size == 0
        || static_cast<off_t>(conf->max_body_size) <= clcf->client_max_body_size)
    {
        return;
    }
    log_at(cf, NGX_LOG_WARN, conf->max_body_size_at.line ? conf->max_body_size_at : conf->mode_at,
           "\"pbx_webhook_max_body_size\" is %uz bytes, above \"client_max_body_size\" %O of "
           "location \"%V\": nginx refuses the larger bodies first",
           conf->max_body_size, clcf->client_max_body_size, &clcf->name);
}

void warn_token_header(ngx_conf_t *cf, const LocConf *conf) noexcept
{
    const ngx_http_core_srv_conf_t *cscf = static_cast<ngx_http_core_srv_conf_t *>(
        ngx_http_conf_get_module_srv_conf(cf, ngx_http_core_module));
    const ngx_str_t &name = conf->token_header;

    if (cscf->underscores_in_headers || ngx_strlchr(name.data, name.data + name.len, '_') == nullptr) {
        return;
    }
    log_at(cf, NGX_LOG_WARN, conf->token_header_at,
           "\"pbx_webhook_token_header\" \"%V\" has \"_\": nginx drops such header lines unless "
           "\"underscores_in_headers on\" is set in the server, so the token would always count "
           "as missing",
           &name);
}

// Settings that pass nginx -t but cannot work as written, in each location
// the gate judges ("if" blocks share their location's).
void warn_about_traps(ngx_conf_t *cf, const LocConf *conf) noexcept
{
    const ngx_http_core_loc_conf_t *clcf = core_loc_conf(cf);

    if (conf->mode == gate_off || clcf->name.len == 0 || clcf->noname) {
        return;
    }
    warn_body_limits(cf, conf, clcf);
    warn_token_header(cf, conf);
}

char *merge_loc_conf(ngx_conf_t *cf, void *parent, void *child) noexcept
{
    const LocConf *prev = static_cast<LocConf *>(parent);
    LocConf *conf = static_cast<LocConf *>(child);

    merge_values(prev, conf);
    merge_schema(cf, prev, conf);

    if (!check_zone_use(cf, conf) || !merge_secrets(cf, prev, conf)
        || !merge_token_header(cf, prev, conf) || !check_gate_has_secret(cf, conf)
        || !merge_dedup_conf(cf, &prev->dedup, &conf->dedup) || !check_metrics(cf, conf)
        || !check_scopes(cf, conf))
    {
        return static_cast<char *>(NGX_CONF_ERROR);
    }
    warn_about_traps(cf, conf);
    return NGX_CONF_OK;
}

void *create_main_conf(ngx_conf_t *cf) noexcept
{
    MainConf *mcf = static_cast<MainConf *>(ngx_pcalloc(cf->pool, sizeof(MainConf)));
    if (mcf == nullptr) {
        return nullptr;
    }

    mcf->catalog = pool_new<Schema>(cf->pool);
    if (mcf->catalog == nullptr) {
        return nullptr;
    }
    try {
        *mcf->catalog = Schema::built_in();
    } catch (const std::exception &e) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "pbx_webhook: %s", e.what());
        return nullptr;
    }
    return mcf;
}

ngx_int_t preconfiguration(ngx_conf_t *cf) noexcept
{
    if (add_dedup_variables(cf) != NGX_OK) {
        return NGX_ERROR;
    }
    return add_variables(cf);
}

ngx_int_t postconfiguration(ngx_conf_t *cf) noexcept
{
    if (init_dedup(cf) != NGX_OK) {
        return NGX_ERROR;
    }
    return init_gate(cf) == NGX_OK ? init_status_line(cf) : NGX_ERROR;
}

ngx_int_t init_module(ngx_cycle_t *cycle) noexcept
{
    ngx_log_error(NGX_LOG_NOTICE, cycle->log, 0, "pbx_webhook module " PBX_WEBHOOK_VERSION);
    return NGX_OK;
}

ngx_http_module_t module_ctx = {
    preconfiguration,  /* preconfiguration */
    postconfiguration, /* postconfiguration */

    create_main_conf, /* create main configuration */
    nullptr, /* init main configuration */

    nullptr, /* create server configuration */
    nullptr, /* merge server configuration */

    create_loc_conf, /* create location configuration */
    merge_loc_conf   /* merge location configuration */
};

}  // namespace

}  // namespace pbxwebhook

extern "C" {

ngx_module_t ngx_http_pbx_webhook_module = {
    NGX_MODULE_V1,
    &pbxwebhook::module_ctx,    /* module context */
    pbxwebhook::commands,       /* module directives */
    NGX_HTTP_MODULE,            /* module type */
    nullptr,                    /* init master */
    pbxwebhook::init_module,    /* init module */
    nullptr,                    /* init process */
    nullptr,                    /* init thread */
    nullptr,                    /* exit thread */
    nullptr,                    /* exit process */
    nullptr,                    /* exit master */
    NGX_MODULE_V1_PADDING
};

}
