#include "ngx_http_pbx_webhook_module.hpp"

#include <cctype>
#include <new>
#include <string>
#include <string_view>
#include <vector>

#include "version.hpp"

namespace pbxwebhook {

namespace {

constexpr size_t short_secret = 16;
constexpr off_t token_file_limit = 1024 * 1024;
constexpr size_t max_body_size_limit = 1024 * 1024 * 1024;
constexpr ngx_uint_t max_depth_limit = 512;

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
    return NGX_CONF_OK;
}

char *add_secret(ngx_conf_t *cf, ngx_array_t **list, ngx_str_t secret, const char *where,
                 ngx_uint_t line) noexcept
{
    if (*list == NGX_CONF_UNSET_PTR) {
        *list = ngx_array_create(cf->pool, 2, sizeof(ngx_str_t));
        if (*list == nullptr) {
            return static_cast<char *>(NGX_CONF_ERROR);
        }
    }

    if (secret.len < short_secret) {
        if (line) {
            ngx_conf_log_error(NGX_LOG_WARN, cf, 0,
                               "%s line %ui: secret is shorter than %uz bytes", where, line,
                               short_secret);
        } else {
            ngx_conf_log_error(NGX_LOG_WARN, cf, 0, "%s secret is shorter than %uz bytes", where,
                               short_secret);
        }
    }

    ngx_str_t *slot = static_cast<ngx_str_t *>(ngx_array_push(*list));
    if (slot == nullptr) {
        return static_cast<char *>(NGX_CONF_ERROR);
    }
    *slot = secret;
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

    return add_secret(cf, &lcf->tokens, value[1], "\"pbx_webhook_token\"", 0);
}

bool is_space(u_char c) noexcept
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

char *set_token_file(ngx_conf_t *cf, ngx_command_t *, void *conf) noexcept
{
    LocConf *lcf = static_cast<LocConf *>(conf);
    ngx_str_t *value = static_cast<ngx_str_t *>(cf->args->elts);
    ngx_str_t path = value[1];

    if (ngx_conf_full_name(cf->cycle, &path, 1) != NGX_OK) {
        return static_cast<char *>(NGX_CONF_ERROR);
    }

    ngx_fd_t fd = ngx_open_file(path.data, NGX_FILE_RDONLY, NGX_FILE_OPEN, 0);
    if (fd == NGX_INVALID_FILE) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, ngx_errno,
                           "\"pbx_webhook_token_file\" cannot open \"%V\"", &path);
        return static_cast<char *>(NGX_CONF_ERROR);
    }

    char *rv = static_cast<char *>(NGX_CONF_ERROR);
    ngx_file_info_t info;
    u_char *text = nullptr;
    ssize_t n = 0;

    if (ngx_fd_info(fd, &info) == NGX_FILE_ERROR) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, ngx_errno,
                           "\"pbx_webhook_token_file\" cannot stat \"%V\"", &path);
        goto done;
    }

    if (ngx_file_size(&info) > token_file_limit) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"pbx_webhook_token_file\" \"%V\" is larger than %O bytes", &path,
                           token_file_limit);
        goto done;
    }

    if (info.st_mode & S_IROTH) {
        ngx_conf_log_error(NGX_LOG_WARN, cf, 0,
                           "\"pbx_webhook_token_file\" \"%V\" is readable by others", &path);
    }

    text = static_cast<u_char *>(ngx_pnalloc(cf->pool, ngx_file_size(&info) + 1));
    if (text == nullptr) {
        goto done;
    }

    n = ngx_read_fd(fd, text, ngx_file_size(&info));
    if (n == -1) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, ngx_errno,
                           "\"pbx_webhook_token_file\" cannot read \"%V\"", &path);
        goto done;
    }

    {
        ngx_uint_t found = 0;
        ngx_uint_t line = 0;
        u_char *p = text;
        u_char *end = text + n;

        while (p < end) {
            u_char *eol = static_cast<u_char *>(ngx_strlchr(p, end, '\n'));
            if (eol == nullptr) {
                eol = end;
            }
            line++;

            u_char *first = p;
            u_char *last = eol;
            while (first < last && is_space(*first)) {
                first++;
            }
            while (last > first && is_space(last[-1])) {
                last--;
            }

            if (last > first) {
                ngx_str_t secret = {static_cast<size_t>(last - first), first};
                u_char where[NGX_MAX_PATH + 64];
                u_char *w = ngx_snprintf(where, sizeof(where) - 1,
                                         "\"pbx_webhook_token_file\" \"%V\"", &path);
                *w = '\0';
                if (add_secret(cf, &lcf->file_tokens, secret, reinterpret_cast<char *>(where),
                               line)
                    != NGX_CONF_OK)
                {
                    goto done;
                }
                found++;
            }
            p = eol + 1;
        }

        if (found == 0) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "\"pbx_webhook_token_file\" \"%V\" has no secret", &path);
            goto done;
        }
    }

    rv = NGX_CONF_OK;

done:
    if (ngx_close_file(fd) == NGX_FILE_ERROR) {
        ngx_conf_log_error(NGX_LOG_ALERT, cf, ngx_errno, ngx_close_file_n " \"%V\" failed", &path);
    }
    return rv;
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
     any_level | NGX_CONF_TAKE1,
     set_token,
     NGX_HTTP_LOC_CONF_OFFSET,
     0,
     nullptr},

    {ngx_string("pbx_webhook_token_file"),
     any_level | NGX_CONF_TAKE1,
     set_token_file,
     NGX_HTTP_LOC_CONF_OFFSET,
     0,
     nullptr},

    {ngx_string("pbx_webhook_token_header"),
     any_level | NGX_CONF_TAKE1,
     ngx_conf_set_str_slot,
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
     ngx_conf_set_size_slot,
     NGX_HTTP_LOC_CONF_OFFSET,
     offsetof(LocConf, max_body_size),
     &max_body_size_post},

    {ngx_string("pbx_webhook_max_depth"),
     any_level | NGX_CONF_TAKE1,
     ngx_conf_set_num_slot,
     NGX_HTTP_LOC_CONF_OFFSET,
     offsetof(LocConf, max_depth),
     &max_depth_post},

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
            ngx_str_t *secret = static_cast<ngx_str_t *>(list->elts);
            for (ngx_uint_t i = 0; i < list->nelts; i++) {
                conf->token_set->add(view(secret[i]));
            }
        }
    } catch (const std::exception &e) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "pbx_webhook: %s", e.what());
        return false;
    }
    return true;
}

char *merge_loc_conf(ngx_conf_t *cf, void *parent, void *child) noexcept
{
    LocConf *prev = static_cast<LocConf *>(parent);
    LocConf *conf = static_cast<LocConf *>(child);

    ngx_conf_merge_uint_value(conf->mode, prev->mode, gate_off);
    ngx_conf_merge_str_value(conf->token_header, prev->token_header, "X-Pbx-Token");
    ngx_conf_merge_size_value(conf->max_body_size, prev->max_body_size, 64 * 1024);
    ngx_conf_merge_uint_value(conf->max_depth, prev->max_depth, 16);
    ngx_conf_merge_value(conf->content_type, prev->content_type, 1);
    ngx_conf_merge_ptr_value(conf->zone, prev->zone, nullptr);

    if (conf->zone != nullptr && conf->zone->shm.size == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"pbx_webhook_zone_use\" names \"%V\", which no \"pbx_webhook_zone\" "
                           "declares",
                           &conf->zone->shm.name);
        return static_cast<char *>(NGX_CONF_ERROR);
    }

    if (merge_dedup_conf(cf, &prev->dedup, &conf->dedup) != NGX_CONF_OK) {
        return static_cast<char *>(NGX_CONF_ERROR);
    }

    if (conf->schema == nullptr) {
        conf->schema = prev->schema;
    }

    // Secrets are inherited as a whole: a level that names any secret,
    // inline or from a file, replaces all of its parent's.
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
    if (conf->token_set == nullptr && !build_token_set(cf, conf)) {
        return static_cast<char *>(NGX_CONF_ERROR);
    }

    for (size_t i = 0; i < conf->token_header.len; i++) {
        u_char c = conf->token_header.data[i];
        if (!(isalnum(c) || c == '-' || c == '_')) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "\"pbx_webhook_token_header\" \"%V\" is not a header name",
                               &conf->token_header);
            return static_cast<char *>(NGX_CONF_ERROR);
        }
    }
    if (conf->token_header.len == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "\"pbx_webhook_token_header\" is empty");
        return static_cast<char *>(NGX_CONF_ERROR);
    }
    conf->token_header_lower.len = conf->token_header.len;
    conf->token_header_lower.data =
        static_cast<u_char *>(ngx_pnalloc(cf->pool, conf->token_header.len));
    if (conf->token_header_lower.data == nullptr) {
        return static_cast<char *>(NGX_CONF_ERROR);
    }
    ngx_strlow(conf->token_header_lower.data, conf->token_header.data, conf->token_header.len);

    // A server or http level without secrets of its own is fine as long as
    // its locations have them; should a request still be judged there, no
    // token matches and the gate fails closed.
    ngx_http_core_loc_conf_t *clcf = static_cast<ngx_http_core_loc_conf_t *>(
        ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module));

    if (conf->mode != gate_off && conf->token_set->empty() && clcf->name.len != 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"pbx_webhook %s\" needs a secret: add \"pbx_webhook_token\" or "
                           "\"pbx_webhook_token_file\"",
                           conf->mode == gate_on ? "on" : "monitor");
        return static_cast<char *>(NGX_CONF_ERROR);
    }

    return NGX_CONF_OK;
}

void *create_main_conf(ngx_conf_t *cf) noexcept
{
    return ngx_pcalloc(cf->pool, sizeof(MainConf));
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
    return init_gate(cf);
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
