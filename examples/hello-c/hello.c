/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * hello-c: the smallest app bluegreen can run, with no interpreter: an HTTP/1.1 server with keep-alive
 * (as nginx's upstream pool uses it), one process, one poll() loop. It answers
 *   GET /healthz  200 {"status":"ok"}
 *   GET /v        200 {"release":"$BLUEGREEN_RELEASE","color":"$BLUEGREEN_COLOR","pid":N}
 * and 404 to anything else. It listens where it is told:
 *   hello-c unix:PATH | HOST:PORT      (default: unix:$SOCKET, else 127.0.0.1:$PORT)
 * It never removes a file at PATH, not even a stale socket: bind() fails and it exits, which is what
 * an app that is not careful does; bluegreen removes a stale socket before the app starts
 * (bluegreen-socket-dir(8)). SIGTERM or SIGINT ends it at once, closing its connections.
 */
#include <errno.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include <fcntl.h>

#define MAX_CONNECTIONS 1024
#define REQUEST_MAX 8192

struct connection {
        int fd;
        size_t len;
        char in[REQUEST_MAX];
};

static volatile sig_atomic_t stopping;
static char body_v[512];

static void on_stop(int sig) {
        (void) sig;
        stopping = 1;
}

static int listen_unix(const char *path) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        int fd;

        if (strlen(path) >= sizeof sa.sun_path) {
                fprintf(stderr, "hello-c: socket path too long: %s\n", path);
                return -1;
        }
        strcpy(sa.sun_path, path);
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (fd < 0 || bind(fd, (struct sockaddr *) &sa, sizeof sa) < 0 || listen(fd, 512) < 0) {
                fprintf(stderr, "hello-c: cannot listen on unix:%s: %s\n", path, strerror(errno));
                return -1;
        }
        return fd;
}

static int listen_tcp(const char *hostport) {
        struct sockaddr_in sa = { .sin_family = AF_INET };
        const char *colon = strrchr(hostport, ':');
        char host[64];
        int fd, one = 1;

        if (!colon || (size_t) (colon - hostport) >= sizeof host) {
                fprintf(stderr, "hello-c: expected HOST:PORT, got %s\n", hostport);
                return -1;
        }
        memcpy(host, hostport, (size_t) (colon - hostport));
        host[colon - hostport] = 0;
        sa.sin_port = htons((uint16_t) atoi(colon + 1));
        if (inet_pton(AF_INET, host, &sa.sin_addr) != 1) {
                fprintf(stderr, "hello-c: not an IPv4 address: %s\n", host);
                return -1;
        }
        fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (fd >= 0)
                (void) setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        if (fd < 0 || bind(fd, (struct sockaddr *) &sa, sizeof sa) < 0 || listen(fd, 512) < 0) {
                fprintf(stderr, "hello-c: cannot listen on %s: %s\n", hostport, strerror(errno));
                return -1;
        }
        return fd;
}

static int listen_where(int argc, char *argv[], char *where, size_t size) {
        const char *socket_path = getenv("SOCKET"), *port = getenv("PORT");

        if (argc > 1)
                snprintf(where, size, "%s", argv[1]);
        else if (socket_path && *socket_path)
                snprintf(where, size, "unix:%s", socket_path);
        else if (port && *port)
                snprintf(where, size, "127.0.0.1:%s", port);
        else {
                fprintf(stderr, "usage: hello-c unix:PATH | HOST:PORT (or set $SOCKET or $PORT)\n");
                return -1;
        }
        return strncmp(where, "unix:", 5) == 0 ? listen_unix(where + 5) : listen_tcp(where);
}

static bool write_all(int fd, const char *p, size_t n) {
        while (n > 0) {
                ssize_t k = write(fd, p, n);

                if (k < 0 && errno == EINTR)
                        continue;
                if (k < 0 && errno == EAGAIN) {
                        struct pollfd pfd = { .fd = fd, .events = POLLOUT };

                        if (poll(&pfd, 1, 5000) <= 0)
                                return false;
                        continue;
                }
                if (k <= 0)
                        return false;
                p += k;
                n -= (size_t) k;
        }
        return true;
}

/* Whether the client asked to close after this request: "Connection: close", or HTTP/1.0 without
 * "Connection: keep-alive". */
static bool wants_close(const char *head, bool http10) {
        const char *h = strcasestr(head, "\r\nConnection:");
        char value[128];

        if (!h)
                return http10;
        h += strlen("\r\nConnection:");
        snprintf(value, sizeof value, "%.*s", (int) strcspn(h, "\r"), h);
        if (strcasestr(value, "close"))
                return true;
        return strcasestr(value, "keep-alive") ? false : http10;
}

/* Answers one complete request head; false when the connection is to be closed. */
static bool answer(int fd, const char *head) {
        char method[16], target[1024], version[16], out[1024];
        const char *status = "200 OK", *body;
        bool close_after;
        int n;

        if (sscanf(head, "%15s %1023s %15s", method, target, version) != 3 || strncmp(version, "HTTP/1.", 7) != 0) {
                static const char bad[] = "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";

                (void) write_all(fd, bad, sizeof bad - 1);
                return false;
        }
        close_after = wants_close(head, strcmp(version, "HTTP/1.0") == 0);
        target[strcspn(target, "?")] = 0;
        if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0)
                status = "405 Method Not Allowed", body = "{\"error\":\"method\"}\n";
        else if (strcmp(target, "/healthz") == 0)
                body = "{\"status\":\"ok\"}\n";
        else if (strcmp(target, "/v") == 0)
                body = body_v;
        else
                status = "404 Not Found", body = "{\"error\":\"not found\"}\n";
        n = snprintf(out, sizeof out,
                     "HTTP/1.1 %s\r\nContent-Type: application/json\r\nContent-Length: %zu\r\n%s\r\n%s", status,
                     strlen(body), close_after ? "Connection: close\r\n" : "",
                     strcmp(method, "HEAD") == 0 ? "" : body);
        return write_all(fd, out, (size_t) n) && !close_after;
}

/* A request with a body is not one this app takes: it is refused and the connection closed, rather
 * than the body read as the next request. */
static bool has_body(const char *head) {
        return strcasestr(head, "\r\nContent-Length:") || strcasestr(head, "\r\nTransfer-Encoding:");
}

/* Reads what arrived and answers every complete request in it (clients may pipeline); false when the
 * connection is done. */
static bool serve(struct connection *c) {
        for (;;) {
                ssize_t k = read(c->fd, c->in + c->len, sizeof c->in - 1 - c->len);
                char *end;

                if (k < 0 && errno == EINTR)
                        continue;
                if (k < 0 && errno == EAGAIN)
                        return true;
                if (k <= 0)
                        return false;
                c->len += (size_t) k;
                c->in[c->len] = 0;
                while ((end = strstr(c->in, "\r\n\r\n"))) {
                        size_t used = (size_t) (end + 4 - c->in);
                        bool keep;

                        end[2] = 0;
                        if (has_body(c->in)) {
                                static const char refused[] = "HTTP/1.1 413 Content Too Large\r\nContent-Length: 0\r\n"
                                                              "Connection: close\r\n\r\n";

                                (void) write_all(c->fd, refused, sizeof refused - 1);
                                return false;
                        }
                        keep = answer(c->fd, c->in);
                        if (!keep)
                                return false;
                        memmove(c->in, c->in + used, c->len - used + 1);
                        c->len -= used;
                }
                if (c->len >= sizeof c->in - 1)
                        return false;
        }
}

int main(int argc, char *argv[]) {
        static struct connection conns[MAX_CONNECTIONS];
        static struct pollfd pfds[MAX_CONNECTIONS + 1];
        struct sigaction sa = { .sa_handler = on_stop };
        char where[256];
        int listener, n = 0;

        snprintf(body_v, sizeof body_v, "{\"release\":\"%s\",\"color\":\"%s\",\"pid\":%ld}\n",
                 getenv("BLUEGREEN_RELEASE") ?: "", getenv("BLUEGREEN_COLOR") ?: "", (long) getpid());
        listener = listen_where(argc, argv, where, sizeof where);
        if (listener < 0)
                return 1;
        sigaction(SIGTERM, &sa, NULL);
        sigaction(SIGINT, &sa, NULL);
        signal(SIGPIPE, SIG_IGN);
        printf("hello-c %s (%s) listening on %s\n", getenv("BLUEGREEN_RELEASE") ?: "-",
               getenv("BLUEGREEN_COLOR") ?: "-", where);
        fflush(stdout);

        while (!stopping) {
                pfds[0] = (struct pollfd) { .fd = listener, .events = n < MAX_CONNECTIONS ? POLLIN : 0 };
                for (int i = 0; i < n; i++)
                        pfds[i + 1] = (struct pollfd) { .fd = conns[i].fd, .events = POLLIN };
                if (poll(pfds, (nfds_t) n + 1, -1) < 0)
                        continue;
                for (int i = n - 1; i >= 0; i--)
                        if (pfds[i + 1].revents && !serve(&conns[i])) {
                                close(conns[i].fd);
                                conns[i].fd = conns[n - 1].fd;
                                conns[i].len = conns[n - 1].len;
                                memcpy(conns[i].in, conns[n - 1].in, conns[n - 1].len + 1);
                                n--;
                        }
                if (pfds[0].revents & POLLIN)
                        while (n < MAX_CONNECTIONS) {
                                int fd = accept4(listener, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

                                if (fd < 0)
                                        break;
                                conns[n].fd = fd;
                                conns[n].len = 0;
                                conns[n].in[0] = 0;
                                n++;
                        }
        }
        for (int i = 0; i < n; i++)
                close(conns[i].fd);
        close(listener);
        return 0;
}
