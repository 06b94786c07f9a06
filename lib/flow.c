/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "flow.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-journal.h>
#include <time.h>
#include <unistd.h>

#include "bus.h"
#include "http.h"
#include "log.h"
#include "macro.h"
#include "nginx.h"
#include "nft.h"

static volatile sig_atomic_t got_sigterm;
static bool held;

/* While the switch runs, a stop asked for just before it must not break its waits half-way. */
static bool bus_wait_interrupted(void) {
        return got_sigterm && !held;
}

static void on_sigterm(int sig) {
        got_sigterm = 1;
}

void interrupt_setup(void) {
        struct sigaction sa = { .sa_handler = on_sigterm };

        /* No SA_RESTART: the wait in progress returns EINTR and its step fails. */
        sigemptyset(&sa.sa_mask);
        (void) sigaction(SIGTERM, &sa, NULL);
        (void) sigaction(SIGINT, &sa, NULL);
        bus_interrupted = bus_wait_interrupted;
}

void interrupt_hold(bool hold) {
        sigset_t set;

        sigemptyset(&set);
        sigaddset(&set, SIGTERM);
        sigaddset(&set, SIGINT);
        (void) sigprocmask(hold ? SIG_BLOCK : SIG_UNBLOCK, &set, NULL);
        held = hold;
}

bool interrupted(void) {
        return got_sigterm;
}

long long now_ms(void) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (long long) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void timeline_start(struct timeline *t) {
        memset(t, 0, sizeof *t);
        t->start_ms = t->mark_ms = now_ms();
}

void timeline_step(struct timeline *t, const char *name) {
        long long now = now_ms();

        if (t->n < (int) ELEMENTSOF(t->steps)) {
                snprintf(t->steps[t->n].name, sizeof t->steps[t->n].name, "%s", name);
                t->steps[t->n].ms = now - t->mark_ms;
                t->n++;
        }
        t->mark_ms = now;
}

long long timeline_total(const struct timeline *t) {
        return t->mark_ms - t->start_ms;
}

void timeline_format(const struct timeline *t, char *buf, size_t size) {
        size_t len = 0;

        buf[0] = 0;
        for (int i = 0; i < t->n && len < size; i++)
                len += (size_t) snprintf(buf + len, size - len, "%s%s %lld ms", i ? ", " : "", t->steps[i].name,
                                         t->steps[i].ms);
        if (len < size)
                snprintf(buf + len, size - len, "; total %lld ms", timeline_total(t));
}

char *unit_name(const char *app, const char *middle, const char *instance, const char *type) {
        static char buf[8][512];
        static unsigned k;
        char *b = buf[k++ % ELEMENTSOF(buf)];

        snprintf(b, sizeof buf[0], "%s%s%s.%s", app, middle, instance ?: "", type);
        return b;
}

void journal_last_error(const char *unit, uint64_t since_usec, char *buf, size_t size) {
        sd_journal *j = NULL;
        char match[600];
        int tries = 0;

        snprintf(buf, size, "see journalctl -u %s", unit);
        if (sd_journal_open(&j, SD_JOURNAL_LOCAL_ONLY | SD_JOURNAL_SYSTEM) < 0)
                return;
        snprintf(match, sizeof match, "_SYSTEMD_UNIT=%s", unit);
        /* journald stores asynchronously: give it a moment to catch up with the failure. */
        for (; tries < 5; tries++) {
                bool found = false;

                sd_journal_flush_matches(j);
                if (sd_journal_add_match(j, match, 0) < 0 || sd_journal_seek_tail(j) < 0)
                        break;
                for (int seen = 0; seen < 200 && sd_journal_previous(j) > 0; seen++) {
                        const void *data;
                        size_t len;
                        uint64_t t;
                        int prio = 6;

                        if (sd_journal_get_realtime_usec(j, &t) < 0 || t < since_usec)
                                break;
                        if (sd_journal_get_data(j, "PRIORITY", &data, &len) >= 0 && len > 9)
                                prio = ((const char *) data)[9] - '0';
                        if (prio > 3)
                                continue;
                        if (sd_journal_get_data(j, "MESSAGE", &data, &len) >= 0 && len > 8) {
                                snprintf(buf, size, "%.*s", (int) (len - 8), (const char *) data + 8);
                                found = true;
                                break;
                        }
                }
                if (found)
                        break;
                (void) sd_journal_wait(j, 100000);
        }
        sd_journal_close(j);
}

char *expand_release(const char *s, const char *release) {
        const char *p = strstr(s, "${RELEASE}");
        _cleanup_free_ char *rest = NULL;
        char *r;

        if (!p)
                return strdup(s);
        rest = expand_release(p + 10, release);
        if (!rest || asprintf(&r, "%.*s%s%s", (int) (p - s), s, release, rest) < 0)
                return NULL;
        return r;
}

bool probe_health_once(const struct app_env *e, enum color c, char *reason, size_t size) {
        _cleanup_(http_probe_freep) struct http_probe *p = NULL;

        if (isempty(e->health_path))
                return true;
        if (http_probe_new(e->bind, e->port[c], e->health_timeout_ms, &p) < 0) {
                snprintf(reason, size, "cannot set up the HTTP probe");
                return false;
        }
        return http_probe_check(p, e->health_path, e->health_expect_status, e->health_body_contains, reason, size);
}

static int count_established(const char *table, int port) {
        _cleanup_fclose_ FILE *f = fopen(table, "re");
        char line[512];
        int n = 0;

        if (!f)
                return 0;
        while (fgets(line, sizeof line, f)) {
                unsigned local_port, state;
                char *colon = strchr(line, ':');

                /* "  sl  local_address rem_address   st ...": the first ':' ends "sl", the next the address. */
                if (!colon || !(colon = strchr(colon + 1, ':')))
                        continue;
                if (sscanf(colon + 1, "%x %*s %x", &local_port, &state) == 2 && (int) local_port == port && state == 1)
                        n++;
        }
        return n;
}

int wait_port_drained(int port, long long max_ms) {
        long long end = now_ms() + max_ms;
        int n;

        for (;;) {
                n = count_established("/proc/net/tcp", port) + count_established("/proc/net/tcp6", port);
                if (n == 0 || now_ms() >= end)
                        return n;
                usleep(10000);
        }
}

static int switch_live_held(sd_bus *bus, const struct app_env *e, enum color c, const char *release, enum color old,
                            const char *event, struct timeline *tl, char **reason);

int switch_live(sd_bus *bus, const struct app_env *e, enum color c, const char *release, enum color old,
                const char *event, struct timeline *tl, char **reason) {
        int r;

        *reason = NULL;
        interrupt_hold(true);
        r = switch_live_held(bus, e, c, release, old, event, tl, reason);
        interrupt_hold(false);
        return r;
}

static int switch_live_held(sd_bus *bus, const struct app_env *e, enum color c, const char *release, enum color old,
                            const char *event, struct timeline *tl, char **reason) {
        _cleanup_free_ char *include = NULL;
        int r;

        if (e->switch_mode == SWITCH_REDIRECT) {
                /* nginx keeps pointing at the stable port; only the redirect behind it moves. */
                r = nft_redirect_set(e, c, reason);
                timeline_step(tl, "redirect");
        } else {
                r = nginx_render_include(e, c, release, &include);
                if (r < 0)
                        return r;
                r = nginx_switch(bus, e, include, tl, reason);
        }
        if (r < 0)
                return r;

        r = state_set_active(e->state_dir, c);
        if (r < 0) {
                (void) asprintf(reason, "nginx now sends traffic to %s, but %s/active could not be written: %s",
                                color_to_string(c), e->state_dir, strerror(-r));
                return r;
        }
        (void) state_history_append(e->state_dir, event, release, c, NULL);
        timeline_step(tl, "record");

        /* The color that was live stays warm for rollback until its timer retires it. */
        if (old != _COLOR_INVALID && old != c) {
                _cleanup_free_ char *res = NULL, *err = NULL;

                if (bus_unit_job(bus, "RestartUnit", unit_name(e->app, "-retire@", color_to_string(old), "timer"), true,
                                 10 * 1000000ULL, &res, &err) < 0)
                        log_warning("Failed to arm the retire timer of the %s color, ignoring: %s", color_to_string(old),
                                    err ?: res ?: "unknown error");
                timeline_step(tl, "retire timer");
        }
        return 0;
}
