/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "decl-include.h"

#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "decl.h"
#include "diag.h"
#include "fileio.h"
#include "macro.h"

/* The declaration with its @include files spliced in, and where each line came from.
 *
 * libconfig 1.5 has no include hook, and its own handling takes every other app down with one bad
 * line: it fopen()s whatever is named, so "" or "." (the directory) makes flex call exit(2) inside the
 * generator, a FIFO blocks it for ever, and includes that fan out run for hours. So the generator
 * expands @include itself, with the same syntax libconfig's scanner has (lib/scanner.l: a line that
 * starts with [ \t]*@include[ \t]+"NAME", outside strings and comments; \\ and \" escape in NAME) and
 * the same meaning (NAME is relative to the declaration's directory, also in included files), and
 * hands libconfig text without any @include left. Only regular files are opened, never blocking, and
 * DECL_INCLUDE_* bound the rest. */

enum lex {
        LEX_CODE,
        LEX_STRING,
        LEX_COMMENT,      /* slash-star ... star-slash */
        LEX_LINE_COMMENT, /* # or // to the end of the line */
};

struct expansion {
        const char *path; /* the declaration */
        struct diag *diag;
        bool oom;        /* a problem could not be added to diag */
        const char *dir; /* NULL: the current directory */
        FILE *out;
        unsigned out_line; /* the line of the text being written, from 1 */
        size_t size;       /* bytes read so far, all files together */
        struct source_map *map;
};

void source_map_done(struct source_map *m) {
        for (size_t i = 0; i < m->n_files; i++)
                free(m->files[i]);
        free(m->files);
        free(m->spans);
}

const char *source_map_line(const struct source_map *m, const char *path, unsigned n, unsigned *ret_line) {
        const struct source_span *best = NULL;

        for (size_t i = 0; m && i < m->n_spans && m->spans[i].first <= n; i++)
                best = &m->spans[i];
        if (!best || n == 0) {
                *ret_line = n;
                return path;
        }
        *ret_line = best->line + (n - best->first);
        return best->file;
}

/* Reads a regular file of at most max bytes. Anything else is refused, with look_first before it is
 * opened (opening a device can do things), and the open cannot block (O_NONBLOCK) should the name be
 * swapped for a FIFO meanwhile: fstat() decides. The generator has looked at each declaration already. */
static int read_regular_file(const char *path, size_t max, bool look_first, char **ret) {
        _cleanup_close_ int fd = -1;
        _cleanup_free_ char *buf = NULL;
        struct stat st, fst;
        size_t len;
        int r;

        if (look_first && stat(path, &st) < 0)
                return negative_errno();
        if (look_first && S_ISDIR(st.st_mode))
                return -EISDIR;
        if (look_first && !S_ISREG(st.st_mode))
                return -ENODEV;
        fd = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
        if (fd < 0)
                return negative_errno();
        if (fstat(fd, &fst) < 0)
                return negative_errno();
        if (!S_ISREG(fst.st_mode))
                return S_ISDIR(fst.st_mode) ? -EISDIR : -ENODEV;
        if ((uintmax_t) fst.st_size > max)
                return -EFBIG;
        /* Reading at most what fstat() said, read_fd() finds the byte more that tells a file that grew
         * meanwhile from a whole one. */
        r = read_fd(fd, (size_t) fst.st_size, &buf, &len);
        if (r == -EFBIG)
                return (size_t) fst.st_size >= max ? -EFBIG : -ESTALE;
        if (r < 0)
                return r;
        if (memchr(buf, 0, len))
                return -EBADMSG;
        *ret = TAKE_PTR(buf);
        return 0;
}

static const char *read_error(int r) {
        switch (r) {
        case -EISDIR:
                return "is a directory, not a file";
        case -ENODEV:
                return "is not a regular file (a FIFO, socket or device)";
        case -EBADMSG:
                return "contains a NUL byte";
        case -ESTALE:
                return "changed while it was being read";
        default:
                return NULL;
        }
}

_printf_(4, 5) static void report_at(struct expansion *e, const char *file, unsigned line, const char *fmt, ...) {
        va_list ap;

        va_start(ap, fmt);
        if (diag_add_at_va(e->diag, file, line, NULL, fmt, ap) < 0)
                e->oom = true;
        va_end(ap);
}

static int emit(struct expansion *e, const char *p, size_t n) {
        for (size_t i = 0; i < n; i++)
                e->out_line += p[i] == '\n';
        return n > 0 && fwrite(p, 1, n, e->out) != n ? -ENOMEM : 0;
}

/* From the next line of the text on, lines are those of file from line on. */
static int span_add(struct expansion *e, const char *file, unsigned line) {
        struct source_map *m = e->map;
        struct source_span *n;

        if (m->n_spans > 0 && m->spans[m->n_spans - 1].first == e->out_line) {
                m->spans[m->n_spans - 1] = (struct source_span) { e->out_line, file, line };
                return 0;
        }
        n = realloc(m->spans, (m->n_spans + 1) * sizeof *n);
        if (!n)
                return -ENOMEM;
        m->spans = n;
        m->spans[m->n_spans++] = (struct source_span) { e->out_line, file, line };
        return 0;
}

/* The length of "[ \t]*@include[ \t]+\"" at p, or 0. */
static size_t include_open_len(const char *p) {
        const char *q = p + strspn(p, " \t");
        size_t n;

        if (strncmp(q, "@include", 8) != 0)
                return 0;
        q += 8;
        n = strspn(q, " \t");
        if (n == 0 || q[n] != '"')
                return 0;
        return (size_t) (q + n + 1 - p);
}

/* The file name after @include's opening quote, unescaped; *end is set after the closing quote. */
static int include_name(struct expansion *e, const char *file, unsigned line, const char *p, const char **end,
                        char **ret) {
        _cleanup_free_ char *name = malloc(strlen(p) + 1);
        char *q = name;

        if (!name)
                return -ENOMEM;
        for (; *p != '"'; p++) {
                if (*p == '\\' && (p[1] == '\\' || p[1] == '"'))
                        p++;
                else if (*p == '\\') {
                        report_at(e, file, line,
                                  "@include: a \"\\\" in the file name may only escape \"\\\" or a quote");
                        return -EINVAL;
                } else if ((unsigned char) *p < 0x20 || *p == 0x7f) {
                        report_at(e, file, line,
                                  *p == '\n' || !*p ? "@include: the file name has no closing quote"
                                                    : "@include: the file name contains a control character");
                        return -EINVAL;
                }
                *q++ = *p;
        }
        *q = 0;
        *end = p + 1;
        *ret = TAKE_PTR(name);
        return 0;
}

static int expand(struct expansion *e, const char *file, const char *text, unsigned depth);

/* Reads and expands the file an @include line names, after the checks that keep one declaration from
 * holding up the generator. */
static int include_file(struct expansion *e, const char *file, unsigned line, const char *name, unsigned depth) {
        _cleanup_free_ char *path = NULL, *text = NULL;
        char **files;
        int r;

        if (!*name) {
                report_at(e, file, line, "@include \"\": an empty file name names no file");
                return -EINVAL;
        }
        if (name[0] == '/') {
                report_at(e, file, line,
                          "@include \"%s\": must be a file name relative to %s, the directory of the declaration",
                          name, e->dir ?: "the current directory");
                return -EINVAL;
        }
        if (depth + 1 > DECL_INCLUDE_DEPTH_MAX) {
                report_at(e, file, line, "@include \"%s\": included files nest more than %d deep (an include loop?)",
                          name, DECL_INCLUDE_DEPTH_MAX);
                return -EINVAL;
        }
        if (e->map->n_files > DECL_INCLUDE_FILES_MAX) {
                report_at(e, file, line, "@include \"%s\": a declaration may include at most %d files in all",
                          name, DECL_INCLUDE_FILES_MAX);
                return -EINVAL;
        }
        if (asprintf(&path, "%s%s%s", e->dir ?: "", e->dir && !streq(e->dir, "/") ? "/" : "", name) < 0)
                return -ENOMEM;

        r = read_regular_file(path, DECL_TEXT_SIZE_MAX - e->size, true, &text);
        if (r == -EFBIG) {
                report_at(e, file, line, "@include \"%s\": the declaration and its included files exceed %d bytes",
                          name, DECL_TEXT_SIZE_MAX);
                return -EINVAL;
        }
        if (r == -ENOMEM)
                return r;
        if (r < 0) {
                if (read_error(r))
                        report_at(e, file, line, "@include \"%s\": %s %s", name, path, read_error(r));
                else
                        report_at(e, file, line, "@include \"%s\": %s cannot be read: %s", name, path, strerror(-r));
                return -EINVAL;
        }
        e->size += strlen(text);

        files = realloc(e->map->files, (e->map->n_files + 1) * sizeof(char *));
        if (!files)
                return -ENOMEM;
        e->map->files = files;
        /* The map owns the name from here on: every message about the file's lines points at it. */
        files[e->map->n_files] = TAKE_PTR(path);

        r = expand(e, files[e->map->n_files++], text, depth + 1);
        if (r < 0)
                return r;
        /* What follows the @include line goes on a line of its own. */
        if (*text && text[strlen(text) - 1] != '\n')
                r = emit(e, "\n", 1);
        return r;
}

/* Writes text to e->out with every @include replaced by the file it names, libconfig 1.5's scanner
 * deciding what is an @include line. */
static int expand(struct expansion *e, const char *file, const char *text, unsigned depth) {
        enum lex st = LEX_CODE;
        const char *seg = text; /* not written yet from here */
        unsigned line = 1;
        bool bol = true;
        size_t n;
        int r;

        r = span_add(e, file, 1);
        for (const char *p = text; r >= 0 && *p;) {
                if (bol && st == LEX_CODE && (n = include_open_len(p)) > 0) {
                        _cleanup_free_ char *name = NULL;
                        const char *end;

                        r = include_name(e, file, line, p + n, &end, &name);
                        if (r < 0)
                                return r;
                        r = emit(e, seg, (size_t) (p - seg));
                        if (r >= 0)
                                r = include_file(e, file, line, name, depth);
                        if (r < 0)
                                return r;
                        /* libconfig would not take a second @include on the line for one; on a line of
                         * its own, it would. */
                        if (include_open_len(end) > 0) {
                                report_at(e, file, line, "@include: only one @include per line");
                                return -EINVAL;
                        }
                        r = span_add(e, file, line);
                        seg = p = end;
                        bol = false;
                        continue;
                }
                switch (st) {
                case LEX_CODE:
                        if (*p == '"')
                                st = LEX_STRING;
                        else if (*p == '#' || (p[0] == '/' && p[1] == '/'))
                                st = LEX_LINE_COMMENT;
                        else if (p[0] == '/' && p[1] == '*')
                                st = LEX_COMMENT, p++;
                        break;
                case LEX_STRING:
                        if (*p == '\\' && (p[1] == '\\' || p[1] == '"'))
                                p++;
                        else if (*p == '"')
                                st = LEX_CODE;
                        break;
                case LEX_COMMENT:
                        if (p[0] == '*' && p[1] == '/')
                                st = LEX_CODE, p++;
                        break;
                case LEX_LINE_COMMENT:
                        break;
                }
                bol = *p == '\n';
                if (bol) {
                        line++;
                        if (st == LEX_LINE_COMMENT)
                                st = LEX_CODE;
                }
                p++;
        }
        if (r >= 0)
                r = emit(e, seg, strlen(seg));
        if (r < 0)
                return r;
        /* libconfig's scanner state carries on into the including file: an @include line there that
         * this scan took for one would then be text to libconfig, or the other way round. */
        if (depth > 0 && (st == LEX_STRING || st == LEX_COMMENT)) {
                report_at(e, file, line - (line > 1 && text[strlen(text) - 1] == '\n'),
                          "the file ends inside a %s; an included file must close what it opens",
                          st == LEX_STRING ? "string" : "comment");
                return -EINVAL;
        }
        return 0;
}

static int read_declaration(struct expansion *e, char **ret) {
        _cleanup_free_ char *text = NULL, *dir = NULL, *out = NULL;
        size_t out_size = 0;
        char *slash;
        int r, k;

        r = read_regular_file(e->path, DECL_TEXT_SIZE_MAX, false, &text);
        if (r == -ENOMEM)
                return r;
        if (r < 0) {
                if (r == -EFBIG || r == -EBADMSG) {
                        if (r == -EBADMSG)
                                report_at(e, e->path, 0, "%s", read_error(r));
                        else
                                report_at(e, e->path, 0, "is larger than %d bytes", DECL_TEXT_SIZE_MAX);
                        return -EINVAL;
                }
                report_at(e, e->path, 0, "cannot be read: %s", read_error(r) ?: strerror(-r));
                return -EIO;
        }
        e->size = strlen(text);

        e->map->files = calloc(1, sizeof(char *));
        if (!e->map->files || !(e->map->files[0] = strdup(e->path)))
                return -ENOMEM;
        e->map->n_files = 1;

        /* "common.inc" means the file beside the declaration, wherever we are run from. */
        dir = strdup(e->path);
        if (!dir)
                return -ENOMEM;
        slash = strrchr(dir, '/');
        if (slash) {
                *slash = 0;
                e->dir = *dir ? dir : "/";
        }

        e->out = open_memstream(&out, &out_size);
        if (!e->out)
                return -ENOMEM;
        r = expand(e, e->map->files[0], text, 0);
        k = fclose(e->out) != 0 ? -ENOMEM : 0;
        if (r < 0)
                return r;
        if (k < 0)
                return k;
        *ret = TAKE_PTR(out);
        return 0;
}

int decl_include_expand(const char *path, struct source_map *map, struct diag *diag, char **ret) {
        struct expansion e = { .path = path, .diag = diag, .out_line = 1, .map = map };
        int r;

        r = read_declaration(&e, ret);
        return e.oom ? -ENOMEM : r;
}
