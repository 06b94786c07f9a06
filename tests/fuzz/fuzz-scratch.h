/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stddef.h>
#include <stdint.h>

/* The private directory a fuzz target writes its inputs into and points the code under test at: made
 * once per process on a tmpfs where there is one (/dev/shm), removed at exit, or by the next target
 * when this one aborted. Aborts when it cannot be made: a target that cannot write its input tests
 * nothing. */
const char *scratch_dir(void);

/* Writes len bytes as DIR/name (a path relative to the scratch directory), replacing what was there.
 * NULL data removes the file instead. Aborts on failure. */
void scratch_write(const char *name, const void *data, size_t len);

/* Makes DIR/name as a directory (with its parents) and returns its path. Aborts on failure. */
const char *scratch_mkdir(const char *name);

/* Removes everything below path, which is left as an empty directory. Aborts on failure. */
void scratch_empty(const char *path);

/* Cuts one fuzz input into up to max files at each line "%%" (a line that is no valid libconfig,
 * so the fuzzer learns it as a cut, not as syntax). Returns how many parts there are, at least 1. */
size_t fuzz_split(const uint8_t *data, size_t size, const uint8_t **parts, size_t *lens, size_t max);
