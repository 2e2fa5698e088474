"""rlcraving: reinforcement-learning models of conditioned cocaine seeking and its treatment
with the GABA-B agonist baclofen.

``import rlcraving`` registers the Gymnasium environments ``rlcraving/CocaineSeeking-v0`` (a rat's
chamber) and ``rlcraving/Outpatient-v0`` (a person's days), each with a native vector entry point
for ``gym.make_vec``.
"""

import os
from importlib.metadata import PackageNotFoundError, version

# Threads of the compiled kernels that wait for work spin for a few tens of microseconds, then
# sleep (libgomp's GOMP_SPINCOUNT, read when numba's OpenMP layer starts; a user's own
# OMP_WAIT_POLICY or GOMP_SPINCOUNT wins). Sleeping at once costs a wake-up at every parallel
# loop, more than a 4096-subject step gains from a second thread; spinning without end took the
# cores from the threads with work when other processes kept them busy (16x slower). With a
# short spin each kernel measures whether its parallel build pays (rlcraving.threads.Choice).
if "OMP_WAIT_POLICY" not in os.environ:
    os.environ.setdefault("GOMP_SPINCOUNT", "5000")

import gymnasium as gym

from rlcraving.params import ModelParams
from rlcraving.pharmacology import OralTID, Placebo, RatIP, Titration
from rlcraving.protocol import PHASES, Calendar, SessionSettings, default_calendar, session

try:
    __version__ = version("rlcraving")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0.0.0"

ENV_ID = "rlcraving/CocaineSeeking-v0"
OUTPATIENT_ENV_ID = "rlcraving/Outpatient-v0"

if ENV_ID not in gym.registry:
    gym.register(
        id=ENV_ID,
        entry_point="rlcraving.envs.cocaine_seeking:make_env",
        vector_entry_point="rlcraving.envs.cocaine_seeking:CocaineSeekingVectorEnv",
    )
if OUTPATIENT_ENV_ID not in gym.registry:
    gym.register(
        id=OUTPATIENT_ENV_ID,
        entry_point="rlcraving.envs.outpatient:make_env",
        vector_entry_point="rlcraving.envs.outpatient:OutpatientVectorEnv",
    )

__all__ = [
    "ENV_ID",
    "OUTPATIENT_ENV_ID",
    "PHASES",
    "Calendar",
    "ModelParams",
    "OralTID",
    "Placebo",
    "RatIP",
    "SessionSettings",
    "Titration",
    "__version__",
    "default_calendar",
    "session",
]
