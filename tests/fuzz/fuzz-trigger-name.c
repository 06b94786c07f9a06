/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Fuzz target: the release name a deploy user writes into the trigger file (trigger_name_parse(),
 * lib/trigger-name.h) and release_name_is_valid() on any bytes. A name that comes out is what root
 * then deploys from releases/NAME, so it must be a valid release name: 1 to 128 bytes, no "/", no
 * leading "." or "-"; it must be the first line with its blanks trimmed, and read again it must give
 * itself. Nothing to deploy is only ever a first line of blanks. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "decl.h"
#include "fuzz-target.h"
#include "macro.h"
#include "trigger-name.h"

/* The first line, blanks trimmed, as [*ret_start, *ret_end): what bluegreen-trigger(8) says is read.
 * Found from both ends of the line with strspn() over a copy, not as trigger-name.c walks it. */
static void first_line(const char *buf, size_t len, size_t *ret_start, size_t *ret_end) {
        _cleanup_free_ char *line = NULL;
        const char *nl = memchr(buf, '\n', len), *cr = memchr(buf, '\r', len);
        size_t eol = len, s;

        if (nl && (size_t) (nl - buf) < eol)
                eol = (size_t) (nl - buf);
        if (cr && (size_t) (cr - buf) < eol)
                eol = (size_t) (cr - buf);
        line = malloc(eol + 1);
        if (!line)
                abort();
        /* NUL bytes stand in as "x" here: they are part of the name, which they make invalid. */
        for (size_t i = 0; i < eol; i++)
                line[eol - 1 - i] = buf[i] ?: 'x';
        line[eol] = 0;
        s = strspn(line, " \t"); /* line is reversed: these are the trailing blanks */
        for (size_t i = 0; i < eol; i++)
                line[i] = buf[i] ?: 'x';
        *ret_start = strspn(line, " \t");
        *ret_end = *ret_start == eol ? eol : eol - s;
}

static void check_name(const char *name) {
        size_t n = strlen(name);

        if (!release_name_is_valid(name))
                FAIL("\"%s\" returned but not a valid release name", name);
        if (n < 1 || n > 128 || strchr(name, '/') || name[0] == '.' || name[0] == '-')
                FAIL("\"%s\" passes release_name_is_valid() but would escape or confuse releases/", name);
}

static void check_valid(const char *buf, size_t len) {
        _cleanup_free_ char *s = strndup(buf, len);

        if (!s)
                abort();
        /* Whatever release_name_is_valid() lets through must be safe as one path component. */
        if (release_name_is_valid(s))
                check_name(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        const char *buf = (const char *) data;
        _cleanup_free_ char *name = NULL, *again = NULL, *line = NULL;
        size_t s, e;
        int r;

        check_valid(buf, size);

        r = trigger_name_parse(buf, size, &name);
        first_line(buf, size, &s, &e);
        if (r == -ENOMEM)
                return 0;
        if (r < 0) {
                if (r != -EINVAL)
                        FAIL("unexpected error %d", r);
                if (s == e)
                        FAIL("blanks refused instead of read as nothing to deploy");
                /* Refused: then the trimmed line is no valid name (or holds a NUL). */
                if (!memchr(buf + s, 0, e - s)) {
                        line = strndup(buf + s, e - s);
                        if (!line)
                                abort();
                        if (release_name_is_valid(line))
                                FAIL("\"%s\" refused though valid", line);
                }
                return 0;
        }
        if (!name) {
                if (s != e)
                        FAIL("nothing to deploy, though the first line is \"%.*s\"", (int) (e - s), buf + s);
                return 0;
        }
        check_name(name);
        if (strlen(name) != e - s || memcmp(name, buf + s, e - s) != 0)
                FAIL("\"%s\" is not the trimmed first line \"%.*s\"", name, (int) (e - s), buf + s);

        /* Written back as a deploy user would ("echo NAME > .deploy"), it reads the same. */
        if (asprintf(&line, " %s\r\n", name) < 0)
                abort();
        r = trigger_name_parse(line, strlen(line), &again);
        if (r < 0 || !again || !streq(again, name))
                FAIL("\"%s\" does not read back as itself", name);
        return 0;
}
