/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * bluegreenctl prune APP --keep N: removes the oldest release directories beyond the newest N, never one
 * that something holds (release-list.h). Under the app's lock, so that no deploy or rollback changes a
 * pin meanwhile, it decides and moves each one out of the way (a hidden name no deploy looks up); it
 * then lets go of the lock, so that deploys are not held up, and removes them without following links.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "app-params.h"
#include "bus.h"
#include "disk-usage.h"
#include "fileio.h"
#include "human-units.h"
#include "json.h"
#include "log.h"
#include "macro.h"
#include "release-list.h"
#include "remove-tree.h"
#include "state.h"
#include "verbs.h"

/* A release moved out of the way is called this, then removed; one a prune left behind (it was killed)
 * is removed by the next. */
#define TRASH_PREFIX ".bluegreen-prune-"

static void help(void) {
        printf("Usage: bluegreenctl prune [--json] --keep N [--dry-run] [--wait] APP\n\n"
               "Removes the release directories of APP beyond the newest N (by modification time),\n"
               "and never one that is live or warm, pinned to a color, the target of an alias, or\n"
               "needed by a deploy in flight (one that runs or is queued, the release in the trigger\n"
               "file, or what a deploy that died half-way is finished or undone with). Run as root.\n\n"
               "  --keep N    how many of the newest releases to keep, held ones included\n"
               "  --dry-run   say what would be removed, remove nothing\n"
               "  --wait      wait for a deploy or rollback that runs instead of giving up\n"
               "  --json      print a JSON object instead\n"
               "  -h, --help  show this help\n\n"
               "Exit status: 0 done (also when nothing was to be removed); 1 error (a release could\n"
               "not be removed, or wholly: see the message); 2 no such app; 4 a deploy or rollback\n"
               "holds the app's lock: try later, or --wait; 64 bad usage.\n");
}

struct victim {
        const struct release_entry *r;
        char trash[NAME_MAX + 1]; /* "" until moved out of the way */
        uint64_t bytes;
        int error;
        bool wanted; /* a deploy of it started meanwhile: put back */
};

struct prune {
        struct app_env env;
        struct release_list list;
        struct victim *victims;
        size_t n_victims;
        long keep;
        bool dry_run, wait, json;
        int lock_fd;
};

static void prune_done(struct prune *p) {
        release_list_done(&p->list);
        app_env_done(&p->env);
        free(p->victims);
        if (p->lock_fd >= 0)
                close(p->lock_fd);
}

static int lock_app(struct prune *p) {
        _cleanup_free_ char *holder = NULL;
        int r;

        r = mkdir_p(p->env.state_dir, 0755);
        if (r < 0)
                return log_error_errno(r, "Failed to create %s: %m", p->env.state_dir), EXIT_FAILURE;
        r = state_lock(p->env.state_dir, "prune", p->wait, &p->lock_fd, &holder);
        if (r == -EBUSY)
                return log_error("A deploy or rollback of %s is running (%s): nothing was pruned; try later, or "
                                 "use --wait.",
                                 p->env.app, holder ?: "holder unknown"),
                       VERB_EXIT_LOCKED;
        if (r < 0)
                return log_error_errno(r, "Failed to lock %s: %m", p->env.state_dir), EXIT_FAILURE;
        return 0;
}

/* Oldest first: beyond the newest keep, what nothing holds. */
static int choose(struct prune *p) {
        p->victims = calloc(p->list.n + 1, sizeof(*p->victims));
        if (!p->victims)
                return -ENOMEM;
        for (size_t i = p->list.n; i-- > 0;)
                if ((long) i >= p->keep && p->list.items[i].marks == 0)
                        p->victims[p->n_victims++] = (struct victim) { .r = &p->list.items[i] };
        return 0;
}

/* The name must still be the directory that was judged: whoever owns the releases directory could
 * have put another one in its place. */
static bool still_the_same(const struct prune *p, const struct victim *v) {
        struct stat st;

        return fstatat(p->list.fd, v->r->name, &st, AT_SYMLINK_NOFOLLOW) >= 0 && S_ISDIR(st.st_mode) &&
               st.st_dev == v->r->st.st_dev && st.st_ino == v->r->st.st_ino;
}

static void move_aside(struct prune *p) {
        for (size_t i = 0; i < p->n_victims; i++) {
                struct victim *v = &p->victims[i];
                char trash[NAME_MAX + 1];

                snprintf(trash, sizeof trash, TRASH_PREFIX "%s.%ld", v->r->name, (long) getpid());
                if (!still_the_same(p, v))
                        v->error = -ESTALE;
                else if (renameat2(p->list.fd, v->r->name, p->list.fd, trash, RENAME_NOREPLACE) < 0)
                        v->error = negative_errno();
                else
                        snprintf(v->trash, sizeof v->trash, "%s", trash);
        }
}

/* A deploy that started between the listing and the move may have found its release by name before it
 * was moved: it gets it back (it waits for the lock we hold, so it cannot have got further). */
static int put_back_wanted(struct prune *p, sd_bus *bus) {
        char **wanted = NULL;
        size_t n = 0;
        int r;

        r = release_names_wanted(&p->env, bus, &wanted, &n);
        if (r < 0) {
                release_names_free(wanted, n);
                return r;
        }
        for (size_t i = 0; i < p->n_victims; i++) {
                struct victim *v = &p->victims[i];

                for (size_t k = 0; *v->trash && k < n; k++)
                        if (streq(wanted[k], v->r->name)) {
                                v->wanted = true;
                                if (renameat2(p->list.fd, v->trash, p->list.fd, v->r->name, RENAME_NOREPLACE) < 0)
                                        v->error = negative_errno();
                                else
                                        *v->trash = 0;
                                break;
                        }
        }
        release_names_free(wanted, n);
        return 0;
}

static void remove_moved(struct prune *p) {
        for (size_t i = 0; i < p->n_victims; i++) {
                struct victim *v = &p->victims[i];

                if (!*v->trash)
                        continue;
                v->error = remove_tree(p->list.fd, v->trash, &v->bytes);
                if (v->error < 0)
                        log_error_errno(v->error, "Failed to remove all of %s (moved to %s/%s, which the next prune "
                                        "removes): %m",
                                        v->r->name, p->env.releases, v->trash);
        }
}

/* What a killed prune left behind: already out of every deploy's sight, so no lock is needed. */
static void remove_leftovers(struct prune *p) {
        _cleanup_(closedirp) DIR *d = NULL;
        struct dirent *de;
        int fd;

        fd = openat(p->list.fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0 || !(d = fdopendir(fd))) {
                if (fd >= 0)
                        close(fd);
                return;
        }
        while ((de = readdir(d))) {
                uint64_t bytes;
                int r;

                if (strncmp(de->d_name, TRASH_PREFIX, strlen(TRASH_PREFIX)) != 0)
                        continue;
                r = remove_tree(p->list.fd, de->d_name, &bytes);
                if (r < 0)
                        log_warning_errno(r, "Failed to remove %s/%s, left by an earlier prune, ignoring: %m",
                                          p->env.releases, de->d_name);
        }
}

static const char *victim_error(const struct victim *v) {
        if (v->error == -ESTALE)
                return "it was replaced while it was being pruned";
        if (v->wanted && !v->error)
                return "a deploy of it started meanwhile";
        if (*v->trash)
                return "partly removed: see the error";
        return strerror(-v->error);
}

static bool victim_removed(const struct victim *v) {
        return !v->wanted && v->error == 0;
}

static const struct victim *victim_of(const struct prune *p, const struct release_entry *r) {
        for (size_t i = 0; i < p->n_victims; i++)
                if (p->victims[i].r == r)
                        return &p->victims[i];
        return NULL;
}

static void print_text(const struct prune *p) {
        for (size_t i = 0; i < p->list.n; i++) {
                const struct release_entry *r = &p->list.items[i];
                const struct victim *v = victim_of(p, r);
                char buf[512];

                if (!v)
                        printf("keep     %-24s %s\n", r->name,
                               r->marks ? release_entry_why(r, buf, sizeof buf) : "one of the newest");
                else if (p->dry_run)
                        printf("remove   %-24s %s (dry run: not removed)\n", r->name, human_size(v->bytes, buf, sizeof buf));
                else if (victim_removed(v))
                        printf("removed  %-24s %s\n", r->name, human_size(v->bytes, buf, sizeof buf));
                else
                        printf("kept     %-24s %s\n", r->name, victim_error(v));
        }
}

static void print_json(const struct prune *p) {
        char why[512];
        bool first = true;

        printf("{\"app\":");
        json_string(p->env.app);
        printf(",\"keep\":%ld,\"dry_run\":%s,\"kept\":[", p->keep, p->dry_run ? "true" : "false");
        for (size_t i = 0; i < p->list.n; i++) {
                const struct release_entry *r = &p->list.items[i];

                if (!r->marks && (long) i >= p->keep)
                        continue;
                printf("%s{\"release\":", first ? "" : ",");
                json_string(r->name);
                printf(",\"why\":");
                if (r->marks)
                        json_string(release_entry_why(r, why, sizeof why));
                else
                        json_string("newest");
                printf("}");
                first = false;
        }
        printf("],\"removed\":[");
        first = true;
        for (size_t i = 0; i < p->n_victims; i++) {
                const struct victim *v = &p->victims[i];

                if (!p->dry_run && !victim_removed(v))
                        continue;
                printf("%s{\"release\":", first ? "" : ",");
                json_string(v->r->name);
                printf(",\"size_bytes\":%llu}", (unsigned long long) v->bytes);
                first = false;
        }
        printf("],\"failed\":[");
        first = true;
        for (size_t i = 0; !p->dry_run && i < p->n_victims; i++) {
                const struct victim *v = &p->victims[i];

                if (victim_removed(v))
                        continue;
                printf("%s{\"release\":", first ? "" : ",");
                json_string(v->r->name);
                printf(",\"error\":");
                json_string(victim_error(v));
                printf("}");
                first = false;
        }
        printf("]}\n");
}

static int parse_args(struct prune *p, int argc, char *argv[]) {
        static const struct option options[] = {
                { "keep", required_argument, NULL, 'k' },
                { "dry-run", no_argument, NULL, 'n' },
                { "wait", no_argument, NULL, 'w' },
                { "json", no_argument, NULL, 'j' },
                { "help", no_argument, NULL, 'h' },
                {},
        };
        char *end;
        int c;

        p->keep = -1;
        while ((c = getopt_long(argc, argv, "h", options, NULL)) >= 0)
                switch (c) {
                case 'k':
                        errno = 0;
                        p->keep = strtol(optarg, &end, 10);
                        if (errno || *end || end == optarg || p->keep < 0 || p->keep > INT_MAX)
                                return log_error("--keep takes a number of releases, not \"%s\".", optarg),
                                       VERB_EXIT_USAGE;
                        break;
                case 'n':
                        p->dry_run = true;
                        break;
                case 'w':
                        p->wait = true;
                        break;
                case 'j':
                        p->json = true;
                        break;
                case 'h':
                        help();
                        return -1;
                default:
                        return VERB_EXIT_USAGE;
                }
        if (p->keep < 0)
                return log_error("--keep N is required: how many of the newest releases stay (see --help)."),
                       VERB_EXIT_USAGE;
        return 0;
}

/* Under the lock: what holds each release is read now, not before; the victims are moved out of the
 * way before it is let go. */
static int decide_and_move(struct prune *p, sd_bus *bus) {
        char reason[1024];
        int r;

        r = release_list_load(&p->env, bus, 0, &p->list, reason, sizeof reason);
        if (r < 0)
                return log_error("%s", reason), EXIT_FAILURE;
        if (!p->list.units_known && !p->dry_run)
                return log_error("Cannot ask systemd which deploys of %s run: nothing was pruned.", p->env.app),
                       EXIT_FAILURE;
        if (choose(p) < 0)
                return log_oom(), EXIT_FAILURE;
        if (p->dry_run) {
                for (size_t i = 0; i < p->n_victims; i++)
                        (void) disk_usage(p->list.fd, p->victims[i].r->name, &p->victims[i].bytes);
                return 0;
        }
        move_aside(p);
        r = put_back_wanted(p, bus);
        if (r < 0)
                log_warning_errno(r, "Failed to ask systemd again which deploys run, ignoring: %m");
        return 0;
}

int verb_prune(int argc, char *argv[]) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_(prune_done) struct prune p = { .lock_fd = -1, .list = { .fd = -1 } };
        int r;

        r = parse_args(&p, argc, argv);
        if (r != 0)
                return r < 0 ? EXIT_SUCCESS : r;
        r = verb_app_params(argc, argv, &p.env);
        if (r != 0)
                return r;
        r = bus_connect_manager(&bus);
        if (r < 0) {
                log_warning_errno(r, "Cannot ask systemd about the app's units: %m");
                bus = NULL;
        }
        /* A dry run changes nothing, so it needs no lock (nor root). */
        if (!p.dry_run) {
                r = lock_app(&p);
                if (r != 0)
                        return r;
        }
        r = decide_and_move(&p, bus);
        if (r != 0)
                return r;
        if (p.lock_fd >= 0) {
                close(p.lock_fd);
                p.lock_fd = -1;
        }
        if (!p.dry_run) {
                remove_moved(&p);
                remove_leftovers(&p);
        }
        if (p.json)
                print_json(&p);
        else
                print_text(&p);
        for (size_t i = 0; !p.dry_run && i < p.n_victims; i++)
                if (!victim_removed(&p.victims[i]) && !p.victims[i].wanted)
                        return EXIT_FAILURE;
        return EXIT_SUCCESS;
}
