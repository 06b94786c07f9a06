/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <sys/types.h>

/* A directory where root writes what root's programs trust (nginx's include, the live socket link),
 * opened so that nobody else can swap it, or one above it, between our check and our use. */

/* Opens path (O_PATH, for the *at() calls) one component at a time from "/", never following a
 * symbolic link, and only if every directory on the way, path included, is root's and writable by no
 * one else; a sticky directory such as /tmp is fine, since others cannot rename or remove root's
 * entries in it. A missing directory is created with create_mode, unless that is 0 (then -ENOENT).
 * Returns the descriptor, or -EPERM when a directory fails the rule, is a symbolic link or is not a
 * directory. */
int root_dir_open(const char *path, mode_t create_mode);
