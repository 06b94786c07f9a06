/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "socket-link.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "macro.h"
#include "root-dir.h"

/* The link's directory and name, split from e->socket_live. */
static int link_split(const struct app_env *e, char **ret_dir, const char **ret_name) {
        const char *slash = e->socket_live ? strrchr(e->socket_live, '/') : NULL;

        if (!slash || slash == e->socket_live || !slash[1])
                return -EINVAL;
        *ret_dir = strndup(e->socket_live, (size_t) (slash - e->socket_live));
        if (!*ret_dir)
                return -ENOMEM;
        *ret_name = slash + 1;
        return 0;
}

/* What the link says for color c: relative to the link's directory when the socket lies below it, as
 * it does in bluegreen's layout, so the link reads the same whatever /run is mounted as. */
static const char *link_target(const struct app_env *e, enum color c, const char *dir) {
        const char *sock = e->socket[c];
        size_t n = strlen(dir);

        if (isempty(sock))
                return NULL;
        if (strncmp(sock, dir, n) == 0 && sock[n] == '/')
                return sock + n + 1;
        return sock;
}

/* A fresh link under a free temporary name, renamed over the old one: rename(2) replaces the name
 * atomically, and never follows what it replaces. */
static int link_replace_at(int dir_fd, const char *name, const char *target) {
        char tmp[NAME_MAX + 1];
        int r = -EEXIST;

        for (unsigned attempt = 0; attempt < 16 && r == -EEXIST; attempt++) {
                /* ".#" as systemd's own temporary names, so that nothing mistakes it for a socket. */
                if (snprintf(tmp, sizeof tmp, ".#%s.%ld.%u", name, (long) getpid(), attempt) >= (int) sizeof tmp)
                        return -ENAMETOOLONG;
                r = symlinkat(target, dir_fd, tmp) < 0 ? negative_errno() : 0;
        }
        if (r < 0)
                return r;
        if (renameat(dir_fd, tmp, dir_fd, name) < 0) {
                r = negative_errno();
                (void) unlinkat(dir_fd, tmp, 0);
                return r;
        }
        return 0;
}

int socket_link_set(const struct app_env *e, enum color c, char **ret_reason) {
        _cleanup_free_ char *dir = NULL;
        _cleanup_close_ int dir_fd = -1;
        const char *name, *target;
        int r;

        *ret_reason = NULL;
        r = link_split(e, &dir, &name);
        if (r < 0)
                return asprintf(ret_reason, "the live socket path \"%s\" is not an absolute file name",
                                e->socket_live ?: ""),
                       r;
        target = link_target(e, c, dir);
        if (!target)
                return asprintf(ret_reason, "the %s color has no socket (is nginx.switch \"socket\"?)",
                                color_to_string(c)),
                       -EINVAL;
        dir_fd = root_dir_open(dir, 0755);
        if (dir_fd == -EPERM)
                return asprintf(ret_reason, "refusing to link %s: every directory on its path must be a real "
                                "directory (no symbolic link), owned by root and writable by no one else",
                                e->socket_live),
                       dir_fd;
        if (dir_fd < 0)
                return asprintf(ret_reason, "cannot open %s: %s", dir, strerror(-dir_fd)), dir_fd;
        r = link_replace_at(dir_fd, name, target);
        if (r < 0)
                return asprintf(ret_reason, "cannot point %s at %s: %s", e->socket_live, target, strerror(-r)), r;
        return 0;
}

int socket_link_remove(const struct app_env *e) {
        _cleanup_free_ char *dir = NULL;
        _cleanup_close_ int dir_fd = -1;
        const char *name;
        int r;

        r = link_split(e, &dir, &name);
        if (r < 0)
                return r;
        dir_fd = root_dir_open(dir, 0);
        if (dir_fd == -ENOENT)
                return 0;
        if (dir_fd < 0)
                return dir_fd;
        if (unlinkat(dir_fd, name, 0) < 0 && errno != ENOENT)
                return negative_errno();
        return 0;
}

int socket_link_get(const struct app_env *e, enum color *ret_color) {
        _cleanup_free_ char *dir = NULL;
        char buf[PATH_MAX];
        const char *name;
        ssize_t n;
        int r;

        *ret_color = _COLOR_INVALID;
        r = link_split(e, &dir, &name);
        if (r < 0)
                return r;
        /* The name is read, not followed: a link whose socket is gone (its color stopped) still says
         * where nginx connects. */
        n = readlink(e->socket_live, buf, sizeof buf - 1);
        if (n < 0)
                return errno == EINVAL ? -EBADMSG : negative_errno();
        buf[n] = 0;
        for (int c = 0; c < 2; c++) {
                const char *t = link_target(e, c, dir);

                if (t && (streq(buf, t) || streq(buf, e->socket[c])))
                        *ret_color = c;
        }
        return 0;
}
