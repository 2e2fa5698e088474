"""The organism's compiled baclofen pass gives the numbers of its numpy definition, bit for bit."""

from __future__ import annotations

import copy

import numpy as np

from rlcraving import random as rnd
from rlcraving.core import ACTIVE, SubjectBatch, SubjectOptions
from rlcraving.organism import OTHER, STREAM_SEDATION
from rlcraving.params import ModelParams
from rlcraving.pharmacology import RatIP
from rlcraving.protocol import session


def _slowed(batch: SubjectBatch, a: np.ndarray, sedation: np.ndarray) -> np.ndarray:
    """Sedation's rule in numpy: an action attempted while sedated is held and carried out on a later
    step, each step with probability 1 - sedation; meanwhile the subject does nothing else. Returns
    the actions carried out now (and updates the batch's held actions)."""
    go = rnd.uniform(batch.keys, batch.counter, STREAM_SEDATION) >= sedation
    held = batch.held_action != OTHER
    new = ~held & (a != OTHER) & ~go
    out = np.where(held, np.where(go, batch.held_action, OTHER), np.where(new, OTHER, a))
    batch.held_action = np.where(held & go, OTHER, np.where(new, a, batch.held_action))
    batch._any_held = bool((batch.held_action != OTHER).any())
    return out


def _numpy_feel(batch: SubjectBatch, actions: np.ndarray) -> tuple[np.ndarray, ...]:
    """`_feel_baclofen` as numpy: the effects of `baclofen_effects`, sedation by `_slowed`."""
    conc, gain, natural, sedation, withdrawal = batch.baclofen_effects()
    if batch._any_held or np.any((actions != OTHER) & (sedation > 0)):
        actions = _slowed(batch, actions, sedation)
    return actions, conc, gain, natural, withdrawal


def test_the_compiled_pass_equals_baclofen_effects_and_slowed() -> None:
    sessions = [session(baclofen_mg_per_day=300.0), session(baclofen=RatIP(5.0)), session(),
                session(baclofen_mg_per_day=60.0), session(baclofen=RatIP(1.25)), session(baclofen_mg_per_day=300.0)]
    batch = SubjectBatch(len(sessions), ModelParams(), SubjectOptions())
    for i, settings in enumerate(sessions):
        batch.start_sessions(np.array([i]), settings, first=True)
    rng = np.random.default_rng(5)
    held_seen = slowed_seen = 0
    for _ in range(400):
        actions = rng.choice([OTHER, ACTIVE, ACTIVE, 2], size=batch.n).astype(np.int64)
        old, new = copy.deepcopy(batch), copy.deepcopy(batch)
        expected = _numpy_feel(old, actions)
        a, gain, natural, withdrawal = new._feel_baclofen(actions)
        for got, want in zip((a, new.baclofen_mg_per_l, gain, natural, withdrawal), expected, strict=True):
            np.testing.assert_array_equal(got, want)
        np.testing.assert_array_equal(new.held_action, old.held_action)
        assert new._any_held == old._any_held
        assert (a is actions) == (expected[0] is actions)   # the world tells slowed actions by identity
        held_seen += int((old.held_action != OTHER).any())
        slowed_seen += int(expected[0] is not actions)
        batch.step(actions)
    assert held_seen > 10 and slowed_seen > held_seen   # sedation held presses and let them go


def test_a_world_with_its_own_effects_keeps_them() -> None:
    """A world that overrides `baclofen_effects` (the outpatient's) has its effects used, not the table's."""

    class Sleepy(SubjectBatch):
        def baclofen_effects(self) -> np.ndarray:
            effects = super().baclofen_effects()
            effects[3] = 0.999   # nearly everyone sedated: presses held
            return effects

    batch = Sleepy(4, ModelParams(), SubjectOptions())
    batch.start_sessions(np.arange(4), session(baclofen=RatIP(1.25)), first=True)
    actions = np.full(4, ACTIVE, dtype=np.int64)
    expected = _numpy_feel(copy.deepcopy(batch), actions)
    a, *_ = batch._feel_baclofen(actions)
    np.testing.assert_array_equal(a, expected[0])
    assert (a == OTHER).sum() >= 3 and batch._any_held
