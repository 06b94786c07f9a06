/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "metrics.h"

#include <errno.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fileio.h"
#include "macro.h"

#define COUNTERS_FILE "metrics"
/* Far more than the lines we write; a bigger file is not ours. */
#define COUNTERS_SIZE_MAX 4096

const char *metrics_result_to_string(enum metrics_result r) {
        return r == METRICS_SUCCESS ? "success" : "failure";
}

const char *metrics_rollback_kind_to_string(enum metrics_rollback_kind k) {
        static const char *const t[] = {
                [METRICS_ROLLBACK_MANUAL] = "manual",
                [METRICS_ROLLBACK_AUTO] = "auto",
                [METRICS_ROLLBACK_FAILOVER] = "failover",
        };
        return t[k];
}

/* The names in STATE_DIR/metrics: part of the on-disk format, never to be renamed. */
static const struct {
        const char *name;
        size_t offset;
} fields[] = {
#define F(n, member) { n, offsetof(struct metrics_counters, member) }
        F("deploys_success", deploys[METRICS_SUCCESS]),
        F("deploys_failure", deploys[METRICS_FAILURE]),
        F("rollbacks_manual_success", rollbacks[METRICS_ROLLBACK_MANUAL][METRICS_SUCCESS]),
        F("rollbacks_manual_failure", rollbacks[METRICS_ROLLBACK_MANUAL][METRICS_FAILURE]),
        F("rollbacks_auto_success", rollbacks[METRICS_ROLLBACK_AUTO][METRICS_SUCCESS]),
        F("rollbacks_auto_failure", rollbacks[METRICS_ROLLBACK_AUTO][METRICS_FAILURE]),
        F("rollbacks_failover_success", rollbacks[METRICS_ROLLBACK_FAILOVER][METRICS_SUCCESS]),
        F("rollbacks_failover_failure", rollbacks[METRICS_ROLLBACK_FAILOVER][METRICS_FAILURE]),
        F("retirements", retirements),
        F("deploy_last_success_usec", deploy_last_success_usec),
        F("deploy_last_duration_usec", deploy_last_duration_usec),
#undef F
};

static uint64_t *field(struct metrics_counters *c, size_t i) {
        return (uint64_t *) ((char *) c + fields[i].offset);
}

static int parse_u64(const char *s, uint64_t *ret) {
        char *end;

        if (!*s || !strchr("0123456789", *s))
                return -EBADMSG;
        errno = 0;
        *ret = strtoull(s, &end, 10);
        return errno != 0 || *end ? -EBADMSG : 0;
}

int metrics_counters_parse(const char *text, struct metrics_counters *ret) {
        _cleanup_free_ char *copy = strdup(text);
        struct metrics_counters c = {};
        char *save = NULL;

        if (!copy)
                return -ENOMEM;
        for (char *line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
                char *value = strchr(line, ' ');

                if (!value)
                        return -EBADMSG;
                *value++ = 0;
                for (size_t i = 0; i < ELEMENTSOF(fields); i++)
                        if (streq(fields[i].name, line) && parse_u64(value, field(&c, i)) < 0)
                                return -EBADMSG;
        }
        *ret = c;
        return 0;
}

int metrics_counters_format(const struct metrics_counters *c, char **ret) {
        _cleanup_free_ char *buf = NULL;
        size_t size = 0;
        FILE *f = open_memstream(&buf, &size);

        if (!f)
                return -ENOMEM;
        for (size_t i = 0; i < ELEMENTSOF(fields); i++)
                fprintf(f, "%s %" PRIu64 "\n", fields[i].name, *field((struct metrics_counters *) c, i));
        if (fclose(f) != 0)
                return -ENOMEM;
        *ret = TAKE_PTR(buf);
        return 0;
}

static char *counters_path(const char *state_dir) {
        char *p;

        return asprintf(&p, "%s/" COUNTERS_FILE, state_dir) < 0 ? NULL : p;
}

int metrics_counters_load(const char *state_dir, struct metrics_counters *ret) {
        _cleanup_free_ char *p = counters_path(state_dir), *text = NULL;
        int r;

        if (!p)
                return -ENOMEM;
        r = read_file(p, COUNTERS_SIZE_MAX, &text, NULL);
        if (r == -ENOENT) {
                *ret = (struct metrics_counters) {};
                return 0;
        }
        if (r < 0)
                return r;
        return metrics_counters_parse(text, ret);
}

int metrics_counters_save(const char *state_dir, const struct metrics_counters *c) {
        _cleanup_free_ char *p = counters_path(state_dir), *text = NULL;
        int r;

        if (!p)
                return -ENOMEM;
        r = metrics_counters_format(c, &text);
        if (r < 0)
                return r;
        /* Synced: a counter that fell back after a power cut would read as a reset to Prometheus. */
        return write_file_atomic(p, text, strlen(text), 0644, WRITE_SYNC);
}

char *metrics_label_escape(const char *s) {
        char *r = malloc(2 * strlen(s) + 1), *q = r;

        if (!r)
                return NULL;
        for (; *s; s++) {
                if (*s == '\\' || *s == '"' || *s == '\n')
                        *q++ = '\\';
                *q++ = *s == '\n' ? 'n' : *s;
        }
        *q = 0;
        return r;
}

static void family(FILE *f, const char *name, const char *type, const char *help) {
        fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void seconds(FILE *f, const char *name, const char *app, uint64_t usec) {
        fprintf(f, "%s{app=\"%s\"} %" PRIu64 ".%06" PRIu64 "\n", name, app, usec / 1000000, usec % 1000000);
}

static void counters(FILE *f, const char *app, const struct metrics_counters *c) {
        family(f, "bluegreen_deploys_total", "counter", "Deploys that ended, by result.");
        for (enum metrics_result r = 0; r < _METRICS_RESULT_MAX; r++)
                fprintf(f, "bluegreen_deploys_total{app=\"%s\",result=\"%s\"} %" PRIu64 "\n", app,
                        metrics_result_to_string(r), c->deploys[r]);
        family(f, "bluegreen_rollbacks_total", "counter",
               "Rollbacks that ended, by who decided them (manual, auto: the watch, failover) and result.");
        for (enum metrics_rollback_kind k = 0; k < _METRICS_ROLLBACK_KIND_MAX; k++)
                for (enum metrics_result r = 0; r < _METRICS_RESULT_MAX; r++)
                        fprintf(f, "bluegreen_rollbacks_total{app=\"%s\",kind=\"%s\",result=\"%s\"} %" PRIu64 "\n",
                                app, metrics_rollback_kind_to_string(k), metrics_result_to_string(r),
                                c->rollbacks[k][r]);
        family(f, "bluegreen_retirements_total", "counter", "Old colors stopped after their drain period.");
        fprintf(f, "bluegreen_retirements_total{app=\"%s\"} %" PRIu64 "\n", app, c->retirements);
        family(f, "bluegreen_deploy_last_success_timestamp_seconds", "gauge",
               "When the last successful deploy ended, in seconds since the epoch.");
        if (c->deploy_last_success_usec > 0)
                seconds(f, "bluegreen_deploy_last_success_timestamp_seconds", app, c->deploy_last_success_usec);
        family(f, "bluegreen_deploy_last_duration_seconds", "gauge",
               "How long the last deploy that ended took, whatever its result.");
        if (c->deploy_last_duration_usec > 0)
                seconds(f, "bluegreen_deploy_last_duration_seconds", app, c->deploy_last_duration_usec);
}

static void gauges(FILE *f, const char *app, const struct metrics_gauges *g) {
        family(f, "bluegreen_live_color", "gauge", "1 for the color nginx is to send traffic to, 0 for the other.");
        for (enum color c = COLOR_BLUE; c <= COLOR_GREEN; c++)
                fprintf(f, "bluegreen_live_color{app=\"%s\",color=\"%s\"} %d\n", app, color_to_string(c), g->live == c);
        family(f, "bluegreen_release_info", "gauge", "The release each color is pinned to.");
        for (enum color c = COLOR_BLUE; c <= COLOR_GREEN; c++) {
                _cleanup_free_ char *release = g->release[c] ? metrics_label_escape(g->release[c]) : NULL;

                if (release)
                        fprintf(f, "bluegreen_release_info{app=\"%s\",color=\"%s\",release=\"%s\"} 1\n", app,
                                color_to_string(c), release);
        }
        family(f, "bluegreen_switch_rule_present", "gauge",
               "1 when the route (nginx include, redirect rule or live socket link) leads to the live color.");
        if (g->route_ok >= 0)
                fprintf(f, "bluegreen_switch_rule_present{app=\"%s\"} %d\n", app, g->route_ok > 0);
}

int metrics_format(const char *app, const struct metrics_counters *c, const struct metrics_gauges *g, char **ret) {
        _cleanup_free_ char *buf = NULL, *a = metrics_label_escape(app);
        size_t size = 0;
        FILE *f;

        if (!a)
                return -ENOMEM;
        f = open_memstream(&buf, &size);
        if (!f)
                return -ENOMEM;
        counters(f, a, c);
        gauges(f, a, g);
        if (fclose(f) != 0)
                return -ENOMEM;
        *ret = TAKE_PTR(buf);
        return 0;
}

int metrics_write(const char *dir, const char *app, const char *text) {
        _cleanup_free_ char *p = NULL;
        int r;

        r = mkdir_p(dir, 0755);
        if (r < 0)
                return r;
        if (asprintf(&p, "%s/bluegreen-%s.prom", dir, app) < 0)
                return -ENOMEM;
        return write_file_atomic(p, text, strlen(text), 0644, 0);
}
