/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * bluegreenctl releases APP: every release directory of the app, newest first, with what holds it
 * (live, warm, pinned, a deploy in flight, an alias), its size on disk and its age.
 */
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "app-params.h"
#include "bus.h"
#include "human-units.h"
#include "json.h"
#include "log.h"
#include "macro.h"
#include "release-list.h"
#include "verbs.h"

static void help(void) {
        printf("Usage: bluegreenctl releases [--json] [-q] APP\n\n"
               "Lists the release directories of APP, newest (by modification time) first, each with\n"
               "its age, its size on disk (as du -sx counts it) and what holds it: live or warm on a\n"
               "color, pinned to a stopped color, a deploy in flight, the aliases that lead to it.\n\n"
               "  -q, --quiet  print the release names only (no sizes: quick)\n"
               "  --json       print a JSON object instead\n"
               "  -h, --help   show this help\n\n"
               "Exit status: 0 listed; 1 error; 2 no such app; 64 bad usage.\n");
}

static void print_text(const struct release_list *l, bool quiet, time_t now) {
        if (!quiet && l->n > 0)
                printf("%-24s %6s %8s  %s\n", "RELEASE", "AGE", "SIZE", "HELD BY");
        for (size_t i = 0; i < l->n; i++) {
                const struct release_entry *r = &l->items[i];
                char why[512], age[32], sz[32];

                if (quiet) {
                        printf("%s\n", r->name);
                        continue;
                }
                printf("%-24s %6s %8s  %s\n", r->name, human_age(now - r->st.st_mtim.tv_sec, age, sizeof age),
                       human_size(r->size, sz, sizeof sz), release_entry_why(r, why, sizeof why));
        }
}

static void print_json(const struct app_env *e, const struct release_list *l, time_t now) {
        printf("{\"app\":");
        json_string(e->app);
        printf(",\"releases_dir\":");
        json_string(e->releases);
        printf(",\"units_known\":%s,\"releases\":[", l->units_known ? "true" : "false");
        for (size_t i = 0; i < l->n; i++) {
                const struct release_entry *r = &l->items[i];
                bool first = true;

                printf("%s{\"release\":", i ? "," : "");
                json_string(r->name);
                printf(",\"live\":%s,\"warm\":%s,\"in_flight\":%s,\"pinned_by\":[", r->marks & RELEASE_LIVE ? "true" : "false",
                       r->marks & RELEASE_WARM ? "true" : "false", r->marks & RELEASE_IN_FLIGHT ? "true" : "false");
                for (int c = 0; c < 2; c++)
                        if (r->pin[c] != PIN_NONE) {
                                printf("%s", first ? "" : ",");
                                json_string(color_to_string(c));
                                first = false;
                        }
                printf("],\"aliases\":[");
                for (size_t k = 0; k < r->n_aliases; k++) {
                        printf("%s", k ? "," : "");
                        json_string(r->aliases[k]);
                }
                printf("],\"size_bytes\":%llu,\"mtime\":%lld,\"age_s\":%lld}", (unsigned long long) r->size,
                       (long long) r->st.st_mtim.tv_sec, (long long) (now - r->st.st_mtim.tv_sec));
        }
        printf("]}\n");
}

int verb_releases(int argc, char *argv[]) {
        static const struct option options[] = {
                { "quiet", no_argument, NULL, 'q' },
                { "json", no_argument, NULL, 'j' },
                { "help", no_argument, NULL, 'h' },
                {},
        };
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_(release_list_done) struct release_list l = { .fd = -1 };
        _cleanup_(app_env_done) struct app_env e = {};
        bool json = false, quiet = false;
        char reason[1024];
        int c, r;

        while ((c = getopt_long(argc, argv, "hq", options, NULL)) >= 0)
                switch (c) {
                case 'q':
                        quiet = true;
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
        if (!quiet) {
                r = bus_connect_manager(&bus);
                if (r < 0) {
                        log_warning_errno(r, "Cannot ask systemd which colors run, so none is shown warm: %m");
                        bus = NULL;
                }
        }
        r = release_list_load(&e, bus, quiet ? 0 : RELEASE_LIST_SIZES, &l, reason, sizeof reason);
        if (r < 0)
                return log_error("%s", reason), EXIT_FAILURE;
        if (json)
                print_json(&e, &l, time(NULL));
        else
                print_text(&l, quiet, time(NULL));
        return EXIT_SUCCESS;
}
