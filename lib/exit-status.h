/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Exit codes shared by bluegreen-deploy and bluegreen-rollback (documented in their man pages). */
#define EXIT_BAD_INPUT 2
#define EXIT_CHECK_FAILED 3
#define EXIT_LOCKED 4
#define EXIT_PROXY_FAILED 5
#define EXIT_NOTHING_TO_ROLL_BACK 6
