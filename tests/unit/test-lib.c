/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Unit tests of the shared library: quoting, templates, names, atomic writes and the declaration
 * model's defaults. Run under ASan+UBSan too (see tests/run-all.sh). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "decl.h"
#include "fileio.h"
#include "macro.h"
#include "template.h"

static int failures, checks;

#define CHECK(cond)                                                                     \
        do {                                                                            \
                checks++;                                                               \
                if (!(cond)) {                                                          \
                        fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
                        failures++;                                                     \
                }                                                                       \
        } while (0)

#define CHECK_STR(a, b)                                                                 \
        do {                                                                            \
                const char *_a = (a), *_b = (b);                                        \
                checks++;                                                               \
                if (!_a || !_b || strcmp(_a, _b) != 0) {                                \
                        fprintf(stderr, "%s:%d: \"%s\" != \"%s\"\n", __FILE__, __LINE__, _a ?: "(null)", _b ?: "(null)"); \
                        failures++;                                                     \
                }                                                                       \
        } while (0)

static void test_quoting(void) {
        _cleanup_free_ char *a = unit_escape_specifiers("100% %i");
        _cleanup_free_ char *b = unit_quote_assignment("K", "a \"b\" \\ 50%");
        _cleanup_free_ char *c = envfile_quote("x\"y\\z $HOME `id`");
        _cleanup_free_ char *d = envfile_quote("");

        CHECK_STR(a, "100%% %%i");
        CHECK_STR(b, "\"K=a \\\"b\\\" \\\\ 50%%\"");
        CHECK_STR(c, "\"x\\\"y\\\\z \\$HOME \\`id\\`\"");
        CHECK_STR(d, "\"\"");
}

static void test_template(void) {
        const struct tvar v[] = { { "A", "1" }, { "EMPTY", "" }, { "BLOCK", "x=1\ny=2\n" }, { "NOEOL", "z=3" } };
        char *out = NULL;

        CHECK(template_render("a=@A@\n@EMPTY@\nb=@A@@A@\n", v, 4, &out) == 0);
        CHECK_STR(out, "a=1\nb=11\n");
        free(out);

        /* A block brings its own newline; a value without one gets it. */
        CHECK(template_render("[S]\n@BLOCK@\n@NOEOL@\nend\n", v, 4, &out) == 0);
        CHECK_STR(out, "[S]\nx=1\ny=2\nz=3\nend\n");
        free(out);

        /* '@' not forming a variable stays, as in unit names. */
        CHECK(template_render("x@A@@%i.service me@host @lower@\n", v, 4, &out) == 0);
        CHECK_STR(out, "x1@%i.service me@host @lower@\n");
        free(out);

        out = NULL;
        CHECK(template_render("@UNKNOWN@\n", v, 4, &out) == -ENOKEY);
        CHECK(out == NULL);
        CHECK(template_render("a @UNKNOWN@ b\n", v, 4, &out) == -ENOKEY);

        CHECK(template_get("color.service") != NULL);
        CHECK(template_get("no-such-template") == NULL);
}

static void test_names(void) {
        CHECK(app_name_is_valid("saltbox-api"));
        CHECK(app_name_is_valid("A_1"));
        CHECK(!app_name_is_valid(""));
        CHECK(!app_name_is_valid("a.b"));
        CHECK(!app_name_is_valid("a b"));
        CHECK(!app_name_is_valid("a@b"));
        CHECK(app_name_is_valid("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"));   /* 64 */
        CHECK(!app_name_is_valid("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa")); /* 65 */

        CHECK(release_name_is_valid("r2026-04-14b"));
        CHECK(release_name_is_valid("v1.2.3_rc1"));
        CHECK(!release_name_is_valid(".hidden"));
        CHECK(!release_name_is_valid(".deploy"));
        CHECK(!release_name_is_valid("."));
        CHECK(!release_name_is_valid(".."));
        CHECK(!release_name_is_valid("../x"));
        CHECK(!release_name_is_valid("-rf"));
        CHECK(!release_name_is_valid("a/b"));
        CHECK(!release_name_is_valid("a b"));
        CHECK(!release_name_is_valid(""));
        {
                char name[130];

                memset(name, 'r', 128);
                name[128] = 0;
                CHECK(release_name_is_valid(name));
                name[128] = 'r';
                name[129] = 0;
                CHECK(!release_name_is_valid(name));
        }
}

static void test_atomic_write(void) {
        char dir[] = "/tmp/bluegreen-test-XXXXXX";
        _cleanup_free_ char *path = NULL, *link = NULL, *content = NULL;
        char target[64];
        struct stat st;
        ssize_t n;

        CHECK(mkdtemp(dir) != NULL);
        CHECK(asprintf(&path, "%s/file", dir) > 0);
        CHECK(asprintf(&link, "%s/link", dir) > 0);

        CHECK(write_file_atomic(path, "one\n", 4, 0640, WRITE_SYNC) == 0);
        CHECK(write_file_atomic(path, "two\n", 4, 0644, 0) == 0);
        CHECK(read_file(path, 100, &content, NULL) == 0);
        CHECK_STR(content, "two\n");
        CHECK(stat(path, &st) == 0 && (st.st_mode & 0777) == 0644);
        CHECK(read_file(path, 2, &content, NULL) == -EFBIG);

        /* A write into a directory that does not exist fails and leaves nothing behind. */
        {
                _cleanup_free_ char *bad = NULL;

                CHECK(asprintf(&bad, "%s/missing/file", dir) > 0);
                CHECK(write_file_atomic(bad, "x", 1, 0644, 0) == -ENOENT);
        }

        CHECK(symlink_atomic("/srv/releases/r1", link, 0) == 0);
        CHECK(symlink_atomic("/srv/releases/r2", link, WRITE_SYNC) == 0);
        n = readlink(link, target, sizeof target - 1);
        CHECK(n > 0);
        target[n > 0 ? n : 0] = 0;
        CHECK_STR(target, "/srv/releases/r2");

        /* Only the two files remain: no temporary files were left. */
        {
                _cleanup_(closedirp) DIR *d = opendir(dir);
                struct dirent *de;
                int count = 0;

                while (d && (de = readdir(d)))
                        if (de->d_name[0] != '.' || (de->d_name[1] && de->d_name[1] != '.'))
                                count++;
                CHECK(count == 2);
        }

        unlink(path);
        unlink(link);
        rmdir(dir);
}

static void test_decl_defaults(void) {
        char path[] = "/tmp/bluegreen-decl-XXXXXX.conf";
        const char *text = "releases = \"/srv/x/releases/\";\nexec = \"bin/x\";\nports = { blue = 1; green = 2; };\n";
        _cleanup_(app_decl_freep) struct app_decl *d = NULL;
        _cleanup_(diag_done) struct diag diag = {};
        int fd = mkstemps(path, 5);

        CHECK(fd >= 0);
        CHECK(write(fd, text, strlen(text)) == (ssize_t) strlen(text));
        close(fd);

        CHECK(app_decl_load(path, "x-y", &d, &diag) == 0);
        CHECK(diag.n == 0);
        if (d) {
                CHECK_STR(d->releases, "/srv/x/releases");
                CHECK_STR(d->workdir, ".");
                CHECK(d->user == NULL);
                CHECK_STR(d->bind, "127.0.0.1");
                CHECK_STR(d->health.http.path, "/healthz");
                CHECK(d->health.command == NULL);
                CHECK(d->health.http.expect_status == 200);
                CHECK(d->health.timeout_ms == 500 && d->health.interval_ms == 100);
                CHECK(d->health.successes == 2 && d->health.deadline_s == 60);
                CHECK(d->n_smoke == 0);
                CHECK_STR(d->nginx.include, "/etc/nginx/conf.d/bluegreen-x-y.conf");
                CHECK(d->nginx.style == NGINX_STYLE_UPSTREAM);
                CHECK_STR(d->nginx.upstream, "x_y");
                CHECK(d->nginx.keepalive == 32);
                CHECK_STR(d->nginx.unit, "nginx.service");
                CHECK_STR(d->nginx.test, "/usr/sbin/nginx -t -q");
                CHECK(d->drain_s == 600);
                CHECK_STR(d->stop.signal, "SIGTERM");
                CHECK(d->stop.timeout_s == 30);
                CHECK(d->hooks.pre_start == NULL && d->hooks.post_switch == NULL);
                CHECK(d->hardening == HARDENING_STRICT);
                CHECK_STR(d->trigger, "/srv/x/releases/.deploy");
        }
        unlink(path);

        /* A file that cannot be read is an error with the file's name, not a crash. */
        {
                _cleanup_(app_decl_freep) struct app_decl *e = NULL;
                _cleanup_(diag_done) struct diag dg = {};

                CHECK(app_decl_load("/nonexistent/x.conf", "x", &e, &dg) == -EIO);
                CHECK(dg.n == 1 && strstr(dg.msgs[0], "/nonexistent/x.conf") != NULL);
                CHECK(e == NULL);
        }
}

int main(void) {
        test_quoting();
        test_template();
        test_names();
        test_atomic_write();
        test_decl_defaults();
        printf("%d checks, %d failed\n", checks, failures);
        return failures ? EXIT_FAILURE : EXIT_SUCCESS;
}
