/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* JSON on stdout, for the verbs' --json. */

/* s as a JSON string: quotes, backslashes and control characters escaped; other bytes as they are
 * (declarations and names are UTF-8). */
void json_string(const char *s);
/* The same, or null for NULL or "". */
void json_string_or_null(const char *s);
