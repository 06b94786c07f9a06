/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "json.h"

#include <stdio.h>

void json_string(const char *s) {
        putchar('"');
        for (; s && *s; s++) {
                unsigned char c = (unsigned char) *s;

                if (c == '"' || c == '\\')
                        printf("\\%c", c);
                else if (c < 0x20 || c == 0x7f)
                        printf("\\u%04x", c);
                else
                        putchar(c);
        }
        putchar('"');
}

void json_string_or_null(const char *s) {
        if (s && *s)
                json_string(s);
        else
                fputs("null", stdout);
}
