/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "timeline.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "macro.h"

long long now_ms(void) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (long long) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void timeline_start(struct timeline *t) {
        memset(t, 0, sizeof *t);
        t->start_ms = t->mark_ms = now_ms();
}

void timeline_start_logged(struct timeline *t) {
        timeline_start(t);
        t->log_steps = true;
}

void timeline_step(struct timeline *t, const char *name) {
        long long now = now_ms();

        if (t->n < (int) ELEMENTSOF(t->steps)) {
                snprintf(t->steps[t->n].name, sizeof t->steps[t->n].name, "%s", name);
                t->steps[t->n].ms = now - t->mark_ms;
                t->n++;
        }
        if (t->log_steps)
                log_event_fields(LOG_INFO, "BLUEGREEN_STEP_MS", now - t->mark_ms, "Step %s: %lld ms.", name,
                                 now - t->mark_ms);
        t->mark_ms = now;
}

long long timeline_total(const struct timeline *t) {
        return t->mark_ms - t->start_ms;
}

void timeline_format(const struct timeline *t, char *buf, size_t size) {
        size_t len = 0;

        buf[0] = 0;
        for (int i = 0; i < t->n && len < size; i++)
                len += (size_t) snprintf(buf + len, size - len, "%s%s %lld ms", i ? ", " : "", t->steps[i].name,
                                         t->steps[i].ms);
        if (len < size)
                snprintf(buf + len, size - len, "; total %lld ms", timeline_total(t));
}
