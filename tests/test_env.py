"""The single-subject Gymnasium environment `rlcraving/CocaineSeeking-v0`."""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env
from hypothesis import given
from hypothesis import strategies as st
from stable_baselines3.common.env_checker import check_env as sb3_check_env

import rlcraving
from rlcraving.core import OBSERVATION_NAMES, REWARD_COMPONENTS, SUMMARY_FIELDS
from rlcraving.envs import CocaineSeekingEnv
from rlcraving.protocol import PHASES, PR_SERIES, Calendar

OTHER, ACTIVE, INACTIVE = 0, 1, 2
RunSession = Callable[..., tuple[int, float, bool, dict[str, Any]]]


def trajectory(env: CocaineSeekingEnv, seed: int, steps: int, action_seed: int = 0) -> list:
    """Observations, rewards and infos of `steps` random actions after reset(seed)."""
    rng = np.random.default_rng(action_seed)
    obs, _ = env.reset(seed=seed)
    out = [obs]
    for _ in range(steps):
        obs, reward, terminated, truncated, info = env.step(int(rng.integers(env.action_space.n)))
        out.append((obs, reward, terminated, truncated, info))
        if terminated or truncated:
            out.append(env.reset()[0])
    return out


def assert_identical(a: list, b: list) -> None:
    assert len(a) == len(b)
    for x, y in zip(a, b, strict=True):
        if isinstance(x, np.ndarray):
            assert x.tobytes() == y.tobytes()
        else:
            assert x[0].tobytes() == y[0].tobytes() and x[1:4] == y[1:4] and x[4] == y[4]


# ------------------------------------------------------------------ API and checkers


def test_gymnasium_env_checker_passes_without_warnings() -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        # made through gym.make so the checker also tries every render mode from the spec
        check_env(gym.make(rlcraving.ENV_ID, sucrose_lever=True, baclofen_mg_per_day=30.0).unwrapped)
    assert [str(w.message) for w in caught] == []


def test_stable_baselines3_env_checker_passes_without_warnings() -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        sb3_check_env(CocaineSeekingEnv(), warn=True)
    assert [str(w.message) for w in caught] == []


def test_registered_id_makes_the_environment() -> None:
    env = gym.make(rlcraving.ENV_ID, baclofen_mg_per_day=60.0)
    assert isinstance(env.unwrapped, CocaineSeekingEnv)
    obs, _ = env.reset(seed=0)
    assert env.observation_space.contains(obs)


def test_action_meanings_and_observation_names() -> None:
    plain = gym.make(rlcraving.ENV_ID)
    assert plain.unwrapped.action_meanings == ["other", "active_lever", "inactive_lever"]
    assert plain.action_space.n == 3
    sucrose = gym.make(rlcraving.ENV_ID, sucrose_lever=True)
    assert sucrose.unwrapped.action_meanings == ["other", "active_lever", "inactive_lever", "sucrose_lever"]
    assert sucrose.action_space.n == 4
    assert plain.unwrapped.observation_names == list(OBSERVATION_NAMES)
    assert plain.observation_space.shape == (len(OBSERVATION_NAMES),)


def test_step_before_reset_is_refused() -> None:
    with pytest.raises(gym.error.ResetNeeded):
        CocaineSeekingEnv().step(0)


# ------------------------------------------------------------------ determinism and subjects


@pytest.mark.parametrize("kwargs", [{}, {"individual_differences": True, "baclofen_mg_per_day": 200.0,
                                         "sucrose_lever": True,
                                         "calendar": [{"phase": "punished_self_administration", "days": 2},
                                                      {"phase": "choice"}]}],
                         ids=["default", "traits-baclofen-punishment"])
def test_same_seed_same_trajectory_bit_for_bit(kwargs: dict) -> None:
    first = trajectory(CocaineSeekingEnv(**kwargs), seed=5, steps=2000)
    second = trajectory(CocaineSeekingEnv(**kwargs), seed=5, steps=2000)
    assert_identical(first, second)


def test_reseeding_the_same_environment_gives_the_same_subject() -> None:
    env = CocaineSeekingEnv(individual_differences=True)
    first = trajectory(env, seed=9, steps=1000)
    second = trajectory(env, seed=9, steps=1000)
    assert_identical(first, second)


def test_different_seeds_are_different_subjects() -> None:
    env = CocaineSeekingEnv(individual_differences=True)
    env.reset(seed=1)
    traits = env.batch.traits.copy()
    env.reset(seed=2)
    assert not np.array_equal(traits, env.batch.traits)


def test_reset_with_a_seed_starts_a_naive_subject(run_session: RunSession) -> None:
    env = CocaineSeekingEnv()
    env.reset(seed=0)
    run_session(env, ACTIVE)
    assert env.batch.E.sum() > 0 and env.batch.total_infusions[0] > 0
    _, info = env.reset(seed=0)
    assert env.batch.E.sum() == 0 and env.batch.total_infusions[0] == 0 and env.batch.allostasis[0] == 0
    assert info == {"phase": "self_administration", "session": 0}


def test_reset_continues_the_same_subject_after_the_abstinence_gap(env: CocaineSeekingEnv,
                                                                   run_session: RunSession) -> None:
    run_session(env, ACTIVE)
    b = env.batch
    learned, load, start = b.E.copy(), b.allostasis[0], b.session_start_h[0]
    infusions = b.total_infusions[0]
    _, info = env.reset(options={"abstinence_days": 3.0})
    assert info == {"phase": "self_administration", "session": 1}
    assert np.array_equal(b.E, learned) and b.total_infusions[0] == infusions
    assert b.session_start_h[0] == start + 3 * 24.0
    assert 0 < b.allostasis[0] < load, "the set-point shift recovers during abstinence"
    assert b.cocaine[0] < 1e-6, "cocaine washes out between sessions"


def test_calendar_drives_the_sessions(run_session: RunSession) -> None:
    calendar = Calendar([{"phase": "self_administration", "days": 2},
                         {"phase": "extinction", "days": 2, "context": "B"},
                         {"phase": "cue_reinstatement", "context": "A", "abstinence_days": 7.0}])
    env = CocaineSeekingEnv(calendar=calendar)
    _, info = env.reset(seed=0)
    phases, contexts, starts = [info["phase"]], [env.session.context], [env.batch.session_start_h[0]]
    for _ in range(len(calendar) - 1):
        run_session(env, ACTIVE)
        _, info = env.reset()
        phases.append(info["phase"])
        contexts.append(env.session.context)
        starts.append(env.batch.session_start_h[0])
    assert phases == calendar.phases()
    assert contexts == ["A", "A", "B", "B", "A"]
    assert np.diff(starts).tolist() == [24.0, 24.0, 24.0, 7 * 24.0]
    key = env.batch.keys[0]
    _, info = env.reset()  # past the calendar's end: a new subject starts it again
    assert info["phase"] == calendar.phases()[0] and env.batch.keys[0] != key and env.batch.E.sum() == 0


def test_default_calendar_is_the_reinstatement_model() -> None:
    env = CocaineSeekingEnv()
    phases = [env.reset(seed=0)[1]["phase"]] + [env.reset()[1]["phase"] for _ in range(20)]
    assert phases == ["self_administration"] * 10 + ["extinction"] * 10 + ["cue_reinstatement"]


@pytest.mark.parametrize("phase", sorted(PHASES))
def test_reset_options_choose_the_phase_without_moving_the_calendar(phase: str) -> None:
    env = CocaineSeekingEnv(sucrose_lever=True)
    env.reset(seed=0)
    position = env._protocol.position.copy()
    _, info = env.reset(options={"phase": phase, "context": "C"})
    assert info["phase"] == phase == env.session.phase
    assert env.session.context == "C" and env.batch.context[0] == 2
    for key, value in PHASES[phase].items():
        assert getattr(env.session, key) == value
    assert np.array_equal(env._protocol.position, position)
    assert env.reset()[1]["phase"] == "self_administration"  # the calendar's second session


def test_options_without_a_phase_override_the_calendar_session(run_session: RunSession) -> None:
    env = CocaineSeekingEnv()
    env.reset(seed=0, options={"session_minutes": 10.0, "context": "B"})
    assert env.session.phase == "self_administration" and env.session.context == "B"
    steps, *_ = run_session(env, 0)
    assert steps == round(10 * 60 / env.batch.params.dt_s)


# ------------------------------------------------------------------ episodes


def test_a_session_is_truncated_by_its_clock(env: CocaineSeekingEnv, run_session: RunSession) -> None:
    steps, _, terminated, _ = run_session(env, ACTIVE)
    assert not terminated
    assert steps * env.batch.params.dt_s == env.session.session_minutes * 60


@pytest.mark.parametrize("phase", sorted(set(PHASES) - {"progressive_ratio"}))
def test_only_progressive_ratio_terminates(phase: str, run_session: RunSession) -> None:
    env = CocaineSeekingEnv(sucrose_lever=True)
    env.reset(seed=0, options={"phase": phase, "session_minutes": 90.0})
    _, _, terminated, _ = run_session(env, 0)  # not pressing for longer than the PR limit
    assert not terminated


def test_progressive_ratio_terminates_at_the_breakpoint(run_session: RunSession) -> None:
    env = CocaineSeekingEnv(pavlovian_controller=False, operant_level=False)   # only the scripted presses
    env.reset(seed=0, options={"phase": "progressive_ratio"})
    wanted = 5
    steps, _, terminated, info = run_session(
        env, lambda _t: ACTIVE if env.batch.summary["infusions"][0] < wanted else 0)
    assert terminated
    summary = info["session_summary"]
    assert summary["infusions"] == wanted and summary["breakpoint"] == PR_SERIES[wanted - 1]
    assert steps * env.batch.params.dt_s < env.session.session_minutes * 60


def test_info_carries_reward_components_signals_and_levels() -> None:
    env = CocaineSeekingEnv(baclofen_mg_per_day=60.0)
    env.reset(seed=0)
    env.step(ACTIVE)
    _, reward, _, _, info = env.step(OTHER)  # the infusion reaches the brain one step after the press
    for name in (*REWARD_COMPONENTS, "dopamine", "baclofen_gain", "cocaine_mg_per_kg", "baclofen_mg_per_l",
                 "incentive_signal", "dysphoria"):
        assert isinstance(info[name], float), name
    assert reward == pytest.approx(sum(info[name] for name in REWARD_COMPONENTS))
    assert 0 < info["baclofen_gain"] < 1 and info["baclofen_mg_per_l"] > 0
    assert info["cocaine_mg_per_kg"] == env.session.unit_dose_mg_per_kg
    assert info["dopamine"] == pytest.approx(info["drug_dopamine"] + info["incentive"])
    assert "session_summary" not in info


def test_session_summary_at_the_end(env: CocaineSeekingEnv) -> None:
    presses = 0
    while True:
        action = ACTIVE if presses % 3 else INACTIVE
        _, _, terminated, truncated, info = env.step(action)
        presses += 1
        if terminated or truncated:
            break
    summary = info["session_summary"]
    assert set(SUMMARY_FIELDS) | {"phase"} == set(summary)
    assert summary["active_presses"] + summary["inactive_presses"] == presses
    assert summary["intake_mg_per_kg"] == pytest.approx(summary["infusions"] * env.session.unit_dose_mg_per_kg)
    assert summary["phase"] == "self_administration"


# ------------------------------------------------------------------ rendering


def test_ansi_render_describes_the_chamber() -> None:
    env = gym.make(rlcraving.ENV_ID, render_mode="ansi")
    env.reset(seed=0)
    env.step(ACTIVE)
    text = env.render()
    assert isinstance(text, str) and "self_administration" in text and "infusions 1" in text


def test_rgb_render_is_an_image_that_shows_the_cue() -> None:
    env = gym.make(rlcraving.ENV_ID, render_mode="rgb_array")
    env.reset(seed=0)
    dark = env.render()
    env.step(ACTIVE)
    lit = env.render()
    assert dark.dtype == np.uint8 and dark.ndim == 3 and dark.shape[2] == 3
    assert not np.array_equal(dark, lit)


def test_rgb_render_shows_the_levers_a_discrete_trial_presents() -> None:
    """Sampling trial 1 presents the drug lever alone, trial 2 the sucrose lever alone; the inactive
    lever is never presented (drawn as a thin retracted slot)."""
    env = gym.make(rlcraving.ENV_ID, render_mode="rgb_array", sucrose_lever=True)
    env.reset(seed=0, options={"phase": "discrete_choice"})
    first = env.render()
    for _ in range(150):   # 10 min of 4-s steps: the next trial
        env.step(0)
    second = env.render()
    lever_row = 55   # the top row of a presented lever
    drug, inactive, sucrose = (slice(30, 60), slice(80, 110), slice(130, 160))
    presented = lambda img, x: bool((img[lever_row, x] != img[lever_row, 5]).any())  # noqa: E731
    assert presented(first, drug) and not presented(first, sucrose) and not presented(first, inactive)
    assert presented(second, sucrose) and not presented(second, drug) and not presented(second, inactive)


def test_no_render_mode_renders_nothing(env: CocaineSeekingEnv) -> None:
    assert env.render() is None


# ------------------------------------------------------------------ invariants under random play

phase_options = st.fixed_dictionaries(
    {"phase": st.sampled_from(sorted(PHASES)), "context": st.sampled_from(["A", "B", "C"]),
     "session_minutes": st.floats(1.0, 20.0), "abstinence_days": st.floats(0.0, 200.0)},
    optional={"baclofen_mg_per_day": st.floats(0.0, 300.0), "unit_dose_mg_per_kg": st.floats(0.0, 10.0),
              "prime_mg_per_kg": st.floats(0.0, 40.0), "priming_infusions": st.integers(0, 20),
              "footshock_mA": st.floats(0.0, 3.0)})


@given(st.integers(0, 2**32), st.lists(phase_options, min_size=1, max_size=3),
       st.lists(st.integers(0, 3), min_size=50, max_size=400), st.booleans())
def test_invariants_under_random_play(seed: int, sessions: list[dict], actions: list[int], traits: bool) -> None:
    """Observations stay in the space, nothing is NaN, levels stay non-negative, whatever happens."""
    env = CocaineSeekingEnv(sucrose_lever=True, individual_differences=traits)
    obs, _ = env.reset(seed=seed)
    b = env.batch
    for options in sessions:
        obs, _ = env.reset(options=options)
        assert env.observation_space.contains(obs)
        for action in actions:
            obs, reward, terminated, truncated, info = env.step(action)
            assert env.observation_space.contains(obs) and np.all(np.isfinite(obs))
            assert np.isfinite(reward) and all(np.isfinite(v) for v in info.values() if isinstance(v, float))
            for level in (b.cocaine, b.ip_depot, b.occupancy, b.allostasis, b.kor, b.dysphoria,
                          b.incentive, b.baclofen_mg_per_l, b.E, b.I, b.bac_state):
                assert np.all(level >= 0)
            assert 0 < info["baclofen_gain"] <= 1
            assert info["cost"] <= 0 and info["punishment"] <= 0
            if terminated or truncated:
                break


def test_a_pretreatment_with_no_room_before_the_session_is_refused_not_dropped() -> None:
    from rlcraving.pharmacology import RatIP

    env = gym.make("rlcraving/CocaineSeeking-v0", calendar=[{"phase": "self_administration", "days": 3}])
    env.reset(seed=0)
    with pytest.raises(ValueError, match=r"injected 30 min before the session.*abstinence_days=0"):
        env.reset(options={"phase": "cue_reinstatement", "baclofen": RatIP(2.5), "abstinence_days": 0.0})
    env.reset(options={"phase": "cue_reinstatement", "baclofen": RatIP(2.5, minutes_before=0.0),
                       "abstinence_days": 0.0})
    info = [env.step(0)[4] for _ in range(100)][-1]
    assert info["baclofen_mg_per_l"] > 0 and info["baclofen_gain"] < 1   # given at the session's start


def test_the_compulsion_zone_is_a_switch_off_by_default() -> None:
    """Off by default (the same numbers as without it); on, the environment adds drug-lever presses in the
    zone, so more of what is performed differs from what the agent chose; a non-bool is refused by name."""
    with pytest.raises(TypeError, match="compulsion_zone"):
        CocaineSeekingEnv(compulsion_zone="yes")
    added = {}
    for zone in (None, False, True):
        env = CocaineSeekingEnv(**({} if zone is None else {"compulsion_zone": zone}),
                                pavlovian_controller=False, operant_level=False)
        env.reset(seed=0)
        taken = []
        for t in range(900):
            *_, info = env.step(1 if t % 150 == 0 else 0)
            taken.append(info["action_taken"])
        added[zone] = int(np.sum(np.array(taken) == 1)) - 6
    assert added[None] == added[False] == 0
    assert added[True] > 0
