/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Test driver for the include writer: write-include STYLE BIND PORT-BLUE PORT-GREEN COLOR INCLUDE.
 * BIND "unix:DIR" is the socket switch: the colors' sockets are DIR/COLOR/http.sock, the include
 * names DIR/live.sock, and the link is pointed at COLOR's socket (the ports are ignored).
 * $WRITE_INCLUDE_STATE_DIR, when set, is the app's state directory: its maintenance file is rendered. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "appenv.h"
#include "macro.h"
#include "nginx.h"
#include "socket-link.h"

static int socket_layout(struct app_env *e, const char *dir) {
        e->switch_mode = SWITCH_SOCKET;
        e->nginx_keepalive_time_s = 1;
        if (asprintf(&e->socket[COLOR_BLUE], "%s/blue/http.sock", dir) < 0 ||
            asprintf(&e->socket[COLOR_GREEN], "%s/green/http.sock", dir) < 0 ||
            asprintf(&e->socket_live, "%s/live.sock", dir) < 0)
                return -ENOMEM;
        return 0;
}

int main(int argc, char *argv[]) {
        _cleanup_free_ char *text = NULL, *reason = NULL;
        struct app_env e = {
                .app = (char *) "demo",
                .nginx_upstream = (char *) "demo_up",
                .nginx_keepalive = 16,
        };
        enum color c;
        int r = 0;

        if (argc != 7) {
                fprintf(stderr, "usage: write-include STYLE BIND PORT-BLUE PORT-GREEN COLOR INCLUDE\n");
                return 64;
        }
        e.nginx_style = streq(argv[1], "variable") ? NGINX_STYLE_VARIABLE : NGINX_STYLE_UPSTREAM;
        e.bind = argv[2];
        if (strncmp(argv[2], "unix:", 5) == 0)
                r = socket_layout(&e, argv[2] + 5);
        e.port[COLOR_BLUE] = atoi(argv[3]);
        e.port[COLOR_GREEN] = atoi(argv[4]);
        c = color_from_string(argv[5]);
        e.nginx_include = argv[6];
        e.state_dir = getenv("WRITE_INCLUDE_STATE_DIR");
        if (r >= 0)
                r = nginx_render_include(&e, c, "r-test", &text);
        if (r >= 0)
                r = nginx_write_include(&e, text);
        if (r >= 0 && e.switch_mode == SWITCH_SOCKET)
                r = socket_link_set(&e, c, &reason);
        if (r < 0)
                fprintf(stderr, "write-include: %s\n", reason ?: strerror(-r));
        free(e.socket[COLOR_BLUE]);
        free(e.socket[COLOR_GREEN]);
        free(e.socket_live);
        return r < 0 ? 1 : 0;
}
