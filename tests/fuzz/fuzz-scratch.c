/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "fuzz-scratch.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <dirent.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "macro.h"

static char *dir;

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
        /* The top directory stays: the caller decides whether it goes. */
        if (ftw->level == 0)
                return 0;
        return remove(path) < 0 && errno != ENOENT ? -1 : 0;
}

static void remove_tree(const char *path, bool keep_top) {
        if (nftw(path, remove_entry, 16, FTW_DEPTH | FTW_PHYS) < 0 && errno != ENOENT) {
                fprintf(stderr, "fuzz: cannot empty %s: %m\n", path);
                abort();
        }
        if (!keep_top)
                (void) rmdir(path);
}

static void scratch_remove(void) {
        if (dir)
                remove_tree(dir, false);
}

/* A target that finds something aborts, which runs no atexit() handler: the directories of processes
 * that are gone are removed by the next one. The name carries the PID for that. */
static void remove_stale(const char *base) {
        _cleanup_(closedirp) DIR *d = opendir(base);
        struct dirent *de;

        while (d && (de = readdir(d))) {
                char path[PATH_MAX];
                int pid;

                if (sscanf(de->d_name, "bluegreen-fuzz.%d.", &pid) != 1 || pid <= 0 || kill(pid, 0) >= 0 ||
                    errno != ESRCH)
                        continue;
                snprintf(path, sizeof path, "%s/%s", base, de->d_name);
                remove_tree(path, false);
        }
}

const char *scratch_dir(void) {
        const char *base = getenv("TMPDIR");

        if (dir)
                return dir;
        if (!base || access(base, W_OK) < 0)
                base = access("/dev/shm", W_OK) >= 0 ? "/dev/shm" : "/tmp";
        remove_stale(base);
        if (asprintf(&dir, "%s/bluegreen-fuzz.%d.XXXXXX", base, (int) getpid()) < 0 || !mkdtemp(dir)) {
                fprintf(stderr, "fuzz: cannot make a scratch directory in %s: %m\n", base);
                abort();
        }
        atexit(scratch_remove);
        return dir;
}

static char *scratch_path(const char *name) {
        char *p;

        if (asprintf(&p, "%s/%s", scratch_dir(), name) < 0)
                abort();
        return p;
}

void scratch_write(const char *name, const void *data, size_t len) {
        _cleanup_free_ char *p = scratch_path(name);
        _cleanup_close_ int fd = -1;

        if (!data) {
                if (unlink(p) < 0 && errno != ENOENT)
                        abort();
                return;
        }
        fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (fd < 0 || (len > 0 && write(fd, data, len) != (ssize_t) len)) {
                fprintf(stderr, "fuzz: cannot write %s: %m\n", p);
                abort();
        }
}

const char *scratch_mkdir(const char *name) {
        char *p = scratch_path(name);

        for (char *s = p + strlen(scratch_dir()) + 1;; s++) {
                char c = *s;

                if (c != '/' && c != 0)
                        continue;
                *s = 0;
                if (mkdir(p, 0755) < 0 && errno != EEXIST) {
                        fprintf(stderr, "fuzz: cannot make %s: %m\n", p);
                        abort();
                }
                *s = c;
                if (!c)
                        break;
        }
        /* Kept for the life of the process, as the scratch directory is. */
        return p;
}

void scratch_empty(const char *path) {
        remove_tree(path, true);
}

size_t fuzz_split(const uint8_t *data, size_t size, const uint8_t **parts, size_t *lens, size_t max) {
        static const char cut[] = "\n%%\n";
        size_t n = 0;

        while (n + 1 < max) {
                const uint8_t *c = memmem(data, size, cut, sizeof cut - 1);

                if (!c)
                        break;
                parts[n] = data;
                lens[n++] = (size_t) (c - data) + 1;
                size -= (size_t) (c - data) + sizeof cut - 1;
                data = c + sizeof cut - 1;
        }
        parts[n] = data;
        lens[n++] = size;
        return n;
}
