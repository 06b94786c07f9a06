/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdint.h>
#include <systemd/sd-bus.h>

#include "appenv.h"
#include "state.h"

/* Exit codes shared by bluegreen-deploy and bluegreen-rollback (documented in their man pages). */
#define EXIT_BAD_INPUT 2
#define EXIT_CHECK_FAILED 3
#define EXIT_LOCKED 4
#define EXIT_PROXY_FAILED 5
#define EXIT_NOTHING_TO_ROLL_BACK 6

/* Each step of a deploy and how long it took, for the log and the reader in a hurry. */
struct timeline {
        struct {
                char name[48];
                long long ms;
        } steps[24];
        int n;
        long long start_ms, mark_ms;
};

long long now_ms(void);
void timeline_start(struct timeline *t);
void timeline_step(struct timeline *t, const char *name);
/* "pin 1 ms, start green 812 ms, ...; total 1204 ms" */
void timeline_format(const struct timeline *t, char *buf, size_t size);
long long timeline_total(const struct timeline *t);

/* APP MIDDLE INSTANCE . TYPE, e.g. ("shop", "@", "blue", "service"): a static buffer, one of eight used
 * in turn, so a few names can be in use at once. */
char *unit_name(const char *app, const char *middle, const char *instance, const char *type);

/* The last error the journal holds for unit since since_usec (CLOCK_REALTIME), from the health gate,
 * bluegreen-exec or the app itself, to say in one line why a start failed. */
void journal_last_error(const char *unit, uint64_t since_usec, char *buf, size_t size);

/* Substitutes every ${RELEASE} in s (smoke checks name the release they expect to see). */
char *expand_release(const char *s, const char *release);

/* Probes the color's health once over HTTP; true when healthy, or when the app has no HTTP health
 * check (its unit's own gate vouched for it at start). */
bool probe_health_once(const struct app_env *e, enum color c, char *reason, size_t size);

/* Waits, at most max_ms, until no established TCP connection is left on local port (nginx's
 * connections to a color it no longer sends new requests to). Returns how many are left. */
int wait_port_drained(int port, long long max_ms);

/* SIGTERM (systemd's TimeoutStartSec=, or systemctl stop) no longer kills a deploy or rollback outright:
 * it interrupts the wait in progress, which then fails, and the step's undo runs. While traffic is
 * being switched the signal is held back (the switch is bounded by its own timeouts), so nginx, the
 * rule and the state never disagree. */
void interrupt_setup(void);
void interrupt_hold(bool hold);
bool interrupted(void);

/* Switches nginx to color c running release, records it in state and history, and arms the retire
 * timer of the color that was live. On failure nothing was recorded and *reason says why. */
int switch_live(sd_bus *bus, const struct app_env *e, enum color c, const char *release, enum color old,
                const char *event, struct timeline *tl, char **reason);
