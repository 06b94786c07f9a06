/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "trust.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "macro.h"

#define TRUST_SYMLINKS_MAX 32

/* The first path, on the way to the one looked at, that another user controls. */
struct untrusted {
        char path[PATH_MAX];
        struct stat st;
};

/* Mount points whose file system might make a look-up wait on something else: a network file system
 * (a server that is down), FUSE (a daemon), an automount. The generator must never block, so a walk
 * stops before entering one. Only file systems known to be local are entered. */
struct mounts {
        char **points; /* mount points, the last one of a place winning */
        bool *is_remote;
        size_t n;
        bool loaded;
};

static void mounts_done(struct mounts *m) {
        for (size_t i = 0; i < m->n; i++)
                free(m->points[i]);
        free(m->points);
        free(m->is_remote);
}

static bool fs_type_is_local(const char *t) {
        static const char *const local[] = {
                "ext2", "ext3", "ext4", "xfs", "btrfs", "tmpfs", "overlay", "vfat", "f2fs", "zfs",
                "squashfs", "erofs", "ramfs", "devtmpfs", "proc", "sysfs", "cgroup2", "jfs", "reiserfs",
        };

        for (size_t i = 0; i < ELEMENTSOF(local); i++)
                if (streq(t, local[i]))
                        return true;
        return false;
}

/* "\040" in /proc/self/mountinfo is a space, and so on. */
static void unoctal(char *s) {
        char *q = s;

        for (char *p = s; *p; p++) {
                if (p[0] == '\\' && p[1] >= '0' && p[1] <= '7' && p[2] >= '0' && p[2] <= '7' && p[3] >= '0' && p[3] <= '7') {
                        *q++ = (char) ((p[1] - '0') * 64 + (p[2] - '0') * 8 + (p[3] - '0'));
                        p += 3;
                } else
                        *q++ = *p;
        }
        *q = 0;
}

static int mounts_load(struct mounts *m) {
        _cleanup_fclose_ FILE *f = fopen("/proc/self/mountinfo", "re");
        _cleanup_free_ char *line = NULL;
        size_t size = 0;

        if (!f)
                return negative_errno();
        while (getline(&line, &size, f) > 0) {
                char point[PATH_MAX], type[128], **nr;
                const char *sep = strstr(line, " - ");
                bool *nb;

                if (!sep || sscanf(line, "%*s %*s %*s %*s %4095s", point) != 1 || sscanf(sep + 3, "%127s", type) != 1)
                        continue;
                unoctal(point);
                nr = realloc(m->points, (m->n + 1) * sizeof(char *));
                if (!nr)
                        return -ENOMEM;
                m->points = nr;
                nb = realloc(m->is_remote, (m->n + 1) * sizeof(bool));
                if (!nb)
                        return -ENOMEM;
                m->is_remote = nb;
                if (!(m->points[m->n] = strdup(point)))
                        return -ENOMEM;
                m->is_remote[m->n++] = !fs_type_is_local(type);
        }
        return 0;
}

static bool mounts_is_remote(const struct mounts *m, const char *path) {
        for (size_t i = m->n; i > 0; i--)
                if (streq(m->points[i - 1], path))
                        return m->is_remote[i - 1];
        return false;
}

static bool stat_is_roots(const struct stat *st) {
        return st->st_uid == 0 && !(st->st_mode & S_IWOTH) && (!(st->st_mode & S_IWGRP) || st->st_gid == 0);
}

static const char *describe(const struct stat *st, char *buf, size_t size) {
        if (st->st_uid != 0)
                snprintf(buf, size, "owned by uid %u", (unsigned) st->st_uid);
        else if (st->st_mode & S_IWOTH)
                snprintf(buf, size, "writable by every user");
        else
                snprintf(buf, size, "writable by group %u", (unsigned) st->st_gid);
        return buf;
}

/* One walk of todo from "/", one component at a time with O_PATH, which neither opens a file nor
 * triggers an automount. Returns 1 with *ret filled when a path on the way is another user's, 0 when
 * all are root's (or the rest does not exist), 2 when a symbolic link was met and todo now holds the
 * path it leads to, -errno when it cannot be told. */
static int walk(const struct mounts *m, char *todo, size_t size, struct untrusted *ret) {
        _cleanup_close_ int fd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
        char done[PATH_MAX] = "";
        struct stat st;

        if (fd < 0 || fstat(fd, &st) < 0)
                return negative_errno();
        if (!stat_is_roots(&st)) {
                strcpy(ret->path, "/");
                ret->st = st;
                return 1;
        }

        for (const char *p = todo;;) {
                _cleanup_close_ int next = -1;
                char name[NAME_MAX + 1];
                size_t n;

                p += strspn(p, "/");
                n = strcspn(p, "/");
                if (n == 0)
                        return 0;
                if (n > NAME_MAX || strlen(done) + 1 + n >= sizeof done)
                        return -ENAMETOOLONG;
                memcpy(name, p, n);
                name[n] = 0;
                p += n;
                if (streq(name, "."))
                        continue;
                if (streq(name, "..")) {
                        /* done holds no symbolic link, so its parent is the one the kernel would take. */
                        *(strrchr(done, '/') ?: done) = 0;
                        close(fd);
                        fd = open(*done ? done : "/", O_PATH | O_DIRECTORY | O_CLOEXEC);
                        if (fd < 0)
                                return negative_errno();
                        continue;
                }

                {
                        char place[PATH_MAX + NAME_MAX + 2];

                        snprintf(place, sizeof place, "%s/%s", done, name);
                        if (mounts_is_remote(m, place))
                                return -EREMOTE;
                }
                next = openat(fd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
                if (next < 0)
                        /* Missing below directories only root can write: nobody else can create it. */
                        return errno == ENOENT ? 0 : negative_errno();
                if (fstat(next, &st) < 0)
                        return negative_errno();

                if (S_ISLNK(st.st_mode)) {
                        char target[PATH_MAX], rest[PATH_MAX];
                        ssize_t k = readlinkat(next, "", target, sizeof target - 1);

                        if (k < 0)
                                return negative_errno();
                        target[k] = 0;
                        snprintf(rest, sizeof rest, "%s", p);
                        if ((size_t) snprintf(todo, size, "%s/%s/%s", target[0] == '/' ? "" : done, target, rest) >= size)
                                return -ENAMETOOLONG;
                        return 2;
                }
                strcat(done, "/");
                strcat(done, name);
                if (!stat_is_roots(&st)) {
                        strcpy(ret->path, done);
                        ret->st = st;
                        return 1;
                }
                close(fd);
                fd = TAKE_FD(next);
        }
}

/* Whether path, or a directory on the way to it, is another user's, following symbolic links by hand
 * so that each directory the path really goes through is looked at: 1 (and *ret), 0, or -errno. */
static int find_untrusted(struct mounts *m, const char *path, struct untrusted *ret) {
        char todo[2 * PATH_MAX];
        int r;

        if (path[0] != '/' || strlen(path) >= sizeof todo)
                return -EINVAL;
        /* Read once per app, and only for an app that has a path to look at. */
        if (!m->loaded) {
                r = mounts_load(m);
                if (r < 0)
                        return r;
                m->loaded = true;
        }
        /* Even "/" is looked at only when it is local. */
        if (mounts_is_remote(m, "/"))
                return -EREMOTE;
        strcpy(todo, path);
        for (unsigned hops = 0; hops <= TRUST_SYMLINKS_MAX; hops++) {
                r = walk(m, todo, sizeof todo, ret);

                if (r != 2)
                        return r;
        }
        return -ELOOP;
}

static int warn_releases(struct mounts *m, const struct app_decl *d, struct diag *w) {
        bool as_root = d->user && streq(d->user, "root");
        struct untrusted u;
        char how[64];
        int r = 0;

        /* The releases are the deploy user's by design: that matters only with these two. */
        if (!as_root && d->hardening != HARDENING_OFF)
                return 0;
        if (find_untrusted(m, d->releases, &u) <= 0)
                return 0;
        describe(&u.st, how, sizeof how);
        if (as_root)
                r = diag_add_printf(w, "%s: user: \"root\" runs the code in %s as root, but %s is %s: whoever controls "
                                       "it gets root, ignoring.", d->source, d->releases, u.path, how);
        if (r >= 0 && d->hardening == HARDENING_OFF)
                r = diag_add_printf(w, "%s: hardening: \"off\" runs the code in %s without a sandbox, as %s, but %s is "
                                       "%s: whoever controls it gets all that user may do, ignoring.", d->source,
                                    d->releases, d->user ? d->user : "a dynamic user", u.path, how);
        return r;
}

static int warn_environment_files(struct mounts *m, const struct app_decl *d, struct diag *w) {
        for (size_t i = 0; i < d->n_environment_files; i++) {
                const char *f = d->environment_files[i] + (d->environment_files[i][0] == '-');
                struct untrusted u;
                char how[64];

                if (find_untrusted(m, f, &u) <= 0)
                        continue;
                if (diag_add_printf(w, "%s: environment_files[%zu]: systemd reads %s as root, but %s is %s: whoever "
                                       "controls it sets the app's environment, or links it to any file root may read, "
                                       "ignoring.", d->source, i, f, u.path, describe(&u.st, how, sizeof how)) < 0)
                        return -ENOMEM;
        }
        return 0;
}

/* A hook whose program is given by an absolute path runs that file at every deploy; one inside the
 * release is the deploy user's by design, and counts under warn_releases(). */
static int warn_hooks(struct mounts *m, const struct app_decl *d, struct diag *w) {
        const struct {
                const char *key, *cmd;
        } hooks[] = {
                { "hooks.pre_start", d->hooks.pre_start },
                { "hooks.post_switch", d->hooks.post_switch },
        };

        for (size_t i = 0; i < ELEMENTSOF(hooks); i++) {
                _cleanup_free_ char *prog = NULL;
                struct untrusted u;
                char how[64];

                if (!hooks[i].cmd)
                        continue;
                prog = strndup(hooks[i].cmd, strcspn(hooks[i].cmd, " \t"));
                if (!prog)
                        return -ENOMEM;
                /* Quoted or built from variables, it is not a path that can be looked at here. */
                if (prog[0] != '/' || strpbrk(prog, "\"'\\$"))
                        continue;
                if (find_untrusted(m, prog, &u) <= 0)
                        continue;
                if (diag_add_printf(w, "%s: %s: %s runs at every deploy as %s, but %s is %s: whoever controls it runs "
                                       "code as that user, ignoring.", d->source, hooks[i].key, prog,
                                    d->user ? d->user : "the app's dynamic user", u.path,
                                    describe(&u.st, how, sizeof how)) < 0)
                        return -ENOMEM;
        }
        return 0;
}

int trust_check(const struct app_decl *d, struct diag *warnings) {
        _cleanup_(mounts_done) struct mounts m = {};
        int r;

        r = warn_releases(&m, d, warnings);
        if (r >= 0)
                r = warn_environment_files(&m, d, warnings);
        if (r >= 0)
                r = warn_hooks(&m, d, warnings);
        return r;
}
