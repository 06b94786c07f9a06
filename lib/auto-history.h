/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "appenv.h"

/*
 * The history lines of the rollbacks bluegreen decides on its own: "auto-rollback" (the watch of a
 * release saw it go bad) and "failover" (the live color failed for good after the watch). The line is
 * written, synced, under the app's lock and before the rollback's own transaction begins, so it says why
 * whatever that transaction's own line ("rollback", "rollback-failed", "rollback-interrupted") then
 * says:
 *   2026-04-15T10:14:02+0200 auto-rollback r1 blue from=r2 reason=3 failed health probes in a row: ...
 * RELEASE and COLOR are where traffic goes back to; from= the release it leaves; reason= runs to the
 * end of the line.
 */

struct auto_event {
        char when[32];     /* the line's time */
        char event[16];    /* "auto-rollback" or "failover" */
        char release[129]; /* going back to */
        enum color color;
        char from[129];    /* the release left */
        char reason[512];
        char outcome[32];  /* the transaction's line after it: "rollback", "rollback-failed",
                            * "rollback-interrupted", or "" when none followed (yet) */
};

int auto_history_append(const char *state_dir, const char *event, const char *release, enum color c,
                        const char *from, const char *reason);

/* The last auto-rollback or failover in the app's history: 1 and *ret filled, 0 when there is none
 * in its last lines. */
int auto_history_last(const char *state_dir, struct auto_event *ret);
