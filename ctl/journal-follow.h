/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <systemd/sd-journal.h>

/*
 * One run of a deploy or rollback, as its journal tells it while it happens: the lines of that
 * invocation of the unit (_SYSTEMD_UNIT= and _SYSTEMD_INVOCATION_ID=), and those of the health gate of
 * the app's colors meanwhile (what the long "start" step waits for). Each line is printed with the time
 * since the run began and since the line before, which is how long the step in between took; the
 * timeline the run logs last is printed one step a line, with each step's duration.
 */

struct journal_follow {
        sd_journal *j;
        uint64_t start_usec; /* CLOCK_REALTIME when the run began: earlier lines are not its own */
        uint64_t last_usec;  /* of the last line printed */
        bool ended;          /* the run's last words were read (MESSAGE_ID of a deploy's or rollback's end) */
};

/* invocation as 32 hex digits. Returns 0, or a negative errno when the journal cannot be opened. */
int journal_follow_open(struct journal_follow *f, const char *app, const char *unit, const char *invocation,
                        uint64_t start_usec);
void journal_follow_close(struct journal_follow *f);

/* The descriptor to wait on for more (sd_journal_get_fd()). */
int journal_follow_fd(struct journal_follow *f);

/* Prints every line the journal has now; returns how many, or a negative errno. */
int journal_follow_print(struct journal_follow *f);
