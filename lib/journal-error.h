/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stddef.h>
#include <stdint.h>

/* The last error the journal holds for unit since since_usec (CLOCK_REALTIME), from the health gate,
 * bluegreen-exec or the app itself, to say in one line why a start failed. */
void journal_last_error(const char *unit, uint64_t since_usec, char *buf, size_t size);
