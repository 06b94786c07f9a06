/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "human-units.h"

#include <stdio.h>

const char *human_size(uint64_t bytes, char *buf, size_t size) {
        static const char units[] = "BKMGTP";
        double v = (double) bytes;
        size_t u = 0;

        while (v >= 1024 && u + 1 < sizeof units - 1) {
                v /= 1024;
                u++;
        }
        if (u == 0)
                snprintf(buf, size, "%lluB", (unsigned long long) bytes);
        else
                snprintf(buf, size, "%.1f%c", v, units[u]);
        return buf;
}

const char *human_age(long long s, char *buf, size_t size) {
        if (s < 0)
                s = 0;
        if (s < 120)
                snprintf(buf, size, "%llds", s);
        else if (s < 2 * 3600)
                snprintf(buf, size, "%lldm", s / 60);
        else if (s < 2 * 86400)
                snprintf(buf, size, "%lldh", s / 3600);
        else
                snprintf(buf, size, "%lldd", s / 86400);
        return buf;
}
