/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Structured journal entries for the helpers; kept apart from log.c so the generator, which must not
 * talk to journald, does not link libsystemd. */
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <systemd/sd-journal.h>
#include <unistd.h>

#include "log.h"

void log_event_fields(int prio, const char *field, long long value, const char *fmt, ...) {
        char buf[2048];
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(buf, sizeof buf, fmt, ap);
        va_end(ap);
        if (!log_stderr_is_journal() || sd_journal_send("MESSAGE=%s", buf, "PRIORITY=%d", prio,
                                                        "SYSLOG_IDENTIFIER=%s", log_ident, "%s=%lld", field, value,
                                                        NULL) < 0)
                fprintf(stderr, "%s: %s\n", log_ident, buf);
}

void log_event(int prio, const char *message_id, const char *app, const char *release, const char *color,
               const char *fmt, ...) {
        char buf[2048];
        va_list ap;
        int r;

        va_start(ap, fmt);
        vsnprintf(buf, sizeof buf, fmt, ap);
        va_end(ap);

        r = sd_journal_send("MESSAGE=%s", buf,
                            "PRIORITY=%d", prio,
                            "SYSLOG_IDENTIFIER=%s", log_ident,
                            "MESSAGE_ID=%s", message_id ?: "",
                            "BLUEGREEN_APP=%s", app ?: "",
                            "BLUEGREEN_RELEASE=%s", release ?: "",
                            "BLUEGREEN_COLOR=%s", color ?: "",
                            NULL);
        if (r < 0 || !log_stderr_is_journal())
                fprintf(stderr, "%s: %s\n", log_ident, buf);
}
