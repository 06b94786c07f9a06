/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <systemd/sd-bus.h>

#include "appenv.h"

/* The first step of every bluegreen program that changes an app (deploy, rollback, boot, retire),
 * under the app's lock: settles a deploy or rollback that died half-way (switch_recover()) and logs
 * what it did, or why it could not, with MESSAGE_RECOVERED. Returns switch_recover()'s result. */
int settle_dead_switch(sd_bus *bus, const struct app_env *e, int route_flags);

/* What a deploy or rollback whose undo failed tells its reader: why, and what settles it. */
void settle_describe_failed_undo(char *buf, size_t size, const struct app_env *e, const char *reason);
