/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "root-dir.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "macro.h"

static int check_root_only(int fd) {
        struct stat st;

        if (fstat(fd, &st) < 0)
                return negative_errno();
        if (!S_ISDIR(st.st_mode) || st.st_uid != 0 || ((st.st_mode & 0022) && !(st.st_mode & S_ISVTX)))
                return -EPERM;
        return 0;
}

/* The next component, created first when missing and asked for. With O_PATH, O_NOFOLLOW alone opens a
 * link itself; O_DIRECTORY makes that fail, as it does for anything but a directory. */
static int open_component(int fd, const char *name, mode_t create_mode) {
        int next;

        next = openat(fd, name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (next < 0 && errno == ENOENT && create_mode != 0) {
                if (mkdirat(fd, name, create_mode) < 0 && errno != EEXIST)
                        return negative_errno();
                next = openat(fd, name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        }
        if (next < 0)
                return errno == ELOOP || errno == ENOTDIR ? -EPERM : negative_errno();
        return next;
}

int root_dir_open(const char *path, mode_t create_mode) {
        _cleanup_close_ int fd = -1;
        const char *p = path;
        int r;

        if (path[0] != '/')
                return -EINVAL;
        fd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return negative_errno();
        for (;;) {
                char name[NAME_MAX + 1];
                size_t n;
                int next;

                r = check_root_only(fd);
                if (r < 0)
                        return r;
                p += strspn(p, "/");
                n = strcspn(p, "/");
                if (n == 0)
                        return TAKE_FD(fd);
                if (n > NAME_MAX)
                        return -ENAMETOOLONG;
                memcpy(name, p, n);
                name[n] = 0;
                next = open_component(fd, name, create_mode);
                if (next < 0)
                        return next;
                close(fd);
                fd = next;
                p += n;
        }
}
