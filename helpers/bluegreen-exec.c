/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * bluegreen-exec: resolves a color's pinned release (or a named release) once, enters it and executes
 * the app's command there. Resolving once is what keeps a re-pin during start-up from mixing two
 * releases: the program, the working directory and $BLUEGREEN_RELEASE all come from the same target.
 * See bluegreen-exec(8).
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "decl.h"
#include "log.h"
#include "macro.h"
#include "release.h"

#define EXIT_USAGE 64
#define EXIT_NO_RELEASE 66
#define EXIT_CANNOT_EXEC 126
#define EXIT_NOT_FOUND 127

static void help(void) {
        printf("Usage: bluegreen-exec [--release NAME] -- PROGRAM [ARGUMENT...]\n\n"
               "Runs PROGRAM inside a release of a bluegreen app: the release pinned to\n"
               "$BLUEGREEN_COLOR in $BLUEGREEN_STATE_DIR, or the one named by --release under\n"
               "$BLUEGREEN_RELEASES. A PROGRAM with a \"/\" that is not absolute is taken inside\n"
               "the release; a bare name is looked up in $PATH. The working directory becomes\n"
               "the release's $BLUEGREEN_WORKDIR and $BLUEGREEN_RELEASE, $BLUEGREEN_RELEASE_DIR\n"
               "are set.\n\n"
               "  -r, --release NAME  run in this release instead of the color's pinned one\n"
               "  -h, --help          show this help\n\n"
               "Exit status: that of PROGRAM; or 1 out of memory, 64 bad usage or environment,\n"
               "66 no such release, nothing pinned or no such working directory, 126 PROGRAM\n"
               "cannot be executed, 127 PROGRAM not found.\n");
}

static const char *need_env(const char *name) {
        const char *v = getenv(name);

        if (isempty(v)) {
                log_error("$%s is not set: run this from the units bluegreen-generator writes.", name);
                exit(EXIT_USAGE);
        }
        return v;
}

int main(int argc, char *argv[]) {
        static const struct option options[] = {
                { "release", required_argument, NULL, 'r' },
                { "help", no_argument, NULL, 'h' },
                {},
        };
        _cleanup_(release_done) struct release rel = RELEASE_NULL;
        _cleanup_free_ char *program = NULL;
        const char *release = NULL, *releases, *work, *color = NULL;
        char reason[1024];
        int c, r;

        log_setup("bluegreen-exec");
        while ((c = getopt_long(argc, argv, "+r:h", options, NULL)) >= 0)
                switch (c) {
                case 'r':
                        release = optarg;
                        break;
                case 'h':
                        help();
                        return EXIT_SUCCESS;
                default:
                        return EXIT_USAGE;
                }
        if (optind >= argc) {
                log_error("No program given (see --help).");
                return EXIT_USAGE;
        }

        releases = need_env("BLUEGREEN_RELEASES");
        work = getenv("BLUEGREEN_WORKDIR") ?: ".";
        if (release && !release_name_is_valid(release)) {
                log_error("\"%s\" is not a valid release name.", release);
                return EXIT_USAGE;
        }
        if (!release)
                color = need_env("BLUEGREEN_COLOR");
        r = release_find(releases, release, release ? NULL : need_env("BLUEGREEN_STATE_DIR"), color, &rel, reason,
                         sizeof reason);
        if (r == -ENOMEM)
                return log_oom(), EXIT_FAILURE;
        if (r == -ENOENT && !release) {
                log_error("%s Deploy a release with \"systemctl start %s-deploy@RELEASE\".", reason,
                          getenv("BLUEGREEN_APP") ?: "APP");
                return EXIT_NO_RELEASE;
        }
        if (r < 0) {
                /* The releases directory is the only place code is run from. */
                log_error("%s", reason);
                return EXIT_NO_RELEASE;
        }
        r = release_enter(&rel, work);
        if (r == -ENOMEM)
                return log_oom(), EXIT_FAILURE;
        if (r < 0) {
                log_error_errno(r, "Working directory %s/%s: %m", rel.dir, work);
                return EXIT_NO_RELEASE;
        }

        if (argv[optind][0] != '/' && strchr(argv[optind], '/')) {
                if (asprintf(&program, "%s/%s", rel.dir, argv[optind]) < 0)
                        return log_oom(), EXIT_FAILURE;
                execv(program, argv + optind);
        } else
                execvp(argv[optind], argv + optind);

        c = errno;
        log_error_errno(-c, "Failed to execute %s: %m", program ?: argv[optind]);
        return c == ENOENT ? EXIT_NOT_FOUND : EXIT_CANNOT_EXEC;
}
