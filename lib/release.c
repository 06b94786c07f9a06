/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "release.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "decl.h"
#include "macro.h"

static int resolve_inside(const char *path, const char *releases, char **ret) {
        _cleanup_free_ char *real = NULL, *top = NULL;
        size_t n;

        top = realpath(releases, NULL);
        if (!top)
                return negative_errno();
        real = realpath(path, NULL);
        if (!real)
                return negative_errno();
        n = strlen(top);
        if (strncmp(real, top, n) != 0 || real[n] != '/' || strchr(real + n + 1, '/'))
                return -EXDEV;
        *ret = TAKE_PTR(real);
        return 0;
}

int release_resolve_pin(const char *state_dir, const char *color, const char *releases, char **ret) {
        _cleanup_free_ char *pin = NULL;

        if (asprintf(&pin, "%s/%s", state_dir, color) < 0)
                return -ENOMEM;
        return resolve_inside(pin, releases, ret);
}

int release_resolve_name(const char *releases, const char *name, char **ret) {
        _cleanup_free_ char *p = NULL;

        if (!release_name_is_valid(name))
                return -EINVAL;
        if (asprintf(&p, "%s/%s", releases, name) < 0)
                return -ENOMEM;
        return resolve_inside(p, releases, ret);
}

int release_enter(const char *dir, const char *workdir) {
        _cleanup_free_ char *wd = NULL;

        if (asprintf(&wd, "%s/%s", dir, workdir ?: ".") < 0)
                return -ENOMEM;
        if (chdir(wd) < 0)
                return negative_errno();
        if (setenv("BLUEGREEN_RELEASE", strrchr(dir, '/') + 1, 1) < 0 || setenv("BLUEGREEN_RELEASE_DIR", dir, 1) < 0)
                return -ENOMEM;
        return 0;
}
