/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * bluegreen-rollback: the ExecStart= of APP-rollback.service. Sends traffic back to the color that was
 * live before: at once when it is still warm and healthy, after starting it (health gated) on its
 * pinned release when it was retired. See bluegreen-rollback(8).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "appenv.h"
#include "bus.h"
#include "flow.h"
#include "log.h"
#include "macro.h"
#include "state.h"

static void help(void) {
        printf("Usage: bluegreen-rollback\n\n"
               "Sends the traffic of the app described by the BLUEGREEN_* environment back to its\n"
               "previous color, as APP-rollback.service does:\n"
               "  systemctl start APP-rollback\n\n"
               "Exit status: 0 rolled back; 1 internal error; 2 bad environment; 3 the previous color\n"
               "did not become healthy; 4 a deploy or rollback of the app is running; 5 nginx could\n"
               "not be switched; 6 nothing to roll back to.\n");
}

int main(int argc, char *argv[]) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_free_ char *state = NULL, *res = NULL, *err = NULL, *reason = NULL, *holder = NULL, *real = NULL;
        _cleanup_close_ int lock_fd = -1;
        struct app_env e;
        struct app_state s;
        struct timeline tl;
        enum color live, prev;
        const char *bad = NULL, *u;
        bool started = false;
        char why[1024], line[1024];
        struct timespec rt;
        uint64_t since;
        struct stat st;
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
        timeline_start(&tl);
        clock_gettime(CLOCK_REALTIME, &rt);
        since = (uint64_t) rt.tv_sec * 1000000 + (uint64_t) rt.tv_nsec / 1000;

        if (app_env_from_environ(&e, &bad) < 0) {
                log_error("$%s is missing or malformed: run this as APP-rollback.service.", bad ?: "?");
                return EXIT_BAD_INPUT;
        }
        r = state_lock(e.state_dir, "rollback", false, &lock_fd, &holder);
        if (r == -EBUSY) {
                log_error("Another deploy or rollback of %s is running: %s. Nothing was changed.", e.app,
                          holder ?: "holder unknown");
                return EXIT_LOCKED;
        }
        if (r == -ENOENT) {
                log_error("%s has never been deployed (%s does not exist): nothing to roll back to.", e.app, e.state_dir);
                return EXIT_NOTHING_TO_ROLL_BACK;
        }
        if (r < 0)
                return log_error_errno(r, "Failed to lock %s: %m", e.state_dir), EXIT_FAILURE;

        r = state_load(e.state_dir, &s);
        if (r < 0)
                return log_error_errno(r, "Failed to read the state in %s: %m", e.state_dir), EXIT_FAILURE;
        live = s.active;
        if (live == _COLOR_INVALID) {
                log_error("%s has no live color yet: nothing to roll back to.", e.app);
                return EXIT_NOTHING_TO_ROLL_BACK;
        }
        prev = color_other(live);
        if (!s.release_dir[prev]) {
                log_error("No release was ever pinned to the %s color of %s: nothing to roll back to.",
                          color_to_string(prev), e.app);
                return EXIT_NOTHING_TO_ROLL_BACK;
        }
        real = realpath(s.release_dir[prev], NULL);
        if (!real || stat(real, &st) < 0 || !S_ISDIR(st.st_mode)) {
                log_error("The previous release %s (%s) no longer exists: nothing to roll back to.", s.release[prev],
                          s.release_dir[prev]);
                return EXIT_NOTHING_TO_ROLL_BACK;
        }
        timeline_step(&tl, "check");

        r = bus_connect_manager(&bus);
        if (r < 0)
                return log_error_errno(r, "Failed to connect to systemd: %m"), EXIT_FAILURE;

        (void) bus_unit_job(bus, "StopUnit", unit_name(e.app, "-retire@", color_to_string(prev), "timer"), true,
                            10 * 1000000ULL, NULL, NULL);

        u = unit_name(e.app, "@", color_to_string(prev), "service");
        r = bus_unit_get_string(bus, u, "org.freedesktop.systemd1.Unit", "ActiveState", &state);
        if (r >= 0 && streq(state, "active") && probe_health_once(&e, prev, why, sizeof why))
                timeline_step(&tl, "probe warm color");
        else {
                if (r >= 0 && streq(state, "active"))
                        log_warning("The %s color is up but not healthy (%s); restarting it.", color_to_string(prev), why);
                (void) bus_unit_reset_failed(bus, u);
                r = bus_unit_job(bus, "RestartUnit", u, true, (uint64_t) (e.health_deadline_s + 5 + 300) * 1000000ULL,
                                 &res, &err);
                timeline_step(&tl, "start previous color");
                if (r < 0) {
                        journal_last_error(u, since, line, sizeof line);
                        (void) bus_unit_job(bus, "StopUnit", u, true, 120 * 1000000ULL, NULL, NULL);
                        log_event(LOG_ERR, MESSAGE_ROLLBACK_FAILED, e.app, s.release[prev], color_to_string(prev),
                                  "Rollback of %s failed: %s did not start (%s): %s. Live color unchanged: %s.", e.app, u,
                                  err ?: res ?: strerror(-r), line, color_to_string(live));
                        return EXIT_CHECK_FAILED;
                }
                started = true;
        }

        r = switch_live(bus, &e, prev, s.release[prev], live, "rollback", &tl, &reason);
        if (r < 0) {
                bool switched = reason && strstr(reason, "now sends traffic");

                if (started && !switched)
                        (void) bus_unit_job(bus, "StopUnit", u, true, 120 * 1000000ULL, NULL, NULL);
                else if (!switched)
                        /* It was warm before: it stays warm, with its retire timer armed again. */
                        (void) bus_unit_job(bus, "RestartUnit",
                                            unit_name(e.app, "-retire@", color_to_string(prev), "timer"), true,
                                            10 * 1000000ULL, NULL, NULL);
                log_event(LOG_ERR, MESSAGE_ROLLBACK_FAILED, e.app, s.release[prev], color_to_string(prev),
                          "Rollback of %s failed: %s", e.app, reason ?: strerror(-r));
                return switched ? EXIT_FAILURE : EXIT_PROXY_FAILED;
        }
        log_event(LOG_INFO, MESSAGE_SWITCHED, e.app, s.release[prev], color_to_string(prev),
                  "nginx now sends %s traffic to the %s color (%s).", e.app, color_to_string(prev), s.release[prev]);

        timeline_format(&tl, line, sizeof line);
        log_event(LOG_INFO, MESSAGE_ROLLED_BACK, e.app, s.release[prev], color_to_string(prev),
                  "Rolled %s back to %s on the %s color%s. Timeline: %s", e.app, s.release[prev], color_to_string(prev),
                  started ? " (restarted)" : " (warm)", line);
        log_info("The %s color (%s) is retired in %d s unless you deploy again.", color_to_string(live),
                 s.release[live] ?: "?", e.drain_s);
        return EXIT_SUCCESS;
}
