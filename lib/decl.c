/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "decl.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <sys/un.h>
#include <stdint.h>
#include <libconfig.h>
#include <stdarg.h>
#include <string.h>
#include <strings.h>

#include "decl-include.h"
#include "diag.h"
#include "macro.h"

/* Everything a validation step needs to report a problem the way an admin wants to read it:
 * "FILE:LINE: KEY: message", with the file the setting was written in (it may be an @include'd file)
 * rather than the one we opened. */
struct ctx {
        const char *path;
        const struct source_map *map;
        struct diag *diag;
        bool oom;
        /* Why nginx.switch has the mode it has when it was not declared, for the messages that
         * follow from it; NULL when it was. */
        const char *switch_why;
};

/* A problem with a setting, reported where it was written. */
_printf_(4, 5) static void report(struct ctx *c, const config_setting_t *s, const char *key, const char *fmt, ...) {
        const char *file = c->path;
        unsigned line = 0;
        va_list ap;

        if (s)
                file = source_map_line(c->map, c->path, config_setting_source_line(s), &line);
        va_start(ap, fmt);
        if (diag_add_at_va(c->diag, file, line, key, fmt, ap) < 0)
                c->oom = true;
        va_end(ap);
}

static const char *type_name(int type) {
        switch (type) {
        case CONFIG_TYPE_INT:
        case CONFIG_TYPE_INT64:
                return "an integer";
        case CONFIG_TYPE_FLOAT:
                return "a number with a fraction";
        case CONFIG_TYPE_STRING:
                return "a string";
        case CONFIG_TYPE_BOOL:
                return "a boolean";
        case CONFIG_TYPE_ARRAY:
                return "an array [ ... ]";
        case CONFIG_TYPE_LIST:
                return "a list ( ... )";
        case CONFIG_TYPE_GROUP:
                return "a group { ... }";
        default:
                return "an unknown type";
        }
}

/* "health" + "timeout_ms" -> "health.timeout_ms", so every message names the key as the admin would
 * look for it in the file. */
static char *key_join(const char *prefix, const char *key) {
        char *r;

        if (isempty(prefix))
                return strdup(key);
        if (asprintf(&r, "%s.%s", prefix, key) < 0)
                return NULL;
        return r;
}

static size_t edit_distance(const char *a, const char *b) {
        size_t la = strlen(a), lb = strlen(b), prev[65], cur[65];

        if (la > 64 || lb > 64)
                return SIZE_MAX;
        for (size_t j = 0; j <= lb; j++)
                prev[j] = j;
        for (size_t i = 1; i <= la; i++) {
                cur[0] = i;
                for (size_t j = 1; j <= lb; j++) {
                        size_t sub = prev[j - 1] + (a[i - 1] != b[j - 1]);
                        size_t del = prev[j] + 1, ins = cur[j - 1] + 1;
                        cur[j] = sub < del ? (sub < ins ? sub : ins) : (del < ins ? del : ins);
                }
                memcpy(prev, cur, sizeof(size_t) * (lb + 1));
        }
        return prev[lb];
}

/* Unknown keys are errors, not warnings: a misspelt "heath" would otherwise silently deploy without the
 * health check the admin thinks they configured. */
static void check_keys(struct ctx *c, const config_setting_t *group, const char *prefix, const char *const *allowed) {
        int n = config_setting_length(group);

        for (int i = 0; i < n; i++) {
                const config_setting_t *s = config_setting_get_elem(group, (unsigned) i);
                const char *name = config_setting_name(s), *best = NULL;
                size_t best_d = 3;
                bool known = false;

                if (!name)
                        continue;
                for (const char *const *a = allowed; *a; a++) {
                        size_t d;

                        if (streq(*a, name)) {
                                known = true;
                                break;
                        }
                        d = edit_distance(*a, name);
                        if (d < best_d) {
                                best_d = d;
                                best = *a;
                        }
                }
                if (known)
                        continue;

                _cleanup_free_ char *k = key_join(prefix, name);
                if (best)
                        report(c, s, NULL, "unknown key \"%s\" (did you mean \"%s\"?)", k ?: name, best);
                else
                        report(c, s, NULL, "unknown key \"%s\"", k ?: name);
        }
}

static bool has_control_chars(const char *s) {
        for (; *s; s++)
                if ((unsigned char) *s < 0x20 || *s == 0x7f)
                        return true;
        return false;
}

/* The UTF-8 systemd accepts (utf8_is_valid()): shortest forms only, no UTF-16 surrogates, nothing
 * beyond U+10FFFF and no noncharacters. It ignores a unit setting or an environment file line that is
 * not, in an environment file silently: a health.body_contains would vanish, and the check with it. */
static bool utf8_is_valid(const char *s) {
        for (const unsigned char *p = (const unsigned char *) s; *p;) {
                size_t n = *p < 0x80 ? 1 : (*p & 0xe0) == 0xc0 ? 2 : (*p & 0xf0) == 0xe0 ? 3 : (*p & 0xf8) == 0xf0 ? 4 : 0;
                uint32_t ch;

                if (n == 0)
                        return false;
                ch = n == 1 ? *p : *p & (0x7f >> n);
                for (size_t i = 1; i < n; i++) {
                        if ((p[i] & 0xc0) != 0x80)
                                return false;
                        ch = (ch << 6) | (p[i] & 0x3f);
                }
                if ((n == 2 && ch < 0x80) || (n == 3 && ch < 0x800) || (n == 4 && ch < 0x10000) || ch >= 0x110000 ||
                    (ch & 0xfffff800) == 0xd800 || (ch >= 0xfdd0 && ch <= 0xfdef) || (ch & 0xfffe) == 0xfffe)
                        return false;
                p += n;
        }
        return true;
}

/* What every declared string must be before it is written into a unit or an environment file: one
 * line, text systemd takes, and short enough for the helpers to read back (see DECL_VALUE_MAX). */
static bool check_value(struct ctx *c, const config_setting_t *s, const char *key, const char *v) {
        if (has_control_chars(v)) {
                report(c, s, key, "must not contain control characters such as newlines or tabs");
                return false;
        }
        if (!utf8_is_valid(v)) {
                report(c, s, key, "is not valid UTF-8, which systemd would ignore");
                return false;
        }
        if (strlen(v) > DECL_VALUE_MAX) {
                report(c, s, key, "is longer than %d bytes", DECL_VALUE_MAX);
                return false;
        }
        return true;
}

/* exec and the hooks are written into ExecStart= after "bluegreen-exec --", where systemd's rules for
 * command lines apply (systemd.service(5), "COMMAND LINES"). Quoting, C escapes and $VAR are the
 * admin's to use; refused is what would make the unit mean something else than one command run by
 * bluegreen-exec: a final odd "\" joins the next line of the unit (ExecStartPost=, the health gate,
 * or TimeoutStartSec=) to the command, a ";" standing alone starts a second command outside
 * bluegreen-exec, and an unclosed quote makes systemd drop the whole line. */
static bool check_command_line(struct ctx *c, const config_setting_t *s, const char *key, const char *cmd) {
        size_t words = 0;

        for (const char *p = cmd;;) {
                char quote = 0;

                p += strspn(p, " \t");
                if (!*p)
                        break;
                if (p[0] == ';' && (!p[1] || strchr(" \t", p[1]))) {
                        report(c, s, key, "a \";\" standing alone would start a second command, outside bluegreen-exec; "
                                          "write \"\\;\" for a literal semicolon");
                        return false;
                }
                words++;
                for (; *p && (quote || !strchr(" \t", *p)); p++) {
                        if (*p == '\\') {
                                if (!p[1]) {
                                        report(c, s, key, "must not end in a single \"\\\": systemd would join the next line "
                                                          "of the unit to the command");
                                        return false;
                                }
                                p++;
                        } else if (quote && *p == quote)
                                quote = 0;
                        else if (!quote && (*p == '"' || *p == '\''))
                                quote = *p;
                }
                if (quote) {
                        report(c, s, key, "has a %c that is not closed, so systemd would ignore the command", quote);
                        return false;
                }
        }
        if (words == 0) {
                report(c, s, key, "must name a program to run");
                return false;
        }
        return true;
}

/* Returns the setting if present and of the wanted type; reports and returns NULL otherwise, setting
 * *bad so the caller can tell "absent" (use the default) from "wrong" (already reported). */
static config_setting_t *lookup_typed(struct ctx *c, const config_setting_t *parent, const char *key,
                                      const char *fullkey, int type, bool *bad) {
        config_setting_t *s = config_setting_get_member(parent, key);
        int t;

        *bad = false;
        if (!s)
                return NULL;
        t = config_setting_type(s);
        if (t == type || (type == CONFIG_TYPE_INT && t == CONFIG_TYPE_INT64))
                return s;
        /* A list of scalars and an array are the same thing to an admin. */
        if (type == CONFIG_TYPE_ARRAY && t == CONFIG_TYPE_LIST)
                return s;

        report(c, s, fullkey, "must be %s, not %s", type_name(type), type_name(t));
        *bad = true;
        return NULL;
}

/* Reads a string key. A required key that is absent is reported at the line of its group (or the file
 * for top-level keys). Returns false when the key was present but wrong, or required and missing. */
static bool get_string(struct ctx *c, const config_setting_t *parent, const char *prefix, const char *key,
                       bool required, const char *def, char **ret) {
        _cleanup_free_ char *fk = key_join(prefix, key);
        const char *fullkey = fk ?: key;
        config_setting_t *s;
        const char *v;
        bool bad;

        s = lookup_typed(c, parent, key, fullkey, CONFIG_TYPE_STRING, &bad);
        if (bad)
                return false;
        if (!s) {
                if (required) {
                        report(c, parent, NULL, "missing required key \"%s\"", fullkey);
                        return false;
                }
                if (def) {
                        *ret = strdup(def);
                        if (!*ret)
                                c->oom = true;
                }
                return true;
        }

        v = config_setting_get_string(s);
        if (!check_value(c, s, fullkey, v))
                return false;
        if (required && !*v) {
                report(c, s, fullkey, "must not be empty");
                return false;
        }
        free(*ret);
        *ret = strdup(v);
        if (!*ret)
                c->oom = true;
        return true;
}

static bool get_int(struct ctx *c, const config_setting_t *parent, const char *prefix, const char *key,
                    bool required, long long min, long long max, int def, int *ret) {
        _cleanup_free_ char *fk = key_join(prefix, key);
        const char *fullkey = fk ?: key;
        config_setting_t *s;
        long long v;
        bool bad;

        s = lookup_typed(c, parent, key, fullkey, CONFIG_TYPE_INT, &bad);
        if (bad)
                return false;
        if (!s) {
                if (required) {
                        report(c, parent, NULL, "missing required key \"%s\"", fullkey);
                        return false;
                }
                *ret = def;
                return true;
        }
        v = config_setting_get_int64(s);
        if (v < min || v > max) {
                report(c, s, fullkey, "must be from %lld to %lld, not %lld", min, max, v);
                return false;
        }
        *ret = (int) v;
        return true;
}

static config_setting_t *get_group(struct ctx *c, const config_setting_t *parent, const char *prefix, const char *key,
                                   bool *bad) {
        _cleanup_free_ char *fk = key_join(prefix, key);

        return lookup_typed(c, parent, key, fk ?: key, CONFIG_TYPE_GROUP, bad);
}

/* Characters that would need quoting somewhere a path ends up (unit files, env files, nginx): refusing
 * them is kinder than generating a unit that means something else. */
static bool path_chars_ok(const char *p) {
        for (; *p; p++)
                if (isspace((unsigned char) *p) || strchr("\"'\\;{}$`", *p))
                        return false;
        return true;
}

static bool path_components_ok(const char *p) {
        const char *s = p;

        while (*s) {
                size_t n;

                while (*s == '/')
                        s++;
                n = strcspn(s, "/");
                if ((n == 1 && s[0] == '.') || (n == 2 && s[0] == '.' && s[1] == '.'))
                        return false;
                s += n;
        }
        return true;
}

/* Absolute, normalised enough that prefix comparisons and unit settings mean what they say. Trailing
 * slashes are dropped rather than refused. */
static bool check_abs_path(struct ctx *c, const config_setting_t *s, const char *key, char *p, bool allow_dash) {
        const char *q = p;
        size_t n;

        if (allow_dash && *q == '-')
                q++;
        if (*q != '/') {
                report(c, s, key, "must be an absolute path, not \"%s\"", p);
                return false;
        }
        if (!path_chars_ok(q)) {
                report(c, s, key, "\"%s\" contains white space, a quote, a backslash or one of ;{}$`", p);
                return false;
        }
        if (strstr(q, "//") || !path_components_ok(q)) {
                report(c, s, key, "\"%s\" must be a normalised path (no \"//\", \".\" or \"..\" components)", p);
                return false;
        }
        n = strlen(p);
        while (n > 1 && p[n - 1] == '/')
                p[--n] = 0;
        if (streq(q, "/")) {
                report(c, s, key, "must not be the root directory");
                return false;
        }
        return true;
}

bool app_name_is_valid(const char *s) {
        size_t n = strlen(s);

        if (n < 1 || n > APP_NAME_MAX)
                return false;
        return strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-") == n;
}

/* The longest socket path a valid app name makes must fit a struct sockaddr_un (108 bytes with its
 * NUL), which bind(2), connect(2), nginx and curl's CURLOPT_UNIX_SOCKET_PATH all go through: then no
 * name needs refusing for it. Should APP_NAME_MAX grow past that, this stops the build. */
_Static_assert(sizeof(BLUEGREEN_RUN_ROOT "/") - 1 + APP_NAME_MAX + sizeof("/green/" BLUEGREEN_SOCKET_NAME) <=
                       sizeof(((struct sockaddr_un *) NULL)->sun_path),
               "every valid app name's socket path fits sun_path");

bool release_name_is_valid(const char *s) {
        size_t n = strlen(s);

        /* No leading "-" (an option to any tool it reaches) and no leading "." (".", "..", and hidden
         * entries such as the trigger file ".deploy" or ".git", which are not releases). */
        if (n < 1 || n > 128 || s[0] == '-' || s[0] == '.')
                return false;
        return strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-") == n;
}

static bool user_name_is_valid(const char *s) {
        size_t n = strlen(s);

        if (n < 1 || n > 31 || !(isalpha((unsigned char) s[0]) || s[0] == '_'))
                return false;
        return strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-") == n;
}

static bool env_name_is_valid(const char *s) {
        size_t n = strlen(s);

        if (n < 1 || n > 255 || isdigit((unsigned char) s[0]))
                return false;
        return strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_") == n;
}

static bool unit_name_is_valid_service(const char *s) {
        size_t n = strlen(s);

        if (n < 9 || n > 255 || strcmp(s + n - 8, ".service") != 0)
                return false;
        return strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789:_.@-\\") == n;
}

/* The signals that make sense as a polite stop request; SIGKILL is refused because it is what systemd
 * sends after the timeout anyway, and asking for it first defeats the graceful stop. */
static const char *const stop_signals[] = {
        "SIGTERM", "SIGINT", "SIGQUIT", "SIGHUP", "SIGUSR1", "SIGUSR2", "SIGWINCH", NULL,
};

static const char *canonical_signal(const char *s) {
        const char *bare = strncasecmp(s, "SIG", 3) == 0 ? s + 3 : s;

        for (const char *const *p = stop_signals; *p; p++)
                if (strcasecmp(*p + 3, bare) == 0)
                        return *p;
        return NULL;
}

const char *hardening_to_string(enum hardening h) {
        static const char *const t[] = {
                [HARDENING_STRICT] = "strict",
                [HARDENING_BASIC] = "basic",
                [HARDENING_OFF] = "off",
        };
        return t[h];
}

const char *nginx_style_to_string(enum nginx_style s) {
        return s == NGINX_STYLE_UPSTREAM ? "upstream" : "variable";
}

const char *switch_mode_to_string(enum switch_mode m) {
        static const char *const t[] = {
                [SWITCH_RELOAD] = "reload",
                [SWITCH_REDIRECT] = "redirect",
                [SWITCH_SOCKET] = "socket",
        };
        return t[m];
}

static void strv_free(char **l, size_t n) {
        for (size_t i = 0; i < n; i++)
                free(l[i]);
        free(l);
}

void http_check_done(struct http_check *h) {
        free(h->path);
        free(h->body_contains);
        free(h->host);
        strv_free(h->headers, h->n_headers);
}

void app_decl_free(struct app_decl *d) {
        free(d->name);
        free(d->source);
        free(d->releases);
        free(d->exec);
        free(d->workdir);
        free(d->user);
        free(d->group);
        free(d->bind);
        for (size_t i = 0; i < d->n_environment; i++) {
                free(d->environment[i].name);
                free(d->environment[i].value);
        }
        free(d->environment);
        strv_free(d->environment_files, d->n_environment_files);
        http_check_done(&d->health.http);
        free(d->health.command);
        for (size_t i = 0; i < d->n_smoke; i++)
                http_check_done(&d->smoke[i]);
        free(d->smoke);
        free(d->nginx.include);
        free(d->nginx.upstream);
        free(d->nginx.unit);
        free(d->nginx.test);
        free(d->nginx.group);
        free(d->nginx.switch_default_file);
        free(d->metrics.directory);
        free(d->stop.signal);
        free(d->hooks.pre_start);
        free(d->hooks.post_switch);
        strv_free(d->read_write_paths, d->n_read_write_paths);
        free(d->trigger);
        free(d->initial_release);
        free(d);
}

/* Each list has one bound, shared with the helpers that read it back (decl.h), so that nothing the
 * generator accepts makes every later deploy fail. */
static bool check_list_length(struct ctx *c, const config_setting_t *list, const char *key, int max, const char *what) {
        int n = config_setting_length(list);
        const config_setting_t *first_extra;
        char k[128];

        if (n <= max)
                return true;
        first_extra = config_setting_get_elem(list, (unsigned) max);
        if (config_setting_name(first_extra))
                snprintf(k, sizeof k, "%s.%s", key, config_setting_name(first_extra));
        else
                snprintf(k, sizeof k, "%s[%d]", key, max);
        report(c, first_extra, k, "%s may hold at most %d %s, not %d", key, max, what, n);
        return false;
}

static bool check_url_path(struct ctx *c, const config_setting_t *parent, const char *key, const char *p) {
        config_setting_t *s = config_setting_get_member(parent, strrchr(key, '.') ? strrchr(key, '.') + 1 : key);

        if (p[0] != '/' || strpbrk(p, " \"'\\#")) {
                report(c, s ?: parent, key, "must be a URL path starting with \"/\" without spaces, quotes or \"#\", not \"%s\"", p);
                return false;
        }
        return true;
}

typedef bool (*element_check)(struct ctx *c, const config_setting_t *s, const char *key, char *v, bool arg);

/* A list of at most max strings (what: "paths", "headers", for the message), each checked by check,
 * called with arg, after check_value(). key is the list's name in parent, fullkey as messages say it. */
static bool parse_strings(struct ctx *c, const config_setting_t *parent, const char *key, const char *fullkey, int max,
                          const char *what, element_check check, bool arg, char ***ret, size_t *n_ret) {
        config_setting_t *s;
        bool bad, ok = true;
        int n;

        s = lookup_typed(c, parent, key, fullkey, CONFIG_TYPE_ARRAY, &bad);
        if (!s)
                return !bad;
        if (!check_list_length(c, s, fullkey, max, what))
                return false;
        n = config_setting_length(s);
        *ret = calloc((size_t) n + 1, sizeof(char *));
        if (!*ret) {
                c->oom = true;
                return false;
        }
        for (int i = 0; i < n; i++) {
                config_setting_t *e = config_setting_get_elem(s, (unsigned) i);
                char k[128];

                snprintf(k, sizeof k, "%s[%d]", fullkey, i);
                if (config_setting_type(e) != CONFIG_TYPE_STRING) {
                        report(c, e, k, "must be a string, not %s", type_name(config_setting_type(e)));
                        ok = false;
                        continue;
                }
                (*ret)[*n_ret] = strdup(config_setting_get_string(e));
                if (!(*ret)[*n_ret]) {
                        c->oom = true;
                        return false;
                }
                if (!check_value(c, e, k, (*ret)[*n_ret]) || !check(c, e, k, (*ret)[*n_ret], arg))
                        ok = false;
                (*n_ret)++;
        }
        return ok;
}

static bool parse_string_list(struct ctx *c, const config_setting_t *parent, const char *key, int max, char ***ret,
                              size_t *n_ret, bool allow_dash) {
        return parse_strings(c, parent, key, key, max, "paths", check_abs_path, allow_dash, ret, n_ret);
}

/* What a Host header may say: a DNS name or an IPv4 address, or an IPv6 address in brackets, then an
 * optional port. Django's ALLOWED_HOSTS and Rails' config.hosts compare the Host with names of this
 * form (Django refuses anything else outright), so any other value could only hide a typo. */
static bool host_is_valid(const char *s) {
        const char *port;

        if (*s == '[') {
                const char *end = strchr(s, ']');
                unsigned char buf[sizeof(struct in6_addr)];
                char addr[INET6_ADDRSTRLEN];

                if (!end || (size_t) (end - s - 1) >= sizeof addr)
                        return false;
                memcpy(addr, s + 1, (size_t) (end - s - 1));
                addr[end - s - 1] = 0;
                if (inet_pton(AF_INET6, addr, buf) != 1)
                        return false;
                port = end + 1;
        } else {
                size_t n = strcspn(s, ":");

                if (n == 0 || n > 253)
                        return false;
                /* Labels of letters, digits and inner "-", 1 to 63 each, joined by single dots. */
                for (const char *l = s;;) {
                        size_t k = strspn(l, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-");

                        if (k == 0 || k > 63 || l[0] == '-' || l[k - 1] == '-')
                                return false;
                        l += k;
                        if (l == s + n)
                                break;
                        if (*l != '.')
                                return false;
                        l++;
                }
                port = s + n;
        }
        if (!*port)
                return true;
        if (*port != ':' || !port[1] || strspn(port + 1, "0123456789") != strlen(port + 1) || strlen(port + 1) > 5)
                return false;
        return atoi(port + 1) >= 1 && atoi(port + 1) <= 65535;
}

/* Headers a probe must not declare, and why. */
#define NO_BODY "a probe is a GET without a body: the app would wait for one, or misread the next request"
static const struct {
        const char *name, *why;
} probe_header_refused[] = {
        { "Host", "set it with \"host\", which is checked as a host[:port] and which smoke checks inherit" },
        { "Content-Length", NO_BODY },
        { "Transfer-Encoding", NO_BODY },
        { "Connection", "the probes of a color share one kept-alive connection, which this would change" },
};
#undef NO_BODY

/* "Name: value", as curl sends it: a token for a name (RFC 9110), and a value, which curl needs (it
 * takes "Name:" for "do not send Name"). check_value() has already refused CR, LF and the other
 * control characters that would let one line become two. */
static bool check_header(struct ctx *c, const config_setting_t *s, const char *key, char *v, _unused_ bool arg) {
        size_t n = strspn(v, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789!#$%&'*+-.^_`|~");

        if (n == 0 || v[n] != ':') {
                report(c, s, key,
                       "\"%s\" is not a header line \"Name: value\" "
                       "(a name of letters, digits and !#$%%&'*+-.^_`|~, then \":\")",
                       v);
                return false;
        }
        for (size_t i = 0; i < ELEMENTSOF(probe_header_refused); i++)
                if (strlen(probe_header_refused[i].name) == n && strncasecmp(v, probe_header_refused[i].name, n) == 0) {
                        report(c, s, key, "must not set %.*s: %s", (int) n, v, probe_header_refused[i].why);
                        return false;
                }
        if (!v[n + 1 + strspn(v + n + 1, " ")]) {
                report(c, s, key, "\"%s\" has no value: curl would send no %.*s header at all", v, (int) n, v);
                return false;
        }
        return true;
}

static bool copy_strv(struct ctx *c, char *const *l, size_t n, char ***ret, size_t *n_ret) {
        *ret = calloc(n + 1, sizeof(char *));
        if (!*ret) {
                c->oom = true;
                return false;
        }
        for (*n_ret = 0; *n_ret < n; (*n_ret)++)
                if (!((*ret)[*n_ret] = strdup(l[*n_ret]))) {
                        c->oom = true;
                        return false;
                }
        return true;
}

/* inherit: where host and headers come from when g does not declare them (health's, for a smoke
 * check), or NULL for their defaults. */
static bool parse_http_check(struct ctx *c, const config_setting_t *g, const char *prefix, bool path_required,
                             const struct http_check *inherit, struct http_check *h) {
        _cleanup_free_ char *pk = key_join(prefix, "path"), *hk = key_join(prefix, "host"),
                            *lk = key_join(prefix, "headers");
        config_setting_t *s;
        bool ok = true;

        if (!pk || !hk || !lk) {
                c->oom = true;
                return false;
        }
        ok &= get_string(c, g, prefix, "path", path_required, NULL, &h->path);
        if (h->path)
                ok &= check_url_path(c, g, pk, h->path);
        ok &= get_int(c, g, prefix, "expect_status", false, 100, 599, 200, &h->expect_status);
        ok &= get_string(c, g, prefix, "body_contains", false, "", &h->body_contains);

        /* An empty host is the default spelled out, so that config management can always write the key. */
        if (!get_string(c, g, prefix, "host", false, inherit ? inherit->host : "", &h->host))
                ok = false;
        else if (h->host && *h->host && (s = config_setting_get_member(g, "host")) && !host_is_valid(h->host)) {
                report(c, s, hk,
                       "\"%s\" is not a host[:port] such as \"api.example.com\", \"api.example.com:8443\" "
                       "or \"[::1]:8000\"",
                       h->host);
                ok = false;
        }
        if (config_setting_get_member(g, "headers"))
                ok &= parse_strings(c, g, "headers", lk, DECL_HEADERS_MAX, "headers", check_header, false, &h->headers,
                                    &h->n_headers);
        else if (inherit)
                ok &= copy_strv(c, inherit->headers, inherit->n_headers, &h->headers, &h->n_headers);
        return ok;
}

static bool parse_environment(struct ctx *c, const config_setting_t *root, struct app_decl *d) {
        config_setting_t *g;
        bool bad, ok = true;
        int n;

        g = get_group(c, root, NULL, "environment", &bad);
        if (!g)
                return !bad;
        if (!check_list_length(c, g, "environment", DECL_ENVIRONMENT_MAX, "variables"))
                return false;
        n = config_setting_length(g);
        d->environment = calloc((size_t) n + 1, sizeof(struct env_pair));
        if (!d->environment) {
                c->oom = true;
                return false;
        }
        for (int i = 0; i < n; i++) {
                config_setting_t *e = config_setting_get_elem(g, (unsigned) i);
                const char *name = config_setting_name(e), *v;
                _cleanup_free_ char *k = key_join("environment", name);

                if (!env_name_is_valid(name)) {
                        report(c, e, k, "\"%s\" is not a valid environment variable name", name);
                        ok = false;
                        continue;
                }
                if (streq(name, "PORT") || streq(name, "SOCKET") || streq(name, "MAINPID") ||
                    strncmp(name, "BLUEGREEN_", 10) == 0) {
                        report(c, e, k, "%s is set by bluegreen itself and cannot be declared", name);
                        ok = false;
                        continue;
                }
                if (config_setting_type(e) != CONFIG_TYPE_STRING) {
                        report(c, e, k, "must be a string (quote numbers: %s = \"...\"), not %s", name,
                               type_name(config_setting_type(e)));
                        ok = false;
                        continue;
                }
                v = config_setting_get_string(e);
                if (!check_value(c, e, k, v)) {
                        ok = false;
                        continue;
                }
                d->environment[d->n_environment].name = strdup(name);
                d->environment[d->n_environment].value = strdup(v);
                d->n_environment++;
                if (!d->environment[d->n_environment - 1].name || !d->environment[d->n_environment - 1].value) {
                        c->oom = true;
                        return false;
                }
        }
        return ok;
}

/* A key socket mode has no use for: it would only hide the mistake of a declaration that means to
 * use TCP. */
static bool refuse_in_socket_mode(struct ctx *c, const config_setting_t *root, const char *key, const char *what) {
        config_setting_t *s = config_setting_get_member(root, key);

        if (!s)
                return true;
        report(c, s, key,
               "must not be declared in socket mode (nginx.switch = \"socket\"%s%s): each color listens on its "
               "own unix socket, whose path the app gets in $SOCKET, so there is no %s; remove it",
               c->switch_why ? ", chosen because " : "", c->switch_why ?: "", what);
        return false;
}

static bool parse_ports(struct ctx *c, const config_setting_t *root, struct app_decl *d) {
        static const char *const keys[] = { "blue", "green", "live", NULL };
        config_setting_t *g;
        bool bad, ok = true;

        if (d->nginx.switch_mode == SWITCH_SOCKET)
                return refuse_in_socket_mode(c, root, "ports", "port to declare");
        g = get_group(c, root, NULL, "ports", &bad);
        if (!g) {
                if (!bad)
                        report(c, root, NULL, "missing required key \"ports\" (for example: ports = { blue = 9011; green = 9012; };)");
                return false;
        }
        check_keys(c, g, "ports", keys);
        ok &= get_int(c, g, "ports", "blue", true, 1, 65535, 0, &d->port_blue);
        ok &= get_int(c, g, "ports", "green", true, 1, 65535, 0, &d->port_green);
        ok &= get_int(c, g, "ports", "live", false, 1, 65535, 0, &d->port_live);
        if (ok && d->port_blue == d->port_green) {
                report(c, config_setting_get_member(g, "green"), "ports.green",
                       "%d is already the port of ports.blue: the two colors run side by side and need a port each",
                       d->port_green);
                ok = false;
        }
        if (ok && d->port_live && (d->port_live == d->port_blue || d->port_live == d->port_green)) {
                report(c, config_setting_get_member(g, "live"), "ports.live",
                       "%d is already the port of a color: nginx's stable port must be a third one", d->port_live);
                ok = false;
        }
        return ok;
}

static bool parse_health(struct ctx *c, const config_setting_t *root, struct app_decl *d) {
        static const char *const keys[] = { "path",       "command",     "expect_status", "body_contains", "host",
                                            "headers",    "timeout_ms",  "interval_ms",   "successes",     "deadline_s",
                                            NULL };
        config_setting_t *g;
        bool bad, ok = true;

        g = get_group(c, root, NULL, "health", &bad);
        if (bad)
                return false;
        if (!g) {
                /* No health group: every default applies, including the path. */
                d->health.http.path = strdup("/healthz");
                d->health.http.body_contains = strdup("");
                d->health.http.expect_status = 200;
                d->health.http.host = strdup("");
                d->health.timeout_ms = 500;
                d->health.interval_ms = 100;
                d->health.successes = 2;
                d->health.deadline_s = 60;
                if (!d->health.http.path || !d->health.http.body_contains || !d->health.http.host)
                        c->oom = true;
                return true;
        }

        check_keys(c, g, "health", keys);
        ok &= get_string(c, g, "health", "command", false, NULL, &d->health.command);
        if (d->health.command) {
                config_setting_t *cmd = config_setting_get_member(g, "command");

                if (!*d->health.command) {
                        report(c, cmd, "health.command", "must not be empty");
                        ok = false;
                }
                if (config_setting_get_member(g, "path")) {
                        report(c, cmd, "health.command",
                               "health.path and health.command exclude each other: probe over HTTP or run a command, not both");
                        ok = false;
                }
                for (const char *const *k = (const char *const[]) { "expect_status", "body_contains", "host", "headers",
                                                                    NULL };
                     *k; k++)
                        if (config_setting_get_member(g, *k)) {
                                report(c, config_setting_get_member(g, *k), NULL,
                                       "health.%s only applies to HTTP probes, not to health.command", *k);
                                ok = false;
                        }
        }
        ok &= parse_http_check(c, g, "health", false, NULL, &d->health.http);
        if (!d->health.command && !d->health.http.path) {
                d->health.http.path = strdup("/healthz");
                if (!d->health.http.path)
                        c->oom = true;
        }
        ok &= get_int(c, g, "health", "timeout_ms", false, 1, 600000, 500, &d->health.timeout_ms);
        ok &= get_int(c, g, "health", "interval_ms", false, 1, 600000, 100, &d->health.interval_ms);
        ok &= get_int(c, g, "health", "successes", false, 1, 1000, 2, &d->health.successes);
        ok &= get_int(c, g, "health", "deadline_s", false, 1, 86400, 60, &d->health.deadline_s);
        return ok;
}

static bool parse_smoke(struct ctx *c, const config_setting_t *root, struct app_decl *d) {
        static const char *const keys[] = { "path", "expect_status", "body_contains", "host", "headers", NULL };
        config_setting_t *l;
        bool bad, ok = true;
        int n;

        l = lookup_typed(c, root, "smoke", "smoke", CONFIG_TYPE_LIST, &bad);
        if (!l)
                return !bad;
        if (!check_list_length(c, l, "smoke", DECL_SMOKE_MAX, "checks"))
                return false;
        n = config_setting_length(l);
        d->smoke = calloc((size_t) n + 1, sizeof(struct http_check));
        if (!d->smoke) {
                c->oom = true;
                return false;
        }
        for (int i = 0; i < n; i++) {
                config_setting_t *g = config_setting_get_elem(l, (unsigned) i);
                char k[32];

                snprintf(k, sizeof k, "smoke[%d]", i);
                if (config_setting_type(g) != CONFIG_TYPE_GROUP) {
                        report(c, g, k, "must be a group { path = \"...\"; }, not %s", type_name(config_setting_type(g)));
                        ok = false;
                        continue;
                }
                check_keys(c, g, k, keys);
                /* Health's Host and headers are the app's way to be addressed, which its other paths
                 * share: a check that sets either key replaces what it inherits ("" or [ ] for none). */
                ok &= parse_http_check(c, g, k, true, &d->health.http, &d->smoke[d->n_smoke++]);
        }
        return ok;
}

/* Root writes the include at every switch and puts the old one back when nginx refuses it, so a slip
 * of the pen must not name a file of the system (/etc/passwd, /etc/nginx/nginx.conf): only a *.conf
 * file in a directory below NGINX_INCLUDE_ROOT, a tree root owns, which any nginx can include by its
 * absolute path. This is all that can be checked here, before the file systems are all there; the
 * helpers check at each write that no directory on the way is a symbolic link or another user's. */
static bool nginx_include_is_allowed(const char *p) {
        const char *rest = p + strlen(NGINX_INCLUDE_ROOT "/"), *base;
        size_t n;

        if (strncmp(p, NGINX_INCLUDE_ROOT "/", strlen(NGINX_INCLUDE_ROOT "/")) != 0)
                return false;
        base = strrchr(rest, '/');
        if (!base)
                return false;
        base++;
        n = strlen(base);
        return n > strlen(".conf") && streq(base + n - strlen(".conf"), ".conf");
}

static bool parse_nginx(struct ctx *c, const config_setting_t *root, struct app_decl *d) {
        static const char *const keys[] = { "include", "style",  "upstream",         "keepalive",
                                            "unit",    "test",   "keepalive_time_s", "switch", "group", NULL };
        _cleanup_free_ char *style = NULL, *def_upstream = NULL, *def_include = NULL;
        config_setting_t *g;
        bool bad, ok = true;

        g = get_group(c, root, NULL, "nginx", &bad);
        if (bad)
                return false;
        if (g)
                check_keys(c, g, "nginx", keys);

        /* Missing keys in an absent group take their defaults through the same code path. */
        const config_setting_t *src = g ?: root;
        const bool have = g != NULL;

        if (have)
                ok &= get_string(c, src, "nginx", "style", false, "upstream", &style);
        else
                style = strdup("upstream");
        if (!style) {
                c->oom = true;
                return false;
        }
        if (streq(style, "upstream"))
                d->nginx.style = NGINX_STYLE_UPSTREAM;
        else if (streq(style, "variable"))
                d->nginx.style = NGINX_STYLE_VARIABLE;
        else {
                report(c, config_setting_get_member(g, "style"), "nginx.style",
                       "must be \"upstream\" or \"variable\", not \"%s\"", style);
                ok = false;
        }

        def_upstream = strdup(d->name);
        if (!def_upstream) {
                c->oom = true;
                return false;
        }
        for (char *p = def_upstream; *p; p++)
                if (*p == '-')
                        *p = '_';
        /* An upstream block belongs in http context, which Debian's nginx.conf reads from conf.d; a "set"
         * line belongs inside the admin's server block, so it gets a directory nginx does not read by itself. */
        if (asprintf(&def_include, d->nginx.style == NGINX_STYLE_VARIABLE ? "/etc/nginx/bluegreen/%s.conf"
                                                                            : "/etc/nginx/conf.d/bluegreen-%s.conf",
                     d->name) < 0) {
                c->oom = true;
                return false;
        }

        if (have) {
                ok &= get_string(c, g, "nginx", "include", false, def_include, &d->nginx.include);
                ok &= get_string(c, g, "nginx", "upstream", false, def_upstream, &d->nginx.upstream);
                ok &= get_int(c, g, "nginx", "keepalive", false, 0, 65535, 32, &d->nginx.keepalive);
                ok &= get_string(c, g, "nginx", "unit", false, "nginx.service", &d->nginx.unit);
                ok &= get_string(c, g, "nginx", "test", false, "/usr/sbin/nginx -t -q", &d->nginx.test);
                ok &= get_int(c, g, "nginx", "keepalive_time_s", false, 1, 86400, 1, &d->nginx.keepalive_time_s);
                ok &= get_string(c, g, "nginx", "group", false, DECL_NGINX_GROUP_DEFAULT, &d->nginx.group);
        } else {
                d->nginx.include = TAKE_PTR(def_include);
                d->nginx.upstream = strdup(def_upstream);
                d->nginx.keepalive = 32;
                d->nginx.keepalive_time_s = 1;
                d->nginx.unit = strdup("nginx.service");
                d->nginx.test = strdup("/usr/sbin/nginx -t -q");
                d->nginx.group = strdup(DECL_NGINX_GROUP_DEFAULT);
        }
        if (!d->nginx.include || !d->nginx.upstream || !d->nginx.unit || !d->nginx.test || !d->nginx.group) {
                c->oom = true;
                return false;
        }
        if (have) {
                config_setting_t *s;

                if ((s = config_setting_get_member(g, "include"))) {
                        if (!check_abs_path(c, s, "nginx.include", d->nginx.include, false))
                                ok = false;
                        else if (!nginx_include_is_allowed(d->nginx.include)) {
                                report(c, s, "nginx.include",
                                       "\"%s\" must be a file named *.conf in a directory below " NGINX_INCLUDE_ROOT
                                       "/, such as " NGINX_INCLUDE_ROOT "/conf.d/bluegreen-%s.conf",
                                       d->nginx.include, d->name);
                                ok = false;
                        }
                }
                s = config_setting_get_member(g, "upstream");
                if (s && (!*d->nginx.upstream ||
                          strspn(d->nginx.upstream, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_") !=
                                  strlen(d->nginx.upstream))) {
                        report(c, s, "nginx.upstream", "\"%s\" may hold only letters, digits and \"_\"", d->nginx.upstream);
                        ok = false;
                }
                s = config_setting_get_member(g, "unit");
                if (s && !unit_name_is_valid_service(d->nginx.unit)) {
                        report(c, s, "nginx.unit", "\"%s\" is not a service unit name such as \"nginx.service\"", d->nginx.unit);
                        ok = false;
                }
                s = config_setting_get_member(g, "test");
                if (s && !*d->nginx.test) {
                        report(c, s, "nginx.test", "must not be empty: the include is always checked before nginx reloads");
                        ok = false;
                }
                s = config_setting_get_member(g, "group");
                if (s && !user_name_is_valid(d->nginx.group)) {
                        report(c, s, "nginx.group", "\"%s\" is not a valid group name", d->nginx.group);
                        ok = false;
                }
        }
        return ok;
}

/* exec names the socket as systemd substitutes a variable: "${SOCKET}" anywhere in a word, "$SOCKET"
 * as a word of its own ("$$" is a literal "$"). */
static bool exec_uses_socket(const char *exec) {
        for (const char *p = exec; (p = strchr(p, '$')); p++) {
                size_t n;

                if (p[1] == '$') {
                        p++;
                        continue;
                }
                if (strncmp(p, "${SOCKET}", strlen("${SOCKET}")) == 0)
                        return true;
                n = strlen("$SOCKET");
                if (strncmp(p, "$SOCKET", n) == 0 && (p == exec || strchr(" \t", p[-1])) && (!p[n] || strchr(" \t", p[n])))
                        return true;
        }
        return false;
}

/* nginx.switch, or when it is not declared the mode the rest of the declaration asks for: socket when
 * exec binds to $SOCKET, redirect when there is a ports.live to redirect, and reload otherwise, the one
 * mode that needs nothing of the app or the host but fails requests at every switch. Decided before
 * the ports and bind are read, which depend on it. */
static bool parse_switch_mode(struct ctx *c, const config_setting_t *root, struct app_decl *d) {
        config_setting_t *g = config_setting_get_member(root, "nginx"), *ports = config_setting_get_member(root, "ports"),
                         *s = NULL;
        bool uses_socket = d->exec && exec_uses_socket(d->exec);

        /* A wrong nginx or ports is parse_nginx()'s and parse_ports()'s to report. */
        if (g && config_setting_type(g) != CONFIG_TYPE_GROUP)
                g = NULL;
        if (ports && config_setting_type(ports) != CONFIG_TYPE_GROUP)
                ports = NULL;
        if (g)
                s = config_setting_get_member(g, "switch");

        if (s) {
                const char *mode = config_setting_type(s) == CONFIG_TYPE_STRING ? config_setting_get_string(s) : NULL;
                int i;

                for (i = 0; mode && i <= SWITCH_SOCKET; i++)
                        if (streq(mode, switch_mode_to_string((enum switch_mode) i)))
                                break;
                if (!mode || i > SWITCH_SOCKET) {
                        if (mode)
                                report(c, s, "nginx.switch", "must be \"reload\", \"redirect\" or \"socket\", not \"%s\"",
                                       mode);
                        else
                                report(c, s, "nginx.switch", "must be a string, not %s", type_name(config_setting_type(s)));
                        return false;
                }
                d->nginx.switch_mode = (enum switch_mode) i;
        } else if (uses_socket) {
                d->nginx.switch_mode = SWITCH_SOCKET;
                c->switch_why = "exec uses $SOCKET";
        } else if (ports && config_setting_get_member(ports, "live")) {
                d->nginx.switch_mode = SWITCH_REDIRECT;
                c->switch_why = "ports.live is declared";
        } else {
                config_setting_t *e = config_setting_get_member(root, "exec");
                const char *file = c->path;

                d->nginx.switch_mode = SWITCH_RELOAD;
                d->nginx.switch_defaulted = true;
                if (e)
                        file = source_map_line(c->map, c->path, config_setting_source_line(e), &d->nginx.switch_default_line);
                d->nginx.switch_default_file = strdup(file);
                if (!d->nginx.switch_default_file)
                        c->oom = true;
        }

        if (uses_socket && d->nginx.switch_mode != SWITCH_SOCKET) {
                report(c, config_setting_get_member(root, "exec"), "exec",
                       "uses $SOCKET, which is set only in socket mode, not with nginx.switch = \"%s\": bind the app "
                       "to its port, $PORT, or use nginx.switch = \"socket\"",
                       switch_mode_to_string(d->nginx.switch_mode));
                return false;
        }
        return true;
}

static bool parse_watch(struct ctx *c, const config_setting_t *root, struct app_decl *d) {
        static const char *const keys[] = { "duration_s", "failures", "interval_ms", NULL };
        int interval_default = watch_interval_default(d->health.interval_ms);
        config_setting_t *g;
        bool bad, ok = true;

        g = get_group(c, root, NULL, "watch", &bad);
        if (bad)
                return false;
        if (!g) {
                d->watch.duration_s = DECL_WATCH_DURATION_S_DEFAULT;
                d->watch.failures = DECL_WATCH_FAILURES_DEFAULT;
                d->watch.interval_ms = interval_default;
                return true;
        }
        check_keys(c, g, "watch", keys);
        ok &= get_int(c, g, "watch", "duration_s", false, 0, DECL_WATCH_DURATION_S_MAX, DECL_WATCH_DURATION_S_DEFAULT,
                      &d->watch.duration_s);
        ok &= get_int(c, g, "watch", "failures", false, 1, DECL_WATCH_FAILURES_MAX, DECL_WATCH_FAILURES_DEFAULT,
                      &d->watch.failures);
        ok &= get_int(c, g, "watch", "interval_ms", false, DECL_WATCH_INTERVAL_MS_MIN, DECL_WATCH_INTERVAL_MS_MAX,
                      interval_default, &d->watch.interval_ms);
        return ok;
}

/* metrics = { directory = "..."; }: an absolute path, or "" for no metrics at all. */
static bool parse_metrics(struct ctx *c, const config_setting_t *root, struct app_decl *d) {
        static const char *const keys[] = { "directory", NULL };
        config_setting_t *g;
        bool bad;

        g = get_group(c, root, NULL, "metrics", &bad);
        if (bad)
                return false;
        if (g)
                check_keys(c, g, "metrics", keys);
        if (!g || !config_setting_get_member(g, "directory")) {
                d->metrics.directory = strdup(DECL_METRICS_DIRECTORY_DEFAULT);
                if (!d->metrics.directory)
                        c->oom = true;
                return true;
        }
        if (!get_string(c, g, "metrics", "directory", false, NULL, &d->metrics.directory) || !d->metrics.directory)
                return false;
        return !*d->metrics.directory ||
               check_abs_path(c, config_setting_get_member(g, "directory"), "metrics.directory", d->metrics.directory,
                              false);
}

static bool parse_stop(struct ctx *c, const config_setting_t *root, struct app_decl *d) {
        static const char *const keys[] = { "signal", "timeout_s", NULL };
        _cleanup_free_ char *sig = NULL;
        config_setting_t *g;
        const char *canon;
        bool bad, ok = true;

        g = get_group(c, root, NULL, "stop", &bad);
        if (bad)
                return false;
        if (g) {
                check_keys(c, g, "stop", keys);
                ok &= get_string(c, g, "stop", "signal", false, "SIGTERM", &sig);
                ok &= get_int(c, g, "stop", "timeout_s", false, 1, 86400, 30, &d->stop.timeout_s);
        } else {
                sig = strdup("SIGTERM");
                d->stop.timeout_s = 30;
        }
        if (!sig) {
                if (ok)
                        c->oom = true;
                return false;
        }
        canon = canonical_signal(sig);
        if (!canon) {
                report(c, config_setting_get_member(g, "signal"), "stop.signal",
                       "\"%s\" is not a signal to stop with; use one of SIGTERM, SIGINT, SIGQUIT, SIGHUP, SIGUSR1, SIGUSR2, SIGWINCH",
                       sig);
                return false;
        }
        d->stop.signal = strdup(canon);
        if (!d->stop.signal)
                c->oom = true;
        return ok;
}

static bool parse_hooks(struct ctx *c, const config_setting_t *root, struct app_decl *d) {
        static const char *const keys[] = { "pre_start", "post_switch", NULL };
        config_setting_t *g;
        bool bad, ok = true;

        g = get_group(c, root, NULL, "hooks", &bad);
        if (!g)
                return !bad;
        check_keys(c, g, "hooks", keys);
        ok &= get_string(c, g, "hooks", "pre_start", false, NULL, &d->hooks.pre_start);
        ok &= get_string(c, g, "hooks", "post_switch", false, NULL, &d->hooks.post_switch);
        /* An empty hook means "none", so config management can always write the key. */
        if (d->hooks.pre_start && !*d->hooks.pre_start)
                d->hooks.pre_start = (free(d->hooks.pre_start), NULL);
        if (d->hooks.post_switch && !*d->hooks.post_switch)
                d->hooks.post_switch = (free(d->hooks.post_switch), NULL);
        if (d->hooks.pre_start)
                ok &= check_command_line(c, config_setting_get_member(g, "pre_start"), "hooks.pre_start", d->hooks.pre_start);
        if (d->hooks.post_switch)
                ok &= check_command_line(c, config_setting_get_member(g, "post_switch"), "hooks.post_switch",
                                         d->hooks.post_switch);
        return ok;
}

static bool parse_root(struct ctx *c, const config_setting_t *root, struct app_decl *d) {
        static const char *const keys[] = {
                "releases", "exec",   "workdir", "user",  "group", "ports",   "bind",      "environment",
                "environment_files", "health", "smoke", "nginx", "drain_s", "stop",  "hooks",
                "hardening", "read_write_paths", "trigger", "watch", "metrics", "initial_release", NULL,
        };
        _cleanup_free_ char *hardening = NULL;
        config_setting_t *s;
        bool ok = true;

        check_keys(c, root, NULL, keys);

        if (get_string(c, root, NULL, "releases", true, NULL, &d->releases) && d->releases)
                ok &= check_abs_path(c, config_setting_get_member(root, "releases"), "releases", d->releases, false);
        else
                ok = false;

        if (get_string(c, root, NULL, "exec", true, NULL, &d->exec) && d->exec)
                ok &= check_command_line(c, config_setting_get_member(root, "exec"), "exec", d->exec);
        else
                ok = false;

        if (get_string(c, root, NULL, "workdir", false, ".", &d->workdir) && d->workdir) {
                s = config_setting_get_member(root, "workdir");
                if (s && (d->workdir[0] == '/' || !*d->workdir || !path_chars_ok(d->workdir) ||
                          (strcmp(d->workdir, ".") != 0 && !path_components_ok(d->workdir)) || strstr(d->workdir, "//"))) {
                        report(c, s, "workdir",
                               "must be a relative path inside the release without \"..\", white space or quotes, not \"%s\"",
                               d->workdir);
                        ok = false;
                }
        } else
                ok = false;

        if (get_string(c, root, NULL, "user", false, NULL, &d->user) && d->user && !user_name_is_valid(d->user)) {
                report(c, config_setting_get_member(root, "user"), "user", "\"%s\" is not a valid user name", d->user);
                ok = false;
        }
        if (get_string(c, root, NULL, "group", false, NULL, &d->group) && d->group) {
                s = config_setting_get_member(root, "group");
                if (!user_name_is_valid(d->group)) {
                        report(c, s, "group", "\"%s\" is not a valid group name", d->group);
                        ok = false;
                } else if (!d->user) {
                        report(c, s, "group",
                               "needs \"user\" as well: without a user the app runs under a dynamic user with its own group");
                        ok = false;
                }
        }

        ok &= parse_switch_mode(c, root, d);
        ok &= parse_ports(c, root, d);

        if (d->nginx.switch_mode == SWITCH_SOCKET && !refuse_in_socket_mode(c, root, "bind", "address to bind"))
                ok = false;
        else if (get_string(c, root, NULL, "bind", false, "127.0.0.1", &d->bind) && d->bind) {
                unsigned char buf[sizeof(struct in6_addr)];

                int family = inet_pton(AF_INET, d->bind, buf) == 1    ? AF_INET
                             : inet_pton(AF_INET6, d->bind, buf) == 1 ? AF_INET6
                                                                      : AF_UNSPEC;
                char canon[INET6_ADDRSTRLEN];

                if (family == AF_UNSPEC) {
                        report(c, config_setting_get_member(root, "bind"), "bind",
                               "\"%s\" is not an IPv4 or IPv6 address", d->bind);
                        ok = false;
                } else if (inet_ntop(family, buf, canon, sizeof canon) && !streq(canon, d->bind)) {
                        /* One spelling per address ("::0" is "::"), so nginx, nftables and the health
                         * probe all see the address the same way. */
                        free(d->bind);
                        d->bind = strdup(canon);
                        if (!d->bind)
                                c->oom = true;
                }
        } else
                ok = false;

        ok &= parse_environment(c, root, d);
        ok &= parse_string_list(c, root, "environment_files", DECL_ENVIRONMENT_FILES_MAX, &d->environment_files, &d->n_environment_files, true);
        ok &= parse_health(c, root, d);
        ok &= parse_smoke(c, root, d);
        ok &= parse_watch(c, root, d);
        ok &= parse_nginx(c, root, d);
        /* The redirect switch needs nginx's stable port, and only it has a use for one. */
        if (ok && d->nginx.switch_mode == SWITCH_REDIRECT && !d->port_live) {
                config_setting_t *g = config_setting_get_member(root, "ports");

                report(c, g, "ports.live", "is required with nginx.switch = \"redirect\": the port nginx always "
                                           "connects to, redirected to the live color");
                ok = false;
        } else if (ok && d->nginx.switch_mode == SWITCH_RELOAD && d->port_live) {
                config_setting_t *g = config_setting_get_member(root, "ports");

                report(c, config_setting_get_member(g, "live"), "ports.live",
                       "only applies with nginx.switch = \"redirect\"");
                ok = false;
        }
        ok &= get_int(c, root, NULL, "drain_s", false, 0, 31536000, 600, &d->drain_s);
        ok &= parse_stop(c, root, d);
        ok &= parse_hooks(c, root, d);
        ok &= parse_metrics(c, root, d);

        if (get_string(c, root, NULL, "hardening", false, "strict", &hardening) && hardening) {
                if (streq(hardening, "strict"))
                        d->hardening = HARDENING_STRICT;
                else if (streq(hardening, "basic"))
                        d->hardening = HARDENING_BASIC;
                else if (streq(hardening, "off"))
                        d->hardening = HARDENING_OFF;
                else {
                        report(c, config_setting_get_member(root, "hardening"), "hardening",
                               "must be \"strict\", \"basic\" or \"off\", not \"%s\"", hardening);
                        ok = false;
                }
        } else
                ok = false;

        ok &= parse_string_list(c, root, "read_write_paths", DECL_READ_WRITE_PATHS_MAX, &d->read_write_paths, &d->n_read_write_paths, true);

        if (get_string(c, root, NULL, "trigger", false, NULL, &d->trigger) && d->trigger) {
                ok &= check_abs_path(c, config_setting_get_member(root, "trigger"), "trigger", d->trigger, false);
        } else if (d->releases && !d->trigger) {
                if (asprintf(&d->trigger, "%s/.deploy", d->releases) < 0) {
                        d->trigger = NULL;
                        c->oom = true;
                }
        }
        /* Named as a deploy names it, so that the boot's deploy cannot fail on the name. */
        if (!get_string(c, root, NULL, "initial_release", false, NULL, &d->initial_release))
                ok = false;
        else if (d->initial_release && !release_name_is_valid(d->initial_release)) {
                report(c, config_setting_get_member(root, "initial_release"), "initial_release",
                       "\"%s\" is not a valid release name: 1 to 128 letters, digits, \".\", \"_\" or \"-\", "
                       "not starting with \".\" or \"-\"",
                       d->initial_release);
                ok = false;
        }
        return ok;
}

int app_decl_load(const char *path, const char *name, struct app_decl **ret, struct diag *diag) {
        _cleanup_(app_decl_freep) struct app_decl *d = NULL;
        _cleanup_(source_map_done) struct source_map map = {};
        _cleanup_free_ char *text = NULL;
        struct ctx c = { .path = path, .map = &map, .diag = diag };
        config_t cfg;
        bool ok;
        int r;

        d = calloc(1, sizeof *d);
        if (!d)
                return -ENOMEM;
        d->name = strdup(name);
        d->source = strdup(path);
        if (!d->name || !d->source)
                return -ENOMEM;

        r = decl_include_expand(path, &map, diag, &text);
        if (r < 0)
                return r;

        config_init(&cfg);
        if (config_read_string(&cfg, text) != CONFIG_TRUE) {
                unsigned line;
                const char *file = source_map_line(&map, path, (unsigned) config_error_line(&cfg), &line);

                r = diag_add_at(diag, file, line, NULL, "%s", config_error_text(&cfg));
                config_destroy(&cfg);
                return r < 0 ? r : -EINVAL;
        }

        ok = parse_root(&c, config_root_setting(&cfg), d);
        config_destroy(&cfg);
        if (c.oom)
                return -ENOMEM;
        if (!ok || diag->n > 0)
                return -EINVAL;

        *ret = TAKE_PTR(d);
        return 0;
}
