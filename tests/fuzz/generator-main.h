/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* bluegreen-generator's main(), compiled under this name into the fuzz targets only (tests/fuzz/
 * meson.build), so that a target runs the generator whole, as systemd does, without a process per run. */
int bluegreen_generator_main(int argc, char *argv[]);

/* Runs it on the declarations in CONFIG_DIR (BLUEGREEN_CONFIG_PATH) into OUT_DIR, which is emptied
 * first, with no system unit directory to clash with. Returns main()'s exit status. */
int generator_run(const char *config_dir, const char *out_dir);
