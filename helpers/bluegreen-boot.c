/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * bluegreen-boot: the ExecStart= and ExecReload= of APP.service. First it settles a deploy or rollback
 * that died half-way (a power cut, say: see lib/switch.h). Then, before nginx starts, it routes traffic
 * as recorded: the include (or one that points at the blue port when nothing was deployed yet, so
 * nginx never fails for want of it), or the redirect rule. Last it starts the live color, and only it,
 * on its pinned release. See bluegreen-boot(8).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "appenv.h"
#include "bus.h"
#include "log.h"
#include "macro.h"
#include "settle.h"
#include "state.h"
#include "switch.h"
#include "timeline.h"
#include "unit-name.h"

static void help(void) {
        printf("Usage: bluegreen-boot\n\n"
               "Brings the app described by the BLUEGREEN_* environment back as it was recorded:\n"
               "settles a deploy or rollback that died half-way, routes nginx to the live color (writes\n"
               "its include, reloading nginx when it runs and the include changed; or sets its redirect\n"
               "rule) and starts the live color. Run by APP.service at boot and on\n"
               "systemctl reload APP.service.\n\n"
               "Exit status: 0 done (also when nothing was deployed yet); 1 an interrupted deploy could\n"
               "not be settled, the route could not be set (the live color is started all the same),\n"
               "or systemd refused to start the live color; 2 bad environment.\n");
}

/* Before nginx starts: the include must exist and lead to the live color, and the stable port of the
 * redirect switch must too (the kernel forgets the rule at every boot). */
static int route(sd_bus *bus, const struct app_env *e, const struct app_state *s) {
        _cleanup_free_ char *reason = NULL;
        struct timeline tl;
        int r;

        timeline_start(&tl);
        r = route_set(bus, e, s->active, s->active == _COLOR_INVALID ? NULL : s->release[s->active],
                      ROUTE_NGINX_MAY_BE_DOWN | ROUTE_NO_JOBS, &tl, &reason);
        if (r < 0)
                log_error("Failed to route %s to its live color: %s", e->app, reason ?: strerror(-r));
        return r;
}

int main(int argc, char *argv[]) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_free_ char *res = NULL, *err = NULL;
        _cleanup_(state_done) struct app_state s = {};
        _cleanup_close_ int lock_fd = -1;
        struct app_env e;
        const char *bad = NULL;
        bool failed = false;
        int r;

        log_setup("bluegreen-boot");
        if (argc == 2 && (streq(argv[1], "--help") || streq(argv[1], "-h"))) {
                help();
                return EXIT_SUCCESS;
        }
        if (app_env_from_environ(&e, &bad) < 0) {
                log_error("$%s is missing or malformed: run this as APP.service.", bad ?: "?");
                return 2;
        }
        /* A reload of APP.service during a deploy must not put back the color the deploy moves away from. */
        if (access(e.state_dir, F_OK) >= 0) {
                r = state_lock(e.state_dir, "boot", true, &lock_fd, NULL);
                if (r < 0)
                        return log_error_errno(r, "Failed to lock %s: %m", e.state_dir), EXIT_FAILURE;
        }
        r = bus_connect_manager(&bus);
        if (r < 0)
                return log_error_errno(r, "Failed to connect to systemd: %m"), EXIT_FAILURE;
        if (lock_fd >= 0 && settle_dead_switch(bus, &e, ROUTE_NO_JOBS) < 0)
                failed = true;
        r = state_load(e.state_dir, &s);
        if (r < 0 && r != -ENOENT)
                return log_error_errno(r, "Failed to read the state in %s: %m", e.state_dir), EXIT_FAILURE;

        /* The color is started all the same when routing failed: once the route can be set (systemctl
         * reload APP.service), traffic flows without waiting for the app's start-up. */
        if (route(bus, &e, &s) < 0)
                failed = true;
        if (s.active == _COLOR_INVALID) {
                log_info("%s has not been deployed yet: systemctl start %s-deploy@RELEASE", e.app, e.app);
                return failed ? EXIT_FAILURE : EXIT_SUCCESS;
        }

        /* Queued, not waited for: nginx (ordered after us) need not wait for the app's start-up, and the
         * color's own health gate decides whether it comes up. */
        (void) bus_unit_reset_failed(bus, unit_name(e.app, "@", color_to_string(s.active), "service"));
        r = bus_unit_job(bus, "StartUnit", unit_name(e.app, "@", color_to_string(s.active), "service"), false, 0, &res,
                         &err);
        if (r < 0)
                return log_error("Failed to start the live %s color of %s: %s", color_to_string(s.active), e.app,
                                 err ?: strerror(-r)),
                       EXIT_FAILURE;
        log_info("Starting the live %s color of %s on %s.", color_to_string(s.active), e.app,
                 s.release[s.active] ?: "?");
        return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
