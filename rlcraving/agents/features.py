"""State features of the TD agents: the observation, linearly, with a bias in place of the clock.

The agents' values are linear in these features, one weight vector per action:

    Q(s, a) = w_a . phi(s)

| index | feature | from observation |
|---|---|---|
| 0 | drug_cue | drug-paired cue on (0/1) |
| 1 | sucrose_cue | sucrose-paired cue on (0/1) |
| 2 | timeout | fraction of the post-infusion timeout left |
| 3-5 | context_A/B/C | chamber context (one-hot) |
| 6 | drug_occupancy | dopamine-transporter occupancy, 0..1 |
| 7 | dysphoria | d / (1 + d) |
| 8 | incentive | u / (1 + u) |
| 9 | ratio_progress | presses made towards the ratio / ratio |
| 10 | bias | 1 (replaces the observation's session_time) |
| 11 | sucrose_lever_present | sucrose lever extended (0/1) |

Why linear and not a table: a table knows nothing of a state it has not visited, and
relapse tests put the subject in exactly such states (stress drives dysphoria, a prime drives
occupancy, beyond what training showed). A linear value extrapolates what was learned: the
weight on dysphoria learned from relief during self-administration applies to a stronger
dysphoria later. The bias and the context one-hot are deliberately both present: what is
learned in one context is split between the shared bias and that context's weight, so
extinction in context B transfers only in part to context A (partial renewal). The session
clock is left out so that values learned in 1-h sessions carry over to 6-h sessions.
"""

from __future__ import annotations

import numpy as np

from rlcraving.core import OBSERVATION_NAMES

_CLOCK = OBSERVATION_NAMES.index("session_time")

#: Names of the feature columns (see the module docstring).
FEATURE_NAMES: tuple[str, ...] = tuple("bias" if i == _CLOCK else name for i, name in enumerate(OBSERVATION_NAMES))
N_FEATURES = len(FEATURE_NAMES)
INCENTIVE = OBSERVATION_NAMES.index("incentive")
OCCUPANCY = OBSERVATION_NAMES.index("drug_occupancy")


def observation_features(obs: np.ndarray, out: np.ndarray) -> np.ndarray:
    """Write the features of observations `obs` (n, 12) into `out` (n, 12, float64) and return it."""
    np.copyto(out, obs)
    out[:, _CLOCK] = 1.0
    return out
