"""Pavlovian learning: Rescorla-Wagner with summed prediction and context-bound extinction.

Each subject holds, per stimulus s and outcome o,
    E[s, o]      excitatory strength (context-free)
    I[s, c, o]   inhibitory (extinction) strength, bound to the context c it was learned in
The net associative strength of s in context c is W = E[s, o] - I[s, c, o], and a trial with
stimuli x (intensities in [0, 1]) predicts V = sum_s x_s W[s, c, o] (Rescorla & Wagner 1972).

    delta = lambda - V
    delta > 0:  E[s, o]    += rate_acq * gain * delta * x_s      (gain: baclofen on bursts)
    delta < 0:  I[s, c, o] += rate_ext * (-delta) * x_s, capped at E[s, o]   (Bouton 2004)

The summed prediction gives blocking (Kamin 1969); binding extinction to the context gives
renewal (ABA, AAB, ABC) because I is silent outside the extinction context. Capping I at E
keeps every net strength non-negative: the model has no conditioned inhibitors, so an
extinguished context cannot protect a cue from extinction. Baclofen's gain
scales positive errors only: GABA-B activation damps dopamine bursts, not pauses.
"""

from __future__ import annotations

import numpy as np

STIMULI = ("drug_cue", "sucrose_cue", "context_A", "context_B", "context_C", "drug_state")
OUTCOMES = ("drug", "sucrose")
DRUG_CUE, SUCROSE_CUE, CONTEXT_0, DRUG_STATE = 0, 1, 2, 5
DRUG, SUCROSE = 0, 1
N_CONTEXTS = 3


def zeros(n: int) -> tuple[np.ndarray, np.ndarray]:
    """Naive associations for `n` subjects: E of shape (n, S, O) and I of shape (n, S, C, O)."""
    return (np.zeros((n, len(STIMULI), len(OUTCOMES))),
            np.zeros((n, len(STIMULI), N_CONTEXTS, len(OUTCOMES))))


def net_strength(E: np.ndarray, I: np.ndarray, context: np.ndarray) -> np.ndarray:
    """W[n, s, o] = E - I in each subject's context (shape (n, S, O))."""
    return E - I[np.arange(len(context)), :, context, :]


def prediction(E: np.ndarray, I: np.ndarray, x: np.ndarray, context: np.ndarray,
               outcome: np.ndarray) -> np.ndarray:
    """Summed prediction V of `outcome` (per subject) from stimuli `x` (n, S) in `context`."""
    rows = np.arange(len(context))
    w = E[rows, :, outcome] - I[rows, :, context, outcome]
    return np.einsum("ns,ns->n", x, w)


def update(E: np.ndarray, I: np.ndarray, x: np.ndarray, context: np.ndarray, outcome: np.ndarray,
           lam: np.ndarray, rate_acq: np.ndarray | float, rate_ext: np.ndarray | float,
           gain: np.ndarray | float = 1.0) -> np.ndarray:
    """One trial per subject, in place. Returns the prediction errors delta (n,)."""
    rows = np.arange(len(context))
    delta = lam - prediction(E, I, x, context, outcome)
    pos = np.maximum(delta, 0.0) * rate_acq * gain
    neg = np.maximum(-delta, 0.0) * rate_ext
    E[rows, :, outcome] += pos[:, None] * x
    inhibition = I[rows, :, context, outcome] + neg[:, None] * x
    I[rows, :, context, outcome] = np.minimum(inhibition, np.maximum(E[rows, :, outcome], 0.0))
    return delta
