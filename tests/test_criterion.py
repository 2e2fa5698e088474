"""Training to criterion (rlcraving.criterion): the decisions on synthetic session counts."""

from __future__ import annotations

import pytest

from rlcraving.criterion import CRITERION, TrainingCriterion, epsilon_greedy_ceiling, epsilon_greedy_extinction_floor

C = TrainingCriterion(min_sa=4, max_sa=10, stable_sessions=3, min_extinction=3, max_extinction=8,
                      extinguished_sessions=2)


def test_acquisition_needs_the_minimum_of_sessions() -> None:
    assert not C.acquired([20.0] * 3, [2.0] * 3, [10.0] * 3)
    assert C.acquired([20.0] * 4, [2.0] * 4, [10.0] * 4)


def test_acquisition_needs_each_of_the_last_sessions_to_discriminate() -> None:
    active, infusions = [20.0] * 5, [10.0] * 5
    assert not C.acquired(active, [2.0, 2.0, 2.0, 11.0, 2.0], infusions)   # 20 < 2 x 11 in one of the last 3
    assert C.acquired(active, [11.0, 2.0, 2.0, 2.0, 2.0], infusions)       # only before the last 3
    assert not C.acquired(active, [2.0] * 5, [10.0, 10.0, 10.0, 4.0, 10.0])  # < 5 infusions


def test_acquisition_needs_stable_intake() -> None:
    active, inactive = [40.0] * 5, [2.0] * 5
    assert not C.acquired(active, inactive, [10.0, 10.0, 6.0, 10.0, 14.0])   # +-40% of the mean
    assert C.acquired(active, inactive, [10.0, 20.0, 9.0, 10.0, 11.0])       # within 20% over the last 3


def test_extinction_needs_the_minimum_and_each_of_the_last_sessions_low() -> None:
    level = C.acquisition_level([30.0, 20.0, 20.0, 20.0])   # mean of the last 3 FR1 sessions
    assert level == pytest.approx(20.0)
    assert not C.extinguished([1.0, 1.0], level)            # fewer than min_extinction sessions
    assert C.extinguished([9.0, 4.0, 4.0], level)           # < 25% of 20 in the last 2
    assert not C.extinguished([4.0, 6.0, 4.0], level)       # 6 >= 5 among the last 2


def test_bad_input_is_refused() -> None:
    with pytest.raises(ValueError, match="sessions"):
        C.acquired([1.0, 2.0], [1.0], [1.0, 2.0])
    with pytest.raises(ValueError, match="max_sa"):
        TrainingCriterion(min_sa=10, max_sa=5)
    with pytest.raises(ValueError, match="empty"):
        C.acquisition_level([])


def test_an_ideal_regulator_acquires_without_exploration_but_not_at_dqns_default_floor() -> None:
    """`epsilon_greedy_ceiling`: the regulator alone presses the drug lever far more than the inactive one (which
    only the operant level presses); at an exploration floor of 0.05 its inactive presses (exploration and
    operant level) are more than half its active ones, below the acquisition criterion's 2x."""
    active, inactive = epsilon_greedy_ceiling(0.0, n_subjects=16, sessions=3)
    assert active > CRITERION.ratio * inactive and active >= CRITERION.min_infusions
    active_eps, inactive_eps = epsilon_greedy_ceiling(0.05, n_subjects=16, sessions=3)
    assert inactive_eps > inactive and active_eps < CRITERION.ratio * inactive_eps
    assert epsilon_greedy_ceiling(0.05, n_subjects=16, sessions=3) == (active_eps, inactive_eps)
    with pytest.raises(ValueError, match="epsilon"):
        epsilon_greedy_ceiling(1.5)


def test_an_ideal_agent_cannot_extinguish_below_half_its_fr1_pressing_at_dqns_default_floor() -> None:
    """`epsilon_greedy_extinction_floor`: the regulator that stops pressing in extinction, exploring at 0.05, still
    presses the active lever more than half as often as in FR1 (exploration alone is 15 an hour at 4-s steps),
    so neither the row's extinction check (below 50%) nor the criterion (below 25%) can be met; without
    exploration it can. Its FR1 session is `epsilon_greedy_ceiling`'s."""
    fr1, extinction = epsilon_greedy_extinction_floor(0.0, n_subjects=16, sessions=3, extinction_sessions=3)
    assert extinction < CRITERION.extinction_fraction * fr1
    fr1_eps, extinction_eps = epsilon_greedy_extinction_floor(0.05, n_subjects=16, sessions=3, extinction_sessions=3)
    assert extinction_eps > 0.5 * fr1_eps
    assert fr1_eps == epsilon_greedy_ceiling(0.05, n_subjects=16, sessions=3)[0]
    with pytest.raises(ValueError, match="extinction_sessions"):
        epsilon_greedy_extinction_floor(0.05, extinction_sessions=-1)
