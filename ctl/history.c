/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * bluegreenctl history [-n N] APP: the app's deploys, rollbacks, retirements, automatic rollbacks and
 * failovers, newest first, from the history in its state directory (lib/state.h, lib/auto-history.h).
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app-params.h"
#include "json.h"
#include "log.h"
#include "macro.h"
#include "state.h"
#include "verbs.h"

static void help(void) {
        printf("Usage: bluegreenctl history [--json] [-n N] APP\n\n"
               "Shows the deploys, rollbacks, retirements, automatic rollbacks and failovers of APP,\n"
               "newest first: time, event, release, color, and what else was recorded (the\n"
               "transaction's txn=, how far a failed one got, at=, why an automatic rollback ran).\n\n"
               "  -n, --lines N  show only the N newest events\n"
               "  --json         print a JSON array instead, newest first\n"
               "  -h, --help     show this help\n\n"
               "Exit status: 0 shown (also when nothing happened yet); 1 error; 2 no such app;\n"
               "64 bad usage.\n");
}

/* "WHEN EVENT RELEASE COLOR [DETAIL]", split in place. */
struct event {
        char *when, *event, *release, *color, *detail;
};

static char *next_word(char **p) {
        char *w = *p + strspn(*p, " ");
        size_t n = strcspn(w, " ");

        *p = w + n + (w[n] ? 1 : 0);
        w[n] = 0;
        return w;
}

static void event_parse(char *line, struct event *e) {
        e->when = next_word(&line);
        e->event = next_word(&line);
        e->release = next_word(&line);
        e->color = next_word(&line);
        e->detail = line;
}

/* The detail as JSON: KEY=VALUE words as members, other words (completed-after-interruption) in
 * "notes"; "reason=" runs to the end of the line (lib/auto-history.h). */
static void detail_json(char *detail) {
        bool first = true;

        printf("\"details\":{");
        for (char *p = detail; *p;) {
                char *w, *eq;

                if (strncmp(p, "reason=", 7) == 0) {
                        printf("%s\"reason\":", first ? "" : ",");
                        json_string(p + 7);
                        first = false;
                        break;
                }
                w = next_word(&p);
                eq = strchr(w, '=');
                if (!eq || eq == w)
                        continue;
                *eq = 0;
                printf("%s", first ? "" : ",");
                json_string(w);
                putchar(':');
                json_string(eq + 1);
                *eq = '=';
                first = false;
        }
        printf("}");
}

static void notes_json(const char *detail) {
        _cleanup_free_ char *copy = strdup(detail);
        bool first = true;

        printf(",\"notes\":[");
        for (char *p = copy; p && *p && strncmp(p, "reason=", 7) != 0;) {
                char *w = next_word(&p);

                if (*w && !strchr(w, '=')) {
                        printf("%s", first ? "" : ",");
                        json_string(w);
                        first = false;
                }
        }
        printf("]");
}

static void print_json(char **lines, int n) {
        bool first = true;

        printf("[");
        for (int i = n - 1; i >= 0; i--) {
                struct event e;

                if (!lines[i])
                        continue;
                event_parse(lines[i], &e);
                printf("%s{\"time\":", first ? "" : ",");
                first = false;
                json_string(e.when);
                printf(",\"event\":");
                json_string(e.event);
                printf(",\"release\":");
                json_string_or_null(streq(e.release, "-") ? NULL : e.release);
                printf(",\"color\":");
                json_string_or_null(streq(e.color, "-") ? NULL : e.color);
                notes_json(e.detail);
                printf(",");
                detail_json(e.detail);
                printf("}");
        }
        printf("]\n");
}

static void print_text(const char *app, char **lines, int n) {
        if (n == 0) {
                printf("%s: no deploy yet (systemctl start %s-deploy@RELEASE, or bluegreenctl deploy %s RELEASE)\n",
                       app, app, app);
                return;
        }
        for (int i = n - 1; i >= 0; i--) {
                struct event e;

                if (!lines[i])
                        continue;
                event_parse(lines[i], &e);
                printf("%-24s  %-20s  %-16s  %-5s%s%s\n", e.when, e.event, e.release, e.color, *e.detail ? "  " : "",
                       e.detail);
        }
}

int verb_history(int argc, char *argv[]) {
        static const struct option options[] = {
                { "lines", required_argument, NULL, 'n' },
                { "json", no_argument, NULL, 'j' },
                { "help", no_argument, NULL, 'h' },
                {},
        };
        _cleanup_(app_env_done) struct app_env e = {};
        char **lines = NULL, *end;
        bool json = false;
        long max = INT_MAX;
        int c, n = 0, r;

        while ((c = getopt_long(argc, argv, "hn:", options, NULL)) >= 0)
                switch (c) {
                case 'n':
                        errno = 0;
                        max = strtol(optarg, &end, 10);
                        if (errno || *end || end == optarg || max < 0 || max > INT_MAX)
                                return log_error("-n takes a number of events, not \"%s\".", optarg), VERB_EXIT_USAGE;
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
        r = verb_app_params(argc, argv, &e);
        if (r != 0)
                return r;
        r = state_history_tail(e.state_dir, (int) max, &lines, &n);
        if (r < 0)
                return log_error_errno(r, "Failed to read %s/history: %m", e.state_dir), EXIT_FAILURE;
        if (json)
                print_json(lines, n);
        else
                print_text(e.app, lines, n);
        for (int i = 0; i < n; i++)
                free(lines[i]);
        free(lines);
        return EXIT_SUCCESS;
}
