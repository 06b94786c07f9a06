/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * bluegreen-socket-dir: the ExecStartPre=+ of a color in socket mode, run as root once systemd has
 * created the color's RuntimeDirectory (its socket's directory, owned by the service user, mode 0750)
 * and before the app starts. It lets nginx's workers in, by ACL entries for their group, so that nginx
 * can connect to the socket the app creates there and no other local user can even look inside; and it
 * removes a socket file an earlier run left behind, which would make the app's bind() fail. Everything
 * is done through descriptors opened without following a symbolic link. See bluegreen-socket-dir(8).
 */
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/acl.h>
#include <unistd.h>

#include "log.h"
#include "macro.h"
#include "root-dir.h"

#define EXIT_USAGE 2

static void help(void) {
        printf("Usage: bluegreen-socket-dir\n\n"
               "Prepares the directory of a bluegreen color's unix socket before the app starts, as\n"
               "root: $SOCKET is the socket, $BLUEGREEN_NGINX_GROUP the group nginx's workers run as.\n"
               "The directory keeps the owner, group and mode systemd gave it; ACL entries give the\n"
               "group r-x on it and rwx on the socket the app creates in it, others nothing. A stale\n"
               "socket left at $SOCKET is removed. Symbolic links are never followed: a directory that\n"
               "is one is refused, and so is anything but a socket under the socket's name. Run by the\n"
               "color units of socket mode as ExecStartPre=+.\n\n"
               "Exit status: 0 done; 1 the directory is missing, refused or could not be changed, the\n"
               "group does not exist, or something that is not a socket is in the way; 2 bad usage\n"
               "or environment.\n");
}

struct socket_dir {
        const char *socket; /* $SOCKET */
        const char *group;  /* $BLUEGREEN_NGINX_GROUP */
        char *dir;          /* the socket's directory */
        const char *name;   /* the socket's name in it */
        gid_t gid;
};

static int read_environment(struct socket_dir *s) {
        const char *slash;

        s->socket = getenv("SOCKET");
        s->group = getenv("BLUEGREEN_NGINX_GROUP");
        if (isempty(s->socket) || s->socket[0] != '/') {
                log_error("$SOCKET is not set to an absolute file name: run this from a bluegreen color unit "
                          "in socket mode.");
                return -EINVAL;
        }
        if (isempty(s->group)) {
                log_error("$BLUEGREEN_NGINX_GROUP is not set: run this from a bluegreen color unit in socket mode.");
                return -EINVAL;
        }
        slash = strrchr(s->socket, '/');
        if (slash == s->socket || !slash[1]) {
                log_error("$SOCKET=\"%s\" names no file in a directory.", s->socket);
                return -EINVAL;
        }
        s->dir = strndup(s->socket, (size_t) (slash - s->socket));
        if (!s->dir)
                return log_oom();
        s->name = slash + 1;
        return 0;
}

static int lookup_group(struct socket_dir *s) {
        struct group *g;

        errno = 0;
        g = getgrnam(s->group);
        if (!g && errno > 0)
                return log_error_errno(-errno, "Failed to look up group \"%s\": %m", s->group);
        if (!g)
                return log_error_errno(-ESRCH, "Group \"%s\" does not exist: nginx.group must name the group "
                                       "nginx's worker processes run as.", s->group);
        s->gid = g->gr_gid;
        return 0;
}

/* The directory above must be root's alone, or whoever can write it could swap the socket's directory
 * between our check and our chown; the socket's directory itself is the service user's. */
static int open_socket_dir(const struct socket_dir *s) {
        _cleanup_free_ char *parent = strndup(s->dir, (size_t) (strrchr(s->dir, '/') - s->dir));
        _cleanup_close_ int parent_fd = -1;
        const char *base = strrchr(s->dir, '/') + 1;
        int fd;

        if (!parent)
                return log_oom();
        parent_fd = root_dir_open(isempty(parent) ? "/" : parent, 0);
        if (parent_fd == -EPERM)
                return log_error_errno(parent_fd, "Refusing %s: every directory above it must be a real directory "
                                       "(no symbolic link), owned by root and writable by no one else.", s->dir);
        if (parent_fd < 0)
                return log_error_errno(parent_fd, "Failed to open %s: %m", parent);
        fd = openat(parent_fd, base, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0 && (errno == ELOOP || errno == ENOTDIR))
                return log_error_errno(-errno, "Refusing %s: it is not a directory (a symbolic link?).", s->dir);
        if (fd < 0)
                return log_error_errno(-errno, "Failed to open %s (the color's RuntimeDirectory=): %m", s->dir);
        return fd;
}

static void acl_freep(acl_t *a) {
        if (*a)
                acl_free(*a);
}

static int acl_add(acl_t *acl, acl_tag_t tag, const gid_t *id, unsigned perm) {
        static const acl_perm_t bits[] = { ACL_READ, ACL_WRITE, ACL_EXECUTE };
        acl_entry_t entry;
        acl_permset_t set;

        if (acl_create_entry(acl, &entry) < 0 || acl_set_tag_type(entry, tag) < 0 ||
            (id && acl_set_qualifier(entry, id) < 0) || acl_get_permset(entry, &set) < 0 || acl_clear_perms(set) < 0)
                return -errno;
        for (size_t i = 0; i < ELEMENTSOF(bits); i++)
                if ((perm & bits[i]) && acl_add_perm(set, bits[i]) < 0)
                        return -errno;
        return acl_set_permset(entry, set) < 0 ? -errno : 0;
}

/* One ACL, with libacl: owner and owning group as given, nginx's group, a mask that lets them all
 * through, and nothing for "other": no other local user can look into the directory, let alone
 * connect. The default ACL is set through /proc/self/fd, since libacl sets it only by path. */
static int set_acl(int fd, acl_type_t type, unsigned user, unsigned group, gid_t nginx_gid, unsigned nginx) {
        _cleanup_(acl_freep) acl_t acl = acl_init(5);
        char path[64];
        int r;

        if (!acl)
                return -errno;
        r = acl_add(&acl, ACL_USER_OBJ, NULL, user);
        if (r >= 0)
                r = acl_add(&acl, ACL_GROUP_OBJ, NULL, group);
        if (r >= 0)
                r = acl_add(&acl, ACL_GROUP, &nginx_gid, nginx);
        if (r >= 0)
                r = acl_add(&acl, ACL_OTHER, NULL, 0);
        if (r < 0)
                return r;
        if (acl_calc_mask(&acl) < 0)
                return -errno;
        if (type == ACL_TYPE_ACCESS)
                return acl_set_fd(fd, acl) < 0 ? -errno : 0;
        snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
        return acl_set_file(path, type, acl) < 0 ? -errno : 0;
}

/* Owner, group and mode stay as systemd made them (User= and Group=, or the dynamic user of
 * DynamicUser=yes; RuntimeDirectoryMode=), because systemd makes them so again whenever it starts a
 * process of the unit: this one (ExecStartPre=+), then ExecStart=, then each ExecStartPost=. A group
 * or mode set here would be gone before the app runs. ACL entries for nginx's group survive that:
 * systemd's chmod only sets their mask from the group bits (r-x of 0750), and its chown does not touch
 * a directory that is already owned right. The default ACL gives the socket the app creates in the
 * directory the same entry, rwx, as far as the socket's mode allows (UMask=0007: rwx). */
static int give_to_nginx(const struct socket_dir *s, int fd) {
        const unsigned rx = ACL_READ | ACL_EXECUTE, rwx = ACL_READ | ACL_WRITE | ACL_EXECUTE;
        struct stat st;
        int r;

        if (fstat(fd, &st) < 0)
                return log_error_errno(-errno, "Failed to stat %s: %m", s->dir);
        r = set_acl(fd, ACL_TYPE_ACCESS, (st.st_mode >> 6) & 7, (st.st_mode >> 3) & 7, s->gid, rx);
        if (r >= 0)
                r = set_acl(fd, ACL_TYPE_DEFAULT, rwx, rwx, s->gid, rwx);
        if (r == -EOPNOTSUPP)
                return log_error_errno(r, "Failed to give group %s access to %s: its file system does not support "
                                       "POSIX ACLs.", s->group, s->dir);
        if (r < 0)
                return log_error_errno(r, "Failed to give group %s access to %s: %m", s->group, s->dir);
        return 0;
}

static const char *kind_of(mode_t m) {
        return S_ISLNK(m) ? "symbolic link" : S_ISDIR(m) ? "directory" : S_ISREG(m) ? "regular file" : "special file";
}

/* Left by a run that was killed (RuntimeDirectoryPreserve= keeps the directory), it would make the
 * app's bind() fail with EADDRINUSE; nothing can be listening on it, since the color's processes are
 * all gone before its ExecStartPre= runs. */
static int remove_stale_socket(const struct socket_dir *s, int fd) {
        struct stat st;

        if (fstatat(fd, s->name, &st, AT_SYMLINK_NOFOLLOW) < 0)
                return errno == ENOENT ? 0 : log_error_errno(-errno, "Failed to stat %s: %m", s->socket);
        if (!S_ISSOCK(st.st_mode))
                return log_error_errno(-EEXIST, "Refusing to remove %s: it is a %s, not a socket; remove it by hand.",
                                       s->socket, kind_of(st.st_mode));
        if (unlinkat(fd, s->name, 0) < 0 && errno != ENOENT)
                return log_error_errno(-errno, "Failed to remove the stale socket %s: %m", s->socket);
        log_info("Removed the stale socket %s.", s->socket);
        return 0;
}

int main(int argc, char *argv[]) {
        _cleanup_close_ int fd = -1;
        struct socket_dir s = {};
        int r;

        log_setup("bluegreen-socket-dir");
        if (argc == 2 && (streq(argv[1], "--help") || streq(argv[1], "-h"))) {
                help();
                return EXIT_SUCCESS;
        }
        if (argc > 1) {
                log_error("Unknown argument %s (see --help).", argv[1]);
                return EXIT_USAGE;
        }
        if (read_environment(&s) < 0)
                return EXIT_USAGE;
        if (lookup_group(&s) < 0)
                return EXIT_FAILURE;
        fd = open_socket_dir(&s);
        r = fd < 0 ? fd : give_to_nginx(&s, fd);
        if (r >= 0)
                r = remove_stale_socket(&s, fd);
        free(s.dir);
        return r < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}
