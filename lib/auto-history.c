/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "auto-history.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "macro.h"
#include "state.h"

/* Enough to find the last one behind the lines that follow it (its rollback, a few deploys). */
#define SCAN_LINES 200
#define REASON_MAX 400

int auto_history_append(const char *state_dir, const char *event, const char *release, enum color c,
                        const char *from, const char *reason) {
        _cleanup_free_ char *detail = NULL;

        /* One line per event, whatever the reason quotes (an app's answer may hold newlines). */
        if (asprintf(&detail, "from=%s reason=%.*s", from ?: "-", REASON_MAX, reason ?: "?") < 0)
                return -ENOMEM;
        for (char *p = detail; *p; p++)
                if (*p == '\n' || *p == '\r')
                        *p = ' ';
        return state_history_append(state_dir, event, release, c, detail);
}

static bool is_auto_event(const char *event) {
        return streq(event, "auto-rollback") || streq(event, "failover");
}

/* "WHEN EVENT RELEASE COLOR DETAIL": the event of a line, in buf (EVENT_MAX). */
#define EVENT_MAX 32
static const char *line_event(const char *line, char buf[static EVENT_MAX]) {
        if (sscanf(line, "%*s %31s", buf) != 1)
                *buf = 0;
        return buf;
}

static void parse_auto_line(const char *line, struct auto_event *a) {
        char color[16] = "";
        const char *p;

        *a = (struct auto_event) { .color = _COLOR_INVALID };
        (void) sscanf(line, "%31s %15s %128s %15s", a->when, a->event, a->release, color);
        a->color = color_from_string(color);
        p = strstr(line, " from=");
        if (p)
                (void) sscanf(p + 6, "%128s", a->from);
        p = strstr(line, " reason=");
        if (p)
                snprintf(a->reason, sizeof a->reason, "%s", p + 8);
}

int auto_history_last(const char *state_dir, struct auto_event *ret) {
        char **lines = NULL, ev[EVENT_MAX];
        int n = 0, found = -1, r;

        r = state_history_tail(state_dir, SCAN_LINES, &lines, &n);
        if (r < 0)
                return r;
        for (int k = n - 1; k >= 0 && found < 0; k--)
                if (lines[k] && is_auto_event(line_event(lines[k], ev)))
                        found = k;
        if (found >= 0) {
                parse_auto_line(lines[found], ret);
                for (int k = found + 1; k < n && !*ret->outcome; k++)
                        if (lines[k] && strncmp(line_event(lines[k], ev), "rollback", 8) == 0)
                                snprintf(ret->outcome, sizeof ret->outcome, "%s", ev);
        }
        for (int k = 0; k < n; k++)
                free(lines[k]);
        free(lines);
        return found >= 0;
}
