/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "appenv.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>

#include "fileio.h"
#include "macro.h"

const char *color_to_string(enum color c) {
        return c == COLOR_BLUE ? "blue" : c == COLOR_GREEN ? "green" : "invalid";
}

enum color color_from_string(const char *s) {
        if (s && streq(s, "blue"))
                return COLOR_BLUE;
        if (s && streq(s, "green"))
                return COLOR_GREEN;
        return _COLOR_INVALID;
}

struct kv {
        char **keys;
        char **values;
        size_t n;
};

typedef const char *(*lookup_fn)(const struct kv *kv, const char *name);

static const char *lookup_environ(const struct kv *kv, const char *name) {
        return getenv(name);
}

static const char *lookup_kv(const struct kv *kv, const char *name) {
        for (size_t i = 0; i < kv->n; i++)
                if (streq(kv->keys[i], name))
                        return kv->values[i];
        return NULL;
}

static int get_str(lookup_fn f, const struct kv *kv, const char *name, bool required, char **ret, const char **bad) {
        const char *v = f(kv, name);

        if (!v || (required && !*v)) {
                if (!required)
                        v = "";
                else {
                        *bad = name;
                        return -EINVAL;
                }
        }
        *ret = strdup(v);
        return *ret ? 0 : -ENOMEM;
}

static int get_int(lookup_fn f, const struct kv *kv, const char *name, int min, int max, int *ret, const char **bad) {
        const char *v = f(kv, name);
        char *end;
        long l;

        if (isempty(v)) {
                *bad = name;
                return -EINVAL;
        }
        errno = 0;
        l = strtol(v, &end, 10);
        if (errno != 0 || *end || l < min || l > max) {
                *bad = name;
                return -EINVAL;
        }
        *ret = (int) l;
        return 0;
}

static bool is_one_line(const char *s) {
        return !strpbrk(s, "\r\n");
}

/* PREFIX_HOST, PREFIX_HEADER_COUNT and PREFIX_HEADER_0... A header line holding CR or LF (set by hand:
 * the generator writes none) is refused rather than sent as two lines. */
static int get_probe_headers(lookup_fn f, const struct kv *kv, const char *prefix, char **host, char ***headers,
                             size_t *n, const char **bad) {
        static char name[3][64];
        int count = 0, r;

        snprintf(name[0], sizeof name[0], "%s_HOST", prefix);
        snprintf(name[1], sizeof name[1], "%s_HEADER_COUNT", prefix);
        if ((r = get_str(f, kv, name[0], false, host, bad)) < 0)
                return r;
        if (!is_one_line(*host)) {
                *bad = name[0];
                return -EINVAL;
        }
        /* An app.env written before bluegreen knew of probe headers has none of these: no headers. */
        if (f(kv, name[1]) && (r = get_int(f, kv, name[1], 0, DECL_HEADERS_MAX, &count, bad)) < 0)
                return r;
        *headers = calloc((size_t) count + 1, sizeof(char *));
        if (!*headers)
                return -ENOMEM;
        for (*n = 0; *n < (size_t) count; (*n)++) {
                snprintf(name[2], sizeof name[2], "%s_HEADER_%zu", prefix, *n);
                if ((r = get_str(f, kv, name[2], true, &(*headers)[*n], bad)) < 0)
                        return r;
                if (!is_one_line((*headers)[*n])) {
                        (*n)++;
                        *bad = name[2];
                        return -EINVAL;
                }
        }
        return 0;
}

int probe_headers_from_environ(const char *prefix, char **ret_host, char ***ret_headers, size_t *ret_n,
                               const char **ret_bad) {
        *ret_host = NULL;
        *ret_headers = NULL;
        *ret_n = 0;
        return get_probe_headers(lookup_environ, NULL, prefix, ret_host, ret_headers, ret_n, ret_bad);
}

/* A socket path: "" (not socket mode) or an absolute path that fits a struct sockaddr_un, which bind(2),
 * connect(2) and curl's CURLOPT_UNIX_SOCKET_PATH all need. */
static int get_socket_path(lookup_fn f, const struct kv *kv, const char *name, char **ret, const char **bad) {
        int r = get_str(f, kv, name, false, ret, bad);

        if (r < 0)
                return r;
        if (**ret && (**ret != '/' || strlen(*ret) >= sizeof(((struct sockaddr_un *) NULL)->sun_path))) {
                *bad = name;
                return -EINVAL;
        }
        return 0;
}

/* An app.env written before bluegreen knew of socket mode, nginx.group and the watch has none of
 * their variables (until the next daemon-reload): no sockets, their defaults, and no watch. */
static int get_sockets(lookup_fn f, const struct kv *kv, struct app_env *e, const char **bad) {
        int r;

        if ((r = get_socket_path(f, kv, "BLUEGREEN_SOCKET_BLUE", &e->socket[COLOR_BLUE], bad)) < 0 ||
            (r = get_socket_path(f, kv, "BLUEGREEN_SOCKET_GREEN", &e->socket[COLOR_GREEN], bad)) < 0 ||
            (r = get_socket_path(f, kv, "BLUEGREEN_SOCKET_LIVE", &e->socket_live, bad)) < 0)
                return r;
        e->nginx_group = strdup(f(kv, "BLUEGREEN_NGINX_GROUP") ?: DECL_NGINX_GROUP_DEFAULT);
        if (!e->nginx_group)
                return -ENOMEM;
        if (!*e->nginx_group || !is_one_line(e->nginx_group)) {
                *bad = "BLUEGREEN_NGINX_GROUP";
                return -EINVAL;
        }
        return 0;
}

static int get_watch(lookup_fn f, const struct kv *kv, struct app_env *e, const char **bad) {
        int r;

        e->watch_failures = DECL_WATCH_FAILURES_DEFAULT;
        e->watch_interval_ms = watch_interval_default(e->health_interval_ms);
        if (f(kv, "BLUEGREEN_WATCH_DURATION_S") &&
            (r = get_int(f, kv, "BLUEGREEN_WATCH_DURATION_S", 0, DECL_WATCH_DURATION_S_MAX, &e->watch_duration_s, bad)) < 0)
                return r;
        if (f(kv, "BLUEGREEN_WATCH_FAILURES") &&
            (r = get_int(f, kv, "BLUEGREEN_WATCH_FAILURES", 1, DECL_WATCH_FAILURES_MAX, &e->watch_failures, bad)) < 0)
                return r;
        if (f(kv, "BLUEGREEN_WATCH_INTERVAL_MS") &&
            (r = get_int(f, kv, "BLUEGREEN_WATCH_INTERVAL_MS", DECL_WATCH_INTERVAL_MS_MIN, DECL_WATCH_INTERVAL_MS_MAX,
                         &e->watch_interval_ms, bad)) < 0)
                return r;
        return 0;
}

/* "" (no metrics, also what an app.env from before metrics says by its silence) or an absolute path. */
static int get_metrics_dir(lookup_fn f, const struct kv *kv, struct app_env *e, const char **bad) {
        int r = get_str(f, kv, "BLUEGREEN_METRICS_DIR", false, &e->metrics_dir, bad);

        if (r < 0)
                return r;
        if (*e->metrics_dir && (*e->metrics_dir != '/' || !is_one_line(e->metrics_dir))) {
                *bad = "BLUEGREEN_METRICS_DIR";
                return -EINVAL;
        }
        return 0;
}

/* "" (none, also what an app.env from before initial_release says by its silence) or a release name. */
static int get_initial_release(lookup_fn f, const struct kv *kv, struct app_env *e, const char **bad) {
        int r = get_str(f, kv, "BLUEGREEN_INITIAL_RELEASE", false, &e->initial_release, bad);

        if (r < 0)
                return r;
        if (*e->initial_release && !release_name_is_valid(e->initial_release)) {
                *bad = "BLUEGREEN_INITIAL_RELEASE";
                return -EINVAL;
        }
        return 0;
}

static int load(lookup_fn f, const struct kv *kv, struct app_env *e, const char **bad) {
        _cleanup_free_ char *style = NULL, *mode = NULL;
        int r, pre = 0, post = 0;

        memset(e, 0, sizeof *e);
        if ((r = get_str(f, kv, "BLUEGREEN_APP", true, &e->app, bad)) < 0 ||
            (r = get_str(f, kv, "BLUEGREEN_STATE_DIR", true, &e->state_dir, bad)) < 0 ||
            (r = get_str(f, kv, "BLUEGREEN_RELEASES", true, &e->releases, bad)) < 0 ||
            (r = get_str(f, kv, "BLUEGREEN_USER", false, &e->user, bad)) < 0 ||
            (r = get_str(f, kv, "BLUEGREEN_BIND", true, &e->bind, bad)) < 0 ||
            (r = get_int(f, kv, "BLUEGREEN_PORT_BLUE", 0, 65535, &e->port[COLOR_BLUE], bad)) < 0 ||
            (r = get_int(f, kv, "BLUEGREEN_PORT_GREEN", 0, 65535, &e->port[COLOR_GREEN], bad)) < 0 ||
            (r = get_int(f, kv, "BLUEGREEN_PORT_LIVE", 0, 65535, &e->port_live, bad)) < 0 ||
            (r = get_str(f, kv, "BLUEGREEN_HEALTH_PATH", false, &e->health_path, bad)) < 0 ||
            (r = get_str(f, kv, "BLUEGREEN_HEALTH_COMMAND", false, &e->health_command, bad)) < 0 ||
            (r = get_int(f, kv, "BLUEGREEN_HEALTH_EXPECT_STATUS", 100, 599, &e->health_expect_status, bad)) < 0 ||
            (r = get_str(f, kv, "BLUEGREEN_HEALTH_BODY_CONTAINS", false, &e->health_body_contains, bad)) < 0 ||
            (r = get_int(f, kv, "BLUEGREEN_HEALTH_TIMEOUT_MS", 1, 600000, &e->health_timeout_ms, bad)) < 0 ||
            (r = get_int(f, kv, "BLUEGREEN_HEALTH_INTERVAL_MS", 1, 600000, &e->health_interval_ms, bad)) < 0 ||
            (r = get_int(f, kv, "BLUEGREEN_HEALTH_SUCCESSES", 1, 1000, &e->health_successes, bad)) < 0 ||
            (r = get_int(f, kv, "BLUEGREEN_HEALTH_DEADLINE_S", 1, 86400, &e->health_deadline_s, bad)) < 0 ||
            (r = get_probe_headers(f, kv, "BLUEGREEN_HEALTH", &e->health_host, &e->health_headers,
                                   &e->n_health_headers, bad)) < 0 ||
            (r = get_int(f, kv, "BLUEGREEN_SMOKE_COUNT", 0, DECL_SMOKE_MAX, &e->n_smoke, bad)) < 0 ||
            (r = get_str(f, kv, "BLUEGREEN_NGINX_INCLUDE", true, &e->nginx_include, bad)) < 0 ||
            (r = get_str(f, kv, "BLUEGREEN_NGINX_STYLE", true, &style, bad)) < 0 ||
            (r = get_str(f, kv, "BLUEGREEN_NGINX_UPSTREAM", true, &e->nginx_upstream, bad)) < 0 ||
            (r = get_int(f, kv, "BLUEGREEN_NGINX_KEEPALIVE", 0, 65535, &e->nginx_keepalive, bad)) < 0 ||
            (r = get_int(f, kv, "BLUEGREEN_NGINX_KEEPALIVE_TIME_S", 1, 86400, &e->nginx_keepalive_time_s, bad)) < 0 ||
            (r = get_str(f, kv, "BLUEGREEN_NGINX_SWITCH", true, &mode, bad)) < 0 ||
            (r = get_str(f, kv, "BLUEGREEN_NGINX_UNIT", true, &e->nginx_unit, bad)) < 0 ||
            (r = get_str(f, kv, "BLUEGREEN_NGINX_TEST", true, &e->nginx_test, bad)) < 0 ||
            (r = get_int(f, kv, "BLUEGREEN_DRAIN_S", 0, 31536000, &e->drain_s, bad)) < 0 ||
            (r = get_int(f, kv, "BLUEGREEN_HOOK_PRE_START", 0, 1, &pre, bad)) < 0 ||
            (r = get_int(f, kv, "BLUEGREEN_HOOK_POST_SWITCH", 0, 1, &post, bad)) < 0 ||
            (r = get_str(f, kv, "BLUEGREEN_TRIGGER", true, &e->trigger, bad)) < 0 ||
            (r = get_sockets(f, kv, e, bad)) < 0 || (r = get_watch(f, kv, e, bad)) < 0 ||
            (r = get_metrics_dir(f, kv, e, bad)) < 0 || (r = get_initial_release(f, kv, e, bad)) < 0)
                return r;

        if (streq(mode, "redirect") && e->port_live > 0)
                e->switch_mode = SWITCH_REDIRECT;
        else if (streq(mode, "reload"))
                e->switch_mode = SWITCH_RELOAD;
        else if (streq(mode, "socket") && *e->socket[COLOR_BLUE] && *e->socket[COLOR_GREEN] && *e->socket_live)
                e->switch_mode = SWITCH_SOCKET;
        else {
                *bad = "BLUEGREEN_NGINX_SWITCH";
                return -EINVAL;
        }
        /* Only socket mode runs colors without a port. */
        for (enum color c = COLOR_BLUE; c <= COLOR_GREEN; c++)
                if (e->switch_mode != SWITCH_SOCKET && e->port[c] == 0) {
                        *bad = c == COLOR_BLUE ? "BLUEGREEN_PORT_BLUE" : "BLUEGREEN_PORT_GREEN";
                        return -EINVAL;
                }
        e->hook_pre_start = pre;
        e->hook_post_switch = post;
        if (streq(style, "upstream"))
                e->nginx_style = NGINX_STYLE_UPSTREAM;
        else if (streq(style, "variable"))
                e->nginx_style = NGINX_STYLE_VARIABLE;
        else {
                *bad = "BLUEGREEN_NGINX_STYLE";
                return -EINVAL;
        }

        e->smoke = calloc((size_t) e->n_smoke + 1, sizeof(struct http_check));
        if (!e->smoke)
                return -ENOMEM;
        for (int i = 0; i < e->n_smoke; i++) {
                static char name[4][64];
                struct http_check *h = &e->smoke[i];

                snprintf(name[0], sizeof name[0], "BLUEGREEN_SMOKE_%d_PATH", i);
                snprintf(name[1], sizeof name[1], "BLUEGREEN_SMOKE_%d_EXPECT_STATUS", i);
                snprintf(name[2], sizeof name[2], "BLUEGREEN_SMOKE_%d_BODY_CONTAINS", i);
                snprintf(name[3], sizeof name[3], "BLUEGREEN_SMOKE_%d", i);
                if ((r = get_str(f, kv, name[0], true, &h->path, bad)) < 0 ||
                    (r = get_int(f, kv, name[1], 100, 599, &h->expect_status, bad)) < 0 ||
                    (r = get_str(f, kv, name[2], false, &h->body_contains, bad)) < 0 ||
                    (r = get_probe_headers(f, kv, name[3], &h->host, &h->headers, &h->n_headers, bad)) < 0)
                        return r;
        }
        return 0;
}

int app_env_from_environ(struct app_env *e, const char **ret_bad) {
        return load(lookup_environ, NULL, e, ret_bad);
}

/* Parses the subset of systemd's EnvironmentFile= syntax the generator writes: KEY=VALUE or
 * KEY="VALUE" with \\ \" \$ \` escapes, comments and blank lines. */
static int parse_env_text(char *text, struct kv *kv) {
        for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
                char *eq, *v, *out;
                char **nk, **nv;

                if (line[0] == '#' || !(eq = strchr(line, '=')))
                        continue;
                *eq = 0;
                v = eq + 1;
                if (*v == '"') {
                        v++;
                        out = v;
                        for (char *p = v; *p && *p != '"'; p++) {
                                if (*p == '\\' && p[1] && strchr("\\\"$`", p[1]))
                                        p++;
                                *out++ = *p;
                        }
                        *out = 0;
                }
                nk = realloc(kv->keys, (kv->n + 1) * sizeof(char *));
                if (!nk)
                        return -ENOMEM;
                kv->keys = nk;
                nv = realloc(kv->values, (kv->n + 1) * sizeof(char *));
                if (!nv)
                        return -ENOMEM;
                kv->values = nv;
                kv->keys[kv->n] = line;
                kv->values[kv->n] = v;
                kv->n++;
        }
        return 0;
}

/* What systemd reads of an EnvironmentFile= at most (READ_FULL_BYTES_MAX in its fileio.c), and so what
 * the helpers read too. The largest app.env the generator can write must fit: about 20 quoted values,
 * health's Host and headers, and per smoke check its path, body, Host and headers, each at most
 * DECL_VALUE_MAX bytes, doubled by escaping, plus its key. */
#define APP_ENV_SIZE_MAX (4 * 1024 * 1024 - 1)
_Static_assert((20 + 1 + DECL_HEADERS_MAX + DECL_SMOKE_MAX * (3 + DECL_HEADERS_MAX)) * (2 * DECL_VALUE_MAX + 64) <
                       APP_ENV_SIZE_MAX,
               "an app.env the generator writes must fit what systemd and the helpers read back");

int app_env_from_file(const char *path, struct app_env *e, const char **ret_bad) {
        _cleanup_free_ char *text = NULL;
        struct kv kv = {};
        int r;

        r = read_file(path, APP_ENV_SIZE_MAX, &text, NULL);
        if (r < 0)
                return r;
        r = parse_env_text(text, &kv);
        if (r >= 0)
                r = load(lookup_kv, &kv, e, ret_bad);
        free(kv.keys);
        free(kv.values);
        return r;
}

void app_env_done(struct app_env *e) {
        free(e->app);
        free(e->state_dir);
        free(e->releases);
        free(e->user);
        free(e->bind);
        free(e->health_path);
        free(e->health_command);
        free(e->health_body_contains);
        free(e->health_host);
        for (size_t i = 0; e->health_headers && i < e->n_health_headers; i++)
                free(e->health_headers[i]);
        free(e->health_headers);
        for (int i = 0; e->smoke && i < e->n_smoke; i++)
                http_check_done(&e->smoke[i]);
        free(e->smoke);
        free(e->nginx_include);
        free(e->nginx_upstream);
        free(e->nginx_unit);
        free(e->nginx_test);
        free(e->nginx_group);
        free(e->socket[COLOR_BLUE]);
        free(e->socket[COLOR_GREEN]);
        free(e->socket_live);
        free(e->trigger);
        free(e->metrics_dir);
        free(e->initial_release);
        memset(e, 0, sizeof *e);
}
