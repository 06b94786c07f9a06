/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <systemd/sd-bus.h>

/* Talking to systemd over sd-bus: the helpers never shell out to systemctl. */

/* Connects to the system manager: its private socket when we are root (works in early boot, before
 * any D-Bus broker runs, as systemctl does), else the system bus. Subscribes to job signals. */
int bus_connect_manager(sd_bus **ret);

/* Calls a Manager job method ("StartUnit", "StopUnit", "RestartUnit", "ReloadUnit") for unit in mode
 * "replace" and, when wait is true, waits at most timeout_usec for the job to finish. On return
 * *ret_result is the job's result ("done", "failed", "timeout", "canceled", "dependency", "skipped")
 * or the refusal of the call itself in *ret_error. Returns 0 when the job ended "done" (or was queued,
 * without wait), -EIO on another result, a negative errno on a bus failure. */
int bus_unit_job(sd_bus *bus, const char *method, const char *unit, bool wait, uint64_t timeout_usec,
                 char **ret_result, char **ret_error);

/* When set and true, a wait for a job gives up with -EINTR (a deploy asked to stop undoes its step). */
extern bool (*bus_interrupted)(void);

/* Clears a unit's failed state and its start rate limit: a deploy starts a color on purpose, and
 * frequent deploys must not run into the StartLimitBurst= meant for crash loops. */
int bus_unit_reset_failed(sd_bus *bus, const char *unit);

/* Sends sig to the unit's main process (KillUnit): no job, so nothing waits on the unit's ordering. */
int bus_unit_kill_main(sd_bus *bus, const char *unit, int sig);

/* A string property of a unit (ActiveState, SubState, Result, ...). Loads the unit if needed. */
int bus_unit_get_string(sd_bus *bus, const char *unit, const char *iface, const char *property, char **ret);

/* Whether a string-array property of a unit (DropInPaths, ...) holds value: 1 or 0. Loads the unit if
 * needed. */
int bus_unit_strv_contains(sd_bus *bus, const char *unit, const char *iface, const char *property, const char *value);

/* A u32/u64 property of a unit (MainPID, NextElapseUSecRealtime, ...), as u64. */
int bus_unit_get_u64(sd_bus *bus, const char *unit, const char *iface, const char *property, char sig, uint64_t *ret);
