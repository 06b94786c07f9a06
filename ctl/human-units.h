/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stddef.h>
#include <stdint.h>

/* Sizes and ages for people: "12.3M" (powers of 1024, as du -h), "45s", "12m", "3h", "5d". */
const char *human_size(uint64_t bytes, char *buf, size_t size);
const char *human_age(long long seconds, char *buf, size_t size);
