/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The checks of the unit tests: each failure is printed with its line, and main() ends with the count. */
#include <stdio.h>
#include <string.h>

static int failures, checks;

#define CHECK(cond)                                                                              \
        do {                                                                                     \
                checks++;                                                                        \
                if (!(cond)) {                                                                   \
                        fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
                        failures++;                                                              \
                }                                                                                \
        } while (0)

#define CHECK_STR(a, b)                                                                                            \
        do {                                                                                                       \
                const char *_a = (a), *_b = (b);                                                                   \
                checks++;                                                                                          \
                if (!_a || !_b || strcmp(_a, _b) != 0) {                                                           \
                        fprintf(stderr, "%s:%d: \"%s\" != \"%s\"\n", __FILE__, __LINE__, _a ?: "(null)", _b ?: "(null)"); \
                        failures++;                                                                                \
                }                                                                                                  \
        } while (0)
