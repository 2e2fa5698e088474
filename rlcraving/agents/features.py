"""State features of the TD agents: the observation, with drug occupancy coded by radial basis functions.

The agents' values are linear in these features, one weight vector per action:

    Q(s, a) = w_a . phi(s)

| feature | meaning (from the observation) |
|---|---|
| drug_cue | drug-paired cue on (0/1) |
| timeout | fraction of the post-infusion timeout left |
| context_A/B/C | chamber context (one-hot) |
| dysphoria | d / (1 + d) |
| incentive | u / (1 + u) |
| ratio_progress | presses made towards the ratio / ratio |
| sucrose_cue, sucrose_lever_present | only with the sucrose lever |
| occupancy_0 ... occupancy_1 | exp(-(o - c)^2 / (2 w^2)), centres c = 0, 0.25, ..., 1, width w = 0.125 |

Why linear and not a table: a table knows nothing of a state it has not visited, and relapse
tests put the subject in exactly such states (stress drives dysphoria beyond what training
showed). A linear value extrapolates what was learnt: the weight on dysphoria learnt during
self-administration applies to a stronger dysphoria later.

Why occupancy is coded by bumps: the worth of a press is not a line in occupancy (greatest
drug-free, nothing when sated), and the bumps (which sum to 1.1-1.25 everywhere) also serve as
the bias, one per drug state. There is no global bias: extinction learnt drug-free stays with the
drug-free bump and the contexts, and is not carried into drug states (extinction is retrieved in
the interoceptive state it was learnt in, Bouton 2002, as in the core's Pavlovian learning), so a
prime that puts the subject back in a drug state finds the values of self-administration. The
context one-hot is shared by all drug states, so extinction in context B leaves context A's
weight (renewal). The session clock is left out so that values learnt in 1-h sessions carry over
to 6-h and progressive-ratio sessions.

Features are stored transposed, (n_features, n_subjects), so every operation of the agents
runs over contiguous subject vectors.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from rlcraving.agents import compiled
from rlcraving.checks import check_bool
from rlcraving.core import OBSERVATION_NAMES

_BASE = ("drug_cue", "timeout", "context_A", "context_B", "context_C", "dysphoria", "incentive", "ratio_progress")
_SUCROSE = ("sucrose_cue", "sucrose_lever_present")
#: Centres of the radial basis functions coding drug occupancy, and their width (occupancy units).
OCCUPANCY_CENTRES = (0.0, 0.25, 0.5, 0.75, 1.0)
OCCUPANCY_WIDTH = 0.125
_OCCUPANCY = OBSERVATION_NAMES.index("drug_occupancy")   # in the chamber's observation
_BUMP_SCALE = -0.5 / OCCUPANCY_WIDTH**2   # exponent of a bump per squared distance from its centre


class Features:
    """The feature map for a chamber with or without the sucrose lever; or, given another world's
    `observation_names` and the `observed` names it learns from, for that world (its observation
    must have "drug_occupancy" and "incentive")."""

    def __init__(self, sucrose_lever: bool, *, observation_names: tuple[str, ...] = OBSERVATION_NAMES,
                 observed: tuple[str, ...] | None = None):
        check_bool("sucrose_lever", sucrose_lever)
        if observed is None:
            observed = _BASE + (_SUCROSE if sucrose_lever else ())
        #: Feature names, in row order.
        self.names: tuple[str, ...] = (*observed, *(f"occupancy_{c:g}" for c in OCCUPANCY_CENTRES))
        self.columns = tuple(observation_names.index(name) for name in observed)
        self._columns = np.array(self.columns, dtype=np.int64)
        self._centres = np.array(OCCUPANCY_CENTRES)
        self._scale = np.float32(_BUMP_SCALE)
        self._occupancy = observation_names.index("drug_occupancy")
        #: Column of the observed incentive signal (the agents' Pavlovian bias).
        self.incentive_column = observation_names.index("incentive")

    def __len__(self) -> int:
        return len(self.names)

    def __call__(self, obs: np.ndarray, out: np.ndarray) -> np.ndarray:
        """Features of observations `obs` (m, 12) written into `out` (n_features, m); returns `out`.
        They are computed in float32, the agents' precision, whatever the dtype of `out`."""
        if out.dtype != np.float32:
            out[...] = self(obs, np.empty(out.shape, dtype=np.float32))
            return out
        compiled.features(obs, *self.compiled_arguments(), out)
        return out

    def compiled_arguments(self) -> tuple[np.ndarray, int, np.ndarray, np.float32]:
        """The feature map as `compiled.features` takes it: observed columns, occupancy column, bump
        centres, bump exponent per squared distance (float32, the features' precision)."""
        return self._columns, self._occupancy, self._centres, self._scale


def features_of(batch: Any) -> Features:
    """The feature map for a batch: the chamber's, or the one its world names (`feature_names`)."""
    names = getattr(batch, "feature_names", None)
    if names is None:
        return Features(batch.options.sucrose_lever)
    return Features(False, observation_names=batch.observation_names, observed=names)


def linear(weights: np.ndarray, phi: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """sum_f weights[..., f, :] * phi[f, :], summed in feature order (shape weights.shape minus f).

    The order of the sum is fixed and per subject (a compiled loop, `compiled.linear`), so a
    subject's value is the same bit for bit whatever the number of subjects beside it.
    """
    if out is None:
        out = np.empty(weights.shape[:-2] + weights.shape[-1:], dtype=np.result_type(weights, phi))
    return compiled.linear(np.ascontiguousarray(weights), phi, out)


def sequential_linear(weights: np.ndarray, phi: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """`linear` as an explicit loop over features (the reference order)."""
    total = np.multiply(weights[..., 0, :], phi[0], out=out)
    for f in range(1, phi.shape[0]):
        total += weights[..., f, :] * phi[f]
    return total
