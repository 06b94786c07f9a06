/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "watch-units.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-login.h>

#include "bus.h"
#include "log.h"
#include "macro.h"
#include "running-instances.h"
#include "state.h"
#include "unit-name.h"

#define STOP_TIMEOUT_USEC (30ULL * 1000000)

void watch_units_free(struct watch_unit *w, size_t n) {
        for (size_t k = 0; k < n; k++) {
                free(w[k].unit);
                free(w[k].release);
        }
        free(w);
}

int watch_units_running(sd_bus *bus, const char *app, struct watch_unit **ret, size_t *ret_n) {
        _cleanup_free_ char *prefix = NULL;
        struct watch_unit *list;
        char **releases = NULL;
        size_t n = 0;
        int r;

        *ret = NULL;
        *ret_n = 0;
        if (asprintf(&prefix, "%s-watch@", app) < 0)
                return -ENOMEM;
        r = bus_template_instances_running(bus, prefix, &releases, &n);
        if (r < 0)
                return r;
        list = calloc(n + 1, sizeof *list);
        if (!list) {
                instances_free(releases, n);
                return -ENOMEM;
        }
        for (size_t k = 0; k < n; k++) {
                list[k].release = TAKE_PTR(releases[k]);
                list[k].unit = strdup(unit_name(app, "-watch@", list[k].release, "service"));
                /* Only for how much of the window is left: unknown is no error. */
                if (list[k].unit)
                        (void) bus_unit_get_u64(bus, list[k].unit, "org.freedesktop.systemd1.Unit",
                                                "ActiveEnterTimestampMonotonic", 't', &list[k].active_since_usec);
        }
        free(releases);
        for (size_t k = 0; k < n; k++)
                if (!list[k].unit) {
                        watch_units_free(list, n);
                        return -ENOMEM;
                }
        *ret = list;
        *ret_n = n;
        return 0;
}

int watch_units_stop(sd_bus *bus, const char *app, const char *except, const char *why, char **ret_watched) {
        struct watch_unit *w = NULL;
        size_t n = 0;
        int r, stopped = 0;

        if (ret_watched)
                *ret_watched = NULL;
        r = watch_units_running(bus, app, &w, &n);
        if (r < 0)
                return r;
        for (size_t k = 0; k < n; k++) {
                _cleanup_free_ char *res = NULL, *err = NULL;

                if (except && streq(w[k].unit, except))
                        continue;
                /* Its own stop is quick (a watch holds nothing); one that is rolling back finishes or
                 * undoes its step first, which is what the caller must wait for anyway. */
                r = bus_unit_job(bus, "StopUnit", w[k].unit, true, STOP_TIMEOUT_USEC, &res, &err);
                if (r < 0)
                        log_warning("Failed to end the watch of %s (%s): %s, ignoring: it rolls back nothing once %s "
                                    "is no longer live.",
                                    w[k].release, w[k].unit, err ?: res ?: strerror(-r), w[k].release);
                else {
                        log_info("Ended the watch of %s (%s): %s.", w[k].release, w[k].unit, why);
                        stopped++;
                        if (ret_watched && !*ret_watched)
                                *ret_watched = TAKE_PTR(w[k].release);
                }
        }
        watch_units_free(w, n);
        return stopped;
}

int watch_unit_start(sd_bus *bus, const char *app, const char *release) {
        const char *u = unit_name(app, "-watch@", release, "service");

        /* A watch of the same release that failed before (it rolled back) must not block this one. */
        (void) bus_unit_reset_failed(bus, u);
        return bus_unit_job(bus, "StartUnit", u, false, 0, NULL, NULL);
}

void watch_unit_resume(sd_bus *bus, const struct app_env *e, const char *watched, const char *who) {
        _cleanup_(state_done) struct app_state s = {};
        int r;

        if (!watched || state_load(e->state_dir, &s) < 0 || s.active == _COLOR_INVALID || !s.release[s.active] ||
            !streq(s.release[s.active], watched))
                return;
        r = watch_unit_start(bus, e->app, watched);
        if (r < 0)
                log_warning_errno(r, "Failed to start the watch of %s again, ignoring: %m", watched);
        else
                log_info("Watching %s again for %d s: the %s that ended its watch failed.", watched,
                         e->watch_duration_s, who);
}

char *watch_own_unit(void) {
        char *u = NULL;

        return sd_pid_get_unit(0, &u) < 0 ? NULL : u;
}
