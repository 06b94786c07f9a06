/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "disk-usage.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <search.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "macro.h"

/* Deeper than any release; a bound, so that no tree runs us out of descriptors. */
#define DEPTH_MAX 256

struct walk {
        dev_t dev;
        void *seen; /* tsearch() tree of the inodes with several links counted so far */
        uint64_t bytes;
};

static int cmp_ino(const void *a, const void *b) {
        const struct stat *x = a, *y = b;

        if (x->st_dev != y->st_dev)
                return x->st_dev < y->st_dev ? -1 : 1;
        if (x->st_ino != y->st_ino)
                return x->st_ino < y->st_ino ? -1 : 1;
        return 0;
}

static bool counted_before(struct walk *w, const struct stat *st) {
        struct stat *key;
        void *found;

        if (S_ISDIR(st->st_mode) || st->st_nlink < 2)
                return false;
        key = malloc(sizeof *key);
        if (!key)
                return false;
        *key = *st;
        found = tsearch(key, &w->seen, cmp_ino);
        if (found && *(struct stat **) found != key) {
                free(key);
                return true;
        }
        if (!found)
                free(key);
        return false;
}

static void walk_dir(struct walk *w, int fd, unsigned depth) {
        _cleanup_(closedirp) DIR *d = fdopendir(fd);
        struct dirent *de;

        if (!d) {
                close(fd);
                return;
        }
        while ((de = readdir(d))) {
                struct stat st;
                int sub;

                if (streq(de->d_name, ".") || streq(de->d_name, ".."))
                        continue;
                /* Only a directory tells a mount point: on overlayfs the files report the device of the
                 * layer they are on, not the overlay's. */
                if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
                    (S_ISDIR(st.st_mode) && st.st_dev != w->dev))
                        continue;
                if (!counted_before(w, &st))
                        w->bytes += (uint64_t) st.st_blocks * 512;
                if (!S_ISDIR(st.st_mode) || depth >= DEPTH_MAX)
                        continue;
                sub = openat(dirfd(d), de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY);
                if (sub >= 0)
                        walk_dir(w, sub, depth + 1);
        }
}

int disk_usage(int dirfd, const char *name, uint64_t *ret_bytes) {
        struct walk w = {};
        struct stat st;
        int fd;

        fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return negative_errno();
        if (fstat(fd, &st) < 0) {
                int r = negative_errno();

                close(fd);
                return r;
        }
        w.dev = st.st_dev;
        w.bytes = (uint64_t) st.st_blocks * 512;
        walk_dir(&w, fd, 1);
        tdestroy(w.seen, free);
        *ret_bytes = w.bytes;
        return 0;
}
