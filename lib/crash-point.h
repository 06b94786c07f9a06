/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* A test-only way to die at a named step, so that the crash tests can kill a deploy exactly between
 * two of its writes. When $BLUEGREEN_TEST_CRASH_AT is "IDENT:STEP" (IDENT the program's log ident,
 * e.g. "bluegreen-deploy:routed"), the program kills itself with SIGKILL at that step; with
 * $BLUEGREEN_TEST_PAUSE_AT it stops itself with SIGSTOP there instead, so that a test can cut the
 * power at that instant. Only root can put these into a unit's environment (systemctl
 * set-environment); unset, a step costs one getenv(). The steps are listed in bluegreen-deploy(8). */
void crash_point(const char *step);
