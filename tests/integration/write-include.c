/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Test driver for the include writer: write-include STYLE BIND PORT-BLUE PORT-GREEN COLOR INCLUDE */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "appenv.h"
#include "macro.h"
#include "nginx.h"

int main(int argc, char *argv[]) {
        _cleanup_free_ char *text = NULL;
        struct app_env e = {
                .app = (char *) "demo",
                .nginx_upstream = (char *) "demo_up",
                .nginx_keepalive = 16,
        };
        enum color c;
        int r;

        if (argc != 7) {
                fprintf(stderr, "usage: write-include STYLE BIND PORT-BLUE PORT-GREEN COLOR INCLUDE\n");
                return 64;
        }
        e.nginx_style = streq(argv[1], "variable") ? NGINX_STYLE_VARIABLE : NGINX_STYLE_UPSTREAM;
        e.bind = argv[2];
        e.port[COLOR_BLUE] = atoi(argv[3]);
        e.port[COLOR_GREEN] = atoi(argv[4]);
        c = color_from_string(argv[5]);
        e.nginx_include = argv[6];
        r = nginx_render_include(&e, c, "r-test", &text);
        if (r >= 0)
                r = nginx_write_include(&e, text);
        if (r < 0) {
                fprintf(stderr, "write-include: %s\n", strerror(-r));
                return 1;
        }
        return 0;
}
