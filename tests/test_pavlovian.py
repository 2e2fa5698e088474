"""Rescorla-Wagner learning with summed prediction and context-bound extinction.

Acquisition, extinction, blocking (Kamin 1969) and renewal (Bouton 2004: ABA, AAB, ABC) at the
level of the associations, with the functions of `rlcraving.pavlovian` on a few subjects at once.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from rlcraving import pavlovian as pav

RATE, EXT_RATE = 0.2, 0.1
A, B, C = 0, 1, 2
CUE, LIGHT = pav.DRUG_CUE, pav.SUCROSE_CUE  # two discrete stimuli, both paired with the drug outcome here


def stimuli(n: int, *present: int, context: int | None = None) -> np.ndarray:
    """Stimulus intensities (n, S): the given stimuli and the context's own stimulus at 1."""
    x = np.zeros((n, len(pav.STIMULI)))
    x[:, list(present)] = 1.0
    if context is not None:
        x[:, pav.CONTEXT_0 + context] = 1.0
    return x


def trials(E: np.ndarray, I: np.ndarray, x: np.ndarray, context: int, reinforced: bool, count: int,
           gain: float = 1.0) -> list[np.ndarray]:
    """`count` identical trials for every subject; returns the prediction errors of each."""
    n = E.shape[0]
    ctx = np.full(n, context)
    outcome = np.full(n, pav.DRUG)
    lam = np.full(n, 1.0 if reinforced else 0.0)
    return [pav.update(E, I, x, ctx, outcome, lam, RATE, EXT_RATE, gain) for _ in range(count)]


def strength(E: np.ndarray, I: np.ndarray, stimulus: int, context: int) -> np.ndarray:
    """Net strength of `stimulus` for the drug outcome in `context`, per subject."""
    return pav.net_strength(E, I, np.full(E.shape[0], context))[:, stimulus, pav.DRUG]


def test_acquisition_approaches_the_asymptote_with_shrinking_errors() -> None:
    E, I = pav.zeros(2)
    deltas = np.array(trials(E, I, stimuli(2, CUE), A, True, 40))[:, 0]
    assert deltas[0] == 1.0
    assert np.all(np.diff(deltas) < 0) and np.all(deltas > 0)
    assert strength(E, I, CUE, A) == pytest.approx(1.0, abs=1e-3)
    # the first trial moves the cue by exactly the learning rate
    E1, I1 = pav.zeros(1)
    trials(E1, I1, stimuli(1, CUE), A, True, 1)
    assert strength(E1, I1, CUE, A)[0] == pytest.approx(RATE)


def test_extinction_drives_the_prediction_to_zero_without_erasing_excitation() -> None:
    E, I = pav.zeros(1)
    trials(E, I, stimuli(1, CUE, context=A), A, True, 60)
    before = E.copy()
    trials(E, I, stimuli(1, CUE, context=A), A, False, 80)
    x = stimuli(1, CUE, context=A)
    assert pav.prediction(E, I, x, np.array([A]), np.array([pav.DRUG]))[0] == pytest.approx(0.0, abs=1e-3)
    assert np.array_equal(E, before), "extinction is new inhibitory learning, not unlearning"
    assert I[0, CUE, A, pav.DRUG] > 0


def test_blocking_by_a_pretrained_cue() -> None:
    """Kamin blocking: after CUE -> drug, the compound CUE+LIGHT -> drug teaches LIGHT little."""
    E_block, I_block = pav.zeros(1)
    trials(E_block, I_block, stimuli(1, CUE), A, True, 60)
    trials(E_block, I_block, stimuli(1, CUE, LIGHT), A, True, 20)
    E_ctrl, I_ctrl = pav.zeros(1)
    trials(E_ctrl, I_ctrl, stimuli(1, CUE, LIGHT), A, True, 20)
    blocked, control = strength(E_block, I_block, LIGHT, A)[0], strength(E_ctrl, I_ctrl, LIGHT, A)[0]
    assert control > 0.4  # overshadowing: the two cues share the asymptote
    assert blocked < 0.1 * control


def test_overexpectation_with_the_summed_prediction() -> None:
    """Two cues each trained to the asymptote, reinforced together, lose strength."""
    E, I = pav.zeros(1)
    trials(E, I, stimuli(1, CUE), A, True, 60)
    trials(E, I, stimuli(1, LIGHT), A, True, 60)
    first = trials(E, I, stimuli(1, CUE, LIGHT), A, True, 1)[0]
    assert first[0] < 0 and strength(E, I, CUE, A)[0] < 1.0


def compound_prediction(E: np.ndarray, I: np.ndarray, stimulus: int, context: int) -> float:
    """Summed prediction of the drug by `stimulus` presented in `context` (subject 0)."""
    x = stimuli(1, stimulus, context=context)
    return float(pav.prediction(E[:1], I[:1], x, np.array([context]), np.array([pav.DRUG]))[0])


@pytest.mark.parametrize(("acquire", "extinguish", "test"), [(A, B, A), (A, A, B), (A, B, C)],
                         ids=["ABA", "AAB", "ABC"])
def test_renewal_outside_the_extinction_context(acquire: int, extinguish: int, test: int) -> None:
    E, I = pav.zeros(1)
    trials(E, I, stimuli(1, CUE, context=acquire), acquire, True, 60)
    cue_before = strength(E, I, CUE, acquire)[0]
    trials(E, I, stimuli(1, CUE, context=extinguish), extinguish, False, 100)
    assert compound_prediction(E, I, CUE, extinguish) < 0.01, "extinguished where extinction was learned"
    assert strength(E, I, CUE, test)[0] == pytest.approx(cue_before), "the cue is intact elsewhere"
    assert compound_prediction(E, I, CUE, test) > 0.4, "renewed outside the extinction context"


def test_extinction_in_b_leaves_the_association_in_a_intact() -> None:
    E, I = pav.zeros(1)
    trials(E, I, stimuli(1, CUE, context=A), A, True, 60)
    in_a = strength(E, I, CUE, A).copy()
    trials(E, I, stimuli(1, CUE, context=B), B, False, 100)
    assert strength(E, I, CUE, A) == pytest.approx(in_a, abs=1e-12)
    assert strength(E, I, CUE, B)[0] < 0.05


def test_baclofen_gain_slows_acquisition_but_not_extinction() -> None:
    """GABA-B activation damps dopamine bursts (positive errors) and not pauses."""
    E_full, I_full = pav.zeros(1)
    E_bac, I_bac = pav.zeros(1)
    trials(E_full, I_full, stimuli(1, CUE), A, True, 5)
    trials(E_bac, I_bac, stimuli(1, CUE), A, True, 5, gain=0.4)
    assert strength(E_bac, I_bac, CUE, A)[0] < strength(E_full, I_full, CUE, A)[0]
    E_full[:] = E_bac[:] = 1.0  # same starting point for extinction
    I_full[:] = I_bac[:] = 0.0
    d_full = trials(E_full, I_full, stimuli(1, CUE), A, False, 5)
    d_bac = trials(E_bac, I_bac, stimuli(1, CUE), A, False, 5, gain=0.4)
    assert np.array_equal(np.array(d_full), np.array(d_bac))


def test_subjects_learn_independently() -> None:
    E, I = pav.zeros(3)
    n = 3
    ctx = np.array([A, B, C])
    x = stimuli(n, CUE)
    x[:, pav.CONTEXT_0 + ctx] = 1.0
    lam = np.array([1.0, 0.0, 1.0])
    pav.update(E, I, x, ctx, np.full(n, pav.DRUG), lam, RATE, EXT_RATE)
    assert E[0].sum() > 0 and E[1].sum() == 0 and I[1].sum() == 0
    assert np.array_equal(E[0], E[2])


@given(st.lists(st.tuples(st.integers(0, 2), st.booleans(), st.booleans(), st.booleans()), min_size=1,
                max_size=60),
       st.floats(0.0, 1.0), st.floats(0.0, 1.0), st.floats(0.0, 1.0))
def test_associations_stay_bounded(history: list[tuple[int, bool, bool, bool]], rate: float, ext: float,
                                   gain: float) -> None:
    """Any trial history keeps excitation and inhibition finite, non-negative and within the
    asymptote a compound of all stimuli can reach; inhibition never exceeds excitation (no
    conditioned inhibitors), so net strengths are never negative."""
    E, I = pav.zeros(1)
    n_stimuli = len(pav.STIMULI)
    for context, cue, light, reinforced in history:
        present = [s for s, on in ((CUE, cue), (LIGHT, light)) if on]
        x = stimuli(1, *present, context=context)
        pav.update(E, I, x, np.array([context]), np.array([pav.DRUG]), np.array([float(reinforced)]),
                   rate, ext, gain)
    assert np.all(np.isfinite(E)) and np.all(np.isfinite(I))
    assert np.all(E >= 0) and np.all(I >= 0)
    assert np.all(n_stimuli >= E) and np.all(n_stimuli >= I)
    for context in (A, B, C):
        assert np.all(pav.net_strength(E, I, np.array([context])) >= -1e-12)


def _learn_reference(e, i, x, lam, rate_acq, rate_ext, gain, retrieval):
    """The rule of the module docstring written as whole-array numpy, to check the compiled one."""
    delta = lam - np.sum(x * (e - retrieval[:, None] * i), axis=1)
    excite = np.where(lam > 0, delta * rate_acq * np.where(delta > 0, gain, 1.0), 0.0)
    extinguish = np.where(lam > 0, 0.0, np.maximum(-delta, 0.0) * rate_ext)
    e = np.maximum(e + excite[:, None] * x, 0.0)
    return e, np.minimum(i + extinguish[:, None] * x, e), delta


@given(st.integers(0, 2**32 - 1))
def test_the_compiled_rule_is_the_documented_rule(seed: int) -> None:
    rng = np.random.default_rng(seed)
    m, k = 7, 3
    e = rng.uniform(0, 1, (m, k))
    i = rng.uniform(0, 1, (m, k)) * e
    x = rng.uniform(0, 1, (m, k))
    lam = (rng.uniform(size=m) < 0.5).astype(float)
    rates, gain, retrieval = rng.uniform(0, 0.5, (2, m)), rng.uniform(0, 1, m), rng.uniform(0, 1, m)
    got = pav.learn(e, i, x, lam, rates[0], rates[1], gain, retrieval)
    want = _learn_reference(e, i, x, lam, rates[0], rates[1], gain, retrieval)
    for g, w in zip(got, want, strict=True):
        np.testing.assert_allclose(g, w, rtol=1e-12, atol=1e-15)
    # shared (scalar) arguments mean the same as per-trial ones; the inputs are left alone
    e0 = e.copy()
    shared = pav.learn(e, i, x, lam, 0.2, 0.1, 0.5, 1.0)
    per_trial = pav.learn(e, i, x, lam, np.full(m, 0.2), np.full(m, 0.1), np.full(m, 0.5), np.ones(m))
    for s, p in zip(shared, per_trial, strict=True):
        assert np.array_equal(s, p)
    assert np.array_equal(e, e0)


@pytest.mark.parametrize("generality", [0.0, 0.35, 1.0])
def test_a_general_share_of_extinction_follows_the_cue_to_other_contexts(generality: float) -> None:
    """Extinction of a cue in B is expressed in A at the general share only (Bouton 2004: renewal is
    partial), and in full in B."""
    E, I = pav.zeros(1)
    trials(E, I, stimuli(1, CUE), A, True, 60)
    trials(E, I, stimuli(1, CUE), B, False, 60)
    cue = stimuli(1, CUE)
    learnt, extinguished = E[0, CUE, pav.DRUG], I[0, CUE, B, pav.DRUG]
    in_a = pav.prediction(E, I, cue, np.array([A]), np.array([pav.DRUG]), generality=generality)[0]
    in_b = pav.prediction(E, I, cue, np.array([B]), np.array([pav.DRUG]), generality=generality)[0]
    assert in_a == pytest.approx(max(learnt - generality * extinguished, 0.0))
    assert in_b == pytest.approx(max(learnt - extinguished, 0.0))
