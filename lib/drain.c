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

int port_connections(int port) {
        return count_established("/proc/net/tcp", port) + count_established("/proc/net/tcp6", port);
}

int wait_port_drained(int port, long long max_ms) {
        long long end = now_ms() + max_ms;
        int n;

        for (;;) {
                n = port_connections(port);
                if (n == 0 || now_ms() >= end)
                        return n;
                usleep(10000);
        }
}
