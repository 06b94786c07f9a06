/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>

/* One HTTP GET check with libcurl, shared by the health gate and the smoke checks. */
struct http_probe;

int http_probe_new(const char *bind, int port, long timeout_ms, struct http_probe **ret);
/* The same over the unix socket at socket_path (the socket switch's colors): the URL's host is
 * "localhost", and so is the Host header unless one is set. */
int http_probe_new_unix(const char *socket_path, long timeout_ms, struct http_probe **ret);
void http_probe_free(struct http_probe *p);
static inline void http_probe_freep(struct http_probe **p) {
        if (*p)
                http_probe_free(*p);
}

/* What the next checks send besides the request line: host as the Host header ("" or NULL: the address
 * and port probed, curl's default) and the header lines "Name: value". The connection still goes to
 * the address and port (or socket) the probe was made for, and is kept for the next check. */
int http_probe_set_headers(struct http_probe *p, const char *host, char *const *headers, size_t n_headers);

/* GETs path; true when the status is expect and the body holds contains (when not empty). Otherwise
 * reason gets one line: the connect error, or the status and an excerpt of the body. */
bool http_probe_check(struct http_probe *p, const char *path, long expect, const char *contains, char *reason,
                      size_t reason_size);
