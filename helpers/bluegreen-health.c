/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * bluegreen-health: the health gate, run as ExecStartPost= of a color. The color unit only becomes
 * active, and a deploy only goes on, once the app has answered its health check the declared number of
 * times in a row. It probes fast at first (a ready app is seen within milliseconds) and backs off to
 * the declared interval; it gives up at once when the app's main process has died. See
 * bluegreen-health(8).
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "appenv.h"
#include "http.h"
#include "log.h"
#include "macro.h"
#include "release.h"

#define EXIT_UNHEALTHY 1
#define EXIT_DIED 2
#define EXIT_USAGE 64
#define EXIT_INTERNAL 70

#define FIRST_DELAY_MS 5
/* While an app starts, its first answer should be seen within ~10 ms; only an app that takes long to
 * come up is probed less often, backing off to the declared interval. */
#define FAST_DELAY_MS 10
#define FAST_PHASE_MS 5000

struct probe_result {
        char reason[512];
};

static void help(void) {
        printf("Usage: bluegreen-health [--once]\n\n"
               "Waits until the app of a bluegreen color unit is healthy. Its parameters come from the\n"
               "environment that the generated unit gives it: SOCKET (the color's unix socket, in\n"
               "socket mode) or PORT and BLUEGREEN_BIND, and BLUEGREEN_HEALTH_* (see bluegreen.conf(5));\n"
               "MAINPID, when set, is watched.\n"
               "An HTTP probe sends BLUEGREEN_HEALTH_HOST, when set, as its Host header, and\n"
               "BLUEGREEN_HEALTH_HEADER_0 ... (BLUEGREEN_HEALTH_HEADER_COUNT of them) as further lines.\n\n"
               "  --once      probe once and report, without waiting\n"
               "  -h, --help  show this help\n\n"
               "A health command runs through /bin/sh in the color's pinned release (and its\n"
               "workdir), with $BLUEGREEN_RELEASE set, as the app's own commands do.\n\n"
               "Exit status: 0 healthy; 1 not healthy by the deadline (or, with --once, now);\n"
               "2 the app's main process exited; 64 bad usage or environment; 70 internal error.\n");
}

static long env_long(const char *name, long def, long min, long max) {
        const char *v = getenv(name);
        char *end;
        long l;

        if (isempty(v))
                return def;
        errno = 0;
        l = strtol(v, &end, 10);
        if (errno != 0 || *end || l < min || l > max) {
                log_error("$%s=\"%s\" is not a number from %ld to %ld.", name, v, min, max);
                exit(EXIT_USAGE);
        }
        return l;
}

static long long now_ms(void) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (long long) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(long long ms) {
        struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000 };

        while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
                ;
}

static bool probe_command(const char *command, long timeout_ms, struct probe_result *res) {
        long long end = now_ms() + timeout_ms;
        int status;
        pid_t pid;

        pid = fork();
        if (pid < 0) {
                snprintf(res->reason, sizeof res->reason, "fork: %s", strerror(errno));
                return false;
        }
        if (pid == 0) {
                /* A group of its own, so a timeout kills whatever the command started too. */
                (void) setpgid(0, 0);
                execl("/bin/sh", "sh", "-c", command, (char *) NULL);
                _exit(127);
        }
        for (;;) {
                pid_t w = waitpid(pid, &status, WNOHANG);

                if (w == pid)
                        break;
                if (w < 0 && errno != EINTR) {
                        snprintf(res->reason, sizeof res->reason, "waitpid: %s", strerror(errno));
                        return false;
                }
                if (now_ms() >= end) {
                        (void) kill(-pid, SIGKILL);
                        (void) kill(pid, SIGKILL);
                        (void) waitpid(pid, &status, 0);
                        snprintf(res->reason, sizeof res->reason, "\"%s\" took longer than %ld ms", command, timeout_ms);
                        return false;
                }
                sleep_ms(2);
        }
        if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
                return true;
        if (WIFEXITED(status))
                snprintf(res->reason, sizeof res->reason, "\"%s\" exited with status %d", command, WEXITSTATUS(status));
        else
                snprintf(res->reason, sizeof res->reason, "\"%s\" was killed by signal %d", command, WTERMSIG(status));
        return false;
}

/* The HTTP probe, sending the declared Host and header lines. Exits on a bad environment, as env_long()
 * does, and when the probe cannot be set up. */
static struct http_probe *http_probe_from_environ(const char *socket_path, const char *bind, int port,
                                                  long timeout_ms) {
        _cleanup_free_ char *host = NULL;
        struct http_probe *p = NULL;
        const char *bad = NULL;
        char **headers = NULL;
        size_t n = 0;
        int r;

        r = probe_headers_from_environ("BLUEGREEN_HEALTH", &host, &headers, &n, &bad);
        if (r >= 0)
                r = isempty(socket_path) ? http_probe_new(bind, port, timeout_ms, &p)
                                         : http_probe_new_unix(socket_path, timeout_ms, &p);
        if (r >= 0)
                r = http_probe_set_headers(p, host, headers, n);
        for (size_t i = 0; i < n; i++)
                free(headers[i]);
        free(headers);
        if (r < 0 && p)
                http_probe_free(p);
        if (r == -EINVAL && bad) {
                log_error("$%s is not set, or not a number in its range or one line of text.", bad);
                exit(EXIT_USAGE);
        }
        if (r < 0) {
                log_error("Failed to set up the HTTP probe.");
                exit(EXIT_INTERNAL);
        }
        return p;
}

/* The app's main process is our sibling under systemd, so it cannot be waited for; /proc tells
 * whether it still exists. A zombie counts as dead. */
static bool main_process_alive(pid_t pid) {
        char path[64], buf[512];
        _cleanup_fclose_ FILE *f = NULL;
        char *p;

        snprintf(path, sizeof path, "/proc/%d/stat", (int) pid);
        f = fopen(path, "re");
        if (!f)
                return kill(pid, 0) == 0 || errno == EPERM;
        if (!fgets(buf, sizeof buf, f))
                return true;
        p = strrchr(buf, ')');
        return !(p && p[1] == ' ' && (p[2] == 'Z' || p[2] == 'X'));
}

int main(int argc, char *argv[]) {
        static const struct option options[] = {
                { "once", no_argument, NULL, 'o' },
                { "help", no_argument, NULL, 'h' },
                {},
        };
        const char *path, *command, *contains, *bind, *color, *socket_path;
        long port, expect, timeout_ms, interval_ms, successes, deadline_s;
        _cleanup_(http_probe_freep) struct http_probe *http = NULL;
        struct probe_result res = { "no probe finished" };
        long long start, deadline, delay = FIRST_DELAY_MS, first_ok = -1, first_ok_usec = 0;
        bool once = false;
        pid_t mainpid;
        int c, good = 0, probes = 0;

        log_setup("bluegreen-health");
        while ((c = getopt_long(argc, argv, "h", options, NULL)) >= 0)
                switch (c) {
                case 'o':
                        once = true;
                        break;
                case 'h':
                        help();
                        return EXIT_SUCCESS;
                default:
                        return EXIT_USAGE;
                }

        /* A color listens on its socket (socket mode) or on its port, never both. */
        socket_path = getenv("SOCKET") ?: "";
        port = isempty(socket_path) ? env_long("PORT", 0, 1, 65535) : 0;
        if (!isempty(socket_path) && socket_path[0] != '/') {
                log_error("$SOCKET=\"%s\" is not an absolute file name.", socket_path);
                return EXIT_USAGE;
        }
        if (isempty(socket_path) && port == 0) {
                log_error("Neither $SOCKET nor $PORT is set: run this from a bluegreen color unit.");
                return EXIT_USAGE;
        }
        path = getenv("BLUEGREEN_HEALTH_PATH") ?: "";
        command = getenv("BLUEGREEN_HEALTH_COMMAND") ?: "";
        contains = getenv("BLUEGREEN_HEALTH_BODY_CONTAINS") ?: "";
        bind = getenv("BLUEGREEN_BIND") ?: "127.0.0.1";
        color = getenv("BLUEGREEN_COLOR") ?: "?";
        expect = env_long("BLUEGREEN_HEALTH_EXPECT_STATUS", 200, 100, 599);
        timeout_ms = env_long("BLUEGREEN_HEALTH_TIMEOUT_MS", 500, 1, 600000);
        interval_ms = env_long("BLUEGREEN_HEALTH_INTERVAL_MS", 100, 1, 600000);
        successes = env_long("BLUEGREEN_HEALTH_SUCCESSES", 2, 1, 1000);
        deadline_s = env_long("BLUEGREEN_HEALTH_DEADLINE_S", 60, 1, 86400);
        mainpid = (pid_t) env_long("MAINPID", 0, 0, 1 << 30);
        if (isempty(path) && isempty(command)) {
                log_error("Neither $BLUEGREEN_HEALTH_PATH nor $BLUEGREEN_HEALTH_COMMAND is set.");
                return EXIT_USAGE;
        }

        if (once)
                successes = 1;
        if (isempty(command))
                http = http_probe_from_environ(socket_path, bind, (int) port, timeout_ms);
        if (!isempty(command) && getenv("BLUEGREEN_STATE_DIR") && getenv("BLUEGREEN_RELEASES")) {
                _cleanup_(release_done) struct release rel = RELEASE_NULL;
                char reason[1024];
                int r = release_find(getenv("BLUEGREEN_RELEASES"), NULL, getenv("BLUEGREEN_STATE_DIR"), color, &rel,
                                     reason, sizeof reason);

                if (r < 0) {
                        log_error("Failed to find the %s color's release: %s", color, reason);
                        return EXIT_USAGE;
                }
                r = release_enter(&rel, getenv("BLUEGREEN_WORKDIR"));
                if (r < 0) {
                        log_error_errno(r, "Failed to enter the %s color's release: %m", color);
                        return EXIT_USAGE;
                }
        }

        start = now_ms();
        deadline = start + deadline_s * 1000;

        for (;;) {
                bool ok;

                if (mainpid > 0 && !main_process_alive(mainpid)) {
                        log_error("The %s color's main process (PID %d) exited before it was healthy; last probe: %s",
                                  color, (int) mainpid, res.reason);
                        c = EXIT_DIED;
                        break;
                }

                probes++;
                ok = http ? http_probe_check(http, path, expect, contains, res.reason, sizeof res.reason)
                         : probe_command(command, timeout_ms, &res);
                if (ok && first_ok < 0) {
                        struct timespec ts;

                        first_ok = now_ms() - start;
                        clock_gettime(CLOCK_MONOTONIC, &ts);
                        first_ok_usec = (long long) ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
                }
                if (ok && ++good >= successes) {
                        /* The first answer tells how long the app took; the rest is the gate's own margin. */
                        /* The sandbox hides the main process's /proc entry from us (a user namespace of its
                         * own), so the app's start-up is left to whoever compares this field with the
                         * unit's ExecMainStartTimestampMonotonic. */
                        log_event_fields(LOG_INFO, "BLUEGREEN_FIRST_ANSWER_MONOTONIC_USEC", first_ok_usec,
                                         "The %s color is healthy after %lld ms (first answer after %lld ms, %d probes).",
                                         color, now_ms() - start, first_ok, probes);
                        c = EXIT_SUCCESS;
                        break;
                }
                if (!ok)
                        good = 0;
                if (once || now_ms() >= deadline) {
                        log_error("The %s color is not healthy after %lld ms (%d probes): %s", color, now_ms() - start,
                                  probes, res.reason);
                        c = EXIT_UNHEALTHY;
                        break;
                }

                /* Successes in a row are spaced by the interval, so two of them mean something;
                 * failures are retried fast at first, as an app usually comes up within a second. */
                sleep_ms(ok ? interval_ms : delay);
                if (!ok) {
                        long long cap = now_ms() - start < FAST_PHASE_MS && FAST_DELAY_MS < interval_ms ? FAST_DELAY_MS
                                                                                                    : interval_ms;
                        delay = delay * 2 < cap ? delay * 2 : cap;
                }
        }

        return c;
}
