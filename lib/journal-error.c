/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "journal-error.h"

#include <stdbool.h>
#include <stdio.h>
#include <systemd/sd-journal.h>

void journal_last_error(const char *unit, uint64_t since_usec, char *buf, size_t size) {
        sd_journal *j = NULL;
        char match[600];
        int tries = 0;

        snprintf(buf, size, "see journalctl -u %s", unit);
        if (sd_journal_open(&j, SD_JOURNAL_LOCAL_ONLY | SD_JOURNAL_SYSTEM) < 0)
                return;
        snprintf(match, sizeof match, "_SYSTEMD_UNIT=%s", unit);
        /* journald stores asynchronously: give it a moment to catch up with the failure. */
        for (; tries < 5; tries++) {
                bool found = false;

                sd_journal_flush_matches(j);
                if (sd_journal_add_match(j, match, 0) < 0 || sd_journal_seek_tail(j) < 0)
                        break;
                for (int seen = 0; seen < 200 && sd_journal_previous(j) > 0; seen++) {
                        const void *data;
                        size_t len;
                        uint64_t t;
                        int prio = 6;

                        if (sd_journal_get_realtime_usec(j, &t) < 0 || t < since_usec)
                                break;
                        if (sd_journal_get_data(j, "PRIORITY", &data, &len) >= 0 && len > 9)
                                prio = ((const char *) data)[9] - '0';
                        if (prio > 3)
                                continue;
                        if (sd_journal_get_data(j, "MESSAGE", &data, &len) >= 0 && len > 8) {
                                snprintf(buf, size, "%.*s", (int) (len - 8), (const char *) data + 8);
                                found = true;
                                break;
                        }
                }
                if (found)
                        break;
                (void) sd_journal_wait(j, 100000);
        }
        sd_journal_close(j);
}
