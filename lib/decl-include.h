/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stddef.h>

struct diag;

/* Where lines of the text libconfig parses were written: the declaration with every @include spliced
 * in. Lines first..(the next span's first - 1) of the text are lines line.. of file. */
struct source_span {
        unsigned first;
        const char *file;
        unsigned line;
};

struct source_map {
        char **files; /* the declaration, then each file included, as paths an admin can open */
        size_t n_files;
        struct source_span *spans;
        size_t n_spans;
};

void source_map_done(struct source_map *m);

/* Line n of the parsed text as the file and line it was written at: path and n themselves for line 0
 * (no line) or a line the map does not cover. */
const char *source_map_line(const struct source_map *m, const char *path, unsigned n, unsigned *ret_line);

/* The text of the declaration at path with its includes, for libconfig, and in map where each line of
 * it came from. Returns -EIO when the declaration itself cannot be read, -EINVAL when it or an include
 * is wrong, both explained in diag, and -ENOMEM, also when an explanation could not be added. */
int decl_include_expand(const char *path, struct source_map *map, struct diag *diag, char **ret);
