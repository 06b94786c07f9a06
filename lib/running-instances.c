/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "running-instances.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "macro.h"

void instances_free(char **l, size_t n) {
        for (size_t k = 0; k < n; k++)
                free(l[k]);
        free(l);
}

static bool runs(const char *active_state, uint32_t job_id) {
        return job_id != 0 || streq(active_state, "active") || streq(active_state, "activating") ||
               streq(active_state, "reloading") || streq(active_state, "deactivating");
}

static int add_instance(const char *prefix, const char *unit, char ***list, size_t *n) {
        size_t plen = strlen(prefix), ulen = strlen(unit), slen = strlen(".service");
        char **l;

        if (ulen <= plen + slen || strncmp(unit, prefix, plen) != 0)
                return 0;
        l = realloc(*list, sizeof(char *) * (*n + 1));
        if (!l)
                return -ENOMEM;
        *list = l;
        l[*n] = strndup(unit + plen, ulen - plen - slen);
        if (!l[*n])
                return -ENOMEM;
        (*n)++;
        return 0;
}

int bus_template_instances_running(sd_bus *bus, const char *prefix, char ***ret, size_t *ret_n) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL, *reply = NULL;
        _cleanup_free_ char *pattern = NULL;
        const char *name, *active;
        char **list = NULL;
        size_t n = 0;
        uint32_t job;
        int r;

        *ret = NULL;
        *ret_n = 0;
        if (asprintf(&pattern, "%s*.service", prefix) < 0)
                return -ENOMEM;
        r = sd_bus_message_new_method_call(bus, &m, "org.freedesktop.systemd1", "/org/freedesktop/systemd1",
                                           "org.freedesktop.systemd1.Manager", "ListUnitsByPatterns");
        if (r >= 0)
                r = sd_bus_message_append_strv(m, (char *[]) { NULL });
        if (r >= 0)
                r = sd_bus_message_append_strv(m, (char *[]) { pattern, NULL });
        if (r >= 0)
                r = sd_bus_call(bus, m, 0, NULL, &reply);
        if (r >= 0)
                r = sd_bus_message_enter_container(reply, 'a', "(ssssssouso)");
        /* A start still queued (a deploy does not wait for the watch it starts) is one about to run. */
        while (r >= 0 && (r = sd_bus_message_read(reply, "(ssssssouso)", &name, NULL, NULL, &active, NULL, NULL, NULL,
                                                  &job, NULL, NULL)) > 0)
                if (runs(active, job))
                        r = add_instance(prefix, name, &list, &n);
        if (r < 0) {
                instances_free(list, n);
                return r;
        }
        *ret = list;
        *ret_n = n;
        return 0;
}
