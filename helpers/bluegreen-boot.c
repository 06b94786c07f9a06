/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * bluegreen-boot: the ExecStart= and ExecReload= of APP.service. First it settles a deploy or rollback
 * that died half-way (a power cut, say: see lib/switch.h). Then, before nginx starts, it routes traffic
 * as recorded: the include (or one that points at the blue port when nothing was deployed yet, so
 * nginx never fails for want of it), the redirect rule, or the live socket link (the kernel forgets the
 * rule at every boot, and the link lies on a tmpfs). Last it starts the live color, and only it, on its
 * pinned release. See bluegreen-boot(8).
 *
 * With --route-only (APP-redirect.service, run again whenever nftables.service starts, restarts or
 * reloads, each of which replaces the whole ruleset) it does the first half only:
 * settle, then set the redirect rule from the recorded state. No include, no color start: the firewall
 * took nothing else away, and a start of a color behind the firewall's back would surprise.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "appenv.h"
#include "bus.h"
#include "log.h"
#include "macro.h"
#include "nft.h"
#include "settle.h"
#include "state.h"
#include "switch.h"
#include "timeline.h"
#include "unit-name.h"

static void help(void) {
        printf("Usage: bluegreen-boot [--route-only]\n\n"
               "Brings the app described by the BLUEGREEN_* environment back as it was recorded:\n"
               "settles a deploy or rollback that died half-way, routes nginx to the live color (writes\n"
               "its include, reloading nginx when it runs and the include changed; and sets its redirect\n"
               "rule or its live socket link) and starts the live color. Run by APP.service at boot and\n"
               "on systemctl reload APP.service.\n\n"
               "  --route-only  settle, then set only the redirect rule of the live color (no include,\n"
               "                no color start); run by APP-redirect.service after the firewall\n"
               "                replaced the ruleset\n\n"
               "While nothing has been deployed and $BLUEGREEN_INITIAL_RELEASE names a release, it\n"
               "queues APP-deploy@RELEASE.service instead of starting a color.\n\n"
               "Exit status: 0 done (also when nothing was deployed yet, or --route-only in reload\n"
               "mode); 1 an interrupted deploy could not be settled, the route could not be set (the\n"
               "live color is started all the same), systemd refused to start the live color, or the\n"
               "initial release is missing or its deploy could not be queued; 2 bad environment or\n"
               "arguments.\n");
}

/* Before nginx starts: the include must exist and lead to the live color, and the stable port of the
 * redirect switch or the stable socket of the socket switch must too (the kernel forgets the rule at
 * every boot; the link lies on a tmpfs). */
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

/* A rule file says a rule was set since boot (at boot there is none, and no rule either: nothing to
 * say). The rule gone, or leading elsewhere, means someone replaced the ruleset. Read under the lock, so
 * that a switch in progress is never mistaken for a loss. */
static void notice_lost_rule(const struct app_env *e) {
        int saved, now = 0, r;

        if (e->switch_mode != SWITCH_REDIRECT || nft_redirect_saved(e, &saved) < 0)
                return;
        r = nft_redirect_get(e, &now);
        if (r >= 0 && now == saved)
                return;
        log_event(LOG_WARNING, MESSAGE_REDIRECT_LOST, e->app, NULL,
                  saved == e->port[COLOR_BLUE] ? "blue" : saved == e->port[COLOR_GREEN] ? "green" : NULL,
                  "The redirect rule of %s (port %d -> %d) %s: the ruleset was replaced (nft flush ruleset, "
                  "nft -f, or an nftables.service without bluegreen's drop-in); setting it again.",
                  e->app, e->port_live, saved, r >= 0 ? "led elsewhere" : "was gone");
}

/* --route-only: what the firewall took away is the rule, and only the rule. */
static int route_rule(const struct app_env *e, const struct app_state *s) {
        _cleanup_free_ char *reason = NULL;
        int r;

        if (s->active == _COLOR_INVALID) {
                log_info("%s has not been deployed yet: no redirect rule to set.", e->app);
                return 0;
        }
        r = nft_redirect_set(e, s->active, &reason);
        if (r < 0)
                return log_error("Failed to set the redirect rule of %s: %s", e->app, reason ?: strerror(-r)), r;
        log_info("Redirect rule of %s set: port %d -> %d (%s).", e->app, e->port_live, e->port[s->active],
                 color_to_string(s->active));
        return 0;
}

/* A machine image's first boot: nothing deployed yet, and the declaration names the release to deploy.
 * Queued, not waited for: the deploy is ordered after nginx, which is ordered after us, so waiting
 * would deadlock the boot. The deploy's own lock and settling handle one started by hand meanwhile. */
static int deploy_initial(sd_bus *bus, const struct app_env *e) {
        _cleanup_free_ char *dir = NULL, *res = NULL, *err = NULL;
        const char *unit = unit_name(e->app, "-deploy@", e->initial_release, "service");
        struct stat st;
        int r;

        if (asprintf(&dir, "%s/%s", e->releases, e->initial_release) < 0)
                return log_oom();
        if (stat(dir, &st) < 0 || !S_ISDIR(st.st_mode))
                return log_error("The initial release of %s is missing: %s is not a directory; not deploying it.",
                                 e->app, dir),
                       -ENOENT;
        r = bus_unit_job(bus, "StartUnit", unit, false, 0, &res, &err);
        if (r < 0)
                return log_error("Failed to queue %s, the initial release of %s: %s", unit, e->app, err ?: strerror(-r)),
                       r;
        log_info("%s has not been deployed yet: queued %s, its initial release.", e->app, unit);
        return 0;
}

int main(int argc, char *argv[]) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_free_ char *res = NULL, *err = NULL;
        _cleanup_(state_done) struct app_state s = {};
        _cleanup_close_ int lock_fd = -1;
        struct app_env e;
        const char *bad = NULL;
        bool failed = false, route_only = false;
        int r;

        log_setup("bluegreen-boot");
        if (argc == 2 && (streq(argv[1], "--help") || streq(argv[1], "-h"))) {
                help();
                return EXIT_SUCCESS;
        }
        if (argc == 2 && streq(argv[1], "--route-only"))
                route_only = true;
        else if (argc > 1) {
                log_error("Unknown argument %s (see --help).", argv[1]);
                return 2;
        }
        if (app_env_from_environ(&e, &bad) < 0) {
                log_error("$%s is missing or malformed: run this as APP.service.", bad ?: "?");
                return 2;
        }
        /* A unit left from before a daemon-reload that turned redirect mode off. */
        if (route_only && e.switch_mode != SWITCH_REDIRECT) {
                log_info("%s uses no redirect rule (nginx.switch is not \"redirect\"), nothing to do.", e.app);
                return EXIT_SUCCESS;
        }
        /* A reload of APP.service during a deploy must not put back the color the deploy moves away from. */
        if (access(e.state_dir, F_OK) >= 0) {
                r = state_lock(e.state_dir, route_only ? "redirect rule restore" : "boot", true, &lock_fd, NULL);
                if (r < 0)
                        return log_error_errno(r, "Failed to lock %s: %m", e.state_dir), EXIT_FAILURE;
        }
        r = bus_connect_manager(&bus);
        if (r < 0)
                return log_error_errno(r, "Failed to connect to systemd: %m"), EXIT_FAILURE;
        notice_lost_rule(&e);
        /* ROUTE_NO_JOBS from APP-redirect.service too: it may run at boot, while nginx's start job is
         * queued behind APP.service. */
        if (lock_fd >= 0 && settle_dead_switch(bus, &e, ROUTE_NO_JOBS) < 0)
                failed = true;
        r = state_load(e.state_dir, &s);
        if (r < 0 && r != -ENOENT)
                return log_error_errno(r, "Failed to read the state in %s: %m", e.state_dir), EXIT_FAILURE;
        if (route_only)
                return route_rule(&e, &s) < 0 || failed ? EXIT_FAILURE : EXIT_SUCCESS;

        /* The color is started all the same when routing failed: once the route can be set (systemctl
         * reload APP.service), traffic flows without waiting for the app's start-up. */
        if (route(bus, &e, &s) < 0)
                failed = true;
        if (s.active == _COLOR_INVALID && *e.initial_release) {
                if (deploy_initial(bus, &e) < 0)
                        failed = true;
                return failed ? EXIT_FAILURE : EXIT_SUCCESS;
        }
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
