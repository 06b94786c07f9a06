/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * The verbs of bluegreenctl besides status, one file each; see bluegreenctl(1). Each takes the words
 * after its name (argv[0] "bluegreenctl VERB"), with the options given before the verb (--json) in
 * front of them, and returns its exit status.
 */

/* Exit statuses the verbs share (bluegreenctl(1)); deploy and rollback also pass on those of
 * bluegreen-deploy(8) and bluegreen-rollback(8). */
#define VERB_EXIT_NO_SUCH_APP 2
#define VERB_EXIT_LOCKED 4
#define VERB_EXIT_USAGE 64

int verb_verify(int argc, char *argv[]);
int verb_deploy(int argc, char *argv[]);
int verb_rollback(int argc, char *argv[]);
int verb_releases(int argc, char *argv[]);
int verb_prune(int argc, char *argv[]);
int verb_history(int argc, char *argv[]);
int verb_maintenance(int argc, char *argv[]);

/* Runs the verb argv names, when it is one of the above: its exit status; -1 when argv names none of
 * them (status, the default, is bluegreenctl.c's own). */
int verb_dispatch(int argc, char *argv[]);
