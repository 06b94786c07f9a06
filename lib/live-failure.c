/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "live-failure.h"

#include <stdio.h>
#include <string.h>

#include "bus.h"
#include "macro.h"
#include "probe.h"
#include "unit-name.h"

#define UNIT_IFACE "org.freedesktop.systemd1.Unit"

static bool unit_is(sd_bus *bus, const char *unit, const char *want) {
        _cleanup_free_ char *state = NULL;

        return bus_unit_get_string(bus, unit, UNIT_IFACE, "ActiveState", &state) >= 0 && streq(state, want);
}

int live_failure_check(sd_bus *bus, const struct app_env *e, enum color live, bool probe, struct live_failure *ret) {
        _cleanup_free_ char *state = NULL, *result = NULL;
        const char *u = unit_name(e->app, "@", color_to_string(live), "service");
        enum color other = color_other(live);
        char why[512];
        int r;

        *ret = (struct live_failure) {};
        r = bus_unit_get_string(bus, u, UNIT_IFACE, "ActiveState", &state);
        if (r < 0)
                return r;
        if (!streq(state, "failed"))
                return 0;
        if (bus_unit_get_string(bus, u, "org.freedesktop.systemd1.Service", "Result", &result) >= 0)
                snprintf(ret->result, sizeof ret->result, "%s", result);
        ret->other_warm = unit_is(bus, unit_name(e->app, "@", color_to_string(other), "service"), "active") &&
                          (!probe || probe_health_once(e, other, why, sizeof why));
        return 1;
}

void live_failure_hint(const struct app_env *e, enum color live, const char *release, char *buf, size_t size) {
        snprintf(buf, size,
                 "run systemctl start %s-deploy@RELEASE to deploy a release, or systemctl restart %s@%s.service "
                 "to start %s again once its directory is back",
                 e->app, e->app, color_to_string(live), release ?: "its release");
}
