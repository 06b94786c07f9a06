/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "state.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "fileio.h"
#include "macro.h"

static char *join(const char *a, const char *b) {
        char *r;

        return asprintf(&r, "%s/%s", a, b) < 0 ? NULL : r;
}

int state_load(const char *state_dir, struct app_state *s) {
        _cleanup_free_ char *active_path = join(state_dir, "active"), *text = NULL;
        int r;

        memset(s, 0, sizeof *s);
        s->active = _COLOR_INVALID;
        if (!active_path)
                return -ENOMEM;

        r = read_file(active_path, 64, &text, NULL);
        if (r >= 0) {
                text[strcspn(text, "\n")] = 0;
                s->active = color_from_string(text);
                if (s->active == _COLOR_INVALID)
                        return -EBADMSG;
        } else if (r != -ENOENT)
                return r;

        for (int c = 0; c < 2; c++) {
                _cleanup_free_ char *pin = join(state_dir, color_to_string(c));
                char target[PATH_MAX];
                ssize_t n;

                if (!pin)
                        return -ENOMEM;
                n = readlink(pin, target, sizeof target - 1);
                if (n < 0) {
                        if (errno == ENOENT)
                                continue;
                        return negative_errno();
                }
                target[n] = 0;
                s->release_dir[c] = strdup(target);
                s->release[c] = strdup(strrchr(target, '/') ? strrchr(target, '/') + 1 : target);
                if (!s->release_dir[c] || !s->release[c])
                        return -ENOMEM;
        }
        return 0;
}

void state_done(struct app_state *s) {
        for (int c = 0; c < 2; c++) {
                free(s->release[c]);
                free(s->release_dir[c]);
        }
        memset(s, 0, sizeof *s);
}

int state_set_active(const char *state_dir, enum color c) {
        _cleanup_free_ char *p = join(state_dir, "active");
        char buf[16];

        if (!p)
                return -ENOMEM;
        snprintf(buf, sizeof buf, "%s\n", color_to_string(c));
        return write_file_atomic(p, buf, strlen(buf), 0644, WRITE_SYNC);
}

int state_clear_active(const char *state_dir) {
        _cleanup_free_ char *p = join(state_dir, "active");

        if (!p)
                return -ENOMEM;
        if (unlink(p) < 0 && errno != ENOENT)
                return negative_errno();
        return fsync_parent_dir(p);
}

int state_pin(const char *state_dir, enum color c, const char *target) {
        _cleanup_free_ char *p = join(state_dir, color_to_string(c));

        if (!p)
                return -ENOMEM;
        if (!target) {
                if (unlink(p) < 0 && errno != ENOENT)
                        return negative_errno();
                return fsync_parent_dir(p);
        }
        return symlink_atomic(target, p, WRITE_SYNC);
}

int state_history_append(const char *state_dir, const char *event, const char *release, enum color c,
                         const char *detail) {
        _cleanup_free_ char *p = join(state_dir, "history"), *line = NULL;
        _cleanup_close_ int fd = -1;
        char when[64];
        struct tm tm;
        time_t t = time(NULL);
        int n;

        if (!p)
                return -ENOMEM;
        strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%S%z", localtime_r(&t, &tm));
        n = asprintf(&line, "%s %s %s %s%s%s\n", when, event, release ?: "-", c >= 0 ? color_to_string(c) : "-",
                     detail ? " " : "", detail ?: "");
        if (n < 0)
                return -ENOMEM;
        /* One write() of a short line with O_APPEND: lines from two writers never interleave. */
        fd = open(p, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
        if (fd < 0)
                return negative_errno();
        if (write(fd, line, (size_t) n) != n)
                return negative_errno();
        if (fsync(fd) < 0)
                return negative_errno();
        return 0;
}

int state_lock(const char *state_dir, const char *what, bool wait, int *ret_fd, char **ret_holder) {
        _cleanup_free_ char *p = join(state_dir, "lock"), *line = NULL;
        _cleanup_close_ int fd = -1;
        int n;

        if (!p)
                return -ENOMEM;
        fd = open(p, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
        if (fd < 0)
                return negative_errno();
        if (flock(fd, LOCK_EX | (wait ? 0 : LOCK_NB)) < 0) {
                if (errno == EWOULDBLOCK) {
                        if (ret_holder && read_file(p, 512, ret_holder, NULL) >= 0)
                                (*ret_holder)[strcspn(*ret_holder, "\n")] = 0;
                        return -EBUSY;
                }
                return negative_errno();
        }
        /* Say who holds it, for whoever is refused next. */
        n = asprintf(&line, "%s (PID %ld)\n", what, (long) getpid());
        if (n > 0 && ftruncate(fd, 0) >= 0)
                (void) !pwrite(fd, line, (size_t) n, 0);
        *ret_fd = TAKE_FD(fd);
        return 0;
}

int state_history_tail(const char *state_dir, int n, char ***ret, int *ret_n) {
        _cleanup_free_ char *p = join(state_dir, "history"), *text = NULL;
        char **lines = NULL;
        int total = 0, start;
        size_t len;
        int r;

        *ret = NULL;
        *ret_n = 0;
        if (!p)
                return -ENOMEM;
        r = read_file(p, 16 << 20, &text, &len);
        if (r == -ENOENT)
                return 0;
        if (r < 0)
                return r;
        for (char *s = text; *s; s++)
                if (*s == '\n')
                        total++;
        start = total > n ? total - n : 0;
        lines = calloc((size_t) (total - start) + 1, sizeof(char *));
        if (!lines)
                return -ENOMEM;
        {
                int i = 0, k = 0;

                for (char *s = strtok(text, "\n"); s; s = strtok(NULL, "\n"), i++)
                        if (i >= start)
                                lines[k++] = strdup(s);
                *ret_n = k;
        }
        *ret = lines;
        return 0;
}

/* The length of the UTF-8 sequence at s when it is a printable character, else 0: no C0 or C1 control,
 * no DEL, no overlong form, no surrogate, nothing above U+10FFFF. */
static size_t printable_utf8_len(const unsigned char *s) {
        unsigned cp;
        size_t n;

        if (*s < 0x80)
                return *s >= 0x20 && *s != 0x7f ? 1 : 0;
        if ((*s & 0xe0) == 0xc0)
                n = 2, cp = *s & 0x1f;
        else if ((*s & 0xf0) == 0xe0)
                n = 3, cp = *s & 0x0f;
        else if ((*s & 0xf8) == 0xf0)
                n = 4, cp = *s & 0x07;
        else
                return 0;
        for (size_t i = 1; i < n; i++) {
                if ((s[i] & 0xc0) != 0x80)
                        return 0;
                cp = (cp << 6) | (s[i] & 0x3f);
        }
        if ((n == 2 && cp < 0x80) || (n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) || cp > 0x10ffff ||
            (cp >= 0xd800 && cp <= 0xdfff) || (cp >= 0x80 && cp <= 0x9f))
                return 0;
        return n;
}

const char *state_maintenance_message_check(const char *m) {
        if (strlen(m) > STATE_MAINTENANCE_MESSAGE_MAX)
                return "is longer than 512 bytes"; /* STATE_MAINTENANCE_MESSAGE_MAX */
        for (const unsigned char *p = (const unsigned char *) m; *p;) {
                size_t n = printable_utf8_len(p);

                if (n == 0)
                        return *p < 0x20 || *p == 0x7f ? "contains a control character"
                                                       : "is not printable UTF-8";
                p += n;
        }
        return NULL;
}

#define MAINTENANCE_HEADER                                                                                  \
        "# nginx answers this app's requests with a 503 page while this file is here. Written by\n"        \
        "# bluegreenctl maintenance APP on; bluegreenctl maintenance APP off removes it.\n"

int state_maintenance_get(const char *state_dir, char **ret_message) {
        _cleanup_free_ char *p = join(state_dir, "maintenance"), *text = NULL;
        char *line, *save = NULL;
        int r;

        if (!p)
                return -ENOMEM;
        r = read_regular_file_nofollow(p, 4096, &text, NULL);
        if (r == -ENOENT)
                return 0;
        if (r < 0)
                return r;
        for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
                if (strncmp(line, "message=", 8) != 0)
                        continue;
                if (state_maintenance_message_check(line + 8))
                        return -EBADMSG;
                if (ret_message && !(*ret_message = strdup(line + 8)))
                        return -ENOMEM;
                return 1;
        }
        if (ret_message && !(*ret_message = strdup("")))
                return -ENOMEM;
        return 1;
}

int state_maintenance_set(const char *state_dir, const char *message) {
        _cleanup_free_ char *p = join(state_dir, "maintenance"), *text = NULL;
        int n;

        if (!p)
                return -ENOMEM;
        if (!message) {
                if (unlink(p) < 0 && errno != ENOENT)
                        return negative_errno();
                return fsync_parent_dir(p);
        }
        n = asprintf(&text, MAINTENANCE_HEADER "message=%s\n", message);
        if (n < 0)
                return -ENOMEM;
        return write_file_atomic(p, text, (size_t) n, 0644, WRITE_SYNC);
}
