/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* APP MIDDLE INSTANCE . TYPE, e.g. ("shop", "@", "blue", "service"): a static buffer, one of eight used
 * in turn, so a few names can be in use at once. */
char *unit_name(const char *app, const char *middle, const char *instance, const char *type);
