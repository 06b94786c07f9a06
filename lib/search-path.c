/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "search-path.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "macro.h"

void search_path_done(struct search_path *p) {
        for (size_t i = 0; i < p->n; i++)
                free(p->dirs[i]);
        free(p->dirs);
        *p = (struct search_path) {};
}

static int add(struct search_path *p, const char *dir, size_t len) {
        char cwd[4096] = "", **nl;

        nl = realloc(p->dirs, (p->n + 1) * sizeof(char *));
        if (!nl)
                return -ENOMEM;
        p->dirs = nl;
        if (dir[0] != '/' && !getcwd(cwd, sizeof cwd))
                return -ENOMEM;
        if (asprintf(&p->dirs[p->n], "%s%s%.*s", cwd, *cwd ? "/" : "", (int) len, dir) < 0)
                return -ENOMEM;
        p->n++;
        return 0;
}

int search_path_get(const char *env, const char *const *defaults, size_t n_defaults, struct search_path *ret) {
        _cleanup_(search_path_done) struct search_path p = {};
        const char *e = getenv(env);
        int r = 0;

        if (!e)
                for (size_t i = 0; r >= 0 && i < n_defaults; i++)
                        r = add(&p, defaults[i], strlen(defaults[i]));
        for (const char *s = e; r >= 0 && s && *s;) {
                size_t k = strcspn(s, ":");

                if (k > 0)
                        r = add(&p, s, k);
                s += k;
                if (*s == ':')
                        s++;
        }
        if (r < 0)
                return r;
        *ret = p;
        p = (struct search_path) {};
        return 0;
}
