/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

/* systemd's search-path conventions, shared by the declarations (lib/host-check.c) and the firewall's
 * unit files (lib/nftables-unit.c): a list of directories, the earlier ones first, in which a name in
 * an earlier directory hides the same name further down, and an empty file or a link to /dev/null
 * masks it. */

struct search_path {
        char **dirs;
        size_t n;
};

void search_path_done(struct search_path *p);

/* The directories in $env (separated by ":", empty elements skipped, a relative one taken from the
 * current directory, as SourcePath= must be absolute) when it is set, else defaults. */
int search_path_get(const char *env, const char *const *defaults, size_t n_defaults, struct search_path *ret);

static inline bool search_path_is_masked(const struct stat *st) {
        if (S_ISREG(st->st_mode))
                return st->st_size == 0;
        return S_ISCHR(st->st_mode) && st->st_rdev == makedev(1, 3);
}
