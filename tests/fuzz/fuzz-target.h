/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

/* What libFuzzer calls, once per input; standalone-main.c calls it too. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A broken promise: "fuzz-TARGET: what", then abort(), which libFuzzer and the replay both report
 * with the input that did it. */
#define FAIL(...)                                                               \
        do {                                                                    \
                fprintf(stderr, "%s: ", program_invocation_short_name);         \
                fprintf(stderr, __VA_ARGS__);                                   \
                fputc('\n', stderr);                                            \
                abort();                                                        \
        } while (0)
