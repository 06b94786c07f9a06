/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdint.h>

/* Removes the tree at name, relative to dirfd, for root in a directory another user owns: no symbolic
 * link is ever followed (each directory is opened relative to its parent's descriptor with O_NOFOLLOW,
 * a link is removed as a link, an entry swapped for a link meanwhile too), and nothing on another file
 * system than the tree's own is entered. Goes on past a failure and returns the first (a negative
 * errno; -EXDEV for a mount point left in place); *ret_bytes says what was freed. A name that is gone
 * already is no error. */
int remove_tree(int dirfd, const char *name, uint64_t *ret_bytes);
