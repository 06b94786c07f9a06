/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>

#include "appenv.h"

/* The state of one app, under /var/lib/bluegreen/APP/:
 *   active       "blue" or "green": the color nginx sends traffic to (absent before the first deploy)
 *   blue, green  symlinks to the release directory each color runs
 *   history      one line per event, appended
 *   lock         flock()ed by whoever changes the rest; it holds the holder's description
 *   intent       present only while a deploy or rollback runs, or after one died (see switch.h)
 *   maintenance  present while nginx answers the app's requests with a 503 page (bluegreenctl
 *                maintenance); it holds the page's message
 * Every change is atomic (rename) and synced, so a power cut leaves the old state or the new. */
struct app_state {
        enum color active; /* _COLOR_INVALID: nothing deployed yet */
        char *release[2];  /* name of the pinned release per color, or NULL */
        char *release_dir[2];
};

int state_load(const char *state_dir, struct app_state *s);
void state_done(struct app_state *s);

int state_set_active(const char *state_dir, enum color c);
/* Back to "nothing deployed yet" (an undone first deploy). */
int state_clear_active(const char *state_dir);
/* Pins color to target (a release directory), or removes the pin when target is NULL. */
int state_pin(const char *state_dir, enum color c, const char *target);
int state_history_append(const char *state_dir, const char *event, const char *release, enum color c,
                         const char *detail);

/* Takes the app's lock. With wait false, a held lock fails at once with -EBUSY and *ret_holder says who
 * holds it. The lock dies with the process: it never needs clearing. */
int state_lock(const char *state_dir, const char *what, bool wait, int *ret_fd, char **ret_holder);

/* Reads the last n lines of history (newest last). */
int state_history_tail(const char *state_dir, int n, char ***ret, int *ret_n);

/* The longest maintenance message, in bytes. */
#define STATE_MAINTENANCE_MESSAGE_MAX 512
/* Whether m may be a maintenance message: NULL when it may, else why not, in a few words ("contains a
 * control character"). It must be printable UTF-8 of at most STATE_MAINTENANCE_MESSAGE_MAX bytes. */
const char *state_maintenance_message_check(const char *m);
/* Whether the app is in maintenance: 1 (with its message, "" for none, in *ret_message when not NULL),
 * 0 when it is not, -EBADMSG when the file holds an invalid message, or another negative errno. */
int state_maintenance_get(const char *state_dir, char **ret_message);
/* Puts the app in maintenance with message (checked by the caller), or out of it when message is NULL. */
int state_maintenance_set(const char *state_dir, const char *message);
