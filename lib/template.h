/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stddef.h>

/* Unit shapes live as readable files in units/, compiled in by tools/embed.py. A template names its
 * variables as @NAME@ (capitals and "_"); an '@' not forming such a name is kept as it is, so unit
 * names like "@APP@@%i.service" read as they will be written. */

struct tvar {
        const char *name;
        const char *value;
};

/* The text of the embedded template called name (a file name in units/), or NULL. */
const char *template_get(const char *name);

/* Replaces every @NAME@ in tmpl by its value. A line holding nothing but a variable whose value is empty
 * disappears entirely, so optional settings need no conditionals in the templates. A variable not in
 * vars is an error (-ENOKEY): a typo in a template must not ship as literal text. */
int template_render(const char *tmpl, const struct tvar *vars, size_t n_vars, char **ret);

/* Quoting for the places values end up. All return a new string or NULL on OOM. */
char *unit_escape_specifiers(const char *s);          /* % -> %% */
char *unit_quote_assignment(const char *name, const char *value); /* "NAME=value" for Environment= */
char *envfile_quote(const char *value);               /* "value" for EnvironmentFile= files */
