/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "unit-name.h"

#include <stdio.h>

#include "macro.h"

char *unit_name(const char *app, const char *middle, const char *instance, const char *type) {
        static char buf[8][512];
        static unsigned k;
        char *b = buf[k++ % ELEMENTSOF(buf)];

        snprintf(b, sizeof buf[0], "%s%s%s.%s", app, middle, instance ?: "", type);
        return b;
}
