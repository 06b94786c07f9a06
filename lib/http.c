/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "http.h"

#include <curl/curl.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "macro.h"

#define BODY_MAX (64 * 1024)

struct http_probe {
        CURL *curl;
        char *base;
        char *socket; /* the unix socket connected to, for messages; NULL over TCP */
        struct curl_slist *headers;
        char *host; /* the declared Host, for messages; NULL when curl's own */
        char body[BODY_MAX + 1];
        size_t len;
};

static size_t body_write(char *data, size_t size, size_t nmemb, void *userdata) {
        struct http_probe *p = userdata;
        size_t n = size * nmemb, room = BODY_MAX - p->len, k = n < room ? n : room;

        memcpy(p->body + p->len, data, k);
        p->len += k;
        return n;
}

static int probe_new(char *base, long timeout_ms, struct http_probe **ret) {
        struct http_probe *p;

        if (curl_global_init(CURL_GLOBAL_NOTHING) != 0) {
                free(base);
                return -EIO;
        }
        p = calloc(1, sizeof *p);
        if (!p) {
                free(base);
                return -ENOMEM;
        }
        p->base = base;
        p->curl = curl_easy_init();
        if (!p->curl) {
                http_probe_free(p);
                return -EIO;
        }
        curl_easy_setopt(p->curl, CURLOPT_TIMEOUT_MS, timeout_ms);
        curl_easy_setopt(p->curl, CURLOPT_CONNECTTIMEOUT_MS, timeout_ms);
        curl_easy_setopt(p->curl, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(p->curl, CURLOPT_NOPROXY, "*");
        curl_easy_setopt(p->curl, CURLOPT_USERAGENT, "bluegreen");
        curl_easy_setopt(p->curl, CURLOPT_WRITEFUNCTION, body_write);
        curl_easy_setopt(p->curl, CURLOPT_WRITEDATA, p);
        *ret = p;
        return 0;
}

int http_probe_new(const char *bind, int port, long timeout_ms, struct http_probe **ret) {
        char *base;

        /* An IPv6 literal needs brackets in a URL. */
        if (asprintf(&base, strchr(bind, ':') ? "http://[%s]:%d" : "http://%s:%d", bind, port) < 0)
                return -ENOMEM;
        return probe_new(base, timeout_ms, ret);
}

int http_probe_new_unix(const char *socket_path, long timeout_ms, struct http_probe **ret) {
        struct http_probe *p;
        char *base;
        int r;

        /* The host of the URL is only what the Host header says (unless one is declared); curl
         * connects to the socket. */
        base = strdup("http://localhost");
        if (!base)
                return -ENOMEM;
        r = probe_new(base, timeout_ms, &p);
        if (r < 0)
                return r;
        p->socket = strdup(socket_path);
        if (!p->socket || curl_easy_setopt(p->curl, CURLOPT_UNIX_SOCKET_PATH, socket_path) != CURLE_OK) {
                http_probe_free(p);
                return -ENOMEM;
        }
        *ret = p;
        return 0;
}

void http_probe_free(struct http_probe *p) {
        if (p->curl)
                curl_easy_cleanup(p->curl);
        curl_slist_free_all(p->headers);
        free(p->host);
        free(p->socket);
        free(p->base);
        free(p);
}

static int slist_add(struct curl_slist **l, const char *line) {
        struct curl_slist *n = curl_slist_append(*l, line);

        if (!n)
                return -ENOMEM;
        *l = n;
        return 0;
}

int http_probe_set_headers(struct http_probe *p, const char *host, char *const *headers, size_t n_headers) {
        _cleanup_free_ char *host_line = NULL, *host_copy = NULL;
        struct curl_slist *l = NULL;
        int r = 0;

        /* A custom Host replaces curl's own; the URL, and with it where curl connects, stays the color's. */
        if (!isempty(host)) {
                if (asprintf(&host_line, "Host: %s", host) < 0) {
                        host_line = NULL;
                        return -ENOMEM;
                }
                host_copy = strdup(host);
                r = host_copy ? slist_add(&l, host_line) : -ENOMEM;
        }
        for (size_t i = 0; r >= 0 && i < n_headers; i++)
                r = slist_add(&l, headers[i]);
        if (r < 0 || curl_easy_setopt(p->curl, CURLOPT_HTTPHEADER, l) != CURLE_OK) {
                curl_slist_free_all(l);
                return r < 0 ? r : -EIO;
        }
        /* curl keeps a pointer to the list, so the old one goes only once the new one is set. */
        curl_slist_free_all(p->headers);
        p->headers = l;
        free(p->host);
        p->host = TAKE_PTR(host_copy);
        return 0;
}

/* A short, printable excerpt of a body for a one-line reason. */
static void excerpt(const char *body, size_t len, char *out, size_t outlen) {
        size_t j = 0;

        for (size_t i = 0; i < len && i < 80 && j + 4 < outlen; i++)
                out[j++] = (body[i] >= 0x20 && body[i] < 0x7f) ? body[i] : ' ';
        if (len > 80 && j + 4 < outlen)
                out[j++] = '.', out[j++] = '.', out[j++] = '.';
        out[j] = 0;
}

bool http_probe_check(struct http_probe *p, const char *path, long expect, const char *contains, char *reason,
                      size_t reason_size) {
        _cleanup_free_ char *url = NULL, *what = NULL;
        long status = 0;
        char ex[100];
        CURLcode cc;

        /* Messages name the address probed (the socket, over one) and, when declared, the Host the app
         * judged the request by. */
        if (asprintf(&url, "%s%s", p->base, path) < 0)
                url = NULL;
        else if (asprintf(&what, "%s%s%s%s%s%s", url, p->socket ? " over " : "", p->socket ?: "",
                          p->host ? " (Host: " : "", p->host ?: "", p->host ? ")" : "") < 0)
                what = NULL;
        if (!what) {
                snprintf(reason, reason_size, "out of memory");
                return false;
        }
        p->len = 0;
        curl_easy_setopt(p->curl, CURLOPT_URL, url);
        cc = curl_easy_perform(p->curl);
        if (cc != CURLE_OK) {
                snprintf(reason, reason_size, "%s: %s", what, curl_easy_strerror(cc));
                return false;
        }
        curl_easy_getinfo(p->curl, CURLINFO_RESPONSE_CODE, &status);
        p->body[p->len] = 0;
        excerpt(p->body, p->len, ex, sizeof ex);
        if (status != expect) {
                snprintf(reason, reason_size, "%s answered %ld, expected %ld; body: \"%s\"", what, status, expect, ex);
                return false;
        }
        if (!isempty(contains) && !memmem(p->body, p->len, contains, strlen(contains))) {
                snprintf(reason, reason_size, "%s answered %ld without \"%s\"; body: \"%s\"", what, status, contains,
                         ex);
                return false;
        }
        return true;
}
