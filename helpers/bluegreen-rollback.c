/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * bluegreen-rollback: the ExecStart= of APP-rollback.service. Sends traffic back to the color that was
 * live before: at once when it is still warm and healthy, after starting it (health gated) on its
 * pinned release when it was retired. Like a deploy it is one transaction (lib/switch.h): a failure
 * or a death before it is recorded leaves traffic where it was. The same program, and so the same
 * transaction, is the automatic rollback (--auto, run in place of bluegreen-watch when the watched
 * release went bad) and the failover (--failover, run when the live color failed for good).
 * See bluegreen-rollback(8).
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "appenv.h"
#include "auto-history.h"
#include "bus.h"
#include "crash-point.h"
#include "drain.h"
#include "exit-status.h"
#include "interrupt.h"
#include "journal-error.h"
#include "live-failure.h"
#include "log.h"
#include "macro.h"
#include "probe.h"
#include "release.h"
#include "settle.h"
#include "state.h"
#include "switch.h"
#include "timeline.h"
#include "unit-name.h"
#include "watch-units.h"

/* main() goes on: not an exit status. */
#define CONTINUE (-1)

static void help(void) {
        printf("Usage: bluegreen-rollback [--auto RELEASE [--reason TEXT] | --failover COLOR]\n\n"
               "Sends the traffic of the app described by the BLUEGREEN_* environment back to its\n"
               "previous color, as APP-rollback.service does:\n"
               "  systemctl start APP-rollback\n\n"
               "First it settles a deploy or rollback of the app that died half-way (finishes or\n"
               "undoes it), so it always goes back from the state the last completed one left; then\n"
               "it ends a watch of the app that runs.\n\n"
               "  --auto RELEASE    the automatic rollback, run by the watch of RELEASE (bluegreen-watch)\n"
               "                    in its place: waits for the lock, goes back only while RELEASE is\n"
               "                    live, records \"auto-rollback\" with TEXT in the history and stops\n"
               "                    RELEASE's color after the switch\n"
               "  --reason TEXT     why, for the history and the journal\n"
               "  --failover COLOR  run by APP-failover@COLOR.service when COLOR failed for good: goes\n"
               "                    back only if COLOR is live and the other color is warm\n"
               "  -h, --help        show this help\n\n"
               "Exit status: 0 rolled back, or nothing to do for --auto (RELEASE is no longer live) or\n"
               "--failover (COLOR is not live, or no longer failed), or stopped while waiting for the\n"
               "lock; 1 internal error; 2 bad arguments or environment, or the previous release is\n"
               "refused (see bluegreen-exec(8)); 3 the previous color did not become healthy; 4 a\n"
               "deploy or rollback of the app is running; 5 nginx could not be switched; 6 nothing\n"
               "to roll back to (for --failover: no warm color).\n");
}

enum rollback_kind {
        ROLLBACK_MANUAL,
        ROLLBACK_AUTO,
        ROLLBACK_FAILOVER,
};

struct rollback {
        struct app_env env;
        struct app_state state;
        enum color live, prev;
        struct timeline tl;
        sd_bus *bus;
        uint64_t since;
        struct switch_intent intent;
        bool restarted;
        enum rollback_kind kind;
        const char *watched; /* --auto: the release its watch saw go bad */
        const char *reason;  /* --auto: why */
        enum color failed;   /* --failover: the color that failed */
        char failure[256];   /* --failover: how it failed */
        char *watched_before; /* the release whose watch this rollback ended */
};

static int parse_argv(int argc, char *argv[], struct rollback *b) {
        static const struct option options[] = {
                { "auto", required_argument, NULL, 'a' },
                { "reason", required_argument, NULL, 'r' },
                { "failover", required_argument, NULL, 'f' },
                { "help", no_argument, NULL, 'h' },
                {},
        };
        int c;

        while ((c = getopt_long(argc, argv, "h", options, NULL)) >= 0)
                switch (c) {
                case 'a':
                        b->kind = ROLLBACK_AUTO;
                        b->watched = optarg;
                        break;
                case 'r':
                        b->reason = optarg;
                        break;
                case 'f':
                        b->kind = ROLLBACK_FAILOVER;
                        b->failed = color_from_string(optarg);
                        if (b->failed == _COLOR_INVALID) {
                                log_error("--failover takes blue or green, not \"%s\".", optarg);
                                return EXIT_BAD_INPUT;
                        }
                        break;
                case 'h':
                        help();
                        return EXIT_SUCCESS;
                default:
                        return EXIT_BAD_INPUT;
                }
        if (optind < argc) {
                log_error("Unexpected argument \"%s\" (see --help).", argv[optind]);
                return EXIT_BAD_INPUT;
        }
        if ((b->watched && b->failed != _COLOR_INVALID) || (b->reason && !b->watched)) {
                log_error("--auto and --failover exclude each other, and --reason goes with --auto (see --help).");
                return EXIT_BAD_INPUT;
        }
        return CONTINUE;
}

/* A manual rollback gives up at once when the lock is held. The automatic ones wait: the holder is
 * a boot, a retirement, or a deploy or rollback that ends this one's reason to run (it stops the
 * watch, or leaves another color live), so a stop while waiting ends them quietly. */
static int lock_app(struct rollback *b, int *ret_fd) {
        _cleanup_free_ char *holder = NULL;
        bool waited = false;
        int r;

        for (;;) {
                r = state_lock(b->env.state_dir, b->kind == ROLLBACK_AUTO       ? "automatic rollback"
                                                 : b->kind == ROLLBACK_FAILOVER ? "failover"
                                                                                : "rollback",
                               false, ret_fd, &holder);
                if (r != -EBUSY || b->kind == ROLLBACK_MANUAL)
                        break;
                if (!waited)
                        log_info("Waiting for the lock of %s, held by %s.", b->env.app, holder ?: "?");
                waited = true;
                holder = mfree(holder);
                if (interrupted()) {
                        log_info("Stopped while waiting for the lock of %s: nothing was rolled back.", b->env.app);
                        return EXIT_SUCCESS;
                }
                usleep(50 * 1000);
        }
        if (r == -EBUSY) {
                log_error("Another deploy or rollback of %s is running: %s. Nothing was changed.", b->env.app,
                          holder ?: "holder unknown");
                return EXIT_LOCKED;
        }
        /* Stopped before anything changed (its watch unit, with the app): nothing to undo. */
        if (r >= 0 && b->kind != ROLLBACK_MANUAL && interrupted()) {
                log_info("Stopped before it began: nothing was rolled back.");
                return EXIT_SUCCESS;
        }
        if (r == -ENOENT) {
                log_error("%s has never been deployed (%s does not exist): nothing to roll back to.", b->env.app,
                          b->env.state_dir);
                return EXIT_NOTHING_TO_ROLL_BACK;
        }
        if (r < 0)
                return log_error_errno(r, "Failed to lock %s: %m", b->env.state_dir), EXIT_FAILURE;
        return CONTINUE;
}

/* Before the lock, without it: a failover of a color that is not live, the usual case (a deploy's
 * target that failed its health gate), must not wait for that deploy. */
static int failover_precheck(struct rollback *b) {
        _cleanup_(state_done) struct app_state s = {};

        if (state_load(b->env.state_dir, &s) >= 0 && s.active != b->failed) {
                log_info("The %s color of %s failed, but it is not the live color: nothing to fail over.",
                         color_to_string(b->failed), b->env.app);
                return EXIT_SUCCESS;
        }
        return CONTINUE;
}

/* Every watch of the app ends before this rollback changes anything: it watches the release this
 * rollback makes not live. The automatic rollback runs inside its own watch's unit, which it must not
 * stop. */
static void end_watches(struct rollback *b) {
        _cleanup_free_ char *own = watch_own_unit();
        int r;

        r = watch_units_stop(b->bus, b->env.app, own, 
                             b->kind == ROLLBACK_AUTO       ? "an automatic rollback takes over"
                             : b->kind == ROLLBACK_FAILOVER ? "a failover takes over"
                                                            : "a rollback takes over",
                             &b->watched_before);
        if (r < 0)
                log_warning_errno(r, "Failed to list the watches of %s, ignoring: %m", b->env.app);
}

/* What there is to go back to: the other color's pin, which must still lead to a release. */
static int plan(struct rollback *b) {
        _cleanup_(release_done) struct release rel = RELEASE_NULL;
        char reason[1024];
        int r;

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
        return CONTINUE;
}

static int load_state(struct rollback *b) {
        int r;

        r = state_load(b->env.state_dir, &b->state);
        if (r < 0)
                return log_error_errno(r, "Failed to read the state in %s: %m", b->env.state_dir), EXIT_FAILURE;
        return CONTINUE;
}

/* Under the lock, after settling: is the automatic rollback still called for? The watched release may
 * no longer be live, the failed color may be back or no longer live, or there is no warm color. */
static int still_called_for(struct rollback *b) {
        struct live_failure f;
        char hint[512];
        int r;

        if (b->kind == ROLLBACK_AUTO && (b->state.active == _COLOR_INVALID || !b->state.release[b->state.active] ||
                                         !streq(b->state.release[b->state.active], b->watched))) {
                log_info("%s is no longer the live release of %s: nothing to roll back automatically.", b->watched,
                         b->env.app);
                return EXIT_SUCCESS;
        }
        if (b->kind != ROLLBACK_FAILOVER)
                return CONTINUE;
        if (b->state.active != b->failed) {
                log_info("The %s color of %s is no longer the live color: nothing to fail over.",
                         color_to_string(b->failed), b->env.app);
                return EXIT_SUCCESS;
        }
        r = live_failure_check(b->bus, &b->env, b->failed, true, &f);
        if (r < 0)
                return log_error_errno(r, "Failed to ask systemd about the %s color: %m", color_to_string(b->failed)),
                       EXIT_FAILURE;
        if (r == 0) {
                log_info("The %s color of %s is no longer failed: nothing to fail over.", color_to_string(b->failed),
                         b->env.app);
                return EXIT_SUCCESS;
        }
        snprintf(b->failure, sizeof b->failure, "the live %s color (%s) failed for good (%s)",
                 color_to_string(b->failed), b->state.release[b->failed] ?: "?", *f.result ? f.result : "failed");
        if (!f.other_warm) {
                live_failure_hint(&b->env, b->failed, b->state.release[b->failed], hint, sizeof hint);
                log_event(LOG_ERR, MESSAGE_LIVE_FAILED, b->env.app, b->state.release[b->failed],
                          color_to_string(b->failed), "%s: %s, and the %s color is not warm, so there is nothing to "
                          "fail over to: %s.", b->env.app, b->failure, color_to_string(color_other(b->failed)), hint);
                return EXIT_NOTHING_TO_ROLL_BACK;
        }
        return CONTINUE;
}

/* The decision, recorded (history, synced) before the transaction begins, so that its reason stays
 * whatever becomes of the transaction. */
static void record_decision(struct rollback *b) {
        const char *event = b->kind == ROLLBACK_AUTO ? "auto-rollback" : "failover";
        const char *why = b->kind == ROLLBACK_AUTO ? (b->reason ?: "asked for") : b->failure;
        int r;

        if (b->kind == ROLLBACK_MANUAL)
                return;
        if (b->kind == ROLLBACK_FAILOVER)
                log_event(LOG_WARNING, MESSAGE_FAILOVER, b->env.app, b->state.release[b->prev],
                          color_to_string(b->prev), "%s: %s; failing over to the %s color (%s), which is warm.", b->env.app, b->failure,
                          color_to_string(b->prev), b->state.release[b->prev]);
        else
                log_info("Rolling %s back automatically from %s: %s.", b->env.app, b->watched, why);
        r = auto_history_append(b->env.state_dir, event, b->state.release[b->prev], b->prev, b->state.release[b->live],
                                why);
        if (r < 0)
                log_warning_errno(r, "Failed to record the %s in %s/history, ignoring: %m", event, b->env.state_dir);
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
        } else
                watch_unit_resume(b->bus, &b->env, b->watched_before, "rollback");
        log_event(LOG_ERR, MESSAGE_ROLLBACK_FAILED, b->env.app, b->state.release[b->prev], color_to_string(b->prev),
                  "Rollback of %s failed: %s. Live color %s: %s.%s", b->env.app, why, *undo ? "unsettled" : "unchanged",
                  color_to_string(b->live), undo);
        return code;
}

/* The intent, the previous color made ready, the switch and its commit: the transaction itself, the
 * same for every kind of rollback. */
static int transaction(struct rollback *b) {
        _cleanup_free_ char *state = NULL, *reason = NULL;
        char why[1024];
        int r;

        r = bus_unit_get_string(b->bus, unit_name(b->env.app, "@", color_to_string(b->prev), "service"),
                                "org.freedesktop.systemd1.Unit", "ActiveState", &state);
        if (r < 0)
                return log_error_errno(r, "Failed to ask systemd about the %s color: %m", color_to_string(b->prev)),
                       EXIT_FAILURE;
        r = begin(b, streq(state, "active"));
        if (r < 0)
                return log_error_errno(r, "Failed to record the rollback in %s/intent, nothing was changed: %m",
                                       b->env.state_dir),
                       EXIT_FAILURE;
        crash_point("intent");
        r = ready_previous(b, state, why, sizeof why);
        if (r != 0)
                return fail(b, r, why);

        r = switch_commit(b->bus, &b->env, &b->intent, &b->tl, &reason);
        if (r < 0)
                return fail(b, r == -EREMOTEIO ? EXIT_PROXY_FAILED : EXIT_FAILURE, reason ?: strerror(-r));
        if (reason)
                log_warning("%s", reason);
        log_event(LOG_INFO, MESSAGE_SWITCHED, b->env.app, b->state.release[b->prev], color_to_string(b->prev),
                  "nginx now sends %s traffic to the %s color (%s).", b->env.app, color_to_string(b->prev),
                  b->state.release[b->prev]);
        return CONTINUE;
}

/* After an automatic rollback the release that went bad is stopped rather than kept warm: nothing
 * should go back to it by itself. Like a deploy's stop of its target, it lets nginx's requests on
 * connections opened before the switch finish first, and it never stops the color the route leads to. */
static void stop_bad_color(struct rollback *b) {
        _cleanup_free_ char *guard = NULL, *res = NULL, *err = NULL;
        const char *u = unit_name(b->env.app, "@", color_to_string(b->live), "service");
        int left, r;

        left = wait_color_drained(&b->env, b->live, (b->env.nginx_keepalive_time_s + 1) * 1000LL);
        timeline_step(&b->tl, b->live == COLOR_BLUE ? "drain blue" : "drain green");
        if (left > 0)
                log_info("%d connections to the %s color are still open; stopping it anyway.", left,
                         color_to_string(b->live));
        if (route_guard_stop(b->bus, &b->env, b->live, &guard) < 0) {
                log_warning("Not stopping the %s color, which went bad: %s.", color_to_string(b->live), guard);
                return;
        }
        r = bus_unit_job(b->bus, "StopUnit", u, true, 600 * 1000000ULL, &res, &err);
        timeline_step(&b->tl, b->live == COLOR_BLUE ? "stop blue" : "stop green");
        if (r < 0) {
                log_warning("Failed to stop the %s color, which went bad: %s, ignoring: its retire timer stops it.",
                            color_to_string(b->live), err ?: res ?: strerror(-r));
                return;
        }
        /* Nothing left for it to retire. */
        (void) bus_unit_job(b->bus, "StopUnit", unit_name(b->env.app, "-retire@", color_to_string(b->live), "timer"),
                            false, 0, NULL, NULL);
}

static void report_success(struct rollback *b) {
        char line[1024], how[256];

        snprintf(how, sizeof how, "%s%s", b->restarted ? "restarted" : "warm",
                 b->kind == ROLLBACK_AUTO       ? "; automatic: the watch of the release it replaced saw it go bad"
                 : b->kind == ROLLBACK_FAILOVER ? "; failover from the failed live color"
                                                : "");
        timeline_format(&b->tl, line, sizeof line);
        log_event(LOG_INFO, MESSAGE_ROLLED_BACK, b->env.app, b->state.release[b->prev], color_to_string(b->prev),
                  "Rolled %s back to %s on the %s color (%s). Timeline: %s", b->env.app, b->state.release[b->prev],
                  color_to_string(b->prev), how, line);
        if (b->kind == ROLLBACK_AUTO)
                log_info("The %s color (%s) went bad and is stopped: systemctl start %s-rollback starts it again and "
                         "goes back to it.",
                         color_to_string(b->live), b->state.release[b->live] ?: "?", b->env.app);
        else if (b->kind == ROLLBACK_MANUAL)
                log_info("The %s color (%s) is retired in %d s unless you deploy again.", color_to_string(b->live),
                         b->state.release[b->live] ?: "?",
                         warm_for_s(&b->env));
}

int main(int argc, char *argv[]) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_close_ int lock_fd = -1;
        struct rollback b = { .live = _COLOR_INVALID, .prev = _COLOR_INVALID, .failed = _COLOR_INVALID };
        const char *bad = NULL;
        struct timespec rt;
        int r;

        log_setup("bluegreen-rollback");
        r = parse_argv(argc, argv, &b);
        if (r != CONTINUE)
                return r;
        interrupt_setup();
        /* A stop that reached the watch just before it became this program was kept pending for us. */
        interrupt_hold(false);
        timeline_start_logged(&b.tl);
        clock_gettime(CLOCK_REALTIME, &rt);
        b.since = (uint64_t) rt.tv_sec * 1000000 + (uint64_t) rt.tv_nsec / 1000;

        if (app_env_from_environ(&b.env, &bad) < 0) {
                log_error("$%s is missing or malformed: run this as APP-rollback.service.", bad ?: "?");
                return EXIT_BAD_INPUT;
        }
        if (b.kind == ROLLBACK_FAILOVER && (r = failover_precheck(&b)) != CONTINUE)
                return r;
        r = lock_app(&b, &lock_fd);
        if (r != CONTINUE)
                return r;
        r = bus_connect_manager(&bus);
        if (r < 0)
                return log_error_errno(r, "Failed to connect to systemd: %m"), EXIT_FAILURE;
        b.bus = bus;
        if (settle_dead_switch(bus, &b.env, 0) < 0)
                return EXIT_FAILURE;
        if ((r = load_state(&b)) != CONTINUE || (r = still_called_for(&b)) != CONTINUE || (r = plan(&b)) != CONTINUE)
                return r;
        end_watches(&b);
        record_decision(&b);

        r = transaction(&b);
        if (r != CONTINUE)
                return r;
        if (b.kind == ROLLBACK_AUTO)
                stop_bad_color(&b);
        report_success(&b);
        return EXIT_SUCCESS;
}
