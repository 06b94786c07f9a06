/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * bluegreen-deploy RELEASE: the ExecStart= of APP-deploy@RELEASE.service. Starts the color that is not
 * live on RELEASE, lets its health gate and the smoke checks judge it, switches nginx to it and keeps
 * the old color warm for rollback. Any failure before the switch leaves the live color, nginx and the
 * state as they were. See bluegreen-deploy(8).
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
#include "decl.h"
#include "fileio.h"
#include "flow.h"
#include "http.h"
#include "log.h"
#include "macro.h"
#include "state.h"

static void help(void) {
        printf("Usage: bluegreen-deploy RELEASE\n\n"
               "Deploys RELEASE (a directory in $BLUEGREEN_RELEASES) of the app described by the\n"
               "BLUEGREEN_* environment, as APP-deploy@RELEASE.service does:\n"
               "  systemctl start APP-deploy@RELEASE\n\n"
               "Exit status: 0 deployed; 1 internal error; 2 bad release name, missing release or\n"
               "environment; 3 a check failed (pre_start hook, start and health gate, smoke check);\n"
               "4 another deploy or rollback of the app is running; 5 nginx could not be switched.\n");
}

struct deploy;
static void rearm_target_timer(struct deploy *d);

struct deploy {
        struct app_env env;
        struct app_state state;
        const char *release;
        char *release_dir;
        enum color target, live;
        struct timeline tl;
        sd_bus *bus;
        uint64_t started_realtime;
        bool switched;
};

static int fail(struct deploy *d, int code, const char *fmt, ...) _printf_(3, 4);
static int fail(struct deploy *d, int code, const char *fmt, ...) {
        char reason[1024], tl[1024];
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(reason, sizeof reason, fmt, ap);
        va_end(ap);
        rearm_target_timer(d);
        if (interrupted())
                strncat(reason, " (interrupted: the deploy unit was stopped or hit its TimeoutStartSec=)",
                        sizeof reason - strlen(reason) - 1);
        timeline_format(&d->tl, tl, sizeof tl);
        (void) state_history_append(d->env.state_dir, "deploy-failed", d->release, d->target, NULL);
        if (d->switched)
                log_event(LOG_ERR, MESSAGE_DEPLOY_FAILED, d->env.app, d->release, color_to_string(d->target),
                          "Deploy of %s to %s failed after nginx switched to it: %s. Timeline: %s", d->release,
                          color_to_string(d->target), reason, tl);
        else
                log_event(LOG_ERR, MESSAGE_DEPLOY_FAILED, d->env.app, d->release, color_to_string(d->target),
                          "Deploy of %s to %s failed: %s. Live color unchanged: %s. Timeline: %s", d->release,
                          color_to_string(d->target), reason, d->live >= 0 ? color_to_string(d->live) : "none", tl);
        return code;
}

/* The deploy stopped the target's retire timer first thing. When it fails before it stopped the target
 * (the old color, still warm), the timer is armed again, or that color would run for ever. */
static void rearm_target_timer(struct deploy *d) {
        _cleanup_free_ char *state = NULL;

        if (!d->bus || d->switched || d->target == d->live)
                return;
        if (bus_unit_get_string(d->bus, unit_name(d->env.app, "@", color_to_string(d->target), "service"),
                                "org.freedesktop.systemd1.Unit", "ActiveState", &state) < 0 ||
            !streq(state, "active"))
                return;
        (void) bus_unit_job(d->bus, "RestartUnit", unit_name(d->env.app, "-retire@", color_to_string(d->target), "timer"),
                            true, 10 * 1000000ULL, NULL, NULL);
}

/* Puts the target color back as it was before the deploy touched it: stopped, with its old pin. */
static void undo_target(struct deploy *d) {
        _cleanup_free_ char *res = NULL, *err = NULL;
        int r;

        r = bus_unit_job(d->bus, "StopUnit", unit_name(d->env.app, "@", color_to_string(d->target), "service"), true,
                         120 * 1000000ULL, &res, &err);
        if (r < 0)
                log_warning("Failed to stop the %s color after the failed deploy: %s", color_to_string(d->target),
                            err ?: res ?: strerror(-r));
        r = state_pin(d->env.state_dir, d->target, d->state.release_dir[d->target]);
        if (r < 0)
                log_warning_errno(r, "Failed to restore the pin of the %s color: %m", color_to_string(d->target));
        timeline_step(&d->tl, "undo");
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
        r = http_probe_new(d->env.bind, d->env.port[d->target], d->env.health_timeout_ms > 5000 ? d->env.health_timeout_ms : 5000,
                           &p);
        if (r < 0)
                return r;
        for (int i = 0; i < d->env.n_smoke; i++) {
                _cleanup_free_ char *path = expand_release(d->env.smoke[i].path, d->release);
                _cleanup_free_ char *contains = expand_release(d->env.smoke[i].body_contains, d->release);

                if (!path || !contains)
                        return -ENOMEM;
                if (!http_probe_check(p, path, d->env.smoke[i].expect_status, contains, reason, size))
                        return -EIO;
        }
        return 0;
}

int main(int argc, char *argv[]) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_free_ char *releases_real = NULL, *res = NULL, *err = NULL, *switch_reason = NULL;
        _cleanup_close_ int lock_fd = -1;
        struct deploy d = { .target = _COLOR_INVALID, .live = _COLOR_INVALID };
        const char *bad = NULL;
        char reason[1024], tl[1024], what[256];
        struct timespec rt;
        struct stat st;
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
        timeline_start(&d.tl);
        clock_gettime(CLOCK_REALTIME, &rt);
        d.started_realtime = (uint64_t) rt.tv_sec * 1000000 + (uint64_t) rt.tv_nsec / 1000;

        r = app_env_from_environ(&d.env, &bad);
        if (r < 0) {
                log_error("$%s is missing or malformed: run this as APP-deploy@RELEASE.service.", bad ?: "?");
                return EXIT_BAD_INPUT;
        }

        /* Everything about the input is checked before anything is touched. */
        if (!release_name_is_valid(d.release)) {
                log_error("\"%s\" is not a valid release name: use 1 to 128 letters, digits, \".\", \"_\" or \"-\", "
                          "not starting with \"-\" or \".\".",
                          d.release);
                return EXIT_BAD_INPUT;
        }
        releases_real = realpath(d.env.releases, NULL);
        if (!releases_real) {
                log_error_errno(-errno, "Releases directory %s: %m", d.env.releases);
                return EXIT_BAD_INPUT;
        }
        if (asprintf(&d.release_dir, "%s/%s", releases_real, d.release) < 0)
                return log_oom(), EXIT_FAILURE;
        if (stat(d.release_dir, &st) < 0 || !S_ISDIR(st.st_mode)) {
                log_error("Release %s does not exist: %s is not a directory.", d.release, d.release_dir);
                return EXIT_BAD_INPUT;
        }
        /* A release that is a symlink out of the releases directory would run code from elsewhere. */
        {
                _cleanup_free_ char *real = realpath(d.release_dir, NULL);
                size_t n = strlen(releases_real);

                if (!real || strncmp(real, releases_real, n) != 0 || real[n] != '/' || strchr(real + n + 1, '/')) {
                        log_error("Release %s leads to %s, outside %s: refusing it.", d.release, real ?: "?",
                                  releases_real);
                        return EXIT_BAD_INPUT;
                }
                free(d.release_dir);
                d.release_dir = TAKE_PTR(real);
        }
        /* A release given by an alias (a symlink such as "latest") is deployed, recorded and checked
         * under its real name, the one bluegreen-exec gives the app as $BLUEGREEN_RELEASE. */
        if (!streq(strrchr(d.release_dir, '/') + 1, d.release)) {
                const char *real = strrchr(d.release_dir, '/') + 1;

                if (!release_name_is_valid(real)) {
                        log_error("Release %s leads to \"%s\", which is not a valid release name.", d.release, real);
                        return EXIT_BAD_INPUT;
                }
                log_info("Release %s is %s.", d.release, real);
                d.release = real;
        }

        r = mkdir_p(d.env.state_dir, 0755);
        if (r < 0)
                return log_error_errno(r, "Failed to create %s: %m", d.env.state_dir), EXIT_FAILURE;
        snprintf(what, sizeof what, "deploy of %s", d.release);
        {
                _cleanup_free_ char *holder = NULL;

                r = state_lock(d.env.state_dir, what, false, &lock_fd, &holder);
                if (r == -EBUSY) {
                        log_error("Another deploy or rollback of %s is running: %s. Nothing was changed.", d.env.app,
                                  holder ?: "holder unknown");
                        return EXIT_LOCKED;
                }
                if (r < 0)
                        return log_error_errno(r, "Failed to lock %s: %m", d.env.state_dir), EXIT_FAILURE;
        }

        r = state_load(d.env.state_dir, &d.state);
        if (r < 0)
                return log_error_errno(r, "Failed to read the state in %s: %m", d.env.state_dir), EXIT_FAILURE;
        d.live = d.state.active;
        d.target = d.live == _COLOR_INVALID ? COLOR_BLUE : color_other(d.live);
        timeline_step(&d.tl, "check");

        log_event(LOG_INFO, MESSAGE_DEPLOY_STARTED, d.env.app, d.release, color_to_string(d.target),
                  "Deploying %s of %s to the %s color (live: %s).", d.release, d.env.app, color_to_string(d.target),
                  d.live >= 0 ? color_to_string(d.live) : "none");

        r = bus_connect_manager(&bus);
        if (r < 0)
                return fail(&d, EXIT_FAILURE, "cannot connect to systemd: %s", strerror(-r));
        d.bus = bus;

        /* A retire timer still pending for the target would stop it right after we started it. */
        (void) bus_unit_job(bus, "StopUnit", unit_name(d.env.app, "-retire@", color_to_string(d.target), "timer"), true,
                            10 * 1000000ULL, NULL, NULL);

        if (d.env.hook_pre_start) {
                r = run_hook(&d, "-pre-start@", reason, sizeof reason);
                timeline_step(&d.tl, "pre_start");
                if (r < 0)
                        return fail(&d, EXIT_CHECK_FAILED, "the pre_start hook failed: %s", reason);
        }

        r = state_pin(d.env.state_dir, d.target, d.release_dir);
        if (r < 0)
                return fail(&d, EXIT_FAILURE, "cannot pin %s to %s: %s", color_to_string(d.target), d.release_dir,
                            strerror(-r));
        timeline_step(&d.tl, "pin");

        {
                const char *u = unit_name(d.env.app, "@", color_to_string(d.target), "service");
                uint64_t budget = (uint64_t) (d.env.health_deadline_s + 5 + 300) * 1000000ULL;
                _cleanup_free_ char *state = NULL;

                /* The target may still run the release before last (kept warm): it is stopped first, a
                 * step of its own, so the timeline tells the app's shutdown from its start-up. */
                (void) bus_unit_reset_failed(bus, u);
                if (bus_unit_get_string(bus, u, "org.freedesktop.systemd1.Unit", "ActiveState", &state) >= 0 &&
                    !streq(state, "inactive") && !streq(state, "failed")) {
                        /* Right after a rollback nginx may still have requests on their way to this color
                         * over connections it opened before (pooled ones live keepalive_time_s): let them
                         * finish rather than cut them. Streams that outlast this are ended by the stop. */
                        int left = wait_port_drained(d.env.port[d.target], (d.env.nginx_keepalive_time_s + 1) * 1000LL);

                        timeline_step(&d.tl, d.target == COLOR_BLUE ? "drain blue" : "drain green");
                        if (left > 0)
                                log_info("%d connections to the %s color are still open; stopping it anyway.", left,
                                         color_to_string(d.target));
                        r = bus_unit_job(bus, "StopUnit", u, true, budget, &res, &err);
                        timeline_step(&d.tl, d.target == COLOR_BLUE ? "stop blue" : "stop green");
                        if (r < 0) {
                                undo_target(&d);
                                return fail(&d, EXIT_FAILURE, "%s did not stop (%s)", u, err ?: res ?: strerror(-r));
                        }
                        free(res);
                        res = NULL;
                }
                r = bus_unit_job(bus, "StartUnit", u, true, budget, &res, &err);
                timeline_step(&d.tl, d.target == COLOR_BLUE ? "start blue" : "start green");
                if (r < 0) {
                        char last[512];

                        journal_last_error(u, d.started_realtime, last, sizeof last);
                        undo_target(&d);
                        return fail(&d, EXIT_CHECK_FAILED, "%s did not start (%s): %s", u, err ?: res ?: strerror(-r),
                                    last);
                }
        }

        r = smoke(&d, reason, sizeof reason);
        timeline_step(&d.tl, "smoke");
        if (r < 0) {
                undo_target(&d);
                return fail(&d, EXIT_CHECK_FAILED, "smoke check failed: %s", r == -EIO ? reason : strerror(-r));
        }

        if (interrupted()) {
                undo_target(&d);
                return fail(&d, EXIT_FAILURE, "stopped before the switch");
        }
        r = switch_live(bus, &d.env, d.target, d.release, d.live, "deploy", &d.tl, &switch_reason);
        if (r < 0) {
                /* A failure after nginx switched (state not writable) must not stop what serves traffic. */
                d.switched = switch_reason && strstr(switch_reason, "now sends traffic");
                if (!d.switched)
                        undo_target(&d);
                return fail(&d, d.switched ? EXIT_FAILURE : EXIT_PROXY_FAILED, "%s", switch_reason ?: strerror(-r));
        }
        log_event(LOG_INFO, MESSAGE_SWITCHED, d.env.app, d.release, color_to_string(d.target),
                  "nginx now sends %s traffic to the %s color (%s).", d.env.app, color_to_string(d.target), d.release);

        if (d.env.hook_post_switch) {
                r = run_hook(&d, "-post-switch@", reason, sizeof reason);
                timeline_step(&d.tl, "post_switch");
                if (r < 0)
                        log_warning("The post_switch hook failed, the deploy stands: %s", reason);
        }

        timeline_format(&d.tl, tl, sizeof tl);
        log_event(LOG_INFO, MESSAGE_DEPLOY_SUCCEEDED, d.env.app, d.release, color_to_string(d.target),
                  "Deployed %s of %s on the %s color. Timeline: %s", d.release, d.env.app, color_to_string(d.target), tl);
        if (d.live >= 0)
                log_info("The %s color (%s) stays up for rollback for %d s: systemctl start %s-rollback",
                         color_to_string(d.live), d.state.release[d.live] ?: "?", d.env.drain_s, d.env.app);
        return EXIT_SUCCESS;
}
