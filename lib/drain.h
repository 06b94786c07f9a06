/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Waits, at most max_ms, until no established TCP connection is left on local port (nginx's
 * connections to a color it no longer sends new requests to). Returns how many are left. */
int wait_port_drained(int port, long long max_ms);

/* How many established TCP connections (IPv4 and IPv6) have local port port now. */
int port_connections(int port);
