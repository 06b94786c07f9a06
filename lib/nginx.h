/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <systemd/sd-bus.h>

#include "appenv.h"

/* The include that points nginx at the live color, in the declared style. */
int nginx_render_include(const struct app_env *e, enum color c, const char *release, char **ret);

/* Makes content the include, checks the whole nginx configuration with the declared test command and
 * reloads nginx through systemd, confirming that nginx replaced its workers. Each step goes into tl. On any failure the
 * previous include is put back and *ret_reason says why in one line. Returns 0, -ENOTCONN when nginx
 * is not running, -EINVAL when the configuration test failed, or another negative errno. */
struct timeline;
int nginx_switch(sd_bus *bus, const struct app_env *e, const char *content, struct timeline *tl, char **ret_reason);

/* Writes the include only if its content differs (boot path): no reload, nginx is not up yet. */
int nginx_write_include(const struct app_env *e, const char *content);
