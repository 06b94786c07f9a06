/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * bluegreen-trigger: the ExecStart= of APP-deploy-trigger.service, started by its path unit when the
 * trigger file changes. Push deploys without root or sudo: the user who owns the releases directory
 * writes a release name into the trigger file, this deploys it and writes the outcome to
 * TRIGGER.status, which that user can read. See bluegreen-trigger(8).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
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
#include "journal-error.h"
#include "log.h"
#include "macro.h"
#include "release.h"
#include "trigger-name.h"
#include "unit-name.h"

#define TRIGGER_MAX 4096

static void help(void) {
        printf("Usage: bluegreen-trigger\n\n"
               "Reads a release name from $BLUEGREEN_TRIGGER, deploys it with APP-deploy@RELEASE.service\n"
               "and writes the outcome to $BLUEGREEN_TRIGGER.status. The trigger file must be a regular\n"
               "file owned by root or by the owner of $BLUEGREEN_RELEASES, writable by its owner only.\n\n"
               "The directories are opened without following symbolic links: a releases directory or\n"
               "trigger directory with a symbolic link in its path is refused.\n\n"
               "Exit status: 0 deployed, or nothing to do (no file, or an empty one); 2 the file, its\n"
               "directory or the name in it was refused; 3 the deploy failed; 1 internal error.\n");
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

/* The trigger file, opened in its directory, and whose word it is. */
struct trigger {
        int dirfd;
        int fd;
        const char *name;
        struct stat st;
        uid_t releases_uid;
};

static void trigger_done(struct trigger *t) {
        if (t->fd >= 0)
                close(t->fd);
        if (t->dirfd >= 0)
                close(t->dirfd);
}

/* A directory on the way is a symbolic link or not a directory, or one above could be replaced by
 * someone else (releases_open()): a refusal, not an internal error. */
static bool is_refusal(int r) {
        return r == -ELOOP || r == -ENOTDIR || r == -EPERM;
}

/* Steps return -EPERM for a refusal they logged. */
static int exit_status(int r) {
        return r >= 0 ? EXIT_SUCCESS : r == -EPERM ? 2 : EXIT_FAILURE;
}

/* The trigger's directory and the releases directory are opened without following a link in their
 * paths, and everything after goes through those descriptors: whoever can write above releases cannot
 * make us read a trigger, take an owner, or write a status anywhere else. Returns 0 when there is no
 * trigger file (nothing to do), 1 when t is filled. */
static int open_dirs(const struct app_env *e, struct trigger *t) {
        _cleanup_free_ char *dir = NULL;
        _cleanup_close_ int releases_fd = -1;
        struct stat st;
        char reason[1024];
        bool in_releases;

        dir = strndup(e->trigger, (size_t) (strrchr(e->trigger, '/') - e->trigger));
        if (!dir)
                return log_oom();
        t->name = strrchr(e->trigger, '/') + 1;
        in_releases = streq(dir, e->releases);
        t->dirfd = releases_open(*dir ? dir : "/", in_releases ? "releases directory" : "trigger's directory", &st,
                                 reason, sizeof reason);
        if (t->dirfd == -ENOENT)
                return 0;
        if (t->dirfd < 0) {
                log_error("%s", reason);
                return is_refusal(t->dirfd) ? -EPERM : t->dirfd;
        }
        if (!in_releases) {
                releases_fd = releases_open(e->releases, "releases directory", &st, reason, sizeof reason);
                if (releases_fd < 0) {
                        log_error("%s", reason);
                        return releases_fd == -ENOMEM ? -ENOMEM : -EPERM;
                }
        }
        t->releases_uid = st.st_uid;
        return 1;
}

/* The file is in a directory an unprivileged user controls: never follow a link (it could point at
 * /etc/shadow), never block on a FIFO, and trust only a file of root's or of the owner of releases. */
static int open_file(const struct app_env *e, struct trigger *t) {
        t->fd = openat(t->dirfd, t->name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
        if (t->fd < 0 && errno == ENOENT)
                return 0;
        if (t->fd < 0 && errno == ELOOP) {
                log_error("Refusing %s: it is a symbolic link.", e->trigger);
                return -EPERM;
        }
        if (t->fd < 0)
                return log_error_errno(-errno, "Failed to open %s: %m", e->trigger);
        if (fstat(t->fd, &t->st) < 0)
                return log_error_errno(-errno, "Failed to stat %s: %m", e->trigger);
        if (!S_ISREG(t->st.st_mode) || t->st.st_nlink != 1 || (t->st.st_mode & 0022) ||
            (t->st.st_uid != 0 && t->st.st_uid != t->releases_uid)) {
                log_error("Refusing %s: it must be a regular file (not a hard link) owned by root or by the owner of %s "
                          "(UID %u), and writable by its owner only.",
                          e->trigger, e->releases, (unsigned) t->releases_uid);
                return -EPERM;
        }
        return 1;
}

/* Returns 0 when the file names nothing (empty, or blanks), 1 and the name otherwise. */
static int read_name(const struct app_env *e, struct trigger *t, char **ret) {
        char buf[TRIGGER_MAX];
        ssize_t n;
        int r;

        n = read(t->fd, buf, sizeof buf);
        if (n < 0)
                return log_error_errno(-errno, "Failed to read %s: %m", e->trigger);
        r = trigger_name_parse(buf, (size_t) n, ret);
        if (r == -ENOMEM)
                return log_oom();
        if (r < 0) {
                log_error("Refusing the release name in %s: it is not a valid release name.", e->trigger);
                write_status(t->dirfd, e->trigger, t->st.st_uid, t->st.st_gid, "refused: not a valid release name");
                return -EPERM;
        }
        return *ret ? 1 : 0;
}

/* Starts APP-deploy@NAME and waits for it, telling the user in TRIGGER.status. Returns the exit status. */
static int deploy(const struct app_env *e, const struct trigger *t, const char *name, uint64_t since) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_free_ char *res = NULL, *err = NULL;
        char last[512];
        const char *u;
        int r;

        r = bus_connect_manager(&bus);
        if (r < 0)
                return log_error_errno(r, "Failed to connect to systemd: %m"), EXIT_FAILURE;
        u = unit_name(e->app, "-deploy@", name, "service");
        write_status(t->dirfd, e->trigger, t->st.st_uid, t->st.st_gid, "%s deploying: journalctl -u %s", name, u);
        log_info("Deploying %s of %s as asked in %s.", name, e->app, e->trigger);
        r = bus_unit_job(bus, "StartUnit", u, true, UINT64_MAX / 2, &res, &err);
        if (r < 0) {
                journal_last_error(u, since, last, sizeof last);
                write_status(t->dirfd, e->trigger, t->st.st_uid, t->st.st_gid, "%s failed: %s", name, err ?: last);
                log_error("Deploy of %s failed: %s", name, err ?: last);
                return 3;
        }
        write_status(t->dirfd, e->trigger, t->st.st_uid, t->st.st_gid, "%s deployed", name);
        return EXIT_SUCCESS;
}

int main(int argc, char *argv[]) {
        _cleanup_(trigger_done) struct trigger t = { .dirfd = -1, .fd = -1 };
        _cleanup_free_ char *name = NULL;
        const char *bad = NULL;
        struct app_env e;
        struct timespec rt;
        uint64_t since;
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

        r = open_dirs(&e, &t);
        if (r <= 0)
                return exit_status(r);
        r = open_file(&e, &t);
        if (r <= 0)
                return exit_status(r);
        r = read_name(&e, &t, &name);
        if (r <= 0)
                return exit_status(r);
        return deploy(&e, &t, name, since);
}
