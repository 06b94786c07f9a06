/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * bluegreenctl maintenance APP [on [--message TEXT] | off]: puts the app in maintenance, where nginx
 * answers its requests with a 503 page and the colors keep running, or back on its live color; without
 * on or off it says which. The flag is STATE_DIR/maintenance (lib/state.h); the include that serves the
 * page is rendered from it (lib/nginx.h), so every later switch and every boot keep it until off.
 */
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app-params.h"
#include "bus.h"
#include "json.h"
#include "log.h"
#include "macro.h"
#include "nginx.h"
#include "settle.h"
#include "state.h"
#include "switch.h"
#include "timeline.h"
#include "verbs.h"

static void help(void) {
        printf("Usage: bluegreenctl maintenance [--json] APP [on [--message TEXT] | off]\n\n"
               "on: nginx answers every request to APP with a 503 page (Retry-After: %d) that shows\n"
               "TEXT, while both colors keep running; it lasts across deploys and reboots.\n"
               "off: traffic goes back to the live color. Without on or off: whether APP is in\n"
               "maintenance, and with which message.\n\n"
               "  -m, --message TEXT  the page's message: printable UTF-8, at most %d bytes\n"
               "  --json              print the state as a JSON object\n"
               "  -h, --help          show this help\n\n"
               "Exit status: 0 done or shown; 1 error (nginx refused the include: nothing changed);\n"
               "2 no such app; 4 a deploy, rollback or retirement holds the app's lock; 64 bad usage.\n",
               NGINX_MAINTENANCE_RETRY_AFTER_S, STATE_MAINTENANCE_MESSAGE_MAX);
}

static int show(const struct app_env *e, bool json) {
        _cleanup_free_ char *message = NULL, *include = NULL;
        bool served;
        int r;

        r = state_maintenance_get(e->state_dir, &message);
        if (r < 0)
                return log_error_errno(r, "Failed to read %s/maintenance: %m", e->state_dir), EXIT_FAILURE;
        /* What nginx is given, which a failed switch or a stopped nginx may leave behind the flag. */
        served = nginx_read_include(e, &include) >= 0 && nginx_include_is_maintenance(include);
        if (json) {
                printf("{\"app\":");
                json_string(e->app);
                printf(",\"maintenance\":%s,\"message\":", r > 0 ? "true" : "false");
                json_string_or_null(message);
                printf(",\"include_in_maintenance\":%s}\n", served ? "true" : "false");
        } else if (r > 0)
                printf("%s: maintenance ON%s%s%s\n", e->app, *message ? ": \"" : "", message, *message ? "\"" : "");
        else
                printf("%s: maintenance off\n", e->app);
        if (!json && (r > 0) != served)
                printf("  but %s %s the maintenance page: systemctl reload %s.service\n", e->nginx_include,
                       served ? "still serves" : "does not serve", e->app);
        return EXIT_SUCCESS;
}

/* The include rendered from the flag, through the switch (nginx -t, reload, the old include back on
 * failure); the flag goes back as it was when nginx refuses. */
static int apply(const struct app_env *e, const char *message) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_(state_done) struct app_state s = {};
        _cleanup_free_ char *holder = NULL, *before = NULL, *reason = NULL;
        _cleanup_close_ int lock_fd = -1;
        struct timeline tl;
        int was, r;

        r = state_lock(e->state_dir, "bluegreenctl maintenance", false, &lock_fd, &holder);
        if (r == -EBUSY)
                return log_error("%s is busy: %s holds %s/lock; try again when it is done.", e->app,
                                 holder ?: "another program", e->state_dir),
                       VERB_EXIT_LOCKED;
        if (r < 0)
                return log_error_errno(r, "Failed to lock %s: %m", e->state_dir), EXIT_FAILURE;
        r = bus_connect_manager(&bus);
        if (r < 0)
                return log_error_errno(r, "Failed to connect to systemd: %m"), EXIT_FAILURE;
        if (settle_dead_switch(bus, e, 0) < 0)
                return EXIT_FAILURE;
        r = state_load(e->state_dir, &s);
        if (r < 0)
                return log_error_errno(r, "Failed to read the state in %s: %m", e->state_dir), EXIT_FAILURE;
        was = state_maintenance_get(e->state_dir, &before);
        if (was < 0 && message)
                was = 0; /* an unreadable flag is replaced */
        r = state_maintenance_set(e->state_dir, message);
        if (r < 0)
                return log_error_errno(r, "Failed to write %s/maintenance: %m", e->state_dir), EXIT_FAILURE;

        timeline_start(&tl);
        r = route_set(bus, e, s.active, s.active >= 0 ? s.release[s.active] : NULL, 0, &tl, &reason);
        if (r < 0) {
                if (was >= 0)
                        (void) state_maintenance_set(e->state_dir, was > 0 ? before : NULL);
                return log_error("Failed to turn maintenance of %s %s: %s", e->app, message ? "on" : "off",
                                 reason ?: strerror(-r)),
                       EXIT_FAILURE;
        }
        if (message)
                printf("%s: maintenance ON: nginx answers 503 (Retry-After: %d); the colors keep running.\n", e->app,
                       NGINX_MAINTENANCE_RETRY_AFTER_S);
        else if (s.active >= 0)
                printf("%s: maintenance off: traffic goes to the live %s color, release %s.\n", e->app,
                       color_to_string(s.active), s.release[s.active] ?: "?");
        else
                printf("%s: maintenance off (nothing deployed yet).\n", e->app);
        return EXIT_SUCCESS;
}

int verb_maintenance(int argc, char *argv[]) {
        static const struct option options[] = {
                { "message", required_argument, NULL, 'm' },
                { "json", no_argument, NULL, 'j' },
                { "help", no_argument, NULL, 'h' },
                {},
        };
        _cleanup_(app_env_done) struct app_env e = {};
        const char *message = NULL, *what = NULL, *bad;
        char reason[1024];
        bool json = false;
        int c, r;

        while ((c = getopt_long(argc, argv, "hm:", options, NULL)) >= 0)
                switch (c) {
                case 'm':
                        message = optarg;
                        break;
                case 'j':
                        json = true;
                        break;
                case 'h':
                        help();
                        return EXIT_SUCCESS;
                default:
                        return VERB_EXIT_USAGE;
                }
        if (argc - optind < 1 || argc - optind > 2)
                return log_error("Expected the app, then on or off (see --help)."), VERB_EXIT_USAGE;
        if (argc - optind == 2) {
                what = argv[optind + 1];
                if (!streq(what, "on") && !streq(what, "off"))
                        return log_error("Expected on or off after the app, not \"%s\".", what), VERB_EXIT_USAGE;
        }
        if (message && (!what || streq(what, "off")))
                return log_error("--message goes with on."), VERB_EXIT_USAGE;
        bad = message ? state_maintenance_message_check(message) : NULL;
        if (bad)
                return log_error("--message: the message %s.", bad), VERB_EXIT_USAGE;
        r = app_params_load(argv[optind], &e, reason, sizeof reason);
        if (r < 0)
                return log_error("%s", reason), r == -ENOENT ? VERB_EXIT_NO_SUCH_APP : EXIT_FAILURE;
        if (!what)
                return show(&e, json);
        return apply(&e, streq(what, "on") ? message ?: "" : NULL);
}
