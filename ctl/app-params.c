/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "app-params.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "decl.h"
#include "log.h"
#include "macro.h"
#include "verbs.h"

int app_params_load(const char *name, struct app_env *ret, char *reason, size_t size) {
        _cleanup_free_ char *path = NULL;
        const char *bad = NULL;
        int r;

        if (!app_name_is_valid(name)) {
                snprintf(reason, size, "\"%s\" is not a valid app name.", name);
                return -ENOENT;
        }
        if (asprintf(&path, "%s/bluegreen/%s/app.env", getenv("BLUEGREEN_GENERATOR_DIR") ?: "/run/systemd/generator",
                     name) < 0)
                return -ENOMEM;
        r = app_env_from_file(path, ret, &bad);
        if (r == -ENOENT)
                snprintf(reason, size,
                         "No app \"%s\": no %s (is /etc/bluegreen/%s.conf there, and was systemctl daemon-reload run?)",
                         name, path, name);
        else if (r < 0)
                snprintf(reason, size, "Failed to read %s%s%s: %s", path, bad ? ", at " : "", bad ?: "", strerror(-r));
        return r;
}

int verb_app_params(int argc, char *argv[], struct app_env *ret) {
        char reason[1024];
        int r;

        if (argc - optind != 1)
                return log_error("Expected one argument, the app (see --help)."), VERB_EXIT_USAGE;
        r = app_params_load(argv[optind], ret, reason, sizeof reason);
        if (r < 0)
                return log_error("%s", reason), r == -ENOENT ? VERB_EXIT_NO_SUCH_APP : EXIT_FAILURE;
        return 0;
}
