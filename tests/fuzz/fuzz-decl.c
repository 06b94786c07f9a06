/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Fuzz target: the declaration parser, app_decl_load(), on any text. The input is the declaration,
 * optionally followed by a line "%%" and the text of common.inc beside it, so that @include is fuzzed
 * too. Beyond memory errors, leaks and hangs it checks the parser's promises (decl.h): a declaration
 * is either accepted with no problem reported, or refused with every problem reported as
 * "FILE: ..." naming one of the files it read; an accepted one holds every bound the helpers rely on. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "decl.h"
#include "fuzz-scratch.h"
#include "fuzz-target.h"
#include "log.h"
#include "macro.h"

static bool port_ok(int p) {
        return p >= 1 && p <= 65535;
}

static void check_accepted(const struct app_decl *d) {
        if (!d)
                FAIL("accepted without a declaration");
        if (!d->name || !streq(d->name, "app") || !d->source)
                FAIL("name or source lost");
        if (!d->releases || d->releases[0] != '/' || isempty(d->exec) || !d->workdir || !d->bind || !d->trigger)
                FAIL("a required value is missing after validation");
        if (d->nginx.switch_mode == SWITCH_SOCKET) {
                if (d->port_blue || d->port_green)
                        FAIL("ports %d and %d accepted in socket mode", d->port_blue, d->port_green);
        } else if (!port_ok(d->port_blue) || !port_ok(d->port_green) || d->port_blue == d->port_green)
                FAIL("ports %d and %d accepted", d->port_blue, d->port_green);
        if ((d->port_live != 0) != (d->nginx.switch_mode == SWITCH_REDIRECT))
                FAIL("ports.live %d accepted with switch %s", d->port_live, switch_mode_to_string(d->nginx.switch_mode));
        if (d->port_live && (!port_ok(d->port_live) || d->port_live == d->port_blue || d->port_live == d->port_green))
                FAIL("ports.live %d accepted", d->port_live);
        if (d->n_smoke > DECL_SMOKE_MAX || d->n_environment > DECL_ENVIRONMENT_MAX ||
            d->n_environment_files > DECL_ENVIRONMENT_FILES_MAX || d->n_read_write_paths > DECL_READ_WRITE_PATHS_MAX)
                FAIL("a list longer than its bound accepted");
        if (d->group && !d->user)
                FAIL("group without user accepted");
        if (!d->nginx.include || !d->nginx.upstream || !d->nginx.unit || !d->nginx.test || isempty(d->nginx.group) ||
            !d->stop.signal)
                FAIL("an nginx or stop default is missing");
        if (d->nginx.switch_defaulted != !!d->nginx.switch_default_file ||
            (d->nginx.switch_defaulted && d->nginx.switch_mode != SWITCH_RELOAD))
                FAIL("switch %s defaulted %d without a place to say so", switch_mode_to_string(d->nginx.switch_mode),
                     d->nginx.switch_defaulted);
        if (d->watch.duration_s < 0 || d->watch.duration_s > DECL_WATCH_DURATION_S_MAX || d->watch.failures < 1 ||
            d->watch.failures > DECL_WATCH_FAILURES_MAX || d->watch.interval_ms < DECL_WATCH_INTERVAL_MS_MIN ||
            d->watch.interval_ms > DECL_WATCH_INTERVAL_MS_MAX)
                FAIL("watch %d s, %d failures, %d ms accepted", d->watch.duration_s, d->watch.failures,
                     d->watch.interval_ms);
        if ((d->health.command != NULL) == (d->health.http.path != NULL))
                FAIL("health has %s", d->health.command ? "both a command and a path" : "neither command nor path");
        for (size_t i = 0; i < d->n_smoke; i++)
                if (!d->smoke[i].path || d->smoke[i].path[0] != '/' || !d->smoke[i].body_contains)
                        FAIL("smoke check %zu accepted without a URL path", i);
}

/* "FILE:LINE: ..." or "FILE: ...", FILE being one the parser was given or was told to include. */
static void check_refused(int r, const struct diag *diag, const char *dir) {
        if (r == -ENOMEM)
                return;
        if (diag->n == 0)
                FAIL("refused (%s) without a reason", strerror(-r));
        for (size_t i = 0; i < diag->n; i++)
                if (strncmp(diag->msgs[i], dir, strlen(dir)) != 0 || diag->msgs[i][strlen(dir)] != '/' ||
                    !strchr(diag->msgs[i], ':'))
                        FAIL("a problem reported without its file: \"%s\"", diag->msgs[i]);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        static char *path;
        _cleanup_(app_decl_freep) struct app_decl *d = NULL;
        _cleanup_(diag_done) struct diag diag = {};
        const uint8_t *parts[2];
        size_t lens[2], n;
        int r;

        if (!path) {
                log_set_max_level(-1);
                if (asprintf(&path, "%s/app.conf", scratch_dir()) < 0)
                        abort();
        }
        n = fuzz_split(data, size, parts, lens, ELEMENTSOF(parts));
        scratch_write("app.conf", parts[0], lens[0]);
        scratch_write("common.inc", n > 1 ? parts[1] : NULL, n > 1 ? lens[1] : 0);

        r = app_decl_load(path, "app", &d, &diag);
        if (r >= 0) {
                if (diag.n > 0)
                        FAIL("accepted with a problem reported: %s", diag.msgs[0]);
                check_accepted(d);
        } else
                check_refused(r, &diag, scratch_dir());
        return 0;
}
