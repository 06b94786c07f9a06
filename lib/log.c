/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

const char *log_ident = "bluegreen";
static enum log_target log_target = LOG_TARGET_STDERR;
static int log_max_level = LOG_INFO;
static int kmsg_fd = -1;

void log_set_target(enum log_target t) {
        log_target = t;
}

void log_set_max_level(int level) {
        log_max_level = level;
}

static void log_parse_env(void) {
        const char *e = getenv("SYSTEMD_LOG_LEVEL");

        if (e && (streq(e, "debug") || streq(e, "7")))
                log_max_level = LOG_DEBUG;
}

void log_setup(const char *ident) {
        log_ident = ident;
        log_parse_env();
}

void log_setup_generator(const char *ident) {
        const char *e = getenv("SYSTEMD_EXEC_PID");

        log_setup(ident);
        /* systemd 252 marks the processes it spawns itself, generators included, with $SYSTEMD_EXEC_PID;
         * $SYSTEMD_SCOPE is the generator-specific marker. Either means nobody reads our stderr. */
        if ((e && atol(e) == (long) getpid()) || getenv("SYSTEMD_SCOPE")) {
                struct stat st;

                kmsg_fd = open("/dev/kmsg", O_WRONLY | O_NOCTTY | O_CLOEXEC);
                if (kmsg_fd >= 0 && fstat(kmsg_fd, &st) >= 0 && S_ISCHR(st.st_mode)) {
                        log_target = LOG_TARGET_KMSG;
                        return;
                }
                if (kmsg_fd >= 0)
                        close(kmsg_fd);
                /* A container has no /dev/kmsg. Its journal's syslog socket is the nearest thing: one
                 * non-blocking datagram per message cannot wait on journald, so it cannot deadlock the
                 * manager that is running us; if journald is not there, the send fails and stderr it is. */
                kmsg_fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
                if (kmsg_fd >= 0) {
                        struct sockaddr_un sa = { .sun_family = AF_UNIX, .sun_path = "/run/systemd/journal/dev-log" };

                        if (connect(kmsg_fd, (struct sockaddr *) &sa, sizeof sa) >= 0) {
                                log_target = LOG_TARGET_SYSLOG;
                                return;
                        }
                        close(kmsg_fd);
                }
                kmsg_fd = -1;
        }
}

/* systemd sets $JOURNAL_STREAM to our stderr's device:inode when stderr goes to the journal; writing
 * there too would log every event twice. */
bool log_stderr_is_journal(void) {
        const char *e = getenv("JOURNAL_STREAM");
        unsigned long dev, ino;
        struct stat st;

        if (!e || sscanf(e, "%lu:%lu", &dev, &ino) != 2 || fstat(STDERR_FILENO, &st) < 0)
                return false;
        return st.st_dev == dev && st.st_ino == ino;
}

int log_internal(int prio, int error, const char *fmt, ...) {
        char buf[2048];
        va_list ap;

        if (prio > log_max_level)
                return error;

        errno = error < 0 ? -error : error;
        va_start(ap, fmt);
        vsnprintf(buf, sizeof buf, fmt, ap);
        va_end(ap);

        if ((log_target == LOG_TARGET_KMSG || log_target == LOG_TARGET_SYSLOG) && kmsg_fd >= 0) {
                char line[2200];
                int n = snprintf(line, sizeof line, "<%d>%s[%ld]: %s\n", LOG_DAEMON | prio, log_ident,
                                 (long) getpid(), buf);

                if (n > 0 && write(kmsg_fd, line, (size_t) n < sizeof line ? (size_t) n : sizeof line - 1) >= 0)
                        return error;
        }
        /* In a service, stderr is the journal: a "<N>" prefix carries the priority, so errors show as
         * errors in journalctl and the identifier is already there. */
        if (log_stderr_is_journal())
                fprintf(stderr, "<%d>%s\n", prio, buf);
        else
                fprintf(stderr, "%s: %s\n", log_ident, buf);
        return error;
}

