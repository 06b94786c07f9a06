/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * bluegreenctl: what is live. Reads the parameters the generator wrote, the recorded state and, over
 * sd-bus, what systemd says of each color, retire timer and watch. See bluegreenctl(1).
 */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "appenv.h"
#include "auto-history.h"
#include "bus.h"
#include "decl.h"
#include "json.h"
#include "live-failure.h"
#include "log.h"
#include "macro.h"
#include "nft.h"
#include "socket-link.h"
#include "state.h"
#include "switch.h"
#include "unit-name.h"
#include "verbs.h"
#include "watch-units.h"

#define EXIT_NOT_RUNNING 3
#define EXIT_NO_SUCH_APP 4
#define EXIT_INCONSISTENT 5
#define EXIT_USAGE 64
#define HISTORY_LINES 5

static bool arg_json;

static void help(void) {
        printf("Usage: bluegreenctl [--json] status [APP...]\n\n"
               "Shows, for each bluegreen app (or the ones named), the live color, the release and\n"
               "unit state of each color, when the old color retires, a watch that runs, the last\n"
               "automatic rollback or failover, and the last deploys.\n\n"
               "  --json      print JSON instead of text\n"
               "  -h, --help  show this help\n\n"
               "Exit status: 0 every live color is running; 1 error; 3 an app's live color is not\n"
               "running; 4 no such app; 5 an app's route and recorded state disagree, or a deploy\n"
               "or rollback died half-way and is not settled yet (the reason is shown); 64 bad usage.\n"
               "With several apps, the most serious wins: 1, then 4, then 5, then 3.\n\n"
               "The other commands (each with its own --help):\n"
               "  verify [--name APP] [FILE|APP...]    check declarations as the generator does\n"
               "  deploy [--no-block] APP RELEASE      deploy, showing each step as it happens\n"
               "  rollback [--no-block] APP            roll back, showing each step as it happens\n"
               "  releases [-q] APP                    the release directories and what holds them\n"
               "  prune --keep N [--dry-run] APP       remove the oldest releases nothing holds\n"
               "  history [-n N] APP                   deploys, rollbacks and retirements, newest first\n"
               "  maintenance APP [on [-m TEXT] | off] a 503 page instead of the app, or back to the live color\n");
}

static const char *generator_dir(void) {
        /* systemd's normal generator output directory; a test may point elsewhere. */
        return getenv("BLUEGREEN_GENERATOR_DIR") ?: "/run/systemd/generator";
}

struct color_info {
        char *active_state;
        char *sub_state;
        char *timer_state;
        long long retire_in_s; /* -1: no pending retirement */
};

static void color_info_load(sd_bus *bus, const char *app, enum color c, struct color_info *ci) {
        uint64_t next = 0;
        struct timespec mono;

        memset(ci, 0, sizeof *ci);
        ci->retire_in_s = -1;
        if (!bus)
                return;
        (void) bus_unit_get_string(bus, unit_name(app, "@", color_to_string(c), "service"), "org.freedesktop.systemd1.Unit",
                                   "ActiveState", &ci->active_state);
        (void) bus_unit_get_string(bus, unit_name(app, "@", color_to_string(c), "service"), "org.freedesktop.systemd1.Unit",
                                   "SubState", &ci->sub_state);
        (void) bus_unit_get_string(bus, unit_name(app, "-retire@", color_to_string(c), "timer"),
                                   "org.freedesktop.systemd1.Unit", "ActiveState", &ci->timer_state);
        if (ci->timer_state && streq(ci->timer_state, "active") &&
            bus_unit_get_u64(bus, unit_name(app, "-retire@", color_to_string(c), "timer"), "org.freedesktop.systemd1.Timer",
                             "NextElapseUSecMonotonic", 't', &next) >= 0 &&
            next > 0 && next != UINT64_MAX) {
                clock_gettime(CLOCK_MONOTONIC, &mono);
                long long now = (long long) mono.tv_sec * 1000000 + mono.tv_nsec / 1000;
                ci->retire_in_s = next > (uint64_t) now ? (long long) ((next - (uint64_t) now) / 1000000) : 0;
        }
}

static void color_info_done(struct color_info *ci) {
        free(ci->active_state);
        free(ci->sub_state);
        free(ci->timer_state);
}

/* What bluegreen does, or did, on its own: the watch that runs, the last automatic rollback or
 * failover, and a live color that failed for good. */
struct auto_info {
        struct watch_unit *watches;
        size_t n_watches;
        long long watch_left_s; /* -1: unknown */
        struct auto_event last;
        bool has_last;
        bool live_failed;
        struct live_failure failure;
        char hint[512];
};

static void auto_info_load(sd_bus *bus, const struct app_env *e, const struct app_state *s, struct auto_info *a) {
        struct timespec mono;

        *a = (struct auto_info) { .watch_left_s = -1 };
        a->has_last = auto_history_last(e->state_dir, &a->last) > 0;
        if (!bus)
                return;
        (void) watch_units_running(bus, e->app, &a->watches, &a->n_watches);
        if (a->n_watches > 0 && a->watches[0].active_since_usec > 0) {
                long long end = (long long) a->watches[0].active_since_usec + e->watch_duration_s * 1000000LL, now;

                clock_gettime(CLOCK_MONOTONIC, &mono);
                now = (long long) mono.tv_sec * 1000000 + mono.tv_nsec / 1000;
                a->watch_left_s = end > now ? (end - now) / 1000000 : 0;
        }
        /* Without probing: as another user, a socket-mode color cannot be probed, and its unit being
         * active is what a failover asks first. */
        if (s->active != _COLOR_INVALID &&
            live_failure_check(bus, e, s->active, false, &a->failure) > 0) {
                a->live_failed = true;
                if (a->failure.other_warm)
                        snprintf(a->hint, sizeof a->hint,
                                 "the %s color is warm: %s fails over to it (if it did not: systemctl start "
                                 "%s-rollback)",
                                 color_to_string(color_other(s->active)),
                                 unit_name(e->app, "-failover@", color_to_string(s->active), "service"), e->app);
                else
                        live_failure_hint(e, s->active, s->release[s->active], a->hint, sizeof a->hint);
        }
}

static void auto_info_done(struct auto_info *a) {
        watch_units_free(a->watches, a->n_watches);
}

static const char *outcome_text(const char *outcome) {
        if (streq(outcome, "rollback"))
                return "";
        if (streq(outcome, "rollback-failed"))
                return " (IT FAILED: see its journal)";
        if (streq(outcome, "rollback-interrupted"))
                return " (IT WAS INTERRUPTED and undone: systemctl start the rollback again)";
        return " (not completed)";
}

static void auto_info_print(const struct app_env *e, const struct app_state *s, const struct auto_info *a) {
        for (size_t k = 0; k < a->n_watches; k++) {
                printf("  watch: %s", a->watches[k].release);
                if (k == 0 && a->watch_left_s >= 0)
                        printf(", %llds left", a->watch_left_s);
                printf(" (%s)\n", a->watches[k].unit);
        }
        if (a->live_failed)
                printf("  FAILED: the live color %s failed for good (%s), %s%s\n", color_to_string(s->active),
                       *a->failure.result ? a->failure.result : "failed",
                       a->failure.other_warm ? "" : "no warm color: ", a->hint);
        if (a->has_last)
                printf("  last %s: %s, %s -> %s (%s): %s%s\n", a->last.event, a->last.when, a->last.from,
                       a->last.release, a->last.color >= 0 ? color_to_string(a->last.color) : "?", a->last.reason,
                       outcome_text(a->last.outcome));
}

static void auto_info_json(const struct app_state *s, const struct auto_info *a) {
        printf(",\"watch\":");
        if (a->n_watches > 0) {
                printf("{\"release\":");
                json_string(a->watches[0].release);
                printf(",\"unit\":");
                json_string(a->watches[0].unit);
                printf(",\"left_s\":");
                if (a->watch_left_s >= 0)
                        printf("%lld}", a->watch_left_s);
                else
                        printf("null}");
        } else
                printf("null");
        printf(",\"live_failed\":");
        if (a->live_failed) {
                printf("{\"result\":");
                json_string_or_null(a->failure.result);
                printf(",\"warm_color\":");
                json_string_or_null(a->failure.other_warm ? color_to_string(color_other(s->active)) : NULL);
                printf(",\"hint\":");
                json_string(a->hint);
                printf("}");
        } else
                printf("null");
        printf(",\"last_auto_rollback\":");
        if (a->has_last) {
                printf("{\"event\":");
                json_string(a->last.event);
                printf(",\"time\":");
                json_string(a->last.when);
                printf(",\"from\":");
                json_string(a->last.from);
                printf(",\"release\":");
                json_string(a->last.release);
                printf(",\"color\":");
                json_string_or_null(a->last.color >= 0 ? color_to_string(a->last.color) : NULL);
                printf(",\"reason\":");
                json_string(a->last.reason);
                printf(",\"outcome\":");
                json_string_or_null(a->last.outcome);
                printf("}");
        } else
                printf("null");
}

/* What bluegreen cannot explain yet, in one line: a deploy or rollback that died half-way, or a route
 * that leads elsewhere than the state says. NULL when all agree. */
static char *consistency_problem(sd_bus *bus, const struct app_env *e, const struct app_state *s) {
        _cleanup_(switch_intent_done) struct switch_intent i = {};
        enum color routed;
        bool pending;
        char *p = NULL;
        int r;

        r = switch_intent_load(e->state_dir, &i);
        if (r >= 0) {
                (void) asprintf(&p,
                                "the %s of %s to the %s color did not finish (it stopped at phase %s): the next deploy, "
                                "rollback, retirement or systemctl reload %s.service settles it",
                                i.event, i.release, color_to_string(i.to), switch_phase_to_string(i.phase), e->app);
                return p;
        }
        if (r != -ENOENT) {
                (void) asprintf(&p, "%s/intent is unreadable: %s", e->state_dir, strerror(-r));
                return p;
        }
        r = route_get(bus, e, &routed, &pending);
        if (r == -EPERM)
                return NULL; /* reading the rule needs root; said on the switch line */
        if (r < 0) {
                (void) asprintf(&p, "cannot read the route (%s): %s",
                                e->switch_mode == SWITCH_REDIRECT ? "redirect rule"
                                : e->switch_mode == SWITCH_SOCKET ? e->socket_live
                                                                  : e->nginx_include,
                                strerror(-r));
                return p;
        }
        if (pending)
                (void) asprintf(&p, "nginx has not loaded %s since it was written: systemctl reload %s.service",
                                e->nginx_include, e->app);
        else if (s->active != _COLOR_INVALID && routed != s->active &&
                 !(routed == _COLOR_INVALID && state_maintenance_get(e->state_dir, NULL) > 0))
                (void) asprintf(&p, "the route leads to %s but the state says %s is live: systemctl reload %s.service",
                                routed == _COLOR_INVALID ? "neither color" : color_to_string(routed),
                                color_to_string(s->active), e->app);
        return p;
}

/* "switch: socket, /run/bluegreen/APP/live.sock -> green/http.sock (green)" */
static void socket_line_print(const struct app_env *e, sd_bus *bus) {
        _cleanup_free_ char *st = NULL;
        enum color to = _COLOR_INVALID;
        char target[4096];
        ssize_t n;

        printf("  switch: socket, %s -> ", e->socket_live);
        n = readlink(e->socket_live, target, sizeof target - 1);
        if (n >= 0 && socket_link_get(e, &to) >= 0) {
                target[n] = 0;
                printf("%s (%s)\n", target, to >= 0 ? color_to_string(to) : "?");
                return;
        }
        /* A failed unit cannot be reloaded; starting it restarts nothing either. */
        if (bus)
                (void) bus_unit_get_string(bus, unit_name(e->app, "", NULL, "service"), "org.freedesktop.systemd1.Unit",
                                           "ActiveState", &st);
        printf("(NO LINK: systemctl %s %s.service)\n", st && streq(st, "active") ? "reload" : "start", e->app);
}

/* Redirect mode: whether a restart of the firewall keeps the rule. 1: systemd loaded the generator's
 * drop-in into nftables.service (asked, not guessed from the file: one of the admin's under the same
 * name would hide it); 0: nftables.service runs without it (commands of the admin's own, which the
 * generator leaves alone); -ENOENT: no nftables.service, or systemd cannot be asked. */
static int firewall_keeps_rule(sd_bus *bus) {
        _cleanup_free_ char *dropin = NULL, *load = NULL;
        const char *unit = "nftables.service", *iface = "org.freedesktop.systemd1.Unit";
        int r;

        if (!bus || bus_unit_get_string(bus, unit, iface, "LoadState", &load) < 0 || !streq(load, "loaded"))
                return -ENOENT;
        if (asprintf(&dropin, "%s/nftables.service.d/bluegreen-redirect.conf", generator_dir()) < 0)
                return -ENOMEM;
        r = bus_unit_strv_contains(bus, unit, iface, "DropInPaths", dropin);
        return r < 0 ? -ENOENT : r;
}

static void firewall_line_print(const struct app_env *e, sd_bus *bus) {
        int k = firewall_keeps_rule(bus);

        if (k > 0)
                printf("  firewall: nftables.service loads the rule with its ruleset\n");
        else if (k == 0)
                printf("  firewall: nftables.service has commands of its own, left alone by the generator "
                       "(journalctl -b -t bluegreen-generator): unless they load the rule, its restarts drop it "
                       "until %s-redirect.service sets it again\n",
                       e->app);
}

static int show_app(sd_bus *bus, const char *app, bool first) {
        if (!app_name_is_valid(app))
                return log_error("\"%s\" is not a valid app name.", app), -ENOENT;
        _cleanup_free_ char *path = NULL;
        struct color_info ci[2];
        struct app_env e;
        struct app_state s;
        const char *bad = NULL;
        char **hist = NULL;
        int n_hist = 0, r, ret = 0;

        if (asprintf(&path, "%s/bluegreen/%s/app.env", generator_dir(), app) < 0)
                return log_oom();
        r = app_env_from_file(path, &e, &bad);
        if (r == -ENOENT)
                return log_error("No app \"%s\": no %s (is /etc/bluegreen/%s.conf there, and was systemctl daemon-reload run?)",
                                 app, path, app),
                       -ENOENT;
        if (r < 0)
                return log_error_errno(r, "Failed to read %s%s%s: %m", path, bad ? ", at " : "", bad ?: ""), r;
        r = state_load(e.state_dir, &s);
        if (r < 0 && r != -ENOENT) {
                log_error_errno(r, "Failed to read the state in %s: %m", e.state_dir);
                app_env_done(&e);
                return r;
        }
        (void) state_history_tail(e.state_dir, HISTORY_LINES, &hist, &n_hist);
        for (int c = 0; c < 2; c++)
                color_info_load(bus, app, c, &ci[c]);

        bool live_running = s.active != _COLOR_INVALID && ci[s.active].active_state &&
                            streq(ci[s.active].active_state, "active");
        if (s.active != _COLOR_INVALID && !live_running)
                ret = 1;
        _cleanup_free_ char *problem = consistency_problem(bus, &e, &s);
        if (problem)
                ret = 2;
        struct auto_info ai;
        auto_info_load(bus, &e, &s, &ai);
        _cleanup_free_ char *maintenance_message = NULL;
        int maintenance = state_maintenance_get(e.state_dir, &maintenance_message);

        if (arg_json) {
                printf("%s{\"app\":", first ? "" : ",");
                json_string(app);
                printf(",\"live\":");
                if (s.active == _COLOR_INVALID)
                        printf("null");
                else
                        json_string(color_to_string(s.active));
                printf(",\"live_running\":%s,\"problem\":", live_running ? "true" : "false");
                if (problem)
                        json_string(problem);
                else
                        printf("null");
                printf(",\"nginx_include\":");
                json_string(e.nginx_include);
                printf(",\"switch\":");
                json_string(switch_mode_to_string(e.switch_mode));
                if (e.switch_mode == SWITCH_REDIRECT) {
                        int to = 0;

                        printf(",\"live_port\":%d,\"redirect_to\":", e.port_live);
                        if (nft_redirect_get(&e, &to) >= 0)
                                printf("%d", to);
                        else
                                printf("null");
                        r = firewall_keeps_rule(bus);
                        printf(",\"firewall_keeps_rule\":%s", r > 0 ? "true" : r == 0 ? "false" : "null");
                }
                if (e.switch_mode == SWITCH_SOCKET) {
                        enum color to = _COLOR_INVALID;

                        printf(",\"live_socket\":");
                        json_string(e.socket_live);
                        printf(",\"socket_to\":");
                        json_string_or_null(socket_link_get(&e, &to) >= 0 && to >= 0 ? color_to_string(to) : NULL);
                }
                printf(",\"colors\":{");
                for (int c = 0; c < 2; c++) {
                        printf("%s", c ? "," : "");
                        json_string(color_to_string(c));
                        printf(":{\"port\":%d,", e.port[c]);
                        if (e.switch_mode == SWITCH_SOCKET) {
                                printf("\"socket\":");
                                json_string(e.socket[c]);
                                printf(",");
                        }
                        printf("\"release\":");
                        if (s.release[c])
                                json_string(s.release[c]);
                        else
                                printf("null");
                        printf(",\"unit\":");
                        json_string(unit_name(app, "@", color_to_string(c), "service"));
                        printf(",\"active_state\":");
                        json_string(ci[c].active_state ?: "unknown");
                        printf(",\"sub_state\":");
                        json_string(ci[c].sub_state ?: "unknown");
                        printf(",\"retires_in_s\":");
                        if (ci[c].retire_in_s >= 0)
                                printf("%lld", ci[c].retire_in_s);
                        else
                                printf("null");
                        printf("}");
                }
                printf("}");
                auto_info_json(&s, &ai);
                printf(",\"maintenance\":");
                if (maintenance > 0)
                        json_string(maintenance_message);
                else
                        printf("null");
                printf(",\"history\":[");
                for (int i = 0; i < n_hist; i++) {
                        printf("%s", i ? "," : "");
                        json_string(hist[i]);
                }
                printf("]}");
        } else {
                printf("%s%s: ", first ? "" : "\n", app);
                if (s.active == _COLOR_INVALID)
                        printf("not deployed yet (systemctl start %s-deploy@RELEASE)\n", app);
                else
                        printf("live %s, release %s%s\n", color_to_string(s.active), s.release[s.active] ?: "?",
                               live_running ? "" : "  (LIVE COLOR NOT RUNNING)");
                for (int c = 0; c < 2; c++) {
                        char retire[64] = "", where[32] = "socket";

                        if (ci[c].retire_in_s >= 0)
                                snprintf(retire, sizeof retire, ", retires in %llds", ci[c].retire_in_s);
                        if (e.switch_mode != SWITCH_SOCKET)
                                snprintf(where, sizeof where, "port %d", e.port[c]);
                        printf("  %-5s %-6s %-10s %-24s %s (%s)%s\n", color_to_string(c),
                               s.active == c ? "LIVE" : "", where, s.release[c] ?: "-",
                               ci[c].active_state ?: "unknown", ci[c].sub_state ?: "unknown", retire);
                }
                auto_info_print(&e, &s, &ai);
                if (maintenance > 0)
                        printf("  MAINTENANCE: nginx answers 503%s%s%s (bluegreenctl maintenance %s off)\n",
                               *maintenance_message ? ": \"" : "", maintenance_message,
                               *maintenance_message ? "\"" : "", app);
                if (problem)
                        printf("  PROBLEM: %s\n", problem);
                printf("  nginx include: %s\n", e.nginx_include);
                if (e.switch_mode == SWITCH_REDIRECT) {
                        int to = 0, k = nft_redirect_get(&e, &to);

                        if (k >= 0)
                                printf("  switch: redirect, port %d -> %d (%s)\n", e.port_live, to,
                                       to == e.port[COLOR_BLUE] ? "blue" : to == e.port[COLOR_GREEN] ? "green" : "?");
                        else if (k == -EPERM)
                                printf("  switch: redirect, port %d -> (run as root to read the rule)\n", e.port_live);
                        else {
                                _cleanup_free_ char *st = NULL;

                                /* A failed unit cannot be reloaded; starting it restarts nothing either. */
                                if (bus)
                                        (void) bus_unit_get_string(bus, unit_name(app, "", NULL, "service"),
                                                                   "org.freedesktop.systemd1.Unit", "ActiveState", &st);
                                printf("  switch: redirect, port %d -> (NO RULE: systemctl %s %s.service)\n", e.port_live,
                                       st && streq(st, "active") ? "reload" : "start", app);
                        }
                        firewall_line_print(&e, bus);
                } else if (e.switch_mode == SWITCH_SOCKET)
                        socket_line_print(&e, bus);
                else
                        printf("  switch: %s\n", switch_mode_to_string(e.switch_mode));
                if (n_hist > 0) {
                        printf("  history:\n");
                        for (int i = 0; i < n_hist; i++)
                                printf("    %s\n", hist[i]);
                }
        }

        for (int i = 0; i < n_hist; i++)
                free(hist[i]);
        free(hist);
        for (int c = 0; c < 2; c++)
                color_info_done(&ci[c]);
        auto_info_done(&ai);
        state_done(&s);
        app_env_done(&e);
        return ret;
}

static int list_apps(char ***ret, int *n_ret) {
        _cleanup_free_ char *dir = NULL;
        _cleanup_(closedirp) DIR *d = NULL;
        struct dirent *de;
        char **l = NULL;
        int n = 0;

        if (asprintf(&dir, "%s/bluegreen", generator_dir()) < 0)
                return -ENOMEM;
        d = opendir(dir);
        if (!d) {
                *ret = NULL;
                *n_ret = 0;
                return errno == ENOENT ? 0 : negative_errno();
        }
        while ((de = readdir(d))) {
                char **nl;

                if (de->d_name[0] == '.' || !app_name_is_valid(de->d_name))
                        continue;
                nl = realloc(l, sizeof(char *) * (size_t) (n + 1));
                if (!nl)
                        return -ENOMEM;
                l = nl;
                l[n++] = strdup(de->d_name);
        }
        *ret = l;
        *n_ret = n;
        return 0;
}

static int cmp_str(const void *a, const void *b) {
        return strcmp(*(char *const *) a, *(char *const *) b);
}

/* With several apps, the exit status is that of the most serious finding, whatever their order:
 * an error, then a missing app, then a route or state to settle, then a live color not running. */
static int worse(int a, int b) {
        static const int rank[] = { [EXIT_SUCCESS] = 0, [EXIT_NOT_RUNNING] = 1, [EXIT_INCONSISTENT] = 2,
                                    [EXIT_NO_SUCH_APP] = 3, [EXIT_FAILURE] = 4 };

        return rank[b] > rank[a] ? b : a;
}

int main(int argc, char *argv[]) {
        static const struct option options[] = {
                { "json", no_argument, NULL, 'j' },
                { "help", no_argument, NULL, 'h' },
                {},
        };
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        char **apps = NULL;
        int c, n_apps = 0, r, ret = EXIT_SUCCESS;

        log_setup("bluegreenctl");
        /* The other commands, each with options of its own: ctl/verbs.h. */
        r = verb_dispatch(argc, argv);
        if (r >= 0)
                return r;
        while ((c = getopt_long(argc, argv, "h", options, NULL)) >= 0)
                switch (c) {
                case 'j':
                        arg_json = true;
                        break;
                case 'h':
                        help();
                        return EXIT_SUCCESS;
                default:
                        return EXIT_USAGE;
                }
        if (optind < argc && !streq(argv[optind], "status")) {
                log_error("Unknown command \"%s\" (see --help).", argv[optind]);
                return EXIT_USAGE;
        }
        if (optind < argc)
                optind++;

        if (optind < argc) {
                apps = argv + optind;
                n_apps = argc - optind;
        } else {
                r = list_apps(&apps, &n_apps);
                if (r < 0)
                        return log_error_errno(r, "Failed to list apps: %m"), EXIT_FAILURE;
                if (n_apps > 1)
                        qsort(apps, (size_t) n_apps, sizeof(char *), cmp_str);
        }

        r = bus_connect_manager(&bus);
        if (r < 0) {
                log_warning_errno(r, "Cannot ask systemd for unit states: %m");
                bus = NULL;
        }

        if (arg_json)
                printf("[");
        else if (n_apps == 0)
                printf("No bluegreen apps: declare one in /etc/bluegreen/APP.conf and run systemctl daemon-reload.\n");
        for (int i = 0, shown = 0; i < n_apps; i++) {
                r = show_app(bus, apps[i], shown == 0);
                if (r >= 0)
                        shown++;
                ret = worse(ret, r == -ENOENT ? EXIT_NO_SUCH_APP
                                 : r < 0      ? EXIT_FAILURE
                                 : r == 2     ? EXIT_INCONSISTENT
                                 : r == 1     ? EXIT_NOT_RUNNING
                                              : EXIT_SUCCESS);
        }
        if (arg_json)
                printf("]\n");
        return ret;
}
