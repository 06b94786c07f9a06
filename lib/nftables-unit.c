/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "nftables-unit.h"

#include <dirent.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fileio.h"
#include "macro.h"
#include "search-path.h"

#define UNIT "nftables.service"
#define UNIT_FILE_MAX (64 * 1024)
/* More drop-ins than this on one firewall unit is not a layout we know. */
#define DROPINS_MAX 64

/* systemd 252's search path for the system manager, highest priority first, without the generators'
 * directories: a fragment in an earlier directory wins, and a drop-in there hides one of the same name
 * further down. Transient and attached units are listed for completeness; the firewall is neither. */
static const char *const default_path[] = {
        "/etc/systemd/system.control",  "/run/systemd/system.control",   "/run/systemd/transient",
        "/etc/systemd/system",          "/etc/systemd/system.attached",  "/run/systemd/system",
        "/run/systemd/system.attached", "/usr/local/lib/systemd/system", "/lib/systemd/system",
        "/usr/lib/systemd/system",
};

/* The last command each of the three settings was given, and how many its list holds: an empty
 * assignment empties the list, as in systemd. */
struct exec_setting {
        const char *key;
        char *value;
        unsigned n;
        char *where; /* FILE:LINE of the last assignment */
};

struct exec_settings {
        struct exec_setting start, reload, stop;
        char *fragment;
};

static void exec_settings_done(struct exec_settings *s) {
        struct exec_setting *all[] = { &s->start, &s->reload, &s->stop };

        for (size_t i = 0; i < ELEMENTSOF(all); i++) {
                free(all[i]->value);
                free(all[i]->where);
        }
        free(s->fragment);
}

static char *strip(char *s) {
        char *e;

        s += strspn(s, " \t");
        e = s + strlen(s);
        while (e > s && strchr(" \t\r", e[-1]))
                *--e = 0;
        return s;
}

static int assign(struct exec_setting *x, const char *value, const char *file, unsigned line) {
        free(x->value);
        x->value = NULL;
        if (isempty(value)) {
                x->n = 0;
        } else {
                x->n++;
                x->value = strdup(value);
                if (!x->value)
                        return -ENOMEM;
        }
        x->where = mfree(x->where);
        return asprintf(&x->where, "%s:%u", file, line) < 0 ? -ENOMEM : 0;
}

/* The next line of *p, NUL-terminated in place, as systemd's read_line() ends one: at "\n", "\r\n",
 * "\r" or NUL. NULL at the end. */
static char *next_line(char **p, const char *end) {
        char *l = *p, *e;

        if (l >= end)
                return NULL;
        e = l + strcspn(l, "\r\n");
        *p = e + (e < end && e[0] == '\r' && e[1] == '\n' ? 2 : 1);
        *e = 0;
        return l;
}

/* Applies one unit file's [Service] ExecStart=, ExecReload= and ExecStop= to s. A line continued on
 * the next (a trailing backslash, in any section and for any key) is not followed: systemd joins
 * them, and what that makes of the lines after is not a shape we take over (-EMEDIUMTYPE). */
static int parse_file(struct exec_settings *s, const char *file, char *text, size_t len, char **ret_reason) {
        struct exec_setting *all[] = { &s->start, &s->reload, &s->stop };
        const char *end = text + len;
        bool service = false;
        unsigned line = 0;
        char *p = text;

        /* systemd skips a UTF-8 byte order mark, so a file saved with one still counts. */
        if (len >= 3 && memcmp(p, "\xEF\xBB\xBF", 3) == 0)
                p += 3;
        for (char *l; (l = next_line(&p, end));) {
                char *eq, *key, *value;

                line++;
                l = strip(l);
                if (*l == 0 || *l == '#' || *l == ';')
                        continue;
                if (l[strlen(l) - 1] == '\\') {
                        (void) asprintf(ret_reason, "%s:%u: a line continued on the next", file, line);
                        return -EMEDIUMTYPE;
                }
                if (*l == '[') {
                        service = streq(l, "[Service]");
                        continue;
                }
                if (!service || !(eq = strchr(l, '=')))
                        continue;
                *eq = 0;
                key = strip(l);
                value = strip(eq + 1);
                for (size_t i = 0; i < ELEMENTSOF(all); i++) {
                        int r;

                        if (!streq(key, all[i]->key))
                                continue;
                        r = assign(all[i], value, file, line);
                        if (r < 0)
                                return r;
                }
        }
        return 0;
}

/* A unit file that is a link to /dev/null, or empty, masks what it names, as in systemd. */
static int read_unit_file(const char *path, char **ret, size_t *ret_len) {
        struct stat st;

        if (stat(path, &st) < 0)
                return negative_errno();
        if (search_path_is_masked(&st))
                return -ERFKILL;
        if (!S_ISREG(st.st_mode))
                return -EISDIR;
        return read_file(path, UNIT_FILE_MAX, ret, ret_len);
}

static int parse_path(struct exec_settings *s, const char *path, char **ret_reason) {
        _cleanup_free_ char *text = NULL;
        size_t len = 0;
        int r = read_unit_file(path, &text, &len);

        if (r == -ERFKILL)
                return r;
        if (r < 0) {
                (void) asprintf(ret_reason, "%s: %s", path, r == -EISDIR ? "not a regular file" : strerror(-r));
                return r;
        }
        return parse_file(s, path, text, len, ret_reason);
}

static int load_fragment(const struct search_path *p, struct exec_settings *s, char **ret_reason) {
        for (size_t i = 0; i < p->n; i++) {
                _cleanup_free_ char *path = NULL;
                struct stat st;

                if (asprintf(&path, "%s/%s", p->dirs[i], UNIT) < 0)
                        return -ENOMEM;
                if (lstat(path, &st) < 0)
                        continue;
                s->fragment = TAKE_PTR(path);
                return parse_path(s, s->fragment, ret_reason);
        }
        return -ENOENT;
}

struct dropin {
        char *name, *path;
};

static int cmp_dropins(const void *a, const void *b) {
        return strcmp(((const struct dropin *) a)->name, ((const struct dropin *) b)->name);
}

struct dropins {
        struct dropin d[DROPINS_MAX];
        size_t n;
};

static void dropins_done(struct dropins *ds) {
        for (size_t i = 0; i < ds->n; i++) {
                free(ds->d[i].name);
                free(ds->d[i].path);
        }
}

static bool dropins_have(const struct dropins *ds, const char *name) {
        for (size_t i = 0; i < ds->n; i++)
                if (streq(ds->d[i].name, name))
                        return true;
        return false;
}

/* Every nftables.service.d/NAME.conf, the first of each name along the path, in name order. */
static int list_dropins(const struct search_path *p, struct dropins *ds, char **ret_reason) {
        for (size_t i = 0; i < p->n; i++) {
                _cleanup_(closedirp) DIR *dir = NULL;
                _cleanup_free_ char *dpath = NULL;
                struct dirent *de;

                if (asprintf(&dpath, "%s/%s.d", p->dirs[i], UNIT) < 0)
                        return -ENOMEM;
                dir = opendir(dpath);
                if (!dir)
                        continue;
                while ((de = readdir(dir))) {
                        size_t len = strlen(de->d_name);

                        /* As systemd: hidden names (an editor's lock file, say) are no drop-ins. */
                        if (de->d_name[0] == '.' || len <= 5 || !streq(de->d_name + len - 5, ".conf") ||
                            dropins_have(ds, de->d_name))
                                continue;
                        if (ds->n >= ELEMENTSOF(ds->d)) {
                                (void) asprintf(ret_reason, "%s: more than %d drop-ins", dpath, DROPINS_MAX);
                                return -EMEDIUMTYPE;
                        }
                        ds->d[ds->n].name = strdup(de->d_name);
                        if (!ds->d[ds->n].name || asprintf(&ds->d[ds->n].path, "%s/%s", dpath, de->d_name) < 0) {
                                ds->n++;
                                return -ENOMEM;
                        }
                        ds->n++;
                }
        }
        qsort(ds->d, ds->n, sizeof(ds->d[0]), cmp_dropins);
        return 0;
}

/* No character that would need quoting in a unit file or in nft's include, that systemd expands, or
 * that makes nft's include a pattern (one that matches nothing loads nothing, and succeeds). */
static bool plain_path(const char *s) {
        return s[0] == '/' && !s[strcspn(s, "\"'\\%;$`*?[]{}")];
}

/* "NFT ARG1 ARG2" as exactly three words, NFT an absolute path to a binary called nft. */
static int split_nft(const char *cmd, char **ret_nft, char **ret_a1, char **ret_a2) {
        _cleanup_free_ char *copy = strdup(cmd);
        char *w[4] = {}, *save = NULL, *base;
        size_t n = 0;

        if (!copy)
                return -ENOMEM;
        for (char *t = strtok_r(copy, " \t", &save); t && n < ELEMENTSOF(w); t = strtok_r(NULL, " \t", &save))
                w[n++] = t;
        if (n != 3)
                return -EMEDIUMTYPE;
        base = strrchr(w[0], '/');
        if (!plain_path(w[0]) || !base || !streq(base, "/nft"))
                return -EMEDIUMTYPE;
        *ret_nft = strdup(w[0]);
        *ret_a1 = strdup(w[1]);
        *ret_a2 = strdup(w[2]);
        return *ret_nft && *ret_a1 && *ret_a2 ? 0 : -ENOMEM;
}

static int not_debians(const struct exec_settings *s, const struct exec_setting *x, const char *expected,
                       char **ret_reason) {
        if (x->n == 0)
                (void) asprintf(ret_reason, "%s: no %s=, where Debian's unit has \"%s\"", s->fragment, x->key,
                                expected);
        else if (x->n > 1)
                (void) asprintf(ret_reason, "%s: %s= is a list of %u commands, where Debian's unit has \"%s\"",
                                x->where, x->key, x->n, expected);
        else
                (void) asprintf(ret_reason, "%s: %s=%s is not Debian's \"%s\"", x->where, x->key, x->value, expected);
        return -EMEDIUMTYPE;
}

/* Debian's shape: ExecStart= and ExecReload= the same "NFT -f FILE", ExecStop= "NFT flush ruleset". */
static int check_shape(const struct exec_settings *s, struct nftables_unit *ret, char **ret_reason) {
        _cleanup_free_ char *nft = NULL, *flag = NULL, *config = NULL, *snft = NULL, *sa1 = NULL, *sa2 = NULL;
        int r;

        r = s->start.n == 1 ? split_nft(s->start.value, &nft, &flag, &config) : -EMEDIUMTYPE;
        if (r == -ENOMEM)
                return r;
        if (r < 0 || !(streq(flag, "-f") || streq(flag, "--file")) || !plain_path(config))
                return not_debians(s, &s->start, "nft -f FILE", ret_reason);
        if (s->reload.n != 1 || !streq(s->reload.value, s->start.value))
                return not_debians(s, &s->reload, s->start.value, ret_reason);
        r = s->stop.n == 1 ? split_nft(s->stop.value, &snft, &sa1, &sa2) : -EMEDIUMTYPE;
        if (r == -ENOMEM)
                return r;
        if (r < 0 || !streq(snft, nft) || !streq(sa1, "flush") || !streq(sa2, "ruleset"))
                return not_debians(s, &s->stop, "nft flush ruleset", ret_reason);
        ret->nft = TAKE_PTR(nft);
        ret->config = TAKE_PTR(config);
        return 0;
}

void nftables_unit_done(struct nftables_unit *u) {
        free(u->nft);
        free(u->config);
        *u = (struct nftables_unit){};
}

int nftables_unit_read(struct nftables_unit *ret, char **ret_reason) {
        _cleanup_(search_path_done) struct search_path p = {};
        _cleanup_(exec_settings_done) struct exec_settings s = {
                .start.key = "ExecStart",
                .reload.key = "ExecReload",
                .stop.key = "ExecStop",
        };
        _cleanup_(dropins_done) struct dropins ds = {};
        int r;

        *ret_reason = NULL;
        r = search_path_get("BLUEGREEN_UNIT_PATH", default_path, ELEMENTSOF(default_path), &p);
        if (r < 0)
                return r;
        r = load_fragment(&p, &s, ret_reason);
        if (r < 0)
                return r;
        r = list_dropins(&p, &ds, ret_reason);
        if (r < 0)
                return r;
        for (size_t i = 0; i < ds.n; i++) {
                r = parse_path(&s, ds.d[i].path, ret_reason);
                /* A masked drop-in, one that is gone (a dangling link), or a directory under a drop-in's
                 * name, does not apply, as in systemd. */
                if (r == -ERFKILL || r == -ENOENT || r == -EISDIR) {
                        *ret_reason = mfree(*ret_reason);
                        continue;
                }
                if (r < 0)
                        return r;
        }
        return check_shape(&s, ret, ret_reason);
}
