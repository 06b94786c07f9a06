/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * bluegreen-generator: turns each /etc/bluegreen/<app>.conf into the units of a blue-green app.
 * See bluegreen-generator(8) and systemd.generator(7). It reads only declarations, writes only into
 * the output directory it is given, and talks to no other process: it runs before D-Bus exists.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "decl.h"
#include "fileio.h"
#include "log.h"
#include "macro.h"
#include "template.h"
#include "trust.h"

static const char *const default_search_path[] = {
        "/etc/bluegreen",
        "/run/bluegreen",
        "/usr/local/lib/bluegreen",
        "/usr/lib/bluegreen",
};

/* A budget for each hook (database migrations can be slow) and, from it, for a whole deploy, so that a
 * hung step ends the deploy instead of holding the app's lock for ever. */
#define HOOK_TIMEOUT_S 900
#define NGINX_SWITCH_BUDGET_S 120

/* The units of an app are its name plus one of these; "" is the app unit and "@" the color template. */
static const char *const unit_suffixes[] = {
        ".service",         "@.service",           "-deploy@.service",          "-rollback.service",
        "-retire@.timer",   "-retire@.service",    "-deploy-trigger.path",      "-deploy-trigger.service",
        "-pre-start@.service", "-post-switch@.service", "-redirect.service",
};

/* The directories in the output directory that all apps share. */
static const char *const shared_dirs[] = {
        "bluegreen",
        "multi-user.target.wants",
        "nftables.service.wants",
        "firewalld.service.wants",
};

/* The unit directories below the generator's in systemd's search path: a unit there with the name of
 * one of ours would be shadowed. (/etc and /run/systemd/system come first, so an admin's own unit or
 * mask there wins over ours, as it should, and is no clash.) */
static const char *const system_unit_path[] = {
        "/usr/local/lib/systemd/system",
        "/usr/lib/systemd/system",
        "/lib/systemd/system",
};

struct declaration {
        char *name;
        char *path;
        bool masked;
        bool failed;
        int ports[3];
        /* What two apps must not share either: one would overwrite the other's include or trigger, or
         * nginx would refuse two upstream blocks of one name. */
        char *include;
        char *upstream; /* NULL unless the upstream style defines a block */
        char *trigger;
};

struct declarations {
        struct declaration *items;
        size_t n;
};

static void declarations_done(struct declarations *l) {
        for (size_t i = 0; i < l->n; i++) {
                free(l->items[i].name);
                free(l->items[i].path);
                free(l->items[i].include);
                free(l->items[i].upstream);
                free(l->items[i].trigger);
        }
        free(l->items);
}

static bool declarations_has(const struct declarations *l, const char *name) {
        for (size_t i = 0; i < l->n; i++)
                if (streq(l->items[i].name, name))
                        return true;
        return false;
}

static int declaration_cmp(const void *a, const void *b) {
        return strcmp(((const struct declaration *) a)->name, ((const struct declaration *) b)->name);
}

/* systemd's masking convention: an empty file, or a link to /dev/null, hides the same name further down
 * the search path. */
static bool is_masked(const struct stat *st) {
        if (S_ISREG(st->st_mode))
                return st->st_size == 0;
        return S_ISCHR(st->st_mode) && st->st_rdev == makedev(1, 3);
}

/* Collects the declarations of one directory, skipping names already found in a directory that takes
 * precedence. Names that cannot become unit names are logged and counted as failures. */
static int scan_dir(const char *dir, struct declarations *l) {
        _cleanup_(closedirp) DIR *d = NULL;
        struct dirent *de;
        int r = 0;

        d = opendir(dir);
        if (!d) {
                if (errno == ENOENT)
                        return 0;
                return log_warning_errno(-errno, "Failed to open %s, ignoring: %m", dir), 0;
        }

        while ((errno = 0, de = readdir(d))) {
                _cleanup_free_ char *name = NULL, *path = NULL;
                struct declaration *n;
                struct stat st;
                size_t len = strlen(de->d_name);

                if (de->d_name[0] == '.' || len <= 5 || !streq(de->d_name + len - 5, ".conf"))
                        continue;

                name = strndup(de->d_name, len - 5);
                if (!name || asprintf(&path, "%s/%s", dir, de->d_name) < 0)
                        return log_oom();

                if (declarations_has(l, name))
                        continue;

                if (stat(path, &st) < 0) {
                        log_warning_errno(-errno, "Failed to stat %s, ignoring: %m", path);
                        continue;
                }
                if (!is_masked(&st) && !S_ISREG(st.st_mode)) {
                        log_warning("%s is not a regular file, ignoring.", path);
                        continue;
                }
                if (!is_masked(&st) && !app_name_is_valid(name)) {
                        log_error("%s: \"%s\" is not a valid app name: use 1 to 64 letters, digits, \"_\" or \"-\"; skipping it.",
                                  path, name);
                        if (r >= 0)
                                r = -EINVAL;
                        continue;
                }

                n = realloc(l->items, (l->n + 1) * sizeof(*l->items));
                if (!n)
                        return log_oom();
                l->items = n;
                l->items[l->n++] = (struct declaration) {
                        .name = TAKE_PTR(name),
                        .path = TAKE_PTR(path),
                        .masked = is_masked(&st),
                };
        }
        if (errno != 0)
                log_warning_errno(-errno, "Failed to read %s, ignoring the rest of it: %m", dir);
        return r;
}

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

/* The most an app writes: 3 environment files, 8 units, 2 hook units, the redirect unit and 4 links
 * (checked in render_app()). */
#define APP_FILES_MAX 18

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

_printf_(1, 2) static char *strf(const char *fmt, ...) {
        va_list ap;
        char *s;
        int k;

        va_start(ap, fmt);
        k = vasprintf(&s, fmt, ap);
        va_end(ap);
        return k < 0 ? NULL : s;
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
                struct tvar v[ELEMENTSOF(vs.v) + 2];
                char port[16];

                snprintf(port, sizeof port, "%d", c == 0 ? d->port_blue : d->port_green);
                memcpy(v, vs.v, vs.n * sizeof(struct tvar));
                v[vs.n] = (struct tvar) { "COLOR", color };
                v[vs.n + 1] = (struct tvar) { "PORT", port };
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
        if (r >= 0 && redirect)
                r = render_file(a, strf("%s-redirect.service", d->name), "redirect.service", vs.v, vs.n);

        /* Enabled by the generator itself: the app comes back at boot, its trigger is watched, and in
         * redirect mode its rule comes back with the firewall's ruleset (the wants links are harmless
         * where that firewall is not installed). The links come last, so that an app is never enabled
         * before all of its units are on disk. */
        const struct {
                const char *wants, *suffix;
                bool only_redirect;
        } links[] = {
                { "multi-user.target.wants", ".service", false },
                { "multi-user.target.wants", "-deploy-trigger.path", false },
                { "nftables.service.wants", "-redirect.service", true },
                { "firewalld.service.wants", "-redirect.service", true },
        };
        _Static_assert(3 + ELEMENTSOF(units) + ELEMENTSOF(hooks) + 1 + ELEMENTSOF(links) <= APP_FILES_MAX,
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

/* An app called "nginx" would replace nginx.service: the generator's output takes precedence over the
 * vendor unit directories. Such a name is refused rather than allowed to shadow a real unit. */
struct unit_names {
        int dirfds[ELEMENTSOF(system_unit_path)];
        const char *dirs[ELEMENTSOF(system_unit_path)];
        size_t n_dirs;
        char **names; /* with many apps: every file name in those directories, sorted */
        size_t n, size;
        bool listed;
};

static void unit_names_done(struct unit_names *u) {
        for (size_t i = 0; i < u->n_dirs; i++)
                close(u->dirfds[i]);
        for (size_t i = 0; i < u->n; i++)
                free(u->names[i]);
        free(u->names);
}

static int cmp_names(const void *a, const void *b) {
        return strcmp(*(char *const *) a, *(char *const *) b);
}

/* With few apps, asking for each name costs less than reading the directories (hundreds of entries);
 * with many, reading each directory once costs less than thousands of look-ups. */
#define LIST_UNIT_DIRS_FROM_APPS 8

/* Opens each unit directory once; on a merged-/usr system /lib and /usr/lib are one, opened once. */
static int unit_names_load(struct unit_names *u, size_t n_apps) {
        const char *e = getenv("BLUEGREEN_SYSTEM_UNIT_PATH");
        struct stat seen[ELEMENTSOF(system_unit_path)];

        for (size_t i = 0; i < (e ? 1 : ELEMENTSOF(system_unit_path)); i++) {
                const char *dir = e ?: system_unit_path[i];
                int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                bool dup = false;

                if (fd < 0)
                        continue;
                if (fstat(fd, &seen[u->n_dirs]) < 0) {
                        close(fd);
                        continue;
                }
                for (size_t j = 0; j < u->n_dirs; j++)
                        dup = dup || (seen[j].st_dev == seen[u->n_dirs].st_dev && seen[j].st_ino == seen[u->n_dirs].st_ino);
                if (dup) {
                        close(fd);
                        continue;
                }
                u->dirs[u->n_dirs] = dir;
                u->dirfds[u->n_dirs++] = fd;
        }
        if (n_apps <= LIST_UNIT_DIRS_FROM_APPS)
                return 0;

        u->listed = true;
        for (size_t i = 0; i < u->n_dirs; i++) {
                _cleanup_(closedirp) DIR *d = NULL;
                struct dirent *de;
                int fd = dup(u->dirfds[i]);

                if (fd < 0 || !(d = fdopendir(fd))) {
                        if (fd >= 0)
                                close(fd);
                        return -errno;
                }
                while ((de = readdir(d))) {
                        struct stat st;

                        if (de->d_name[0] == '.' || de->d_type == DT_DIR)
                                continue;
                        /* Some file systems do not say what an entry is: drop-in directories are no clash. */
                        if (de->d_type == DT_UNKNOWN &&
                            fstatat(u->dirfds[i], de->d_name, &st, AT_SYMLINK_NOFOLLOW) >= 0 && S_ISDIR(st.st_mode))
                                continue;
                        if (u->n == u->size) {
                                size_t size = u->size ? u->size * 2 : 512;
                                char **nn = realloc(u->names, size * sizeof(char *));

                                if (!nn)
                                        return -ENOMEM;
                                u->names = nn;
                                u->size = size;
                        }
                        u->names[u->n] = strdup(de->d_name);
                        if (!u->names[u->n])
                                return -ENOMEM;
                        u->n++;
                }
        }
        if (u->n > 0)
                qsort(u->names, u->n, sizeof(char *), cmp_names);
        return 0;
}

static const char *clashing_system_unit(const struct unit_names *u, const char *app, char *buf, size_t size) {
        for (size_t s = 0; s < ELEMENTSOF(unit_suffixes); s++) {
                char key[512], *k = key;

                snprintf(key, sizeof key, "%s%s", app, unit_suffixes[s]);
                if (u->listed && !bsearch(&k, u->names, u->n, sizeof(char *), cmp_names))
                        continue;
                for (size_t i = 0; i < u->n_dirs; i++) {
                        struct stat st;

                        if (fstatat(u->dirfds[i], key, &st, AT_SYMLINK_NOFOLLOW) >= 0 && !S_ISDIR(st.st_mode)) {
                                snprintf(buf, size, "%s/%s", u->dirs[i], key);
                                return buf;
                        }
                }
        }
        return NULL;
}

/* "shop-rollback" would write shop-rollback.service, which is shop's rollback unit. */
static const char *clashing_app(const struct declarations *l, const char *app) {
        static const char *const middles[] = { "-deploy", "-rollback", "-retire", "-deploy-trigger", "-pre-start",
                                               "-post-switch", "-redirect" };

        for (size_t i = 0; i < l->n; i++) {
                size_t n = strlen(l->items[i].name);

                if (l->items[i].masked || strncmp(app, l->items[i].name, n) != 0)
                        continue;
                for (size_t m = 0; m < ELEMENTSOF(middles); m++)
                        if (streq(app + n, middles[m]))
                                return l->items[i].name;
        }
        return NULL;
}

static const struct declaration *port_owner(const struct declarations *l, size_t upto, int port) {
        for (size_t i = 0; i < upto; i++)
                if (!l->items[i].masked && !l->items[i].failed && port > 0 &&
                    (l->items[i].ports[0] == port || l->items[i].ports[1] == port || l->items[i].ports[2] == port))
                        return &l->items[i];
        return NULL;
}

static const struct declaration *sharing_owner(const struct declarations *l, size_t upto, const struct app_decl *d,
                                               const char **what) {
        for (size_t i = 0; i < upto; i++) {
                const struct declaration *o = &l->items[i];

                if (o->masked || o->failed)
                        continue;
                if (o->include && streq(o->include, d->nginx.include))
                        return *what = "nginx include", o;
                if (o->upstream && d->nginx.style == NGINX_STYLE_UPSTREAM && streq(o->upstream, d->nginx.upstream))
                        return *what = "nginx upstream name", o;
                if (o->trigger && streq(o->trigger, d->trigger))
                        return *what = "trigger file", o;
        }
        return NULL;
}

/* Settings that hand root to the deploy user are warned about, not refused (see lib/trust.h). */
static int log_trust_warnings(const struct app_decl *d) {
        _cleanup_(diag_done) struct diag warnings = {};
        int r = trust_check(d, &warnings);

        for (size_t i = 0; i < warnings.n; i++)
                log_warning("%s", warnings.msgs[i]);
        return r;
}

static int split_search_path(char ***ret, size_t *n_ret) {
        const char *e = getenv("BLUEGREEN_CONFIG_PATH");
        char **l = NULL;
        size_t n = 0;

        if (!e) {
                l = calloc(ELEMENTSOF(default_search_path), sizeof(char *));
                if (!l)
                        return -ENOMEM;
                for (; n < ELEMENTSOF(default_search_path); n++)
                        if (!(l[n] = strdup(default_search_path[n])))
                                goto oom;
                *ret = l;
                *n_ret = n;
                return 0;
        }

        for (const char *p = e; *p;) {
                size_t k = strcspn(p, ":");
                char **nl;

                if (k > 0) {
                        char cwd[4096] = "";

                        nl = realloc(l, (n + 1) * sizeof(char *));
                        if (!nl)
                                goto oom;
                        l = nl;
                        /* SourcePath= must be absolute, so a relative directory is taken from here. */
                        if (p[0] != '/' && !getcwd(cwd, sizeof cwd))
                                goto oom;
                        if (asprintf(&l[n], "%s%s%.*s", cwd, *cwd ? "/" : "", (int) k, p) < 0)
                                goto oom;
                        n++;
                }
                p += k;
                if (*p == ':')
                        p++;
        }
        *ret = l;
        *n_ret = n;
        return 0;
oom:
        for (size_t i = 0; i < n; i++)
                free(l[i]);
        free(l);
        return -ENOMEM;
}

static int run(const char *dest, _unused_ const char *early, _unused_ const char *late) {
        _cleanup_(declarations_done) struct declarations decls = {};
        _cleanup_(unit_names_done) struct unit_names system_units = {};
        _cleanup_close_ int dest_fd = -1;
        char **dirs = NULL;
        size_t n_dirs = 0;
        int r = 0, k;

        k = split_search_path(&dirs, &n_dirs);
        if (k < 0)
                return log_oom();
        for (size_t i = 0; i < n_dirs; i++) {
                k = scan_dir(dirs[i], &decls);
                if (r >= 0 && k < 0)
                        r = k;
                free(dirs[i]);
        }
        free(dirs);

        /* Sorted, so the output (and the log) does not depend on directory order. */
        if (decls.n > 0)
                qsort(decls.items, decls.n, sizeof(*decls.items), declaration_cmp);
        if (decls.n == 0)
                return r;

        if (unit_names_load(&system_units, decls.n) < 0)
                return log_oom();
        dest_fd = open(dest, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dest_fd < 0)
                return log_error_errno(-errno, "Failed to open the output directory %s: %m", dest);
        /* Made once for every app; one that exists already (made by another generator) is no clash. */
        for (size_t i = 0; i < ELEMENTSOF(shared_dirs); i++)
                if (mkdirat(dest_fd, shared_dirs[i], 0755) < 0 && errno != EEXIST)
                        return log_error_errno(-errno, "Failed to create %s/%s: %m", dest, shared_dirs[i]);

        for (size_t i = 0; i < decls.n; i++) {
                _cleanup_(app_decl_freep) struct app_decl *d = NULL;
                _cleanup_(diag_done) struct diag diag = {};
                _cleanup_(app_files_done) struct app_files files = {};

                const struct declaration *other;
                const char *clash, *failed;
                char buf[4096];

                if (decls.items[i].masked) {
                        log_debug("%s is masked, skipping.", decls.items[i].path);
                        continue;
                }
                decls.items[i].failed = true;

                if ((clash = clashing_system_unit(&system_units, decls.items[i].name, buf, sizeof buf))) {
                        log_error("%s: the app name \"%s\" would replace %s; rename the declaration. No units generated.",
                                  decls.items[i].path, decls.items[i].name, clash);
                        if (r >= 0)
                                r = -EEXIST;
                        continue;
                }
                if ((clash = clashing_app(&decls, decls.items[i].name))) {
                        log_error("%s: the units of \"%s\" would replace those of app \"%s\"; rename the declaration. "
                                  "No units generated.",
                                  decls.items[i].path, decls.items[i].name, clash);
                        if (r >= 0)
                                r = -EEXIST;
                        continue;
                }

                k = app_decl_load(decls.items[i].path, decls.items[i].name, &d, &diag);
                if (k < 0) {
                        for (size_t j = 0; j < diag.n; j++)
                                log_error("%s", diag.msgs[j]);
                        if (diag.n == 0)
                                log_error_errno(k, "Failed to load %s: %m", decls.items[i].path);
                        log_error("%s: no units generated for app \"%s\".", decls.items[i].path, decls.items[i].name);
                        if (r >= 0)
                                r = k;
                        continue;
                }
                if (log_trust_warnings(d) < 0)
                        return log_oom();

                other = port_owner(&decls, i, d->port_blue);
                if (!other)
                        other = port_owner(&decls, i, d->port_green);
                if (!other)
                        other = port_owner(&decls, i, d->port_live);
                if (!other) {
                        const char *what = NULL;

                        other = sharing_owner(&decls, i, d, &what);
                        if (other) {
                                log_error("%s: the %s of \"%s\" is already that of app \"%s\" (%s)%s. No units generated.",
                                          d->source, what, d->name, other->name, other->path,
                                          streq(what, "trigger file") ? "; give it a trigger of its own (trigger = \"...\")"
                                                                      : "");
                                if (r >= 0)
                                        r = -EEXIST;
                                continue;
                        }
                }
                if (other) {
                        char live[32] = "";

                        if (d->port_live)
                                snprintf(live, sizeof live, ", live %d", d->port_live);
                        log_error("%s: a port of \"%s\" (%d, %d%s) is already taken by app \"%s\" (%s). No units generated.",
                                  d->source, d->name, d->port_blue, d->port_green, live, other->name, other->path);
                        if (r >= 0)
                                r = -EADDRINUSE;
                        continue;
                }

                k = render_app(dest, d, &files);
                if (k < 0) {
                        log_error_errno(k, "Failed to generate the units of \"%s\" from %s: %m", d->name, d->source);
                        if (r >= 0)
                                r = k;
                        continue;
                }
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
                        if (r >= 0)
                                r = k;
                        continue;
                }
                decls.items[i].failed = false;
                decls.items[i].ports[0] = d->port_blue;
                decls.items[i].ports[1] = d->port_green;
                decls.items[i].ports[2] = d->port_live;
                decls.items[i].include = strdup(d->nginx.include);
                decls.items[i].upstream = d->nginx.style == NGINX_STYLE_UPSTREAM ? strdup(d->nginx.upstream) : NULL;
                decls.items[i].trigger = strdup(d->trigger);
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
