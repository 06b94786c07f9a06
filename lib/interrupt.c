/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "interrupt.h"

#include <signal.h>
#include <stddef.h>

#include "bus.h"

static volatile sig_atomic_t got_sigterm;
static bool held;

/* While the switch runs, a stop asked for just before it must not break its waits half-way. */
static bool bus_wait_interrupted(void) {
        return got_sigterm && !held;
}

static void on_sigterm(int sig) {
        got_sigterm = 1;
}

void interrupt_setup(void) {
        struct sigaction sa = { .sa_handler = on_sigterm };

        /* No SA_RESTART: the wait in progress returns EINTR and its step fails. */
        sigemptyset(&sa.sa_mask);
        (void) sigaction(SIGTERM, &sa, NULL);
        (void) sigaction(SIGINT, &sa, NULL);
        bus_interrupted = bus_wait_interrupted;
}

void interrupt_hold(bool hold) {
        sigset_t set;

        sigemptyset(&set);
        sigaddset(&set, SIGTERM);
        sigaddset(&set, SIGINT);
        (void) sigprocmask(hold ? SIG_BLOCK : SIG_UNBLOCK, &set, NULL);
        held = hold;
}

bool interrupted(void) {
        return got_sigterm;
}
