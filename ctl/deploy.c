/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * bluegreenctl deploy APP RELEASE, bluegreenctl rollback APP: start APP-deploy@RELEASE.service or
 * APP-rollback.service as systemctl start would, show the run's steps from its journal as they happen
 * (journal-follow.h), and exit with the run's own exit status (bluegreen-deploy(8),
 * bluegreen-rollback(8)). Ctrl-C stops following, never the run.
 */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>

#include "bus.h"
#include "decl.h"
#include "exit-status.h"
#include "journal-follow.h"
#include "log.h"
#include "macro.h"
#include "unit-name.h"
#include "verbs.h"

#define DEST "org.freedesktop.systemd1"
#define MANAGER_PATH "/org/freedesktop/systemd1"
#define MANAGER "org.freedesktop.systemd1.Manager"
#define UNIT "org.freedesktop.systemd1.Unit"

/* Stopped following: the run goes on (128 + SIGINT, as a shell reports it). */
#define EXIT_STOPPED_FOLLOWING 130
/* After the job: how long the journal may stay quiet before the run's last lines are taken as read,
 * and the most we wait for them (journald stores asynchronously). */
#define DRAIN_QUIET_USEC (500 * 1000ULL)
#define DRAIN_MAX_USEC (3 * 1000000ULL)

static volatile sig_atomic_t stop_following;

static void on_signal(int sig) {
        stop_following = sig;
}

static void help_deploy(void) {
        printf("Usage: bluegreenctl deploy [--no-block] APP RELEASE\n\n"
               "Deploys RELEASE of APP: starts APP-deploy@RELEASE.service, prints each step as it\n"
               "happens from its journal, with the time since the start and since the line before,\n"
               "then the timeline of its steps, and exits with the deploy's own exit status.\n"
               "Ctrl-C stops following; the deploy goes on.\n\n"
               "  --no-block  queue the deploy and return at once\n"
               "  -h, --help  show this help\n\n"
               "Exit status: that of bluegreen-deploy(8): 0 deployed; 1 internal error; 2 bad input\n"
               "(no such release, invalid name; also: no such app); 3 a check failed; 4 another\n"
               "deploy or rollback runs; 5 nginx could not be switched. Also 1 when systemd cannot\n"
               "be asked or the deploy was killed, 64 bad usage, 130 stopped following.\n");
}

static void help_rollback(void) {
        printf("Usage: bluegreenctl rollback [--no-block] APP\n\n"
               "Rolls APP back to its previous release: starts APP-rollback.service, prints each step\n"
               "as it happens from its journal, and exits with the rollback's own exit status.\n"
               "Ctrl-C stops following; the rollback goes on.\n\n"
               "  --no-block  queue the rollback and return at once\n"
               "  -h, --help  show this help\n\n"
               "Exit status: that of bluegreen-rollback(8): 0 rolled back; 1 internal error; 2 bad\n"
               "input (also: no such app); 3 the previous color did not become healthy; 4 a deploy or\n"
               "rollback runs; 5 nginx could not be switched; 6 nothing to roll back to. Also 1 when\n"
               "systemd cannot be asked or the rollback was killed, 64 bad usage, 130 stopped\n"
               "following.\n");
}

/* One start of the unit, from the call to the end of its job. */
struct run {
        sd_bus *bus;
        const char *app, *unit;
        char *path;       /* the unit's object */
        char *job;        /* the start job's object */
        char *result;     /* the job's result, once it ended */
        char invocation[33];
        bool joined;      /* it was running already: this run is followed, not a new one */
        char before[33];  /* the invocation before the start */
        struct journal_follow follow;
        bool following;
};

static void run_done(struct run *r) {
        free(r->path);
        free(r->job);
        free(r->result);
        journal_follow_close(&r->follow);
}

static int on_job_removed(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        struct run *r = userdata;
        const char *path, *unit, *result;
        uint32_t id;

        if (sd_bus_message_read(m, "uoss", &id, &path, &unit, &result) >= 0 && r->job && streq(path, r->job) &&
            !r->result)
                r->result = strdup(result);
        return 0;
}

static int get_invocation(struct run *r, char ret[static 33]) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        const void *id;
        size_t n;
        int k;

        ret[0] = 0;
        k = sd_bus_get_property(r->bus, DEST, r->path, UNIT, "InvocationID", NULL, &reply, "ay");
        if (k >= 0)
                k = sd_bus_message_read_array(reply, 'y', &id, &n);
        if (k < 0)
                return k;
        for (size_t i = 0; n == 16 && i < n; i++)
                snprintf(ret + 2 * i, 3, "%02x", ((const unsigned char *) id)[i]);
        return 0;
}

/* Whether the unit can be started at all: a template instance of an app without units is "not-found". */
static int load_unit(struct run *r) {
        _cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_free_ char *load = NULL, *active = NULL;
        const char *p;
        int k;

        k = sd_bus_call_method(r->bus, DEST, MANAGER_PATH, MANAGER, "LoadUnit", &e, &reply, "s", r->unit);
        if (k < 0)
                return log_error("Cannot load %s: %s", r->unit, e.message ?: strerror(-k)), EXIT_FAILURE;
        if (sd_bus_message_read(reply, "o", &p) < 0 || !(r->path = strdup(p)))
                return log_oom(), EXIT_FAILURE;
        k = sd_bus_get_property_string(r->bus, DEST, r->path, UNIT, "LoadState", NULL, &load);
        if (k >= 0 && !streq(load, "loaded"))
                return log_error("No app \"%s\": %s is %s (is /etc/bluegreen/%s.conf there, and was systemctl "
                                 "daemon-reload run?)",
                                 r->app, r->unit, load, r->app),
                       VERB_EXIT_NO_SUCH_APP;
        (void) sd_bus_get_property_string(r->bus, DEST, r->path, UNIT, "ActiveState", NULL, &active);
        r->joined = active && streq(active, "activating");
        return get_invocation(r, r->before) < 0 ? EXIT_FAILURE : 0;
}

static int start_job(struct run *r, sd_bus_slot **slot) {
        _cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        const char *job;
        int k;

        /* The match goes in before the call: a quick run may end before the call returns. */
        k = sd_bus_match_signal(r->bus, slot, DEST, MANAGER_PATH, MANAGER, "JobRemoved", on_job_removed, r);
        if (k >= 0)
                k = sd_bus_call_method(r->bus, DEST, MANAGER_PATH, MANAGER, "StartUnit", &e, &reply, "ss", r->unit,
                                       "replace");
        if (k < 0)
                return log_error("Failed to start %s: %s", r->unit, e.message ?: strerror(-k)), EXIT_FAILURE;
        if (sd_bus_message_read(reply, "o", &job) < 0 || !(r->job = strdup(job)))
                return log_oom(), EXIT_FAILURE;
        return 0;
}

/* The run is this start's once the unit has a new invocation (or it ran already, joined). */
static void find_run(struct run *r) {
        uint64_t start = 0;
        int k;

        if (r->following || get_invocation(r, r->invocation) < 0 || !*r->invocation ||
            (!r->joined && streq(r->invocation, r->before)))
                return;
        (void) sd_bus_get_property_trivial(r->bus, DEST, r->path, UNIT, "InactiveExitTimestamp", NULL, 't', &start);
        if (start == 0) {
                struct timespec ts;

                clock_gettime(CLOCK_REALTIME, &ts);
                start = (uint64_t) ts.tv_sec * 1000000 + (uint64_t) ts.tv_nsec / 1000;
        }
        k = journal_follow_open(&r->follow, r->app, r->unit, r->invocation, start);
        if (k < 0)
                log_warning_errno(k, "Cannot read the journal, so the steps are not shown: %m");
        r->following = true;
}

static uint64_t now_usec(void) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000000 + (uint64_t) ts.tv_nsec / 1000;
}

static int print_more(struct run *r) {
        return r->follow.j ? journal_follow_print(&r->follow) : 0;
}

static void wait_events(struct run *r, uint64_t timeout_usec) {
        struct pollfd p[2] = { { .fd = sd_bus_get_fd(r->bus), .events = POLLIN } };
        int n = 1;

        if (r->follow.j && journal_follow_fd(&r->follow) >= 0)
                p[n++] = (struct pollfd) { .fd = journal_follow_fd(&r->follow), .events = POLLIN };
        (void) poll(p, (nfds_t) n, (int) (timeout_usec / 1000));
}

/* Until the job ends, or a signal says to stop following. */
static int follow_job(struct run *r) {
        while (!r->result) {
                int k;

                if (stop_following)
                        return -EINTR;
                while ((k = sd_bus_process(r->bus, NULL)) > 0)
                        ;
                if (k < 0)
                        return k;
                find_run(r);
                (void) print_more(r);
                if (!r->result)
                        wait_events(r, 100 * 1000);
        }
        find_run(r); /* a run too quick to be seen while it ran */
        return 0;
}

/* The run's last lines reach the journal after its job ended. */
static void drain(struct run *r) {
        uint64_t end = now_usec() + DRAIN_MAX_USEC, quiet = now_usec() + DRAIN_QUIET_USEC;

        while (r->follow.j && !r->follow.ended && !stop_following && now_usec() < end && now_usec() < quiet) {
                if (print_more(r) > 0)
                        quiet = now_usec() + DRAIN_QUIET_USEC;
                wait_events(r, 50 * 1000);
        }
        (void) print_more(r);
}

static const char *exit_meaning(bool rollback, int status) {
        static const char *const meaning[] = {
                [1] = "internal error",
                [2] = "bad input",
                [3] = "a check failed",
                [4] = "another deploy or rollback runs",
                [5] = "nginx could not be switched",
                [6] = "nothing to roll back to",
        };

        if (status < 1 || status >= (int) ELEMENTSOF(meaning) || (status == 6 && !rollback))
                return "see its journal";
        if (rollback && status == 3)
                return "the previous color did not become healthy";
        return meaning[status];
}

/* The run's own exit status, as its man page documents it. */
static int outcome(struct run *r, bool rollback) {
        _cleanup_free_ char *result = NULL;
        int32_t code = 0, status = 0;

        if (streq(r->result, "done")) {
                printf("%s: done.\n", r->unit);
                return EXIT_SUCCESS;
        }
        if (!*r->invocation || (!r->joined && streq(r->invocation, r->before))) {
                log_error("%s did not run: its job ended \"%s\".", r->unit, r->result);
                return EXIT_FAILURE;
        }
        (void) sd_bus_get_property_trivial(r->bus, DEST, r->path, "org.freedesktop.systemd1.Service", "ExecMainCode",
                                           NULL, 'i', &code);
        (void) sd_bus_get_property_trivial(r->bus, DEST, r->path, "org.freedesktop.systemd1.Service",
                                           "ExecMainStatus", NULL, 'i', &status);
        (void) sd_bus_get_property_string(r->bus, DEST, r->path, "org.freedesktop.systemd1.Service", "Result", NULL,
                                          &result);
        if (code != CLD_EXITED) {
                log_error("%s failed (%s): killed by signal %d.", r->unit, result ?: r->result, status);
                return EXIT_FAILURE;
        }
        printf("%s: failed with exit status %d (%s).\n", r->unit, status, exit_meaning(rollback, status));
        return status == 0 ? EXIT_FAILURE : status;
}

static void catch_signals(void) {
        struct sigaction sa = { .sa_handler = on_signal };

        /* No SA_RESTART: poll() returns at once. */
        sigemptyset(&sa.sa_mask);
        (void) sigaction(SIGINT, &sa, NULL);
        (void) sigaction(SIGTERM, &sa, NULL);
        (void) sigaction(SIGHUP, &sa, NULL);
}

static int start_and_follow(const char *app, const char *unit, bool no_block, bool rollback) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_(sd_bus_slot_unrefp) sd_bus_slot *slot = NULL;
        _cleanup_(run_done) struct run r = { .app = app, .unit = unit };
        int k;

        k = bus_connect_manager(&bus);
        if (k < 0)
                return log_error_errno(k, "Failed to connect to systemd: %m"), EXIT_FAILURE;
        r.bus = bus;
        k = load_unit(&r);
        if (k == 0)
                k = start_job(&r, &slot);
        if (k != 0)
                return k;
        if (no_block) {
                printf("Queued the start of %s (%s); see it with journalctl -fu %s.\n", unit, r.job, unit);
                return EXIT_SUCCESS;
        }

        catch_signals();
        printf("Started %s; following its journal (Ctrl-C stops following, not the %s).\n", unit,
               rollback ? "rollback" : "deploy");
        fflush(stdout);
        k = follow_job(&r);
        if (k == -EINTR) {
                printf("Stopped following %s: it goes on (journalctl -fu %s; bluegreenctl status %s).\n", unit, unit,
                       app);
                return EXIT_STOPPED_FOLLOWING;
        }
        if (k < 0)
                return log_error_errno(k, "Lost systemd while waiting for %s: %m", unit), EXIT_FAILURE;
        drain(&r);
        return outcome(&r, rollback);
}

static int parse(int argc, char *argv[], int n_args, bool *no_block, void (*help)(void)) {
        static const struct option options[] = {
                { "no-block", no_argument, NULL, 'b' },
                { "help", no_argument, NULL, 'h' },
                {},
        };
        int c;

        while ((c = getopt_long(argc, argv, "h", options, NULL)) >= 0)
                switch (c) {
                case 'b':
                        *no_block = true;
                        break;
                case 'h':
                        help();
                        return -1;
                default:
                        return VERB_EXIT_USAGE;
                }
        if (argc - optind != n_args)
                return log_error("Expected %s (see --help).", n_args == 2 ? "two arguments, the app and the release"
                                                                          : "one argument, the app"),
                       VERB_EXIT_USAGE;
        if (!app_name_is_valid(argv[optind]))
                return log_error("No app \"%s\": not a valid app name.", argv[optind]), VERB_EXIT_NO_SUCH_APP;
        return 0;
}

int verb_deploy(int argc, char *argv[]) {
        char unit[APP_NAME_MAX + 256];
        bool no_block = false;
        int r = parse(argc, argv, 2, &no_block, help_deploy);

        if (r != 0)
                return r < 0 ? EXIT_SUCCESS : r;
        /* As bluegreen-deploy would say, before systemd is asked to make a unit name of it. */
        if (!release_name_is_valid(argv[optind + 1]))
                return log_error("\"%s\" is not a valid release name.", argv[optind + 1]), EXIT_BAD_INPUT;
        snprintf(unit, sizeof unit, "%s", unit_name(argv[optind], "-deploy@", argv[optind + 1], "service"));
        return start_and_follow(argv[optind], unit, no_block, false);
}

int verb_rollback(int argc, char *argv[]) {
        char unit[APP_NAME_MAX + 64];
        bool no_block = false;
        int r = parse(argc, argv, 1, &no_block, help_rollback);

        if (r != 0)
                return r < 0 ? EXIT_SUCCESS : r;
        snprintf(unit, sizeof unit, "%s", unit_name(argv[optind], "-rollback", NULL, "service"));
        return start_and_follow(argv[optind], unit, no_block, true);
}
