/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stddef.h>
#include <sys/types.h>

enum {
        /* fsync the file and its directory: for state that must survive a power cut, not for /run. */
        WRITE_SYNC = 1 << 0,
};

/* Writes content to path whole or not at all: a temporary file in the same directory, renamed over
 * the target, so a reader never sees half a file and a failure leaves the old one in place. */
int write_file_atomic(const char *path, const char *content, size_t len, mode_t mode, int flags);
/* The same, owned by uid:gid, set on the temporary file before it takes the name: a file written as root
 * into a directory another user controls is never chowned by path. */
int write_file_atomic_owned(const char *path, const char *content, size_t len, mode_t mode, uid_t uid, gid_t gid,
                            int flags);

/* Points linkpath at target by renaming a fresh symlink over it, so it never dangles or vanishes. */
int symlink_atomic(const char *target, const char *linkpath, int flags);

/* As write_file_atomic_owned(), relative to a directory fd and without fsync; uid:gid is set on the open
 * temporary file, before it takes the name. The temporary name is derived from our PID: it suits a
 * directory only one of our processes writes at a time. The file is created with its final mode (under
 * the caller's umask). */
int write_file_atomic_at_owned(int dirfd, const char *name, const char *content, size_t len, mode_t mode, uid_t uid,
                               gid_t gid);

/* Creates name, which must not exist (-EEXIST), with content, in three system calls (open, write,
 * close) and no temporary name: only for a directory nobody reads until we are done, as a generator's
 * output directory, which systemd empties before and reads after its generators run. A failed write
 * removes the file again. */
int write_file_new_at(int dirfd, const char *name, const char *content, size_t len, mode_t mode);

int mkdir_p(const char *path, mode_t mode);
int fsync_parent_dir(const char *path);

/* Reads a whole small file (at most max bytes) into a NUL-terminated string; -EFBIG when larger. */
int read_file(const char *path, size_t max, char **ret, size_t *ret_len);
int read_fd(int fd, size_t max, char **ret, size_t *ret_len);
/* The same for a file root reads where others may plant things: a symbolic link at the name is
 * refused (-ELOOP), and so is anything but a regular file (-EBADFD), without blocking on a FIFO. */
int read_regular_file_nofollow(const char *path, size_t max, char **ret, size_t *ret_len);
