/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "crash-point.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

static bool names_this_step(const char *var, const char *step) {
        const char *v = getenv(var);
        size_t n;

        if (!v || !log_ident)
                return false;
        n = strlen(log_ident);
        return strncmp(v, log_ident, n) == 0 && v[n] == ':' && strcmp(v + n + 1, step) == 0;
}

void crash_point(const char *step) {
        if (names_this_step("BLUEGREEN_TEST_CRASH_AT", step)) {
                log_notice("Test crash point %s reached: killing myself.", step);
                (void) raise(SIGKILL);
        }
        if (names_this_step("BLUEGREEN_TEST_PAUSE_AT", step)) {
                log_notice("Test pause point %s reached: stopping myself.", step);
                (void) raise(SIGSTOP);
        }
}
