/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Test driver for the redirect switch: nft-switch APP BIND LIVE-PORT BLUE-PORT GREEN-PORT COLOR */
#include <stdio.h>
#include <stdlib.h>

#include "appenv.h"
#include "macro.h"
#include "nft.h"

int main(int argc, char *argv[]) {
        _cleanup_free_ char *reason = NULL;
        struct app_env e = { .switch_mode = SWITCH_REDIRECT };
        int to = 0;

        if (argc != 7) {
                fprintf(stderr, "usage: nft-switch APP BIND LIVE-PORT BLUE-PORT GREEN-PORT COLOR\n");
                return 64;
        }
        e.app = argv[1];
        e.bind = argv[2];
        e.port_live = atoi(argv[3]);
        e.port[COLOR_BLUE] = atoi(argv[4]);
        e.port[COLOR_GREEN] = atoi(argv[5]);
        if (nft_redirect_set(&e, color_from_string(argv[6]), &reason) < 0) {
                fprintf(stderr, "nft-switch: %s\n", reason ?: "failed");
                return 1;
        }
        if (nft_redirect_get(&e, &to) < 0 || to != e.port[color_from_string(argv[6])]) {
                fprintf(stderr, "nft-switch: the rule reads back as port %d\n", to);
                return 1;
        }
        return 0;
}
