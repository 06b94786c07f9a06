/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "appenv.h"

/* The redirect switch: each app has a table of its own, "inet bluegreen-APP", holding one nat output
 * chain with one rule that sends nginx's connections to the stable port on to the live color. No other
 * table is read or touched.
 *
 * Next to the kernel's rule, a copy of the batch that set it is kept in RULE_DIR/APP/redirect.nft
 * (RULE_DIR is /run/bluegreen; $BLUEGREEN_NFT_RULE_DIR for tests), replaced atomically after every
 * rule set, so that the generator's drop-in for nftables.service (units/nftables-dropin.conf), or an
 * /etc/nftables.conf that includes such files, loads the rules in the very transaction that flushes
 * the ruleset. It lives on a tmpfs,
 * as the rule lives in the kernel: its presence also says a rule was set since boot. */

/* Points the stable port at color c, replacing the rule in one nftables transaction: a connection
 * sees either the old rule or the new one, never none; then replaces the rule file. On failure
 * *ret_reason says why (nft's own message, or why the file could not be written: then the rule is
 * set but the file is not, and the caller must treat the switch as failed, since a firewall reload
 * would load the stale file). */
int nft_redirect_set(const struct app_env *e, enum color c, char **ret_reason);

/* The port the stable port is redirected to now; -ENOENT when the app has no rule, -EPERM when not
 * root (reading the ruleset needs CAP_NET_ADMIN). */
int nft_redirect_get(const struct app_env *e, int *ret_port);

/* The port the rule file says; -ENOENT when there is none (no rule was set since boot). */
int nft_redirect_saved(const struct app_env *e, int *ret_port);
