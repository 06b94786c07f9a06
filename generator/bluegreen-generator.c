/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * bluegreen-generator: turns each /etc/bluegreen/<app>.conf into the units of a blue-green app.
 * See bluegreen-generator(8) and systemd.generator(7). It reads only declarations, writes only into
 * the output directory it is given, and talks to no other process: it runs before D-Bus exists.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

#include "decl.h"
#include "fileio.h"
#include "host-check.h"
#include "log.h"
#include "macro.h"
#include "template.h"

/* A budget for each hook (database migrations can be slow) and, from it, for a whole deploy, so that a
 * hung step ends the deploy instead of holding the app's lock for ever. */
#define HOOK_TIMEOUT_S 900
#define NGINX_SWITCH_BUDGET_S 120

/* The directories in the output directory that all apps share. */
static const char *const shared_dirs[] = {
        "bluegreen",
        "multi-user.target.wants",
        "nftables.service.wants",
        "nftables.service.d",
};

/* The variables every template of an app can use. Values are owned here. */
struct vars {
        struct tvar v[80];
        char *owned[80];
        size_t n;
        bool oom;
};

static void vars_done(struct vars *vs) {
        for (size_t i = 0; i < vs->n; i++)
                free(vs->owned[i]);
}

/* Takes ownership of value. */
static void vars_put(struct vars *vs, const char *name, char *value) {
        if (!value || vs->n >= ELEMENTSOF(vs->v)) {
                free(value);
                vs->oom = true;
                return;
        }
        vs->owned[vs->n] = value;
        vs->v[vs->n++] = (struct tvar) { name, value };
}

static void vars_str(struct vars *vs, const char *name, const char *value) {
        vars_put(vs, name, strdup(value ?: ""));
}

static void vars_int(struct vars *vs, const char *name, long long value) {
        char *s;

        vars_put(vs, name, asprintf(&s, "%lld", value) < 0 ? NULL : s);
}

/* A value for an EnvironmentFile= file, always double-quoted. */
static void vars_quoted(struct vars *vs, const char *name, const char *value) {
        vars_put(vs, name, envfile_quote(value ?: ""));
}

static void vars_unit(struct vars *vs, const char *name, const char *value) {
        vars_put(vs, name, unit_escape_specifiers(value));
}

_printf_(1, 2) static char *strf(const char *fmt, ...) {
        va_list ap;
        char *s;
        int k;

        va_start(ap, fmt);
        k = vasprintf(&s, fmt, ap);
        va_end(ap);
        return k < 0 ? NULL : s;
}

/* Appends one formatted line to a growing block of text (owned by *block). */
_printf_(2, 3) static int block_append(char **block, const char *fmt, ...) {
        _cleanup_free_ char *line = NULL;
        char *n;
        va_list ap;
        int k;

        va_start(ap, fmt);
        k = vasprintf(&line, fmt, ap);
        va_end(ap);
        if (k < 0)
                return -ENOMEM;
        if (asprintf(&n, "%s%s\n", *block ?: "", line) < 0)
                return -ENOMEM;
        free(*block);
        *block = n;
        return 0;
}

static int render_sandbox(const struct app_decl *d, const struct vars *base, char **ret) {
        _cleanup_free_ char *users = NULL, *env = NULL, *envfiles = NULL, *rw = NULL;
        const char *hardening = "";
        int r = 0;

        if (d->user) {
                r = block_append(&users, "User=%s", d->user);
                if (r >= 0 && d->group)
                        r = block_append(&users, "Group=%s", d->group);
        } else
                r = block_append(&users, "DynamicUser=yes");

        for (size_t i = 0; r >= 0 && i < d->n_environment; i++) {
                _cleanup_free_ char *q = unit_quote_assignment(d->environment[i].name, d->environment[i].value);

                r = q ? block_append(&env, "Environment=%s", q) : -ENOMEM;
        }
        for (size_t i = 0; r >= 0 && i < d->n_environment_files; i++) {
                _cleanup_free_ char *e = unit_escape_specifiers(d->environment_files[i]);

                r = e ? block_append(&envfiles, "EnvironmentFile=%s", e) : -ENOMEM;
        }
        for (size_t i = 0; r >= 0 && i < d->n_read_write_paths; i++) {
                _cleanup_free_ char *e = unit_escape_specifiers(d->read_write_paths[i]);

                r = e ? block_append(&rw, "ReadWritePaths=%s", e) : -ENOMEM;
        }
        if (r < 0)
                return r;

        if (d->hardening == HARDENING_STRICT)
                hardening = template_get("hardening-strict.conf");
        else if (d->hardening == HARDENING_BASIC)
                hardening = template_get("hardening-basic.conf");
        if (!hardening)
                return -ENOENT;

        struct tvar v[ELEMENTSOF(base->v) + 5];
        size_t n = 0;

        memcpy(v, base->v, base->n * sizeof(struct tvar));
        n = base->n;
        v[n++] = (struct tvar) { "USER_LINES", users };
        v[n++] = (struct tvar) { "ENVIRONMENT_LINES", env };
        v[n++] = (struct tvar) { "ENVIRONMENT_FILE_LINES", envfiles };
        v[n++] = (struct tvar) { "HARDENING", hardening };
        v[n++] = (struct tvar) { "READ_WRITE_PATHS", rw };

        return template_render(template_get("sandbox.conf"), v, n, ret);
}

/* A probe's Host and header lines: PREFIX_HOST, PREFIX_HEADER_COUNT, PREFIX_HEADER_0... */
static int render_probe_lines(char **b, const char *prefix, const struct http_check *h) {
        _cleanup_free_ char *host = envfile_quote(h->host ?: "");

        if (!host || block_append(b, "%s_HOST=%s", prefix, host) < 0 ||
            block_append(b, "%s_HEADER_COUNT=%zu", prefix, h->n_headers) < 0)
                return -ENOMEM;
        for (size_t i = 0; i < h->n_headers; i++) {
                _cleanup_free_ char *q = envfile_quote(h->headers[i]);

                if (!q || block_append(b, "%s_HEADER_%zu=%s", prefix, i, q) < 0)
                        return -ENOMEM;
        }
        return 0;
}

static char *render_health_probe_lines(const struct app_decl *d) {
        char *b = NULL;

        if (render_probe_lines(&b, "BLUEGREEN_HEALTH", &d->health.http) < 0)
                return mfree(b);
        return b;
}

static int render_smoke_lines(const struct app_decl *d, char **ret) {
        _cleanup_free_ char *b = NULL;

        for (size_t i = 0; i < d->n_smoke; i++) {
                _cleanup_free_ char *p = envfile_quote(d->smoke[i].path), *c = envfile_quote(d->smoke[i].body_contains);
                char prefix[64];

                snprintf(prefix, sizeof prefix, "BLUEGREEN_SMOKE_%zu", i);
                if (!p || !c || block_append(&b, "BLUEGREEN_SMOKE_%zu_PATH=%s", i, p) < 0 ||
                    block_append(&b, "BLUEGREEN_SMOKE_%zu_EXPECT_STATUS=%d", i, d->smoke[i].expect_status) < 0 ||
                    block_append(&b, "BLUEGREEN_SMOKE_%zu_BODY_CONTAINS=%s", i, c) < 0 ||
                    render_probe_lines(&b, prefix, &d->smoke[i]) < 0)
                        return -ENOMEM;
        }
        *ret = b ? TAKE_PTR(b) : strdup("");
        return *ret ? 0 : -ENOMEM;
}

/* RUN_ROOT/APP/COLOR/http.sock, or for no color RUN_ROOT/APP/live.sock, the link nginx connects through. */
static char *socket_path(const struct app_decl *d, const char *color) {
        char *p;

        if (color)
                return asprintf(&p, BLUEGREEN_RUN_ROOT "/%s/%s/" BLUEGREEN_SOCKET_NAME, d->name, color) < 0 ? NULL : p;
        return asprintf(&p, BLUEGREEN_RUN_ROOT "/%s/" BLUEGREEN_SOCKET_LIVE_NAME, d->name) < 0 ? NULL : p;
}

/* The socket paths ("" unless in socket mode) and what the color unit needs for them. */
static void fill_socket_vars(struct vars *vs, const struct app_decl *d) {
        static const char *const names[] = { "Q_SOCKET_BLUE", "Q_SOCKET_GREEN", "Q_SOCKET_LIVE" };
        static const char *const colors[] = { "blue", "green", NULL };
        bool socket = d->nginx.switch_mode == SWITCH_SOCKET;

        for (size_t i = 0; i < ELEMENTSOF(names); i++) {
                _cleanup_free_ char *p = socket ? socket_path(d, colors[i]) : strdup("");

                vars_put(vs, names[i], p ? envfile_quote(p) : NULL);
        }
        /* systemd makes the directory before ExecStartPre= runs, and sets its owner and mode again for
         * every process it starts, so nginx's group is let in by ACL entries, which it leaves alone; the
         * umask keeps the socket the app creates open to that group and closed to everyone else. */
        vars_put(vs, "SOCKET_LINES",
                 socket ? strf("# Only nginx's group may reach the socket: bluegreen-socket-dir lets it in with an ACL on the directory.\n"
                               "UMask=0007\nRuntimeDirectoryMode=0750\nExecStartPre=+%s/bluegreen-socket-dir",
                               BLUEGREEN_LIBEXECDIR)
                        : strdup(""));
}

static void fill_watch_vars(struct vars *vs, const struct app_decl *d) {
        int retire_after = d->drain_s > d->watch.duration_s ? d->drain_s : d->watch.duration_s;

        vars_int(vs, "WATCH_DURATION_S", d->watch.duration_s);
        vars_int(vs, "WATCH_FAILURES", d->watch.failures);
        vars_int(vs, "WATCH_INTERVAL_MS", d->watch.interval_ms);
        /* The old color stays warm until the new one's watch is over, so that going back stays instant. */
        vars_int(vs, "RETIRE_AFTER_S", retire_after);
        vars_put(vs, "RETIRE_WHY",
                 d->watch.duration_s > d->drain_s ? strf("the %d s watch of its successor (drain_s is %d)",
                                                         d->watch.duration_s, d->drain_s)
                                                  : strf("%d s of drain", d->drain_s));
}

/* The line that writes the app's figures when a unit ends (the boot when it is done: it stays active),
 * none when metrics are off. "-": a helper that could not run must not fail the unit it reports on. */
static void fill_metrics_vars(struct vars *vs, const struct app_decl *d) {
        static const struct {
                const char *var, *setting, *event;
        } lines[] = {
                { "METRICS_DEPLOY", "ExecStopPost", "deploy" },     { "METRICS_ROLLBACK", "ExecStopPost", "rollback" },
                { "METRICS_RETIRE", "ExecStopPost", "retire" },     { "METRICS_WATCH", "ExecStopPost", "watch" },
                { "METRICS_FAILOVER", "ExecStopPost", "failover" }, { "METRICS_BOOT", "ExecStartPost", "boot" },
        };
        bool on = !isempty(d->metrics.directory);

        vars_quoted(vs, "Q_METRICS_DIR", d->metrics.directory);
        for (size_t i = 0; i < ELEMENTSOF(lines); i++)
                vars_put(vs, lines[i].var,
                         on ? strf("%s=-%s/bluegreen-metrics %s", lines[i].setting, BLUEGREEN_LIBEXECDIR, lines[i].event)
                            : strdup(""));
}

static void fill_vars(struct vars *vs, const struct app_decl *d, const char *env_dir) {
        _cleanup_free_ char *state_dir = NULL, *smoke = NULL;
        int start_timeout = d->health.deadline_s + 5;

        if (asprintf(&state_dir, "%s/%s", BLUEGREEN_STATE_ROOT, d->name) < 0)
                state_dir = NULL;

        vars_str(vs, "APP", d->name);
        vars_unit(vs, "SOURCE", d->source);
        vars_str(vs, "ENV_DIR", env_dir);
        vars_str(vs, "STATE_DIR", state_dir);
        vars_str(vs, "LIBEXECDIR", BLUEGREEN_LIBEXECDIR);
        vars_unit(vs, "RELEASES", d->releases);
        vars_unit(vs, "EXEC", d->exec);
        vars_str(vs, "NGINX_UNIT", d->nginx.unit);
        vars_unit(vs, "TRIGGER", d->trigger);
        vars_int(vs, "START_TIMEOUT_S", start_timeout);
        vars_str(vs, "STOP_SIGNAL", d->stop.signal);
        vars_int(vs, "STOP_TIMEOUT_S", d->stop.timeout_s);
        vars_int(vs, "DRAIN_S", d->drain_s);
        vars_int(vs, "HOOK_TIMEOUT_S", HOOK_TIMEOUT_S);
        /* Every step's own bound, added up: hooks, waiting for nginx's last connections to the target,
         * its stop (SIGTERM, then SIGKILL), its start, the smoke checks and the switch. */
        vars_int(vs, "DEPLOY_TIMEOUT_S",
                 2 * HOOK_TIMEOUT_S + (d->nginx.keepalive_time_s + 1) + 2 * d->stop.timeout_s + start_timeout +
                         (long long) d->n_smoke * (d->health.timeout_ms > 5000 ? d->health.timeout_ms / 1000 + 1 : 5) +
                         NGINX_SWITCH_BUDGET_S);

        /* Environment file values. */
        vars_quoted(vs, "Q_APP", d->name);
        vars_quoted(vs, "Q_SOURCE", d->source);
        vars_quoted(vs, "Q_STATE_DIR", state_dir);
        vars_quoted(vs, "Q_RELEASES", d->releases);
        vars_quoted(vs, "Q_WORKDIR", d->workdir);
        vars_quoted(vs, "Q_USER", d->user);
        vars_quoted(vs, "Q_BIND", d->bind);
        vars_int(vs, "PORT_BLUE", d->port_blue);
        vars_int(vs, "PORT_GREEN", d->port_green);
        vars_int(vs, "PORT_LIVE", d->port_live);
        vars_quoted(vs, "Q_HEALTH_PATH", d->health.command ? "" : d->health.http.path);
        vars_quoted(vs, "Q_HEALTH_COMMAND", d->health.command);
        vars_int(vs, "HEALTH_EXPECT_STATUS", d->health.http.expect_status);
        vars_quoted(vs, "Q_HEALTH_BODY_CONTAINS", d->health.http.body_contains);
        vars_int(vs, "HEALTH_TIMEOUT_MS", d->health.timeout_ms);
        vars_int(vs, "HEALTH_INTERVAL_MS", d->health.interval_ms);
        vars_int(vs, "HEALTH_SUCCESSES", d->health.successes);
        vars_int(vs, "HEALTH_DEADLINE_S", d->health.deadline_s);
        vars_put(vs, "HEALTH_PROBE_LINES", render_health_probe_lines(d));
        vars_int(vs, "SMOKE_COUNT", (long long) d->n_smoke);
        vars_put(vs, "SMOKE_LINES", render_smoke_lines(d, &smoke) < 0 ? NULL : TAKE_PTR(smoke));
        vars_quoted(vs, "Q_NGINX_INCLUDE", d->nginx.include);
        vars_str(vs, "NGINX_STYLE", nginx_style_to_string(d->nginx.style));
        vars_str(vs, "NGINX_UPSTREAM", d->nginx.upstream);
        vars_int(vs, "NGINX_KEEPALIVE", d->nginx.keepalive);
        vars_int(vs, "NGINX_KEEPALIVE_TIME_S", d->nginx.keepalive_time_s);
        vars_str(vs, "NGINX_SWITCH", switch_mode_to_string(d->nginx.switch_mode));
        vars_quoted(vs, "Q_NGINX_TEST", d->nginx.test);
        vars_quoted(vs, "Q_NGINX_UNIT", d->nginx.unit);
        vars_int(vs, "HAS_PRE_START", !!d->hooks.pre_start);
        vars_int(vs, "HAS_POST_SWITCH", !!d->hooks.post_switch);
        vars_quoted(vs, "Q_TRIGGER", d->trigger);
        vars_quoted(vs, "Q_INITIAL_RELEASE", d->initial_release);
        vars_quoted(vs, "Q_NGINX_GROUP", d->nginx.group);
        fill_socket_vars(vs, d);
        fill_watch_vars(vs, d);
        fill_metrics_vars(vs, d);
}

struct output {
        const char *template; /* in units/ */
        const char *suffix;   /* appended to the app name: the file in the output dir */
};

/* Everything an app puts into the output directory, rendered into memory before the first file is
 * created, so that a failure while rendering leaves nothing on disk and one while writing leaves a
 * short list to take back: an app gets all of its units or none. Paths are relative to the output
 * directory. */
struct app_file {
        char *path;
        char *content; /* a regular file's text; NULL for a symlink */
        char *target;  /* a symlink's target */
};

/* The most an app writes: 3 environment files, 9 units, the watch unit, 2 hook units, the redirect
 * unit and 3 links (checked in render_app()). */
#define APP_FILES_MAX 20

struct app_files {
        char *dir; /* bluegreen/APP: the app's environment files */
        bool made_dir;
        struct app_file f[APP_FILES_MAX];
        size_t n;
        size_t n_written; /* f[0] up to f[n_written - 1] are on disk */
};

static void app_files_done(struct app_files *a) {
        free(a->dir);
        for (size_t i = 0; i < a->n; i++) {
                free(a->f[i].path);
                free(a->f[i].content);
                free(a->f[i].target);
        }
}

/* Takes ownership of path, content and target, also when it fails. */
static int app_files_add(struct app_files *a, char *path, char *content, char *target) {
        int r = 0;

        if (a->n >= ELEMENTSOF(a->f))
                r = -ENOBUFS;
        else if (!path || (!content && !target))
                r = -ENOMEM;
        if (r < 0) {
                free(path);
                free(content);
                free(target);
                return r;
        }
        a->f[a->n++] = (struct app_file) { path, content, target };
        return 0;
}

/* Takes ownership of path. */
static int render_file(struct app_files *a, char *path, const char *tmpl_name, const struct tvar *v, size_t n) {
        const char *tmpl = template_get(tmpl_name);
        char *text = NULL;
        int r = tmpl ? template_render(tmpl, v, n, &text) : -ENOENT;

        if (r < 0) {
                free(path);
                return r;
        }
        return app_files_add(a, path, text, NULL);
}

static int render_app(const char *dest, const struct app_decl *d, struct app_files *a) {
        static const struct output units[] = {
                { "color.service", "@.service" },
                { "deploy.service", "-deploy@.service" },
                { "rollback.service", "-rollback.service" },
                { "app.service", ".service" },
                { "retire.timer", "-retire@.timer" },
                { "retire.service", "-retire@.service" },
                { "deploy-trigger.path", "-deploy-trigger.path" },
                { "deploy-trigger.service", "-deploy-trigger.service" },
                { "failover.service", "-failover@.service" },
        };
        _cleanup_(vars_done) struct vars vs = {};
        _cleanup_free_ char *env_dir = NULL, *sandbox = NULL;
        bool redirect = d->nginx.switch_mode == SWITCH_REDIRECT;
        int r;

        a->dir = strf("bluegreen/%s", d->name);
        if (!a->dir || !(env_dir = strf("%s/%s", dest, a->dir)))
                return -ENOMEM;
        fill_vars(&vs, d, env_dir);
        if (vs.oom)
                return -ENOMEM;
        r = render_sandbox(d, &vs, &sandbox);
        if (r < 0)
                return r;
        /* The sandbox ends in a newline of its own; the template line it replaces adds none. */
        vars_str(&vs, "SANDBOX", sandbox);
        if (vs.oom)
                return -ENOMEM;

        r = render_file(a, strf("%s/app.env", a->dir), "app.env", vs.v, vs.n);
        for (int c = 0; r >= 0 && c < 2; c++) {
                const char *color = c == 0 ? "blue" : "green";
                _cleanup_free_ char *sock = NULL, *listen = NULL;
                struct tvar v[ELEMENTSOF(vs.v) + 2];

                /* What the app binds to: its socket in socket mode, its port otherwise. */
                if (d->nginx.switch_mode == SWITCH_SOCKET)
                        listen = (sock = socket_path(d, color)) ? strf("SOCKET=%s", sock) : NULL;
                else
                        listen = strf("PORT=%d", c == 0 ? d->port_blue : d->port_green);
                if (!listen)
                        return -ENOMEM;
                memcpy(v, vs.v, vs.n * sizeof(struct tvar));
                v[vs.n] = (struct tvar) { "COLOR", color };
                v[vs.n + 1] = (struct tvar) { "LISTEN", listen };
                r = render_file(a, strf("%s/%s.env", a->dir, color), "color.env", v, vs.n + 2);
        }

        for (size_t i = 0; r >= 0 && i < ELEMENTSOF(units); i++)
                r = render_file(a, strf("%s%s", d->name, units[i].suffix), units[i].template, vs.v, vs.n);

        const struct {
                const char *hook, *name, *suffix;
        } hooks[] = {
                { d->hooks.pre_start, "pre_start", "-pre-start@.service" },
                { d->hooks.post_switch, "post_switch", "-post-switch@.service" },
        };
        for (size_t i = 0; r >= 0 && i < ELEMENTSOF(hooks); i++) {
                _cleanup_free_ char *hook = NULL;
                struct tvar v[ELEMENTSOF(vs.v) + 2];

                if (!hooks[i].hook)
                        continue;
                hook = unit_escape_specifiers(hooks[i].hook);
                if (!hook)
                        return -ENOMEM;
                memcpy(v, vs.v, vs.n * sizeof(struct tvar));
                v[vs.n] = (struct tvar) { "HOOK", hook };
                v[vs.n + 1] = (struct tvar) { "HOOK_NAME", hooks[i].name };
                r = render_file(a, strf("%s%s", d->name, hooks[i].suffix), "hook.service", v, vs.n + 2);
        }
        if (r >= 0 && d->watch.duration_s > 0)
                r = render_file(a, strf("%s-watch@.service", d->name), "watch.service", vs.v, vs.n);
        if (r >= 0 && redirect)
                r = render_file(a, strf("%s-redirect.service", d->name), "redirect.service", vs.v, vs.n);

        /* Enabled by the generator itself: the app comes back at boot, its trigger is watched, and in
         * redirect mode its rule comes back with the firewall's ruleset (the wants link is harmless
         * where nftables is not installed). The links come last, so that an app is never enabled
         * before all of its units are on disk. */
        const struct {
                const char *wants, *suffix;
                bool only_redirect;
        } links[] = {
                { "multi-user.target.wants", ".service", false },
                { "multi-user.target.wants", "-deploy-trigger.path", false },
                { "nftables.service.wants", "-redirect.service", true },
        };
        _Static_assert(3 + ELEMENTSOF(units) + 1 + ELEMENTSOF(hooks) + 1 + ELEMENTSOF(links) <= APP_FILES_MAX,
                       "struct app_files holds every file an app may write");
        for (size_t i = 0; r >= 0 && i < ELEMENTSOF(links); i++)
                if (redirect || !links[i].only_redirect)
                        r = app_files_add(a, strf("%s/%s%s", links[i].wants, d->name, links[i].suffix), NULL,
                                          strf("../%s%s", d->name, links[i].suffix));
        return r;
}

/* Creates each file once, with O_EXCL and no temporary name: systemd empties the output directories
 * before it runs the generators and reads them only after the generators exit, so nobody can see a
 * file half-written, and a rename would buy nothing. A name already taken (-EEXIST) is a clash, with
 * another generator's output, not ours to replace. On failure *ret_failed is the path that failed and
 * a->n_written says what to take back. */
static int write_app(int dest_fd, struct app_files *a, const char **ret_failed) {
        *ret_failed = a->dir;
        if (mkdirat(dest_fd, a->dir, 0755) >= 0)
                a->made_dir = true;
        else if (errno != EEXIST)
                return negative_errno();

        for (; a->n_written < a->n; a->n_written++) {
                const struct app_file *f = &a->f[a->n_written];
                int r;

                *ret_failed = f->path;
                if (f->content)
                        r = write_file_new_at(dest_fd, f->path, f->content, strlen(f->content), 0644);
                else
                        r = symlinkat(f->target, dest_fd, f->path) < 0 ? negative_errno() : 0;
                if (r < 0)
                        return r;
        }
        return 0;
}

/* Takes back what write_app() created, newest first, and goes on past a failure: returns the first one,
 * *ret_failed naming its path. */
static int unwrite_app(int dest_fd, struct app_files *a, const char **ret_failed) {
        int r = 0;

        while (a->n_written > 0) {
                const char *path = a->f[--a->n_written].path;

                if (unlinkat(dest_fd, path, 0) < 0 && r >= 0) {
                        r = negative_errno();
                        *ret_failed = path;
                }
        }
        if (a->made_dir && unlinkat(dest_fd, a->dir, AT_REMOVEDIR) < 0 && r >= 0) {
                r = negative_errno();
                *ret_failed = a->dir;
        }
        a->made_dir = false;
        return r;
}

/* Logs what the host's checks found, in the order they found it. */
static void log_report(struct host_report *rep) {
        for (size_t i = 0; i < rep->n; i++)
                log_internal(rep->msgs[i].prio, 0, "%s", rep->msgs[i].text);
        host_report_done(rep);
}

/* Renders and writes the units of an app that passed the host's checks: all of them or none. */
static int generate_app(const char *dest, int dest_fd, const struct app_decl *d) {
        _cleanup_(app_files_done) struct app_files files = {};
        const char *failed;
        int k;

        k = render_app(dest, d, &files);
        if (k < 0)
                return log_error_errno(k, "Failed to generate the units of \"%s\" from %s: %m", d->name, d->source);
        k = write_app(dest_fd, &files, &failed);
        if (k < 0) {
                const char *not_removed = NULL;
                size_t n_written = files.n_written;
                int q = unwrite_app(dest_fd, &files, &not_removed);

                log_error_errno(k,
                                "%s: failed to create %s/%s: %m%s. Removed the %zu files of app \"%s\" "
                                "written before it; no units for it, ignoring.",
                                d->source, dest, failed, k == -EEXIST ? " (another generator's file?)" : "",
                                n_written, d->name);
                if (q < 0)
                        log_warning_errno(q, "Failed to remove %s/%s, ignoring: %m", dest, not_removed);
                return k;
        }
        return 0;
}

/* The rule files the firewall loads: one include per app in redirect mode, of a pattern that matches
 * only that app's file ("redirect.nf[t]"), so that a file not written yet (before the app's first rule
 * set since boot) is no error, as a plain include of a missing file would be, and the file a removed
 * app left behind is not loaded. */
static int append_rule_include(char **rules, const char *app) {
        char *n = NULL;

        if (asprintf(&n, "%s%sinclude \"" BLUEGREEN_RUN_ROOT "/%s/redirect.nf[t]\"", *rules ?: "",
                     *rules ? "; " : "", app) < 0)
                return -ENOMEM;
        free(*rules);
        *rules = n;
        return 0;
}

/* Has nftables.service load the redirect rules with its own ruleset (units/nftables-dropin.conf); only
 * for a unit host_check_firewall() found to be Debian's. */
static int write_nftables_dropin(int dest_fd, const struct nftables_unit *u, const char *rules,
                                 const char **ret_failed) {
        static const char path[] = "nftables.service.d/bluegreen-redirect.conf";
        /* All are plain paths and app names (no %, quote, backslash or pattern: lib/nftables-unit.c and
         * the name check refuse them), which go into the unit file and nft's include as they are. */
        const struct tvar v[] = { { "NFT", u->nft }, { "CONFIG", u->config }, { "RULES", rules } };
        _cleanup_free_ char *text = NULL;
        int r;

        *ret_failed = path;
        r = template_render(template_get("nftables-dropin.conf") ?: "", v, ELEMENTSOF(v), &text);
        if (r < 0)
                return r;
        return write_file_new_at(dest_fd, path, text, strlen(text), 0644);
}

/* With an app in redirect mode: the firewall's drop-in, or what leaving the firewall alone costs. */
static int generate_firewall(const char *dest, int dest_fd, const char *rules) {
        _cleanup_(nftables_unit_done) struct nftables_unit u = {};
        _cleanup_(host_report_done) struct host_report rep = {};
        const char *failed = NULL;
        int k;

        k = host_check_firewall(&u, &rep);
        log_report(&rep);
        if (k <= 0)
                return k == -ENOMEM ? log_oom() : 0;
        k = write_nftables_dropin(dest_fd, &u, rules, &failed);
        if (k < 0)
                return log_error_errno(k, "Failed to create %s/%s: %m%s", dest, failed,
                                       k == -EEXIST ? " (another generator's file?)" : "");
        return 0;
}

static int run(const char *dest, _unused_ const char *early, _unused_ const char *late) {
        _cleanup_(host_done) struct host host = {};
        _cleanup_(host_report_done) struct host_report rep = {};
        _cleanup_close_ int dest_fd = -1;
        _cleanup_free_ char *rules = NULL; /* the redirect apps' rule files, for the firewall */
        int r = 0, k;

        /* Which declarations exist and which of them the checks across apps let through: lib/host-check.h,
         * shared with bluegreenctl verify. */
        k = host_scan(&host, &rep);
        log_report(&rep);
        if (k == -ENOMEM)
                log_oom();
        if (k < 0)
                r = k;
        if (host.n == 0)
                return r;

        if (host_units_load(&host) < 0)
                return log_oom();
        dest_fd = open(dest, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dest_fd < 0)
                return log_error_errno(-errno, "Failed to open the output directory %s: %m", dest);
        /* Made once for every app; one that exists already (made by another generator) is no clash. */
        for (size_t i = 0; i < ELEMENTSOF(shared_dirs); i++)
                if (mkdirat(dest_fd, shared_dirs[i], 0755) < 0 && errno != EEXIST)
                        return log_error_errno(-errno, "Failed to create %s/%s: %m", dest, shared_dirs[i]);

        for (size_t i = 0; i < host.n; i++) {
                _cleanup_(app_decl_freep) struct app_decl *d = NULL;
                int failed = 0;

                if (host.items[i].masked) {
                        log_debug("%s is masked, skipping.", host.items[i].path);
                        continue;
                }
                k = host_check(&host, i, &d, &failed, &rep);
                log_report(&rep);
                if (k < 0)
                        return log_oom();
                if (!d) {
                        if (r >= 0)
                                r = failed;
                        continue;
                }
                k = generate_app(dest, dest_fd, d);
                if (k < 0) {
                        if (r >= 0)
                                r = k;
                        continue;
                }
                (void) host_report_reload_notice(d, &rep);
                log_report(&rep);
                if (d->nginx.switch_mode == SWITCH_REDIRECT && append_rule_include(&rules, d->name) < 0)
                        return log_oom();
                (void) host_claim(&host, i, d);
        }
        if (rules) {
                k = generate_firewall(dest, dest_fd, rules);
                if (r >= 0 && k < 0)
                        r = k;
        }
        /* Leave no empty directories behind (when no app could be generated, or none in redirect mode);
         * one that is not empty stays. */
        for (size_t i = 0; i < ELEMENTSOF(shared_dirs); i++)
                (void) unlinkat(dest_fd, shared_dirs[i], AT_REMOVEDIR);
        return r;
}


int main(int argc, char *argv[]) {
        if (argc > 1 && (streq(argv[1], "--help") || streq(argv[1], "-h"))) {
                printf("Usage: %s NORMAL-DIR [EARLY-DIR LATE-DIR]\n\n"
                       "Generates the systemd units of each blue-green app declared in /etc/bluegreen/*.conf.\n"
                       "Run by systemd at boot and on daemon-reload; see bluegreen-generator(8).\n",
                       program_invocation_short_name);
                return EXIT_SUCCESS;
        }
        if (argc > 1 && streq(argv[1], "--version")) {
                printf("bluegreen-generator %s\n", BLUEGREEN_VERSION);
                return EXIT_SUCCESS;
        }
        log_setup_generator("bluegreen-generator");
        if (argc != 2 && argc != 4) {
                log_error("This program takes one or three arguments (see --help).");
                return EXIT_FAILURE;
        }
        umask(0022);
        return run(argv[1], argc > 2 ? argv[2] : NULL, argc > 3 ? argv[3] : NULL) < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}
