/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <systemd/sd-bus.h>

#include "appenv.h"
#include "state.h"
#include "timeline.h"

/*
 * The switch of an app's traffic from one color to the other, as one transaction that survives its own
 * death: its route (the nginx include, the redirect rule or the live socket link), its record (the
 * intent, then "active") and its recovery live here together.
 *
 * Before a deploy or rollback touches anything it writes, and syncs, an intent record to
 * STATE_DIR/intent: which event, from which color to which, the release, the pins as they were, and
 * how far it got (its phase). Writing "active" is the commit point. Whoever runs next for the app
 * (deploy, rollback, boot, systemctl reload APP, the retire timer), under the app's lock, finds the
 * intent of one that died and settles it before anything else:
 *   - "active" names the intent's target: the switch committed, so it is finished (route checked,
 *     the old color's retire timer armed, history written);
 *   - otherwise it is undone: traffic is routed back to the color that was live, the target's pin is
 *     put back, the target is stopped (or, had it been warm and not yet touched, left warm with its
 *     retire timer armed again), and history says "interrupted".
 * A deploy or rollback that fails without dying undoes itself the same way. No step ever stops a
 * color the route leads to, whatever the state says.
 */

enum switch_phase {
        SWITCH_PREPARED, /* intent recorded; only the target's retire timer and pre_start hook ran */
        SWITCH_TOUCHED,  /* the target's pin or unit was changed */
        SWITCH_ROUTING,  /* the route may lead to the target */
        _SWITCH_PHASE_MAX,
};

struct switch_intent {
        char id[48];        /* when and by whom it began; tags its history line */
        char event[16];     /* "deploy" or "rollback" */
        enum color from;    /* the live color before; _COLOR_INVALID on the first deploy */
        enum color to;      /* the color going live */
        char *release;      /* the release going live on it */
        char *pin[2];       /* the pins before (release directories), NULL for none */
        bool to_was_active; /* the target ran (warm) before the event */
        enum switch_phase phase;
        bool from_disk;     /* read back after its run died, which may have written its history line */
};

/* Records the intent (phase SWITCH_PREPARED), synced, before anything is touched. A full disk fails
 * here, while nothing has changed yet. */
int switch_begin(const char *state_dir, struct switch_intent *i);
/* Moves the intent on to phase p, synced, before the step that p announces. */
int switch_mark(const char *state_dir, struct switch_intent *i, enum switch_phase p);
/* The intent left in state_dir; -ENOENT when none. */
int switch_intent_load(const char *state_dir, struct switch_intent *ret);
void switch_intent_done(struct switch_intent *i);
const char *switch_phase_to_string(enum switch_phase p);

/* Where the route leads now: the color whose port the include (reload switch) or the rule (redirect
 * switch) names, or whose socket the live link (socket switch) leads to; _COLOR_INVALID when it names
 * neither or there is none, as with the reload switch's maintenance include (nginx answers by itself;
 * the socket and redirect switches' link and rule still name the color behind them). *ret_pending is
 * true when nginx has not loaded the include on disk yet (it still routes by the one before). */
int route_get(sd_bus *bus, const struct app_env *e, enum color *ret_color, bool *ret_pending);

enum {
        /* Boot and recovery: a stopped nginx gets the include written for its next start instead of an
         * error, and an include that is already right and loaded is left alone. */
        ROUTE_NGINX_MAY_BE_DOWN = 1 << 0,
        /* From APP.service's own job (ordered before nginx), where a reload job of nginx would wait for
         * that very job: nginx is reloaded by signal through systemd (KillUnit), and confirmed. */
        ROUTE_NO_JOBS = 1 << 1,
};

/* Routes the app's traffic to color c running release; c _COLOR_INVALID: nothing deployed yet (a
 * placeholder include, no rule, no link). With ROUTE_NGINX_MAY_BE_DOWN the include of the redirect and
 * socket switches, which never changes with the color, is put right too. */
int route_set(sd_bus *bus, const struct app_env *e, enum color c, const char *release, int flags,
              struct timeline *tl, char **ret_reason);

/* Refuses (-EBUSY, *ret_reason says why) to let c be stopped or drained while the route leads to it,
 * or might (an include nginx has not loaded). */
int route_guard_stop(sd_bus *bus, const struct app_env *e, enum color c, char **ret_reason);

/* Routes traffic to i->to and commits: "active", the old color's retire timer, history, the intent
 * removed. Signals are held back meanwhile. On failure the caller undoes with switch_undo(): -EREMOTEIO
 * when the route could not be set (nginx -t failed, nginx down, nftables refused, the link could not be
 * replaced), another negative errno when the record could not be written. */
int switch_commit(sd_bus *bus, const struct app_env *e, struct switch_intent *i, struct timeline *tl,
                  char **ret_reason);

/* Undoes the intent i as described above; history_event is written to history ("deploy-failed",
 * "rollback-interrupted", ...). The intent stays when a step fails, for the next run to try again. */
int switch_undo(sd_bus *bus, const struct app_env *e, struct switch_intent *i, const char *history_event,
                int route_flags, char **ret_reason);

/* Settles the intent a dead run left, if any: finishes or undoes it. Returns 0 when there was none, 1
 * when one was settled (*ret_summary says how, in one line), or a negative errno (*ret_summary says
 * why; the intent stays). route_flags: ROUTE_NO_JOBS from APP.service; ROUTE_NGINX_MAY_BE_DOWN is implied. */
int switch_recover(sd_bus *bus, const struct app_env *e, int route_flags, char **ret_summary);
