/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * bluegreen-rollback: the ExecStart= of APP-rollback.service. Sends traffic back to the color that was
 * live before: at once when it is still warm and healthy, after starting it (health gated) on its
 * pinned release when it was retired. Like a deploy it is one transaction (lib/switch.h): a failure
 * or a death before it is recorded leaves traffic where it was. See bluegreen-rollback(8).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "appenv.h"
#include "bus.h"
#include "crash-point.h"
#include "exit-status.h"
#include "interrupt.h"
#include "journal-error.h"
#include "log.h"
#include "macro.h"
#include "probe.h"
#include "release.h"
#include "settle.h"
#include "state.h"
#include "switch.h"
#include "timeline.h"
#include "unit-name.h"

static void help(void) {
        printf("Usage: bluegreen-rollback\n\n"
               "Sends the traffic of the app described by the BLUEGREEN_* environment back to its\n"
               "previous color, as APP-rollback.service does:\n"
               "  systemctl start APP-rollback\n\n"
               "First it settles a deploy or rollback of the app that died half-way (finishes or\n"
               "undoes it), so it always goes back from the state the last completed one left.\n\n"
               "Exit status: 0 rolled back; 1 internal error; 2 bad environment, or the previous\n"
               "release is refused (see bluegreen-exec(8)); 3 the previous color\n"
               "did not become healthy; 4 a deploy or rollback of the app is running; 5 nginx could\n"
               "not be switched; 6 nothing to roll back to.\n");
}

struct rollback {
        struct app_env env;
        struct app_state state;
        enum color live, prev;
        struct timeline tl;
        sd_bus *bus;
        uint64_t since;
        struct switch_intent intent;
        bool restarted;
};

static int lock_app(struct rollback *b, int *ret_fd) {
        _cleanup_free_ char *holder = NULL;
        int r;

        r = state_lock(b->env.state_dir, "rollback", false, ret_fd, &holder);
        if (r == -EBUSY) {
                log_error("Another deploy or rollback of %s is running: %s. Nothing was changed.", b->env.app,
                          holder ?: "holder unknown");
                return EXIT_LOCKED;
        }
        if (r == -ENOENT) {
                log_error("%s has never been deployed (%s does not exist): nothing to roll back to.", b->env.app,
                          b->env.state_dir);
                return EXIT_NOTHING_TO_ROLL_BACK;
        }
        if (r < 0)
                return log_error_errno(r, "Failed to lock %s: %m", b->env.state_dir), EXIT_FAILURE;
        return 0;
}

/* What there is to go back to: the other color's pin, which must still lead to a release. */
static int plan(struct rollback *b) {
        _cleanup_(release_done) struct release rel = RELEASE_NULL;
        char reason[1024];
        int r;

        r = state_load(b->env.state_dir, &b->state);
        if (r < 0)
                return log_error_errno(r, "Failed to read the state in %s: %m", b->env.state_dir), EXIT_FAILURE;
        b->live = b->state.active;
        if (b->live == _COLOR_INVALID) {
                log_error("%s has no live color yet: nothing to roll back to.", b->env.app);
                return EXIT_NOTHING_TO_ROLL_BACK;
        }
        b->prev = color_other(b->live);
        if (!b->state.release_dir[b->prev]) {
                log_error("No release was ever pinned to the %s color of %s: nothing to roll back to.",
                          color_to_string(b->prev), b->env.app);
                return EXIT_NOTHING_TO_ROLL_BACK;
        }
        /* Through the releases directory's descriptor, as bluegreen-exec will start it. */
        r = release_find(b->env.releases, NULL, b->env.state_dir, color_to_string(b->prev), &rel, reason, sizeof reason);
        if (r == -ENOENT) {
                log_error("The previous release %s (%s) no longer exists: nothing to roll back to.",
                          b->state.release[b->prev], b->state.release_dir[b->prev]);
                return EXIT_NOTHING_TO_ROLL_BACK;
        }
        if (r < 0) {
                log_error("%s", reason);
                return EXIT_BAD_INPUT;
        }
        timeline_step(&b->tl, "check");
        return 0;
}

static int begin(struct rollback *b, bool prev_active) {
        struct switch_intent *i = &b->intent;

        snprintf(i->event, sizeof i->event, "rollback");
        i->from = b->live;
        i->to = b->prev;
        i->release = strdup(b->state.release[b->prev]);
        if (!i->release)
                return -ENOMEM;
        for (int c = 0; c < 2; c++)
                if (b->state.release_dir[c] && !(i->pin[c] = strdup(b->state.release_dir[c])))
                        return -ENOMEM;
        i->to_was_active = prev_active;
        return switch_begin(b->env.state_dir, i);
}

/* The previous color serves at once when it is warm and healthy; else it is (re)started, health gated. */
/* The previous color serves at once when it is warm and healthy; else it is (re)started, health gated.
 * On failure *reason says why and the exit code is returned. */
static int ready_previous(struct rollback *b, const char *state, char *reason, size_t size) {
        _cleanup_free_ char *res = NULL, *err = NULL, *guard = NULL;
        const char *u = unit_name(b->env.app, "@", color_to_string(b->prev), "service");
        char why[1024], line[512];
        int r;

        (void) bus_unit_job(b->bus, "StopUnit", unit_name(b->env.app, "-retire@", color_to_string(b->prev), "timer"),
                            true, 10 * 1000000ULL, NULL, NULL);
        if (streq(state, "active") && probe_health_once(&b->env, b->prev, why, sizeof why)) {
                timeline_step(&b->tl, "probe warm color");
                return 0;
        }
        if (streq(state, "active")) {
                /* A restart stops it first: never the color the route leads to, whatever the state says. */
                if (route_guard_stop(b->bus, &b->env, b->prev, &guard) < 0)
                        return snprintf(reason, size, "%s", guard), EXIT_PROXY_FAILED;
                log_warning("The %s color is up but not healthy (%s); restarting it.", color_to_string(b->prev), why);
        }
        r = switch_mark(b->env.state_dir, &b->intent, SWITCH_TOUCHED);
        if (r < 0)
                return snprintf(reason, size, "cannot record the rollback in %s/intent: %s", b->env.state_dir,
                                strerror(-r)),
                       EXIT_FAILURE;
        (void) bus_unit_reset_failed(b->bus, u);
        r = bus_unit_job(b->bus, "RestartUnit", u, true, (uint64_t) (b->env.health_deadline_s + 5 + 300) * 1000000ULL,
                         &res, &err);
        timeline_step(&b->tl, "start previous color");
        if (r < 0) {
                journal_last_error(u, b->since, line, sizeof line);
                return snprintf(reason, size, "%s did not start (%s): %s", u, err ?: res ?: strerror(-r), line),
                       EXIT_CHECK_FAILED;
        }
        b->restarted = true;
        crash_point("started");
        return 0;
}

/* Puts everything back as before the rollback, logs why it failed, and returns code (1 when even
 * the undo failed). */
static int fail(struct rollback *b, int code, const char *why) {
        _cleanup_free_ char *undo_reason = NULL;
        char undo[1200] = "";
        int r;

        r = switch_undo(b->bus, &b->env, &b->intent, "rollback-failed", 0, &undo_reason);
        if (r < 0) {
                settle_describe_failed_undo(undo, sizeof undo, &b->env, undo_reason ?: strerror(-r));
                code = EXIT_FAILURE;
        }
        log_event(LOG_ERR, MESSAGE_ROLLBACK_FAILED, b->env.app, b->state.release[b->prev], color_to_string(b->prev),
                  "Rollback of %s failed: %s. Live color %s: %s.%s", b->env.app, why, *undo ? "unsettled" : "unchanged",
                  color_to_string(b->live), undo);
        return code;
}

int main(int argc, char *argv[]) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_free_ char *state = NULL, *reason = NULL;
        _cleanup_close_ int lock_fd = -1;
        struct rollback b = { .live = _COLOR_INVALID, .prev = _COLOR_INVALID };
        const char *bad = NULL;
        char line[1024], why[1024];
        struct timespec rt;
        int r;

        log_setup("bluegreen-rollback");
        if (argc == 2 && (streq(argv[1], "--help") || streq(argv[1], "-h"))) {
                help();
                return EXIT_SUCCESS;
        }
        if (argc != 1) {
                log_error("This program takes no arguments (see --help).");
                return EXIT_BAD_INPUT;
        }
        interrupt_setup();
        timeline_start(&b.tl);
        clock_gettime(CLOCK_REALTIME, &rt);
        b.since = (uint64_t) rt.tv_sec * 1000000 + (uint64_t) rt.tv_nsec / 1000;

        if (app_env_from_environ(&b.env, &bad) < 0) {
                log_error("$%s is missing or malformed: run this as APP-rollback.service.", bad ?: "?");
                return EXIT_BAD_INPUT;
        }
        r = lock_app(&b, &lock_fd);
        if (r != 0)
                return r;
        r = bus_connect_manager(&bus);
        if (r < 0)
                return log_error_errno(r, "Failed to connect to systemd: %m"), EXIT_FAILURE;
        b.bus = bus;
        if (settle_dead_switch(bus, &b.env, 0) < 0)
                return EXIT_FAILURE;
        r = plan(&b);
        if (r != 0)
                return r;

        r = bus_unit_get_string(bus, unit_name(b.env.app, "@", color_to_string(b.prev), "service"),
                                "org.freedesktop.systemd1.Unit", "ActiveState", &state);
        if (r < 0)
                return log_error_errno(r, "Failed to ask systemd about the %s color: %m", color_to_string(b.prev)),
                       EXIT_FAILURE;
        r = begin(&b, streq(state, "active"));
        if (r < 0)
                return log_error_errno(r, "Failed to record the rollback in %s/intent, nothing was changed: %m",
                                       b.env.state_dir),
                       EXIT_FAILURE;
        crash_point("intent");
        r = ready_previous(&b, state, why, sizeof why);
        if (r != 0)
                return fail(&b, r, why);

        r = switch_commit(bus, &b.env, &b.intent, &b.tl, &reason);
        if (r < 0)
                return fail(&b, r == -EREMOTEIO ? EXIT_PROXY_FAILED : EXIT_FAILURE, reason ?: strerror(-r));
        if (reason)
                log_warning("%s", reason);
        log_event(LOG_INFO, MESSAGE_SWITCHED, b.env.app, b.state.release[b.prev], color_to_string(b.prev),
                  "nginx now sends %s traffic to the %s color (%s).", b.env.app, color_to_string(b.prev),
                  b.state.release[b.prev]);

        timeline_format(&b.tl, line, sizeof line);
        log_event(LOG_INFO, MESSAGE_ROLLED_BACK, b.env.app, b.state.release[b.prev], color_to_string(b.prev),
                  "Rolled %s back to %s on the %s color%s. Timeline: %s", b.env.app, b.state.release[b.prev],
                  color_to_string(b.prev), b.restarted ? " (restarted)" : " (warm)", line);
        log_info("The %s color (%s) is retired in %d s unless you deploy again.", color_to_string(b.live),
                 b.state.release[b.live] ?: "?", b.env.drain_s);
        return EXIT_SUCCESS;
}
