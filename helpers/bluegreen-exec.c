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
               "Exit status: that of PROGRAM; or 64 bad usage or environment, 66 no such\n"
               "release or nothing pinned, 126 PROGRAM cannot be executed, 127 PROGRAM not found.\n");
}

static const char *need_env(const char *name) {
        const char *v = getenv(name);

        if (isempty(v)) {
                log_error("$%s is not set: run this from the units bluegreen-generator writes.", name);
                exit(EXIT_USAGE);
        }
        return v;
}

/* True when path is dir itself or below it; both must be canonical. */
static bool path_is_below(const char *path, const char *dir) {
        size_t n = strlen(dir);

        return strncmp(path, dir, n) == 0 && path[n] == '/';
}

int main(int argc, char *argv[]) {
        static const struct option options[] = {
                { "release", required_argument, NULL, 'r' },
                { "help", no_argument, NULL, 'h' },
                {},
        };
        _cleanup_free_ char *release_dir = NULL, *releases_real = NULL, *pin = NULL, *workdir = NULL,
                               *program = NULL;
        const char *release = NULL, *releases, *work, *base;
        int c;

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
        releases_real = realpath(releases, NULL);
        if (!releases_real) {
                log_error_errno(-errno, "Releases directory %s: %m", releases);
                return EXIT_NO_RELEASE;
        }

        if (release) {
                _cleanup_free_ char *p = NULL;

                if (!release_name_is_valid(release)) {
                        log_error("\"%s\" is not a valid release name.", release);
                        return EXIT_USAGE;
                }
                if (asprintf(&p, "%s/%s", releases_real, release) < 0)
                        return log_oom(), EXIT_FAILURE;
                release_dir = realpath(p, NULL);
                if (!release_dir) {
                        log_error_errno(-errno, "Release %s: %m", p);
                        return EXIT_NO_RELEASE;
                }
        } else {
                const char *state = need_env("BLUEGREEN_STATE_DIR"), *color = need_env("BLUEGREEN_COLOR");

                if (asprintf(&pin, "%s/%s", state, color) < 0)
                        return log_oom(), EXIT_FAILURE;
                release_dir = realpath(pin, NULL);
                if (!release_dir) {
                        if (errno == ENOENT)
                                log_error("No release is pinned to the %s color (%s does not lead to a release): "
                                          "deploy one with \"systemctl start %s-deploy@RELEASE\".",
                                          color, pin, getenv("BLUEGREEN_APP") ?: "APP");
                        else
                                log_error_errno(-errno, "Pinned release %s: %m", pin);
                        return EXIT_NO_RELEASE;
                }
        }

        /* A pin or name that leads out of the releases directory (a symlink planted in it, say) is
         * refused: the releases directory is the only place code is run from. */
        if (!path_is_below(release_dir, releases_real) || strchr(release_dir + strlen(releases_real) + 1, '/')) {
                log_error("%s is not a release directory directly under %s.", release_dir, releases_real);
                return EXIT_NO_RELEASE;
        }
        base = strrchr(release_dir, '/') + 1;

        if (asprintf(&workdir, "%s/%s", release_dir, work) < 0)
                return log_oom(), EXIT_FAILURE;
        if (chdir(workdir) < 0) {
                log_error_errno(-errno, "Working directory %s: %m", workdir);
                return EXIT_NO_RELEASE;
        }
        if (setenv("BLUEGREEN_RELEASE", base, 1) < 0 || setenv("BLUEGREEN_RELEASE_DIR", release_dir, 1) < 0)
                return log_oom(), EXIT_FAILURE;

        if (argv[optind][0] != '/' && strchr(argv[optind], '/')) {
                if (asprintf(&program, "%s/%s", release_dir, argv[optind]) < 0)
                        return log_oom(), EXIT_FAILURE;
                execv(program, argv + optind);
        } else
                execvp(argv[optind], argv + optind);

        c = errno;
        log_error_errno(-c, "Failed to execute %s: %m", program ?: argv[optind]);
        return c == ENOENT ? EXIT_NOT_FOUND : EXIT_CANNOT_EXEC;
}
