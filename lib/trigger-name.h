/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stddef.h>

/* Reads the release name out of a trigger file's content (buf, len bytes, not NUL-terminated). Returns 0 and *ret_name
 * = NULL when there is nothing to deploy (empty or blanks), 0 and a malloc'ed valid release name, or -EINVAL when the
 * content names no valid release. Only the first line counts (ended by \n or \r), blanks (space, tab) around the name
 * are dropped, and a NUL byte in the name makes it invalid. -ENOMEM when the name cannot be copied. */
int trigger_name_parse(const char *buf, size_t len, char **ret_name);
