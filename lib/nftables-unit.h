/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* How the firewall's nftables.service loads the ruleset, read from its unit files the way systemd
 * merges them: the first fragment along the unit search path, then every nftables.service.d/ drop-in,
 * ordered by file name, a name in an earlier directory hiding the same name further down.
 *
 * The generator takes over that unit's start, reload and stop only when they are exactly Debian's
 * (ExecStart= and ExecReload= "nft -f FILE", ExecStop= "nft flush ruleset"): then it knows what they
 * load and can load the same in one transaction with bluegreen's redirect rules. Anything an admin
 * changed there is theirs and is left alone.
 *
 * The search path is systemd's for the system manager, without the generators' own directories
 * ($BLUEGREEN_UNIT_PATH, colon-separated, for tests). */

struct nftables_unit {
        char *nft;    /* the nft binary it runs, as written */
        char *config; /* the file its start and reload load */
};

void nftables_unit_done(struct nftables_unit *u);

/* 0: *ret says what it loads. -ENOENT: no nftables.service (nftables is not installed). -ERFKILL: it
 * is masked. -EMEDIUMTYPE: its commands are not Debian's; *ret_reason says which one and where
 * ("FILE:LINE: ExecStart=... is not ..."). Other -errno: a unit file could not be read, *ret_reason
 * naming it. */
int nftables_unit_read(struct nftables_unit *ret, char **ret_reason);
