/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * bluegreen-trigger: the ExecStart= of APP-deploy-trigger.service, started by its path unit when the
 * trigger file changes. Push deploys without root or sudo: the user who owns the releases directory
 * writes a release name into the trigger file, this deploys it and writes the outcome to
 * TRIGGER.status, which that user can read. See bluegreen-trigger(8).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "appenv.h"
#include "bus.h"
#include "decl.h"
#include "fileio.h"
#include "flow.h"
#include "log.h"
#include "macro.h"

#define TRIGGER_MAX 4096

static void help(void) {
        printf("Usage: bluegreen-trigger\n\n"
               "Reads a release name from $BLUEGREEN_TRIGGER, deploys it with APP-deploy@RELEASE.service\n"
               "and writes the outcome to $BLUEGREEN_TRIGGER.status. The trigger file must be a regular\n"
               "file owned by root or by the owner of $BLUEGREEN_RELEASES, writable by its owner only.\n\n"
               "Exit status: 0 deployed, or nothing to do (no file, or an empty one); 2 the file or the\n"
               "name in it was refused; 3 the deploy failed; 1 internal error.\n");
}

/* The outcome, for the user who asked: atomically replaced and owned by them. Written as root into a
 * directory that user controls, so a fresh file is renamed over the name (never opened through it). */
static void write_status(int dirfd, const char *trigger, uid_t uid, gid_t gid, const char *fmt, ...) _printf_(5, 6);
static void write_status(int dirfd, const char *trigger, uid_t uid, gid_t gid, const char *fmt, ...) {
        _cleanup_free_ char *path = NULL, *line = NULL, *text = NULL;
        char when[64];
        struct tm tm;
        time_t t = time(NULL);
        va_list ap;
        int r;

        va_start(ap, fmt);
        r = vasprintf(&line, fmt, ap);
        va_end(ap);
        if (r < 0 || asprintf(&path, "%s.status", strrchr(trigger, '/') + 1) < 0)
                return;
        strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%S%z", localtime_r(&t, &tm));
        if (asprintf(&text, "%s %s\n", when, line) < 0)
                return;
        /* Into the directory the trigger was read from, by its descriptor: renaming the directory
         * meanwhile cannot send root's write anywhere else. */
        r = write_file_atomic_at_owned(dirfd, path, text, strlen(text), 0644, uid, gid);
        if (r < 0)
                log_warning_errno(r, "Failed to write %s.status: %m", trigger);
}

int main(int argc, char *argv[]) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_free_ char *res = NULL, *err = NULL;
        _cleanup_close_ int fd = -1, dirfd = -1;
        _cleanup_free_ char *dir = NULL;
        struct app_env e;
        struct stat st, rel;
        const char *bad = NULL, *u;
        char buf[TRIGGER_MAX + 1], last[512];
        struct timespec rt;
        uint64_t since;
        ssize_t n;
        int r;

        log_setup("bluegreen-trigger");
        if (argc == 2 && (streq(argv[1], "--help") || streq(argv[1], "-h"))) {
                help();
                return EXIT_SUCCESS;
        }
        if (app_env_from_environ(&e, &bad) < 0) {
                log_error("$%s is missing or malformed: run this as APP-deploy-trigger.service.", bad ?: "?");
                return 2;
        }
        clock_gettime(CLOCK_REALTIME, &rt);
        since = (uint64_t) rt.tv_sec * 1000000 + (uint64_t) rt.tv_nsec / 1000;

        /* The file is in a directory an unprivileged user controls: never follow a link (it could point
         * at /etc/shadow), never block on a FIFO, and trust only its owner. */
        dir = strndup(e.trigger, (size_t) (strrchr(e.trigger, '/') - e.trigger));
        if (!dir)
                return log_oom(), EXIT_FAILURE;
        dirfd = open(*dir ? dir : "/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dirfd < 0) {
                if (errno == ENOENT)
                        return EXIT_SUCCESS;
                return log_error_errno(-errno, "Failed to open %s: %m", dir), EXIT_FAILURE;
        }
        fd = openat(dirfd, strrchr(e.trigger, '/') + 1, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
        if (fd < 0) {
                if (errno == ENOENT)
                        return EXIT_SUCCESS;
                if (errno == ELOOP) {
                        log_error("Refusing %s: it is a symbolic link.", e.trigger);
                        return 2;
                }
                return log_error_errno(-errno, "Failed to open %s: %m", e.trigger), EXIT_FAILURE;
        }
        if (fstat(fd, &st) < 0)
                return log_error_errno(-errno, "Failed to stat %s: %m", e.trigger), EXIT_FAILURE;
        if (stat(e.releases, &rel) < 0)
                return log_error_errno(-errno, "Releases directory %s: %m", e.releases), 2;
        if (!S_ISREG(st.st_mode) || st.st_nlink != 1 || (st.st_mode & 0022) ||
            (st.st_uid != 0 && st.st_uid != rel.st_uid)) {
                log_error("Refusing %s: it must be a regular file (not a hard link) owned by root or by the owner of %s "
                          "(UID %u), and writable by its owner only.",
                          e.trigger, e.releases, (unsigned) rel.st_uid);
                return 2;
        }
        n = read(fd, buf, TRIGGER_MAX);
        if (n < 0)
                return log_error_errno(-errno, "Failed to read %s: %m", e.trigger), EXIT_FAILURE;
        buf[n] = 0;
        buf[strcspn(buf, "\r\n")] = 0;
        {
                char *p = buf, *end;

                while (*p == ' ' || *p == '\t')
                        p++;
                end = p + strlen(p);
                while (end > p && (end[-1] == ' ' || end[-1] == '\t'))
                        *--end = 0;
                memmove(buf, p, strlen(p) + 1);
        }
        if (!*buf)
                return EXIT_SUCCESS;
        if (!release_name_is_valid(buf)) {
                log_error("Refusing the release name in %s: it is not a valid release name.", e.trigger);
                write_status(dirfd, e.trigger, st.st_uid, st.st_gid, "refused: not a valid release name");
                return 2;
        }

        r = bus_connect_manager(&bus);
        if (r < 0)
                return log_error_errno(r, "Failed to connect to systemd: %m"), EXIT_FAILURE;
        u = unit_name(e.app, "-deploy@", buf, "service");
        write_status(dirfd, e.trigger, st.st_uid, st.st_gid, "%s deploying: journalctl -u %s", buf, u);
        log_info("Deploying %s of %s as asked in %s.", buf, e.app, e.trigger);
        r = bus_unit_job(bus, "StartUnit", u, true, UINT64_MAX / 2, &res, &err);
        if (r < 0) {
                journal_last_error(u, since, last, sizeof last);
                write_status(dirfd, e.trigger, st.st_uid, st.st_gid, "%s failed: %s", buf, err ?: last);
                log_error("Deploy of %s failed: %s", buf, err ?: last);
                return 3;
        }
        write_status(dirfd, e.trigger, st.st_uid, st.st_gid, "%s deployed", buf);
        return EXIT_SUCCESS;
}
