/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "bus.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "macro.h"

#define DEST "org.freedesktop.systemd1"
#define PATH "/org/freedesktop/systemd1"
#define MANAGER "org.freedesktop.systemd1.Manager"

int bus_connect_manager(sd_bus **ret) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
        int r;

        if (geteuid() == 0 && access("/run/systemd/private", F_OK) == 0) {
                r = sd_bus_new(&bus);
                if (r < 0)
                        return r;
                r = sd_bus_set_address(bus, "unix:path=/run/systemd/private");
                if (r < 0)
                        return r;
                r = sd_bus_start(bus);
                if (r < 0)
                        bus = sd_bus_flush_close_unref(bus);
        }
        if (!bus) {
                r = sd_bus_open_system(&bus);
                if (r < 0)
                        return r;
        }

        /* systemd sends JobRemoved only to clients that asked for its signals. */
        r = sd_bus_call_method(bus, DEST, PATH, MANAGER, "Subscribe", &e, NULL, NULL);
        if (r < 0 && !sd_bus_error_has_name(&e, "org.freedesktop.systemd1.AlreadySubscribed"))
                return r;

        *ret = TAKE_PTR(bus);
        return 0;
}

bool (*bus_interrupted)(void);

struct job_wait {
        const char *path;
        char *result;
        bool done;
};

static int on_job_removed(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        struct job_wait *w = userdata;
        const char *path, *unit, *result;
        uint32_t id;

        if (sd_bus_message_read(m, "uoss", &id, &path, &unit, &result) < 0)
                return 0;
        if (w->path && streq(path, w->path)) {
                free(w->result);
                w->result = strdup(result);
                w->done = true;
        }
        return 0;
}

static uint64_t now_usec(void) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000000 + (uint64_t) ts.tv_nsec / 1000;
}

int bus_unit_job(sd_bus *bus, const char *method, const char *unit, bool wait, uint64_t timeout_usec,
                 char **ret_result, char **ret_error) {
        _cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_(sd_bus_slot_unrefp) sd_bus_slot *slot = NULL;
        struct job_wait w = {};
        const char *job;
        uint64_t end;
        int r;

        if (ret_result)
                *ret_result = NULL;
        if (ret_error)
                *ret_error = NULL;

        /* The match goes in before the call: a fast job may end before the call returns. */
        r = sd_bus_match_signal(bus, &slot, DEST, PATH, MANAGER, "JobRemoved", on_job_removed, &w);
        if (r < 0)
                return r;

        r = sd_bus_call_method(bus, DEST, PATH, MANAGER, method, &e, &reply, "ss", unit, "replace");
        if (r < 0) {
                if (ret_error && e.message)
                        *ret_error = strdup(e.message);
                return r;
        }
        r = sd_bus_message_read(reply, "o", &job);
        if (r < 0)
                return r;
        w.path = job;
        if (!wait)
                return 0;

        end = now_usec() + timeout_usec;
        while (!w.done) {
                uint64_t now = now_usec();

                if (bus_interrupted && bus_interrupted()) {
                        r = -EINTR;
                        goto finish;
                }
                r = sd_bus_process(bus, NULL);
                if (r < 0)
                        goto finish;
                if (r > 0)
                        continue;
                if (now >= end) {
                        r = -ETIMEDOUT;
                        goto finish;
                }
                r = sd_bus_wait(bus, end - now);
                if (r < 0)
                        goto finish;
        }
        r = streq(w.result ?: "", "done") ? 0 : -EIO;
finish:
        if (ret_result)
                *ret_result = w.result ? w.result : NULL;
        else
                free(w.result);
        return r;
}

int bus_unit_reset_failed(sd_bus *bus, const char *unit) {
        _cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
        int r;

        r = sd_bus_call_method(bus, DEST, PATH, MANAGER, "ResetFailedUnit", &e, NULL, "s", unit);
        /* A unit that never ran has nothing to reset. */
        if (r < 0 && sd_bus_error_has_name(&e, "org.freedesktop.systemd1.NoSuchUnit"))
                return 0;
        return r;
}

int bus_unit_kill_main(sd_bus *bus, const char *unit, int sig) {
        return sd_bus_call_method(bus, DEST, PATH, MANAGER, "KillUnit", NULL, NULL, "ssi", unit, "main", (int32_t) sig);
}

static int unit_path(sd_bus *bus, const char *unit, char **ret) {
        _cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        const char *p;
        int r;

        r = sd_bus_call_method(bus, DEST, PATH, MANAGER, "LoadUnit", &e, &reply, "s", unit);
        if (r < 0)
                return r;
        r = sd_bus_message_read(reply, "o", &p);
        if (r < 0)
                return r;
        *ret = strdup(p);
        return *ret ? 0 : -ENOMEM;
}

int bus_unit_get_string(sd_bus *bus, const char *unit, const char *iface, const char *property, char **ret) {
        _cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
        _cleanup_free_ char *path = NULL;
        int r;

        r = unit_path(bus, unit, &path);
        if (r < 0)
                return r;
        return sd_bus_get_property_string(bus, DEST, path, iface, property, &e, ret);
}

int bus_unit_strv_contains(sd_bus *bus, const char *unit, const char *iface, const char *property, const char *value) {
        _cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
        _cleanup_free_ char *path = NULL;
        char **l = NULL;
        int r = unit_path(bus, unit, &path), found = 0;

        if (r >= 0)
                r = sd_bus_get_property_strv(bus, DEST, path, iface, property, &e, &l);
        if (r < 0)
                return r;
        for (char **s = l; s && *s; s++) {
                found = found || streq(*s, value);
                free(*s);
        }
        free(l);
        return found;
}

int bus_unit_get_u64(sd_bus *bus, const char *unit, const char *iface, const char *property, char sig, uint64_t *ret) {
        _cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
        _cleanup_free_ char *path = NULL;
        int r;

        r = unit_path(bus, unit, &path);
        if (r < 0)
                return r;
        if (sig == 'u') {
                uint32_t u;

                r = sd_bus_get_property_trivial(bus, DEST, path, iface, property, &e, 'u', &u);
                if (r >= 0)
                        *ret = u;
        } else
                r = sd_bus_get_property_trivial(bus, DEST, path, iface, property, &e, 't', ret);
        return r;
}
