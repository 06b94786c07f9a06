/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "generator-main.h"

#include <stdlib.h>

#include "fuzz-scratch.h"
#include "log.h"

int generator_run(const char *config_dir, const char *out_dir) {
        static const char *units;
        char *argv[] = { (char *) "bluegreen-generator", (char *) out_dir, NULL };

        if (!units) {
                units = scratch_mkdir("system-units");
                if (setenv("BLUEGREEN_SYSTEM_UNIT_PATH", units, 1) < 0 || setenv("BLUEGREEN_UNIT_PATH", units, 1) < 0)
                        abort();
        }
        if (setenv("BLUEGREEN_CONFIG_PATH", config_dir, 1) < 0)
                abort();
        scratch_empty(out_dir);
        /* The fuzzer wants no log, the checks say what broke; main() only ever raises the level to
         * debug, when $SYSTEMD_LOG_LEVEL asks for it. */
        log_set_max_level(-1);
        return bluegreen_generator_main(2, argv);
}
