/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "nginx.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bus.h"
#include "fileio.h"
#include "crash-point.h"
#include "macro.h"
#include "decl.h"
#include "root-dir.h"
#include "state.h"
#include "timeline.h"

#define RELOAD_TIMEOUT_USEC (30ULL * 1000000)
#define CONFIRM_TIMEOUT_MS 5000
#define TEST_TIMEOUT_MS 30000

/* Where nginx connects: in redirect mode the stable port, which nftables sends on to the live color; in
 * socket mode the stable path, a link to the live color's socket; else the live color's port. */
static int render_address(const struct app_env *e, enum color c, const char *release, char **ret_addr,
                          char **ret_what) {
        int n;

        if (e->switch_mode == SWITCH_SOCKET) {
                if (asprintf(ret_addr, "unix:%s", e->socket_live) < 0)
                        return -ENOMEM;
                n = asprintf(ret_what, "stable socket %s, a link to the live color's socket", e->socket_live);
        } else {
                if (asprintf(ret_addr, strchr(e->bind, ':') ? "[%s]:%d" : "%s:%d", e->bind,
                             e->switch_mode == SWITCH_REDIRECT ? e->port_live : e->port[c]) < 0)
                        return -ENOMEM;
                /* Only the reload switch's include changes with the color, so only it names one. */
                if (e->switch_mode == SWITCH_REDIRECT)
                        n = asprintf(ret_what, "stable port %d, redirected by nftables to the live color", e->port_live);
                else
                        n = asprintf(ret_what, "live color %s, release %s", color_to_string(c),
                                     release ?: "(none deployed yet)");
        }
        if (n < 0) {
                *ret_addr = mfree(*ret_addr);
                *ret_what = NULL;
                return -ENOMEM;
        }
        return 0;
}

#define MAINTENANCE_MARK "# bluegreen-maintenance: "

bool nginx_include_is_maintenance(const char *content) {
        const char *p = strstr(content, "\n" MAINTENANCE_MARK);

        return p || strncmp(content, MAINTENANCE_MARK, strlen(MAINTENANCE_MARK)) == 0;
}

int nginx_maintenance_socket(const struct app_env *e, char **ret) {
        const char *root = getenv("BLUEGREEN_RUN_DIR");

        return asprintf(ret, "%s/%s/maintenance.sock", root && *root ? root : BLUEGREEN_RUN_ROOT, e->app) < 0
                       ? -ENOMEM
                       : 0;
}

/* The message as HTML that is also the inside of an nginx string: besides HTML's &<>"', the "$" nginx
 * would take for a variable and the backslash it would take for an escape. */
static char *html_escape(const char *m) {
        size_t len = 0;
        char *out, *o;

        for (const char *p = m; *p; p++)
                len += strchr("&<>\"'$\\", *p) ? 6 : 1;
        out = o = malloc(len + 1);
        if (!out)
                return NULL;
        for (const char *p = m; *p; p++)
                if (strchr("&<>\"'$\\", *p))
                        o += sprintf(o, "&#%d;", (unsigned char) *p);
                else
                        *o++ = *p;
        *o = 0;
        return out;
}

/* What nginx answers while in maintenance, in the context the include is read in (a server block of
 * its own, or the site's): headers with "always", which 503 responses need. */
static int render_maintenance_answer(const char *app, const char *message, char **ret) {
        _cleanup_free_ char *html = html_escape(
                *message ? message : "This service is down for maintenance. Please try again in a few minutes.");

        if (!html)
                return -ENOMEM;
        return asprintf(ret,
                        "default_type \"text/html; charset=utf-8\";\n"
                        "add_header Retry-After %d always;\n"
                        "add_header Cache-Control \"no-store\" always;\n"
                        "return 503 \"<!DOCTYPE html>\\n"
                        "<html><head><meta charset=utf-8><title>%s: maintenance</title></head>\\n"
                        "<body><h1>Down for maintenance</h1>\\n<p>%s</p>\\n</body></html>\\n\";\n",
                        NGINX_MAINTENANCE_RETRY_AFTER_S, app, html) < 0
                       ? -ENOMEM
                       : 0;
}

static char *indent(const char *text) {
        size_t lines = 0;
        char *out, *o;

        for (const char *p = text; *p; p++)
                lines += *p == '\n';
        out = o = malloc(strlen(text) + 8 * lines + 1);
        if (!out)
                return NULL;
        for (const char *p = text; *p; p++) {
                if (p == text || p[-1] == '\n')
                        o = stpcpy(o, "        ");
                *o++ = *p;
        }
        *o = 0;
        return out;
}

/* The site's upstream or variable stays, so that nginx -t still accepts the site; the colors are left
 * running, unreached. */
static int render_maintenance(const struct app_env *e, const char *addr, const char *message, char **ret) {
        _cleanup_free_ char *answer = NULL, *sock = NULL, *inner = NULL;
        int r;

        r = render_maintenance_answer(e->app, message, &answer);
        if (r < 0)
                return r;
        if (e->nginx_style == NGINX_STYLE_VARIABLE)
                return asprintf(ret,
                                "# Automatically generated by bluegreen for %s: in maintenance, until "
                                "bluegreenctl maintenance %s off.\n"
                                MAINTENANCE_MARK "the server block that includes this file answers every request\n"
                                "# with a 503 page; the colors keep running. Use in a server block: proxy_pass $%s;\n"
                                "set $%s http://%s%s;\n"
                                "%s",
                                e->app, e->app, e->nginx_upstream, e->nginx_upstream, addr,
                                e->switch_mode == SWITCH_SOCKET ? ":" : "", answer) < 0
                               ? -ENOMEM
                               : 0;
        r = nginx_maintenance_socket(e, &sock);
        if (r < 0)
                return r;
        inner = indent(answer);
        if (!inner)
                return -ENOMEM;
        return asprintf(ret,
                        "# Automatically generated by bluegreen for %s: in maintenance, until "
                        "bluegreenctl maintenance %s off.\n"
                        MAINTENANCE_MARK "the upstream leads to the server below, which answers a 503 page;\n"
                        "# the colors keep running. Use in a server block: proxy_pass http://%s;\n"
                        "upstream %s {\n"
                        "        server unix:%s;\n"
                        "}\n"
                        "server {\n"
                        "        listen unix:%s;\n"
                        "%s"
                        "}\n",
                        e->app, e->app, e->nginx_upstream, e->nginx_upstream, sock, sock, inner) < 0
                       ? -ENOMEM
                       : 0;
}

int nginx_render_include(const struct app_env *e, enum color c, const char *release, char **ret) {
        _cleanup_free_ char *addr = NULL, *what = NULL, *message = NULL;
        char keepalive[192] = "";
        int n;

        n = render_address(e, c, release, &addr, &what);
        if (n < 0)
                return n;
        n = e->state_dir ? state_maintenance_get(e->state_dir, &message) : 0;
        if (n < 0)
                return n;
        if (n > 0)
                return render_maintenance(e, addr, message, ret);
        if (e->nginx_style == NGINX_STYLE_VARIABLE)
                n = asprintf(ret,
                             "# Automatically generated by bluegreen for %s: %s.\n"
                             "# Use in a server block: proxy_pass $%s;\n"
                             "set $%s http://%s%s;\n",
                             e->app, what, e->nginx_upstream, e->nginx_upstream, addr,
                             e->switch_mode == SWITCH_SOCKET ? ":" : "");
        else {
                /* After a redirect or socket switch, connections nginx pooled before it still lead to the old color.
                 * keepalive_time ends a busy one, keepalive_timeout an idle one: together they bound how
                 * long the old color can still get requests. */
                if (e->nginx_keepalive > 0)
                        snprintf(keepalive, sizeof keepalive,
                                 "        keepalive %d;\n        keepalive_time %ds;\n        keepalive_timeout %ds;\n",
                                 e->nginx_keepalive, e->nginx_keepalive_time_s, e->nginx_keepalive_time_s);
                n = asprintf(ret,
                             "# Automatically generated by bluegreen for %s: %s.\n"
                             "# Use in a server block: proxy_pass http://%s; proxy_http_version 1.1;\n"
                             "# proxy_set_header Connection \"\";\n"
                             "upstream %s {\n"
                             "        server %s;\n"
                             "%s"
                             "}\n",
                             e->app, what, e->nginx_upstream, e->nginx_upstream, addr, keepalive);
        }
        return n < 0 ? -ENOMEM : 0;
}

int nginx_read_include(const struct app_env *e, char **ret) {
        return read_regular_file_nofollow(e->nginx_include, 1 << 20, ret, NULL);
}

/* The maintenance server listens on a unix socket: nginx binds it, but only in a directory that
 * exists, and refuses to start at all on a socket file a killed nginx left behind. */
static int maintenance_socket_prepare(const struct app_env *e) {
        _cleanup_free_ char *sock = NULL;
        _cleanup_close_ int fd = -1;
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        struct stat st;
        int r;

        r = nginx_maintenance_socket(e, &sock);
        if (r < 0)
                return r;
        if (strlen(sock) >= sizeof sa.sun_path)
                return -ENAMETOOLONG;
        *strrchr(sock, '/') = 0;
        r = mkdir_p(sock, 0755);
        if (r < 0)
                return r;
        sock[strlen(sock)] = '/';
        if (lstat(sock, &st) < 0 || !S_ISSOCK(st.st_mode))
                return 0;
        /* Someone listens (the nginx that runs this include): leave it. */
        strcpy(sa.sun_path, sock);
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return negative_errno();
        if (connect(fd, (struct sockaddr *) &sa, sizeof sa) >= 0 || errno != ECONNREFUSED)
                return 0;
        return unlink(sock) < 0 && errno != ENOENT ? negative_errno() : 0;
}

int nginx_prepare_include(const struct app_env *e, const char *content) {
        if (e->nginx_style == NGINX_STYLE_UPSTREAM && nginx_include_is_maintenance(content))
                return maintenance_socket_prepare(e);
        return 0;
}

int nginx_write_include(const struct app_env *e, const char *content) {
        _cleanup_free_ char *old = NULL, *dir = NULL;
        _cleanup_close_ int dir_fd = -1;
        int r;

        r = nginx_prepare_include(e, content);
        if (r < 0)
                return r;
        r = nginx_read_include(e, &old);
        if (r >= 0 && streq(old, content))
                return 0;
        /* A planted symlink or FIFO under the include's name is replaced, never followed. */
        if (r < 0 && r != -ENOENT && r != -ELOOP && r != -EBADFD)
                return r;
        dir = strdup(e->nginx_include);
        if (!dir)
                return -ENOMEM;
        *strrchr(dir, '/') = 0;
        /* Root writes the include and nginx runs what it says: if anyone but root could replace the
         * directory it lies in, or one above, they could swap the file between our write and nginx's read. */
        dir_fd = root_dir_open(dir, 0755);
        if (dir_fd < 0)
                return dir_fd;
        return write_file_atomic(e->nginx_include, content, strlen(content), 0644, WRITE_SYNC);
}

int nginx_include_port(const char *content, int *ret_port) {
        /* The one address line we write: "server ADDR:PORT;" or "set $NAME http://ADDR:PORT;". */
        for (const char *line = content; line && *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL) {
                const char *p = line, *semi, *colon = NULL;

                while (*p == ' ' || *p == '\t')
                        p++;
                if (strncmp(p, "server ", 7) != 0 && strncmp(p, "set $", 5) != 0)
                        continue;
                semi = strchr(p, ';');
                if (!semi)
                        continue;
                for (const char *q = p; q < semi; q++)
                        if (*q == ':')
                                colon = q;
                if (!colon)
                        continue;
                *ret_port = atoi(colon + 1);
                return *ret_port > 0 ? 0 : -EBADMSG;
        }
        return -EBADMSG;
}
/* Runs the declared test command with its output captured for the reason line. */
static int run_test(const char *command, char *out, size_t outlen) {
        int pipefd[2], status;
        size_t len = 0;
        pid_t pid;

        if (pipe2(pipefd, O_CLOEXEC) < 0)
                return negative_errno();
        pid = fork();
        if (pid < 0) {
                close(pipefd[0]);
                close(pipefd[1]);
                return negative_errno();
        }
        if (pid == 0) {
                dup2(pipefd[1], STDOUT_FILENO);
                dup2(pipefd[1], STDERR_FILENO);
                execl("/bin/sh", "sh", "-c", command, (char *) NULL);
                _exit(127);
        }
        close(pipefd[1]);
        /* A test that hangs must not hold the deploy (and the include it wrote) for ever. */
        {
                struct pollfd pfd = { .fd = pipefd[0], .events = POLLIN };
                long long end = now_ms() + TEST_TIMEOUT_MS;

                while (now_ms() < end) {
                        int k = poll(&pfd, 1, 100);

                        if (k > 0)
                                break;
                        if (waitpid(pid, &status, WNOHANG) == pid) {
                                close(pipefd[0]);
                                return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -EINVAL;
                        }
                }
                if (now_ms() >= end) {
                        (void) kill(pid, SIGKILL);
                        (void) waitpid(pid, &status, 0);
                        close(pipefd[0]);
                        snprintf(out, outlen, "it did not finish within %d s", TEST_TIMEOUT_MS / 1000);
                        return -EINVAL;
                }
        }
        for (;;) {
                ssize_t n = read(pipefd[0], out + len, outlen - 1 - len);

                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0)
                        break;
                len += (size_t) n;
                if (len >= outlen - 1) {
                        char sink[256];

                        while (read(pipefd[0], sink, sizeof sink) > 0)
                                ;
                        break;
                }
        }
        close(pipefd[0]);
        out[len] = 0;
        for (char *p = out; *p; p++)
                if (*p == '\n')
                        *p = ' ';
        while (waitpid(pid, &status, 0) < 0)
                if (errno != EINTR)
                        return negative_errno();
        return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -EINVAL;
}

/* The nginx master's worker PIDs, read from /proc: a reload that nginx applied shows as new workers. */
static int nginx_workers(pid_t master, pid_t *pids, int max) {
        _cleanup_(closedirp) DIR *d = opendir("/proc");
        struct dirent *de;
        int n = 0;

        if (!d)
                return negative_errno();
        while ((de = readdir(d)) && n < max) {
                char path[300], buf[512], *p;
                _cleanup_fclose_ FILE *f = NULL;
                long ppid;

                if (de->d_name[0] < '0' || de->d_name[0] > '9')
                        continue;
                snprintf(path, sizeof path, "/proc/%s/stat", de->d_name);
                f = fopen(path, "re");
                if (!f || !fgets(buf, sizeof buf, f))
                        continue;
                p = strrchr(buf, ')');
                if (!p || sscanf(p + 2, "%*c %ld", &ppid) != 1 || ppid != master)
                        continue;
                /* Old workers finishing their requests retitle themselves "is shutting down". */
                snprintf(path, sizeof path, "/proc/%s/cmdline", de->d_name);
                fclose(f);
                f = fopen(path, "re");
                if (!f || !fgets(buf, sizeof buf, f) || !strstr(buf, "worker process") || strstr(buf, "shutting down"))
                        continue;
                pids[n++] = (pid_t) atol(de->d_name);
        }
        return n;
}

/* When the process started, in CLOCK_REALTIME nanoseconds: /proc/PID/stat counts clock ticks since
 * boot, and the boot's realtime is now minus CLOCK_BOOTTIME. */
static long long process_start_ns(pid_t pid) {
        _cleanup_fclose_ FILE *f = NULL;
        char path[64], buf[1024], *p;
        unsigned long long ticks;
        struct timespec real, boot;

        snprintf(path, sizeof path, "/proc/%ld/stat", (long) pid);
        f = fopen(path, "re");
        if (!f || !fgets(buf, sizeof buf, f))
                return -1;
        p = strrchr(buf, ')');
        /* Field 22, starttime; the ')' ends field 2. */
        if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u %*d %*d %*d %*d %*d %*d %llu",
                         &ticks) != 1)
                return -1;
        clock_gettime(CLOCK_REALTIME, &real);
        clock_gettime(CLOCK_BOOTTIME, &boot);
        return (long long) real.tv_sec * 1000000000LL + real.tv_nsec -
               ((long long) boot.tv_sec * 1000000000LL + boot.tv_nsec) +
               (long long) (ticks * (1000000000ULL / (unsigned long long) sysconf(_SC_CLK_TCK)));
}

int nginx_include_loaded(sd_bus *bus, const struct app_env *e) {
        long long tick_ns = 1000000000LL / sysconf(_SC_CLK_TCK), mtime_ns;
        uint64_t master = 0;
        pid_t pids[256];
        struct stat st;
        int n;

        if (lstat(e->nginx_include, &st) < 0)
                return negative_errno();
        if (!bus)
                return -ENOTCONN;
        mtime_ns = (long long) st.st_mtim.tv_sec * 1000000000LL + st.st_mtim.tv_nsec;
        if (bus_unit_get_u64(bus, e->nginx_unit, "org.freedesktop.systemd1.Service", "MainPID", 'u', &master) < 0 ||
            master == 0)
                return -ENOTCONN;
        n = nginx_workers((pid_t) master, pids, ELEMENTSOF(pids));
        if (n <= 0)
                return -ENOTCONN;
        /* nginx reads its configuration when it starts workers: a worker that started before the include
         * was written runs the configuration from before it. A switch writes, runs nginx -t, then
         * reloads, so new workers start well over one clock tick after the write. */
        for (int i = 0; i < n; i++) {
                long long start = process_start_ns(pids[i]);

                if (start >= 0 && start + tick_ns < mtime_ns)
                        return 0;
        }
        return 1;
}

/* Puts the include back as it was, its modification time too: nginx_include_loaded() compares that
 * time with nginx's workers, and nginx still runs the old include. */
static int restore(const struct app_env *e, const char *old, bool had_old, const struct timespec *old_mtime) {
        struct timespec times[2] = { { .tv_nsec = UTIME_OMIT }, *old_mtime };
        int r;

        if (!had_old)
                return unlink(e->nginx_include) < 0 && errno != ENOENT ? negative_errno() : 0;
        r = write_file_atomic(e->nginx_include, old, strlen(old), 0644, WRITE_SYNC);
        if (r >= 0)
                (void) utimensat(AT_FDCWD, e->nginx_include, times, AT_SYMLINK_NOFOLLOW);
        return r;
}

int nginx_switch(sd_bus *bus, const struct app_env *e, const char *content, bool use_job, struct timeline *tl,
                 char **ret_reason) {
        _cleanup_free_ char *old = NULL, *state = NULL, *result = NULL, *error = NULL;
        _cleanup_close_ int nginx_lock = -1;
        pid_t before[256], after[256];
        int n_before, r;
        uint64_t master = 0;
        struct timespec old_mtime = { .tv_nsec = UTIME_OMIT };
        struct stat old_st;
        char out[1024];
        bool had_old;

        *ret_reason = NULL;

        /* nginx is shared: another app's switch reloading it between our write and our test would
         * load our include unchecked. One switch at a time, host-wide; the lock dies with us. */
        nginx_lock = open("/run/bluegreen-nginx.lock", O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (nginx_lock < 0 || flock(nginx_lock, LOCK_EX) < 0)
                return asprintf(ret_reason, "cannot lock /run/bluegreen-nginx.lock: %s", strerror(errno)), -errno;

        r = bus_unit_get_string(bus, e->nginx_unit, "org.freedesktop.systemd1.Unit", "ActiveState", &state);
        if (r < 0)
                return asprintf(ret_reason, "cannot ask systemd about %s: %s", e->nginx_unit, strerror(-r)), r;
        if (!streq(state, "active") && !streq(state, "reloading"))
                return asprintf(ret_reason, "%s is %s, not running: start it, then deploy again", e->nginx_unit,
                                state),
                       -ENOTCONN;
        (void) bus_unit_get_u64(bus, e->nginx_unit, "org.freedesktop.systemd1.Service", "MainPID", 'u', &master);

        had_old = nginx_read_include(e, &old) >= 0;
        if (had_old && lstat(e->nginx_include, &old_st) >= 0)
                old_mtime = old_st.st_mtim;
        r = nginx_write_include(e, content);
        if (r == -EPERM)
                return asprintf(ret_reason, "refusing to write %s: every directory on its path must be a real directory "
                                "(no symbolic link), owned by root and writable by no one else", e->nginx_include), r;
        if (r < 0)
                return asprintf(ret_reason, "cannot write %s: %s", e->nginx_include, strerror(-r)), r;
        crash_point("include-written");

        r = run_test(e->nginx_test, out, sizeof out);
        if (r < 0) {
                int k = restore(e, old, had_old, &old_mtime);

                (void) asprintf(ret_reason, "\"%s\" failed, %s restored, nginx not reloaded: %s", e->nginx_test,
                                k < 0 ? "include NOT" : "include", out);
                return -EINVAL;
        }

        timeline_step(tl, "include+nginx -t");
        n_before = master > 0 ? nginx_workers((pid_t) master, before, ELEMENTSOF(before)) : 0;

        /* Without a job, from APP.service's own (ordered before nginx), nginx is reloaded the way its
         * unit's ExecReload= does it, by SIGHUP to the master, sent by systemd. */
        if (use_job)
                r = bus_unit_job(bus, "ReloadUnit", e->nginx_unit, true, RELOAD_TIMEOUT_USEC, &result, &error);
        else
                r = bus_unit_kill_main(bus, e->nginx_unit, SIGHUP);
        if (r < 0) {
                (void) restore(e, old, had_old, &old_mtime);
                (void) asprintf(ret_reason, "reloading %s failed (%s), include restored", e->nginx_unit,
                                error ?: result ?: strerror(-r));
                return -EIO;
        }

        /* The reload job ends when nginx got the signal; nginx applies it a moment later, or refuses it
         * (a certificate it cannot read, say) and keeps its old workers. The switch is done when every
         * worker accepting connections is a new one: old ones retitle themselves "shutting down" and
         * stop accepting once they act on the master's request to quit. */
        timeline_step(tl, "reload");
        if (master > 0 && n_before > 0) {
                long long end = now_ms() + CONFIRM_TIMEOUT_MS;

                for (;;) {
                        int n_after = nginx_workers((pid_t) master, after, ELEMENTSOF(after));
                        bool old_left = false;

                        for (int i = 0; i < n_after && !old_left; i++)
                                for (int j = 0; j < n_before; j++)
                                        if (after[i] == before[j])
                                                old_left = true;
                        if (n_after > 0 && !old_left)
                                break;
                        if (now_ms() >= end) {
                                /* Should nginx apply that reload late, a second one brings it back to
                                 * the restored include rather than to a color about to be stopped. */
                                (void) restore(e, old, had_old, &old_mtime);
                                (void) bus_unit_job(bus, "ReloadUnit", e->nginx_unit, false, 0, NULL, NULL);
                                (void) asprintf(ret_reason,
                                                "nginx did not replace its workers within %d ms of the reload, include restored: see journalctl -u %s",
                                                CONFIRM_TIMEOUT_MS, e->nginx_unit);
                                return -EIO;
                        }
                        usleep(1000);
                }
                timeline_step(tl, "new workers");
        }
        return 0;
}
