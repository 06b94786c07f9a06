#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
# Median wall time of running a command, by posix_spawn + waitpid (no shell, no extra fork):
#   spawn-time.py RUNS PREP-DIR CMD...   (PREP-DIR is emptied before each run; prints microseconds)
import os
import shutil
import statistics
import sys
import time

runs, prep, cmd = int(sys.argv[1]), sys.argv[2], sys.argv[3:]
samples = []
for _ in range(runs):
    shutil.rmtree(prep, ignore_errors=True)
    os.makedirs(prep)
    devnull = os.open(os.devnull, os.O_WRONLY)
    t0 = time.perf_counter()
    pid = os.posix_spawn(cmd[0], cmd, os.environ, file_actions=[(os.POSIX_SPAWN_DUP2, devnull, 1),
                                                                (os.POSIX_SPAWN_DUP2, devnull, 2)])
    os.waitpid(pid, 0)
    samples.append((time.perf_counter() - t0) * 1e6)
    os.close(devnull)
print(int(statistics.median(samples)))
