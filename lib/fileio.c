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
        return write_file_atomic_owned(path, content, len, mode, (uid_t) -1, (gid_t) -1, flags);
}

int write_file_atomic_owned(const char *path, const char *content, size_t len, mode_t mode, uid_t uid, gid_t gid,
                            int flags) {
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
        if (r >= 0 && (uid != (uid_t) -1 || gid != (gid_t) -1) && fchown(fd, uid, gid) < 0)
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

/* glibc no longer caches the PID. */
static long cached_pid(void) {
        static long pid;

        if (pid == 0)
                pid = (long) getpid();
        return pid;
}

static int open_tmp_at(int dirfd, const char *name, char *tmp, size_t size, mode_t mode) {
        int fd;

        snprintf(tmp, size, ".#%s.%ld", name, cached_pid());
        fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode);
        if (fd < 0 && errno == EEXIST) {
                /* Left over by an earlier process that had our PID and crashed. */
                (void) unlinkat(dirfd, tmp, 0);
                fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode);
        }
        return fd < 0 ? negative_errno() : fd;
}

int write_file_atomic_at_owned(int dirfd, const char *name, const char *content, size_t len, mode_t mode, uid_t uid,
                               gid_t gid) {
        char tmp[512];
        _cleanup_close_ int fd = -1;
        int r;

        fd = open_tmp_at(dirfd, name, tmp, sizeof tmp, mode);
        if (fd < 0)
                return fd;
        r = write_all(fd, content, len);
        if (r >= 0 && (uid != (uid_t) -1 || gid != (gid_t) -1) && fchown(fd, uid, gid) < 0)
                r = negative_errno();
        if (r >= 0 && renameat(dirfd, tmp, dirfd, name) < 0)
                r = negative_errno();
        if (r < 0)
                (void) unlinkat(dirfd, tmp, 0);
        return r;
}

int write_file_new_at(int dirfd, const char *name, const char *content, size_t len, mode_t mode) {
        int fd, r;

        fd = openat(dirfd, name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
        if (fd < 0)
                return negative_errno();
        r = write_all(fd, content, len);
        /* Linux closes the descriptor even when close() fails with EINTR. */
        if (close(fd) < 0 && errno != EINTR && r >= 0)
                r = negative_errno();
        if (r < 0)
                (void) unlinkat(dirfd, name, 0);
        return r;
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

int read_fd(int fd, size_t max, char **ret, size_t *ret_len) {
        _cleanup_free_ char *buf = NULL;
        size_t len = 0;

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

int read_file(const char *path, size_t max, char **ret, size_t *ret_len) {
        _cleanup_close_ int fd = -1;

        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return negative_errno();
        return read_fd(fd, max, ret, ret_len);
}

int read_regular_file_nofollow(const char *path, size_t max, char **ret, size_t *ret_len) {
        _cleanup_close_ int fd = -1;
        struct stat st;

        /* O_NONBLOCK: a FIFO planted under the name must not hang the reader before fstat() refuses it. */
        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NOFOLLOW | O_NONBLOCK);
        if (fd < 0)
                return negative_errno();
        if (fstat(fd, &st) < 0)
                return negative_errno();
        if (!S_ISREG(st.st_mode))
                return -EBADFD;
        return read_fd(fd, max, ret, ret_len);
}
