/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Fuzz target: bluegreen-generator's whole run on up to two declarations, a.conf and b.conf, and a
 * common.inc both may include; the input holds their texts cut by lines "%%" (see fuzz-scratch.h); an
 * empty text is a masked app, a missing one no app. Beyond memory errors, leaks and hangs it checks what
 * bluegreen-generator(8) promises: the exit status says whether every app got its units; an app gets all
 * of its units or none, and a sole app the parser accepts gets them; nothing but those is written;
 * every unit and environment file reads to systemd as the lines written (no value continues its line
 * onto the next). */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "decl.h"
#include "fileio.h"
#include "fuzz-scratch.h"
#include "fuzz-target.h"
#include "generator-main.h"
#include "macro.h"
#include "unit-lines.h"

static const char *const apps[] = { "a", "b" };

/* Every file an app gets, relative to the output directory: prefix, app name, suffix. */
struct app_file {
        const char *prefix, *suffix;
};
static const struct app_file app_files[] = {
        { "", ".service" },
        { "", "@.service" },
        { "", "-deploy@.service" },
        { "", "-rollback.service" },
        { "", "-retire@.timer" },
        { "", "-retire@.service" },
        { "", "-deploy-trigger.path" },
        { "", "-deploy-trigger.service" },
        { "", "-failover@.service" },
        { "bluegreen/", "/app.env" },
        { "bluegreen/", "/blue.env" },
        { "bluegreen/", "/green.env" },
        { "multi-user.target.wants/", ".service" },
        { "multi-user.target.wants/", "-deploy-trigger.path" },
};
/* And those it gets with a setting, each group all or none: a hook, the watch, the redirect switch. */
static const struct app_file app_optional_files[] = {
        { "", "-pre-start@.service" },
        { "", "-post-switch@.service" },
        { "", "-watch@.service" },
        { "", "-redirect.service" },
        { "nftables.service.wants/", "-redirect.service" },
};
static const struct {
        size_t first, n;
} app_optional_groups[] = { { 0, 1 }, { 1, 1 }, { 2, 1 }, { 3, 2 } };

static bool out_has(const char *out, const struct app_file *f, const char *app) {
        char path[4096];
        struct stat st;

        snprintf(path, sizeof path, "%s/%s%s%s", out, f->prefix, app, f->suffix);
        return lstat(path, &st) >= 0;
}

/* All or none; returns whether the app was generated. */
static bool check_app_files(const char *out, const char *app) {
        size_t n = 0;

        for (size_t i = 0; i < ELEMENTSOF(app_files); i++)
                n += out_has(out, &app_files[i], app);
        if (n != 0 && n != ELEMENTSOF(app_files))
                FAIL("app %s got %zu of its %zu files", app, n, ELEMENTSOF(app_files));
        for (size_t g = 0; g < ELEMENTSOF(app_optional_groups); g++) {
                size_t k = 0;

                for (size_t i = 0; i < app_optional_groups[g].n; i++)
                        k += out_has(out, &app_optional_files[app_optional_groups[g].first + i], app);
                if (k != 0 && (n == 0 || k != app_optional_groups[g].n))
                        FAIL("app %s got %zu of the %zu files of %s%s%s%s", app, k, app_optional_groups[g].n,
                             app_optional_files[app_optional_groups[g].first].prefix, app,
                             app_optional_files[app_optional_groups[g].first].suffix,
                             n == 0 ? " without its other units" : "");
        }
        return n > 0;
}

static bool name_is_expected(const char *dir, const char *name) {
        char rel[4096];

        snprintf(rel, sizeof rel, "%s%s%s", dir, *dir ? "/" : "", name);
        for (size_t a = 0; a < ELEMENTSOF(apps); a++)
                for (size_t i = 0; i < ELEMENTSOF(app_files) + ELEMENTSOF(app_optional_files); i++) {
                        const struct app_file *f = i < ELEMENTSOF(app_files) ? &app_files[i]
                                                                             : &app_optional_files[i - ELEMENTSOF(app_files)];
                        size_t np = strlen(f->prefix), na = strlen(apps[a]);

                        if (strncmp(rel, f->prefix, np) == 0 && strncmp(rel + np, apps[a], na) == 0 &&
                            streq(rel + np + na, f->suffix))
                                return true;
                }
        return false;
}

static void check_text(const char *path, bool unit) {
        _cleanup_free_ char *text = NULL;
        const char *bad = NULL;
        int r;

        r = read_file(path, 4 * 1024 * 1024, &text, NULL);
        if (r < 0)
                FAIL("cannot read %s: %s", path, strerror(-r));
        if (!(unit ? unit_text_is_sound(text, &bad) : env_text_is_sound(text, &bad)))
                FAIL("%s: a line systemd reads otherwise than written: \"%.*s\"", path, (int) strcspn(bad, "\n"), bad);
}

/* Walks what was written: nothing unexpected, every text sound. dir is relative to out ("" for it). */
static void check_tree(const char *out, const char *dir) {
        _cleanup_(closedirp) DIR *d = NULL;
        char path[4096];
        struct dirent *de;

        snprintf(path, sizeof path, "%s%s%s", out, *dir ? "/" : "", dir);
        d = opendir(path);
        if (!d)
                FAIL("cannot open %s: %m", path);
        while ((de = readdir(d))) {
                char p[8192], rel[4096];
                struct stat st;

                if (streq(de->d_name, ".") || streq(de->d_name, ".."))
                        continue;
                snprintf(p, sizeof p, "%s/%s", path, de->d_name);
                snprintf(rel, sizeof rel, "%s%s%s", dir, *dir ? "/" : "", de->d_name);
                if (lstat(p, &st) < 0)
                        FAIL("cannot stat %s: %m", p);
                if (S_ISDIR(st.st_mode)) {
                        if (!streq(rel, "bluegreen") && !streq(rel, "bluegreen/a") && !streq(rel, "bluegreen/b") &&
                            !streq(rel, "multi-user.target.wants") && !streq(rel, "nftables.service.wants"))
                                FAIL("unexpected directory %s written", rel);
                        check_tree(out, rel);
                        continue;
                }
                if (!name_is_expected(dir, de->d_name))
                        FAIL("unexpected file %s written", rel);
                if (S_ISREG(st.st_mode))
                        check_text(p, !streq(dir, "bluegreen/a") && !streq(dir, "bluegreen/b"));
                else if (!S_ISLNK(st.st_mode) || strlen(dir) < 6 || !streq(dir + strlen(dir) - 6, ".wants"))
                        FAIL("%s is neither a file nor a link in a .wants directory", rel);
        }
}

/* With one app, no other can clash with it: the parser accepting it means the generator must generate it. */
static void check_sole_app(const char *etc, const char *out) {
        _cleanup_(app_decl_freep) struct app_decl *d = NULL;
        _cleanup_(diag_done) struct diag diag = {};
        _cleanup_free_ char *path = NULL;

        if (asprintf(&path, "%s/a.conf", etc) < 0)
                abort();
        if (app_decl_load(path, "a", &d, &diag) >= 0 && !check_app_files(out, "a"))
                FAIL("the parser accepts a.conf, the only app, but the generator wrote none of its units");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        static const char *etc, *out;
        static const char *const names[] = { "etc/a.conf", "etc/b.conf", "etc/common.inc" };
        const uint8_t *parts[ELEMENTSOF(names)];
        size_t lens[ELEMENTSOF(names)], n;
        bool want_all = true;
        int status;

        if (!etc) {
                etc = scratch_mkdir("etc");
                out = scratch_mkdir("out");
        }
        n = fuzz_split(data, size, parts, lens, ELEMENTSOF(parts));
        for (size_t i = 0; i < ELEMENTSOF(names); i++)
                scratch_write(names[i], i < n ? parts[i] : NULL, i < n ? lens[i] : 0);

        status = generator_run(etc, out);
        if (status != EXIT_SUCCESS && status != EXIT_FAILURE)
                FAIL("exit status %d", status);

        /* Two declarations (the app parts that are there and not empty, i.e. not masked). */
        for (size_t a = 0; a < ELEMENTSOF(apps) && a < n; a++)
                if (lens[a] > 0 && !check_app_files(out, apps[a]))
                        want_all = false;
        for (size_t a = n; a < ELEMENTSOF(apps); a++)
                if (check_app_files(out, apps[a]))
                        FAIL("units for app %s, which is not declared", apps[a]);
        for (size_t a = 0; a < ELEMENTSOF(apps) && a < n; a++)
                if (lens[a] == 0 && check_app_files(out, apps[a]))
                        FAIL("units for app %s, which is masked", apps[a]);
        if ((status == EXIT_SUCCESS) != want_all)
                FAIL("exit status %d, but %s", status, want_all ? "every app got its units" : "an app got no units");
        if (lens[0] > 0 && (n < 2 || lens[1] == 0))
                check_sole_app(etc, out);
        check_tree(out, "");
        return 0;
}
