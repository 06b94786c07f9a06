/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "verbs.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "macro.h"

static const struct {
        const char *name;
        int (*run)(int argc, char *argv[]);
} verbs[] = {
        { "verify", verb_verify },     { "deploy", verb_deploy }, { "rollback", verb_rollback },
        { "releases", verb_releases }, { "prune", verb_prune },   { "history", verb_history },
        { "maintenance", verb_maintenance },
};

int verb_dispatch(int argc, char *argv[]) {
        static char argv0[64];
        _cleanup_free_ char **args = NULL;
        int i, n = 0;

        /* The options before the verb take no argument (--json, --help): the verb is the first word
         * that is not one. */
        for (i = 1; i < argc && argv[i][0] == '-' && !streq(argv[i], "--"); i++)
                ;
        if (i >= argc || argv[i][0] == '-')
                return -1;
        for (size_t v = 0; v < ELEMENTSOF(verbs); v++) {
                if (!streq(argv[i], verbs[v].name))
                        continue;
                args = calloc((size_t) argc + 1, sizeof(char *));
                if (!args)
                        return EXIT_FAILURE;
                /* getopt_long() names the verb in its messages: "bluegreenctl prune: ...". */
                snprintf(argv0, sizeof argv0, "bluegreenctl %s", verbs[v].name);
                args[n++] = argv0;
                for (int k = 1; k < i; k++)
                        args[n++] = argv[k];
                for (int k = i + 1; k < argc; k++)
                        args[n++] = argv[k];
                return verbs[v].run(n, args);
        }
        return -1;
}
