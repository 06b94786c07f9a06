/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Resolves, once, the release a color is pinned to (state_dir/color) or the release called name
 * (releases/name) to its canonical directory, which must be directly inside releases: a pin or a
 * name leading elsewhere (a planted symlink, say) is refused with -EXDEV. -ENOENT: nothing pinned or
 * no such release. */
int release_resolve_pin(const char *state_dir, const char *color, const char *releases, char **ret);
int release_resolve_name(const char *releases, const char *name, char **ret);

/* Enters dir/workdir and sets $BLUEGREEN_RELEASE and $BLUEGREEN_RELEASE_DIR for what runs there. */
int release_enter(const char *dir, const char *workdir);
