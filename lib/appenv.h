/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>

#include "decl.h"

/* An app's parameters as the helpers see them: from the environment files the generator wrote (via
 * EnvironmentFile= in the unit, or read directly by bluegreenctl). The generator is the only reader of
 * declarations; everything after it works from this. */
struct app_env {
        char *app;
        char *state_dir;
        char *releases;
        char *user;
        char *bind;
        int port[2]; /* [0] blue, [1] green; 0 in socket mode */
        int port_live; /* 0 unless switch_mode is SWITCH_REDIRECT */
        char *socket[2]; /* each color's socket path; "" unless switch_mode is SWITCH_SOCKET */
        char *socket_live; /* the link nginx connects to; "" unless SWITCH_SOCKET */
        char *health_path;
        char *health_command;
        int health_expect_status;
        char *health_body_contains;
        char *health_host; /* "": the address and port probed */
        char **health_headers;
        size_t n_health_headers;
        int health_timeout_ms;
        int health_interval_ms;
        int health_successes;
        int health_deadline_s;
        struct http_check *smoke;
        int n_smoke;
        char *nginx_include;
        enum nginx_style nginx_style;
        char *nginx_upstream;
        int nginx_keepalive;
        int nginx_keepalive_time_s;
        enum switch_mode switch_mode;
        char *nginx_unit;
        char *nginx_test;
        char *nginx_group;
        int drain_s;
        int watch_duration_s; /* 0: no watch */
        int watch_failures;
        int watch_interval_ms;
        bool hook_pre_start;
        bool hook_post_switch;
        char *trigger;
        char *metrics_dir; /* where bluegreen-APP.prom goes; "": no metrics */
        char *initial_release; /* deployed at boot while nothing is; "": none */
};

enum color {
        COLOR_BLUE,
        COLOR_GREEN,
        _COLOR_INVALID = -1,
};

const char *color_to_string(enum color c);
enum color color_from_string(const char *s);
static inline enum color color_other(enum color c) {
        return c == COLOR_BLUE ? COLOR_GREEN : COLOR_BLUE;
}

/* From the process environment. Returns -EINVAL and names the variable in *ret_bad when one is
 * missing or malformed. */
int app_env_from_environ(struct app_env *e, const char **ret_bad);

/* The Host and extra header lines of one probe, prefix "BLUEGREEN_HEALTH" or "BLUEGREEN_SMOKE_N", from
 * the process environment: for the health gate, which takes nothing else of app.env. */
int probe_headers_from_environ(const char *prefix, char **ret_host, char ***ret_headers, size_t *ret_n,
                               const char **ret_bad);

/* From an app.env file the generator wrote. */
int app_env_from_file(const char *path, struct app_env *e, const char **ret_bad);

void app_env_done(struct app_env *e);
