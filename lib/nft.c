/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "nft.h"

#include <errno.h>
#include <nftables/libnftables.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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

int nft_redirect_set(const struct app_env *e, enum color c, char **ret_reason) {
        _cleanup_free_ char *cmd = NULL, *err = NULL, *match = NULL;
        bool v6 = strchr(e->bind, ':');
        int r;

        *ret_reason = NULL;
        /* Only connections to the app's own address and stable port; a wildcard bind means any local
         * address. */
        if (streq(e->bind, "0.0.0.0") || streq(e->bind, "::"))
                r = asprintf(&match, "fib daddr type local");
        else
                r = asprintf(&match, "%s daddr %s", v6 ? "ip6" : "ip", e->bind);
        if (r < 0)
                return -ENOMEM;

        /* "add" of a table or chain that exists is no error, so one batch both creates (first switch,
         * boot) and replaces; nftables applies a batch as one transaction. */
        r = asprintf(&cmd,
                     "add table inet bluegreen-%s\n"
                     "add chain inet bluegreen-%s output { type nat hook output priority -100; }\n"
                     "flush chain inet bluegreen-%s output\n"
                     "add rule inet bluegreen-%s output %s tcp dport %d redirect to :%d comment \"%s\"\n",
                     e->app, e->app, e->app, e->app, match, e->port_live, e->port[c], color_to_string(c));
        if (r < 0)
                return -ENOMEM;
        r = run(cmd, NULL, &err);
        if (r < 0) {
                (void) asprintf(ret_reason, "nftables refused the redirect of port %d to the %s color: %s", e->port_live,
                                color_to_string(c), isempty(err) ? "no reason given" : err);
                return r;
        }
        return 0;
}

int nft_redirect_get(const struct app_env *e, int *ret_port) {
        _cleanup_free_ char *cmd = NULL, *out = NULL;
        const char *p;

        /* Reading the ruleset needs CAP_NET_ADMIN; say so instead of "no rule". */
        if (geteuid() != 0)
                return -EPERM;
        if (asprintf(&cmd, "list chain inet bluegreen-%s output", e->app) < 0)
                return -ENOMEM;
        if (run(cmd, &out, NULL) < 0)
                return -ENOENT;
        p = out ? strstr(out, "redirect to :") : NULL;
        if (!p)
                return -ENOENT;
        *ret_port = atoi(p + strlen("redirect to :"));
        return 0;
}
