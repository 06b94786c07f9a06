/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "appenv.h"

/* The connections nginx has open to color c, wherever it listens: established TCP connections on its
 * port, or, in socket mode, connections accepted on its unix socket. */
int color_connections(const struct app_env *e, enum color c);

/* Waits, at most max_ms, until none is left (nginx's connections to a color it no longer sends new
 * requests to, pooled before the switch). Returns how many are left. */
int wait_color_drained(const struct app_env *e, enum color c, long long max_ms);
