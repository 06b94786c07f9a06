/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdarg.h>

#include "decl.h"
#include "macro.h"

/* struct diag, diag_done() and diag_add_printf() are declared in decl.h, next to app_decl_load(), whose
 * callers read the list; what the code reading a declaration adds to it is declared here. */

/* Adds "FILE:LINE: KEY: message", without ":LINE" when line is 0 (the file as a whole) and without
 * "KEY: " when key is NULL; -ENOMEM when it could not be added. */
_printf_(5, 0) int diag_add_at_va(struct diag *d, const char *file, unsigned line, const char *key, const char *fmt,
                                  va_list ap);
_printf_(5, 6) int diag_add_at(struct diag *d, const char *file, unsigned line, const char *key, const char *fmt, ...);
