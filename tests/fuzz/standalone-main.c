/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* What libFuzzer does with files on its command line, for builds without libFuzzer (gcc, the ASan+UBSan
 * build of tests/run-all.sh): runs the target once on each file, and on each file of each directory
 * given, in name order, so that the committed corpus is replayed by every `meson test`.
 *   fuzz-TARGET FILE|DIR...
 * Exit status 0 when every input ran (a finding aborts the process), 1 when an input could not be read
 * or there was no input at all: an empty corpus replays nothing and must not pass. */
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fileio.h"
#include "fuzz-target.h"
#include "macro.h"

/* Inputs larger than this are not what libFuzzer would run either (its -max_len is far below). */
#define INPUT_SIZE_MAX (4 * 1024 * 1024)

static int run_file(const char *path) {
        _cleanup_free_ char *data = NULL;
        size_t len;
        int r;

        r = read_file(path, INPUT_SIZE_MAX, &data, &len);
        if (r < 0) {
                fprintf(stderr, "%s: cannot read: %s\n", path, strerror(-r));
                return r;
        }
        (void) LLVMFuzzerTestOneInput((const uint8_t *) data, len);
        return 0;
}

static int filter_visible(const struct dirent *de) {
        return de->d_name[0] != '.';
}

static int run_dir(const char *path, size_t *n_run) {
        struct dirent **des = NULL;
        int n, r = 0;

        n = scandir(path, &des, filter_visible, alphasort);
        if (n < 0) {
                fprintf(stderr, "%s: cannot read: %m\n", path);
                return -errno;
        }
        for (int i = 0; i < n; i++) {
                _cleanup_free_ char *p = NULL;
                int k = -ENOMEM;

                if (asprintf(&p, "%s/%s", path, des[i]->d_name) >= 0)
                        k = run_file(p);
                if (k >= 0)
                        (*n_run)++;
                else if (r >= 0)
                        r = k;
                free(des[i]);
        }
        free(des);
        return r;
}

int main(int argc, char *argv[]) {
        size_t n_run = 0;
        int r = 0, k;

        if (argc < 2 || streq(argv[1], "--help")) {
                printf("Usage: %s FILE|DIR...\nRuns the fuzz target once on each input file.\n", argv[0]);
                return argc < 2 ? EXIT_FAILURE : EXIT_SUCCESS;
        }
        for (int i = 1; i < argc; i++) {
                struct stat st;

                if (stat(argv[i], &st) < 0) {
                        fprintf(stderr, "%s: %m\n", argv[i]);
                        k = -errno;
                } else if (S_ISDIR(st.st_mode))
                        k = run_dir(argv[i], &n_run);
                else if ((k = run_file(argv[i])) >= 0)
                        n_run++;
                if (r >= 0 && k < 0)
                        r = k;
        }
        printf("%zu inputs run\n", n_run);
        return r < 0 || n_run == 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}
