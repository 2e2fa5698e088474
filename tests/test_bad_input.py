"""Bad input: every kwarg, reset option, seed and action is checked, and a rejected call changes nothing.

Each error is a ValueError or TypeError whose message names the parameter, shows the value and
says what is allowed.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import gymnasium as gym
import numpy as np
import pytest

from rlcraving.envs import CocaineSeekingEnv, CocaineSeekingVectorEnv
from rlcraving.pharmacology import OralTID, RatIP, Titration
from rlcraving.protocol import Calendar, session

NAN, INF = math.nan, math.inf
#: Words by which a message says what is allowed.
ALLOWED_MARKERS = ("allowed", "required", "one of", "must be", "needs", "give ", "is not in ")

Snapshot = dict[str, Any]


def assert_clear_error(error: pytest.ExceptionInfo, name: str, value: Any) -> None:
    """The message names `name`, shows `value` and says what is allowed."""
    message = str(error.value)
    assert name in message, message
    assert repr(value) in message or str(value) in message, message
    assert any(marker in message for marker in ALLOWED_MARKERS), message


# ------------------------------------------------------------------ constructor kwargs

KWARG_CASES: list[tuple[str, Any, type[Exception]]] = [
    ("baclofen_mg_per_day", -5.0, ValueError),
    ("baclofen_mg_per_day", NAN, ValueError),
    ("baclofen_mg_per_day", INF, ValueError),
    ("baclofen_mg_per_day", 1e6, ValueError),
    ("baclofen_mg_per_day", "60", TypeError),
    ("baclofen_mg_per_day", True, TypeError),
    ("baclofen_mg_per_day", None, TypeError),
    ("baclofen", "OralTID", TypeError),
    ("baclofen", 60.0, TypeError),
    ("sucrose_lever", 1, TypeError),
    ("sucrose_lever", "yes", TypeError),
    ("kor_knockout", None, TypeError),
    ("individual_differences", 0, TypeError),
    ("calendar", "default", TypeError),
    ("calendar", 21, TypeError),
    ("render_mode", "human", ValueError),
]


@pytest.mark.parametrize("make", [CocaineSeekingEnv, lambda **kw: CocaineSeekingVectorEnv(2, **kw)],
                         ids=["single", "vector"])
@pytest.mark.parametrize(("name", "value", "error"), KWARG_CASES, ids=[f"{n}={v!r}" for n, v, _ in KWARG_CASES])
def test_bad_kwargs_are_rejected(make: Callable[..., Any], name: str, value: Any, error: type[Exception]) -> None:
    with pytest.raises(error) as caught:
        make(**{name: value})
    assert_clear_error(caught, name, value)


def test_gym_make_rejects_bad_kwargs_too() -> None:
    with pytest.raises(ValueError) as caught:
        gym.make("rlcraving/CocaineSeeking-v0", baclofen_mg_per_day=-1.0)
    assert_clear_error(caught, "baclofen_mg_per_day", -1.0)


@pytest.mark.parametrize(("value", "error"), [(0, ValueError), (-1, ValueError), (2.5, ValueError),
                                              ("3", TypeError), (True, TypeError), (NAN, ValueError)])
def test_bad_num_envs(value: Any, error: type[Exception]) -> None:
    with pytest.raises(error) as caught:
        CocaineSeekingVectorEnv(value)
    assert_clear_error(caught, "num_envs", value)


def test_regimen_and_daily_dose_together_are_rejected() -> None:
    with pytest.raises(ValueError) as caught:
        CocaineSeekingEnv(baclofen=OralTID(30.0), baclofen_mg_per_day=60.0)
    assert_clear_error(caught, "baclofen_mg_per_day", 60.0)


@pytest.mark.parametrize(("make", "name", "value"), [
    (lambda: OralTID(-1.0), "baclofen_mg_per_day", -1.0),
    (lambda: OralTID(NAN), "baclofen_mg_per_day", NAN),
    (lambda: OralTID(1000.0), "baclofen_mg_per_day", 1000.0),
    (lambda: OralTID(60.0, at_steady_state=1), "at_steady_state", 1),
    (lambda: Titration(target_mg_per_day=-10.0), "target_mg_per_day", -10.0),
    (lambda: Titration(every_days=0.0), "every_days", 0.0),
    (lambda: Titration(taper_days=-1.0), "taper_days", -1.0),
    (lambda: Titration(stop_day=NAN), "stop_day", NAN),
    (lambda: RatIP(-2.0), "baclofen_mg_per_kg", -2.0),
    (lambda: RatIP(100.0), "baclofen_mg_per_kg", 100.0),
    (lambda: RatIP(3.0, minutes_before=-5.0), "minutes_before", -5.0),
], ids=lambda case: case if isinstance(case, str) else None)
def test_bad_regimens_are_rejected(make: Callable[[], Any], name: str, value: Any) -> None:
    with pytest.raises((ValueError, TypeError)) as caught:
        make()
    assert_clear_error(caught, name, value)


@pytest.mark.parametrize(("params", "name", "value", "error"), [
    ({"dt_s": -1.0}, "dt_s", -1.0, ValueError),
    ({"dt_s": NAN}, "dt_s", NAN, ValueError),
    ({"dt_s": "4"}, "dt_s", "4", TypeError),
    ({"baclofen_emax": 1.5}, "baclofen_emax", 1.5, ValueError),
    ({"no_such_parameter": 1.0}, "no_such_parameter", "no_such_parameter", ValueError),
    ({"baclofen_beta_per_h": 2.0}, "baclofen_beta_per_h", 2.0, ValueError),
    (5, "params", 5, TypeError),
])
def test_bad_params_are_rejected(params: Any, name: str, value: Any, error: type[Exception]) -> None:
    with pytest.raises(error) as caught:
        CocaineSeekingEnv(params=params)
    assert_clear_error(caught, name, value)


@pytest.mark.parametrize(("calendar", "name", "value", "error"), [
    ([], "calendar", [], ValueError),
    ([{"phase": "relapse"}], "phase", "relapse", ValueError),
    ([{"phase": "extinction", "days": 0}], "days", 0, ValueError),
    ([{"phase": "extinction", "days": 1.5}], "days", 1.5, ValueError),
    ([{"phase": "extinction", "dayz": 3}], "calendar entry", "dayz", ValueError),
    ([{"days": 3}], "phase", "days", ValueError),
    ([{"phase": "extinction", "context": "D"}], "context", "D", ValueError),
    ([{"phase": "choice"}], "sucrose", "choice", ValueError),
    (["extinction"], "calendar entry", "extinction", TypeError),
])
def test_bad_calendars_are_rejected(calendar: Any, name: str, value: Any, error: type[Exception]) -> None:
    with pytest.raises(error) as caught:
        CocaineSeekingEnv(calendar=calendar)
    assert_clear_error(caught, name, value)


# ------------------------------------------------------------------ reset options

OPTION_CASES: list[tuple[dict[str, Any], str, Any, type[Exception]]] = [
    ({"phase": "relapse"}, "phase", "relapse", ValueError),
    ({"phase": 3}, "phase", 3, TypeError),
    ({"context": "D"}, "context", "D", ValueError),
    ({"context": "a"}, "context", "a", ValueError),
    ({"context": 0}, "context", 0, TypeError),
    ({"phase": "extinction", "context": "D"}, "context", "D", ValueError),
    ({"schedule": "VR"}, "schedule", "VR", ValueError),
    ({"ratio": 0}, "ratio", 0, ValueError),
    ({"ratio": 2.5}, "ratio", 2.5, ValueError),
    ({"ratio": "3"}, "ratio", "3", TypeError),
    ({"unit_dose_mg_per_kg": -0.5}, "unit_dose_mg_per_kg", -0.5, ValueError),
    ({"unit_dose_mg_per_kg": NAN}, "unit_dose_mg_per_kg", NAN, ValueError),
    ({"unit_dose_mg_per_kg": INF}, "unit_dose_mg_per_kg", INF, ValueError),
    ({"unit_dose_mg_per_kg": 500.0}, "unit_dose_mg_per_kg", 500.0, ValueError),
    ({"unit_dose_mg_per_kg": "0.75"}, "unit_dose_mg_per_kg", "0.75", TypeError),
    ({"prime_mg_per_kg": -10.0}, "prime_mg_per_kg", -10.0, ValueError),
    ({"phase": "prime_reinstatement", "prime_mg_per_kg": 1e4}, "prime_mg_per_kg", 1e4, ValueError),
    ({"priming_infusions": -1}, "priming_infusions", -1, ValueError),
    ({"priming_infusions": 1.5}, "priming_infusions", 1.5, ValueError),
    ({"priming_infusions": 100}, "priming_infusions", 100, ValueError),
    ({"footshock_mA": -0.5}, "footshock_mA", -0.5, ValueError),
    ({"footshock_mA": 50.0}, "footshock_mA", 50.0, ValueError),
    ({"punishment_probability": 1.5}, "punishment_probability", 1.5, ValueError),
    ({"punishment_mA": NAN}, "punishment_mA", NAN, ValueError),
    ({"session_minutes": 0.0}, "session_minutes", 0.0, ValueError),
    ({"session_minutes": 1e7}, "session_minutes", 1e7, ValueError),
    ({"abstinence_days": -1.0}, "abstinence_days", -1.0, ValueError),
    ({"abstinence_days": NAN}, "abstinence_days", NAN, ValueError),
    ({"baclofen_mg_per_day": -20.0}, "baclofen_mg_per_day", -20.0, ValueError),
    ({"baclofen_mg_per_day": NAN}, "baclofen_mg_per_day", NAN, ValueError),
    ({"baclofen_mg_per_day": 1e4}, "baclofen_mg_per_day", 1e4, ValueError),
    ({"baclofen_mg_per_day": "60 mg"}, "baclofen_mg_per_day", "60 mg", TypeError),
    ({"baclofen": "OralTID(60)"}, "baclofen", "OralTID(60)", TypeError),
    ({"baclofen": OralTID(60.0), "baclofen_mg_per_day": 30.0}, "baclofen_mg_per_day", 30.0, ValueError),
    ({"drug_available": "yes"}, "drug_available", "yes", TypeError),
    ({"contingent_cue": 1}, "contingent_cue", 1, TypeError),
    ({"sucrose_available": True}, "sucrose_available", True, ValueError),
    ({"phase": "choice"}, "sucrose", "choice", ValueError),
    ({"phase": "extinction", "bogus": 1}, "options", "bogus", ValueError),
    ({"Phase": "extinction"}, "options", "Phase", ValueError),
    ({"dt_s": 2.0}, "options", "dt_s", ValueError),
]
OPTION_IDS = [",".join(f"{k}={v!r}" for k, v in case[0].items()) for case in OPTION_CASES]


def mid_session_env() -> CocaineSeekingEnv:
    """A subject some way into its second session, with baclofen on board and a drug history."""
    env = CocaineSeekingEnv(baclofen_mg_per_day=30.0, individual_differences=True)
    env.reset(seed=4)
    for step in range(400):
        env.step(1 if step % 2 else 0)
    env.reset()
    for _ in range(50):
        env.step(1)
    return env


@pytest.mark.parametrize("with_seed", [False, True], ids=["continue", "new-subject"])
@pytest.mark.parametrize(("options", "name", "value", "error"), OPTION_CASES, ids=OPTION_IDS)
def test_bad_reset_options_are_rejected_and_change_nothing(
        options: dict[str, Any], name: str, value: Any, error: type[Exception], with_seed: bool,
        state_of: Callable[[Any], Snapshot], assert_same_state: Callable[[Snapshot, Snapshot], None]) -> None:
    env = mid_session_env()
    before, session_before = state_of(env), env.session
    with pytest.raises(error) as caught:
        env.reset(seed=99 if with_seed else None, options=options)
    assert_clear_error(caught, name, value)
    assert_same_state(before, state_of(env))
    assert env.session is session_before
    env.step(1)  # the session goes on


@pytest.mark.parametrize(("options", "error"), [("extinction", TypeError), ([("phase", "extinction")], TypeError)])
def test_options_must_be_a_dict(options: Any, error: type[Exception], state_of: Callable[[Any], Snapshot],
                                assert_same_state: Callable[[Snapshot, Snapshot], None]) -> None:
    env = mid_session_env()
    before = state_of(env)
    with pytest.raises(error) as caught:
        env.reset(options=options)
    assert_clear_error(caught, "options", options)
    assert_same_state(before, state_of(env))


def test_vector_reset_rejects_bad_options_for_every_subject_without_change(
        state_of: Callable[[Any], Snapshot], assert_same_state: Callable[[Snapshot, Snapshot], None]) -> None:
    """Subjects at different calendar positions: the options must be valid for all of them."""
    envs = CocaineSeekingVectorEnv(3, calendar=Calendar([{"phase": "self_administration"},
                                                         {"phase": "extinction", "baclofen": OralTID(30.0)}]))
    envs.reset(seed=0)
    envs._protocol.reset(np.array([0]), None, None)  # subject 0 one session ahead of the others
    before = state_of(envs)
    with pytest.raises(ValueError) as caught:
        envs.reset(options={"baclofen_mg_per_day": 60.0})  # clashes with subject 0's next session only
    assert_clear_error(caught, "baclofen_mg_per_day", 60.0)
    assert_same_state(before, state_of(envs))


@pytest.mark.parametrize(("seed", "error"), [(-1, ValueError), (1.5, TypeError), ("0", TypeError),
                                             (True, TypeError), (NAN, TypeError), (2**64, ValueError),
                                             (2**64 + 5, ValueError)])
def test_bad_seeds_are_rejected(seed: Any, error: type[Exception], state_of: Callable[[Any], Snapshot],
                                assert_same_state: Callable[[Snapshot, Snapshot], None]) -> None:
    env = mid_session_env()
    before = state_of(env)
    with pytest.raises(error) as caught:
        env.reset(seed=seed)
    assert_clear_error(caught, "seed", seed)
    assert_same_state(before, state_of(env))


def test_large_and_numpy_seeds_are_accepted() -> None:
    env = CocaineSeekingEnv(individual_differences=True)
    env.reset(seed=np.int64(5))
    traits = env.batch.traits.copy()
    env.reset(seed=5)
    assert np.array_equal(traits, env.batch.traits)
    env.reset(seed=2**64 - 1)  # the largest seed the 64-bit subject keys tell apart
    assert not np.array_equal(traits, env.batch.traits)


# ------------------------------------------------------------------ actions


@pytest.mark.parametrize("action", [3, -1, 1.0, "1", None, np.array([1]), True, np.bool_(True)])
def test_bad_actions_are_rejected_and_change_nothing(action: Any, state_of: Callable[[Any], Snapshot],
                                                     assert_same_state: Callable[[Snapshot, Snapshot], None]) -> None:
    env = mid_session_env()
    before = state_of(env)
    with pytest.raises(ValueError) as caught:
        env.step(action)
    assert_clear_error(caught, "action", action)
    assert_same_state(before, state_of(env))


@pytest.mark.parametrize(("actions", "error"), [
    (np.array([1, 3]), ValueError), (np.array([-1, 0]), ValueError), (np.array([1, 0, 1]), ValueError),
    (np.array([0.5, 1.0]), TypeError), (np.array([NAN, 1.0]), TypeError), (np.array(["1", "0"]), TypeError),
], ids=["out-of-range", "negative", "wrong-shape", "fraction", "nan", "text"])
def test_bad_vector_actions_are_rejected_and_change_nothing(
        actions: np.ndarray, error: type[Exception], state_of: Callable[[Any], Snapshot],
        assert_same_state: Callable[[Snapshot, Snapshot], None]) -> None:
    envs = CocaineSeekingVectorEnv(2)
    envs.reset(seed=0)
    envs.step(np.array([1, 1]))
    before = state_of(envs)
    with pytest.raises(error) as caught:
        envs.step(actions)
    assert "actions" in str(caught.value)
    assert_same_state(before, state_of(envs))


def test_sucrose_phases_work_with_the_sucrose_lever() -> None:
    """Settings with sucrose are valid on their own; an environment without the lever refuses them."""
    assert session("choice").sucrose_available
    env = CocaineSeekingEnv(sucrose_lever=True)
    env.reset(seed=0, options={"phase": "choice"})
    assert env.session.phase == "choice" and env.batch.sucrose_available[0]
