/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "host-check.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <syslog.h>
#include <unistd.h>

#include "macro.h"
#include "search-path.h"
#include "trust.h"

static const char *const default_search_path[] = {
        "/etc/bluegreen",
        "/run/bluegreen",
        "/usr/local/lib/bluegreen",
        "/usr/lib/bluegreen",
};

/* The units of an app are its name plus one of these; "" is the app unit and "@" the color template. */
static const char *const unit_suffixes[] = {
        ".service",         "@.service",           "-deploy@.service",          "-rollback.service",
        "-retire@.timer",   "-retire@.service",    "-deploy-trigger.path",      "-deploy-trigger.service",
        "-pre-start@.service", "-post-switch@.service", "-redirect.service", "-failover@.service",
        "-watch@.service",
};

/* The unit directories below the generator's in systemd's search path: a unit there with the name of
 * one of ours would be shadowed. (/etc and /run/systemd/system come first, so an admin's own unit or
 * mask there wins over ours, as it should, and is no clash.) */
static const char *const system_unit_path[] = {
        "/usr/local/lib/systemd/system",
        "/usr/lib/systemd/system",
        "/lib/systemd/system",
};

/* ---- the report ---- */

void host_report_done(struct host_report *rep) {
        for (size_t i = 0; i < rep->n; i++) {
                free(rep->msgs[i].text);
                free(rep->msgs[i].app);
                free(rep->msgs[i].other);
        }
        free(rep->msgs);
        *rep = (struct host_report) {};
}

/* Takes text, which NULL means could not be formatted. */
static int report_take(struct host_report *rep, int prio, const char *app, const char *other, char *text) {
        struct host_msg *n, m = { .prio = prio, .text = text };

        if (!text)
                return -ENOMEM;
        if ((app && !(m.app = strdup(app))) || (other && !(m.other = strdup(other))) ||
            !(n = realloc(rep->msgs, (rep->n + 1) * sizeof(*rep->msgs)))) {
                free(m.text);
                free(m.app);
                free(m.other);
                return -ENOMEM;
        }
        rep->msgs = n;
        rep->msgs[rep->n++] = m;
        return 0;
}

_printf_(5, 6) static int report(struct host_report *rep, int prio, const char *app, const char *other,
                                 const char *fmt, ...) {
        char *text;
        va_list ap;
        int k;

        va_start(ap, fmt);
        k = vasprintf(&text, fmt, ap);
        va_end(ap);
        return report_take(rep, prio, app, other, k < 0 ? NULL : text);
}

/* ---- the declarations along the search path ---- */

static void host_decl_done(struct host_decl *d) {
        free(d->name);
        free(d->path);
        free(d->include);
        free(d->upstream);
        free(d->trigger);
}

ssize_t host_find(const struct host *h, const char *name) {
        for (size_t i = 0; i < h->n; i++)
                if (streq(h->items[i].name, name))
                        return (ssize_t) i;
        return -1;
}

static int host_decl_cmp(const void *a, const void *b) {
        return strcmp(((const struct host_decl *) a)->name, ((const struct host_decl *) b)->name);
}

/* Sorted, so the output (and the log) does not depend on directory order. */
static void host_sort(struct host *h) {
        if (h->n > 0)
                qsort(h->items, h->n, sizeof(*h->items), host_decl_cmp);
}

static int report_bad_name(struct host_report *rep, const char *path, const char *name) {
        return report(rep, LOG_ERR, name, NULL,
                      "%s: \"%s\" is not a valid app name: use 1 to 64 letters, digits, \"_\" or \"-\"; skipping it.",
                      path, name);
}

/* What the declaration at path is: masked or a regular file (0), something to skip (reported; a positive
 * errno: why), or a name that cannot become unit names (reported, -EINVAL). */
static int look_at(const char *name, const char *path, bool *ret_masked, struct host_report *rep) {
        struct stat st;
        int k;

        if (stat(path, &st) < 0) {
                k = errno;
                return report(rep, LOG_WARNING, name, NULL, "Failed to stat %s, ignoring: %s", path, strerror(k)) < 0
                               ? -ENOMEM
                               : k;
        }
        if (!search_path_is_masked(&st) && !S_ISREG(st.st_mode))
                return report(rep, LOG_WARNING, name, NULL, "%s is not a regular file, ignoring.", path) < 0 ? -ENOMEM
                                                                                                            : EBADFD;
        if (!search_path_is_masked(&st) && !app_name_is_valid(name))
                return report_bad_name(rep, path, name) < 0 ? -ENOMEM : -EINVAL;
        *ret_masked = search_path_is_masked(&st);
        return 0;
}

/* Takes name and path, also when it fails. */
static int host_add(struct host *h, char *name, char *path, bool masked) {
        struct host_decl *n = realloc(h->items, (h->n + 1) * sizeof(*h->items));

        if (!n) {
                free(name);
                free(path);
                return -ENOMEM;
        }
        h->items = n;
        h->items[h->n++] = (struct host_decl) { .name = name, .path = path, .masked = masked };
        return 0;
}

/* Collects the declarations of one directory, skipping names already found in a directory that takes
 * precedence. Names that cannot become unit names are reported and counted as failures. */
static int scan_dir(struct host *h, const char *dir, struct host_report *rep) {
        _cleanup_(closedirp) DIR *d = NULL;
        struct dirent *de;
        int r = 0, k;

        d = opendir(dir);
        if (!d) {
                if (errno == ENOENT)
                        return 0;
                k = -errno;
                return report(rep, LOG_WARNING, NULL, NULL, "Failed to open %s, ignoring: %s", dir, strerror(-k));
        }

        while ((errno = 0, de = readdir(d))) {
                _cleanup_free_ char *name = NULL, *path = NULL;
                size_t len = strlen(de->d_name);
                bool masked = false;

                if (de->d_name[0] == '.' || len <= 5 || !streq(de->d_name + len - 5, ".conf"))
                        continue;

                name = strndup(de->d_name, len - 5);
                if (!name || asprintf(&path, "%s/%s", dir, de->d_name) < 0)
                        return -ENOMEM;

                if (host_find(h, name) >= 0)
                        continue;

                k = look_at(name, path, &masked, rep);
                if (k == -ENOMEM)
                        return k;
                if (k == -EINVAL && r >= 0)
                        r = k;
                if (k != 0)
                        continue;

                k = host_add(h, TAKE_PTR(name), TAKE_PTR(path), masked);
                if (k < 0)
                        return k;
        }
        if (errno != 0) {
                k = -errno;
                if (report(rep, LOG_WARNING, NULL, NULL, "Failed to read %s, ignoring the rest of it: %s", dir,
                           strerror(-k)) < 0)
                        return -ENOMEM;
        }
        return r;
}

int host_scan(struct host *h, struct host_report *rep) {
        _cleanup_(search_path_done) struct search_path p = {};
        int r = 0, k;

        k = search_path_get("BLUEGREEN_CONFIG_PATH", default_search_path, ELEMENTSOF(default_search_path), &p);
        if (k < 0)
                return k;
        for (size_t i = 0; i < p.n; i++) {
                k = scan_dir(h, p.dirs[i], rep);
                if (r >= 0 && k < 0)
                        r = k;
        }
        host_sort(h);
        return r;
}

int host_put(struct host *h, const char *name, const char *path, struct host_report *rep) {
        _cleanup_free_ char *n = strdup(name), *p = strdup(path);
        ssize_t i;
        bool masked = false;
        int r;

        if (!n || !p)
                return -ENOMEM;
        r = look_at(name, path, &masked, rep);
        if (r != 0)
                return r < 0 ? r : -r;
        i = host_find(h, name);
        if (i >= 0) {
                host_decl_done(&h->items[i]);
                h->items[i] = (struct host_decl) { .name = TAKE_PTR(n), .path = TAKE_PTR(p), .masked = masked };
                return 0;
        }
        r = host_add(h, TAKE_PTR(n), TAKE_PTR(p), masked);
        if (r < 0)
                return r;
        host_sort(h);
        return 0;
}

/* ---- names systemd already has ---- */

/* An app called "nginx" would replace nginx.service: the generator's output takes precedence over the
 * vendor unit directories. Such a name is refused rather than allowed to shadow a real unit. */
struct host_units {
        int dirfds[ELEMENTSOF(system_unit_path)];
        const char *dirs[ELEMENTSOF(system_unit_path)];
        size_t n_dirs;
        char **names; /* with many apps: every file name in those directories, sorted */
        size_t n, size;
        bool listed;
};

static void host_units_free(struct host_units *u) {
        if (!u)
                return;
        for (size_t i = 0; i < u->n_dirs; i++)
                close(u->dirfds[i]);
        for (size_t i = 0; i < u->n; i++)
                free(u->names[i]);
        free(u->names);
        free(u);
}

void host_done(struct host *h) {
        for (size_t i = 0; i < h->n; i++)
                host_decl_done(&h->items[i]);
        free(h->items);
        host_units_free(h->units);
        *h = (struct host) {};
}

static int cmp_names(const void *a, const void *b) {
        return strcmp(*(char *const *) a, *(char *const *) b);
}

/* With few apps, asking for each name costs less than reading the directories (hundreds of entries);
 * with many, reading each directory once costs less than thousands of look-ups. */
#define LIST_UNIT_DIRS_FROM_APPS 8

static int units_list(struct host_units *u) {
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

/* Opens each unit directory once; on a merged-/usr system /lib and /usr/lib are one, opened once. */
int host_units_load(struct host *h) {
        const char *e = getenv("BLUEGREEN_SYSTEM_UNIT_PATH");
        struct stat seen[ELEMENTSOF(system_unit_path)];
        struct host_units *u;

        host_units_free(h->units);
        u = h->units = calloc(1, sizeof(*h->units));
        if (!u)
                return -ENOMEM;
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
        if (h->n <= LIST_UNIT_DIRS_FROM_APPS)
                return 0;
        return units_list(u);
}

static const char *clashing_system_unit(const struct host_units *u, const char *app, char *buf, size_t size) {
        for (size_t s = 0; u && s < ELEMENTSOF(unit_suffixes); s++) {
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

/* ---- what one app would take from another ---- */

/* "shop-rollback" would write shop-rollback.service, which is shop's rollback unit. */
static const char *clashing_app(const struct host *h, const char *app) {
        static const char *const middles[] = { "-deploy",      "-rollback", "-retire",   "-deploy-trigger", "-pre-start",
                                               "-post-switch", "-redirect", "-failover", "-watch" };

        for (size_t i = 0; i < h->n; i++) {
                size_t n = strlen(h->items[i].name);

                if (h->items[i].masked || strncmp(app, h->items[i].name, n) != 0)
                        continue;
                for (size_t m = 0; m < ELEMENTSOF(middles); m++)
                        if (streq(app + n, middles[m]))
                                return h->items[i].name;
        }
        return NULL;
}

static const struct host_decl *port_owner(const struct host *h, int port) {
        for (size_t i = 0; i < h->n; i++)
                if (h->items[i].claimed && port > 0 &&
                    (h->items[i].ports[0] == port || h->items[i].ports[1] == port || h->items[i].ports[2] == port))
                        return &h->items[i];
        return NULL;
}

static const struct host_decl *sharing_owner(const struct host *h, const struct app_decl *d, const char **what) {
        for (size_t i = 0; i < h->n; i++) {
                const struct host_decl *o = &h->items[i];

                if (!o->claimed)
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

/* The app's own names first: before its declaration is read, so that a clash is named whatever else is
 * wrong with it. */
static int check_names(const struct host *h, const struct host_decl *a, struct host_report *rep) {
        const char *clash;
        char buf[4096];

        if ((clash = clashing_system_unit(h->units, a->name, buf, sizeof buf)))
                return report(rep, LOG_ERR, a->name, NULL,
                              "%s: the app name \"%s\" would replace %s; rename the declaration. No units generated.",
                              a->path, a->name, clash) < 0
                               ? -ENOMEM
                               : -EEXIST;
        if ((clash = clashing_app(h, a->name)))
                return report(rep, LOG_ERR, a->name, clash,
                              "%s: the units of \"%s\" would replace those of app \"%s\"; rename the declaration. "
                              "No units generated.",
                              a->path, a->name, clash) < 0
                               ? -ENOMEM
                               : -EEXIST;
        return 0;
}

static int check_load(const struct host_decl *a, struct app_decl **ret, struct host_report *rep) {
        _cleanup_(diag_done) struct diag diag = {};
        int k;

        k = app_decl_load(a->path, a->name, ret, &diag);
        if (k >= 0)
                return 0;
        for (size_t j = 0; j < diag.n; j++)
                if (report_take(rep, LOG_ERR, a->name, NULL, TAKE_PTR(diag.msgs[j])) < 0)
                        return -ENOMEM;
        if (diag.n == 0 && report(rep, LOG_ERR, a->name, NULL, "Failed to load %s: %s", a->path, strerror(-k)) < 0)
                return -ENOMEM;
        if (report(rep, LOG_ERR, a->name, NULL, "%s: no units generated for app \"%s\".", a->path, a->name) < 0)
                return -ENOMEM;
        return k == -ENOMEM ? -EIO : k; /* the app's failure, not the report's */
}

/* Settings that hand root to the deploy user are warned about, not refused (see lib/trust.h). */
static int check_trust(const struct app_decl *d, struct host_report *rep) {
        _cleanup_(diag_done) struct diag warnings = {};
        int r = trust_check(d, &warnings);

        for (size_t i = 0; r >= 0 && i < warnings.n; i++)
                r = report_take(rep, LOG_WARNING, d->name, NULL, TAKE_PTR(warnings.msgs[i]));
        return r;
}

static int check_taken(const struct host *h, const struct app_decl *d, struct host_report *rep) {
        const struct host_decl *other;
        const char *what = NULL;
        char live[32] = "";

        other = port_owner(h, d->port_blue);
        if (!other)
                other = port_owner(h, d->port_green);
        if (!other)
                other = port_owner(h, d->port_live);
        if (!other) {
                other = sharing_owner(h, d, &what);
                if (!other)
                        return 0;
                return report(rep, LOG_ERR, d->name, other->name,
                              "%s: the %s of \"%s\" is already that of app \"%s\" (%s)%s. No units generated.", d->source,
                              what, d->name, other->name, other->path,
                              streq(what, "trigger file") ? "; give it a trigger of its own (trigger = \"...\")" : "") < 0
                               ? -ENOMEM
                               : -EEXIST;
        }
        if (d->port_live)
                snprintf(live, sizeof live, ", live %d", d->port_live);
        return report(rep, LOG_ERR, d->name, other->name,
                      "%s: a port of \"%s\" (%d, %d%s) is already taken by app \"%s\" (%s). No units generated.",
                      d->source, d->name, d->port_blue, d->port_green, live, other->name, other->path) < 0
                       ? -ENOMEM
                       : -EADDRINUSE;
}

int host_check(struct host *h, size_t i, struct app_decl **ret_decl, int *ret_error, struct host_report *rep) {
        _cleanup_(app_decl_freep) struct app_decl *d = NULL;
        int k;

        *ret_decl = NULL;
        k = check_names(h, &h->items[i], rep);
        if (k == -EEXIST)
                return *ret_error = k, 0;
        if (k < 0)
                return k;
        k = check_load(&h->items[i], &d, rep);
        if (k == -ENOMEM)
                return k;
        if (k < 0)
                return *ret_error = k, 0;
        k = check_trust(d, rep);
        if (k < 0)
                return k;
        k = check_taken(h, d, rep);
        if (k == -ENOMEM)
                return k;
        if (k < 0)
                return *ret_error = k, 0;
        *ret_error = 0;
        *ret_decl = TAKE_PTR(d);
        return 0;
}

int host_claim(struct host *h, size_t i, const struct app_decl *d) {
        struct host_decl *a = &h->items[i];

        /* 0 in socket mode, which port_owner() never matches: such an app holds no port. */
        a->ports[0] = d->port_blue;
        a->ports[1] = d->port_green;
        a->ports[2] = d->port_live;
        a->include = strdup(d->nginx.include);
        a->upstream = d->nginx.style == NGINX_STYLE_UPSTREAM ? strdup(d->nginx.upstream) : NULL;
        a->trigger = strdup(d->trigger);
        a->claimed = true;
        return a->include && a->trigger && (a->upstream || d->nginx.style != NGINX_STYLE_UPSTREAM) ? 0 : -ENOMEM;
}

/* Reload mode fails requests at every switch (nginx's old workers close idle keep-alive connections);
 * an admin who never chose it is told once per run what avoids it. */
int host_report_reload_notice(const struct app_decl *d, struct host_report *rep) {
        char line[sizeof(":4294967295")] = "";

        if (!d->nginx.switch_defaulted)
                return 0;
        if (d->nginx.switch_default_line > 0)
                snprintf(line, sizeof line, ":%u", d->nginx.switch_default_line);
        return report(rep, LOG_NOTICE, d->name, NULL,
                      "%s%s: nginx.switch: reload mode: nginx reloads on every switch and keep-alive clients see "
                      "failed requests; bind the app to ${SOCKET} (socket mode) or add ports.live (redirect mode) to "
                      "avoid it.",
                      d->nginx.switch_default_file, line);
}

int host_check_firewall(struct nftables_unit *ret, struct host_report *rep) {
        _cleanup_free_ char *reason = NULL;
        int r = nftables_unit_read(ret, &reason);

        if (r >= 0)
                return 1;
        if (r == -ENOENT || r == -ERFKILL)
                return 0;
        if (r == -ENOMEM)
                return r;
        /* The drop-in that docs/operations.md had admins write by hand before the generator wrote its own. */
        if (r == -EMEDIUMTYPE && reason && strstr(reason, BLUEGREEN_RUN_ROOT "/"))
                return report(rep, LOG_NOTICE, NULL, NULL,
                              "%s: not taking over nftables.service, which loads bluegreen's rule files itself; the "
                              "generator's own drop-in does that now: remove yours to use it (see THE FIREWALL in "
                              "bluegreen-boot(8)).",
                              reason);
        if (r == -EMEDIUMTYPE)
                return report(rep, LOG_NOTICE, NULL, NULL,
                              "%s: not taking over nftables.service; a restart, reload or stop of it removes the "
                              "redirect rules until APP-redirect.service sets them again, failing requests meanwhile "
                              "(see THE FIREWALL in bluegreen-boot(8)).",
                              reason ?: "nftables.service");
        return report(rep, LOG_WARNING, NULL, NULL, "Failed to read %s, not taking over nftables.service, ignoring.",
                      reason ?: strerror(-r));
}
