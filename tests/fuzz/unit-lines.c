/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "unit-lines.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "macro.h"

/* systemd's parser takes "\\" as an escaped backslash: only an odd run of them at the end continues. */
static bool line_continues(const char *l, size_t n) {
        size_t k = 0;

        while (k < n && l[n - 1 - k] == '\\')
                k++;
        return k % 2 == 1;
}

static bool line_is_sound(const char *l, size_t n, bool unit) {
        size_t k;

        if (line_continues(l, n))
                return false;
        if (n == 0 || l[0] == '#' || (unit && l[0] == ';'))
                return true;
        if (unit && l[0] == '[')
                return l[n - 1] == ']';
        k = strspn(l, unit ? "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
                           : "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_");
        return k > 0 && k < n && l[k] == '=';
}

static bool text_is_sound(const char *text, bool unit, const char **ret_line) {
        for (const char *l = text; *l;) {
                size_t n = strcspn(l, "\n");

                if (!line_is_sound(l, n, unit)) {
                        *ret_line = l;
                        return false;
                }
                l += n + (l[n] == '\n');
        }
        return true;
}

bool unit_text_is_sound(const char *text, const char **ret_line) {
        return text_is_sound(text, true, ret_line);
}

bool env_text_is_sound(const char *text, const char **ret_line) {
        return text_is_sound(text, false, ret_line);
}

int unit_environment_unquote(const char *value, char **ret) {
        _cleanup_free_ char *s = malloc(strlen(value) + 1);
        const char *p = value;
        char *q = s;

        if (!s)
                return -ENOMEM;
        /* systemd expands specifiers in the whole value first, then splits it into words. */
        for (; *p; p++) {
                if (*p == '%' && p[1] != '%')
                        return -EINVAL;
                *q++ = *p;
                p += *p == '%';
        }
        *q = 0;
        if (s[0] != '"')
                return -EINVAL;
        q = s;
        for (p = s + 1; *p != '"'; p++) {
                if (!*p)
                        return -EINVAL;
                if (*p == '\\') {
                        p++;
                        if (*p != '\\' && *p != '"')
                                return -EINVAL;
                }
                *q++ = *p;
        }
        if (p[1])
                return -EINVAL;
        *q = 0;
        *ret = TAKE_PTR(s);
        return 0;
}
