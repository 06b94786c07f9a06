/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "nft.h"

#include <errno.h>
#include <nftables/libnftables.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fileio.h"
#include "macro.h"

static void nft_ctx_freep(struct nft_ctx **c) {
        if (*c)
                nft_ctx_free(*c);
}

/* One line of nft's error output, for a reason line. */
static char *first_line(const char *s) {
        size_t n = s ? strcspn(s, "\n") : 0;

        return strndup(s ?: "", n);
}

static int run(const char *cmd, char **ret_out, char **ret_err) {
        _cleanup_(nft_ctx_freep) struct nft_ctx *nft = NULL;
        int r;

        nft = nft_ctx_new(NFT_CTX_DEFAULT);
        if (!nft)
                return -ENOMEM;
        if (nft_ctx_buffer_output(nft) < 0 || nft_ctx_buffer_error(nft) < 0)
                return -ENOMEM;
        r = nft_run_cmd_from_buffer(nft, cmd);
        if (ret_out)
                *ret_out = strdup(nft_ctx_get_output_buffer(nft) ?: "");
        if (ret_err)
                *ret_err = first_line(nft_ctx_get_error_buffer(nft));
        return r == 0 ? 0 : -EIO;
}

/* The batch that sets the rule, which is also the content of the rule file. "add" of a table or chain
 * that exists is no error, so one batch both creates (first switch, boot, a freshly flushed ruleset)
 * and replaces; nftables applies a batch as one transaction. */
static int render_rule(const struct app_env *e, enum color c, char **ret) {
        _cleanup_free_ char *match = NULL;
        bool v6 = strchr(e->bind, ':');
        int r;

        /* Only connections to the app's own address and stable port; a wildcard bind means any local
         * address. */
        if (streq(e->bind, "0.0.0.0") || streq(e->bind, "::"))
                r = asprintf(&match, "fib daddr type local");
        else
                r = asprintf(&match, "%s daddr %s", v6 ? "ip6" : "ip", e->bind);
        if (r < 0)
                return -ENOMEM;
        r = asprintf(ret,
                     "# The redirect rule of %s, written by bluegreen at every switch; see bluegreen-boot(8).\n"
                     "add table inet bluegreen-%s\n"
                     "add chain inet bluegreen-%s output { type nat hook output priority -100; }\n"
                     "flush chain inet bluegreen-%s output\n"
                     "add rule inet bluegreen-%s output %s tcp dport %d redirect to :%d comment \"%s\"\n",
                     e->app, e->app, e->app, e->app, e->app, match, e->port_live, e->port[c], color_to_string(c));
        return r < 0 ? -ENOMEM : 0;
}

static int rule_file(const struct app_env *e, char **ret_dir, char **ret_path) {
        const char *root = getenv("BLUEGREEN_NFT_RULE_DIR") ?: "/run/bluegreen";

        if (asprintf(ret_dir, "%s/%s", root, e->app) < 0)
                return -ENOMEM;
        if (asprintf(ret_path, "%s/redirect.nft", *ret_dir) < 0) {
                *ret_dir = mfree(*ret_dir);
                return -ENOMEM;
        }
        return 0;
}

static int save_rule(const struct app_env *e, const char *rule, char **ret_reason) {
        _cleanup_free_ char *dir = NULL, *path = NULL;
        int r;

        r = rule_file(e, &dir, &path);
        if (r < 0)
                return r;
        r = mkdir_p(dir, 0755);
        if (r >= 0)
                r = write_file_atomic(path, rule, strlen(rule), 0644, 0);
        if (r < 0)
                (void) asprintf(ret_reason, "the redirect rule is set, but its copy %s cannot be written: %s", path,
                                strerror(-r));
        return r;
}

int nft_redirect_set(const struct app_env *e, enum color c, char **ret_reason) {
        _cleanup_free_ char *rule = NULL, *err = NULL;
        int r;

        *ret_reason = NULL;
        r = render_rule(e, c, &rule);
        if (r < 0)
                return r;
        r = run(rule, NULL, &err);
        if (r < 0) {
                (void) asprintf(ret_reason, "nftables refused the redirect of port %d to the %s color: %s", e->port_live,
                                color_to_string(c), isempty(err) ? "no reason given" : err);
                return r;
        }
        /* After the rule, not before: the file must never name a rule nftables refused. */
        return save_rule(e, rule, ret_reason);
}

static int redirect_port(const char *text, int *ret_port) {
        const char *p = text ? strstr(text, "redirect to :") : NULL;

        if (!p)
                return -ENOENT;
        *ret_port = atoi(p + strlen("redirect to :"));
        return 0;
}

int nft_redirect_get(const struct app_env *e, int *ret_port) {
        _cleanup_free_ char *cmd = NULL, *out = NULL;

        /* Reading the ruleset needs CAP_NET_ADMIN; say so instead of "no rule". */
        if (geteuid() != 0)
                return -EPERM;
        if (asprintf(&cmd, "list chain inet bluegreen-%s output", e->app) < 0)
                return -ENOMEM;
        if (run(cmd, &out, NULL) < 0)
                return -ENOENT;
        return redirect_port(out, ret_port);
}

int nft_redirect_saved(const struct app_env *e, int *ret_port) {
        _cleanup_free_ char *dir = NULL, *path = NULL, *text = NULL;
        int r;

        r = rule_file(e, &dir, &path);
        if (r < 0)
                return r;
        r = read_file(path, 4096, &text, NULL);
        if (r < 0)
                return r;
        return redirect_port(text, ret_port);
}
