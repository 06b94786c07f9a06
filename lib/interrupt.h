/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>

/* SIGTERM (systemd's TimeoutStartSec=, or systemctl stop) no longer kills a deploy or rollback outright:
 * it interrupts the wait in progress, which then fails, and the step's undo runs. While traffic is
 * being switched the signal is held back (the switch is bounded by its own timeouts), so nginx, the
 * rule and the state never disagree. */
void interrupt_setup(void);
void interrupt_hold(bool hold);
bool interrupted(void);
