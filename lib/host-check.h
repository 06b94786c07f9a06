/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "decl.h"
#include "nftables-unit.h"

/*
 * The checks that span every declaration of a host, shared by bluegreen-generator and bluegreenctl
 * verify so that the two can never disagree: which declarations exist along the search path (an
 * earlier directory hides a name in a later one, an empty file or a link to /dev/null masks it), and,
 * app by app in the order of their names, whether its name would shadow a unit systemd already has or
 * the units of another app, whether it parses (app_decl_load()), and whether a port, the nginx
 * include, the nginx upstream name or the trigger file is already held by an app before it. Only an
 * app whose units were generated holds anything (host_claim()), so the first app in name order keeps
 * what two of them declare and the later one is refused.
 *
 * Nothing here logs: what is found is added to a struct host_report, each message with its syslog
 * priority, in the order the generator logs them.
 */

struct host_msg {
        int prio;    /* LOG_ERR: the app gets no units; LOG_WARNING, LOG_NOTICE: it does */
        char *text;  /* "FILE:LINE: key: message", as the generator logs it */
        char *app;   /* the app it is about; NULL for a directory of the search path */
        char *other; /* the app it clashes with, or NULL */
};

struct host_report {
        struct host_msg *msgs;
        size_t n;
};

void host_report_done(struct host_report *rep);

/* One declaration found along the search path. */
struct host_decl {
        char *name;
        char *path;
        bool masked;
        bool claimed; /* its units were generated: what it declares is taken */
        int ports[3]; /* blue, green, live; 0 for none (socket mode holds no port) */
        /* What two apps must not share either: one would overwrite the other's include or trigger, or
         * nginx would refuse two upstream blocks of one name. */
        char *include;
        char *upstream; /* NULL unless the upstream style defines a block */
        char *trigger;
};

struct host_units;

struct host {
        struct host_decl *items;
        size_t n;
        struct host_units *units;
};

void host_done(struct host *h);

/* Collects the *.conf declarations of every directory of the search path ($BLUEGREEN_CONFIG_PATH, see
 * lib/search-path.h, else /etc/bluegreen, /run/bluegreen, /usr/local/lib/bluegreen, /usr/lib/bluegreen),
 * sorted by name. A name that
 * cannot become a unit name is reported (LOG_ERR) and left out; so is, with a warning, what is not a
 * regular file. Returns 0, -EINVAL when a name was refused, or -ENOMEM. */
int host_scan(struct host *h, struct host_report *rep);

/* Puts the declaration at path in the place of app name, as if it were installed in the first directory
 * of the search path, and sorts again. Returns -EINVAL (reported, as host_scan() would) for a name that
 * is not a valid app name, -errno when path cannot be looked at, -EBADFD when it is not a regular file
 * (both reported too). */
int host_put(struct host *h, const char *name, const char *path, struct host_report *rep);

/* Looks up the app called name; -1 when there is none. */
ssize_t host_find(const struct host *h, const char *name);

/* Opens the unit directories host_check() compares names with: $BLUEGREEN_SYSTEM_UNIT_PATH, else
 * /usr/local/lib/systemd/system, /usr/lib/systemd/system and /lib/systemd/system (the ones below the
 * generator's output in systemd's search path). */
int host_units_load(struct host *h);

/* Checks app i (not masked) against the host: its name, its declaration, then what it would take from
 * an app before it; trust warnings (lib/trust.h) are reported too. Returns 0 when the checks ran, with
 * *ret_decl the declaration when the app passes them, or NULL and *ret_error why not (-EEXIST a name or
 * something else already taken, -EADDRINUSE a port, or app_decl_load()'s error), explained in rep; a
 * negative errno when they could not run. */
int host_check(struct host *h, size_t i, struct app_decl **ret_decl, int *ret_error, struct host_report *rep);

/* App i got its units: from now on its ports, include, upstream and trigger are taken. */
int host_claim(struct host *h, size_t i, const struct app_decl *d);

/* The notice for an app that ends up in reload mode by the default rule, not by choice: reload mode
 * fails requests at every switch, and the generator says once per run what avoids it. Adds nothing
 * for an app that chose its switch. */
int host_report_reload_notice(const struct app_decl *d, struct host_report *rep);

/* Whether nftables.service can load the redirect rules in the transaction of its own ruleset
 * (lib/nftables-unit.h), for a host with an app in redirect mode: 1 and *ret filled when its commands
 * are Debian's; 0 when it is not installed or masked, or its commands are the admin's own, then with a
 * notice in rep of what leaving it alone costs (or a warning when a unit file could not be read). */
int host_check_firewall(struct nftables_unit *ret, struct host_report *rep);
