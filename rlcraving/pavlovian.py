"""Pavlovian learning: Rescorla-Wagner with summed prediction and context-bound extinction.

Each subject holds, per stimulus s and outcome o,
    E[s, o]      excitatory strength (context-free)
    I[s, c, o]   inhibitory (extinction) strength, bound to the context c it was learned in
The net associative strength of s in context c is W = E[s, o] - I[s, c, o], and a trial with
stimuli x (intensities in [0, 1]) predicts V = sum_s x_s W[s, c, o] (Rescorla & Wagner 1972).

    delta = lambda - V
    reinforced trial (lambda > 0):
        E[s, o] += rate_acq * delta * x_s * (gain if delta > 0 else 1), floored at 0
    non-reinforced trial (lambda = 0), delta < 0:
        I[s, c, o] += rate_ext * (-delta) * x_s, capped at E[s, o]          (Bouton 2004)

Extinction is new, context-bound learning on non-reinforced trials; an over-prediction on a
reinforced trial (overexpectation) corrects the excitatory strength itself.

The summed prediction gives blocking (Kamin 1969); binding extinction to the context gives
renewal (ABA, AAB, ABC) because I is silent outside the extinction context. Extinction is
also bound to the interoceptive state it was learned in (Bouton 2002): the core passes a
retrieval strength r in [0, 1] that falls when a drug or stress state differs from the
drug-free, unstressed state of extinction, and I is expressed as r I. Part of extinction is
general (Bouton 2004: extinction transfers partly to other contexts): the core's r includes that
share, and the share of the inhibition learnt in other contexts (`elsewhere`) is expressed too.
Net strengths are floored at 0 and I is capped at E: the model has no conditioned inhibitors, so
an extinguished context cannot protect a cue from extinction. Baclofen's gain
scales positive errors only: GABA-B activation damps dopamine bursts, not pauses.
"""

from __future__ import annotations

import numpy as np

from rlcraving.threads import compiled

STIMULI = ("drug_cue", "sucrose_cue", "context_A", "context_B", "context_C", "drug_state", "drug_lever")
OUTCOMES = ("drug", "sucrose")
DRUG_CUE, SUCROSE_CUE, CONTEXT_0, DRUG_STATE, DRUG_LEVER = 0, 1, 2, 5, 6
DRUG, SUCROSE = 0, 1
N_CONTEXTS = 3


def zeros(n: int) -> tuple[np.ndarray, np.ndarray]:
    """Naive associations for `n` subjects: E of shape (n, S, O) and I of shape (n, S, C, O)."""
    return (np.zeros((n, len(STIMULI), len(OUTCOMES))),
            np.zeros((n, len(STIMULI), N_CONTEXTS, len(OUTCOMES))))


def net_strength(E: np.ndarray, I: np.ndarray, context: np.ndarray) -> np.ndarray:
    """W[n, s, o] = E - I in each subject's context (shape (n, S, O))."""
    return E - I[np.arange(len(context)), :, context, :]


def elsewhere(I: np.ndarray, context: np.ndarray, outcome: np.ndarray, generality: float) -> np.ndarray:
    """Inhibition learnt in the other contexts and expressed in `context`: `generality` times its
    sum (n, S), for each subject's `outcome`."""
    rows = np.arange(len(context))
    per_context = I[rows, :, :, outcome]
    return generality * (per_context.sum(axis=2) - per_context[np.arange(len(rows)), :, context])


def prediction(E: np.ndarray, I: np.ndarray, x: np.ndarray, context: np.ndarray,
               outcome: np.ndarray, retrieval: np.ndarray | float = 1.0,
               generality: float = 0.0) -> np.ndarray:
    """Summed prediction V of `outcome` (per subject) from stimuli `x` (n, S) in `context`, with
    extinction memories of `context` expressed at strength `retrieval` (0..1, per subject) and those
    of other contexts at `generality`."""
    rows = np.arange(len(context))
    w = (E[rows, :, outcome] - np.asarray(retrieval, dtype=float)[..., None] * I[rows, :, context, outcome]
         - elsewhere(I, context, outcome, generality))
    return np.einsum("ns,ns->n", x, np.maximum(w, 0.0))


@compiled
def trial(e: np.ndarray, i: np.ndarray, x: np.ndarray, lam: float, rate_acq: float, rate_ext: float,
          gain: float, retrieval: float, other: np.ndarray) -> float:
    """One trial on k stimuli, in place: the learning rule itself.

    e, i, x: (k,) excitatory strength, context-bound inhibitory strength (in the trial's context,
    for the trial's outcome) and intensity of each stimulus present. lam: the outcome (0 on a
    non-reinforced trial). retrieval: expression of the trial context's inhibition; other: (k,)
    inhibition of other contexts expressed here. Returns the prediction error delta.
    """
    predicted = 0.0
    for s in range(x.size):
        predicted += x[s] * max(e[s] - retrieval * i[s] - other[s], 0.0)
    delta = lam - predicted
    excite = delta * rate_acq * (gain if delta > 0 else 1.0) if lam > 0 else 0.0
    extinguish = 0.0 if lam > 0 else max(-delta, 0.0) * rate_ext
    for s in range(x.size):
        e[s] = max(e[s] + excite * x[s], 0.0)
        i[s] = min(i[s] + extinguish * x[s], e[s])
    return delta


@compiled
def _trials(e: np.ndarray, i: np.ndarray, x: np.ndarray, lam: np.ndarray, rate_acq: np.ndarray,
            rate_ext: np.ndarray, gain: np.ndarray, retrieval: np.ndarray, other: np.ndarray) -> np.ndarray:
    delta = np.empty(e.shape[0])
    for t in range(e.shape[0]):
        delta[t] = trial(e[t], i[t], x[t], lam[t], rate_acq[t], rate_ext[t], gain[t], retrieval[t], other[t])
    return delta


def learn(e: np.ndarray, i: np.ndarray, x: np.ndarray, lam: np.ndarray, rate_acq: np.ndarray | float,
          rate_ext: np.ndarray | float, gain: np.ndarray | float = 1.0,
          retrieval: np.ndarray | float = 1.0,
          other: np.ndarray | float = 0.0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """`trial` for m trials (one per subject).

    e, i, x: (m, k); other: (m, k) or shared; the other arguments per trial (m,) or shared.
    Returns the new (e, i) and the prediction errors delta (m,).
    """
    e, i = np.array(e, dtype=float), np.array(i, dtype=float)
    per_trial = [np.ascontiguousarray(np.broadcast_to(np.asarray(v, dtype=float), (e.shape[0],)))
                 for v in (lam, rate_acq, rate_ext, gain, retrieval)]
    other = np.ascontiguousarray(np.broadcast_to(np.asarray(other, dtype=float), e.shape))
    delta = _trials(e, i, np.ascontiguousarray(x, dtype=float), *per_trial, other)
    return e, i, delta


def update(E: np.ndarray, I: np.ndarray, x: np.ndarray, context: np.ndarray, outcome: np.ndarray,
           lam: np.ndarray, rate_acq: np.ndarray | float, rate_ext: np.ndarray | float,
           gain: np.ndarray | float = 1.0, retrieval: np.ndarray | float = 1.0,
           generality: float = 0.0) -> np.ndarray:
    """One trial per subject on full association arrays (x over all stimuli), in place; inhibition
    of other contexts is expressed at `generality`. Returns the prediction errors delta (n,)."""
    rows = np.arange(len(context))
    e, i, delta = learn(E[rows, :, outcome], I[rows, :, context, outcome], x, lam, rate_acq, rate_ext, gain,
                        retrieval, elsewhere(I, context, outcome, generality))
    E[rows, :, outcome], I[rows, :, context, outcome] = e, i
    return delta
