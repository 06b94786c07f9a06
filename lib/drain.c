/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "drain.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "macro.h"
#include "timeline.h"

static int count_established(const char *table, int port) {
        _cleanup_fclose_ FILE *f = fopen(table, "re");
        char line[512];
        int n = 0;

        if (!f)
                return 0;
        while (fgets(line, sizeof line, f)) {
                unsigned local_port, state;
                char *colon = strchr(line, ':');

                /* "  sl  local_address rem_address   st ...": the first ':' ends "sl", the next the address. */
                if (!colon || !(colon = strchr(colon + 1, ':')))
                        continue;
                if (sscanf(colon + 1, "%x %*s %x", &local_port, &state) == 2 && (int) local_port == port && state == 1)
                        n++;
        }
        return n;
}

static int port_connections(int port) {
        return count_established("/proc/net/tcp", port) + count_established("/proc/net/tcp6", port);
}

/* /proc/net/unix: "Num RefCount Protocol Flags Type St Inode Path". A connection accepted on a
 * listening socket carries the listener's path, and is state 3 (connected); the listener is state 1.
 * The accepted end belongs to the network namespace of whoever connected (nginx's), so this counts
 * them even for an app in a namespace of its own. */
static int socket_connections(const char *path) {
        _cleanup_fclose_ FILE *f = fopen("/proc/net/unix", "re");
        char line[4200];
        int n = 0;

        if (!f || isempty(path))
                return 0;
        while (fgets(line, sizeof line, f)) {
                unsigned state;
                int at = 0;

                if (sscanf(line, "%*s %*s %*s %*s %*s %x %*s %n", &state, &at) != 1 || at == 0 || state != 3)
                        continue;
                line[strcspn(line, "\n")] = 0;
                if (streq(line + at, path))
                        n++;
        }
        return n;
}

int color_connections(const struct app_env *e, enum color c) {
        if (e->switch_mode == SWITCH_SOCKET)
                return socket_connections(e->socket[c]);
        return port_connections(e->port[c]);
}

int wait_color_drained(const struct app_env *e, enum color c, long long max_ms) {
        long long end = now_ms() + max_ms;
        int n;

        for (;;) {
                n = color_connections(e, c);
                if (n == 0 || now_ms() >= end)
                        return n;
                usleep(10000);
        }
}
