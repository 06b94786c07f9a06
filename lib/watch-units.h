/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdint.h>
#include <systemd/sd-bus.h>

#include "appenv.h"

/*
 * The watch of a release after the deploy that made it live, APP-watch@RELEASE.service
 * (bluegreen-watch(8)), as the other programs see it: a deploy starts one after its commit, every deploy
 * and rollback ends the one that runs before it changes anything (it watches a release that is about
 * to stop being live), a retirement waits for it to end, and bluegreenctl shows it.
 */

struct watch_unit {
        char *unit;    /* APP-watch@RELEASE.service */
        char *release; /* RELEASE */
        uint64_t active_since_usec; /* CLOCK_MONOTONIC when it became active; 0 when unknown */
};

/* The app's watches that run (active, activating, reloading or deactivating), or are about to (a start
 * job is queued): *ret is an array of *ret_n, empty when none runs. Free it with watch_units_free(). */
int watch_units_running(sd_bus *bus, const char *app, struct watch_unit **ret, size_t *ret_n);
void watch_units_free(struct watch_unit *w, size_t n);

/* Stops each of the app's running watches but the one named except (NULL: all of them), and waits for
 * each stop. Logs each one stopped, with why (e.g. "a deploy of r3 takes over"). A watch that cannot be
 * stopped is logged and left: it rolls back nothing once its release is no longer live. Returns how many
 * were stopped, or a negative errno when they could not be listed. With ret_watched, *ret_watched is the
 * release of one stopped (a watch watches the live release: there is one at most), or NULL. */
int watch_units_stop(sd_bus *bus, const char *app, const char *except, const char *why, char **ret_watched);

/* Queues the start of the watch of release, without waiting: it runs on its own from now on. */
int watch_unit_start(sd_bus *bus, const char *app, const char *release);

/* After a deploy or rollback that ended the watch of watched (NULL: none) failed and undid itself:
 * watched is live again, so it is watched again, for a whole window. Logs what it did. */
void watch_unit_resume(sd_bus *bus, const struct app_env *e, const char *watched, const char *who);

/* How long the color switched away from stays warm: its retire timer waits for the longer of drain_s
 * and the watch, so that the watch can always go back to it. */
static inline int warm_for_s(const struct app_env *e) {
        return e->drain_s > e->watch_duration_s ? e->drain_s : e->watch_duration_s;
}

/* The unit this process runs in (its cgroup's), or NULL: the watch's own rollback must not stop it. */
char *watch_own_unit(void);
