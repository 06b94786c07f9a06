/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "release.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "decl.h"
#include "macro.h"

#define ALIAS_HOPS_MAX 8

/* One component at a time from "/", never following a link: the fallback for kernels without openat2
 * (before 5.6) or seccomp filters that refuse it, and the diagnosis when openat2 fails, since it alone
 * can say which component is at fault (*ret_at: the path up to it). */
static int open_walk(const char *path, char **ret_at) {
        _cleanup_close_ int fd = -1;
        const char *p = path;

        fd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return negative_errno();
        for (;;) {
                char comp[NAME_MAX + 1];
                struct stat st;
                size_t n;
                int next, r;

                p += strspn(p, "/");
                n = strcspn(p, "/");
                if (n == 0)
                        return TAKE_FD(fd);
                *ret_at = strndup(path, (size_t) (p - path) + n);
                if (!*ret_at)
                        return -ENOMEM;
                if (n > NAME_MAX)
                        return -ENAMETOOLONG;
                memcpy(comp, p, n);
                comp[n] = 0;
                next = openat(fd, comp, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                if (next < 0) {
                        r = negative_errno();
                        /* With O_PATH, O_NOFOLLOW does not fail on a link: O_DIRECTORY does, as for a file. */
                        if (r == -ENOTDIR && fstatat(fd, comp, &st, AT_SYMLINK_NOFOLLOW) >= 0 && S_ISLNK(st.st_mode))
                                r = -ELOOP;
                        return r;
                }
                free(*ret_at);
                *ret_at = NULL;
                close(fd);
                fd = next;
                p += n;
        }
}

static int open_nofollow(const char *path, char **ret_at) {
        struct open_how how = {
                .flags = O_PATH | O_DIRECTORY | O_CLOEXEC,
                .resolve = RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS,
        };
        int fd;

        /* glibc 2.36 has no wrapper. */
        fd = (int) syscall(SYS_openat2, AT_FDCWD, path, &how, sizeof how);
        if (fd >= 0)
                return fd;
        return open_walk(path, ret_at);
}

/* Writable by someone other than its owner (checked apart), root's group, or dir's group when that group
 * may write dir too. */
static bool writable_by_others(const struct stat *a, const struct stat *dir) {
        if (a->st_mode & S_IWOTH)
                return true;
        return (a->st_mode & S_IWGRP) && a->st_gid != 0 && !(a->st_gid == dir->st_gid && (dir->st_mode & S_IWGRP));
}

/* Whoever can write a directory above dir can put another directory in dir's place (by renaming one
 * that is next to it, no link needed) or take it away. That is harmless only when they control dir
 * anyway: so every directory above it must be root's or dir's owner's, and writable by no group but
 * root's or dir's own (when dir is writable by that group too), and by nobody else, unless it is sticky
 * and the entry on the way is root's or dir's owner's. The directories are those above the one we hold
 * (".." from its descriptor), named for the message after path. */
static int check_above(int fd, const struct stat *st, const char *path, const char *what, char *reason, size_t size) {
        _cleanup_free_ char *above = strdup(path);
        _cleanup_close_ int cur = -1;
        struct stat prev = *st;

        if (!above)
                return -ENOMEM;
        for (;;) {
                struct stat a;
                char *slash;
                int up, r;

                up = openat(cur >= 0 ? cur : fd, "..", O_PATH | O_DIRECTORY | O_CLOEXEC);
                if (up < 0 || fstat(up, &a) < 0) {
                        r = negative_errno();
                        if (up >= 0)
                                close(up);
                        snprintf(reason, size, "Cannot examine the directories above the %s %s: %s.", what, path,
                                 strerror(-r));
                        return r;
                }
                if (cur >= 0)
                        close(cur);
                cur = up;
                if (a.st_dev == prev.st_dev && a.st_ino == prev.st_ino)
                        return 0; /* "/" is its own parent */
                slash = strrchr(above, '/');
                if (slash == above)
                        slash[1] = 0;
                else if (slash)
                        *slash = 0;
                if (a.st_uid != 0 && a.st_uid != st->st_uid) {
                        snprintf(reason, size,
                                 "Refusing the %s %s: %s above it is owned by UID %u, who could replace %s (owned by "
                                 "UID %u) with another directory; make %s owned by root or by the owner of %s.",
                                 what, path, above, (unsigned) a.st_uid, path, (unsigned) st->st_uid, above, path);
                        return -EPERM;
                }
                if (writable_by_others(&a, st) &&
                    /* In a sticky directory (/tmp) only the owner of an entry can rename or remove it. */
                    !((a.st_mode & S_ISVTX) && (prev.st_uid == 0 || prev.st_uid == st->st_uid))) {
                        snprintf(reason, size,
                                 "Refusing the %s %s: %s above it is writable by %s (mode %04o), who could replace "
                                 "%s with another directory; remove that write permission.",
                                 what, path, above, (a.st_mode & S_IWOTH) ? "everyone" : "its group",
                                 (unsigned) (a.st_mode & 07777), path);
                        return -EPERM;
                }
                prev = a;
        }
}

int releases_open(const char *path, const char *what, struct stat *ret_st, char *reason, size_t size) {
        _cleanup_free_ char *at = NULL;
        _cleanup_close_ int fd = -1;
        struct stat st;
        int r;

        if (path[0] != '/') {
                snprintf(reason, size, "The %s %s is not an absolute path.", what, path);
                return -EINVAL;
        }
        fd = open_nofollow(path, &at);
        if (fd == -ELOOP)
                snprintf(reason, size,
                         "Refusing the %s %s: %s is a symbolic link: bluegreen opens the %s without following "
                         "links, so that whoever can write above it cannot point it elsewhere; use the real path "
                         "in the declaration.",
                         what, path, at ?: path, what);
        else if (fd == -ENOTDIR)
                snprintf(reason, size, "Refusing the %s %s: %s is not a directory.", what, path, at ?: path);
        else if (fd < 0)
                snprintf(reason, size, "Cannot open the %s %s: %s: %s.", what, path, at ?: path, strerror(-fd));
        if (fd < 0)
                return fd;
        if (fstat(fd, &st) < 0) {
                r = negative_errno();
                snprintf(reason, size, "Cannot stat the %s %s: %s.", what, path, strerror(-r));
                return r;
        }
        r = check_above(fd, &st, path, what, reason, size);
        if (r < 0)
                return r;
        if (ret_st)
                *ret_st = st;
        return TAKE_FD(fd);
}

void release_done(struct release *r) {
        if (r->fd >= 0)
                close(r->fd);
        free(r->name);
        free(r->dir);
        *r = RELEASE_NULL;
}

/* The one name in releases an alias points at, "r5" or "RELEASES/r5". Anything else, "../x", "/srv/x"
 * or "sub/r5", leads elsewhere and is -EXDEV, without ever being looked up. */
static int alias_target(int releases_fd, const char *releases, const char *alias, char **ret) {
        char buf[PATH_MAX];
        const char *t = buf;
        size_t n = strlen(releases);
        ssize_t k;

        k = readlinkat(releases_fd, alias, buf, sizeof buf - 1);
        if (k < 0)
                return errno == EINVAL ? -ENOTDIR : negative_errno();
        buf[k] = 0;
        if (t[0] == '/') {
                if (strncmp(t, releases, n) != 0 || t[n] != '/')
                        return -EXDEV;
                t += n + 1;
        }
        while (strncmp(t, "./", 2) == 0)
                t += 2;
        k = (ssize_t) strcspn(t, "/");
        if (k == 0 || t[k + strspn(t + k, "/")] || (k == 1 && t[0] == '.') || (k == 2 && strncmp(t, "..", 2) == 0))
                return -EXDEV;
        *ret = strndup(t, (size_t) k);
        return *ret ? 0 : -ENOMEM;
}

/* An alias, a symbolic link in releases whose target is one name in releases ("r5" or "RELEASES/r5"), is
 * followed, at most ALIAS_HOPS_MAX times, one link at a time relative to releases_fd, so that nothing
 * outside releases is ever looked at. */
static int release_open(int releases_fd, const char *releases, const char *name, struct release *ret, char *reason,
                        size_t size) {
        _cleanup_free_ char *cur = NULL, *dir = NULL;
        _cleanup_close_ int fd = -1;
        int r;

        if (!release_name_is_valid(name)) {
                snprintf(reason, size, "\"%s\" is not a valid release name.", name);
                return -EINVAL;
        }
        cur = strdup(name);
        if (!cur)
                return -ENOMEM;
        for (unsigned hops = 0;; hops++) {
                char *next = NULL;

                /* One component, no link followed: whatever cur is, this stays inside releases. */
                fd = openat(releases_fd, cur, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                if (fd >= 0)
                        break;
                r = negative_errno();
                if (r == -ENOTDIR) {
                        if (hops >= ALIAS_HOPS_MAX) {
                                snprintf(reason, size, "Release %s: more than %d aliases in a row.", name,
                                         ALIAS_HOPS_MAX);
                                return -ELOOP;
                        }
                        r = alias_target(releases_fd, releases, cur, &next);
                }
                if (r == -ENOENT)
                        snprintf(reason, size, "Release %s does not exist: there is no directory %s/%s.", name,
                                 releases, cur);
                else if (r == -ENOTDIR)
                        snprintf(reason, size, "Release %s is not a directory: %s/%s.", name, releases, cur);
                else if (r == -EXDEV)
                        snprintf(reason, size,
                                 "Release %s leads outside %s: refusing it (an alias must point at a release by "
                                 "its name).",
                                 name, releases);
                else if (r < 0)
                        snprintf(reason, size, "Release %s in %s: %s.", name, releases, strerror(-r));
                if (r < 0)
                        return r;
                free(cur);
                cur = next;
        }
        if (!release_name_is_valid(cur)) {
                snprintf(reason, size, "Release %s leads to \"%s\", which is not a valid release name.", name, cur);
                return -EINVAL;
        }
        if (asprintf(&dir, "%s/%s", releases, cur) < 0)
                return -ENOMEM;
        *ret = (struct release) { .fd = TAKE_FD(fd), .name = TAKE_PTR(cur), .dir = TAKE_PTR(dir) };
        return 0;
}

static int release_open_pin(int releases_fd, const char *releases, const char *state_dir, const char *color,
                            struct release *ret, char *reason, size_t size) {
        _cleanup_free_ char *pin = NULL;
        char target[PATH_MAX];
        size_t n = strlen(releases);
        ssize_t k;

        if (asprintf(&pin, "%s/%s", state_dir, color) < 0)
                return -ENOMEM;
        /* The state directory is root's: the pin is read by path. What it names is looked up only
         * through releases_fd. */
        k = readlink(pin, target, sizeof target - 1);
        if (k < 0 && errno == ENOENT) {
                snprintf(reason, size, "No release is pinned to the %s color: there is no %s.", color, pin);
                return -ENOENT;
        }
        if (k < 0) {
                int r = errno == EINVAL ? -EXDEV : negative_errno();

                snprintf(reason, size, "The pin %s is not a symbolic link to a release: %s.", pin,
                         strerror(r == -EXDEV ? EINVAL : -r));
                return r;
        }
        target[k] = 0;
        if (strncmp(target, releases, n) != 0 || target[n] != '/' || strchr(target + n + 1, '/')) {
                snprintf(reason, size, "The pin %s leads to %s, not to a release in %s: refusing it.", pin, target,
                         releases);
                return -EXDEV;
        }
        return release_open(releases_fd, releases, target + n + 1, ret, reason, size);
}

int release_enter(const struct release *r, const char *workdir) {
        _cleanup_close_ int fd = -1;

        /* The workdir is the release's own business (it may be a link inside it): opened relative to
         * the release, not by a path through releases. */
        fd = openat(r->fd, isempty(workdir) ? "." : workdir, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return negative_errno();
        if (fchdir(fd) < 0)
                return negative_errno();
        if (setenv("BLUEGREEN_RELEASE", r->name, 1) < 0 || setenv("BLUEGREEN_RELEASE_DIR", r->dir, 1) < 0)
                return -ENOMEM;
        return 0;
}

int release_find(const char *releases, const char *name, const char *state_dir, const char *color, struct release *ret,
                 char *reason, size_t size) {
        _cleanup_close_ int releases_fd = -1;

        releases_fd = releases_open(releases, "releases directory", NULL, reason, size);
        if (releases_fd < 0)
                return releases_fd;
        if (name)
                return release_open(releases_fd, releases, name, ret, reason, size);
        return release_open_pin(releases_fd, releases, state_dir, color, ret, reason, size);
}
