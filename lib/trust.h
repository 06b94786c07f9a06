/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "decl.h"

/* Settings that hand whoever controls the releases (the deploy user) more than the app's own user in
 * its sandbox: root, or what root reads. These are warnings, for the generator's log and for
 * bluegreenctl verify, never errors: the app still gets its units.
 *
 * A path counts as another user's when it, or a directory on the way to it, is owned by a user other
 * than root, or writable by a group other than root's or by others. The file systems are looked at as
 * they are, without triggering an automount: what cannot be looked at (not mounted yet at boot, an
 * automount point, a loop of symbolic links) gives no warning, nor does a path that does not exist in a
 * tree only root can write.
 *
 * Adds one "FILE: KEY: message, ignoring." to warnings per problem found. Returns 0, or -ENOMEM. */
int trust_check(const struct app_decl *d, struct diag *warnings);
