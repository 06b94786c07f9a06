/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stddef.h>

#include "appenv.h"

/* The parameters of the app called name, as the generator wrote them for the helpers:
 * $BLUEGREEN_GENERATOR_DIR (else /run/systemd/generator), then bluegreen/APP/app.env. Returns -ENOENT
 * when there is no such app (an invalid name, or no app.env), another negative errno when it cannot be
 * read; reason says which in one line. */
int app_params_load(const char *name, struct app_env *ret, char *reason, size_t size);

/* For a verb whose one argument, after its options (getopt's optind), is the app: its parameters, or
 * the exit status to return, logged (64: not one argument; 2: no such app; 1: unreadable). */
int verb_app_params(int argc, char *argv[], struct app_env *ret);
