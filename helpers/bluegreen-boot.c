/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * bluegreen-boot: the ExecStart= of APP.service. Before nginx starts it writes the include from the
 * recorded state (or one that points at the blue port when nothing was deployed yet, so nginx never
 * fails for want of it), then starts the live color, and only it, on its pinned release.
 * See bluegreen-boot(8).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "appenv.h"
#include "bus.h"
#include "flow.h"
#include "log.h"
#include "macro.h"
#include "nginx.h"
#include "nft.h"
#include "state.h"

static void help(void) {
        printf("Usage: bluegreen-boot\n\n"
               "Brings the app described by the BLUEGREEN_* environment back as it was recorded:\n"
               "writes its nginx include, sets its redirect rule (redirect switch) and starts its live\n"
               "color. Run by APP.service at boot and on systemctl reload APP.service.\n\n"
               "Exit status: 0 done (also when nothing was deployed yet); 1 the include could not be\n"
               "written, nftables refused the redirect rule (the live color is started all the same),\n"
               "or systemd refused to start the live color; 2 bad environment.\n");
}

int main(int argc, char *argv[]) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_free_ char *include = NULL, *res = NULL, *err = NULL;
        _cleanup_close_ int lock_fd = -1;
        struct app_env e;
        struct app_state s;
        const char *bad = NULL;
        enum color live;
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
        r = state_load(e.state_dir, &s);
        if (r < 0 && r != -ENOENT)
                return log_error_errno(r, "Failed to read the state in %s: %m", e.state_dir), EXIT_FAILURE;
        live = s.active;

        r = nginx_render_include(&e, live == _COLOR_INVALID ? COLOR_BLUE : live,
                                 live == _COLOR_INVALID ? NULL : s.release[live], &include);
        if (r >= 0)
                r = nginx_write_include(&e, include);
        if (r < 0)
                return log_error_errno(r, "Failed to write %s: %m", e.nginx_include), EXIT_FAILURE;

        /* Before nginx starts: its stable port must lead to the live color (the kernel forgets the
         * rule at every boot). */
        bool rule_failed = false;
        if (e.switch_mode == SWITCH_REDIRECT && live != _COLOR_INVALID) {
                _cleanup_free_ char *reason = NULL;

                /* The color is started all the same: once the rule can be set (systemctl reload
                 * APP.service), traffic flows without waiting for the app's start-up. */
                r = nft_redirect_set(&e, live, &reason);
                if (r < 0) {
                        log_error("%s", reason ?: "Failed to set the redirect.");
                        rule_failed = true;
                }
        }

        if (live == _COLOR_INVALID) {
                log_info("%s has not been deployed yet: systemctl start %s-deploy@RELEASE", e.app, e.app);
                return EXIT_SUCCESS;
        }

        r = bus_connect_manager(&bus);
        if (r < 0)
                return log_error_errno(r, "Failed to connect to systemd: %m"), EXIT_FAILURE;
        /* Queued, not waited for: nginx (ordered after us) need not wait for the app's start-up, and the
         * color's own health gate decides whether it comes up. */
        (void) bus_unit_reset_failed(bus, unit_name(e.app, "@", color_to_string(live), "service"));
        r = bus_unit_job(bus, "StartUnit", unit_name(e.app, "@", color_to_string(live), "service"), false, 0, &res, &err);
        if (r < 0)
                return log_error("Failed to start the live %s color of %s: %s", color_to_string(live), e.app,
                                 err ?: strerror(-r)),
                       EXIT_FAILURE;
        log_info("Starting the live %s color of %s on %s.", color_to_string(live), e.app, s.release[live] ?: "?");
        return rule_failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
