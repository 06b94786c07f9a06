/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "probe.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http.h"
#include "macro.h"

char *expand_release(const char *s, const char *release) {
        const char *p = strstr(s, "${RELEASE}");
        _cleanup_free_ char *rest = NULL;
        char *r;

        if (!p)
                return strdup(s);
        rest = expand_release(p + 10, release);
        if (!rest || asprintf(&r, "%.*s%s%s", (int) (p - s), s, release, rest) < 0)
                return NULL;
        return r;
}

int probe_new_for_color(const struct app_env *e, enum color c, long timeout_ms, struct http_probe **ret) {
        if (e->switch_mode == SWITCH_SOCKET)
                return http_probe_new_unix(e->socket[c], timeout_ms, ret);
        return http_probe_new(e->bind, e->port[c], timeout_ms, ret);
}

bool probe_health_once(const struct app_env *e, enum color c, char *reason, size_t size) {
        _cleanup_(http_probe_freep) struct http_probe *p = NULL;

        if (isempty(e->health_path))
                return true;
        if (probe_new_for_color(e, c, e->health_timeout_ms, &p) < 0 ||
            http_probe_set_headers(p, e->health_host, e->health_headers, e->n_health_headers) < 0) {
                snprintf(reason, size, "cannot set up the HTTP probe");
                return false;
        }
        return http_probe_check(p, e->health_path, e->health_expect_status, e->health_body_contains, reason, size);
}
