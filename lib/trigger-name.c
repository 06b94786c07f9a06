/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "trigger-name.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "decl.h"

static bool is_blank(char c) {
        return c == ' ' || c == '\t';
}

int trigger_name_parse(const char *buf, size_t len, char **ret_name) {
        size_t start = 0, end = 0;
        char *name;

        /* Only the first line counts, so that "echo r2 > .deploy" and an editor's trailing newline,
         * CRLF included, both work. */
        while (end < len && buf[end] != '\n' && buf[end] != '\r')
                end++;
        while (start < end && is_blank(buf[start]))
                start++;
        while (end > start && is_blank(buf[end - 1]))
                end--;
        if (start == end) {
                *ret_name = NULL;
                return 0;
        }
        /* A NUL byte is not cut off but kept, so that it makes the name invalid: what is deployed
         * is exactly what the file says. */
        if (memchr(buf + start, 0, end - start))
                return -EINVAL;
        name = strndup(buf + start, end - start);
        if (!name)
                return -ENOMEM;
        if (!release_name_is_valid(name)) {
                free(name);
                return -EINVAL;
        }
        *ret_name = name;
        return 0;
}
