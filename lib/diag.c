/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "diag.h"

#include <stdio.h>
#include <stdlib.h>

/* Takes msg, which NULL means could not be formatted. */
static int diag_add(struct diag *d, char *msg) {
        char **n;

        if (!msg)
                return -ENOMEM;
        n = realloc(d->msgs, (d->n + 1) * sizeof(char *));
        if (!n) {
                free(msg);
                return -ENOMEM;
        }
        d->msgs = n;
        d->msgs[d->n++] = msg;
        return 0;
}

void diag_done(struct diag *d) {
        for (size_t i = 0; i < d->n; i++)
                free(d->msgs[i]);
        free(d->msgs);
        d->msgs = NULL;
        d->n = 0;
}

int diag_add_printf(struct diag *d, const char *fmt, ...) {
        char *msg = NULL;
        va_list ap;

        va_start(ap, fmt);
        if (vasprintf(&msg, fmt, ap) < 0)
                msg = NULL;
        va_end(ap);
        return diag_add(d, msg);
}

int diag_add_at_va(struct diag *d, const char *file, unsigned line, const char *key, const char *fmt, va_list ap) {
        _cleanup_free_ char *body = NULL;
        char at[sizeof(":4294967295")] = "";
        char *msg = NULL;

        if (vasprintf(&body, fmt, ap) < 0) {
                body = NULL;
                return -ENOMEM;
        }
        if (line > 0)
                snprintf(at, sizeof at, ":%u", line);
        if (asprintf(&msg, "%s%s: %s%s%s", file, at, key ?: "", key ? ": " : "", body) < 0)
                msg = NULL;
        return diag_add(d, msg);
}

int diag_add_at(struct diag *d, const char *file, unsigned line, const char *key, const char *fmt, ...) {
        va_list ap;
        int r;

        va_start(ap, fmt);
        r = diag_add_at_va(d, file, line, key, fmt, ap);
        va_end(ap);
        return r;
}
