/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <syslog.h>

#include "macro.h"

enum log_target {
        LOG_TARGET_STDERR,
        LOG_TARGET_KMSG,
        LOG_TARGET_SYSLOG,
};

/* Generators run before journald may be up and must not talk to it, so systemd's convention is the
 * kernel log buffer (in a container, which has none, the journal's syslog socket, without waiting);
 * anything else (tests, an admin running the binary by hand) gets stderr. */
void log_setup_generator(const char *ident);
void log_setup(const char *ident);
void log_set_target(enum log_target t);
void log_set_max_level(int level);
bool log_stderr_is_journal(void);

/* Logs at prio; %m stands for -error when error is non-zero. Returns error, so that
 * "return log_error_errno(r, ...)" reads naturally. */
_printf_(3, 4) int log_internal(int prio, int error, const char *fmt, ...);

#define log_error(...) log_internal(LOG_ERR, 0, __VA_ARGS__)
#define log_warning(...) log_internal(LOG_WARNING, 0, __VA_ARGS__)
#define log_notice(...) log_internal(LOG_NOTICE, 0, __VA_ARGS__)
#define log_info(...) log_internal(LOG_INFO, 0, __VA_ARGS__)
#define log_debug(...) log_internal(LOG_DEBUG, 0, __VA_ARGS__)
#define log_error_errno(e, ...) log_internal(LOG_ERR, (e), __VA_ARGS__)
#define log_warning_errno(e, ...) log_internal(LOG_WARNING, (e), __VA_ARGS__)
#define log_oom() log_internal(LOG_ERR, -ENOMEM, "Out of memory.")

/* The journal's MESSAGE_ID of each kind of event, so that "journalctl MESSAGE_ID=..." finds them all. */
#define MESSAGE_DEPLOY_STARTED "85cb583bd12a456d8c476443dacae09f"
#define MESSAGE_DEPLOY_SUCCEEDED "0d99ee444a514695a2d80fc57bd35f3a"
#define MESSAGE_DEPLOY_FAILED "b3ba120a90e94b8199eea974d7d4bdc9"
#define MESSAGE_SWITCHED "aa54f60ed12c41529111c35fca5523e5"
#define MESSAGE_ROLLED_BACK "e479d7d2082347fbb48c5a13c5b0ec84"
#define MESSAGE_RETIRED "74d1439425c64b02bcb4ab645f321545"
#define MESSAGE_ROLLBACK_FAILED "ba086b80eb6a4f91b0dc009ec1b23730"
/* A deploy or rollback that died half-way was finished or undone by the next run. */
#define MESSAGE_RECOVERED "e0defe5eeb1a40db90fc7ca241ae3786"
/* The redirect rule set since boot was gone from the kernel (a flushed ruleset) or led elsewhere. */
#define MESSAGE_REDIRECT_LOST "35808a6f08b74d90814ede27179a9a0c"
/* The watch of a release after its deploy saw it go bad (failed probes in a row, or its unit crashed,
 * exited or restarted) and rolls back on its own; logged with the reason before the rollback starts. */
#define MESSAGE_AUTO_ROLLBACK "958ea6b67234438fbf8a4194fe67e653"
/* The watch of a release ended with its window: the release stayed good. */
#define MESSAGE_WATCH_ENDED "3df85df6f3b84620bf1b069c7b924e6f"
/* The live color failed for good after the watch and traffic goes to the warm other color. */
#define MESSAGE_FAILOVER "dd37ba4c3f0e422ebdfe110764b90e6a"
/* The live color failed for good and there is no warm color to fail over to: an admin must act. */
#define MESSAGE_LIVE_FAILED "9822916220324248af5feee9c69070dd"

extern const char *log_ident;

/* A journal entry with one extra numeric field; printed on stderr instead when that is not the journal. */
_printf_(4, 5) void log_event_fields(int prio, const char *field, long long value, const char *fmt, ...);

/* A structured journal entry with BLUEGREEN_APP, BLUEGREEN_RELEASE and BLUEGREEN_COLOR (any may be
 * NULL) and MESSAGE_ID when not NULL; also printed on stderr unless stderr already is the journal. */
_printf_(6, 7) void log_event(int prio, const char *message_id, const char *app, const char *release,
                              const char *color, const char *fmt, ...);
