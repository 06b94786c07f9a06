/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "appenv.h"

/* The socket switch: each color listens on a unix socket of its own, e->socket[c]
 * (/run/bluegreen/APP/COLOR/http.sock, in the color's RuntimeDirectory), and nginx always connects to
 * one stable path, e->socket_live (/run/bluegreen/APP/live.sock): a symbolic link to the live color's
 * socket, "COLOR/http.sock". A switch renames a new link over it: every connect() that nginx starts
 * resolves the old link or the new one, never none, and nginx is not reloaded. Connections it opened
 * before stay with the old color until they are closed (the tail that nginx.keepalive_time_s bounds).
 *
 * The link lives in a directory only root can write, and the directory on a tmpfs, as the sockets do:
 * bluegreen-boot sets it again at every boot, before nginx starts. */

/* Points the link at color c's socket. Creates the link's directory (0755) when it is missing, and
 * refuses one that is a symbolic link or that someone other than root could write (-EPERM). On
 * failure *ret_reason says why in one line. */
int socket_link_set(const struct app_env *e, enum color c, char **ret_reason);

/* Removes the link: nothing deployed yet, so nginx finds no socket. No link is no error. */
int socket_link_remove(const struct app_env *e);

/* The color the link leads to: _COLOR_INVALID when it leads to neither color's socket, -ENOENT when
 * there is no link. Needs no privilege. */
int socket_link_get(const struct app_env *e, enum color *ret_color);
