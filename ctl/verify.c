/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * bluegreenctl verify [--name APP] [FILE|APP...]: checks declarations with the generator's own checks
 * (lib/host-check.h), those of each file and those across the apps of the host, before they are put in
 * place, e.g. by Ansible's template module:  validate: "bluegreenctl verify --name APP %s".
 */
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "decl.h"
#include "host-check.h"
#include "json.h"
#include "log.h"
#include "macro.h"
#include "verbs.h"

static void help(void) {
        printf("Usage: bluegreenctl verify [--json] [--name APP] [FILE|APP...]\n\n"
               "Checks declarations as bluegreen-generator does, file by file and across the apps of\n"
               "this host (ports, nginx include and upstream, trigger file, names that would replace\n"
               "a unit), and prints each problem as \"FILE:LINE: key: message\" on stderr. A FILE is\n"
               "checked as if it were installed as /etc/bluegreen/APP.conf next to the declarations\n"
               "installed now, APP taken from its name (APP.conf) or from --name; an APP checks its\n"
               "installed declaration. Without arguments, every installed declaration.\n\n"
               "  --name APP  the app FILE declares, when its name does not say (a temporary file);\n"
               "              for Ansible: validate: \"bluegreenctl verify --name APP %%s\"\n"
               "  --json      print a JSON array, one object per declaration, instead\n"
               "  -h, --help  show this help\n\n"
               "Exit status: 0 no errors (warnings may have been printed); 1 an error, in a\n"
               "declaration or in what it takes from another app; 2 no declaration of an APP;\n"
               "64 bad usage.\n");
}

struct target {
        const char *name;
        char *own_name; /* taken from the file's name */
        const char *file; /* NULL: the declaration installed for name */
        const char *path; /* what is checked */
        bool masked;
        bool missing; /* an APP without a declaration */
        bool failed;
};

struct verify {
        struct host host;
        struct host_report rep;
        struct target *targets;
        size_t n_targets;
        bool all; /* no arguments: every declaration of the host */
        bool json;
};

static void targets_free(struct verify *v) {
        for (size_t i = 0; i < v->n_targets; i++)
                free(v->targets[i].own_name);
        free(v->targets);
        v->targets = NULL;
        v->n_targets = 0;
}

static void verify_done(struct verify *v) {
        host_done(&v->host);
        host_report_done(&v->rep);
        targets_free(v);
}

/* "APP.conf" is the declaration of APP, wherever it is. */
static char *name_from_file(const char *file) {
        const char *base = strrchr(file, '/') ? strrchr(file, '/') + 1 : file;
        size_t n = strlen(base);

        if (n <= 5 || !streq(base + n - 5, ".conf"))
                return NULL;
        return strndup(base, n - 5);
}

static bool is_file_argument(const char *arg) {
        size_t n = strlen(arg);

        return strchr(arg, '/') || (n > 5 && streq(arg + n - 5, ".conf"));
}

static int parse_targets(struct verify *v, const char *name, char **args, int n) {
        if (name && (n != 1 || !args))
                return log_error("--name names the app of exactly one FILE."), -EINVAL;
        v->targets = calloc((size_t) n + 1, sizeof(*v->targets));
        if (!v->targets)
                return log_oom();
        for (int i = 0; i < n; i++) {
                struct target *t = &v->targets[v->n_targets++];

                if (name || is_file_argument(args[i])) {
                        t->file = t->path = args[i];
                        t->name = name ?: (t->own_name = name_from_file(args[i]));
                        if (!t->name)
                                return log_error("Cannot tell the app of %s from its name (APP.conf): pass --name APP.",
                                                 args[i]),
                                       -EINVAL;
                } else
                        t->name = args[i];
                for (size_t k = 0; k + 1 < v->n_targets; k++)
                        if (streq(v->targets[k].name, t->name))
                                return log_error("The app \"%s\" is named twice.", t->name), -EINVAL;
        }
        v->all = n == 0;
        return 0;
}

/* Each FILE takes the place of the installed declaration of its app; each APP must have one. */
static int place_targets(struct verify *v) {
        for (size_t i = 0; i < v->n_targets; i++) {
                struct target *t = &v->targets[i];
                ssize_t k;

                if (t->file) {
                        int r = host_put(&v->host, t->name, t->file, &v->rep);

                        if (r == -ENOMEM)
                                return r;
                        if (r < 0)
                                return -EINVAL; /* reported: the file cannot be checked at all */
                        continue;
                }
                k = host_find(&v->host, t->name);
                if (k < 0)
                        t->missing = true;
                else
                        t->path = v->host.items[k].path;
        }
        return 0;
}

/* The generator's loop, without writing anything: every app in name order, each holding what it
 * declares once it passes, so that what a later app declares too is refused as the generator would. */
static int check_all(struct verify *v) {
        size_t n_redirect = 0;
        int r = host_units_load(&v->host);

        if (r < 0)
                return r;
        for (size_t i = 0; i < v->host.n; i++) {
                _cleanup_(app_decl_freep) struct app_decl *d = NULL;
                int failed;

                if (v->host.items[i].masked)
                        continue;
                r = host_check(&v->host, i, &d, &failed, &v->rep);
                if (r < 0)
                        return r;
                if (!d)
                        continue;
                r = host_report_reload_notice(d, &v->rep);
                if (r >= 0)
                        r = host_claim(&v->host, i, d);
                if (r < 0)
                        return r;
                if (d->nginx.switch_mode == SWITCH_REDIRECT)
                        n_redirect++;
        }
        if (n_redirect > 0) {
                _cleanup_(nftables_unit_done) struct nftables_unit u = {};

                r = host_check_firewall(&u, &v->rep);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* Without arguments, every declaration found is a target, and so is every name refused. */
static int targets_from_host(struct verify *v) {
        size_t n = v->host.n + v->rep.n;

        targets_free(v);
        v->targets = calloc(n + 1, sizeof(*v->targets));
        if (!v->targets)
                return -ENOMEM;
        for (size_t i = 0; i < v->host.n; i++)
                v->targets[v->n_targets++] = (struct target) { .name = v->host.items[i].name,
                                                               .path = v->host.items[i].path };
        for (size_t i = 0; i < v->rep.n; i++) {
                bool known = !v->rep.msgs[i].app;

                for (size_t k = 0; !known && k < v->n_targets; k++)
                        known = streq(v->targets[k].name, v->rep.msgs[i].app);
                if (!known)
                        v->targets[v->n_targets++] = (struct target) { .name = v->rep.msgs[i].app };
        }
        return 0;
}

/* A message concerns an app when it is about it, or about another app that clashes with it. */
static bool concerns(const struct host_msg *m, const struct target *t) {
        return (m->app && streq(m->app, t->name)) || (m->other && streq(m->other, t->name));
}

static bool shown(const struct verify *v, const struct host_msg *m) {
        if (v->all || !m->app)
                return true;
        for (size_t i = 0; i < v->n_targets; i++)
                if (concerns(m, &v->targets[i]))
                        return true;
        return false;
}

static void judge(struct verify *v) {
        for (size_t i = 0; i < v->n_targets; i++) {
                struct target *t = &v->targets[i];
                ssize_t k = host_find(&v->host, t->name);

                t->masked = k >= 0 && v->host.items[k].masked;
                for (size_t j = 0; j < v->rep.n; j++)
                        if (v->rep.msgs[j].prio <= LOG_ERR && concerns(&v->rep.msgs[j], t))
                                t->failed = true;
        }
}

static void print_messages(const struct verify *v, bool json) {
        for (size_t i = 0; i < v->rep.n; i++)
                if (shown(v, &v->rep.msgs[i]) && (!json || !v->rep.msgs[i].app))
                        fprintf(stderr, "%s\n", v->rep.msgs[i].text);
}

static void print_text(const struct verify *v) {
        print_messages(v, false);
        for (size_t i = 0; i < v->n_targets; i++) {
                const struct target *t = &v->targets[i];

                if (t->missing)
                        fprintf(stderr, "No declaration of app \"%s\" in the search path (/etc/bluegreen, ...).\n",
                                t->name);
                else if (!t->failed && t->path && isatty(STDOUT_FILENO))
                        printf("%s: %s\n", t->path, t->masked ? "masked" : "ok");
        }
}

static void print_json_messages(const struct verify *v, const struct target *t, bool errors) {
        bool first = true;

        printf("[");
        for (size_t j = 0; j < v->rep.n; j++) {
                const struct host_msg *m = &v->rep.msgs[j];

                if (!concerns(m, t) || (m->prio <= LOG_ERR) != errors)
                        continue;
                printf("%s", first ? "" : ",");
                json_string(m->text);
                first = false;
        }
        printf("]");
}

static void print_json(const struct verify *v) {
        print_messages(v, true);
        printf("[");
        for (size_t i = 0; i < v->n_targets; i++) {
                const struct target *t = &v->targets[i];

                printf("%s{\"app\":", i ? "," : "");
                json_string(t->name);
                printf(",\"file\":");
                json_string_or_null(t->path);
                printf(",\"found\":%s,\"masked\":%s,\"ok\":%s,\"errors\":", t->missing ? "false" : "true",
                       t->masked ? "true" : "false", t->failed || t->missing ? "false" : "true");
                print_json_messages(v, t, true);
                printf(",\"warnings\":");
                print_json_messages(v, t, false);
                printf("}");
        }
        printf("]\n");
}

static int exit_status(const struct verify *v) {
        bool missing = false;

        for (size_t i = 0; i < v->n_targets; i++) {
                if (v->targets[i].failed)
                        return EXIT_FAILURE;
                missing = missing || v->targets[i].missing;
        }
        return missing ? VERB_EXIT_NO_SUCH_APP : EXIT_SUCCESS;
}

int verb_verify(int argc, char *argv[]) {
        static const struct option options[] = {
                { "name", required_argument, NULL, 'n' },
                { "json", no_argument, NULL, 'j' },
                { "help", no_argument, NULL, 'h' },
                {},
        };
        _cleanup_(verify_done) struct verify v = {};
        const char *name = NULL;
        int c, r;

        while ((c = getopt_long(argc, argv, "h", options, NULL)) >= 0)
                switch (c) {
                case 'n':
                        name = optarg;
                        break;
                case 'j':
                        v.json = true;
                        break;
                case 'h':
                        help();
                        return EXIT_SUCCESS;
                default:
                        return VERB_EXIT_USAGE;
                }
        r = parse_targets(&v, name, argc > optind ? argv + optind : NULL, argc - optind);
        if (r >= 0) {
                (void) host_scan(&v.host, &v.rep); /* a refused name is reported, as it is by the generator */
                r = place_targets(&v);
        }
        if (r >= 0)
                r = check_all(&v);
        if (r >= 0 && v.all)
                r = targets_from_host(&v);
        if (r == -EINVAL && v.rep.n == 0)
                return VERB_EXIT_USAGE;
        if (r == -EINVAL) {
                print_messages(&v, false);
                return EXIT_FAILURE;
        }
        if (r < 0)
                return log_error_errno(r, "Failed to check the declarations: %m"), EXIT_FAILURE;

        judge(&v);
        if (v.json)
                print_json(&v);
        else
                print_text(&v);
        return exit_status(&v);
}
