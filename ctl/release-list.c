/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "release-list.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bus.h"
#include "decl.h"
#include "disk-usage.h"
#include "fileio.h"
#include "macro.h"
#include "release.h"
#include "running-instances.h"
#include "state.h"
#include "switch.h"
#include "unit-name.h"

static void entry_done(struct release_entry *r) {
        free(r->name);
        for (size_t i = 0; i < r->n_aliases; i++)
                free(r->aliases[i]);
        free(r->aliases);
}

void release_list_done(struct release_list *l) {
        for (size_t i = 0; i < l->n; i++)
                entry_done(&l->items[i]);
        free(l->items);
        if (l->fd >= 0)
                close(l->fd);
        *l = (struct release_list) { .fd = -1 };
}

static struct release_entry *find(struct release_list *l, const char *name) {
        for (size_t i = 0; name && i < l->n; i++)
                if (streq(l->items[i].name, name))
                        return &l->items[i];
        return NULL;
}

/* The release a name leads to, an alias followed as a deploy follows it (release_find()). */
static struct release_entry *find_resolved(struct release_list *l, const struct app_env *e, const char *name) {
        _cleanup_(release_done) struct release rel = RELEASE_NULL;
        char reason[512];

        if (find(l, name))
                return find(l, name);
        if (!name || !release_name_is_valid(name) ||
            release_find(e->releases, name, NULL, NULL, &rel, reason, sizeof reason) < 0)
                return NULL;
        return find(l, rel.name);
}

static int add_entry(struct release_list *l, const char *name, const struct stat *st) {
        struct release_entry *n = realloc(l->items, (l->n + 1) * sizeof(*l->items));

        if (!n)
                return -ENOMEM;
        l->items = n;
        n[l->n] = (struct release_entry) { .name = strdup(name), .st = *st };
        if (!n[l->n].name)
                return -ENOMEM;
        l->n++;
        return 0;
}

static int add_alias(struct release_entry *r, const char *alias) {
        char **n = realloc(r->aliases, (r->n_aliases + 1) * sizeof(char *));

        if (!n)
                return -ENOMEM;
        r->aliases = n;
        if (!(n[r->n_aliases] = strdup(alias)))
                return -ENOMEM;
        r->n_aliases++;
        r->marks |= RELEASE_ALIASED;
        return 0;
}

/* The directories with a release name; then each symbolic link that leads to one is its alias. */
static int read_dir(struct release_list *l, const struct app_env *e) {
        _cleanup_(closedirp) DIR *d = NULL;
        struct dirent *de;
        int fd, r;

        fd = openat(l->fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return negative_errno();
        d = fdopendir(fd);
        if (!d) {
                r = negative_errno();
                close(fd);
                return r;
        }
        while ((errno = 0, de = readdir(d))) {
                struct stat st;

                if (!release_name_is_valid(de->d_name) ||
                    fstatat(l->fd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISDIR(st.st_mode))
                        continue;
                r = add_entry(l, de->d_name, &st);
                if (r < 0)
                        return r;
        }
        if (errno != 0)
                return negative_errno();
        rewinddir(d);
        while ((de = readdir(d))) {
                struct release_entry *target;
                struct stat st;

                if (!release_name_is_valid(de->d_name) ||
                    fstatat(l->fd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISLNK(st.st_mode))
                        continue;
                target = find_resolved(l, e, de->d_name);
                if (target && (r = add_alias(target, de->d_name)) < 0)
                        return r;
        }
        return 0;
}

static bool unit_runs(sd_bus *bus, const char *unit) {
        _cleanup_free_ char *state = NULL;

        return bus_unit_get_string(bus, unit, "org.freedesktop.systemd1.Unit", "ActiveState", &state) >= 0 &&
               (streq(state, "active") || streq(state, "activating") || streq(state, "reloading"));
}

static int mark_pins(struct release_list *l, const struct app_env *e, sd_bus *bus, char *reason, size_t size) {
        _cleanup_(state_done) struct app_state s = {};
        int r;

        r = state_load(e->state_dir, &s);
        if (r < 0 && r != -ENOENT) {
                snprintf(reason, size, "Failed to read the state in %s: %s", e->state_dir, strerror(-r));
                return r;
        }
        for (int c = 0; c < 2; c++) {
                struct release_entry *p = find(l, s.release[c]);

                if (!p)
                        continue;
                p->marks |= RELEASE_PINNED;
                if (c == (int) s.active)
                        p->pin[c] = PIN_LIVE;
                else if (bus && unit_runs(bus, unit_name(e->app, "@", color_to_string(c), "service")))
                        p->pin[c] = PIN_WARM;
                else
                        p->pin[c] = PIN_STOPPED;
                p->marks |= p->pin[c] == PIN_LIVE ? RELEASE_LIVE : p->pin[c] == PIN_WARM ? RELEASE_WARM : 0;
        }
        return 0;
}

static void mark_in_flight(struct release_list *l, const struct app_env *e, const char *name) {
        struct release_entry *p = find_resolved(l, e, name);

        if (p)
                p->marks |= RELEASE_IN_FLIGHT;
}

/* A deploy that died half-way is finished or undone by the next run: it needs its release, and the
 * release each color was pinned to before, which an undo puts back. */
static int mark_intent(struct release_list *l, const struct app_env *e, char *reason, size_t size) {
        _cleanup_(switch_intent_done) struct switch_intent i = {};
        int r;

        r = switch_intent_load(e->state_dir, &i);
        if (r == -ENOENT)
                return 0;
        if (r < 0) {
                snprintf(reason, size, "%s/intent is unreadable: %s", e->state_dir, strerror(-r));
                return r;
        }
        mark_in_flight(l, e, i.release);
        for (int c = 0; c < 2; c++)
                if (i.pin[c])
                        mark_in_flight(l, e, strrchr(i.pin[c], '/') ? strrchr(i.pin[c], '/') + 1 : i.pin[c]);
        return 0;
}

static int strv_add(char ***l, size_t *n, const char *s) {
        char **nl = realloc(*l, (*n + 1) * sizeof(char *));

        if (!nl)
                return -ENOMEM;
        *l = nl;
        if (!(nl[*n] = strdup(s)))
                return -ENOMEM;
        (*n)++;
        return 0;
}

int release_names_wanted(const struct app_env *e, sd_bus *bus, char ***ret, size_t *ret_n) {
        _cleanup_free_ char *text = NULL;
        char prefix[APP_NAME_MAX + sizeof("-deploy@")], **l = NULL;
        size_t n = 0;
        int r = 0;

        /* The name a deploy user wrote into the trigger file is deployed next (bluegreen-trigger(8)). */
        if (!isempty(e->trigger) && read_regular_file_nofollow(e->trigger, 4096, &text, NULL) >= 0) {
                text[strcspn(text, " \t\r\n")] = 0;
                if (*text)
                        r = strv_add(&l, &n, text);
        }
        if (r >= 0 && bus) {
                char **units = NULL;
                size_t n_units = 0;

                snprintf(prefix, sizeof prefix, "%s-deploy@", e->app);
                r = bus_template_instances_running(bus, prefix, &units, &n_units);
                for (size_t i = 0; r >= 0 && i < n_units; i++)
                        r = strv_add(&l, &n, units[i]);
                instances_free(units, n_units);
        }
        if (r < 0) {
                instances_free(l, n);
                return r;
        }
        *ret = l;
        *ret_n = n;
        return bus ? 0 : -ENOTCONN;
}

static int cmp_newest_first(const void *a, const void *b) {
        const struct release_entry *x = a, *y = b;

        if (x->st.st_mtim.tv_sec != y->st.st_mtim.tv_sec)
                return x->st.st_mtim.tv_sec < y->st.st_mtim.tv_sec ? 1 : -1;
        if (x->st.st_mtim.tv_nsec != y->st.st_mtim.tv_nsec)
                return x->st.st_mtim.tv_nsec < y->st.st_mtim.tv_nsec ? 1 : -1;
        return -strcmp(x->name, y->name);
}

int release_list_load(const struct app_env *e, sd_bus *bus, int flags, struct release_list *ret, char *reason,
                      size_t size) {
        _cleanup_(release_list_done) struct release_list l = { .fd = -1 };
        int r;

        l.fd = releases_open(e->releases, "releases directory", NULL, reason, size);
        if (l.fd < 0)
                return l.fd;
        r = read_dir(&l, e);
        if (r < 0) {
                snprintf(reason, size, "Failed to read the releases directory %s: %s", e->releases, strerror(-r));
                return r;
        }
        r = mark_pins(&l, e, bus, reason, size);
        if (r >= 0)
                r = mark_intent(&l, e, reason, size);
        if (r < 0)
                return r;
        {
                char **wanted = NULL;
                size_t n_wanted = 0;

                r = release_names_wanted(e, bus, &wanted, &n_wanted);
                if (r == -ENOMEM)
                        return r;
                l.units_known = r >= 0;
                for (size_t i = 0; i < n_wanted; i++)
                        mark_in_flight(&l, e, wanted[i]);
                instances_free(wanted, n_wanted);
        }
        if (flags & RELEASE_LIST_SIZES)
                for (size_t i = 0; i < l.n; i++)
                        (void) disk_usage(l.fd, l.items[i].name, &l.items[i].size);
        if (l.n > 0)
                qsort(l.items, l.n, sizeof(*l.items), cmp_newest_first);
        *ret = l;
        l = (struct release_list) { .fd = -1 };
        return 0;
}

_printf_(4, 5) static void append(char *buf, size_t size, size_t *len, const char *fmt, ...) {
        va_list ap;
        int k;

        if (*len >= size)
                return;
        va_start(ap, fmt);
        k = vsnprintf(buf + *len, size - *len, fmt, ap);
        va_end(ap);
        if (k > 0)
                *len += (size_t) k;
}

const char *release_entry_why(const struct release_entry *r, char *buf, size_t size) {
        static const char *const roles[] = { [PIN_LIVE] = "live", [PIN_WARM] = "warm", [PIN_STOPPED] = "pinned" };
        size_t len = 0;

        buf[0] = 0;
        for (int c = 0; c < 2; c++)
                if (r->pin[c] != PIN_NONE)
                        append(buf, size, &len, "%s%s (%s)", len ? ", " : "", roles[r->pin[c]], color_to_string(c));
        if (r->marks & RELEASE_IN_FLIGHT)
                append(buf, size, &len, "%sdeploy in flight", len ? ", " : "");
        for (size_t i = 0; i < r->n_aliases; i++)
                append(buf, size, &len, "%s%s%s", len ? ", " : "", i == 0 ? "alias " : "", r->aliases[i]);
        return buf;
}
