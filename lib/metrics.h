/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdint.h>

#include "appenv.h"

/*
 * An app's figures for Prometheus, as node_exporter's textfile collector reads them: the counters
 * bluegreen keeps in STATE_DIR/metrics (one "name value" line each, replaced atomically and synced, so
 * that they survive reboots and never go backwards) and the gauges read from the state as it is, in
 * the text exposition format, written to DIR/bluegreen-APP.prom. See bluegreen-metrics(8).
 */

enum metrics_result {
        METRICS_SUCCESS,
        METRICS_FAILURE,
        _METRICS_RESULT_MAX,
};

/* Who decided a rollback: an admin (APP-rollback.service), the watch after a deploy, or the failover
 * of a live color that failed for good. */
enum metrics_rollback_kind {
        METRICS_ROLLBACK_MANUAL,
        METRICS_ROLLBACK_AUTO,
        METRICS_ROLLBACK_FAILOVER,
        _METRICS_ROLLBACK_KIND_MAX,
};

const char *metrics_result_to_string(enum metrics_result r);
const char *metrics_rollback_kind_to_string(enum metrics_rollback_kind k);

/* Everything kept across runs; all of it only ever grows, but for the last deploy's duration. */
struct metrics_counters {
        uint64_t deploys[_METRICS_RESULT_MAX];
        uint64_t rollbacks[_METRICS_ROLLBACK_KIND_MAX][_METRICS_RESULT_MAX];
        uint64_t retirements;
        uint64_t deploy_last_success_usec; /* CLOCK_REALTIME; 0: none yet */
        uint64_t deploy_last_duration_usec; /* of the last deploy that ended, whatever its result; 0: none */
};

/* The text of STATE_DIR/metrics. Names it does not know (from a newer bluegreen) are skipped; a line
 * that is not "name value" with a known name's value a decimal integer is -EBADMSG. */
int metrics_counters_parse(const char *text, struct metrics_counters *ret);
int metrics_counters_format(const struct metrics_counters *c, char **ret);

/* STATE_DIR/metrics; a missing file is all zeros (before the first event). */
int metrics_counters_load(const char *state_dir, struct metrics_counters *ret);
int metrics_counters_save(const char *state_dir, const struct metrics_counters *c);

/* What the state says now. */
struct metrics_gauges {
        enum color live;           /* _COLOR_INVALID: nothing deployed yet */
        const char *release[2];    /* pinned per color, or NULL */
        int route_ok;              /* the route leads to the live color: 1 or 0; -1 unknown (no sample) */
};

/* A label value as the exposition format wants it: \ " and newline escaped. NULL on OOM. */
char *metrics_label_escape(const char *s);

/* The whole exposition text of one app. */
int metrics_format(const char *app, const struct metrics_counters *c, const struct metrics_gauges *g, char **ret);

/* DIR/bluegreen-APP.prom, replaced atomically (a temporary ".#" name, which the collector skips, renamed
 * over it), mode 0644; DIR is created (0755) when missing. */
int metrics_write(const char *dir, const char *app, const char *text);
