/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>

/* Each step of a deploy and how long it took, for the log and the reader in a hurry. */
struct timeline {
        struct {
                char name[48];
                long long ms;
        } steps[24];
        int n;
        long long start_ms, mark_ms;
        /* Each step is also logged as it ends (BLUEGREEN_STEP_MS=), so that whoever follows the
         * journal (bluegreenctl deploy) sees the steps as they happen, not only the final line. */
        bool log_steps;
};

long long now_ms(void);
void timeline_start(struct timeline *t);
/* As timeline_start(), with every step logged as it ends. */
void timeline_start_logged(struct timeline *t);
void timeline_step(struct timeline *t, const char *name);
/* "pin 1 ms, start green 812 ms, ...; total 1204 ms" */
void timeline_format(const struct timeline *t, char *buf, size_t size);
long long timeline_total(const struct timeline *t);
