/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * bluegreen-deploy RELEASE: the ExecStart= of APP-deploy@RELEASE.service. Starts the color that is not
 * live on RELEASE, lets its health gate and the smoke checks judge it, switches nginx to it and keeps
 * the old color warm for rollback. The whole deploy is one transaction (lib/switch.h): any failure, or
 * death, before the switch is recorded leaves the live color, nginx and the state as they were, and one
 * that died is settled by whoever runs next. See bluegreen-deploy(8).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "appenv.h"
#include "bus.h"
#include "crash-point.h"
#include "decl.h"
#include "drain.h"
#include "exit-status.h"
#include "fileio.h"
#include "http.h"
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
#include "watch-units.h"

static void help(void) {
        printf("Usage: bluegreen-deploy RELEASE\n\n"
               "Deploys RELEASE (a directory in $BLUEGREEN_RELEASES) of the app described by the\n"
               "BLUEGREEN_* environment, as APP-deploy@RELEASE.service does:\n"
               "  systemctl start APP-deploy@RELEASE\n\n"
               "First it settles a deploy or rollback of the app that died half-way (finishes or\n"
               "undoes it), then ends a watch of the app that runs. A deploy that fails undoes itself:\n"
               "traffic, state and pins stay as before. After the switch it starts the watch of\n"
               "RELEASE, APP-watch@RELEASE.service, which rolls back on its own if RELEASE goes bad\n"
               "within $BLUEGREEN_WATCH_DURATION_S seconds.\n\n"
               "Exit status: 0 deployed; 1 internal error (state not writable, systemd unreachable,\n"
               "an interrupted deploy that cannot be settled); 2 bad release name, missing release or\n"
               "environment; 3 a check failed (pre_start hook, start and health gate, smoke check);\n"
               "4 another deploy or rollback of the app is running; 5 nginx could not be switched, or\n"
               "its route disagrees with the recorded state.\n");
}

struct deploy {
        struct app_env env;
        struct app_state state;
        const char *release;
        char *release_dir;
        enum color target, live;
        struct timeline tl;
        sd_bus *bus;
        uint64_t started_realtime;
        struct switch_intent intent;
        bool begun; /* the intent is recorded: a failure undoes it */
        char *watched; /* the release whose watch this deploy ended */
};

/* Undoes what the deploy did, logs why it failed, and returns code. */
static int fail(struct deploy *d, int code, const char *fmt, ...) _printf_(3, 4);
static int fail(struct deploy *d, int code, const char *fmt, ...) {
        _cleanup_free_ char *undo_reason = NULL;
        char reason[1024], tl[1024], undo[1200] = "";
        va_list ap;
        int r;

        va_start(ap, fmt);
        vsnprintf(reason, sizeof reason, fmt, ap);
        va_end(ap);
        if (interrupted())
                strncat(reason, " (interrupted: the deploy unit was stopped or hit its TimeoutStartSec=)",
                        sizeof reason - strlen(reason) - 1);
        if (d->begun) {
                r = switch_undo(d->bus, &d->env, &d->intent, "deploy-failed", 0, &undo_reason);
                timeline_step(&d->tl, "undo");
                if (r < 0) {
                        settle_describe_failed_undo(undo, sizeof undo, &d->env, undo_reason ?: strerror(-r));
                        code = EXIT_FAILURE;
                }
        } else
                (void) state_history_append(d->env.state_dir, "deploy-failed", d->release, d->target, NULL);
        if (!*undo)
                watch_unit_resume(d->bus, &d->env, d->watched, "deploy");
        timeline_format(&d->tl, tl, sizeof tl);
        log_event(LOG_ERR, MESSAGE_DEPLOY_FAILED, d->env.app, d->release, color_to_string(d->target),
                  "Deploy of %s to %s failed: %s. Live color %s: %s.%s Timeline: %s", d->release,
                  d->target >= 0 ? color_to_string(d->target) : "?", reason, *undo ? "unsettled" : "unchanged",
                  d->live >= 0 ? color_to_string(d->live) : "none", undo, tl);
        return code;
}

static int run_hook(struct deploy *d, const char *kind, char *reason, size_t size) {
        _cleanup_free_ char *res = NULL, *err = NULL;
        const char *u = unit_name(d->env.app, kind, d->release, "service");
        int r;

        r = bus_unit_job(d->bus, "StartUnit", u, true, 3600 * 1000000ULL, &res, &err);
        if (r >= 0)
                return 0;
        if (err)
                snprintf(reason, size, "%s: %s", u, err);
        else {
                char last[512];

                journal_last_error(u, d->started_realtime, last, sizeof last);
                snprintf(reason, size, "%s %s: %s", u, res ?: strerror(-r), last);
        }
        return r;
}

static int smoke(struct deploy *d, char *reason, size_t size) {
        _cleanup_(http_probe_freep) struct http_probe *p = NULL;
        int r;

        if (d->env.n_smoke == 0)
                return 0;
        r = probe_new_for_color(&d->env, d->target, d->env.health_timeout_ms > 5000 ? d->env.health_timeout_ms : 5000,
                                &p);
        if (r < 0)
                return r;
        for (int i = 0; i < d->env.n_smoke; i++) {
                const struct http_check *h = &d->env.smoke[i];
                _cleanup_free_ char *path = expand_release(h->path, d->release);
                _cleanup_free_ char *contains = expand_release(h->body_contains, d->release);

                if (!path || !contains)
                        return -ENOMEM;
                /* Each check its own Host and headers, over the one connection of the probe. */
                r = http_probe_set_headers(p, h->host, h->headers, h->n_headers);
                if (r < 0)
                        return r;
                if (!http_probe_check(p, path, h->expect_status, contains, reason, size))
                        return -EIO;
        }
        return 0;
}

/* Finds the release directory to deploy, inside the releases directory and nowhere else: opened without
 * following a link in its path, and the release looked up through that descriptor (release_find()), so
 * that a deploy user who can write above releases cannot make root deploy another directory. An alias
 * (a symlink such as "latest") is deployed, recorded and checked under its real name, the one
 * bluegreen-exec gives the app as $BLUEGREEN_RELEASE. Logs why it refuses. */
static int resolve_release(struct deploy *d) {
        _cleanup_(release_done) struct release rel = RELEASE_NULL;
        char reason[1024];
        int r;

        r = release_find(d->env.releases, d->release, NULL, NULL, &rel, reason, sizeof reason);
        if (r == -ENOMEM)
                return log_oom();
        if (r < 0) {
                log_error("%s", reason);
                return -EINVAL;
        }
        if (!streq(rel.name, d->release))
                log_info("Release %s is %s.", d->release, rel.name);
        d->release_dir = TAKE_PTR(rel.dir);
        d->release = strrchr(d->release_dir, '/') + 1;
        return 0;
}

static int lock_app(struct deploy *d, int *ret_fd) {
        _cleanup_free_ char *holder = NULL;
        char what[256];
        int r;

        r = mkdir_p(d->env.state_dir, 0755);
        if (r < 0)
                return log_error_errno(r, "Failed to create %s: %m", d->env.state_dir), EXIT_FAILURE;
        snprintf(what, sizeof what, "deploy of %s", d->release);
        r = state_lock(d->env.state_dir, what, false, ret_fd, &holder);
        if (r == -EBUSY) {
                log_error("Another deploy or rollback of %s is running: %s. Nothing was changed.", d->env.app,
                          holder ?: "holder unknown");
                return EXIT_LOCKED;
        }
        if (r < 0)
                return log_error_errno(r, "Failed to lock %s: %m", d->env.state_dir), EXIT_FAILURE;
        return 0;
}

static int plan(struct deploy *d) {
        _cleanup_free_ char *why = NULL;
        int r;

        r = state_load(d->env.state_dir, &d->state);
        if (r < 0)
                return log_error_errno(r, "Failed to read the state in %s: %m", d->env.state_dir), EXIT_FAILURE;
        d->live = d->state.active;
        d->target = d->live == _COLOR_INVALID ? COLOR_BLUE : color_other(d->live);
        /* Belt and braces: whatever the state says, the color the route leads to is never the target. */
        if (d->live != _COLOR_INVALID && route_guard_stop(d->bus, &d->env, d->target, &why) < 0) {
                log_error("Not deploying %s of %s: %s. Nothing was changed.", d->release, d->env.app, why);
                return EXIT_PROXY_FAILED;
        }
        timeline_step(&d->tl, "check");
        log_event(LOG_INFO, MESSAGE_DEPLOY_STARTED, d->env.app, d->release, color_to_string(d->target),
                  "Deploying %s of %s to the %s color (live: %s).", d->release, d->env.app, color_to_string(d->target),
                  d->live >= 0 ? color_to_string(d->live) : "none");
        return 0;
}

static bool target_running(struct deploy *d) {
        _cleanup_free_ char *state = NULL;

        return bus_unit_get_string(d->bus, unit_name(d->env.app, "@", color_to_string(d->target), "service"),
                                   "org.freedesktop.systemd1.Unit", "ActiveState", &state) >= 0 &&
               !streq(state, "inactive") && !streq(state, "failed");
}

/* The write-ahead record, synced before anything is touched: a full disk stops the deploy here. */
static int begin(struct deploy *d) {
        struct switch_intent *i = &d->intent;
        int r;

        snprintf(i->event, sizeof i->event, "deploy");
        i->from = d->live;
        i->to = d->target;
        i->release = strdup(d->release);
        for (int c = 0; c < 2; c++)
                if (d->state.release_dir[c] && !(i->pin[c] = strdup(d->state.release_dir[c])))
                        return -ENOMEM;
        if (!i->release)
                return -ENOMEM;
        i->to_was_active = target_running(d);
        r = switch_begin(d->env.state_dir, i);
        if (r < 0)
                return r;
        d->begun = true;
        crash_point("intent");
        return 0;
}

/* The target may still run the release before last (kept warm): it is stopped first, a step of its
 * own, so the timeline tells the app's shutdown from its start-up; then started on the new pin. */
static int restart_target(struct deploy *d, char *reason, size_t size) {
        _cleanup_free_ char *res = NULL, *err = NULL;
        const char *u = unit_name(d->env.app, "@", color_to_string(d->target), "service");
        uint64_t budget = (uint64_t) (d->env.health_deadline_s + 5 + 300) * 1000000ULL;
        int r;

        (void) bus_unit_reset_failed(d->bus, u);
        if (target_running(d)) {
                /* Right after a rollback nginx may still have requests on their way to this color over
                 * connections it opened before (pooled ones live keepalive_time_s): let them finish rather
                 * than cut them. Streams that outlast this are ended by the stop. */
                int left = wait_color_drained(&d->env, d->target, (d->env.nginx_keepalive_time_s + 1) * 1000LL);

                timeline_step(&d->tl, d->target == COLOR_BLUE ? "drain blue" : "drain green");
                if (left > 0)
                        log_info("%d connections to the %s color are still open; stopping it anyway.", left,
                                 color_to_string(d->target));
                r = bus_unit_job(d->bus, "StopUnit", u, true, budget, &res, &err);
                timeline_step(&d->tl, d->target == COLOR_BLUE ? "stop blue" : "stop green");
                if (r < 0) {
                        snprintf(reason, size, "%s did not stop (%s)", u, err ?: res ?: strerror(-r));
                        return EXIT_FAILURE;
                }
                res = mfree(res);
                crash_point("stopped");
        }
        r = bus_unit_job(d->bus, "StartUnit", u, true, budget, &res, &err);
        timeline_step(&d->tl, d->target == COLOR_BLUE ? "start blue" : "start green");
        if (r < 0) {
                char last[512];

                journal_last_error(u, d->started_realtime, last, sizeof last);
                snprintf(reason, size, "%s did not start (%s): %s", u, err ?: res ?: strerror(-r), last);
                return EXIT_CHECK_FAILED;
        }
        crash_point("started");
        return 0;
}

/* Everything before the switch; on failure *reason says why and the exit code is returned. */
static int prepare_target(struct deploy *d, char *reason, size_t size) {
        int r;

        /* A retire timer still pending for the target would stop it right after we started it. */
        (void) bus_unit_job(d->bus, "StopUnit", unit_name(d->env.app, "-retire@", color_to_string(d->target), "timer"),
                            true, 10 * 1000000ULL, NULL, NULL);
        if (d->env.hook_pre_start) {
                char why[900];

                r = run_hook(d, "-pre-start@", why, sizeof why);
                timeline_step(&d->tl, "pre_start");
                if (r < 0)
                        return snprintf(reason, size, "the pre_start hook failed: %s", why), EXIT_CHECK_FAILED;
                crash_point("pre-start");
        }

        r = switch_mark(d->env.state_dir, &d->intent, SWITCH_TOUCHED);
        if (r >= 0)
                r = state_pin(d->env.state_dir, d->target, d->release_dir);
        if (r < 0)
                return snprintf(reason, size, "cannot pin %s to %s: %s", color_to_string(d->target), d->release_dir,
                                strerror(-r)),
                       EXIT_FAILURE;
        timeline_step(&d->tl, "pin");
        crash_point("pinned");

        r = restart_target(d, reason, size);
        if (r != 0)
                return r;

        {
                char why[900];

                r = smoke(d, why, sizeof why);
                timeline_step(&d->tl, "smoke");
                if (r < 0)
                        return snprintf(reason, size, "smoke check failed: %s", r == -EIO ? why : strerror(-r)),
                               EXIT_CHECK_FAILED;
                crash_point("smoked");
        }
        if (interrupted())
                return snprintf(reason, size, "stopped before the switch"), EXIT_FAILURE;
        return 0;
}

/* Every watch of the app ends before this deploy changes anything: it watches the release this deploy
 * replaces. */
static void end_watches(struct deploy *d) {
        char why[256];
        int r;

        snprintf(why, sizeof why, "a deploy of %s takes over", d->release);
        r = watch_units_stop(d->bus, d->env.app, NULL, why, &d->watched);
        if (r < 0)
                log_warning_errno(r, "Failed to list the watches of %s, ignoring: %m", d->env.app);
}

/* From the commit on, the new release is watched, as long as there is a warm color to go back to (a
 * first deploy has none). Queued, not waited for: the watch runs on its own. */
static void start_watch(struct deploy *d) {
        int r;

        if (d->env.watch_duration_s <= 0 || d->live < 0)
                return;
        r = watch_unit_start(d->bus, d->env.app, d->release);
        if (r < 0)
                log_warning_errno(r, "Failed to start the watch of %s, ignoring: %m", d->release);
        else
                log_info("Watching %s for %d s (%s): %d failed health probes in a row or a crash of the %s color "
                         "roll back to %s on their own.",
                         d->release, d->env.watch_duration_s, unit_name(d->env.app, "-watch@", d->release, "service"),
                         d->env.watch_failures, color_to_string(d->target), d->state.release[d->live] ?: "?");
}

static void report_success(struct deploy *d) {
        char tl[1024];

        timeline_format(&d->tl, tl, sizeof tl);
        log_event(LOG_INFO, MESSAGE_DEPLOY_SUCCEEDED, d->env.app, d->release, color_to_string(d->target),
                  "Deployed %s of %s on the %s color. Timeline: %s", d->release, d->env.app, color_to_string(d->target), tl);
        if (d->live >= 0)
                log_info("The %s color (%s) stays up for rollback for %d s: systemctl start %s-rollback",
                         color_to_string(d->live), d->state.release[d->live] ?: "?", warm_for_s(&d->env), d->env.app);
}

int main(int argc, char *argv[]) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_free_ char *switch_reason = NULL;
        _cleanup_close_ int lock_fd = -1;
        struct deploy d = { .target = _COLOR_INVALID, .live = _COLOR_INVALID };
        const char *bad = NULL;
        char reason[1024];
        struct timespec rt;
        int r;

        log_setup("bluegreen-deploy");
        if (argc == 2 && (streq(argv[1], "--help") || streq(argv[1], "-h"))) {
                help();
                return EXIT_SUCCESS;
        }
        if (argc != 2) {
                log_error("Expected one argument, the release (see --help).");
                return EXIT_BAD_INPUT;
        }
        d.release = argv[1];
        interrupt_setup();
        timeline_start_logged(&d.tl);
        clock_gettime(CLOCK_REALTIME, &rt);
        d.started_realtime = (uint64_t) rt.tv_sec * 1000000 + (uint64_t) rt.tv_nsec / 1000;

        if (app_env_from_environ(&d.env, &bad) < 0) {
                log_error("$%s is missing or malformed: run this as APP-deploy@RELEASE.service.", bad ?: "?");
                return EXIT_BAD_INPUT;
        }
        /* Everything about the input is checked before anything is touched. */
        if (resolve_release(&d) < 0)
                return EXIT_BAD_INPUT;
        r = lock_app(&d, &lock_fd);
        if (r != 0)
                return r;
        r = bus_connect_manager(&bus);
        if (r < 0)
                return log_error_errno(r, "Failed to connect to systemd: %m"), EXIT_FAILURE;
        d.bus = bus;
        /* A deploy or rollback that died half-way is settled before this one looks at the state. */
        if (settle_dead_switch(bus, &d.env, 0) < 0)
                return EXIT_FAILURE;
        r = plan(&d);
        if (r != 0)
                return r;
        end_watches(&d);

        r = begin(&d);
        if (r < 0)
                return fail(&d, EXIT_FAILURE, "cannot record the deploy in %s/intent, so nothing was touched: %s",
                            d.env.state_dir, strerror(-r));
        r = prepare_target(&d, reason, sizeof reason);
        if (r != 0)
                return fail(&d, r, "%s", reason);

        r = switch_commit(bus, &d.env, &d.intent, &d.tl, &switch_reason);
        if (r < 0)
                return fail(&d, r == -EREMOTEIO ? EXIT_PROXY_FAILED : EXIT_FAILURE, "%s", switch_reason ?: strerror(-r));
        d.begun = false;
        if (switch_reason)
                log_warning("%s", switch_reason);
        log_event(LOG_INFO, MESSAGE_SWITCHED, d.env.app, d.release, color_to_string(d.target),
                  "nginx now sends %s traffic to the %s color (%s).", d.env.app, color_to_string(d.target), d.release);
        start_watch(&d);

        if (d.env.hook_post_switch) {
                r = run_hook(&d, "-post-switch@", reason, sizeof reason);
                timeline_step(&d.tl, "post_switch");
                if (r < 0)
                        log_warning("The post_switch hook failed, the deploy stands: %s", reason);
        }
        report_success(&d);
        return EXIT_SUCCESS;
}
