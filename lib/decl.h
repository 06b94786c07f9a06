/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>

/* The in-memory form of one /etc/bluegreen/<app>.conf declaration, after validation: every field holds
 * either the declared value or its documented default, so consumers never apply defaults themselves. */

enum hardening {
        HARDENING_STRICT,
        HARDENING_BASIC,
        HARDENING_OFF,
};

enum nginx_style {
        NGINX_STYLE_UPSTREAM,
        NGINX_STYLE_VARIABLE,
};

/* How traffic moves to the new color: "reload" rewrites the include and reloads nginx (the runbook's
 * way); "redirect" points nginx once at a stable port and moves an nftables redirect rule; "socket"
 * points nginx once at a stable unix socket path, a symbolic link renamed to the live color's socket. */
enum switch_mode {
        SWITCH_RELOAD,
        SWITCH_REDIRECT,
        SWITCH_SOCKET,
};

/* Where the colors' sockets live in socket mode: RUN_ROOT/APP/COLOR/http.sock, in the color unit's
 * RuntimeDirectory= (so systemd removes it, and any stale socket, whenever the color stops), and
 * RUN_ROOT/APP/live.sock, the link nginx connects through. */
#define BLUEGREEN_RUN_ROOT "/run/bluegreen"
#define BLUEGREEN_SOCKET_NAME "http.sock"
#define BLUEGREEN_SOCKET_LIVE_NAME "live.sock"

/* The longest app name (app_name_is_valid()). */
#define APP_NAME_MAX 64

struct env_pair {
        char *name;
        char *value;
};

struct http_check {
        char *path;
        int expect_status;
        char *body_contains;
        /* What the probe sends besides the request line: a Host ("" sends the address and port probed,
         * curl's default) and extra "Name: value" lines. A smoke check holds health's unless it
         * declares its own. */
        char *host;
        char **headers;
        size_t n_headers;
};

struct app_decl {
        char *name;
        char *source;

        char *releases;
        char *exec;
        char *workdir;
        char *user; /* NULL: DynamicUser=yes */
        char *group;
        int port_blue; /* 0 in socket mode */
        int port_green;
        int port_live; /* 0 unless nginx.switch is "redirect" */
        char *bind; /* "127.0.0.1" in socket mode, where it may not be declared */
        struct env_pair *environment;
        size_t n_environment;
        char **environment_files;
        size_t n_environment_files;

        struct {
                struct http_check http; /* http.path is NULL when command is set */
                char *command;
                int timeout_ms;
                int interval_ms;
                int successes;
                int deadline_s;
        } health;

        struct http_check *smoke;
        size_t n_smoke;

        struct {
                char *include;
                enum nginx_style style;
                char *upstream;
                int keepalive;
                int keepalive_time_s;
                enum switch_mode switch_mode;
                /* Reload mode reached by the default rule rather than declared: the generator says
                 * once what that costs. switch_default_file:switch_default_line is where to say it
                 * (exec, the line that would choose socket mode). */
                bool switch_defaulted;
                char *switch_default_file;
                unsigned switch_default_line;
                char *unit;
                char *test;
                char *group; /* nginx's worker group: owns the socket directories in socket mode */
        } nginx;

        /* After a deploy's switch, the new live color is watched for duration_s (0: not at all) and
         * rolled back after failures failed probes in a row, one every interval_ms. */
        struct {
                int duration_s;
                int failures;
                int interval_ms;
        } watch;

        /* Where the app's figures go for node_exporter's textfile collector: DIR/bluegreen-APP.prom
         * after every deploy, rollback, retirement and boot. "" turns metrics off. */
        struct {
                char *directory;
        } metrics;

        int drain_s;
        struct {
                char *signal; /* canonical "SIGTERM" form */
                int timeout_s;
        } stop;
        struct {
                char *pre_start; /* NULL: no hook */
                char *post_switch;
        } hooks;
        enum hardening hardening;
        char **read_write_paths;
        size_t n_read_write_paths;
        char *trigger;
        /* The release deployed at boot while nothing has been deployed yet (a machine image's first
         * boot); NULL: none. */
        char *initial_release;
};

/* What one declaration may pull in with @include, so that none can hold up the generator and with it
 * every other app: libconfig 1.5's own nesting bound (an include loop ends there), the number of files
 * included in all (so that includes fanning out cannot run for hours), and the bytes of the
 * declaration and every file it includes together. */
#define DECL_INCLUDE_DEPTH_MAX 10
#define DECL_INCLUDE_FILES_MAX 64
#define DECL_TEXT_SIZE_MAX (1024 * 1024)

/* The longest string a declaration may give any key, in bytes: what the generator writes must stay well
 * within systemd's line limit and the size the helpers read an environment file back at. */
#define DECL_VALUE_MAX 4096

/* nginx.include must be a *.conf file in a directory below this one (see bluegreen.conf(5)). */
#define NGINX_INCLUDE_ROOT "/etc/nginx"

/* One bound per list, used by the generator's checks and by the helpers that read the list back from
 * the environment files, so that the two can never disagree. */
#define DECL_SMOKE_MAX 32
#define DECL_ENVIRONMENT_MAX 128
#define DECL_ENVIRONMENT_FILES_MAX 16
#define DECL_READ_WRITE_PATHS_MAX 64
/* Extra header lines per probe (health, and each smoke check). Small enough that an app.env with every
 * list full stays below what systemd reads of an environment file (see APP_ENV_SIZE_MAX). */
#define DECL_HEADERS_MAX 8

/* nginx.group when not declared: the user Debian's nginx runs its workers as. */
#define DECL_NGINX_GROUP_DEFAULT "www-data"

/* metrics.directory when not declared: what Debian's prometheus-node-exporter reads (its
 * --collector.textfile.directory). */
#define DECL_METRICS_DIRECTORY_DEFAULT "/var/lib/prometheus/node-exporter"

/* The watch's bounds and defaults (bluegreen.conf(5), WATCH), shared with the helpers that read them
 * back. Five minutes covers what goes wrong soon after a switch (a leak, a cache gone cold, a
 * dependency the new code calls) while the old color's warmth is still cheap; three failures in a
 * row ride out one slow probe. */
#define DECL_WATCH_DURATION_S_DEFAULT 300
#define DECL_WATCH_DURATION_S_MAX 86400
#define DECL_WATCH_FAILURES_DEFAULT 3
#define DECL_WATCH_FAILURES_MAX 100
#define DECL_WATCH_INTERVAL_MS_MIN 100
#define DECL_WATCH_INTERVAL_MS_MAX 60000

/* watch.interval_ms when not declared: health.interval_ms, brought within the watch's bounds. */
static inline int watch_interval_default(int health_interval_ms) {
        return health_interval_ms < DECL_WATCH_INTERVAL_MS_MIN   ? DECL_WATCH_INTERVAL_MS_MIN
               : health_interval_ms > DECL_WATCH_INTERVAL_MS_MAX ? DECL_WATCH_INTERVAL_MS_MAX
                                                                 : health_interval_ms;
}

/* Problems found while reading one declaration, each already formatted as "FILE:LINE: message". */
struct diag {
        char **msgs;
        size_t n;
};

void diag_done(struct diag *d);
/* Adds one message; -ENOMEM when it could not be. */
int diag_add_printf(struct diag *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

void http_check_done(struct http_check *h);
void app_decl_free(struct app_decl *d);
static inline void app_decl_freep(struct app_decl **d) {
        if (*d)
                app_decl_free(*d);
}

/* Validity of the names bluegreen derives unit and file names from. */
bool app_name_is_valid(const char *s);
bool release_name_is_valid(const char *s);

const char *hardening_to_string(enum hardening h);
const char *nginx_style_to_string(enum nginx_style s);
const char *switch_mode_to_string(enum switch_mode m);

/* Reads and validates the declaration at path for the app called name. Returns 0 and the declaration,
 * or a negative errno: -EINVAL when the file is readable but wrong (every problem found is added to
 * diag), another error when it could not be read (also explained in diag). */
int app_decl_load(const char *path, const char *name, struct app_decl **ret, struct diag *diag);
