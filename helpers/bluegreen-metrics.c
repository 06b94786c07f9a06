/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * bluegreen-metrics EVENT: the ExecStopPost= of the units that deploy, roll back, fail over, watch and
 * retire, and the ExecStartPost= of APP.service (the boot). It counts what the unit's run did in the
 * app's counters (STATE_DIR/metrics) and writes the app's figures for node_exporter's textfile
 * collector, METRICS_DIR/bluegreen-APP.prom. It reports on a unit and must never change its outcome:
 * its own problems are logged and it exits 0. See bluegreen-metrics(8).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <systemd/sd-login.h>
#include <time.h>
#include <unistd.h>

#include "appenv.h"
#include "auto-history.h"
#include "bus.h"
#include "fileio.h"
#include "log.h"
#include "macro.h"
#include "metrics.h"
#include "state.h"
#include "switch.h"

/* How long another bluegreen-metrics of the app may hold the counters before this one gives up: a
 * report is not worth holding up the unit it reports on. */
#define LOCK_WAIT_MS 5000
#define BUS_TIMEOUT_USEC (5 * 1000000ULL)

enum event {
        EVENT_DEPLOY,
        EVENT_ROLLBACK,
        EVENT_RETIRE,
        EVENT_BOOT,
        EVENT_WATCH,
        EVENT_FAILOVER,
        _EVENT_MAX,
};

static const char *const event_names[_EVENT_MAX] = {
        [EVENT_DEPLOY] = "deploy", [EVENT_ROLLBACK] = "rollback", [EVENT_RETIRE] = "retire",
        [EVENT_BOOT] = "boot",     [EVENT_WATCH] = "watch",       [EVENT_FAILOVER] = "failover",
};

static void help(void) {
        printf("Usage: bluegreen-metrics EVENT\n\n"
               "EVENT is deploy, rollback, retire, boot, watch or failover: the unit of the app described\n"
               "by the BLUEGREEN_* environment that ran this (as ExecStopPost=, or ExecStartPost= for\n"
               "boot). Counts what that unit's run did (from $SERVICE_RESULT, the unit's timestamps\n"
               "and the app's history) in STATE_DIR/metrics, then writes the app's figures to\n"
               "$BLUEGREEN_METRICS_DIR/bluegreen-APP.prom for node_exporter's textfile collector.\n"
               "Run by hand (no $SERVICE_RESULT) it counts nothing and only writes the file again.\n\n"
               "Exit status: 0, also when it could not count or write (it logs why: it must not\n"
               "change the outcome of the unit it reports on); 2 bad arguments.\n");
}

/* What systemd says about the run of the unit this reports on. */
struct run {
        char *unit;
        bool ran;            /* $SERVICE_RESULT is set: we run as the unit's ExecStopPost= */
        bool success;        /* $SERVICE_RESULT is "success" */
        uint64_t start_usec; /* the main process's start, CLOCK_REALTIME; 0: unknown */
        uint64_t exit_usec;
        uint64_t duration_usec; /* from the monotonic clock; 0: unknown */
};

static void run_done(struct run *r) {
        free(r->unit);
}

static enum event parse_args(int argc, char *argv[]) {
        if (argc == 2)
                for (enum event e = 0; e < _EVENT_MAX; e++)
                        if (streq(argv[1], event_names[e]))
                                return e;
        return _EVENT_MAX;
}

static uint64_t service_u64(sd_bus *bus, const char *unit, const char *property) {
        uint64_t v = 0;

        if (bus_unit_get_u64(bus, unit, "org.freedesktop.systemd1.Service", property, 't', &v) < 0)
                return 0;
        return v;
}

static void run_read(sd_bus *bus, struct run *r) {
        const char *result = getenv("SERVICE_RESULT");
        uint64_t start_mono, exit_mono;
        int k;

        r->ran = !!result;
        r->success = result && streq(result, "success");
        k = sd_pid_get_unit(0, &r->unit);
        if (k < 0) {
                log_warning_errno(k, "Failed to tell which unit runs this, so its run is not timed, ignoring: %m");
                return;
        }
        if (!bus)
                return;
        r->start_usec = service_u64(bus, r->unit, "ExecMainStartTimestamp");
        r->exit_usec = service_u64(bus, r->unit, "ExecMainExitTimestamp");
        start_mono = service_u64(bus, r->unit, "ExecMainStartTimestampMonotonic");
        exit_mono = service_u64(bus, r->unit, "ExecMainExitTimestampMonotonic");
        if (start_mono > 0 && exit_mono > start_mono)
                r->duration_usec = exit_mono - start_mono;
}

/* A history line's time ("2026-04-15T10:14:02+0200"), in seconds since the epoch; -1 when unreadable. */
static long long history_time(const char *when) {
        struct tm tm = {};
        const char *end = strptime(when, "%Y-%m-%dT%H:%M:%S%z", &tm);

        return end && (!*end || *end == ' ') ? (long long) timegm(&tm) - tm.tm_gmtoff : -1;
}

/* History lines are stamped to the second: one from this run is no older than the second it began in. */
static bool since_run_began(const struct run *r, const char *when) {
        long long t = history_time(when);

        return r->start_usec > 0 && t >= (long long) (r->start_usec / 1000000);
}

/* The auto-rollback or failover this run recorded, if any: 1 and its result, 0 when it recorded none. */
static int auto_rollback_of_run(const struct app_env *e, const struct run *r, const char *event,
                                enum metrics_result *ret) {
        struct auto_event a;
        int k;

        k = auto_history_last(e->state_dir, &a);
        if (k <= 0)
                return k;
        if (!streq(a.event, event) || !since_run_began(r, a.when))
                return 0;
        /* No "rollback" line after it: the transaction failed, or died and is settled later. */
        *ret = streq(a.outcome, "rollback") ? METRICS_SUCCESS : METRICS_FAILURE;
        return 1;
}

/* Whether this run of APP-retire@COLOR stopped its color: it wrote "retire RELEASE COLOR". */
static bool retired_by_run(const struct app_env *e, const struct run *r) {
        const char *color = r->unit ? strchr(r->unit, '@') : NULL;
        char **lines = NULL;
        int n = 0;
        bool found = false;

        if (!color || state_history_tail(e->state_dir, 20, &lines, &n) < 0)
                return false;
        color++;
        for (int i = n - 1; i >= 0 && !found; i--) {
                char when[32], event[16], c[16];

                found = lines[i] && sscanf(lines[i], "%31s %15s %*s %15s", when, event, c) == 3 &&
                        streq(event, "retire") && strncmp(color, c, strlen(c)) == 0 && color[strlen(c)] == '.' &&
                        since_run_began(r, when);
        }
        for (int i = 0; i < n; i++)
                free(lines[i]);
        free(lines);
        return found;
}

/* Adds what the run did to the counters; false when it did nothing they count. */
static bool count_run(enum event ev, const struct app_env *e, const struct run *r, struct metrics_counters *c) {
        enum metrics_result res = r->success ? METRICS_SUCCESS : METRICS_FAILURE;
        int k;

        if (!r->ran)
                return false;
        switch (ev) {
        case EVENT_DEPLOY:
                c->deploys[res]++;
                if (r->duration_usec > 0)
                        c->deploy_last_duration_usec = r->duration_usec;
                if (res == METRICS_SUCCESS) {
                        struct timespec now;

                        clock_gettime(CLOCK_REALTIME, &now);
                        c->deploy_last_success_usec =
                                r->exit_usec ?: (uint64_t) now.tv_sec * 1000000 + (uint64_t) now.tv_nsec / 1000;
                }
                return true;
        case EVENT_ROLLBACK:
                c->rollbacks[METRICS_ROLLBACK_MANUAL][res]++;
                return true;
        case EVENT_WATCH:
        case EVENT_FAILOVER:
                k = auto_rollback_of_run(e, r, ev == EVENT_WATCH ? "auto-rollback" : "failover", &res);
                if (k < 0)
                        log_warning_errno(k, "Failed to read %s/history, so the rollback is not counted, ignoring: %m",
                                          e->state_dir);
                /* A failover that found nothing to fail over to recorded nothing, but failed. */
                if (k == 0 && ev == EVENT_FAILOVER && !r->success)
                        k = 1;
                if (k <= 0)
                        return false;
                c->rollbacks[ev == EVENT_WATCH ? METRICS_ROLLBACK_AUTO : METRICS_ROLLBACK_FAILOVER][res]++;
                return true;
        case EVENT_RETIRE:
                if (!r->success || !retired_by_run(e, r))
                        return false;
                c->retirements++;
                return true;
        default:
                return false;
        }
}

/* The counters are read, changed and written by one bluegreen-metrics of the app at a time. Not the
 * app's own lock: a deploy holds that while it stops a watch, whose ExecStopPost= is this. */
static int lock_counters(const char *state_dir) {
        _cleanup_free_ char *p = NULL;
        _cleanup_close_ int fd = -1;
        int r;

        r = mkdir_p(state_dir, 0755);
        if (r < 0)
                return r;
        if (asprintf(&p, "%s/metrics.lock", state_dir) < 0)
                return -ENOMEM;
        fd = open(p, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
        if (fd < 0)
                return negative_errno();
        for (int waited = 0; flock(fd, LOCK_EX | LOCK_NB) < 0; waited += 20) {
                if (errno != EWOULDBLOCK)
                        return negative_errno();
                if (waited >= LOCK_WAIT_MS)
                        return -ETIMEDOUT;
                usleep(20 * 1000);
        }
        return TAKE_FD(fd);
}

static int update_counters(enum event ev, const struct app_env *e, const struct run *r, struct metrics_counters *c) {
        int k;

        k = metrics_counters_load(e->state_dir, c);
        if (k < 0)
                return log_warning_errno(k, "Failed to read the counters in %s/metrics (fix or remove it), so no "
                                            "metrics are written, ignoring: %m", e->state_dir);
        if (!count_run(ev, e, r, c))
                return 0;
        k = metrics_counters_save(e->state_dir, c);
        if (k < 0)
                return log_warning_errno(k, "Failed to write %s/metrics, so this %s is not counted and no metrics "
                                            "are written, ignoring: %m", e->state_dir, event_names[ev]);
        return 0;
}

/* The live color, the pins and whether the route leads to the live color, as they are now. */
static int write_prom(const struct app_env *e, const struct metrics_counters *c) {
        _cleanup_free_ char *text = NULL;
        struct app_state s;
        struct metrics_gauges g = { .live = _COLOR_INVALID, .route_ok = -1 };
        enum color routed;
        bool pending;
        int k;

        k = state_load(e->state_dir, &s);
        if (k < 0)
                return log_warning_errno(k, "Failed to read the state in %s, so no metrics are written, ignoring: %m",
                                         e->state_dir);
        g.live = s.active;
        g.release[COLOR_BLUE] = s.release[COLOR_BLUE];
        g.release[COLOR_GREEN] = s.release[COLOR_GREEN];
        /* No bus: whether nginx loaded the include says nothing about what it names. */
        if (s.active != _COLOR_INVALID && route_get(NULL, e, &routed, &pending) >= 0)
                /* A maintenance include leads to no color on purpose (bluegreenctl maintenance). */
                g.route_ok = routed == s.active || state_maintenance_get(e->state_dir, NULL) > 0;
        k = metrics_format(e->app, c, &g, &text);
        if (k >= 0)
                k = metrics_write(e->metrics_dir, e->app, text);
        state_done(&s);
        if (k < 0)
                return log_warning_errno(k, "Failed to write %s/bluegreen-%s.prom, ignoring: %m", e->metrics_dir, e->app);
        return 0;
}

int main(int argc, char *argv[]) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_(run_done) struct run run = {};
        _cleanup_close_ int lock_fd = -1;
        struct metrics_counters counters;
        struct app_env e;
        const char *bad = NULL;
        enum event ev;
        int r;

        log_setup("bluegreen-metrics");
        if (argc == 2 && (streq(argv[1], "--help") || streq(argv[1], "-h"))) {
                help();
                return EXIT_SUCCESS;
        }
        ev = parse_args(argc, argv);
        if (ev == _EVENT_MAX) {
                log_error("Expected one argument, the event: deploy, rollback, retire, boot, watch or failover (see --help).");
                return 2;
        }
        if (app_env_from_environ(&e, &bad) < 0) {
                log_warning("$%s is missing or malformed, so no metrics are written, ignoring.", bad ?: "?");
                return EXIT_SUCCESS;
        }
        if (isempty(e.metrics_dir))
                return app_env_done(&e), EXIT_SUCCESS;

        r = bus_connect_manager(&bus);
        if (r < 0)
                log_warning_errno(r, "Failed to connect to systemd, so the %s is not timed, ignoring: %m", event_names[ev]);
        else
                (void) sd_bus_set_method_call_timeout(bus, BUS_TIMEOUT_USEC);
        run_read(bus, &run);

        lock_fd = lock_counters(e.state_dir);
        if (lock_fd < 0)
                log_warning_errno(lock_fd, "Failed to lock %s/metrics.lock, so no metrics are written, ignoring: %m",
                                  e.state_dir);
        else if (update_counters(ev, &e, &run, &counters) >= 0)
                (void) write_prom(&e, &counters);
        app_env_done(&e);
        return EXIT_SUCCESS;
}
