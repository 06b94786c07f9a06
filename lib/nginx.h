/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <systemd/sd-bus.h>

#include "appenv.h"

/* The include that points nginx at the live color, in the declared style; while the app is in
 * maintenance (STATE_DIR/maintenance, lib/state.h) the maintenance include instead, which keeps the
 * upstream or variable the site uses but answers every request with a 503 page: in style "upstream"
 * the upstream leads to a server block of its own, on the unix socket nginx_maintenance_socket(), in
 * style "variable" the server block that includes it returns the page itself. */
int nginx_render_include(const struct app_env *e, enum color c, const char *release, char **ret);
/* Whether content is a maintenance include: it routes to no color. */
bool nginx_include_is_maintenance(const char *content);
/* Where the maintenance server of style "upstream" listens: RUN_ROOT/APP/maintenance.sock, RUN_ROOT
 * being $BLUEGREEN_RUN_DIR (for tests) or /run/bluegreen. */
int nginx_maintenance_socket(const struct app_env *e, char **ret);
/* How long clients are told to wait (Retry-After) while the app is in maintenance. */
#define NGINX_MAINTENANCE_RETRY_AFTER_S 120

/* Makes content the include, checks the whole nginx configuration with the declared test command and
 * reloads nginx through systemd, confirming that nginx replaced its workers. Each step goes into tl. On any failure the
 * previous include is put back and *ret_reason says why in one line. Returns 0, -ENOTCONN when nginx
 * is not running, -EINVAL when the configuration test failed, or another negative errno. Without
 * use_job, nginx is reloaded without a systemd job, by SIGHUP to its master through KillUnit: from
 * APP.service's own job (ordered before nginx) a reload job of nginx would wait for that job. */
struct timeline;
int nginx_switch(sd_bus *bus, const struct app_env *e, const char *content, bool use_job, struct timeline *tl,
                 char **ret_reason);

/* Writes the include only if its content differs (boot path): no reload, nginx is not up yet. The
 * include is read and replaced without following a symbolic link at its name, and only inside a
 * directory that root owns and no one else can write, as is every directory above it, none of them
 * a symbolic link (-EPERM otherwise). */
int nginx_write_include(const struct app_env *e, const char *content);
/* What nginx needs before it reads content, also when the include is already written (a boot, with
 * /run empty): the maintenance socket's directory, and no socket file a killed nginx left there. */
int nginx_prepare_include(const struct app_env *e, const char *content);
/* Reads the include as it is on disk; -ENOENT when there is none. */
int nginx_read_include(const struct app_env *e, char **ret);
/* The port an include written by nginx_render_include() sends traffic to. */
int nginx_include_port(const char *content, int *ret_port);
/* Whether nginx runs the include as it is on disk: 1 when every worker started after it was written,
 * 0 when a worker runs a configuration from before (written, not reloaded), -ENOTCONN when nginx is
 * not running, -ENOENT when there is no include. */
int nginx_include_loaded(sd_bus *bus, const struct app_env *e);
