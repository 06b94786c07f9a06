/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <systemd/sd-bus.h>

#include "appenv.h"

/*
 * The live color failed for good: its unit is "failed", so systemd restarts it no more (it used up its
 * restarts, as it does when its release directory was deleted). bluegreen-rollback --failover sends
 * traffic to the other color when that one is warm; otherwise it, and bluegreenctl status, say what to
 * run.
 */

struct live_failure {
        char result[32];  /* the unit's Result= of its last failure, e.g. "exit-code" or "signal" */
        bool other_warm;  /* the other color is active (and, when asked to probe, healthy) */
};

/* 1 when the unit of color live is failed (*ret says how, and whether the other color is warm), 0 when
 * it is not, a negative errno when systemd cannot be asked. With probe, the other color must also pass
 * one health probe to count as warm. */
int live_failure_check(sd_bus *bus, const struct app_env *e, enum color live, bool probe, struct live_failure *ret);

/* What an admin runs when there is no warm color to fail over to, in one line. */
void live_failure_hint(const struct app_env *e, enum color live, const char *release, char *buf, size_t size);
