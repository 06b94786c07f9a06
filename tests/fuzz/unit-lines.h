/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>

/* Whether text reads to systemd as the lines the generator meant to write: every line blank, a comment,
 * a [section] (units only) or KEY=VALUE, and none ending in an odd run of "\", which would continue it
 * onto the next (how an exec ending in "\" once swallowed the health gate). On false, *ret_line is the bad line. */
bool unit_text_is_sound(const char *text, const char **ret_line);
bool env_text_is_sound(const char *text, const char **ret_line);

/* The "NAME=value" systemd makes of the value of an Environment= line: specifiers expanded (only "%%"
 * may appear: any other would expand to something the admin did not write), then one double-quoted
 * word with "\\" and "\"" unescaped, the only escapes the generator writes. -EINVAL for anything else,
 * such as a second word. */
int unit_environment_unquote(const char *value, char **ret);
