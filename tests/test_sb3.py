"""stable-baselines3 agents: the batched VecEnv, cohorts through a calendar, save/load, and
what the agents learn (acquisition, extinction, cue-induced reinstatement, baclofen).

Behaviour tests train one small PPO cohort per condition (32 subjects, 10-min sessions, about
130 k environment steps) and share it across tests; margins are about half the effects
measured with seeds 0-2 (docs/sb3.md). Runs of every algorithm are marked slow.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pandas as pd
import pytest
import torch
from stable_baselines3.common.vec_env import DummyVecEnv

from rlcraving import Calendar, RatIP
from rlcraving.agents.cohort import EVENTS, LOCKED_SIGNALS, MEASURES, run_cohort
from rlcraving.agents.sb3 import (
    ALGORITHMS,
    SB3_TRACE_SIGNALS,
    CriterionExperimenter,
    load_agent,
    make_env,
    make_model,
    phase_means,
    run_sb3_cohort,
    run_sb3_cohort_to_criterion,
    save_agent,
    settings_path,
    train_through_calendar,
    train_to_criterion,
)
from rlcraving.criterion import TrainingCriterion
from rlcraving.envs import CocaineSeekingEnv

TINY = [{"phase": "self_administration", "days": 2, "session_minutes": 3},
        {"phase": "extinction", "days": 1, "session_minutes": 3}]


def _test_calendar(regimen: Any = None, sa_days: int = 8) -> list[dict[str, Any]]:
    """Short sessions for tests; a 60-min extinction session is the baseline of the 60-min test."""
    test = {"phase": "cue_reinstatement", "days": 1, "session_minutes": 60}
    if regimen is not None:
        test["baclofen"] = regimen
    return [{"phase": "self_administration", "days": sa_days, "session_minutes": 10},
            {"phase": "extinction", "days": 6, "session_minutes": 10},
            {"phase": "extinction", "days": 1, "session_minutes": 60},
            test]


def _mean(table: pd.DataFrame, measure: str, days: range | list[int]) -> float:
    rows = table[(table["measure"] == measure) & table["day"].isin(list(days))]
    return float(rows["value"].mean())


# ---------------------------------------------------------------------------------------
# The VecEnv follows SB3's conventions
# ---------------------------------------------------------------------------------------


def test_vec_env_matches_dummy_vec_env_of_the_single_env() -> None:
    """N = 1: observations, rewards, dones and end-of-session infos equal DummyVecEnv's, including a
    progressive-ratio session that terminates at its breakpoint (not a time-limit truncation)."""
    calendar = [{"phase": "self_administration", "session_minutes": 2},
                {"phase": "progressive_ratio", "session_minutes": 2},
                {"phase": "extinction", "session_minutes": 2}]
    params = {"pr_limit_min": 1.0}
    ours = make_env(1, {"calendar": calendar, "params": params})
    dummy = DummyVecEnv([lambda: CocaineSeekingEnv(calendar=calendar, params=params)])
    assert ours.seed(7) == [7]
    dummy.seed(7)
    np.testing.assert_array_equal(ours.reset(), dummy.reset())
    endings = []
    for t in range(30 + 15 + 30):
        action = np.array([1 if t % 4 == 0 else 0])
        o1, r1, d1, i1 = ours.step(action)
        o2, r2, d2, i2 = dummy.step(action)
        np.testing.assert_array_equal(o1, o2)
        np.testing.assert_array_equal(r1, r2)
        np.testing.assert_array_equal(d1, d2)
        assert r1.dtype == r2.dtype and d1.dtype == d2.dtype
        if d1[0]:
            np.testing.assert_array_equal(i1[0]["terminal_observation"], i2[0]["terminal_observation"])
            assert i1[0]["TimeLimit.truncated"] == i2[0]["TimeLimit.truncated"]
            endings.append((i1[0]["phase"], i1[0]["TimeLimit.truncated"], i1[0]["episode"]["l"]))
        else:
            assert i1 == [{}]
    assert endings[0] == ("self_administration", True, 30)
    assert endings[1][:2] == ("progressive_ratio", False) and endings[1][2] < 360 * 15


def test_session_infos_name_subject_day_phase_and_generation() -> None:
    env = make_env(3, {"calendar": [{"phase": "self_administration", "session_minutes": 1},
                                    {"phase": "extinction", "session_minutes": 1}]})
    env.seed(0)
    env.reset()
    seen = []
    for _ in range(3 * 15):
        _, reward, done, infos = env.step(np.array([1, 2, 0]))
        assert reward.shape == (3,) and done.shape == (3,)
        if done.any():
            assert done.all()   # sessions of equal length end together
            seen.append([(i["subject"], i["day"], i["phase"], i["generation"]) for i in infos])
            assert [i["session_summary"]["inactive_presses"] for i in infos] == [0.0, 15.0, 0.0]
    assert seen == [[(s, 0, "self_administration", 0) for s in range(3)],
                    [(s, 1, "extinction", 0) for s in range(3)],
                    [(s, 0, "self_administration", 1) for s in range(3)]]


def test_set_options_must_be_shared_by_all_subjects() -> None:
    env = make_env(2, {"calendar": TINY})
    env.set_options([{"phase": "extinction"}, {"phase": "cue_reinstatement"}])
    with pytest.raises(ValueError, match="one options dict for all"):
        env.reset()
    env.set_options({"phase": "extinction"})
    env.reset()
    assert list(env.phase) == ["extinction", "extinction"]


def test_step_infos_stay_cheap_for_large_batches() -> None:
    """Ordinary steps build nothing per subject: every info is an empty dict, arrays are shared."""
    env = make_env(2_000, {"calendar": TINY})
    env.seed(0)
    env.reset()
    _, _, done, infos = env.step(np.ones(2_000, dtype=np.int64))
    assert not done.any() and all(info == {} for info in infos)
    assert env.last_step_info["drug_dopamine"].shape == (2_000,)
    assert env.last_presses.sum() == 2_000


# ---------------------------------------------------------------------------------------
# Cohorts, determinism, tables
# ---------------------------------------------------------------------------------------


def test_cohort_table_has_the_td_cohort_shape() -> None:
    ours = run_sb3_cohort(3, TINY, seed=1, condition="ppo").table
    td = run_cohort(3, TINY, seed=1, condition="td").table
    assert list(ours.columns) == list(td.columns)
    assert dict(ours.dtypes) == dict(td.dtypes)
    key = ["subject", "day", "phase", "measure"]
    pd.testing.assert_frame_equal(ours[key], td[key])
    assert set(ours["measure"]) == set(MEASURES) and set(ours["condition"]) == {"ppo"}
    means = phase_means(ours)
    assert list(means["day"]) == [0, 1, 2] and list(means["phase"]) == Calendar(TINY).phases()
    assert means.loc[2, "active_presses"] == pytest.approx(_mean(ours, "active_presses", [2]))


def test_same_seed_same_numbers_and_torch_threads_restored() -> None:
    torch.set_num_threads(2)
    first = run_sb3_cohort(4, TINY, seed=3).table
    assert torch.get_num_threads() == 2
    pd.testing.assert_frame_equal(first, run_sb3_cohort(4, TINY, seed=3).table)
    assert not first["value"].equals(run_sb3_cohort(4, TINY, seed=4).table["value"])


def test_traces_agree_with_the_table() -> None:
    result = run_sb3_cohort(4, TINY, seed=0, trace_sessions=(0, 2))
    traces, table = result.traces, result.table
    locked = {f"cue_locked_{name}" for name in LOCKED_SIGNALS}
    assert set(traces["signal"]) == set(SB3_TRACE_SIGNALS) | locked and set(traces["day"]) == {0, 2}
    for day in (0, 2):
        rate = traces[(traces["day"] == day) & (traces["signal"] == "active_presses_per_min")]
        assert len(rate) == 3   # 1-min bins of a 3-min session
        assert rate["value"].sum() == pytest.approx(_mean(table, "active_presses", [day]))
    assert traces.loc[traces["day"] == 2, "phase"].eq("extinction").all()


def test_events_count_the_table_and_the_critic_gives_a_prediction_error() -> None:
    """Per-subject events (the cumulative record's material) add up to the table, as the TD
    cohort's do; the prediction error is PPO's critic TD error, locked to cue onsets."""
    calendar = [{"phase": "self_administration", "days": 2, "session_minutes": 10},
                {"phase": "cue_reinstatement", "session_minutes": 10}]
    result = run_sb3_cohort(5, calendar, seed=0, trace_sessions=(0, 2), event_subjects=range(5))
    events, table = result.events, result.table
    assert list(events.columns) == list(run_cohort(2, TINY).events.columns)
    for day in (0, 2):
        for event in EVENTS:
            rows = events[(events["day"] == day) & (events["event"] == event)]
            per_subject = rows.groupby("subject").size().reindex(range(5), fill_value=0).to_numpy()
            cells = table[(table["day"] == day) & (table["measure"] == event)].sort_values("subject")
            assert np.array_equal(per_subject, cells["value"].to_numpy()), (day, event)
    assert not events[events["day"] == 1].size and (events["time_s"] <= 600).all()
    traces = result.traces
    locked = traces[traces["signal"] == "cue_locked_prediction_error"]
    assert set(locked["day"]) == {0, 2} and locked["value"].notna().all() and locked["value"].abs().max() > 0
    assert locked["time_s"].min() == -20.0 and locked["time_s"].max() == 40.0
    dqn = run_sb3_cohort(2, TINY, algo="DQN", trace_sessions=(0,)).traces
    assert dqn.loc[dqn["signal"] == "prediction_error", "value"].isna().all()


@pytest.mark.parametrize("algo", ["A2C", "DQN", "RecurrentPPO"])
def test_other_algorithms_run_through_a_calendar(algo: str) -> None:
    table = run_sb3_cohort(2, TINY, algo=algo, seed=0).table
    assert sorted(table["day"].unique()) == [0, 1, 2]
    assert table.loc[table["day"] == 2, "phase"].eq("extinction").all()


def test_bad_input_is_named() -> None:
    with pytest.raises(ValueError, match=r"algo='SAC'.*PPO"):
        run_sb3_cohort(2, TINY, algo="SAC")
    with pytest.raises(ValueError, match="env_kwargs has unknown key"):
        run_sb3_cohort(2, TINY, env_kwargs={"calendar": TINY})
    with pytest.raises(ValueError, match="'seed'"):
        run_sb3_cohort(2, TINY, algo_kwargs={"seed": 1})
    with pytest.raises(TypeError, match="condition"):
        run_sb3_cohort(2, TINY, condition=1)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="n_subjects=0"):
        run_sb3_cohort(0, TINY)
    env = make_env(2, {"calendar": TINY})
    model = make_model("PPO", env, seed=0)
    env.reset()   # the calendar has begun: a recorder would miscount its days
    with pytest.raises(ValueError, match="already run"):
        train_through_calendar(model, progress_bar=False)


# ---------------------------------------------------------------------------------------
# Saving and loading
# ---------------------------------------------------------------------------------------


def test_save_and_load_keep_policy_and_environment_settings(tmp_path) -> None:
    calendar = [{"phase": "self_administration", "session_minutes": 2},
                {"phase": "cue_reinstatement", "session_minutes": 2, "baclofen": RatIP(2.5)}]
    env = make_env(2, {"calendar": calendar, "params": {"dt_s": 5.0}, "baclofen_mg_per_day": 30.0})
    model = make_model("PPO", env, {"n_steps": 8}, seed=0)
    train_through_calendar(model, progress_bar=False)
    zip_path, json_path = save_agent(model, tmp_path / "agent")
    assert json_path == settings_path(zip_path)
    saved = json.loads(json_path.read_text())
    assert saved["algo"] == "PPO" and saved["num_envs"] == 2
    assert saved["env_kwargs"]["calendar"][1]["baclofen"] == {"type": "RatIP", "mg_per_kg": 2.5,
                                                              "minutes_before": 30.0, "route": "ip",
                                                              "at_steady_state": False}
    loaded = load_agent(tmp_path / "agent", num_envs=5, seed=1)
    new_env = loaded.get_env()
    assert new_env.num_envs == 5
    assert new_env.calendar.sessions == Calendar(calendar).sessions
    assert new_env.batch.params.dt_s == 5.0 and new_env.env_kwargs["baclofen_mg_per_day"] == 30.0
    obs = np.random.default_rng(0).random((50, env.observation_space.shape[0])).astype(np.float32)
    np.testing.assert_array_equal(model.predict(obs, deterministic=True)[0],
                                  loaded.predict(obs, deterministic=True)[0])


# ---------------------------------------------------------------------------------------
# Baclofen and PPO's advantage normalisation
# ---------------------------------------------------------------------------------------


def _policy_update(normalize_advantage: bool, scale: float) -> torch.Tensor:
    """Change of PPO's policy-network weights after one SGD step on one rollout whose advantages
    (sums of TD errors) are multiplied by `scale`, as a uniform dopamine gain would do."""
    env = make_env(4, {"calendar": [{"phase": "self_administration", "session_minutes": 5}]})
    model = make_model("PPO", env, dict(n_steps=32, batch_size=128, n_epochs=1, ent_coef=0.0,
                                        normalize_advantage=normalize_advantage, max_grad_norm=1e9,
                                        learning_rate=1.0, policy_kwargs={"optimizer_class": torch.optim.SGD}),
                       seed=0)
    _, callback = model._setup_learn(128, callback=None)
    callback.on_training_start(locals(), globals())
    model.collect_rollouts(model.env, callback, model.rollout_buffer, n_rollout_steps=32)
    model.rollout_buffer.advantages *= scale
    model.rollout_buffer.returns *= scale
    policy = [p for name, p in model.policy.named_parameters()
              if name.startswith(("mlp_extractor.policy_net", "action_net"))]
    before = torch.cat([p.detach().flatten().clone() for p in policy])
    model.train()
    return torch.cat([p.detach().flatten() for p in policy]) - before


def test_ppo_advantage_normalisation_cancels_a_uniform_dopamine_gain() -> None:
    """With normalize_advantage=True, scaling every TD error by baclofen's strongest gain (0.4)
    leaves the policy gradient unchanged; without normalisation it scales it."""
    gain = 0.4
    full, damped = _policy_update(True, 1.0), _policy_update(True, gain)
    assert full.abs().max() > 1e-4
    torch.testing.assert_close(damped, full, rtol=1e-4, atol=1e-7)
    raw_full, raw_damped = _policy_update(False, 1.0), _policy_update(False, gain)
    torch.testing.assert_close(raw_damped, gain * raw_full, rtol=1e-4, atol=1e-7)


# ---------------------------------------------------------------------------------------
# What the agents learn
# ---------------------------------------------------------------------------------------

N_SUBJECTS = 32
SA_DAYS = 8
TEST_DAY = SA_DAYS + 6 + 1
BASELINE_DAY = TEST_DAY - 1
#: Sedation off in both arms, so only the dopaminergic route (gain on drug_dopamine and on the
#: cue's incentive reward) separates them.
NO_SEDATION = {"params": {"sedation_max": 0.0}}


@pytest.fixture(scope="module")
def placebo() -> pd.DataFrame:
    return run_sb3_cohort(N_SUBJECTS, _test_calendar(), seed=0, env_kwargs=NO_SEDATION, condition="placebo").table


@pytest.fixture(scope="module")
def baclofen() -> pd.DataFrame:
    return run_sb3_cohort(N_SUBJECTS, _test_calendar(RatIP(2.5)), seed=0, env_kwargs=NO_SEDATION,
                          condition="baclofen").table


def test_ppo_acquires_drug_taking(placebo: pd.DataFrame) -> None:
    """Intake is regulated at the satiety level (docs/model.md 3.4): a 10-min session holds about
    S/u loading infusions plus 10 min x k S/u, ~4 at the defaults, so the active lever leads the
    inactive one by a few presses, not by a multiple (PPO's own exploration presses each lever a few
    times per session; measured 7.5 / 4.6 = 1.6x, seed 0, so the 2x of 1-h sessions is not asked here)."""
    last = range(SA_DAYS - 3, SA_DAYS)
    assert _mean(placebo, "active_presses", last) > 1.25 * _mean(placebo, "inactive_presses", last)
    assert _mean(placebo, "infusions", last) > 4.0   # per 10-min session


def test_ppo_extinguishes(placebo: pd.DataFrame) -> None:
    """Extinction brings active pressing below half its self-administration level (measured: 39%, 2.9 of
    7.5 presses per 10-min session, seed 0)."""
    sa = _mean(placebo, "active_presses", range(SA_DAYS - 3, SA_DAYS))
    assert _mean(placebo, "active_presses", range(SA_DAYS + 3, SA_DAYS + 6)) < 0.5 * sa


def test_ppo_shows_cue_induced_reinstatement(placebo: pd.DataFrame) -> None:
    test = _mean(placebo, "active_presses", [TEST_DAY])
    assert test > 2.0 * _mean(placebo, "active_presses", [BASELINE_DAY])
    assert test > 2.0 * _mean(placebo, "inactive_presses", [TEST_DAY])


def test_baclofen_lowers_cue_induced_reinstatement_through_dopamine(placebo: pd.DataFrame,
                                                                      baclofen: pd.DataFrame) -> None:
    """Same subjects and policy up to the test (paired); baclofen 2.5 mg/kg i.p. before it."""
    before = placebo["day"] < TEST_DAY
    np.testing.assert_array_equal(placebo.loc[before, "value"], baclofen.loc[baclofen["day"] < TEST_DAY, "value"])
    baseline = _mean(placebo, "active_presses", [BASELINE_DAY])
    rise_placebo = _mean(placebo, "active_presses", [TEST_DAY]) - baseline
    rise_baclofen = _mean(baclofen, "active_presses", [TEST_DAY]) - baseline
    assert rise_baclofen < 0.9 * rise_placebo


# ---------------------------------------------------------------------------------------
# Every algorithm (slow)
# ---------------------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("algo", sorted(ALGORITHMS))
def test_every_algorithm_acquires_extinguishes_and_reinstates(algo: str) -> None:
    """Each algorithm (the package's settings, 16 subjects, 10-min sessions) trained to criterion
    (`rlcraving.criterion.CRITERION`, Shaham et al. 2003): it must meet the acquisition criterion (active >
    2x inactive in each of the last 3 FR1 sessions, stable intake) within its maximum of sessions, and cue
    exposure after extinction must raise pressing above the 60-min extinction baseline. With a fixed 8 FR1
    sessions PPO's levers had not separated yet (1.3x in sessions 6-8; 2.3-3.7x from session 12 on, seed 0).
    DQN failed while the criterion was found on one run and the cohort run again on a shorter calendar (its
    exploration schedule is a fraction of the calendar); trained in one run it meets it (docs/sb3.md)."""
    tests = [{"phase": "extinction", "days": 1, "session_minutes": 60},
             {"phase": "cue_reinstatement", "days": 1, "session_minutes": 60}]
    run = run_sb3_cohort_to_criterion(16, tests, session_minutes=10, algo=algo, seed=0)
    assert run.acquired, (run.sa_sessions, run.extinction_sessions)
    table, test_day = run.result.table, run.sa_sessions + run.extinction_sessions + 1
    last_sa = range(run.sa_sessions - 3, run.sa_sessions)
    assert _mean(table, "active_presses", last_sa) > 2.0 * _mean(table, "inactive_presses", last_sa)
    assert _mean(table, "active_presses", [test_day]) > 1.3 * _mean(table, "active_presses", [test_day - 1])


def _mock_sessions(active: list[float], inactive: list[float], infusions: list[float]) -> list[dict[str, float]]:
    return [{"active_presses": a, "inactive_presses": i, "infusions": n}
            for a, i, n in zip(active, inactive, infusions, strict=True)]


def test_the_experimenter_trains_to_criterion_then_tests_then_stops() -> None:
    """`CriterionExperimenter`: FR1 (the calendar's, options None) until the acquisition criterion, extinction
    (options with the given context, same day) until its criterion, then each test, then stop."""
    c = TrainingCriterion(min_sa=3, max_sa=10, stable_sessions=3, min_extinction=2, max_extinction=5,
                          extinguished_sessions=2)
    e = CriterionExperimenter(c, {"context": "B"}, [{"phase": "cue_reinstatement"}])
    sa = _mock_sessions([30, 20, 20, 20], [30, 5, 5, 5], [20, 10, 10, 10])
    assert [e.after_session(s) for s in sa] == [True] * 4
    assert e.acquired_after == 4 and e.options == {"phase": "extinction", "context": "B", "abstinence_days": 0.0}
    assert e.after_session({"active_presses": 12.0}) and e.after_session({"active_presses": 4.0})
    assert e.extinguished_after is None and e.phase == "extinction"   # 12 is not below 25% of 20
    assert e.after_session({"active_presses": 3.0})   # the criterion is met: the test comes next
    assert e.extinguished_after == 3 and e.options == {"phase": "cue_reinstatement", "abstinence_days": 0.0}
    assert not e.after_session({"active_presses": 30.0})
    assert (e.sa_sessions, e.extinction_sessions, len(e.sessions)) == (4, 3, 8)
    never = CriterionExperimenter(c)
    assert all(never.after_session(s) for s in _mock_sessions([5] * 10, [5] * 10, [5] * 10))
    assert never.acquired_after is None and never.phase == "extinction"   # max_sa reached: on to extinction
    assert [never.after_session({"active_presses": 5.0}) for _ in range(5)] == [True] * 4 + [False]
    with pytest.raises(ValueError, match="phase"):
        CriterionExperimenter(c, then=[{"context": "A"}])


def test_train_to_criterion_through_gym_make_in_one_learn_call() -> None:
    """`train_to_criterion` on `make_vec_env` of the public environment: sessions in step, extinction in the
    context asked for, the tests, and a stop at the last one's end; one ``learn`` call, so DQN's exploration
    rate is the schedule's at the steps lived out of the most the criteria allow (not restarted, not a
    fraction of a shorter calendar)."""
    from stable_baselines3 import DQN
    from stable_baselines3.common.env_util import make_vec_env

    # extinction below the FR1 level ends training early, so the run stops well before the most it was allowed
    c = TrainingCriterion(min_sa=2, max_sa=2, stable_sessions=2, min_extinction=1, max_extinction=8,
                          extinguished_sessions=1, extinction_fraction=1.0)
    venv = make_vec_env("rlcraving/CocaineSeeking-v0", n_envs=2, seed=0, env_kwargs={
        "calendar": [{"phase": "self_administration", "days": 10, "session_minutes": 3}]})
    model = DQN("MlpPolicy", venv, seed=0, device="cpu", exploration_fraction=1.0)   # mid-schedule at the end
    run = train_to_criterion(model, criterion=c, extinction={"context": "B", "session_minutes": 3},
                             then=[{"phase": "cue_reinstatement", "session_minutes": 3}], session_minutes=3)
    t, e = run.summaries, run.experimenter
    assert len(t) == 2 * len(e.sessions) and t.groupby("session").size().eq(2).all()
    assert t.phase.tolist()[:4] == ["self_administration"] * 4 and t.phase.tolist()[-2:] == ["cue_reinstatement"] * 2
    assert set(t[t.stage == "extinction"].phase) == {"extinction"}
    steps = 45   # 3 min of 4-s steps
    assert model.num_timesteps == 2 * steps * len(e.sessions)
    most = 2 * steps * (c.max_sa + c.max_extinction + 1)
    # the rate is updated after each step but the one that stopped training
    assert model.exploration_rate == pytest.approx(model.exploration_schedule(1.0 - (model.num_timesteps - 2) / most))
    assert e.extinction_sessions < c.max_extinction and 0.3 < model.exploration_rate < 0.9


def _own_presses(params: dict[str, float]) -> np.ndarray:
    """A2C with SB3's defaults through gym.make, 8 subjects, three 1-h FR1 sessions: per session, the active
    and inactive presses the agent chose itself (the environment adds its own, docs/model.md 3.2)."""
    from stable_baselines3 import A2C
    from stable_baselines3.common.callbacks import BaseCallback
    from stable_baselines3.common.env_util import make_vec_env

    calendar = [{"phase": "self_administration", "days": 4}]
    venv = make_vec_env("rlcraving/CocaineSeeking-v0", n_envs=8, seed=0,
                        env_kwargs={"calendar": calendar, "params": params})
    model = A2C("MlpPolicy", venv, seed=0, device="cpu")
    steps = 900   # 1 h of 4-s steps

    class Own(BaseCallback):
        def __init__(self) -> None:
            super().__init__()
            self.t, self.counts = 0, np.zeros((3, 2))

        def _on_step(self) -> bool:
            chosen = np.asarray(self.locals["actions"]).ravel()
            self.counts[self.t // steps] += [(chosen == 1).mean(), (chosen == 2).mean()]
            self.t += 1
            return True

    own = Own()
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        model.learn(3 * steps * 8, callback=own)
    finally:
        torch.set_num_threads(threads)
    return own.counts


def test_self_administration_stays_the_agents_own() -> None:
    """The Pavlovian controller's presses alone stay below the satiety-regulated intake, so an agent's own
    presses keep their value and a library-default learner presses the active lever itself after its first
    session (measured: 5.4 active / 2.0 inactive an hour in sessions 2-3; with the former 60/h controller
    rate, 0.7 / 0.7: the environment took the drug for it)."""
    counts = _own_presses({})
    active, inactive = counts[1:].mean(axis=0)
    assert active > 3.0 and active > 2.0 * inactive, counts
