/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * bluegreenctl: what is live. Reads the parameters the generator wrote, the recorded state and, over
 * sd-bus, what systemd says of each color and retire timer. See bluegreenctl(1).
 */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "appenv.h"
#include "bus.h"
#include "decl.h"
#include "log.h"
#include "macro.h"
#include "nft.h"
#include "state.h"
#include "switch.h"
#include "unit-name.h"

#define EXIT_NOT_RUNNING 3
#define EXIT_NO_SUCH_APP 4
#define EXIT_INCONSISTENT 5
#define EXIT_USAGE 64
#define HISTORY_LINES 5

static bool arg_json;

static void help(void) {
        printf("Usage: bluegreenctl [--json] status [APP...]\n\n"
               "Shows, for each bluegreen app (or the ones named), the live color, the release and\n"
               "unit state of each color, when the old color retires, and the last deploys.\n\n"
               "  --json      print JSON instead of text\n"
               "  -h, --help  show this help\n\n"
               "Exit status: 0 every live color is running; 1 error; 3 an app's live color is not\n"
               "running; 4 no such app; 5 an app's route and recorded state disagree, or a deploy\n"
               "or rollback died half-way and is not settled yet (the reason is shown); 64 bad usage.\n"
               "With several apps, the most serious wins: 1, then 4, then 5, then 3.\n");
}

static const char *generator_dir(void) {
        /* systemd's normal generator output directory; a test may point elsewhere. */
        return getenv("BLUEGREEN_GENERATOR_DIR") ?: "/run/systemd/generator";
}

static void json_string(const char *s) {
        putchar('"');
        for (; s && *s; s++) {
                unsigned char c = (unsigned char) *s;

                if (c == '"' || c == '\\')
                        printf("\\%c", c);
                else if (c < 0x20)
                        printf("\\u%04x", c);
                else
                        putchar(c);
        }
        putchar('"');
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
                (void) asprintf(&p, "cannot read the route (%s): %s", e->switch_mode == SWITCH_REDIRECT ? "redirect rule" : e->nginx_include,
                                strerror(-r));
                return p;
        }
        if (pending)
                (void) asprintf(&p, "nginx has not loaded %s since it was written: systemctl reload %s.service",
                                e->nginx_include, e->app);
        else if (s->active != _COLOR_INVALID && routed != s->active)
                (void) asprintf(&p, "the route leads to %s but the state says %s is live: systemctl reload %s.service",
                                routed == _COLOR_INVALID ? "neither color" : color_to_string(routed),
                                color_to_string(s->active), e->app);
        return p;
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
                }
                printf(",\"colors\":{");
                for (int c = 0; c < 2; c++) {
                        printf("%s", c ? "," : "");
                        json_string(color_to_string(c));
                        printf(":{\"port\":%d,\"release\":", e.port[c]);
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
                printf("},\"history\":[");
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
                        char retire[64] = "";

                        if (ci[c].retire_in_s >= 0)
                                snprintf(retire, sizeof retire, ", retires in %llds", ci[c].retire_in_s);
                        printf("  %-5s %-6s port %-5d %-24s %s (%s)%s\n", color_to_string(c),
                               s.active == c ? "LIVE" : "", e.port[c], s.release[c] ?: "-",
                               ci[c].active_state ?: "unknown", ci[c].sub_state ?: "unknown", retire);
                }
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
                } else
                        printf("  switch: reload\n");
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
