"""Faults injected into every Python process (driver and spawned workers) of a CLI test.

Put this folder on PYTHONPATH and name the fault in RLCRAVING_FAULT:

- ``slow_seed_1``: runs with seed 1 take a minute (sleep before running), so that an interrupt
  lands while workers are busy.
- ``disk_full_after_N``: the N+1-th file write under a ``runs/`` folder fails with ENOSPC.
"""

from __future__ import annotations

import errno
import os

FAULT = os.environ.get("RLCRAVING_FAULT", "")

if FAULT == "slow_seed_1":
    import time

    import rlcraving.experiments.runner as _runner

    _execute = _runner.execute

    def slow_execute(task, runner=_runner.simulate):
        if task.seed == 1:
            time.sleep(60)
        return _execute(task, runner)

    _runner.execute = slow_execute

elif FAULT.startswith("disk_full_after_"):
    import pathlib

    _left = [int(FAULT.rsplit("_", 1)[1])]
    _write_bytes = pathlib.Path.write_bytes

    def write_bytes(self, data):
        if self.parent.name == "runs":
            if _left[0] <= 0:
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(self))
            _left[0] -= 1
        return _write_bytes(self, data)

    pathlib.Path.write_bytes = write_bytes
