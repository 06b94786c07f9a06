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

int http_probe_new(const char *bind, int port, long timeout_ms, struct http_probe **ret) {
        struct http_probe *p;

        if (curl_global_init(CURL_GLOBAL_NOTHING) != 0)
                return -EIO;
        p = calloc(1, sizeof *p);
        if (!p)
                return -ENOMEM;
        /* An IPv6 literal needs brackets in a URL. */
        if (asprintf(&p->base, strchr(bind, ':') ? "http://[%s]:%d" : "http://%s:%d", bind, port) < 0) {
                free(p);
                return -ENOMEM;
        }
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

void http_probe_free(struct http_probe *p) {
        if (p->curl)
                curl_easy_cleanup(p->curl);
        free(p->base);
        free(p);
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
        _cleanup_free_ char *url = NULL;
        long status = 0;
        char ex[100];
        CURLcode cc;

        if (asprintf(&url, "%s%s", p->base, path) < 0) {
                snprintf(reason, reason_size, "out of memory");
                return false;
        }
        p->len = 0;
        curl_easy_setopt(p->curl, CURLOPT_URL, url);
        cc = curl_easy_perform(p->curl);
        if (cc != CURLE_OK) {
                snprintf(reason, reason_size, "%s: %s", url, curl_easy_strerror(cc));
                return false;
        }
        curl_easy_getinfo(p->curl, CURLINFO_RESPONSE_CODE, &status);
        p->body[p->len] = 0;
        excerpt(p->body, p->len, ex, sizeof ex);
        if (status != expect) {
                snprintf(reason, reason_size, "%s answered %ld, expected %ld; body: \"%s\"", url, status, expect, ex);
                return false;
        }
        if (!isempty(contains) && !memmem(p->body, p->len, contains, strlen(contains))) {
                snprintf(reason, reason_size, "%s answered %ld without \"%s\"; body: \"%s\"", url, status, contains, ex);
                return false;
        }
        return true;
}
