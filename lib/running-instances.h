/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stddef.h>
#include <systemd/sd-bus.h>

/* The instances of the template unit PREFIX@.service ("shop-watch@") that run or are about to: active,
 * activating, reloading or deactivating, or with a job queued. *ret holds the instance names (for
 * "shop-watch@r5.service", "r5"), *ret_n of them; free them with instances_free(). */
int bus_template_instances_running(sd_bus *bus, const char *prefix, char ***ret, size_t *ret_n);
void instances_free(char **l, size_t n);
