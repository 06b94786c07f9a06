/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "journal-follow.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "macro.h"
#include "unit-name.h"

/* The last words of a deploy or a rollback, whatever the outcome. */
static const char *const end_ids[] = {
        MESSAGE_DEPLOY_SUCCEEDED,
        MESSAGE_DEPLOY_FAILED,
        MESSAGE_ROLLED_BACK,
        MESSAGE_ROLLBACK_FAILED,
};

static int add_match(sd_journal *j, const char *field, const char *value) {
        char m[600];

        snprintf(m, sizeof m, "%s=%s", field, value);
        return sd_journal_add_match(j, m, 0);
}

int journal_follow_open(struct journal_follow *f, const char *app, const char *unit, const char *invocation,
                        uint64_t start_usec) {
        int r;

        *f = (struct journal_follow) { .start_usec = start_usec, .last_usec = start_usec };
        r = sd_journal_open(&f->j, SD_JOURNAL_LOCAL_ONLY | SD_JOURNAL_SYSTEM);
        if (r < 0)
                return r;
        /* (this run of the unit) OR (a health gate of one of the app's colors) */
        r = add_match(f->j, "_SYSTEMD_UNIT", unit);
        if (r >= 0)
                r = add_match(f->j, "_SYSTEMD_INVOCATION_ID", invocation);
        if (r >= 0)
                r = sd_journal_add_disjunction(f->j);
        for (int c = 0; r >= 0 && c < 2; c++)
                r = add_match(f->j, "_SYSTEMD_UNIT", unit_name(app, "@", c ? "green" : "blue", "service"));
        if (r >= 0)
                r = add_match(f->j, "SYSLOG_IDENTIFIER", "bluegreen-health");
        /* From a little before: the clocks of the manager and the journal need not agree to the
         * microsecond, and the invocation match keeps out what is not this run's. */
        if (r >= 0)
                r = sd_journal_seek_realtime_usec(f->j, start_usec > 1000000 ? start_usec - 1000000 : 0);
        if (r < 0) {
                journal_follow_close(f);
                return r;
        }
        return 0;
}

void journal_follow_close(struct journal_follow *f) {
        sd_journal_close(f->j);
        f->j = NULL;
}

int journal_follow_fd(struct journal_follow *f) {
        return sd_journal_get_fd(f->j);
}

static bool field(sd_journal *j, const char *name, char *buf, size_t size) {
        const void *data;
        size_t len, n = strlen(name) + 1;

        if (sd_journal_get_data(j, name, &data, &len) < 0 || len < n)
                return false;
        snprintf(buf, size, "%.*s", (int) (len - n), (const char *) data + n);
        return true;
}

/* "check 3 ms, pin 1 ms, start green 2100 ms; total 2134 ms" (timeline_format()), one step a line. */
static void print_timeline(const char *t) {
        while (*t) {
                size_t n = strcspn(t, ",;");
                const char *sp = NULL;

                /* "NAME N ms": the name is everything before the last two words. */
                for (const char *p = t; p < t + n; p++)
                        if (*p == ' ' && p + 1 < t + n && strncmp(p + 1, "ms", 2) != 0)
                                sp = p;
                if (sp)
                        printf("%21s%-16.*s %*.*s\n", "", (int) (sp - t), t, 9, (int) (t + n - sp - 1), sp + 1);
                t += n;
                t += strspn(t, ",; ");
        }
}

static void print_entry(struct journal_follow *f, const char *message, uint64_t at) {
        const char *tl = strstr(message, " Timeline: ");
        double since_start = at > f->start_usec ? (double) (at - f->start_usec) / 1e6 : 0,
               since_last = at > f->last_usec ? (double) (at - f->last_usec) / 1e6 : 0;

        printf("%7.1fs (+%5.1fs)  %.*s\n", since_start, since_last, tl ? (int) (tl - message) : (int) strlen(message),
               message);
        if (tl)
                print_timeline(tl + strlen(" Timeline: "));
        f->last_usec = at;
        fflush(stdout);
}

int journal_follow_print(struct journal_follow *f) {
        int r, n = 0;

        (void) sd_journal_process(f->j);
        while ((r = sd_journal_next(f->j)) > 0) {
                char message[2048], id[64];
                uint64_t at;

                if (sd_journal_get_realtime_usec(f->j, &at) < 0 || at < f->start_usec ||
                    !field(f->j, "MESSAGE", message, sizeof message))
                        continue;
                print_entry(f, message, at);
                n++;
                if (field(f->j, "MESSAGE_ID", id, sizeof id))
                        for (size_t i = 0; i < ELEMENTSOF(end_ids); i++)
                                f->ended = f->ended || streq(id, end_ids[i]);
        }
        return r < 0 ? r : n;
}
