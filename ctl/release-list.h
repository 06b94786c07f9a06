/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>
#include <systemd/sd-bus.h>

#include "appenv.h"
#include "running-instances.h"

/* The release directories of an app and what holds each of them, for releases and prune. */

enum {
        RELEASE_LIVE = 1 << 0,      /* pinned to the live color */
        RELEASE_WARM = 1 << 1,      /* pinned to the other color, which runs: a rollback goes there */
        RELEASE_PINNED = 1 << 2,    /* pinned to a color (also when live or warm) */
        RELEASE_IN_FLIGHT = 1 << 3, /* a deploy of it runs or is queued, its name is in the trigger file,
                                     * or a deploy that died half-way needs it to be finished or undone */
        RELEASE_ALIASED = 1 << 4,   /* an alias (a symbolic link in the releases directory) leads to it */
};

/* What a color's pin makes of a release. */
enum pin_role {
        PIN_NONE,
        PIN_LIVE,
        PIN_WARM,
        PIN_STOPPED, /* the color does not run (retired), or systemd could not be asked */
};

struct release_entry {
        char *name;
        struct stat st; /* of the directory itself */
        unsigned marks;
        enum pin_role pin[2]; /* by blue, by green */
        char **aliases;
        size_t n_aliases;
        uint64_t size; /* bytes on disk, with RELEASE_LIST_SIZES */
};

struct release_list {
        int fd; /* O_PATH descriptor of the releases directory, from releases_open() */
        struct release_entry *items; /* newest (mtime) first */
        size_t n;
        /* systemd could be asked: warm colors and the deploys that run are known. Without it a release
         * is never marked warm, and deploys in flight are known only from the intent and trigger file. */
        bool units_known;
};

enum {
        RELEASE_LIST_SIZES = 1 << 0, /* measure each release (disk_usage()) */
};

/* Reads the releases directory of the app e describes (opened as releases_open() does, no link followed),
 * its pins, intent and trigger file, and, when bus is not NULL, its colors' units and deploys. Returns 0,
 * or a negative errno with a one-line reason: the directory, the state or the intent cannot be read. */
int release_list_load(const struct app_env *e, sd_bus *bus, int flags, struct release_list *ret, char *reason,
                      size_t size);
void release_list_done(struct release_list *l);

/* The names deploys are about to look up: each deploy that runs or is queued, and the one in the trigger
 * file, as written (an alias is not resolved). Without bus only the trigger file is read, and -ENOTCONN
 * returned with it. */
int release_names_wanted(const struct app_env *e, sd_bus *bus, char ***ret, size_t *ret_n);
static inline void release_names_free(char **l, size_t n) {
        instances_free(l, n);
}

/* Why the release stays, "live (green), alias latest", into buf; "" when nothing holds it. */
const char *release_entry_why(const struct release_entry *r, char *buf, size_t size);
