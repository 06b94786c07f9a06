/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "appenv.h"

/* Substitutes every ${RELEASE} in s (smoke checks name the release they expect to see). */
char *expand_release(const char *s, const char *release);

/* An HTTP probe of color c, where its app listens: its socket in socket mode, else BIND:PORT. */
struct http_probe;
int probe_new_for_color(const struct app_env *e, enum color c, long timeout_ms, struct http_probe **ret);

/* Probes the color's health once over HTTP, with health's Host and headers, as the gate does; true when
 * healthy, or when the app has no HTTP health check (its unit's own gate vouched for it at start). */
bool probe_health_once(const struct app_env *e, enum color c, char *reason, size_t size);
