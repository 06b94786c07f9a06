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

/* The reader of the environment files, with its static parser, compiled in here: this test links the
 * generator's library only, and the parser is what must agree with envfile_quote(). */
#include "appenv.c"

#include "check.h"

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
                CHECK_STR(d->nginx.group, "www-data");
                CHECK(d->watch.duration_s == 300 && d->watch.failures == 3 && d->watch.interval_ms == 100);
                /* Reload mode by default: the generator's notice points at exec. */
                CHECK(d->nginx.switch_mode == SWITCH_RELOAD && d->nginx.switch_defaulted);
                CHECK_STR(d->nginx.switch_default_file, path);
                CHECK(d->nginx.switch_default_line == 2);
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

/* app_decl_load() of the declaration text of app "x", from a file removed again. */
static int load_decl_text(const char *text, struct app_decl **ret, struct diag *diag) {
        char path[] = "/tmp/bluegreen-decl-XXXXXX.conf";
        int fd = mkstemps(path, 5), r;

        CHECK(fd >= 0);
        CHECK(write(fd, text, strlen(text)) == (ssize_t) strlen(text));
        close(fd);
        r = app_decl_load(path, "x", ret, diag);
        unlink(path);
        return r;
}

/* Loads a declaration whose health.body_contains is body; returns app_decl_load()'s result. */
static int load_with_body(const char *body) {
        _cleanup_(app_decl_freep) struct app_decl *d = NULL;
        _cleanup_(diag_done) struct diag diag = {};
        _cleanup_free_ char *text = NULL;
        int r;

        CHECK(asprintf(&text, "releases = \"/srv/x\";\nexec = \"bin/x\";\nports = { blue = 1; green = 2; };\n"
                              "health = { body_contains = \"%s\"; };\n", body) > 0);
        r = load_decl_text(text ?: "", &d, &diag);
        CHECK(r == 0 || (diag.n == 1 && strstr(diag.msgs[0], ":4: health.body_contains: is not valid UTF-8")));
        return r;
}

/* The mode a declaration without nginx.switch gets (bluegreen.conf(5)), and the cases around it. */
static void test_switch_default_rule(void) {
        static const struct {
                const char *rest; /* after releases */
                int r;
                enum switch_mode mode;
                bool defaulted;
        } cases[] = {
                { "exec = \"bin/x --uds ${SOCKET}\";", 0, SWITCH_SOCKET, false },
                { "exec = \"bin/x --uds $SOCKET\";", 0, SWITCH_SOCKET, false },
                { "exec = \"bin/x --uds=${SOCKET}\";\nnginx = { switch = \"socket\"; };", 0, SWITCH_SOCKET, false },
                /* systemd substitutes neither: a literal "${SOCKET}", and "$SOCKET" inside a word. */
                { "exec = \"bin/x $${SOCKET}\";\nports = { blue = 1; green = 2; };", 0, SWITCH_RELOAD, true },
                { "exec = \"bin/x unix:$SOCKET\";\nports = { blue = 1; green = 2; };", 0, SWITCH_RELOAD, true },
                { "exec = \"bin/x $SOCKETS\";\nports = { blue = 1; green = 2; };", 0, SWITCH_RELOAD, true },
                { "exec = \"bin/x\";\nports = { blue = 1; green = 2; live = 3; };", 0, SWITCH_REDIRECT, false },
                { "exec = \"bin/x\";\nports = { blue = 1; green = 2; };\nnginx = { switch = \"reload\"; };", 0,
                  SWITCH_RELOAD, false },
                /* $SOCKET is empty outside socket mode; ports have no use in it. */
                { "exec = \"bin/x ${SOCKET}\";\nports = { blue = 1; green = 2; };\nnginx = { switch = \"reload\"; };",
                  -EINVAL },
                { "exec = \"bin/x ${SOCKET}\";\nports = { blue = 1; green = 2; };", -EINVAL },
                { "exec = \"bin/x\";\nnginx = { switch = \"socket\"; };\nbind = \"::1\";", -EINVAL },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_(app_decl_freep) struct app_decl *d = NULL;
                _cleanup_(diag_done) struct diag diag = {};
                _cleanup_free_ char *text = NULL;
                int r;

                CHECK(asprintf(&text, "releases = \"/srv/x\";\n%s\n", cases[i].rest) > 0);
                r = load_decl_text(text ?: "", &d, &diag);
                if (r != cases[i].r)
                        fprintf(stderr, "case %zu: %d, %s\n", i, r, diag.n > 0 ? diag.msgs[0] : "");
                CHECK(r == cases[i].r);
                if (r < 0 || !d)
                        continue;
                CHECK(d->nginx.switch_mode == cases[i].mode);
                CHECK(d->nginx.switch_defaulted == cases[i].defaulted);
                if (d->nginx.switch_mode == SWITCH_SOCKET)
                        CHECK(d->port_blue == 0 && d->port_green == 0 && d->port_live == 0);
        }
}

/* watch.interval_ms defaults to health's, within the watch's bounds. */
static void test_watch_interval_default(void) {
        CHECK(watch_interval_default(1) == DECL_WATCH_INTERVAL_MS_MIN);
        CHECK(watch_interval_default(250) == 250);
        CHECK(watch_interval_default(600000) == DECL_WATCH_INTERVAL_MS_MAX);
}

/* systemd drops what is not UTF-8 by its rules, so the generator refuses exactly that. */
static void test_utf8(void) {
        CHECK(load_with_body("caf\xc3\xa9 \xe2\x9c\x93 \xf0\x9f\x98\x80") == 0);
        CHECK(load_with_body("caf\xe9") == -EINVAL);         /* Latin-1 */
        CHECK(load_with_body("\xc0\xaf") == -EINVAL);        /* overlong "/" */
        CHECK(load_with_body("\xed\xa0\x80") == -EINVAL);    /* UTF-16 surrogate */
        CHECK(load_with_body("\xef\xbf\xbe") == -EINVAL);    /* U+FFFE */
        CHECK(load_with_body("\xf4\x90\x80\x80") == -EINVAL); /* beyond U+10FFFF */
        CHECK(load_with_body("\xe2\x9c") == -EINVAL);        /* cut short */
}

/* What the generator writes into an environment file, the helpers must read back to the same value
 * (the generator refuses control characters and invalid UTF-8, so values are one line of text). */
static void test_envfile_round_trip(void) {
        static const char *const values[] = {
                "",         "plain",      "\\",          "ends in \\", "\"",        "\"quoted\"", "'single'",
                "$HOME",    "${PORT}",    "$$",          "`id`",       "100% %i",  "a=b=c",      "#not a comment",
                " lead",    "trail ",     "\\\"\\$\\`", "caf\xc3\xa9",  "; ;",       "\\n",
        };

        for (size_t i = 0; i < ELEMENTSOF(values); i++) {
                _cleanup_free_ char *q = envfile_quote(values[i]), *text = NULL;
                struct kv kv = {};

                CHECK(q != NULL);
                CHECK(asprintf(&text, "# comment\nBLUEGREEN_X=%s\nBLUEGREEN_Y=1\n", q ?: "") > 0);
                CHECK(parse_env_text(text, &kv) == 0);
                CHECK(kv.n == 2);
                if (kv.n == 2) {
                        CHECK_STR(kv.keys[0], "BLUEGREEN_X");
                        CHECK_STR(kv.values[0], values[i]);
                        CHECK_STR(kv.values[1], "1");
                }
                free(kv.keys);
                free(kv.values);
        }
}

/* An app.env with n smoke checks, every value awkward where the format allows. */
static char *app_env_text(int n_smoke) {
        _cleanup_free_ char *smoke = NULL, *body = envfile_quote("${RELEASE} \\ \"q\" $$ % \xe2\x9c\x93");
        char *text = NULL;
        FILE *f;
        size_t size;

        f = open_memstream(&smoke, &size);
        if (!f || !body)
                return NULL;
        for (int i = 0; i < n_smoke; i++)
                fprintf(f, "BLUEGREEN_SMOKE_%d_PATH=\"/check/%d\"\nBLUEGREEN_SMOKE_%d_EXPECT_STATUS=200\n"
                           "BLUEGREEN_SMOKE_%d_BODY_CONTAINS=%s\n", i, i, i, i, body);
        if (fclose(f) != 0)
                return NULL;
        if (asprintf(&text,
                     "BLUEGREEN_APP=\"odd\"\nBLUEGREEN_STATE_DIR=\"/var/lib/bluegreen/odd\"\n"
                     "BLUEGREEN_RELEASES=\"/srv/odd/releases\"\nBLUEGREEN_USER=\"\"\nBLUEGREEN_BIND=\"::1\"\n"
                     "BLUEGREEN_PORT_BLUE=8201\nBLUEGREEN_PORT_GREEN=8202\nBLUEGREEN_PORT_LIVE=0\n"
                     "BLUEGREEN_HEALTH_PATH=\"\"\nBLUEGREEN_HEALTH_COMMAND=%s\nBLUEGREEN_HEALTH_EXPECT_STATUS=200\n"
                     "BLUEGREEN_HEALTH_BODY_CONTAINS=\"\"\nBLUEGREEN_HEALTH_TIMEOUT_MS=500\nBLUEGREEN_HEALTH_INTERVAL_MS=100\n"
                     "BLUEGREEN_HEALTH_SUCCESSES=2\nBLUEGREEN_HEALTH_DEADLINE_S=60\nBLUEGREEN_SMOKE_COUNT=%d\n%s"
                     "BLUEGREEN_NGINX_INCLUDE=\"/etc/nginx/conf.d/bluegreen-odd.conf\"\nBLUEGREEN_NGINX_STYLE=upstream\n"
                     "BLUEGREEN_NGINX_UPSTREAM=odd\nBLUEGREEN_NGINX_KEEPALIVE=32\nBLUEGREEN_NGINX_KEEPALIVE_TIME_S=1\n"
                     "BLUEGREEN_NGINX_SWITCH=reload\nBLUEGREEN_NGINX_UNIT=\"nginx.service\"\nBLUEGREEN_NGINX_TEST=%s\n"
                     "BLUEGREEN_DRAIN_S=600\nBLUEGREEN_HOOK_PRE_START=0\nBLUEGREEN_HOOK_POST_SWITCH=0\n"
                     "BLUEGREEN_TRIGGER=\"/srv/odd/releases/.deploy\"\n",
                     "\"test -e \\\"$HOME/x y\\\" \\\\ \\`true\\`\"", n_smoke, smoke ?: "",
                     "\"/usr/sbin/nginx -t -q -g 'pid /run/x%.pid;' \\\\\"") < 0)
                return NULL;
        return text;
}

/* The helpers read back as many smoke checks as the generator accepts, DECL_SMOKE_MAX, and no more. */
static void test_app_env_limits(void) {
        char path[] = "/tmp/bluegreen-env-XXXXXX";
        int fd = mkstemp(path);

        CHECK(fd >= 0);
        close(fd);
        for (int n = DECL_SMOKE_MAX; n <= DECL_SMOKE_MAX + 1; n++) {
                _cleanup_free_ char *text = app_env_text(n);
                struct app_env e = {};
                const char *bad = NULL;
                int r;

                CHECK(text != NULL);
                CHECK(write_file_atomic(path, text ?: "", text ? strlen(text) : 0, 0600, 0) == 0);
                r = app_env_from_file(path, &e, &bad);
                if (n == DECL_SMOKE_MAX) {
                        CHECK(r == 0);
                        CHECK(e.n_smoke == DECL_SMOKE_MAX);
                        if (r == 0) {
                                CHECK_STR(e.smoke[DECL_SMOKE_MAX - 1].path, "/check/31");
                                CHECK_STR(e.smoke[DECL_SMOKE_MAX - 1].body_contains, "${RELEASE} \\ \"q\" $$ % \xe2\x9c\x93");
                                CHECK_STR(e.health_command, "test -e \"$HOME/x y\" \\ `true`");
                                CHECK_STR(e.nginx_test, "/usr/sbin/nginx -t -q -g 'pid /run/x%.pid;' \\");
                        }
                } else {
                        CHECK(r == -EINVAL);
                        CHECK(bad && streq(bad, "BLUEGREEN_SMOKE_COUNT"));
                }
                app_env_done(&e);
        }
        unlink(path);
}

/* The awkward header values of the probe tests: what envfile_quote() must escape, and "%", which the
 * generator must leave alone in an environment file. */
static const char *const probe_header_values[] = {
        "X-Probe-Token: a\"b\\c $HOME ${PORT} `id` 100% %i",
        "X-Forwarded-Proto: https",
        "X-Trailing-Backslash: C:\\",
        "X-Unicode: caf\xc3\xa9 \xe2\x9c\x93",
};

/* The probe lines of one probe, as the generator writes them, n header lines cycling through the
 * awkward values. */
static void fprint_probe_lines(FILE *f, const char *prefix, const char *host, size_t n) {
        _cleanup_free_ char *h = envfile_quote(host);

        fprintf(f, "%s_HOST=%s\n%s_HEADER_COUNT=%zu\n", prefix, h ?: "", prefix, n);
        for (size_t i = 0; i < n; i++) {
                _cleanup_free_ char *q = envfile_quote(probe_header_values[i % ELEMENTSOF(probe_header_values)]);

                fprintf(f, "%s_HEADER_%zu=%s\n", prefix, i, q ?: "");
        }
}

/* app_env_text() with the probe lines of health and of each smoke check put in: n_headers each. */
static char *app_env_text_with_probes(int n_smoke, size_t n_headers) {
        _cleanup_free_ char *base = app_env_text(n_smoke), *health = NULL;
        char *text = NULL, *at;
        size_t size;
        FILE *f;

        if (!base)
                return NULL;
        f = open_memstream(&text, &size);
        if (!f)
                return NULL;
        /* Health's lines where the generator puts them, after BLUEGREEN_HEALTH_DEADLINE_S; a smoke
         * check's after its BODY_CONTAINS line. */
        for (char *line = strtok_r(base, "\n", &at); line; line = strtok_r(NULL, "\n", &at)) {
                int i;
                char c;

                fprintf(f, "%s\n", line);
                if (strncmp(line, "BLUEGREEN_HEALTH_DEADLINE_S=", 28) == 0)
                        fprint_probe_lines(f, "BLUEGREEN_HEALTH", "api.example.com:8443", n_headers);
                else if (sscanf(line, "BLUEGREEN_SMOKE_%d_BODY_CONTAIN%c", &i, &c) == 2 && c == 'S') {
                        char prefix[64];

                        snprintf(prefix, sizeof prefix, "BLUEGREEN_SMOKE_%d", i);
                        fprint_probe_lines(f, prefix, i % 2 ? "[2001:db8::1]:8000" : "", n_headers);
                }
        }
        if (fclose(f) != 0) {
                free(text);
                return NULL;
        }
        return text;
}

static void check_probe_headers(char *const *got, size_t n_got, size_t n_want) {
        CHECK(n_got == n_want);
        for (size_t i = 0; i < n_got && i < n_want; i++)
                CHECK_STR(got[i], probe_header_values[i % ELEMENTSOF(probe_header_values)]);
}

static int load_env_text(const char *text, struct app_env *e, const char **bad) {
        char path[] = "/tmp/bluegreen-env-XXXXXX";
        int fd = mkstemp(path), r;

        CHECK(fd >= 0);
        close(fd);
        CHECK(write_file_atomic(path, text ?: "", text ? strlen(text) : 0, 0600, 0) == 0);
        r = app_env_from_file(path, e, bad);
        unlink(path);
        return r;
}

/* Health's and each smoke check's Host and header lines come back from app.env byte for byte, up to
 * DECL_HEADERS_MAX of them and not one more; an app.env without them (written by an older generator)
 * means none. */
static void test_probe_headers_round_trip(void) {
        for (size_t n = 0; n <= DECL_HEADERS_MAX + 1; n += (n == 1 ? DECL_HEADERS_MAX - 1 : 1)) {
                _cleanup_free_ char *text = app_env_text_with_probes(DECL_SMOKE_MAX, n);
                struct app_env e = {};
                const char *bad = NULL;
                int r;

                CHECK(text != NULL);
                r = load_env_text(text, &e, &bad);
                if (n > DECL_HEADERS_MAX) {
                        CHECK(r == -EINVAL);
                        CHECK(bad && streq(bad, "BLUEGREEN_HEALTH_HEADER_COUNT"));
                } else {
                        CHECK(r == 0);
                        if (r == 0) {
                                CHECK_STR(e.health_host, "api.example.com:8443");
                                check_probe_headers(e.health_headers, e.n_health_headers, n);
                                for (int i = 0; i < e.n_smoke; i++) {
                                        CHECK_STR(e.smoke[i].host, i % 2 ? "[2001:db8::1]:8000" : "");
                                        check_probe_headers(e.smoke[i].headers, e.smoke[i].n_headers, n);
                                }
                        }
                }
                app_env_done(&e);
        }

        {
                _cleanup_free_ char *text = app_env_text(1);
                struct app_env e = {};
                const char *bad = NULL;

                CHECK(load_env_text(text, &e, &bad) == 0);
                CHECK_STR(e.health_host, "");
                CHECK(e.n_health_headers == 0);
                CHECK(e.n_smoke == 1 && e.smoke[0].host && !*e.smoke[0].host && e.smoke[0].n_headers == 0);
                app_env_done(&e);
        }
}

/* What the generator wrote for golden case 100 (the golden test holds it to that) reads back as the
 * values its declaration holds: host, headers, and what the smoke checks inherit. */
static void test_probe_headers_golden(void) {
        _cleanup_free_ char *dir = NULL, *conf = NULL, *env = NULL;
        _cleanup_(app_decl_freep) struct app_decl *d = NULL;
        _cleanup_(diag_done) struct diag diag = {};
        struct app_env e = {};
        const char *bad = NULL;

        /* Meson runs the test in the build directory, which __FILE__ is relative to. */
        CHECK(asprintf(&dir, "%.*s/../generator/100-probe-host-and-headers", (int) (strrchr(__FILE__, '/') - __FILE__),
                       __FILE__) > 0);
        CHECK(asprintf(&conf, "%s/in/etc/bluegreen/django.conf", dir) > 0);
        CHECK(asprintf(&env, "%s/expected/bluegreen/django/app.env", dir) > 0);
        CHECK(app_decl_load(conf, "django", &d, &diag) == 0);
        CHECK(app_env_from_file(env, &e, &bad) == 0);
        if (!d || !e.app)
                return app_env_done(&e);

        CHECK_STR(d->health.http.host, "api.example.com");
        CHECK(d->health.http.n_headers == 2);
        CHECK_STR(d->health.http.headers[1], "X-Probe-Token: a\"b\\c $HOME 100%");
        CHECK_STR(e.health_host, d->health.http.host);
        CHECK(e.n_health_headers == d->health.http.n_headers);
        for (size_t i = 0; i < e.n_health_headers && i < d->health.http.n_headers; i++)
                CHECK_STR(e.health_headers[i], d->health.http.headers[i]);

        CHECK(e.n_smoke == 4 && d->n_smoke == 4);
        CHECK_STR(d->smoke[0].host, "api.example.com");
        CHECK(d->smoke[0].n_headers == 2);
        CHECK_STR(d->smoke[1].host, "api.example.com");
        CHECK(d->smoke[1].n_headers == 1);
        CHECK_STR(d->smoke[2].host, "[2001:db8::1]:8443");
        CHECK(d->smoke[2].n_headers == 2);
        CHECK_STR(d->smoke[3].host, "");
        CHECK(d->smoke[3].n_headers == 0);
        for (int i = 0; i < e.n_smoke && i < (int) d->n_smoke; i++) {
                CHECK_STR(e.smoke[i].host, d->smoke[i].host);
                CHECK(e.smoke[i].n_headers == d->smoke[i].n_headers);
                for (size_t j = 0; j < e.smoke[i].n_headers && j < d->smoke[i].n_headers; j++)
                        CHECK_STR(e.smoke[i].headers[j], d->smoke[i].headers[j]);
        }
        app_env_done(&e);
}

/* The health gate reads its Host and headers from its environment; a line that is not one line is
 * refused, naming the variable. */
static void test_probe_headers_environ(void) {
        _cleanup_free_ char *host = NULL;
        char **headers = NULL;
        const char *bad = NULL;
        size_t n = 0;

        CHECK(setenv("BLUEGREEN_TEST_HOST", "api.example.com", 1) == 0);
        CHECK(setenv("BLUEGREEN_TEST_HEADER_COUNT", "2", 1) == 0);
        CHECK(setenv("BLUEGREEN_TEST_HEADER_0", probe_header_values[0], 1) == 0);
        CHECK(setenv("BLUEGREEN_TEST_HEADER_1", "X-Split: a\r\nX-Injected: 1", 1) == 0);
        CHECK(probe_headers_from_environ("BLUEGREEN_TEST", &host, &headers, &n, &bad) == -EINVAL);
        CHECK(bad && streq(bad, "BLUEGREEN_TEST_HEADER_1"));
        CHECK_STR(host, "api.example.com");
        CHECK(n == 2);
        for (size_t i = 0; i < n; i++)
                free(headers[i]);
        free(headers);
        host = mfree(host);

        CHECK(setenv("BLUEGREEN_TEST_HEADER_COUNT", "1", 1) == 0);
        CHECK(probe_headers_from_environ("BLUEGREEN_TEST", &host, &headers, &n, &bad) == 0);
        CHECK(n == 1);
        if (n == 1)
                CHECK_STR(headers[0], probe_header_values[0]);
        for (size_t i = 0; i < n; i++)
                free(headers[i]);
        free(headers);
}

/* text with its first "old" replaced by "new". */
static char *replaced(const char *text, const char *old, const char *new) {
        const char *at = text ? strstr(text, old) : NULL;
        char *r;

        CHECK(at != NULL);
        if (!at || asprintf(&r, "%.*s%s%s", (int) (at - text), text, new, at + strlen(old)) < 0)
                return NULL;
        return r;
}

/* What the generator wrote for golden case 114 (socket mode) reads back: the sockets, nginx's group,
 * the watch, and ports 0, which only socket mode accepts. */
static void test_app_env_socket(void) {
        _cleanup_free_ char *env = NULL, *text = NULL;
        struct app_env e = {};
        const char *bad = NULL;

        CHECK(asprintf(&env, "%.*s/../generator/114-socket-basic/expected/bluegreen/api/app.env",
                       (int) (strrchr(__FILE__, '/') - __FILE__), __FILE__) > 0);
        CHECK(app_env_from_file(env, &e, &bad) == 0);
        CHECK(e.switch_mode == SWITCH_SOCKET);
        CHECK_STR(e.socket[COLOR_BLUE], BLUEGREEN_RUN_ROOT "/api/blue/http.sock");
        CHECK_STR(e.socket[COLOR_GREEN], BLUEGREEN_RUN_ROOT "/api/green/http.sock");
        CHECK_STR(e.socket_live, BLUEGREEN_RUN_ROOT "/api/live.sock");
        CHECK_STR(e.nginx_group, "nginx");
        CHECK(e.port[COLOR_BLUE] == 0 && e.port[COLOR_GREEN] == 0 && e.port_live == 0);
        CHECK(e.watch_duration_s == 300 && e.watch_failures == 3 && e.watch_interval_ms == 100);
        app_env_done(&e);

        /* An app.env from before socket mode and the watch: no sockets, default group, no watch. */
        text = app_env_text(0);
        CHECK(load_env_text(text, &e, &bad) == 0);
        CHECK(e.switch_mode == SWITCH_RELOAD);
        CHECK_STR(e.socket[COLOR_BLUE], "");
        CHECK_STR(e.socket_live, "");
        CHECK_STR(e.nginx_group, "www-data");
        CHECK(e.watch_duration_s == 0 && e.watch_failures == 3 && e.watch_interval_ms == 100);
        app_env_done(&e);

        static const struct {
                const char *old, *new, *bad;
        } refused[] = {
                /* Port 0 only in socket mode; socket mode only with its sockets. */
                { "BLUEGREEN_PORT_GREEN=8202", "BLUEGREEN_PORT_GREEN=0", "BLUEGREEN_PORT_GREEN" },
                { "BLUEGREEN_NGINX_SWITCH=reload", "BLUEGREEN_NGINX_SWITCH=socket", "BLUEGREEN_NGINX_SWITCH" },
                { "BLUEGREEN_DRAIN_S=600", "BLUEGREEN_DRAIN_S=600\nBLUEGREEN_SOCKET_BLUE=\"run/x.sock\"",
                  "BLUEGREEN_SOCKET_BLUE" },
                { "BLUEGREEN_DRAIN_S=600",
                  "BLUEGREEN_DRAIN_S=600\nBLUEGREEN_SOCKET_LIVE=\"/run/bluegreen/"
                  "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx/live.sock\"",
                  "BLUEGREEN_SOCKET_LIVE" },
                { "BLUEGREEN_DRAIN_S=600", "BLUEGREEN_DRAIN_S=600\nBLUEGREEN_NGINX_GROUP=\"\"", "BLUEGREEN_NGINX_GROUP" },
                { "BLUEGREEN_DRAIN_S=600", "BLUEGREEN_DRAIN_S=600\nBLUEGREEN_WATCH_DURATION_S=86401",
                  "BLUEGREEN_WATCH_DURATION_S" },
                { "BLUEGREEN_DRAIN_S=600", "BLUEGREEN_DRAIN_S=600\nBLUEGREEN_WATCH_FAILURES=0", "BLUEGREEN_WATCH_FAILURES" },
                { "BLUEGREEN_DRAIN_S=600", "BLUEGREEN_DRAIN_S=600\nBLUEGREEN_WATCH_INTERVAL_MS=99",
                  "BLUEGREEN_WATCH_INTERVAL_MS" },
        };
        for (size_t i = 0; i < ELEMENTSOF(refused); i++) {
                _cleanup_free_ char *t = replaced(text, refused[i].old, refused[i].new);

                bad = NULL;
                CHECK(load_env_text(t, &e, &bad) == -EINVAL);
                CHECK_STR(bad, refused[i].bad);
                app_env_done(&e);
        }
}

int main(void) {
        test_quoting();
        test_template();
        test_names();
        test_atomic_write();
        test_decl_defaults();
        test_utf8();
        test_switch_default_rule();
        test_watch_interval_default();
        test_envfile_round_trip();
        test_app_env_limits();
        test_probe_headers_round_trip();
        test_probe_headers_golden();
        test_probe_headers_environ();
        test_app_env_socket();
        printf("%d checks, %d failed\n", checks, failures);
        return failures ? EXIT_FAILURE : EXIT_SUCCESS;
}
