/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * bluegreen-watch RELEASE: the ExecStart= of APP-watch@RELEASE.service, which bluegreen-deploy starts
 * right after it switched traffic to RELEASE. For watch.duration_s it probes the live color's health
 * every watch.interval_ms, as the health gate does, and follows the color's unit over sd-bus: a crash,
 * an exit or a restart is bad at once, watch.failures failed probes in a row are bad. A release that
 * goes bad inside the window is rolled back on its own: this process becomes bluegreen-rollback --auto
 * (execv), so that the automatic rollback is the same crash-safe transaction as a manual one, and runs
 * as this unit's main process, visible in systemctl. See bluegreen-watch(8).
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-bus.h>
#include <systemd/sd-id128.h>
#include <unistd.h>

#include "appenv.h"
#include "bus.h"
#include "interrupt.h"
#include "log.h"
#include "macro.h"
#include "probe.h"
#include "state.h"
#include "timeline.h"
#include "unit-name.h"

#define DEST "org.freedesktop.systemd1"
#define UNIT_IFACE "org.freedesktop.systemd1.Unit"
#define SERVICE_IFACE "org.freedesktop.systemd1.Service"

static void help(void) {
        printf("Usage: bluegreen-watch RELEASE\n\n"
               "Watches RELEASE, the live release of the app described by the BLUEGREEN_* environment,\n"
               "for $BLUEGREEN_WATCH_DURATION_S seconds, as APP-watch@RELEASE.service does (the deploy\n"
               "starts it after its switch): a health probe every $BLUEGREEN_WATCH_INTERVAL_MS ms, and\n"
               "the live color's unit. $BLUEGREEN_WATCH_FAILURES failed probes in a row, or a crash, an\n"
               "exit or a restart of the unit, roll the app back on their own: this program then runs\n"
               "bluegreen-rollback --auto in its place.\n\n"
               "Exit status: 0 the window ended and the release stayed good, the release is no longer\n"
               "live (a deploy or rollback took over), or the watch was stopped; 1 internal error\n"
               "(systemd unreachable, state unreadable); 2 bad argument or environment. After an\n"
               "automatic rollback, that of bluegreen-rollback(8).\n");
}

/* What systemd says of the watched color's unit: any change of it is the release going bad. */
struct unit_life {
        char *active_state, *sub_state;
        uint32_t n_restarts, main_pid;
        int32_t exec_code, exec_status; /* of the main process that ended, as in waitid(2) */
        sd_id128_t invocation;
};

struct watch {
        struct app_env env;
        const char *release;
        enum color color, prev;
        char *prev_release;
        sd_bus *bus;
        const char *unit;
        char *unit_path;
        struct unit_life base;
        bool unit_changed; /* a PropertiesChanged of the unit came in */
        long long start_ms, end_ms;
        unsigned probes, failed, in_row, max_in_row;
        char reason[1024];
};

enum verdict {
        VERDICT_GOOD,
        VERDICT_BAD,
        VERDICT_NOT_LIVE,
        VERDICT_STOPPED,
        VERDICT_APP_STOPPING, /* APP.service is stopped or restarted, and the colors with it */
};

static void unit_life_done(struct unit_life *l) {
        free(l->active_state);
        free(l->sub_state);
        *l = (struct unit_life) {};
}

static int unit_life_read(sd_bus *bus, const char *path, struct unit_life *ret) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        struct unit_life l = {};
        const void *id;
        size_t n;
        int r;

        r = sd_bus_get_property_string(bus, DEST, path, UNIT_IFACE, "ActiveState", NULL, &l.active_state);
        if (r >= 0)
                r = sd_bus_get_property_string(bus, DEST, path, UNIT_IFACE, "SubState", NULL, &l.sub_state);
        if (r >= 0)
                r = sd_bus_get_property_trivial(bus, DEST, path, SERVICE_IFACE, "NRestarts", NULL, 'u', &l.n_restarts);
        if (r >= 0)
                r = sd_bus_get_property_trivial(bus, DEST, path, SERVICE_IFACE, "MainPID", NULL, 'u', &l.main_pid);
        if (r >= 0)
                r = sd_bus_get_property_trivial(bus, DEST, path, SERVICE_IFACE, "ExecMainCode", NULL, 'i',
                                                &l.exec_code);
        if (r >= 0)
                r = sd_bus_get_property_trivial(bus, DEST, path, SERVICE_IFACE, "ExecMainStatus", NULL, 'i',
                                                &l.exec_status);
        if (r >= 0)
                r = sd_bus_get_property(bus, DEST, path, UNIT_IFACE, "InvocationID", NULL, &reply, "ay");
        if (r >= 0)
                r = sd_bus_message_read_array(reply, 'y', &id, &n);
        if (r >= 0 && n == sizeof l.invocation)
                memcpy(&l.invocation, id, n);
        if (r < 0) {
                unit_life_done(&l);
                return r;
        }
        *ret = l;
        return 0;
}

/* ", its main process was killed by SIGKILL": how the main process ended, when it did. */
static void describe_exit(const struct unit_life *l, char *buf, size_t size) {
        *buf = 0;
        if (l->exec_code == CLD_EXITED)
                snprintf(buf, size, ", its main process exited with status %d", l->exec_status);
        else if (l->exec_code == CLD_KILLED || l->exec_code == CLD_DUMPED)
                snprintf(buf, size, ", its main process was killed by SIG%s",
                         sigabbrev_np(l->exec_status) ?: "?");
}

/* A unit event is bad at once: not active any more, restarted (a new invocation, or systemd's restart
 * counter moved), or another main process. */
static bool unit_went_bad(struct watch *w, const struct unit_life *now) {
        char how[128];

        describe_exit(now, how, sizeof how);
        if (!streq(now->active_state, "active"))
                snprintf(w->reason, sizeof w->reason, "%s is %s (%s)%s", w->unit, now->active_state, now->sub_state,
                         how);
        else if (!sd_id128_equal(now->invocation, w->base.invocation) || now->n_restarts != w->base.n_restarts)
                snprintf(w->reason, sizeof w->reason, "%s was restarted (%u restarts by systemd since the switch)%s",
                         w->unit, now->n_restarts - w->base.n_restarts, how);
        else if (now->main_pid != w->base.main_pid)
                snprintf(w->reason, sizeof w->reason, "the main process of %s changed (PID %u, now %u)", w->unit,
                         w->base.main_pid, now->main_pid);
        else
                return false;
        return true;
}

static int on_unit_changed(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        struct watch *w = userdata;

        w->unit_changed = true;
        return 0;
}

/* Which color runs RELEASE as the live one; 0 when it is not live (any more). */
static int find_live(struct watch *w) {
        _cleanup_(state_done) struct app_state s = {};
        int r;

        r = state_load(w->env.state_dir, &s);
        if (r < 0)
                return r;
        if (s.active == _COLOR_INVALID || !s.release[s.active] || !streq(s.release[s.active], w->release))
                return 0;
        w->color = s.active;
        w->prev = color_other(s.active);
        free(w->prev_release);
        w->prev_release = s.release[w->prev] ? strdup(s.release[w->prev]) : NULL;
        return 1;
}

/* Follows the color's unit: its properties now, and a wake-up whenever systemd says they changed. */
static int follow_unit(struct watch *w) {
        int r;

        w->unit = unit_name(w->env.app, "@", color_to_string(w->color), "service");
        r = sd_bus_path_encode("/org/freedesktop/systemd1/unit", w->unit, &w->unit_path);
        if (r < 0)
                return r;
        r = sd_bus_match_signal(w->bus, NULL, DEST, w->unit_path, "org.freedesktop.DBus.Properties",
                                "PropertiesChanged", on_unit_changed, w);
        if (r < 0)
                return r;
        return unit_life_read(w->bus, w->unit_path, &w->base);
}

/* Until deadline_ms, a unit change or a stop, whichever comes first. */
static int wait_until(struct watch *w, long long deadline_ms) {
        for (;;) {
                long long left;
                int r;

                r = sd_bus_process(w->bus, NULL);
                if (r < 0)
                        return r;
                if (r > 0)
                        continue;
                left = deadline_ms - now_ms();
                if (w->unit_changed || interrupted() || left <= 0)
                        return 0;
                r = sd_bus_wait(w->bus, (uint64_t) left * 1000);
                if (r < 0 && r != -EINTR)
                        return r;
        }
}

/* An admin's systemctl stop or restart of APP.service takes the colors with it (PartOf=): that is no
 * release going bad, and rolling back would start a color the admin is stopping. Told by APP.service
 * itself: not active, or a job other than a reload on it (systemctl reload APP.service restarts no
 * color). */
static bool app_unit_busy(struct watch *w) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_free_ char *path = NULL, *state = NULL, *type = NULL;
        const char *job_path;
        uint32_t job;

        if (sd_bus_path_encode("/org/freedesktop/systemd1/unit", unit_name(w->env.app, "", NULL, "service"), &path) <
                    0 ||
            sd_bus_get_property_string(w->bus, DEST, path, UNIT_IFACE, "ActiveState", NULL, &state) < 0)
                return false;
        if (!streq(state, "active") && !streq(state, "reloading"))
                return true;
        if (sd_bus_get_property(w->bus, DEST, path, UNIT_IFACE, "Job", NULL, &reply, "(uo)") < 0 ||
            sd_bus_message_read(reply, "(uo)", &job, &job_path) < 0 || job == 0)
                return false;
        return sd_bus_get_property_string(w->bus, DEST, job_path, "org.freedesktop.systemd1.Job", "JobType", NULL,
                                          &type) >= 0 &&
               !streq(type, "reload");
}

static bool check_unit(struct watch *w) {
        struct unit_life now;
        bool bad;

        w->unit_changed = false;
        if (unit_life_read(w->bus, w->unit_path, &now) < 0) {
                /* Not a verdict on the release: systemd did not answer this once. */
                log_warning("Cannot read the state of %s, ignoring.", w->unit);
                return false;
        }
        bad = unit_went_bad(w, &now);
        unit_life_done(&now);
        return bad;
}

static bool probe_went_bad(struct watch *w) {
        char why[900];

        w->probes++;
        if (probe_health_once(&w->env, w->color, why, sizeof why)) {
                w->in_row = 0;
                return false;
        }
        w->failed++;
        w->in_row++;
        if (w->in_row > w->max_in_row)
                w->max_in_row = w->in_row;
        if (w->in_row < (unsigned) w->env.watch_failures) {
                log_info("Health probe %u of %s failed (%u in a row, %d roll back): %s", w->probes, w->release,
                         w->in_row, w->env.watch_failures, why);
                return false;
        }
        snprintf(w->reason, sizeof w->reason, "%u failed health probes in a row, %d ms apart: %s", w->in_row,
                 w->env.watch_interval_ms, why);
        return true;
}

static int watch_window(struct watch *w) {
        long long next_probe = now_ms();
        int r;

        if (unit_went_bad(w, &w->base))
                return app_unit_busy(w) ? VERDICT_APP_STOPPING : VERDICT_BAD;
        for (;;) {
                r = wait_until(w, next_probe < w->end_ms ? next_probe : w->end_ms);
                if (r < 0)
                        return r;
                if (interrupted())
                        return VERDICT_STOPPED;
                if (check_unit(w))
                        return app_unit_busy(w) ? VERDICT_APP_STOPPING : VERDICT_BAD;
                if (now_ms() >= w->end_ms)
                        return VERDICT_GOOD;
                if (now_ms() < next_probe)
                        continue;
                /* Probes keep their pace; a slow one delays the next instead of causing a burst. */
                next_probe += w->env.watch_interval_ms;
                if (next_probe < now_ms())
                        next_probe = now_ms() + w->env.watch_interval_ms;
                r = find_live(w);
                if (r < 0)
                        log_warning_errno(r, "Cannot read the state in %s, ignoring: %m", w->env.state_dir);
                else if (r == 0)
                        return VERDICT_NOT_LIVE;
                if (probe_went_bad(w))
                        return VERDICT_BAD;
        }
}

/* The rollback runs in this process, as this unit: a stop of the unit reaches it, and one that came in
 * just before the exec is delivered to it (kept blocked across execv) rather than lost. */
static int roll_back(struct watch *w) {
        sigset_t set;
        char *argv[] = { (char *) "bluegreen-rollback", (char *) "--auto", (char *) w->release, (char *) "--reason",
                         w->reason, NULL };

        sigemptyset(&set);
        sigaddset(&set, SIGTERM);
        sigaddset(&set, SIGINT);
        (void) sigprocmask(SIG_BLOCK, &set, NULL);
        if (interrupted())
                return VERDICT_STOPPED;
        log_event(LOG_WARNING, MESSAGE_AUTO_ROLLBACK, w->env.app, w->release, color_to_string(w->color),
                  "Release %s of %s went bad %.1f s into its %d s watch: %s. Rolling back to %s on the %s color.",
                  w->release, w->env.app, (now_ms() - w->start_ms) / 1000.0, w->env.watch_duration_s, w->reason,
                  w->prev_release ?: "the release pinned", color_to_string(w->prev));
        fflush(stderr);
        /* sd-bus's socket is close-on-exec: the rollback connects anew. */
        execv(BLUEGREEN_LIBEXECDIR "/bluegreen-rollback", argv);
        return log_error_errno(-errno, "Failed to run %s/bluegreen-rollback, so nothing was rolled back: %m",
                               BLUEGREEN_LIBEXECDIR);
}

static int report(struct watch *w, int verdict) {
        switch (verdict) {
        case VERDICT_GOOD:
                log_event(LOG_INFO, MESSAGE_WATCH_ENDED, w->env.app, w->release, color_to_string(w->color),
                          "Watch of %s ended, release good: %d s, %u health probes, %u failed (at most %u in a row).",
                          w->release, w->env.watch_duration_s, w->probes, w->failed, w->max_in_row);
                return EXIT_SUCCESS;
        case VERDICT_NOT_LIVE:
                log_info("%s is no longer the live release of %s (a deploy or rollback took over): the watch ends.",
                         w->release, w->env.app);
                return EXIT_SUCCESS;
        case VERDICT_STOPPED:
                log_info("Watch of %s stopped with %lld s of its window left.", w->release,
                         (w->end_ms - now_ms()) / 1000);
                return EXIT_SUCCESS;
        case VERDICT_APP_STOPPING:
                log_info("The watch of %s ends, nothing is rolled back: %s, with %s.service, which is being stopped "
                         "or restarted.",
                         w->release, w->reason, w->env.app);
                return EXIT_SUCCESS;
        default:
                return roll_back(w) == VERDICT_STOPPED ? report(w, VERDICT_STOPPED) : EXIT_FAILURE;
        }
}

int main(int argc, char *argv[]) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        struct watch w = { .color = _COLOR_INVALID };
        const char *bad = NULL;
        int r;

        log_setup("bluegreen-watch");
        if (argc == 2 && (streq(argv[1], "--help") || streq(argv[1], "-h"))) {
                help();
                return EXIT_SUCCESS;
        }
        if (argc != 2) {
                log_error("Expected one argument, the release (see --help).");
                return 2;
        }
        w.release = argv[1];
        interrupt_setup();
        w.start_ms = now_ms();
        if (app_env_from_environ(&w.env, &bad) < 0) {
                log_error("$%s is missing or malformed: run this as APP-watch@RELEASE.service.", bad ?: "?");
                return 2;
        }
        w.end_ms = w.start_ms + w.env.watch_duration_s * 1000LL;

        r = find_live(&w);
        if (r < 0)
                return log_error_errno(r, "Failed to read the state in %s: %m", w.env.state_dir), EXIT_FAILURE;
        if (r == 0)
                return report(&w, VERDICT_NOT_LIVE);
        r = bus_connect_manager(&bus);
        if (r < 0)
                return log_error_errno(r, "Failed to connect to systemd: %m"), EXIT_FAILURE;
        w.bus = bus;
        r = follow_unit(&w);
        if (r < 0)
                return log_error_errno(r, "Failed to follow %s: %m", w.unit), EXIT_FAILURE;
        log_info("Watching %s on the %s color of %s for %d s: a health probe every %d ms (%d failed in a row roll "
                 "back to %s), and %s.",
                 w.release, color_to_string(w.color), w.env.app, w.env.watch_duration_s, w.env.watch_interval_ms,
                 w.env.watch_failures, w.prev_release ?: "the previous color", w.unit);

        r = watch_window(&w);
        if (r < 0)
                return log_error_errno(r, "Watch of %s failed: %m", w.release), EXIT_FAILURE;
        return report(&w, r);
}
