/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stddef.h>
#include <sys/stat.h>

/* Opens the directory path (absolute and normalised, as the generator checks every declared path)
 * without following a symbolic link in any component, and returns an O_PATH descriptor of it, with
 * *ret_st (if not NULL) from fstat() on that descriptor: every later check (its owner) and every later
 * access (a release, the trigger file, the status file) goes through it, so that whoever can write above
 * the directory cannot point root at another one, between the check and the use or at all. What they
 * could still do, rename a directory next to it into its place, is made harmless by refusing (-EPERM)
 * a directory with one above it owned by another user than root or its own owner, or writable by a
 * group (other than root's, or its own when it may write the directory too) or by everyone (unless
 * sticky). what names the directory in the reason ("releases directory"). On failure, a one-line
 * reason naming the path (and the component that is a symbolic link: -ELOOP) is put in reason. */
int releases_open(const char *path, const char *what, struct stat *ret_st, char *reason, size_t size);

/* A release, found through the releases directory's descriptor. */
struct release {
        int fd;     /* O_PATH descriptor of the release directory */
        char *name; /* its real name, an alias resolved */
        char *dir;  /* RELEASES/NAME, for $BLUEGREEN_RELEASE_DIR and the pin */
};

#define RELEASE_NULL ((struct release) { .fd = -1 })

void release_done(struct release *r);

/* Finds the release called name, or when name is NULL the release the color is pinned to (the pin
 * state_dir/color, which bluegreen-deploy writes as RELEASES/NAME), through the descriptor of the releases
 * directory from releases_open(). An alias, a symbolic link in releases whose target is one name in
 * releases ("r5" or "RELEASES/r5"), is followed, at most 8 times, one link at a time relative to that
 * descriptor, so that nothing outside releases is ever looked at. The release must be a directory
 * directly inside releases with a valid release name. Errors: -ENOENT no such release or nothing pinned,
 * -EXDEV an alias or the pin leads elsewhere, -ENOTDIR not a directory, -EINVAL not a valid release name,
 * -ELOOP too many aliases, or those of releases_open(); a one-line reason, naming the release, in
 * reason. */
int release_find(const char *releases, const char *name, const char *state_dir, const char *color, struct release *ret,
                 char *reason, size_t size);

/* Enters the release's workdir (relative to the release's descriptor: a swap of the releases path
 * meanwhile cannot move us elsewhere) and sets $BLUEGREEN_RELEASE and $BLUEGREEN_RELEASE_DIR for what
 * runs there. */
int release_enter(const struct release *r, const char *workdir);
