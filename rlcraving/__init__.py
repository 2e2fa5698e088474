"""rlcraving: reinforcement-learning models of conditioned cocaine seeking and its treatment
with the GABA-B agonist baclofen.

``import rlcraving`` registers the Gymnasium environment ``rlcraving/CocaineSeeking-v0``
(with a native vector entry point for ``gym.make_vec``).
"""

from importlib.metadata import PackageNotFoundError, version

import gymnasium as gym

from rlcraving.params import ModelParams
from rlcraving.pharmacology import OralTID, Placebo, RatIP, Titration
from rlcraving.protocol import PHASES, Calendar, SessionSettings, default_calendar, session

try:
    __version__ = version("rlcraving")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0.0.0"

ENV_ID = "rlcraving/CocaineSeeking-v0"

if ENV_ID not in gym.registry:
    gym.register(
        id=ENV_ID,
        entry_point="rlcraving.envs.cocaine_seeking:make_env",
        vector_entry_point="rlcraving.envs.cocaine_seeking:CocaineSeekingVectorEnv",
    )

__all__ = [
    "ENV_ID",
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
