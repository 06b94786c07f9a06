/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * bluegreen-retire COLOR: the ExecStart= of APP-retire@COLOR.service, started by its timer when the
 * drain period of a color that was switched away from is over. It stops the color unless it went
 * live again meanwhile (a rollback), or the route leads to it whatever the state says, and waits
 * while the new release is watched: the watch must always find a warm color to go back to. A deploy or
 * rollback that died half-way is settled first. See bluegreen-retire(8).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "appenv.h"
#include "bus.h"
#include "log.h"
#include "macro.h"
#include "settle.h"
#include "state.h"
#include "switch.h"
#include "unit-name.h"
#include "watch-units.h"

static void help(void) {
        printf("Usage: bluegreen-retire COLOR\n\n"
               "Stops the COLOR (blue or green) of the app described by the BLUEGREEN_* environment,\n"
               "unless it is the live color or nginx routes to it. Run by APP-retire@COLOR.timer.\n"
               "First it settles a deploy or rollback of the app that died half-way. While a watch of\n"
               "the app runs (APP-watch@RELEASE.service), it does not retire, and arms the timer again.\n\n"
               "Exit status: 0 retired, not running, left running because it is live, or deferred\n"
               "because a watch runs; 1 the stop failed, it was left running because the route leads\n"
               "to it, or an interrupted deploy could not be settled; 2 bad argument or environment.\n");
}

/* Belt and braces next to the timer's length (the longer of drain_s and the watch): while the release
 * that replaced this color is watched, this color is what the watch goes back to. The retirement is
 * deferred by one more period of the timer. */
static bool watched(sd_bus *bus, const struct app_env *e, enum color c) {
        struct watch_unit *w = NULL;
        size_t n = 0;
        int r;

        r = watch_units_running(bus, e->app, &w, &n);
        if (r < 0)
                log_warning_errno(r, "Failed to list the watches of %s, ignoring: %m", e->app);
        if (n == 0)
                return false;
        r = bus_unit_job(bus, "RestartUnit", unit_name(e->app, "-retire@", color_to_string(c), "timer"), false, 0, NULL,
                         NULL);
        log_info("Not retiring the %s color of %s yet: %s watches %s, and goes back to this color if it goes bad. "
                 "%s (systemctl stop %s ends the watch).",
                 color_to_string(c), e->app, w[0].unit, w[0].release,
                 r < 0 ? "The retire timer could not be armed again: retire it by hand once the watch ended"
                       : "The retire timer is armed again",
                 w[0].unit);
        watch_units_free(w, n);
        return true;
}

int main(int argc, char *argv[]) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_free_ char *res = NULL, *err = NULL, *holder = NULL;
        _cleanup_close_ int lock_fd = -1;
        struct app_env e;
        struct app_state s;
        const char *bad = NULL;
        enum color c;
        int r;

        log_setup("bluegreen-retire");
        if (argc == 2 && (streq(argv[1], "--help") || streq(argv[1], "-h"))) {
                help();
                return EXIT_SUCCESS;
        }
        c = argc == 2 ? color_from_string(argv[1]) : _COLOR_INVALID;
        if (c == _COLOR_INVALID) {
                log_error("Expected one argument, blue or green (see --help).");
                return 2;
        }
        if (app_env_from_environ(&e, &bad) < 0) {
                log_error("$%s is missing or malformed: run this as APP-retire@COLOR.service.", bad ?: "?");
                return 2;
        }
        /* Waits for a deploy or rollback in progress: it may be about to make this color live. */
        r = state_lock(e.state_dir, "retire", true, &lock_fd, &holder);
        if (r < 0)
                return log_error_errno(r, "Failed to lock %s: %m", e.state_dir), EXIT_FAILURE;
        r = bus_connect_manager(&bus);
        if (r < 0)
                return log_error_errno(r, "Failed to connect to systemd: %m"), EXIT_FAILURE;
        if (settle_dead_switch(bus, &e, 0) < 0)
                return EXIT_FAILURE;
        r = state_load(e.state_dir, &s);
        if (r < 0)
                return log_error_errno(r, "Failed to read the state in %s: %m", e.state_dir), EXIT_FAILURE;
        if (s.active == c) {
                log_info("The %s color of %s is live again, not retiring it.", color_to_string(c), e.app);
                return EXIT_SUCCESS;
        }
        {
                _cleanup_free_ char *state = NULL;

                if (bus_unit_get_string(bus, unit_name(e.app, "@", color_to_string(c), "service"),
                                        "org.freedesktop.systemd1.Unit", "ActiveState", &state) >= 0 &&
                    (streq(state, "inactive") || streq(state, "failed"))) {
                        log_info("The %s color of %s is not running, nothing to retire.", color_to_string(c), e.app);
                        return EXIT_SUCCESS;
                }
        }
        if (watched(bus, &e, c))
                return EXIT_SUCCESS;
        {
                _cleanup_free_ char *why = NULL;

                if (route_guard_stop(bus, &e, c, &why) < 0)
                        return log_error("Not retiring the %s color of %s: %s.", color_to_string(c), e.app, why),
                               EXIT_FAILURE;
        }
        r = bus_unit_job(bus, "StopUnit", unit_name(e.app, "@", color_to_string(c), "service"), true, 600 * 1000000ULL,
                         &res, &err);
        if (r < 0)
                return log_error("Failed to stop the %s color of %s: %s", color_to_string(c), e.app,
                                 err ?: res ?: strerror(-r)),
                       EXIT_FAILURE;
        (void) state_history_append(e.state_dir, "retire", s.release[c], c, NULL);
        log_event(LOG_INFO, MESSAGE_RETIRED, e.app, s.release[c], color_to_string(c),
                  "Retired the %s color of %s (%s) after its drain period of %d s.", color_to_string(c), e.app,
                  s.release[c] ?: "?", e.drain_s);
        return EXIT_SUCCESS;
}
