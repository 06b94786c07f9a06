/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "settle.h"

#include <stdio.h>
#include <string.h>

#include "log.h"
#include "macro.h"
#include "switch.h"

int settle_dead_switch(sd_bus *bus, const struct app_env *e, int route_flags) {
        _cleanup_free_ char *summary = NULL;
        int r;

        r = switch_recover(bus, e, route_flags, &summary);
        if (r > 0)
                log_event(LOG_WARNING, MESSAGE_RECOVERED, e->app, NULL, NULL, "%s: %s.", e->app, summary);
        else if (r < 0)
                log_event(LOG_ERR, MESSAGE_RECOVERED, e->app, NULL, NULL, "%s: %s. Nothing else was done.", e->app,
                          summary ?: strerror(-r));
        return r;
}

void settle_describe_failed_undo(char *buf, size_t size, const struct app_env *e, const char *reason) {
        snprintf(buf, size,
                 " Undoing it failed too (%s): the next deploy, rollback or systemctl reload %s.service settles it; "
                 "bluegreenctl status shows it until then.",
                 reason, e->app);
}
