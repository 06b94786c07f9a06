/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Unit tests of lib/metrics.c: label escaping, the exposition text, and the counters kept in
 * STATE_DIR/metrics (read back as written, refused when damaged, never left half-written). The text
 * is checked by a real Prometheus parser in tests/system/56-metrics.sh. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "fileio.h"
#include "macro.h"
#include "metrics.h"

static void test_label_escape(void) {
        _cleanup_free_ char *plain = metrics_label_escape("r2026-04-14b");
        _cleanup_free_ char *odd = metrics_label_escape("a\\b\"c\nd");
        _cleanup_free_ char *empty = metrics_label_escape("");

        CHECK_STR(plain, "r2026-04-14b");
        CHECK_STR(odd, "a\\\\b\\\"c\\nd");
        CHECK_STR(empty, "");
}

static void test_counters_round_trip(void) {
        struct metrics_counters c = {
                .deploys = { 2, 1 },
                .retirements = 7,
                .deploy_last_success_usec = 1776160000123456ULL,
                .deploy_last_duration_usec = 4500000,
        }, back = {};
        _cleanup_free_ char *text = NULL, *again = NULL;

        c.rollbacks[METRICS_ROLLBACK_AUTO][METRICS_FAILURE] = 3;
        c.rollbacks[METRICS_ROLLBACK_FAILOVER][METRICS_SUCCESS] = UINT64_MAX;
        CHECK(metrics_counters_format(&c, &text) == 0);
        CHECK(text && strstr(text, "deploys_success 2\n"));
        CHECK(text && strstr(text, "rollbacks_failover_success 18446744073709551615\n"));
        CHECK(metrics_counters_parse(text, &back) == 0);
        CHECK(memcmp(&c, &back, sizeof c) == 0);
        CHECK(metrics_counters_format(&back, &again) == 0);
        CHECK_STR(again, text);
}

static void test_counters_parse(void) {
        struct metrics_counters c;

        /* A newer bluegreen's names are skipped; the known ones still count. */
        CHECK(metrics_counters_parse("deploys_success 5\nsomething_new 9\n", &c) == 0);
        CHECK(c.deploys[METRICS_SUCCESS] == 5 && c.deploys[METRICS_FAILURE] == 0);
        CHECK(metrics_counters_parse("", &c) == 0 && c.retirements == 0);
        /* Damage is refused, not read as zero: a counter must never go backwards. */
        CHECK(metrics_counters_parse("deploys_success\n", &c) == -EBADMSG);
        CHECK(metrics_counters_parse("deploys_success -1\n", &c) == -EBADMSG);
        CHECK(metrics_counters_parse("deploys_success 12x\n", &c) == -EBADMSG);
        CHECK(metrics_counters_parse("deploys_success 18446744073709551616\n", &c) == -EBADMSG);
        CHECK(metrics_counters_parse("retirements \n", &c) == -EBADMSG);
}

static size_t entries(const char *dir) {
        DIR *d = opendir(dir);
        size_t n = 0;

        if (!d)
                return 0;
        for (struct dirent *de; (de = readdir(d));)
                if (!streq(de->d_name, ".") && !streq(de->d_name, ".."))
                        n++;
        closedir(d);
        return n;
}

static void test_counters_files(const char *tmp) {
        struct metrics_counters c = { .deploys = { 1, 0 } }, back;
        char path[512];

        /* Before the first event there is no file: all zeros. */
        CHECK(metrics_counters_load(tmp, &back) == 0 && back.deploys[METRICS_SUCCESS] == 0);
        CHECK(metrics_counters_save(tmp, &c) == 0);
        c.deploys[METRICS_SUCCESS]++;
        CHECK(metrics_counters_save(tmp, &c) == 0);
        CHECK(metrics_counters_load(tmp, &back) == 0 && back.deploys[METRICS_SUCCESS] == 2);
        CHECK(entries(tmp) == 1); /* no temporary file left behind */
        snprintf(path, sizeof path, "%s/metrics", tmp);
        CHECK(write_file_atomic(path, "deploys_success two\n", 20, 0644, 0) == 0);
        CHECK(metrics_counters_load(tmp, &back) == -EBADMSG);
        (void) unlink(path);
}

static const char *const expected_prom =
        "# HELP bluegreen_deploys_total Deploys that ended, by result.\n"
        "# TYPE bluegreen_deploys_total counter\n"
        "bluegreen_deploys_total{app=\"shop\",result=\"success\"} 2\n"
        "bluegreen_deploys_total{app=\"shop\",result=\"failure\"} 1\n"
        "# HELP bluegreen_rollbacks_total Rollbacks that ended, by who decided them (manual, auto: the watch, failover) and result.\n"
        "# TYPE bluegreen_rollbacks_total counter\n"
        "bluegreen_rollbacks_total{app=\"shop\",kind=\"manual\",result=\"success\"} 1\n"
        "bluegreen_rollbacks_total{app=\"shop\",kind=\"manual\",result=\"failure\"} 0\n"
        "bluegreen_rollbacks_total{app=\"shop\",kind=\"auto\",result=\"success\"} 0\n"
        "bluegreen_rollbacks_total{app=\"shop\",kind=\"auto\",result=\"failure\"} 0\n"
        "bluegreen_rollbacks_total{app=\"shop\",kind=\"failover\",result=\"success\"} 0\n"
        "bluegreen_rollbacks_total{app=\"shop\",kind=\"failover\",result=\"failure\"} 0\n"
        "# HELP bluegreen_retirements_total Old colors stopped after their drain period.\n"
        "# TYPE bluegreen_retirements_total counter\n"
        "bluegreen_retirements_total{app=\"shop\"} 0\n"
        "# HELP bluegreen_deploy_last_success_timestamp_seconds When the last successful deploy ended, in seconds since the epoch.\n"
        "# TYPE bluegreen_deploy_last_success_timestamp_seconds gauge\n"
        "bluegreen_deploy_last_success_timestamp_seconds{app=\"shop\"} 1776160000.000042\n"
        "# HELP bluegreen_deploy_last_duration_seconds How long the last deploy that ended took, whatever its result.\n"
        "# TYPE bluegreen_deploy_last_duration_seconds gauge\n"
        "bluegreen_deploy_last_duration_seconds{app=\"shop\"} 4.500000\n"
        "# HELP bluegreen_live_color 1 for the color nginx is to send traffic to, 0 for the other.\n"
        "# TYPE bluegreen_live_color gauge\n"
        "bluegreen_live_color{app=\"shop\",color=\"blue\"} 0\n"
        "bluegreen_live_color{app=\"shop\",color=\"green\"} 1\n"
        "# HELP bluegreen_release_info The release each color is pinned to.\n"
        "# TYPE bluegreen_release_info gauge\n"
        "bluegreen_release_info{app=\"shop\",color=\"blue\",release=\"r\\\"1\\\\\"} 1\n"
        "bluegreen_release_info{app=\"shop\",color=\"green\",release=\"r2\"} 1\n"
        "# HELP bluegreen_switch_rule_present 1 when the route (nginx include, redirect rule or live socket link) leads to the live color.\n"
        "# TYPE bluegreen_switch_rule_present gauge\n"
        "bluegreen_switch_rule_present{app=\"shop\"} 1\n";

static void test_format(void) {
        struct metrics_counters c = {
                .deploys = { 2, 1 },
                .deploy_last_success_usec = 1776160000000042ULL,
                .deploy_last_duration_usec = 4500000,
        };
        struct metrics_gauges g = { .live = COLOR_GREEN, .release = { "r\"1\\", "r2" }, .route_ok = 1 };
        struct metrics_gauges none = { .live = _COLOR_INVALID, .route_ok = -1 };
        _cleanup_free_ char *text = NULL, *fresh = NULL;

        c.rollbacks[METRICS_ROLLBACK_MANUAL][METRICS_SUCCESS] = 1;
        CHECK(metrics_format("shop", &c, &g, &text) == 0);
        CHECK_STR(text, expected_prom);

        /* Before the first deploy: both colors 0, and no sample where there is nothing to say. */
        CHECK(metrics_format("shop", &(struct metrics_counters) {}, &none, &fresh) == 0);
        CHECK(fresh && strstr(fresh, "bluegreen_live_color{app=\"shop\",color=\"blue\"} 0\n"));
        CHECK(fresh && strstr(fresh, "bluegreen_live_color{app=\"shop\",color=\"green\"} 0\n"));
        CHECK(fresh && !strstr(fresh, "bluegreen_release_info{"));
        CHECK(fresh && !strstr(fresh, "bluegreen_switch_rule_present{"));
        CHECK(fresh && !strstr(fresh, "bluegreen_deploy_last_success_timestamp_seconds{"));
        CHECK(fresh && strstr(fresh, "# TYPE bluegreen_deploy_last_duration_seconds gauge\n"));
}

static void test_write(const char *tmp) {
        _cleanup_free_ char *dir = NULL, *path = NULL, *back = NULL;
        struct stat st;

        CHECK(asprintf(&dir, "%s/prometheus/node-exporter", tmp) > 0);
        CHECK(asprintf(&path, "%s/bluegreen-shop.prom", dir) > 0);
        /* The directory is made when missing; the file replaced whole. */
        CHECK(metrics_write(dir, "shop", "old\n") == 0);
        CHECK(metrics_write(dir, "shop", "new\n") == 0);
        CHECK(read_file(path, 64, &back, NULL) == 0);
        CHECK_STR(back, "new\n");
        CHECK(stat(path, &st) == 0 && (st.st_mode & 07777) == 0644);
        CHECK(stat(dir, &st) == 0 && S_ISDIR(st.st_mode));
        CHECK(entries(dir) == 1);
        (void) unlink(path);
        (void) rmdir(dir);
        *strrchr(dir, '/') = 0;
        (void) rmdir(dir);
}

int main(void) {
        char tmp[] = "/tmp/test-metrics-XXXXXX";

        umask(0022);
        if (!mkdtemp(tmp))
                return perror("mkdtemp"), EXIT_FAILURE;
        test_label_escape();
        test_counters_round_trip();
        test_counters_parse();
        test_counters_files(tmp);
        test_format();
        test_write(tmp);
        (void) rmdir(tmp);
        printf("%d checks, %d failed\n", checks, failures);
        return failures ? EXIT_FAILURE : EXIT_SUCCESS;
}
