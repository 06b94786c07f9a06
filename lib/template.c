/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "template.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "macro.h"
#include "templates-embedded.h"

const char *template_get(const char *name) {
        for (size_t i = 0; i < n_embedded_templates; i++)
                if (streq(embedded_templates[i].name, name))
                        return embedded_templates[i].text;
        return NULL;
}

static size_t var_name_len(const char *p) {
        size_t n = strspn(p, "ABCDEFGHIJKLMNOPQRSTUVWXYZ_");

        return n > 0 && p[n] == '@' ? n : 0;
}

static const char *lookup(const struct tvar *vars, size_t n_vars, const char *name, size_t len) {
        /* Cheap tests first: this runs for every variable of every file of every app. */
        for (size_t i = 0; i < n_vars; i++)
                if (vars[i].name[0] == name[0] && strncmp(vars[i].name, name, len) == 0 && vars[i].name[len] == 0)
                        return vars[i].value ?: "";
        return NULL;
}

int template_render(const char *tmpl, const struct tvar *vars, size_t n_vars, char **ret) {
        _cleanup_free_ char *buf = NULL;
        size_t size = 0;
        FILE *f;
        int r = 0;

        f = open_memstream(&buf, &size);
        if (!f)
                return -ENOMEM;

        for (const char *line = tmpl; *line && r >= 0;) {
                const char *eol = strchrnul(line, '\n');
                const char *next = *eol ? eol + 1 : eol;
                size_t n;

                /* A line that is exactly one variable: drop it when empty, and do not add a second newline
                 * after a multi-line value that brings its own. */
                if (line[0] == '@' && (n = var_name_len(line + 1)) > 0 && line + n + 2 == eol) {
                        const char *v = lookup(vars, n_vars, line + 1, n);

                        if (!v) {
                                r = -ENOKEY;
                                break;
                        }
                        if (*v) {
                                size_t vl = strlen(v);

                                fputs(v, f);
                                if (v[vl - 1] != '\n' && *eol)
                                        fputc('\n', f);
                        }
                        line = next;
                        continue;
                }

                for (const char *p = line; p < next;) {
                        const char *at = memchr(p, '@', (size_t) (next - p));

                        if (!at) {
                                fwrite(p, 1, (size_t) (next - p), f);
                                break;
                        }
                        fwrite(p, 1, (size_t) (at - p), f);
                        if ((n = var_name_len(at + 1)) > 0) {
                                const char *v = lookup(vars, n_vars, at + 1, n);

                                if (!v) {
                                        r = -ENOKEY;
                                        break;
                                }
                                fputs(v, f);
                                p = at + n + 2;
                        } else {
                                fputc('@', f);
                                p = at + 1;
                        }
                }
                line = next;
        }

        if (fclose(f) != 0 && r >= 0)
                r = -ENOMEM;
        if (r < 0)
                return r;
        *ret = TAKE_PTR(buf);
        return 0;
}

static char *escape_chars(const char *s, const char *bad, char esc, const char *open, const char *close) {
        size_t n = strlen(open) + strlen(close) + 1;
        char *r, *q;

        for (const char *p = s; *p; p++)
                n += strchr(bad, *p) ? 2 : 1;
        r = malloc(n);
        if (!r)
                return NULL;
        q = stpcpy(r, open);
        for (const char *p = s; *p; p++) {
                if (strchr(bad, *p))
                        *q++ = *p == '%' ? '%' : esc;
                *q++ = *p;
        }
        strcpy(q, close);
        return r;
}

char *unit_escape_specifiers(const char *s) {
        return escape_chars(s, "%", '%', "", "");
}

char *unit_quote_assignment(const char *name, const char *value) {
        _cleanup_free_ char *v = escape_chars(value, "%\\\"", '\\', "", "");
        char *r;

        if (!v || asprintf(&r, "\"%s=%s\"", name, v) < 0)
                return NULL;
        return r;
}

char *envfile_quote(const char *value) {
        /* systemd's env-file parser unescapes exactly these inside double quotes. */
        return escape_chars(value, "\\\"$`", '\\', "\"", "\"");
}
