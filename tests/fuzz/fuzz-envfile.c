/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Fuzz target: what the generator writes into the environment files, the helpers must read back the
 * same. The input is not text but choices: it is read as a declaration's values (each string any
 * bytes, written into the declaration with libconfig's escapes, each number any int), so that nearly
 * every run gets past the parser. Then, for one app:
 *   the parser accepts the declaration exactly when the generator generates its units;
 *   an accepted declaration holds the strings written into it, byte for byte;
 *   app_env_from_file() reads app.env back, and every value equals the declaration's (defaults
 *   included), and blue.env/green.env say their color and port and nothing else;
 *   the color unit's Environment= lines, read as systemd reads them, are the declared environment.
 * Any difference aborts, naming the value. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "appenv.h"
#include "decl.h"
#include "fileio.h"
#include "fuzz-scratch.h"
#include "fuzz-target.h"
#include "generator-main.h"
#include "log.h"
#include "macro.h"
#include "unit-lines.h"

struct input {
        const uint8_t *p;
        size_t n;
};

static uint8_t take_byte(struct input *in) {
        if (in->n == 0)
                return 0;
        in->n--;
        return *in->p++;
}

/* Mostly a value in [min, max] (so that most declarations are valid), sometimes one just outside,
 * sometimes any int. */
static int take_int(struct input *in, int min, int max) {
        uint8_t how = take_byte(in);
        unsigned v = 0;

        for (int i = 0; i < 4; i++)
                v = v << 8 | take_byte(in);
        if (how < 200)
                return min + (int) (v % ((unsigned) (max - min) + 1));
        if (how < 230)
                return how & 1 ? max + 1 : min - 1;
        return (int) v;
}

/* The bytes a string is made of, chosen per string: mostly what paths and names are made of, so that
 * most declarations pass validation, then any printable ASCII (quotes, "\\", "%", "$"), then any byte.
 * NUL cannot be in a libconfig string and stays out. */
static char string_byte(uint8_t how, uint8_t b) {
        static const char safe[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-/";

        if (how < 128)
                return safe[b % (sizeof safe - 1)];
        if (how < 192)
                return (char) (' ' + b % ('~' - ' ' + 1));
        return (char) (b ?: ' ');
}

/* A string of up to 64 bytes, sometimes far more, between prefix and suffix. */
static char *take_string(struct input *in, const char *prefix, const char *suffix) {
        uint8_t how = take_byte(in);
        size_t len = take_byte(in), plen = strlen(prefix), slen = strlen(suffix);
        char *s;

        if (len == 255)
                len = 4000 + take_byte(in);
        else
                len %= 65;
        if (len > in->n)
                len = in->n;
        s = malloc(plen + len + slen + 1);
        if (!s)
                abort();
        memcpy(s, prefix, plen);
        for (size_t i = 0; i < len; i++)
                s[plen + i] = string_byte(how, in->p[i]);
        memcpy(s + plen + len, suffix, slen + 1);
        in->p += len;
        in->n -= len;
        return s;
}

/* The value as a libconfig string literal: \" and \\, and \xNN for every byte outside printable ASCII. */
static void put_string(FILE *f, const char *key, const char *value) {
        fprintf(f, "%s = \"", key);
        for (const unsigned char *p = (const unsigned char *) value; *p; p++)
                if (*p == '"' || *p == '\\')
                        fprintf(f, "\\%c", *p);
                else if (*p < 0x20 || *p >= 0x7f)
                        fprintf(f, "\\x%02x", *p);
                else
                        fputc(*p, f);
        fputs("\";\n", f);
}

/* What the input declares; NULL strings and 0 numbers (in a flags bit's absence) are not declared. */
struct declared {
        char *releases, *exec, *workdir, *user, *group, *bind;
        int port_blue, port_green, port_live;
        bool health;
        char *health_path, *health_command, *health_body;
        int health_status, health_timeout, health_interval, health_successes, health_deadline;
        size_t n_smoke;
        char *smoke_path[DECL_SMOKE_MAX + 1], *smoke_body[DECL_SMOKE_MAX + 1];
        int smoke_status[DECL_SMOKE_MAX + 1];
        bool nginx;
        char *include, *style, *upstream, *unit, *test, *mode;
        int keepalive, keepalive_time;
        int drain_s;
        char *pre_start, *post_switch, *trigger;
        size_t n_env; /* named V0, V1, ... */
        char *env[DECL_ENVIRONMENT_MAX + 1];
};

static void declared_done(struct declared *x) {
        char **strs[] = { &x->releases, &x->exec,     &x->workdir,     &x->user,        &x->group,
                          &x->bind,     &x->health_path, &x->health_command, &x->health_body, &x->include,
                          &x->style,    &x->upstream, &x->unit,        &x->test,        &x->mode,
                          &x->pre_start, &x->post_switch, &x->trigger };

        for (size_t i = 0; i < ELEMENTSOF(strs); i++)
                free(*strs[i]);
        for (size_t i = 0; i < x->n_smoke; i++) {
                free(x->smoke_path[i]);
                free(x->smoke_body[i]);
        }
        for (size_t i = 0; i < x->n_env; i++)
                free(x->env[i]);
}

static void take_declared(struct input *in, struct declared *x) {
        uint8_t f1 = take_byte(in), f2 = take_byte(in), f3 = take_byte(in);

        x->releases = take_string(in, "/srv/", "");
        x->exec = take_string(in, "bin/app ", "");
        if (f1 & 1)
                x->workdir = take_string(in, "", "");
        if (f1 & 2)
                x->user = take_string(in, "u", "");
        if (f1 & 4)
                x->group = take_string(in, "g", "");
        if (f1 & 8)
                x->bind = take_string(in, "", "");
        x->port_blue = take_int(in, 1, 65535);
        x->port_green = take_int(in, 1, 65535);
        if (f1 & 16)
                x->port_live = take_int(in, 1, 65535);
        if ((x->health = f1 & 32)) {
                if (f2 & 1)
                        x->health_command = take_string(in, "", "");
                else if (f2 & 2)
                        x->health_path = take_string(in, "/", "");
                if (f2 & 4)
                        x->health_body = take_string(in, "", "");
                if (f2 & 8)
                        x->health_status = take_int(in, 100, 599);
                if (f2 & 16)
                        x->health_timeout = take_int(in, 1, 600000);
                if (f2 & 32)
                        x->health_interval = take_int(in, 1, 600000);
                if (f2 & 64)
                        x->health_successes = take_int(in, 1, 1000);
                if (f2 & 128)
                        x->health_deadline = take_int(in, 1, 86400);
        }
        if (f1 & 64) {
                x->n_smoke = take_byte(in) % (DECL_SMOKE_MAX + 2);
                for (size_t i = 0; i < x->n_smoke; i++) {
                        uint8_t f = take_byte(in);

                        x->smoke_path[i] = take_string(in, "/", "");
                        if (f & 1)
                                x->smoke_body[i] = take_string(in, "", "");
                        if (f & 2)
                                x->smoke_status[i] = take_int(in, 100, 599);
                }
        }
        if ((x->nginx = f1 & 128)) {
                if (f3 & 1)
                        x->include = take_string(in, NGINX_INCLUDE_ROOT "/conf.d/", ".conf");
                if (f3 & 2)
                        x->style = strdup(f3 & 4 ? "variable" : "upstream");
                if (f3 & 8)
                        x->upstream = take_string(in, "", "");
                if (f3 & 16)
                        x->unit = take_string(in, "", ".service");
                if (f3 & 32)
                        x->test = take_string(in, "", "");
                if (f3 & 64) {
                        x->mode = strdup(x->port_live ? "redirect" : "reload");
                        x->keepalive = take_int(in, 0, 65535);
                        x->keepalive_time = take_int(in, 1, 86400);
                }
        }
        if (f3 & 128)
                x->drain_s = take_int(in, 0, 31536000);
        if (f2 & 1 && f3 & 1)
                x->pre_start = take_string(in, "", "");
        if (f2 & 2 && f3 & 2)
                x->post_switch = take_string(in, "", "");
        if (f2 & 4 && f3 & 4)
                x->trigger = take_string(in, "/srv/", "");
        if (f2 & 8 && f3 & 8) {
                uint8_t n = take_byte(in);

                x->n_env = n == 255 ? DECL_ENVIRONMENT_MAX + 1 : n % 5;
                for (size_t i = 0; i < x->n_env; i++)
                        x->env[i] = take_string(in, "", "");
        }
}

static void put_int(FILE *f, const char *key, int v, bool declared) {
        if (declared)
                fprintf(f, "%s = %d;\n", key, v);
}

static void put_opt(FILE *f, const char *key, const char *v) {
        if (v)
                put_string(f, key, v);
}

static char *write_declaration(const struct declared *x) {
        char *text = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&text, &len);

        if (!f)
                abort();
        put_string(f, "releases", x->releases);
        put_string(f, "exec", x->exec);
        put_opt(f, "workdir", x->workdir);
        put_opt(f, "user", x->user);
        put_opt(f, "group", x->group);
        put_opt(f, "bind", x->bind);
        fprintf(f, "ports = {\n");
        put_int(f, "blue", x->port_blue, true);
        put_int(f, "green", x->port_green, true);
        put_int(f, "live", x->port_live, x->port_live != 0);
        fprintf(f, "};\n");
        if (x->health) {
                fprintf(f, "health = {\n");
                put_opt(f, "path", x->health_path);
                put_opt(f, "command", x->health_command);
                put_opt(f, "body_contains", x->health_body);
                put_int(f, "expect_status", x->health_status, x->health_status);
                put_int(f, "timeout_ms", x->health_timeout, x->health_timeout);
                put_int(f, "interval_ms", x->health_interval, x->health_interval);
                put_int(f, "successes", x->health_successes, x->health_successes);
                put_int(f, "deadline_s", x->health_deadline, x->health_deadline);
                fprintf(f, "};\n");
        }
        if (x->n_smoke > 0) {
                fprintf(f, "smoke = (\n");
                for (size_t i = 0; i < x->n_smoke; i++) {
                        fprintf(f, "%s{\n", i > 0 ? ", " : "");
                        put_string(f, "path", x->smoke_path[i]);
                        put_opt(f, "body_contains", x->smoke_body[i]);
                        put_int(f, "expect_status", x->smoke_status[i], x->smoke_status[i]);
                        fprintf(f, "}\n");
                }
                fprintf(f, ");\n");
        }
        if (x->nginx) {
                fprintf(f, "nginx = {\n");
                put_opt(f, "include", x->include);
                put_opt(f, "style", x->style);
                put_opt(f, "upstream", x->upstream);
                put_opt(f, "unit", x->unit);
                put_opt(f, "test", x->test);
                put_opt(f, "switch", x->mode);
                put_int(f, "keepalive", x->keepalive, x->mode);
                put_int(f, "keepalive_time_s", x->keepalive_time, x->mode);
                fprintf(f, "};\n");
        }
        put_int(f, "drain_s", x->drain_s, x->drain_s);
        if (x->pre_start || x->post_switch) {
                fprintf(f, "hooks = {\n");
                put_opt(f, "pre_start", x->pre_start);
                put_opt(f, "post_switch", x->post_switch);
                fprintf(f, "};\n");
        }
        put_opt(f, "trigger", x->trigger);
        if (x->n_env > 0) {
                fprintf(f, "environment = {\n");
                for (size_t i = 0; i < x->n_env; i++) {
                        char name[32];

                        snprintf(name, sizeof name, "V%zu", i);
                        put_string(f, name, x->env[i]);
                }
                fprintf(f, "};\n");
        }
        if (fclose(f) != 0)
                abort();
        return text;
}

static void same_str(const char *what, const char *declared, const char *got) {
        if (declared && (!got || !streq(declared, got)))
                FAIL("%s: declared \"%s\", read back \"%s\"", what, declared, got ?: "(null)");
}

static void same_int(const char *what, int declared, int got) {
        if (declared != got)
                FAIL("%s: declared %d, read back %d", what, declared, got);
}

/* A path as the parser keeps it: without trailing slashes. */
static void same_path(const char *what, const char *declared, const char *got) {
        _cleanup_free_ char *p = declared ? strdup(declared) : NULL;
        size_t n;

        if (!p)
                return same_str(what, declared, got);
        n = strlen(p);
        while (n > 1 && p[n - 1] == '/')
                p[--n] = 0;
        same_str(what, p, got);
}

/* An empty hook is none (bluegreen.conf(5)). */
static void same_hook(const char *what, const char *declared, const char *got) {
        if (declared && !*declared) {
                if (got)
                        FAIL("%s: declared empty, read back \"%s\" instead of no hook", what, got);
                return;
        }
        same_str(what, declared, got);
}

/* The parser kept every string as written: paths lose their trailing "/", bind gets one spelling per
 * address. */
static void check_declared(const struct declared *x, const struct app_decl *d) {
        same_path("releases", x->releases, d->releases);
        same_str("exec", x->exec, d->exec);
        same_str("workdir", x->workdir, d->workdir);
        same_str("user", x->user, d->user);
        same_str("group", x->group, d->group);
        same_int("ports.blue", x->port_blue, d->port_blue);
        same_int("ports.green", x->port_green, d->port_green);
        same_int("ports.live", x->port_live, d->port_live);
        same_str("health.path", x->health_path, d->health.http.path);
        same_str("health.command", x->health_command, d->health.command);
        same_str("health.body_contains", x->health_body, d->health.http.body_contains);
        if (x->n_smoke != d->n_smoke)
                FAIL("smoke: %zu checks declared, %zu read", x->n_smoke, d->n_smoke);
        for (size_t i = 0; i < x->n_smoke; i++) {
                same_str("smoke.path", x->smoke_path[i], d->smoke[i].path);
                same_str("smoke.body_contains", x->smoke_body[i], d->smoke[i].body_contains);
        }
        same_str("nginx.include", x->include, d->nginx.include);
        same_str("nginx.upstream", x->upstream, d->nginx.upstream);
        same_str("nginx.unit", x->unit, d->nginx.unit);
        same_str("nginx.test", x->test, d->nginx.test);
        same_hook("hooks.pre_start", x->pre_start, d->hooks.pre_start);
        same_hook("hooks.post_switch", x->post_switch, d->hooks.post_switch);
        same_path("trigger", x->trigger, d->trigger);
        if (x->n_env != d->n_environment)
                FAIL("environment: %zu variables declared, %zu read", x->n_env, d->n_environment);
        for (size_t i = 0; i < x->n_env; i++)
                same_str("environment", x->env[i], d->environment[i].value);
}

/* What the helpers read equals what the generator was given. */
static void check_app_env(const struct app_decl *d, const struct app_env *e) {
        same_str("BLUEGREEN_APP", d->name, e->app);
        same_str("BLUEGREEN_STATE_DIR", BLUEGREEN_STATE_ROOT "/app", e->state_dir);
        same_str("BLUEGREEN_RELEASES", d->releases, e->releases);
        same_str("BLUEGREEN_USER", d->user ?: "", e->user);
        same_str("BLUEGREEN_BIND", d->bind, e->bind);
        same_int("BLUEGREEN_PORT_BLUE", d->port_blue, e->port[COLOR_BLUE]);
        same_int("BLUEGREEN_PORT_GREEN", d->port_green, e->port[COLOR_GREEN]);
        same_int("BLUEGREEN_PORT_LIVE", d->port_live, e->port_live);
        same_str("BLUEGREEN_HEALTH_PATH", d->health.command ? "" : d->health.http.path, e->health_path);
        same_str("BLUEGREEN_HEALTH_COMMAND", d->health.command ?: "", e->health_command);
        same_int("BLUEGREEN_HEALTH_EXPECT_STATUS", d->health.http.expect_status, e->health_expect_status);
        same_str("BLUEGREEN_HEALTH_BODY_CONTAINS", d->health.http.body_contains ?: "", e->health_body_contains);
        same_int("BLUEGREEN_HEALTH_TIMEOUT_MS", d->health.timeout_ms, e->health_timeout_ms);
        same_int("BLUEGREEN_HEALTH_INTERVAL_MS", d->health.interval_ms, e->health_interval_ms);
        same_int("BLUEGREEN_HEALTH_SUCCESSES", d->health.successes, e->health_successes);
        same_int("BLUEGREEN_HEALTH_DEADLINE_S", d->health.deadline_s, e->health_deadline_s);
        same_int("BLUEGREEN_SMOKE_COUNT", (int) d->n_smoke, e->n_smoke);
        for (size_t i = 0; i < d->n_smoke; i++) {
                same_str("BLUEGREEN_SMOKE_n_PATH", d->smoke[i].path, e->smoke[i].path);
                same_int("BLUEGREEN_SMOKE_n_EXPECT_STATUS", d->smoke[i].expect_status, e->smoke[i].expect_status);
                same_str("BLUEGREEN_SMOKE_n_BODY_CONTAINS", d->smoke[i].body_contains, e->smoke[i].body_contains);
        }
        same_str("BLUEGREEN_NGINX_INCLUDE", d->nginx.include, e->nginx_include);
        same_int("BLUEGREEN_NGINX_STYLE", d->nginx.style, e->nginx_style);
        same_str("BLUEGREEN_NGINX_UPSTREAM", d->nginx.upstream, e->nginx_upstream);
        same_int("BLUEGREEN_NGINX_KEEPALIVE", d->nginx.keepalive, e->nginx_keepalive);
        same_int("BLUEGREEN_NGINX_KEEPALIVE_TIME_S", d->nginx.keepalive_time_s, e->nginx_keepalive_time_s);
        same_int("BLUEGREEN_NGINX_SWITCH", d->nginx.switch_mode, e->switch_mode);
        same_str("BLUEGREEN_NGINX_UNIT", d->nginx.unit, e->nginx_unit);
        same_str("BLUEGREEN_NGINX_TEST", d->nginx.test, e->nginx_test);
        same_int("BLUEGREEN_DRAIN_S", d->drain_s, e->drain_s);
        same_int("BLUEGREEN_HOOK_PRE_START", !!d->hooks.pre_start, e->hook_pre_start);
        same_int("BLUEGREEN_HOOK_POST_SWITCH", !!d->hooks.post_switch, e->hook_post_switch);
        same_str("BLUEGREEN_TRIGGER", d->trigger, e->trigger);
        same_str("BLUEGREEN_INITIAL_RELEASE", d->initial_release ?: "", e->initial_release);
        same_str("BLUEGREEN_NGINX_GROUP", d->nginx.group, e->nginx_group);
        same_int("BLUEGREEN_WATCH_DURATION_S", d->watch.duration_s, e->watch_duration_s);
        same_int("BLUEGREEN_WATCH_FAILURES", d->watch.failures, e->watch_failures);
        same_int("BLUEGREEN_WATCH_INTERVAL_MS", d->watch.interval_ms, e->watch_interval_ms);
        same_path("BLUEGREEN_METRICS_DIR", d->metrics.directory, e->metrics_dir);
        /* The declarations built here always have ports: never socket mode. */
        same_str("BLUEGREEN_SOCKET_LIVE", "", e->socket_live);
}

static void check_color_env(const char *out, const char *color, int port) {
        _cleanup_free_ char *text = NULL;
        char path[4096], want[64];
        const char *bad;
        size_t n = 0;
        int r;

        snprintf(path, sizeof path, "%s/bluegreen/app/%s.env", out, color);
        r = read_file(path, 1 << 20, &text, NULL);
        if (r < 0)
                FAIL("%s: %s", path, strerror(-r));
        if (!env_text_is_sound(text, &bad))
                FAIL("%s: a line systemd reads otherwise: \"%.*s\"", path, (int) strcspn(bad, "\n"), bad);
        for (char *l = strtok(text, "\n"); l; l = strtok(NULL, "\n")) {
                if (l[0] == '#')
                        continue;
                if (n == 0)
                        snprintf(want, sizeof want, "BLUEGREEN_COLOR=%s", color);
                else
                        snprintf(want, sizeof want, "PORT=%d", port);
                if (n >= 2 || !streq(l, want))
                        FAIL("%s: line \"%s\", expected \"%s\"", path, l, n < 2 ? want : "none");
                n++;
        }
        if (n != 2)
                FAIL("%s: %zu settings, expected 2", path, n);
}

/* The color unit's Environment= lines, read as systemd reads them, are the declared environment. */
static void check_unit_environment(const char *out, const struct app_decl *d) {
        _cleanup_free_ char *path = NULL, *text = NULL;
        size_t n = 0;
        int r;

        if (asprintf(&path, "%s/app@.service", out) < 0)
                abort();
        r = read_file(path, 4 * 1024 * 1024, &text, NULL);
        if (r < 0)
                FAIL("%s: %s", path, strerror(-r));
        for (char *l = strtok(text, "\n"); l; l = strtok(NULL, "\n")) {
                _cleanup_free_ char *a = NULL, *want = NULL;

                if (strncmp(l, "Environment=", 12) != 0)
                        continue;
                if (n >= d->n_environment)
                        FAIL("%s: more Environment= lines than the %zu declared", path, d->n_environment);
                if (asprintf(&want, "%s=%s", d->environment[n].name, d->environment[n].value) < 0)
                        abort();
                r = unit_environment_unquote(l + 12, &a);
                if (r < 0 || !streq(a, want))
                        FAIL("%s: \"%s\" is not read as \"%s\"", path, l, want);
                n++;
        }
        if (n != d->n_environment)
                FAIL("%s: %zu Environment= lines for %zu variables", path, n, d->n_environment);
}

static void check_round_trip(const char *out, const struct app_decl *d) {
        _cleanup_free_ char *path = NULL, *text = NULL;
        struct app_env e = {};
        const char *bad = NULL;
        int r;

        if (asprintf(&path, "%s/bluegreen/app/app.env", out) < 0)
                abort();
        r = read_file(path, 1 << 20, &text, NULL);
        if (r < 0)
                FAIL("%s: %s", path, strerror(-r));
        if (!env_text_is_sound(text, &bad))
                FAIL("%s: a line systemd reads otherwise: \"%.*s\"", path, (int) strcspn(bad, "\n"), bad);
        r = app_env_from_file(path, &e, &bad);
        if (r < 0)
                FAIL("%s: the helpers cannot read it back: %s (%s)", path, strerror(-r), r == -EINVAL ? bad : "");
        check_app_env(d, &e);
        app_env_done(&e);
        check_color_env(out, "blue", d->port_blue);
        check_color_env(out, "green", d->port_green);
        check_unit_environment(out, d);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        static const char *etc, *out;
        static char *conf, *app_env;
        _cleanup_(app_decl_freep) struct app_decl *d = NULL;
        _cleanup_(diag_done) struct diag diag = {};
        _cleanup_(declared_done) struct declared x = {};
        _cleanup_free_ char *text = NULL;
        struct input in = { data, size };
        int status, r;

        if (!etc) {
                etc = scratch_mkdir("etc");
                out = scratch_mkdir("out");
                if (asprintf(&conf, "%s/app.conf", etc) < 0 || asprintf(&app_env, "%s/bluegreen/app/app.env", out) < 0)
                        abort();
                log_set_max_level(-1);
        }
        take_declared(&in, &x);
        text = write_declaration(&x);
        scratch_write("etc/app.conf", text, strlen(text));

        r = app_decl_load(conf, "app", &d, &diag);
        status = generator_run(etc, out);
        if ((r >= 0) != (status == EXIT_SUCCESS))
                FAIL("the parser %s the declaration, the generator exited with %d", r >= 0 ? "accepted" : "refused", status);
        if (r < 0) {
                if (access(app_env, F_OK) >= 0)
                        FAIL("app.env written for a refused declaration");
                return 0;
        }
        check_declared(&x, d);
        check_round_trip(out, d);
        return 0;
}
