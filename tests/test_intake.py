"""Food satiety, baclofen's sparing of food's primary value, and what a learner credits under sedation."""

from __future__ import annotations

import numpy as np

from rlcraving.core import ACTIVE, OTHER, SUCROSE, SubjectBatch, SubjectOptions
from rlcraving.params import ModelParams
from rlcraving.pharmacology import RatIP
from rlcraving.protocol import session


def _sucrose_batch(params: ModelParams, baclofen: RatIP | None = None) -> SubjectBatch:
    b = SubjectBatch(1, params, SubjectOptions(sucrose_lever=True))
    extra = {} if baclofen is None else {"baclofen": baclofen}
    b.start_sessions(np.arange(1), session("sucrose_self_administration", **extra), first=True)
    return b


def _pellet_values(b: SubjectBatch, n_steps: int) -> list[float]:
    """The primary value of each pellet earned pressing the sucrose lever for `n_steps` steps."""
    values = []
    for _ in range(n_steps):
        before = b.summary["pellets"][0]
        b.step(np.array([SUCROSE]))
        if b.summary["pellets"][0] > before:
            values.append(float(b.components["sucrose"][0]))
    return values


def test_a_pellet_is_worth_the_share_of_the_meal_still_wanted() -> None:
    p = ModelParams(meal_size_pellets=4.0, gut_emptying_half_life_min=1e5)
    values = _pellet_values(_sucrose_batch(p), 8 * 7)
    expected = [p.sucrose_reward * max(1.0 - k / 4.0, 0.0) for k in range(len(values))]
    assert len(values) >= 6
    assert np.allclose(values, expected, atol=1e-4)


def test_the_gut_empties_between_sessions() -> None:
    p = ModelParams(meal_size_pellets=4.0, gut_emptying_half_life_min=60.0)
    b = _sucrose_batch(p)
    _pellet_values(b, 6 * 3)
    assert b.gut_pellets[0] > 2.0
    b.start_sessions(np.arange(1), session("sucrose_self_administration"))
    assert b.gut_pellets[0] < 1e-6


def test_baclofen_leaves_the_primary_value_of_a_pellet() -> None:
    p = ModelParams(sedation_max=0.0)
    placebo = _pellet_values(_sucrose_batch(p), 12)
    b = _sucrose_batch(p, RatIP(5.0))
    drug = _pellet_values(b, 12)
    assert b.baclofen_effects()[2, 0] < 1.0   # the natural-reward gain is lowered ...
    assert drug == placebo                    # ... but not the pellet's liking and hunger


def test_a_learner_is_credited_with_what_sedation_let_the_subject_do() -> None:
    b = SubjectBatch(1, ModelParams(sedation_max=1.0, sedation_ec50_multiple=0.1))
    b.start_sessions(np.arange(1), session("self_administration", baclofen=RatIP(5.0)), first=True)
    b.step(np.array([ACTIVE]))
    assert b.performed_actions is not None and b.performed_actions[0] == OTHER   # held, not pressed
    assert b.components["cost"][0] == 0.0 and b.summary["active_presses"][0] == 0.0
