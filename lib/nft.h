/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "appenv.h"

/* The redirect switch: each app has a table of its own, "inet bluegreen-APP", holding one nat output
 * chain with one rule that sends nginx's connections to the stable port on to the live color. No other
 * table is read or touched. */

/* Points the stable port at color c, replacing the rule in one nftables transaction: a connection
 * sees either the old rule or the new one, never none. On failure nothing changed and *ret_reason
 * says why (nft's own message). */
int nft_redirect_set(const struct app_env *e, enum color c, char **ret_reason);

/* The port the stable port is redirected to now; -ENOENT when the app has no rule, -EPERM when not
 * root (reading the ruleset needs CAP_NET_ADMIN). */
int nft_redirect_get(const struct app_env *e, int *ret_port);
