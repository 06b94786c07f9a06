/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdint.h>

/* What the tree at name (relative to dirfd) takes on disk, as "du -sx" counts it: the blocks of every
 * entry, a file with several links once, no symbolic link followed, no other file system entered.
 * What cannot be read is left out; returns 0, or a negative errno when name itself cannot be looked at. */
int disk_usage(int dirfd, const char *name, uint64_t *ret_bytes);
