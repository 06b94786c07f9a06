/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "switch.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bus.h"
#include "crash-point.h"
#include "fileio.h"
#include "interrupt.h"
#include "macro.h"
#include "nft.h"
#include "nginx.h"
#include "socket-link.h"
#include "unit-name.h"

#define INTENT_MAX 16384
#define STOP_TIMEOUT_USEC (600ULL * 1000000)
#define PENDING_GRACE_MS 2000

static const char *const phase_names[_SWITCH_PHASE_MAX] = {
        [SWITCH_PREPARED] = "prepared",
        [SWITCH_TOUCHED] = "touched",
        [SWITCH_ROUTING] = "routing",
};

const char *switch_phase_to_string(enum switch_phase p) {
        return p >= 0 && p < _SWITCH_PHASE_MAX ? phase_names[p] : "?";
}

static char *intent_path(const char *state_dir) {
        char *p;

        return asprintf(&p, "%s/intent", state_dir) < 0 ? NULL : p;
}

static const char *release_of(const char *pin) {
        const char *slash = pin ? strrchr(pin, '/') : NULL;

        return slash ? slash + 1 : pin;
}

static const char *color_or_none(enum color c) {
        return c == _COLOR_INVALID ? "none" : color_to_string(c);
}

static int intent_write(const char *state_dir, const struct switch_intent *i) {
        _cleanup_free_ char *p = intent_path(state_dir), *text = NULL;
        int n;

        if (!p)
                return -ENOMEM;
        n = asprintf(&text,
                     "# A deploy or rollback in progress, or one that died: the next bluegreen program that runs\n"
                     "# for this app finishes or undoes it (see bluegreen-deploy(8)). Do not edit.\n"
                     "id=%s\nevent=%s\nfrom=%s\nto=%s\nrelease=%s\npin.blue=%s\npin.green=%s\nto_was_active=%d\nphase=%s\n",
                     i->id, i->event, color_or_none(i->from), color_to_string(i->to), i->release, i->pin[COLOR_BLUE] ?: "",
                     i->pin[COLOR_GREEN] ?: "", i->to_was_active, switch_phase_to_string(i->phase));
        if (n < 0)
                return -ENOMEM;
        return write_file_atomic(p, text, (size_t) n, 0644, WRITE_SYNC);
}

int switch_begin(const char *state_dir, struct switch_intent *i) {
        struct timespec ts;

        clock_gettime(CLOCK_REALTIME, &ts);
        snprintf(i->id, sizeof i->id, "%lld.%ld", (long long) ts.tv_sec * 1000000 + ts.tv_nsec / 1000, (long) getpid());
        i->phase = SWITCH_PREPARED;
        return intent_write(state_dir, i);
}

int switch_mark(const char *state_dir, struct switch_intent *i, enum switch_phase p) {
        i->phase = p;
        return intent_write(state_dir, i);
}

static int intent_end(const char *state_dir) {
        _cleanup_free_ char *p = intent_path(state_dir);

        if (!p)
                return -ENOMEM;
        if (unlink(p) < 0 && errno != ENOENT)
                return negative_errno();
        return fsync_parent_dir(p);
}

void switch_intent_done(struct switch_intent *i) {
        free(i->release);
        free(i->pin[0]);
        free(i->pin[1]);
        memset(i, 0, sizeof *i);
}

static int intent_field(struct switch_intent *i, const char *key, const char *value) {
        if (streq(key, "id"))
                snprintf(i->id, sizeof i->id, "%s", value);
        else if (streq(key, "event")) {
                if (!streq(value, "deploy") && !streq(value, "rollback"))
                        return -EBADMSG;
                snprintf(i->event, sizeof i->event, "%s", value);
        } else if (streq(key, "from"))
                i->from = streq(value, "none") ? _COLOR_INVALID : color_from_string(value);
        else if (streq(key, "to")) {
                i->to = color_from_string(value);
                if (i->to == _COLOR_INVALID)
                        return -EBADMSG;
        } else if (streq(key, "release")) {
                if (!(i->release = strdup(value)))
                        return -ENOMEM;
        } else if (streq(key, "pin.blue") || streq(key, "pin.green")) {
                enum color c = streq(key, "pin.blue") ? COLOR_BLUE : COLOR_GREEN;

                if (*value && !(i->pin[c] = strdup(value)))
                        return -ENOMEM;
        } else if (streq(key, "to_was_active"))
                i->to_was_active = streq(value, "1");
        else if (streq(key, "phase")) {
                i->phase = _SWITCH_PHASE_MAX;
                for (int p = 0; p < _SWITCH_PHASE_MAX; p++)
                        if (streq(value, phase_names[p]))
                                i->phase = p;
                if (i->phase == _SWITCH_PHASE_MAX)
                        return -EBADMSG;
        }
        return 0;
}

int switch_intent_load(const char *state_dir, struct switch_intent *ret) {
        _cleanup_free_ char *p = intent_path(state_dir), *text = NULL;
        struct switch_intent i = { .from = _COLOR_INVALID, .to = _COLOR_INVALID, .phase = _SWITCH_PHASE_MAX };
        char *line, *save = NULL;
        int r;

        if (!p)
                return -ENOMEM;
        r = read_regular_file_nofollow(p, INTENT_MAX, &text, NULL);
        if (r < 0)
                return r;
        for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
                char *eq = strchr(line, '=');

                if (line[0] == '#' || !eq)
                        continue;
                *eq = 0;
                r = intent_field(&i, line, eq + 1);
                if (r < 0) {
                        switch_intent_done(&i);
                        return r;
                }
        }
        /* write_file_atomic() renames a whole file into place: a partial record is a foreign one. */
        if (!*i.id || !*i.event || i.to == _COLOR_INVALID || !i.release || i.phase == _SWITCH_PHASE_MAX || i.from == i.to) {
                switch_intent_done(&i);
                return -EBADMSG;
        }
        i.from_disk = true;
        *ret = i;
        return 0;
}

int route_get(sd_bus *bus, const struct app_env *e, enum color *ret_color, bool *ret_pending) {
        int port = 0, r;

        *ret_color = _COLOR_INVALID;
        *ret_pending = false;
        if (e->switch_mode == SWITCH_SOCKET) {
                r = socket_link_get(e, ret_color);
                return r == -ENOENT ? 0 : r;
        }
        if (e->switch_mode == SWITCH_REDIRECT) {
                r = nft_redirect_get(e, &port);
                if (r == -ENOENT)
                        return 0;
        } else {
                _cleanup_free_ char *content = NULL;

                r = nginx_read_include(e, &content);
                if (r == -ENOENT)
                        return 0;
                /* In maintenance nginx answers by itself: the route leads to neither color. */
                if (r >= 0 && nginx_include_is_maintenance(content)) {
                        *ret_pending = nginx_include_loaded(bus, e) == 0;
                        return 0;
                }
                if (r >= 0)
                        r = nginx_include_port(content, &port);
                if (r >= 0)
                        *ret_pending = nginx_include_loaded(bus, e) == 0;
        }
        if (r < 0)
                return r;
        for (int c = 0; c < 2; c++)
                if (port == e->port[c])
                        *ret_color = c;
        return 0;
}

/* What the route is, for messages. */
static const char *route_name(const struct app_env *e) {
        switch (e->switch_mode) {
        case SWITCH_REDIRECT:
                return "the redirect rule";
        case SWITCH_SOCKET:
                return e->socket_live;
        default:
                return e->nginx_include;
        }
}

/* The include as it must be; with ROUTE_NGINX_MAY_BE_DOWN one that is right and loaded is left alone. */
static int ensure_include(sd_bus *bus, const struct app_env *e, enum color c, const char *release, int flags,
                          struct timeline *tl, char **ret_reason) {
        _cleanup_free_ char *include = NULL, *on_disk = NULL;
        int r;

        r = nginx_render_include(e, c, release, &include);
        if (r < 0)
                return r;
        r = nginx_prepare_include(e, include);
        if (r < 0)
                return asprintf(ret_reason, "cannot prepare the maintenance socket of %s: %s", e->app,
                                strerror(-r)),
                       r;
        if (flags & ROUTE_NGINX_MAY_BE_DOWN) {
                r = nginx_read_include(e, &on_disk);
                if (r >= 0 && streq(on_disk, include) && nginx_include_loaded(bus, e) != 0)
                        return 0;
                /* A first start: nginx cannot be using an include that was never there, and the site
                 * that will use it may not be in place yet, so nginx is neither tested nor reloaded. */
                if (r == -ENOENT) {
                        r = nginx_write_include(e, include);
                        if (r < 0)
                                (void) asprintf(ret_reason, "cannot write %s: %s", e->nginx_include, strerror(-r));
                        return r;
                }
        }
        r = nginx_switch(bus, e, include, !(flags & ROUTE_NO_JOBS), tl, ret_reason);
        if (r == -ENOTCONN && (flags & ROUTE_NGINX_MAY_BE_DOWN)) {
                /* nginx reads it when it starts. */
                *ret_reason = mfree(*ret_reason);
                r = nginx_write_include(e, include);
                if (r < 0)
                        (void) asprintf(ret_reason, "cannot write %s: %s", e->nginx_include, strerror(-r));
        }
        return r;
}

/* Where the stable address leads: the live link, or the redirect rule. */
static int set_behind_stable(const struct app_env *e, enum color c, struct timeline *tl, char **ret_reason) {
        int r;

        if (e->switch_mode == SWITCH_SOCKET) {
                /* Nothing deployed (a first deploy undone): no link, so nginx finds no socket rather than
                 * the one of a color about to be stopped. */
                if (c == _COLOR_INVALID) {
                        r = socket_link_remove(e);
                        if (r < 0)
                                (void) asprintf(ret_reason, "cannot remove %s: %s", e->socket_live, strerror(-r));
                        return r;
                }
                r = socket_link_set(e, c, ret_reason);
                timeline_step(tl, "link");
                return r;
        }
        if (c == _COLOR_INVALID)
                return 0;
        r = nft_redirect_set(e, c, ret_reason);
        timeline_step(tl, "redirect");
        return r;
}

/* A color that ran before the app was switched to socket mode (daemon-reload) listens on its port, not
 * on its socket: pointing nginx at the link would send every request into the void. Its next deploy
 * moves it (the new color starts on its socket, and the switch rewrites the include). */
static int check_listens_on_socket(sd_bus *bus, const struct app_env *e, enum color c, char **ret_reason) {
        _cleanup_free_ char *state = NULL;

        if (c == _COLOR_INVALID || access(e->socket[c], F_OK) >= 0 ||
            bus_unit_get_string(bus, unit_name(e->app, "@", color_to_string(c), "service"),
                                "org.freedesktop.systemd1.Unit", "ActiveState", &state) < 0 ||
            !streq(state, "active"))
                return 0;
        return asprintf(ret_reason,
                        "the live %s color runs but has no socket at %s: it was started before %s went to "
                        "socket mode, so nginx is left as it is; deploy a release to move the app to its "
                        "socket (its switch points nginx at %s)",
                        color_to_string(c), e->socket[c], e->app, e->socket_live),
               -ENXIO;
}

/* The switches that never reload nginx: it connects to one stable address (the stable port, the live
 * link) whatever the color, and only what lies behind it moves. At boot (ROUTE_NGINX_MAY_BE_DOWN) the
 * include is put right for nginx's start first. On a switch the include is rewritten (tested, nginx
 * reloaded) only when it does not name that address yet: the first switch after the app changed its
 * mode, whose new color already listens the new way; the link or rule is set before, so that nginx,
 * once reloaded, finds the new color behind it. */
static int route_set_stable(sd_bus *bus, const struct app_env *e, enum color c, int flags, struct timeline *tl,
                            char **ret_reason) {
        _cleanup_free_ char *include = NULL, *on_disk = NULL;
        int r;

        if (flags & ROUTE_NGINX_MAY_BE_DOWN) {
                if (e->switch_mode == SWITCH_SOCKET) {
                        r = check_listens_on_socket(bus, e, c, ret_reason);
                        if (r < 0)
                                return r;
                }
                r = ensure_include(bus, e, COLOR_BLUE, NULL, flags, tl, ret_reason);
                if (r < 0)
                        return r;
                return set_behind_stable(e, c, tl, ret_reason);
        }
        r = set_behind_stable(e, c, tl, ret_reason);
        if (r < 0)
                return r;
        r = nginx_render_include(e, COLOR_BLUE, NULL, &include);
        if (r < 0)
                return r;
        if (nginx_read_include(e, &on_disk) >= 0 && streq(on_disk, include))
                return 0;
        return nginx_switch(bus, e, include, !(flags & ROUTE_NO_JOBS), tl, ret_reason);
}

int route_set(sd_bus *bus, const struct app_env *e, enum color c, const char *release, int flags,
              struct timeline *tl, char **ret_reason) {
        *ret_reason = NULL;
        if (e->switch_mode == SWITCH_RELOAD)
                /* Nothing deployed yet: a placeholder on the blue port, so that nginx starts. */
                return ensure_include(bus, e, c == _COLOR_INVALID ? COLOR_BLUE : c, release, flags, tl, ret_reason);
        return route_set_stable(bus, e, c, flags, tl, ret_reason);
}

int route_guard_stop(sd_bus *bus, const struct app_env *e, enum color c, char **ret_reason) {
        enum color routed;
        bool pending;
        int r;

        *ret_reason = NULL;
        /* nginx applies a reload a moment after the reload job ends (a queued one from systemctl reload
         * APP.service, say): give it that moment before calling the include unloaded. */
        for (long long end = now_ms() + PENDING_GRACE_MS;;) {
                r = route_get(bus, e, &routed, &pending);
                if (r < 0 || !pending || now_ms() >= end)
                        break;
                usleep(20000);
        }
        if (r < 0)
                return asprintf(ret_reason, "cannot tell where %s routes traffic (%s), so the %s color is not stopped",
                                route_name(e), strerror(-r), color_to_string(c)),
                       -EBUSY;
        if (pending)
                return asprintf(ret_reason,
                                "nginx has not loaded %s since it was last written, so it may still route to the %s "
                                "color: run systemctl reload %s.service",
                                e->nginx_include, color_to_string(c), e->app),
                       -EBUSY;
        if (routed == c)
                return asprintf(ret_reason, "%s routes traffic to the %s color, so it is not stopped: run systemctl "
                                "reload %s.service to route to the color the state names",
                                route_name(e), color_to_string(c), e->app),
                       -EBUSY;
        return 0;
}

/* History is appended to: each transaction writes one line, tagged with its id, so that a run that
 * died right after its line does not get a second one from whoever settles it. Only then is the
 * history read: a live run knows it has not written its line yet. */
static int history_once(const char *state_dir, const struct switch_intent *i, const char *event, const char *extra) {
        _cleanup_free_ char *tag = NULL, *detail = NULL;
        char **lines = NULL;
        int n = 0, r;

        if (asprintf(&tag, "txn=%s", i->id) < 0 ||
            asprintf(&detail, "%s%s%s", tag, extra ? " " : "", extra ?: "") < 0)
                return -ENOMEM;
        r = i->from_disk ? state_history_tail(state_dir, 1, &lines, &n) : 0;
        if (r >= 0 && n == 1 && lines[0] && strstr(lines[0], tag))
                r = 0;
        else
                r = state_history_append(state_dir, event, i->release, i->to, detail);
        for (int k = 0; k < n; k++)
                free(lines[k]);
        free(lines);
        return r;
}

static void arm_retire_timer(sd_bus *bus, const struct app_env *e, enum color c) {
        /* Queued, not waited for: at boot the timer's start may wait for timers.target. */
        (void) bus_unit_job(bus, "RestartUnit", unit_name(e->app, "-retire@", color_to_string(c), "timer"), false, 0,
                            NULL, NULL);
}

static bool unit_running(sd_bus *bus, const struct app_env *e, enum color c) {
        _cleanup_free_ char *state = NULL;

        return bus_unit_get_string(bus, unit_name(e->app, "@", color_to_string(c), "service"),
                                   "org.freedesktop.systemd1.Unit", "ActiveState", &state) >= 0 &&
               (streq(state, "active") || streq(state, "activating") || streq(state, "reloading"));
}

/* The commit is written: what is left is bookkeeping, and it is idempotent. */
static int switch_finish(sd_bus *bus, const struct app_env *e, struct switch_intent *i, const char *detail) {
        if (i->from != _COLOR_INVALID && unit_running(bus, e, i->from))
                arm_retire_timer(bus, e, i->from);
        crash_point("timer-armed");
        /* Best effort: on a full disk the line is lost, the journal has the event, and the intent
         * must still go, or the app would stay "unsettled" until someone frees space. */
        (void) history_once(e->state_dir, i, i->event, detail);
        crash_point("history");
        return intent_end(e->state_dir);
}

int switch_commit(sd_bus *bus, const struct app_env *e, struct switch_intent *i, struct timeline *tl,
                  char **ret_reason) {
        int r;

        *ret_reason = NULL;
        r = switch_mark(e->state_dir, i, SWITCH_ROUTING);
        if (r < 0)
                return asprintf(ret_reason, "cannot record the switch in %s/intent: %s", e->state_dir, strerror(-r)), r;
        crash_point("routing");

        /* A stop asked for now waits until the route and the record agree. */
        interrupt_hold(true);
        r = route_set(bus, e, i->to, i->release, 0, tl, ret_reason);
        if (r < 0)
                r = -EREMOTEIO;
        else {
                crash_point("routed");
                r = state_set_active(e->state_dir, i->to);
                if (r < 0)
                        (void) asprintf(ret_reason, "%s/active could not be written: %s", e->state_dir, strerror(-r));
                else
                        crash_point("recorded");
        }
        interrupt_hold(false);
        if (r < 0)
                return r;
        timeline_step(tl, "record");

        r = switch_finish(bus, e, i, NULL);
        if (r < 0)
                /* Committed all the same: the next run finishes the bookkeeping. */
                (void) asprintf(ret_reason, "the switch stands, but its record could not be completed: %s",
                                strerror(-r));
        if (i->from != _COLOR_INVALID)
                timeline_step(tl, "retire timer");
        return 0;
}

/* The route back to the color that was live, unless it already leads there and nginx loaded it. */
static int undo_route(sd_bus *bus, const struct app_env *e, struct switch_intent *i, int flags, char **ret_reason) {
        enum color routed;
        bool pending;
        struct timeline tl;

        timeline_start(&tl);
        if (i->from == _COLOR_INVALID)
                /* First deploy: back to the placeholder include (no rule existed). */
                return i->phase < SWITCH_ROUTING ? 0 : route_set(bus, e, _COLOR_INVALID, NULL, flags, &tl, ret_reason);
        if (i->phase < SWITCH_ROUTING && route_get(bus, e, &routed, &pending) >= 0 && routed == i->from && !pending)
                return 0;
        return route_set(bus, e, i->from, release_of(i->pin[i->from]), flags, &tl,
                         ret_reason);
}

static int undo_target(sd_bus *bus, const struct app_env *e, struct switch_intent *i, char **ret_reason) {
        _cleanup_free_ char *res = NULL, *err = NULL;
        bool keep_warm = i->to_was_active && (streq(i->event, "rollback") || i->phase == SWITCH_PREPARED);
        int r;

        if (keep_warm) {
                if (unit_running(bus, e, i->to))
                        arm_retire_timer(bus, e, i->to);
                return 0;
        }
        /* Before the first deploy the route is a placeholder on the blue port that nothing serves. */
        if (i->from != _COLOR_INVALID) {
                r = route_guard_stop(bus, e, i->to, ret_reason);
                if (r < 0)
                        return r;
        }
        r = bus_unit_job(bus, "StopUnit", unit_name(e->app, "@", color_to_string(i->to), "service"), true,
                         STOP_TIMEOUT_USEC, &res, &err);
        if (r < 0)
                return asprintf(ret_reason, "the %s color did not stop: %s", color_to_string(i->to),
                                err ?: res ?: strerror(-r)),
                       r;
        return 0;
}

static int undo_state(const struct app_env *e, struct switch_intent *i) {
        _cleanup_(state_done) struct app_state s = {};
        int r;

        r = state_load(e->state_dir, &s);
        if (r < 0)
                return r;
        if (s.active != i->from) {
                if (i->from != _COLOR_INVALID)
                        r = state_set_active(e->state_dir, i->from);
                else
                        r = state_clear_active(e->state_dir);
                if (r < 0)
                        return r;
        }
        if (!streq(s.release_dir[i->to] ?: "", i->pin[i->to] ?: ""))
                return state_pin(e->state_dir, i->to, i->pin[i->to]);
        return 0;
}

int switch_undo(sd_bus *bus, const struct app_env *e, struct switch_intent *i, const char *history_event,
                int route_flags, char **ret_reason) {
        _cleanup_free_ char *detail = NULL;
        int r;

        *ret_reason = NULL;
        /* Waits must finish: a stop of the deploy unit is what brought us here. */
        interrupt_hold(true);
        r = undo_route(bus, e, i, route_flags | ROUTE_NGINX_MAY_BE_DOWN, ret_reason);
        if (r >= 0) {
                r = undo_state(e, i);
                if (r < 0)
                        (void) asprintf(ret_reason, "cannot restore the state in %s: %s", e->state_dir, strerror(-r));
        }
        if (r >= 0)
                r = undo_target(bus, e, i, ret_reason);
        interrupt_hold(false);
        if (r < 0)
                return r;
        if (asprintf(&detail, "at=%s", switch_phase_to_string(i->phase)) < 0)
                return -ENOMEM;
        (void) history_once(e->state_dir, i, history_event, detail);
        r = intent_end(e->state_dir);
        if (r < 0)
                return asprintf(ret_reason, "cannot remove %s/intent: %s", e->state_dir, strerror(-r)), r;
        return 0;
}

int switch_recover(sd_bus *bus, const struct app_env *e, int route_flags, char **ret_summary) {
        _cleanup_(switch_intent_done) struct switch_intent i = {};
        _cleanup_(state_done) struct app_state s = {};
        _cleanup_free_ char *reason = NULL, *event = NULL;
        int r;

        *ret_summary = NULL;
        r = switch_intent_load(e->state_dir, &i);
        if (r == -ENOENT)
                return 0;
        if (r < 0)
                return asprintf(ret_summary, "%s/intent is unreadable (%s): move it away once the state is checked",
                                e->state_dir, strerror(-r)),
                       r;
        r = state_load(e->state_dir, &s);
        if (r < 0)
                return asprintf(ret_summary, "cannot read the state in %s: %s", e->state_dir, strerror(-r)), r;

        if (s.active == i.to) {
                /* It committed: finish it, the route first should the commit have raced a restore. */
                struct timeline tl;

                timeline_start(&tl);
                interrupt_hold(true);
                r = route_set(bus, e, i.to, i.release, route_flags | ROUTE_NGINX_MAY_BE_DOWN, &tl, &reason);
                interrupt_hold(false);
                if (r >= 0)
                        r = switch_finish(bus, e, &i, "completed-after-interruption");
                if (r < 0)
                        return asprintf(ret_summary, "cannot finish the interrupted %s of %s: %s", i.event, i.release,
                                        reason ?: strerror(-r)),
                               r;
                return asprintf(ret_summary, "finished the interrupted %s of %s to the %s color (it had committed)",
                                i.event, i.release, color_to_string(i.to)) < 0
                               ? -ENOMEM
                               : 1;
        }

        if (asprintf(&event, "%s-interrupted", i.event) < 0)
                return -ENOMEM;
        r = switch_undo(bus, e, &i, event, route_flags, &reason);
        if (r < 0)
                return asprintf(ret_summary, "cannot undo the interrupted %s of %s: %s", i.event, i.release,
                                reason ?: strerror(-r)),
                       r;
        return asprintf(ret_summary, "undid the interrupted %s of %s to the %s color (it died at phase %s); live: %s",
                        i.event, i.release, color_to_string(i.to), switch_phase_to_string(i.phase),
                        color_or_none(i.from)) < 0
                       ? -ENOMEM
                       : 1;
}
