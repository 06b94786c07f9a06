/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "remove-tree.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "macro.h"

/* Deeper than any release; a bound, so that no tree runs us out of descriptors. */
#define DEPTH_MAX 256

static int gone_is_fine(void) {
        return errno == ENOENT ? 0 : negative_errno();
}

static int remove_at(int dfd, const char *name, dev_t dev, unsigned depth, uint64_t *bytes);

static int remove_children(int fd, dev_t dev, unsigned depth, uint64_t *bytes) {
        _cleanup_(closedirp) DIR *d = fdopendir(fd);
        struct dirent *de;
        int r = 0, k;

        if (!d) {
                r = negative_errno();
                close(fd);
                return r;
        }
        while ((errno = 0, de = readdir(d))) {
                if (streq(de->d_name, ".") || streq(de->d_name, ".."))
                        continue;
                k = remove_at(dirfd(d), de->d_name, dev, depth + 1, bytes);
                if (r >= 0 && k < 0)
                        r = k;
        }
        if (errno != 0 && r >= 0)
                r = negative_errno();
        return r;
}

static int remove_at(int dfd, const char *name, dev_t dev, unsigned depth, uint64_t *bytes) {
        struct stat st;
        int fd, r;

        if (depth > DEPTH_MAX)
                return -ELOOP;
        if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
                return gone_is_fine();
        if (!S_ISDIR(st.st_mode)) {
                if (unlinkat(dfd, name, 0) < 0)
                        return gone_is_fine();
                if (st.st_nlink <= 1)
                        *bytes += (uint64_t) st.st_blocks * 512;
                return 0;
        }
        fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY);
        if (fd < 0 && (errno == ENOTDIR || errno == ELOOP))
                /* Swapped for a link or a file since fstatat(): removed as what it is now. */
                return remove_at(dfd, name, dev, depth + 1, bytes);
        if (fd < 0)
                return gone_is_fine();
        if (fstat(fd, &st) < 0) {
                r = negative_errno();
                close(fd);
                return r;
        }
        if (st.st_dev != dev) {
                close(fd);
                return -EXDEV; /* a mount point: left in place */
        }
        r = remove_children(fd, dev, depth, bytes);
        if (unlinkat(dfd, name, AT_REMOVEDIR) < 0) {
                if (r >= 0)
                        r = gone_is_fine();
        } else
                *bytes += (uint64_t) st.st_blocks * 512;
        return r;
}

int remove_tree(int dirfd, const char *name, uint64_t *ret_bytes) {
        struct stat st;

        *ret_bytes = 0;
        if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
                return gone_is_fine();
        return remove_at(dirfd, name, st.st_dev, 0, ret_bytes);
}
