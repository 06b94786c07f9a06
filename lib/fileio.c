/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "fileio.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "macro.h"

static int tmp_name_for(const char *path, char **ret) {
        _cleanup_free_ char *copy = strdup(path);
        const char *slash;
        char *r;

        if (!copy)
                return -ENOMEM;
        slash = strrchr(path, '/');
        /* The ".#" prefix is what systemd itself uses, so generator output dirs and unit search paths
         * skip such names if one is ever left behind by a crash. */
        if (slash) {
                if (asprintf(&r, "%.*s/.#%sXXXXXX", (int) (slash - path), path, slash + 1) < 0)
                        return -ENOMEM;
        } else if (asprintf(&r, ".#%sXXXXXX", path) < 0)
                return -ENOMEM;
        *ret = r;
        return 0;
}

int fsync_parent_dir(const char *path) {
        _cleanup_free_ char *copy = strdup(path);
        _cleanup_close_ int fd = -1;

        if (!copy)
                return -ENOMEM;
        fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return negative_errno();
        if (fsync(fd) < 0)
                return negative_errno();
        return 0;
}

static int write_all(int fd, const char *p, size_t len) {
        while (len > 0) {
                ssize_t n = write(fd, p, len);

                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return negative_errno();
                }
                p += n;
                len -= (size_t) n;
        }
        return 0;
}

int write_file_atomic(const char *path, const char *content, size_t len, mode_t mode, int flags) {
        _cleanup_free_ char *tmp = NULL;
        _cleanup_close_ int fd = -1;
        int r;

        r = tmp_name_for(path, &tmp);
        if (r < 0)
                return r;
        fd = mkostemp(tmp, O_CLOEXEC);
        if (fd < 0)
                return negative_errno();

        r = write_all(fd, content, len);
        if (r >= 0 && fchmod(fd, mode) < 0)
                r = negative_errno();
        if (r >= 0 && (flags & WRITE_SYNC) && fsync(fd) < 0)
                r = negative_errno();
        if (r >= 0 && rename(tmp, path) < 0)
                r = negative_errno();
        if (r < 0) {
                (void) unlink(tmp);
                return r;
        }
        if (flags & WRITE_SYNC)
                return fsync_parent_dir(path);
        return 0;
}

int symlink_atomic(const char *target, const char *linkpath, int flags) {
        _cleanup_free_ char *tmp = NULL;
        int r;

        for (int attempt = 0; attempt < 16; attempt++) {
                _cleanup_close_ int fd = -1;

                free(tmp);
                tmp = NULL;
                r = tmp_name_for(linkpath, &tmp);
                if (r < 0)
                        return r;
                /* mkstemp only to draw a free name; symlink() needs the name to be absent. */
                fd = mkostemp(tmp, O_CLOEXEC);
                if (fd < 0)
                        return negative_errno();
                (void) unlink(tmp);
                if (symlink(target, tmp) >= 0)
                        break;
                if (errno != EEXIST)
                        return negative_errno();
        }
        if (rename(tmp, linkpath) < 0) {
                r = negative_errno();
                (void) unlink(tmp);
                return r;
        }
        if (flags & WRITE_SYNC)
                return fsync_parent_dir(linkpath);
        return 0;
}

int mkdir_p(const char *path, mode_t mode) {
        _cleanup_free_ char *p = strdup(path);

        if (!p)
                return -ENOMEM;
        for (char *s = p + 1; *s; s++) {
                if (*s != '/')
                        continue;
                *s = 0;
                if (mkdir(p, mode) < 0 && errno != EEXIST)
                        return negative_errno();
                *s = '/';
        }
        if (mkdir(p, mode) < 0 && errno != EEXIST)
                return negative_errno();
        return 0;
}

int read_file(const char *path, size_t max, char **ret, size_t *ret_len) {
        _cleanup_close_ int fd = -1;
        _cleanup_free_ char *buf = NULL;
        size_t len = 0;

        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return negative_errno();
        buf = malloc(max + 1);
        if (!buf)
                return -ENOMEM;
        for (;;) {
                ssize_t n = read(fd, buf + len, max + 1 - len);

                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return negative_errno();
                }
                if (n == 0)
                        break;
                len += (size_t) n;
                if (len > max)
                        return -EFBIG;
        }
        buf[len] = 0;
        if (ret_len)
                *ret_len = len;
        *ret = TAKE_PTR(buf);
        return 0;
}
