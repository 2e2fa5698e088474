"""The discrete-trials choice schedule (schedule "DT", phase `discrete_choice`; Lenoir et al. 2007).

Scripted presses drive a batch through a session: levers are presented trial by trial (sampling
trials one lever each, drug first, then choice trials both), a reward retracts both levers until the
next trial, a trial without a press ends unrewarded, presses on a retracted lever are no presses,
and the observation shows which levers are out.
"""

from __future__ import annotations

import numpy as np
import pytest

from rlcraving.chamber import ACTIVE, INACTIVE, OBSERVATION_NAMES, SUCROSE
from rlcraving.core import OTHER, SubjectBatch, SubjectOptions
from rlcraving.envs.cocaine_seeking import CocaineSeekingEnv
from rlcraving.protocol import SessionSettings, session
from rlcraving.random import subject_keys

TIMEOUT, SUCROSE_PRESENT = OBSERVATION_NAMES.index("timeout"), OBSERVATION_NAMES.index("sucrose_lever_present")
SETTINGS = session("discrete_choice")


def _batch(n: int, settings: SessionSettings = SETTINGS, seed: int = 0) -> SubjectBatch:
    batch = SubjectBatch(n, options=SubjectOptions(sucrose_lever=True))
    batch.new_subjects(np.arange(n), subject_keys(seed, np.arange(n)))
    batch.start_sessions(np.arange(n), settings, first=True)
    return batch


def _trial_steps(settings: SessionSettings = SETTINGS) -> tuple[int, int]:
    dt = SubjectBatch(1).params.dt_s
    return int(round(60 * settings.trial_interval_min / dt)), int(round(60 * settings.trial_limit_min / dt))


def _run(batch: SubjectBatch, policy) -> list[dict[str, np.ndarray]]:
    """Step the session through with `policy(step, obs) -> actions`; one record per step."""
    obs, log = batch.observe(), []
    for t in range(int(batch.n_steps.max())):
        before = {k: v.copy() for k, v in batch.summary.items()}
        actions = np.asarray(policy(t, obs), dtype=np.int64)
        seen = obs
        obs, _, _, truncated = batch.step(actions)
        log.append({"obs": seen, "actions": actions, "cost": batch.components["cost"].copy(),
                    "performed": None if batch.performed_actions is None else batch.performed_actions.copy(),
                    **{k: batch.summary[k] - before[k] for k in ("infusions", "pellets", "active_presses",
                                                                 "sucrose_presses", "inactive_presses")}})
        if truncated.all():
            break
    return log


def test_session_is_sixteen_trials_ten_minutes_apart() -> None:
    assert SETTINGS.schedule == "DT" and SETTINGS.trials == 16 and SETTINGS.sampling_trials == 4
    assert SETTINGS.session_minutes == 160.0 and SETTINGS.trial_limit_min == 5.0
    batch = _batch(1)
    interval, _ = _trial_steps()
    assert batch.n_steps[0] == 16 * interval


def test_always_pressing_one_lever_earns_its_sampling_and_choice_trials() -> None:
    """Pressing the drug lever on every step: one infusion on each trial that presents it (sampling
    trials 0 and 2, all 12 choice trials), each at the trial's first step; sucrose likewise."""
    interval, _ = _trial_steps()
    for lever, reward, choices, own in ((ACTIVE, "infusions", "drug_choices", (0, 2)),
                                        (SUCROSE, "pellets", "sucrose_choices", (1, 3))):
        batch = _batch(2)
        log = _run(batch, lambda t, obs, lever=lever: np.full(2, lever))
        steps = np.flatnonzero([rec[reward][0] for rec in log])
        expected = [k * interval for k in (*own, *range(4, 16))]
        assert steps.tolist() == expected
        assert batch.summary[reward].tolist() == [14, 14] and batch.summary[choices].tolist() == [12, 12]
        other = "pellets" if reward == "infusions" else "infusions"
        assert batch.summary[other].tolist() == [0, 0]


def test_one_reward_per_trial_and_presses_between_trials_are_no_presses() -> None:
    """Random presses: at most one reward per trial, only while its levers are out; a press on a
    retracted lever (the inactive lever always) is not tallied, costs nothing and is credited as
    "other"."""
    interval, limit = _trial_steps()
    rng = np.random.default_rng(3)
    batch = _batch(8)
    log = _run(batch, lambda t, obs: rng.integers(0, 4, size=8))
    rewards = np.array([rec["infusions"] + rec["pellets"] for rec in log])   # (steps, subjects)
    per_trial = rewards.reshape(16, interval, 8)
    assert per_trial.sum(axis=1).max() == 1
    assert per_trial[:, limit:].sum() == 0   # nothing after the 5-min limit
    pressed = np.array([rec["active_presses"] + rec["sucrose_presses"] + rec["inactive_presses"] for rec in log])
    assert np.array_equal(pressed, rewards)  # one press a trial: the press that is rewarded
    actions = np.array([rec["actions"] for rec in log])
    performed = np.array([rec["performed"] if rec["performed"] is not None else rec["actions"] for rec in log])
    lost = (actions != OTHER) & (pressed == 0)
    assert lost.any() and (performed[lost] == OTHER).all()
    assert (np.array([rec["cost"] for rec in log])[lost] == 0).all()
    assert np.array([rec["inactive_presses"] for rec in log]).sum() == 0 and (actions == INACTIVE).any()


def test_sampling_trials_present_one_lever_and_choice_trials_both() -> None:
    """The observation before each trial's first step: the drug lever out (timeout 0) on trials 0, 2
    and the choice trials, the sucrose lever on trials 1, 3 and the choice trials; both retracted after
    a reward and between trials."""
    interval, limit = _trial_steps()
    batch = _batch(1)
    log = _run(batch, lambda t, obs: np.full(1, OTHER))   # nobody presses: every trial times out
    obs = np.array([rec["obs"][0] for rec in log])
    starts = obs[::interval]
    assert (starts[:, TIMEOUT] == 0).tolist() == [True, False, True, False] + [True] * 12
    assert (starts[:, SUCROSE_PRESENT] == 1).tolist() == [False, True, False, True] + [True] * 12
    between = obs[limit:interval]
    assert (between[:, TIMEOUT] == 1).all() and (between[:, SUCROSE_PRESENT] == 0).all()
    assert batch.summary["infusions"][0] == batch.summary["pellets"][0] == 0

    answered = _batch(1)   # press sucrose at the second step of choice trial 4: both levers retract
    press_at = 4 * interval + 1
    log = _run(answered, lambda t, obs: np.full(1, SUCROSE if t == press_at else OTHER))
    after = np.array([rec["obs"][0] for rec in log[press_at + 1: 5 * interval]])
    assert (after[:, TIMEOUT] == 1).all() and (after[:, SUCROSE_PRESENT] == 0).all()
    assert answered.summary["sucrose_choices"][0] == 1 and answered.summary["pellets"][0] == 1


def test_a_wrong_lever_on_a_sampling_trial_leaves_the_trial_open() -> None:
    """Trial 0 presents only the drug lever: sucrose presses do nothing, and the drug lever still pays
    until the 5-min limit; a press at the limit is too late."""
    _, limit = _trial_steps()
    batch = _batch(2)
    late = [limit - 1, limit]   # subject 0 in time, subject 1 one step late
    log = _run(batch, lambda t, obs: np.where(t < 10, SUCROSE, np.where(np.array(late) == t, ACTIVE, OTHER)))
    assert sum(rec["pellets"].sum() for rec in log[:10]) == 0
    assert batch.summary["infusions"].tolist() == [1, 0]
    assert log[limit - 1]["infusions"].tolist() == [1, 0]


def test_same_seed_same_session_alone_or_in_a_batch() -> None:
    presses = np.random.default_rng(9).integers(0, 4, size=(int(_batch(1).n_steps[0]), 5))
    big, alone = _batch(5, seed=4), SubjectBatch(1, options=SubjectOptions(sucrose_lever=True))
    alone.new_subjects(np.arange(1), subject_keys(4, np.arange(3, 4)))
    alone.start_sessions(np.arange(1), SETTINGS, first=True)
    big_log = _run(big, lambda t, obs: presses[t])
    alone_log = _run(alone, lambda t, obs: presses[t, 3:4])
    assert np.array_equal(np.array([r["obs"][3] for r in big_log]), np.array([r["obs"][0] for r in alone_log]))
    again = _batch(5, seed=4)
    _run(again, lambda t, obs: presses[t])
    for name in big.summary:
        assert np.array_equal(big.summary[name], again.summary[name]), name
        assert big.summary[name][3] == alone.summary[name][0], name


def test_env_runs_a_discrete_choice_session_and_reports_the_action_taken() -> None:
    env = CocaineSeekingEnv(sucrose_lever=True, calendar=[{"phase": "discrete_choice"}])
    obs, _ = env.reset(seed=1)
    assert obs[TIMEOUT] == 0 and obs[SUCROSE_PRESENT] == 0   # sampling trial 0: the drug lever alone
    _, _, _, _, info = env.step(SUCROSE)
    assert info["action_taken"] == OTHER and info["cost"] == 0.0
    _, _, _, _, info = env.step(ACTIVE)
    assert info["action_taken"] == ACTIVE
    obs, *_ = env.step(ACTIVE)
    assert obs[TIMEOUT] == 1.0


@pytest.mark.parametrize(("overrides", "message"), [
    ({"sucrose_available": False}, "give sucrose_available=True"),
    ({"ratio": 2}, "ratio=2 must be 1"),
    ({"trial_limit_min": 12.0}, "trial_limit_min=12.0 is longer"),
    ({"sampling_trials": -1}, "sampling_trials"),
])
def test_bad_discrete_trial_settings_are_refused(overrides: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        session("discrete_choice", **overrides)


def test_a_session_counts_the_trials_that_start_in_it() -> None:
    assert session("discrete_choice", session_minutes=5.0).trials == 1
    assert session("discrete_choice", session_minutes=45.0).trials == 5
    assert session("choice").trials == 0


def test_discrete_choice_needs_the_sucrose_lever() -> None:
    with pytest.raises(ValueError, match="sucrose_lever=True"):
        CocaineSeekingEnv(calendar=[{"phase": "discrete_choice"}])


@pytest.mark.parametrize("name", ["q_learning", "actor_critic"])
def test_td_agents_choose_only_the_levers_presented(name: str) -> None:
    """A retracted lever is closed to a TD agent (docs/agents.md, "Action set"): it never chooses one,
    so the chamber never has a retracted press to turn into other behaviour, and it presses the levers
    when they are out."""
    from rlcraving.agents.td import AGENTS

    n = 30
    batch = _batch(n, seed=5)
    agent = AGENTS[name](batch)
    agent.new_subjects(np.arange(n))
    agent.begin(np.arange(n))
    taken = np.zeros(4, dtype=int)
    for _ in range(int(batch.n_steps[0])):
        chosen = agent.actions.copy()
        obs, reward, terminated, truncated = batch.step(chosen)
        assert np.array_equal(batch.actions_taken, chosen)   # no press was on a retracted lever
        taken += np.bincount(chosen, minlength=4)
        agent.learn(obs, reward, terminated | truncated)
    assert taken[INACTIVE] == 0 and taken[ACTIVE] > 0 and taken[SUCROSE] > 0
