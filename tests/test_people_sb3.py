"""stable-baselines3 agents in the person's world (`rlcraving/Outpatient-v0`): library defaults through
`gym.make` and `make_vec_env`, the batched `PeopleSB3VecEnv`, and SB3 people through a trial's protocol
(`TrialDesign.agent = "PPO"`), the same protocol code as the TD people's. Short: a few people, a few
weeks, torch on one thread."""

from __future__ import annotations

import dataclasses
import warnings
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest
import torch
from gymnasium.utils.env_checker import check_env
from stable_baselines3 import A2C, PPO
from stable_baselines3.common.env_checker import check_env as sb3_check_env
from stable_baselines3.common.env_util import make_vec_env
from stable_baselines3.common.vec_env import DummyVecEnv

import rlcraving
from rlcraving.agents.sb3 import live_sb3_trial, make_model, make_people_env, torch_threads
from rlcraving.agents.sb3_vec_env import PeopleSB3VecEnv
from rlcraving.envs.outpatient import WEEK_SUMMARY, OutpatientEnv
from rlcraving.outpatient import OBSERVATION_NAMES, USE
from rlcraving.trials import TrialDesign, TrialLife, load_trial, run_trials

EXPERIMENTS = Path(__file__).resolve().parent.parent / "experiments"
SHORT = TrialDesign(name="short", n_randomised=24, history_weeks=2, baseline_weeks=1, treatment_weeks=2)
SHORT_PPO = dataclasses.replace(SHORT, agent="PPO")


@pytest.fixture(autouse=True)
def _one_torch_thread():
    with torch_threads(1):
        yield


def test_sb3_with_library_defaults_trains_on_the_registered_person_world() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        check_env(gym.make(rlcraving.OUTPATIENT_ENV_ID).unwrapped)
        sb3_check_env(gym.make(rlcraving.OUTPATIENT_ENV_ID).unwrapped, warn=True)
    venv = make_vec_env(rlcraving.OUTPATIENT_ENV_ID, n_envs=2, seed=0)
    model = PPO("MlpPolicy", venv, seed=0, device="cpu").learn(2 * 2048)      # one rollout of the defaults
    weeks = [info["l"] for info in model.ep_info_buffer]
    assert model.num_timesteps == 4096 and len(weeks) == 2 * (2048 // 168) and set(weeks) == {168}
    single = gym.make(rlcraving.OUTPATIENT_ENV_ID, baclofen_mg_per_day=60.0)
    a2c = A2C("MlpPolicy", single, seed=0, device="cpu").learn(400)
    assert a2c.num_timesteps == 400 and [info["l"] for info in a2c.ep_info_buffer] == [168, 168]


def test_the_batched_people_env_steps_as_the_single_environment_does() -> None:
    batched = make_people_env(1, {"baclofen_mg_per_day": 30.0})
    single = DummyVecEnv([lambda: OutpatientEnv(baclofen_mg_per_day=30.0)])
    batched.seed(7)
    single.seed(7)
    assert np.array_equal(batched.reset(), single.reset())
    actions = np.random.default_rng(0).integers(0, 3, 2 * 168 + 5)
    ended = 0
    for a in actions:
        o1, r1, d1, i1 = batched.step(np.array([a]))
        o2, r2, d2, i2 = single.step(np.array([a]))
        assert np.array_equal(o1, o2) and np.allclose(r1, r2) and np.array_equal(d1, d2)
        if d1[0]:
            ended += 1
            assert np.array_equal(i1[0]["terminal_observation"], i2[0]["terminal_observation"])
            assert i1[0]["TimeLimit.truncated"] and i1[0]["episode"]["l"] == 168
            assert tuple(i1[0]["week_summary"]) == WEEK_SUMMARY and i1[0]["week"] == ended - 1
    assert ended == 2
    assert batched.observation_names == list(OBSERVATION_NAMES) and batched.num_envs == 1


def test_same_seed_same_people_and_policy() -> None:
    def train(seed: int) -> tuple[np.ndarray, float]:
        env = make_people_env(3)
        env.seed(seed)
        model = make_model("A2C", env, seed=seed)
        model.learn(3 * 168 * 2)
        return env.batch.total_infusions.copy(), float(next(model.policy.parameters()).detach().sum())
    first, again, other = train(1), train(1), train(2)
    assert np.array_equal(first[0], again[0]) and first[1] == again[1]
    assert first[1] != other[1]


def test_bad_people_env_arguments_are_refused_naming_them() -> None:
    with pytest.raises(TypeError, match="rout"):
        make_people_env(2, {"rout": "smoked"})
    with pytest.raises(ValueError, match="n_people=0"):
        make_people_env(0)
    with pytest.raises(ValueError, match="baclofen_mg_per_day"):
        make_people_env(2, {"baclofen_mg_per_day": -5.0})
    life = TrialLife(SHORT_PPO, 1, 1, 0)
    with pytest.raises(ValueError, match="num_envs=3"):
        PeopleSB3VecEnv(3, life=life)


def _use_probability(model: PPO, life: TrialLife) -> float:
    """The policy's mean chance of using, over the people's states now, made awake with drug at hand."""
    obs = life.batch.observe()
    obs[:, OBSERVATION_NAMES.index("drug_at_hand")] = 1.0
    obs[:, OBSERVATION_NAMES.index("awake")] = 1.0
    obs[:, OBSERVATION_NAMES.index("hour_of_day")] = 14.0 / 24.0
    with torch.no_grad():
        probs = model.policy.get_distribution(model.policy.obs_to_tensor(obs)[0]).distribution.probs
    return float(probs[:, USE].mean())


def test_a_ppo_person_learns_to_use_and_lives_through_the_trials_protocol() -> None:
    life = TrialLife(SHORT_PPO, 1, 1, 3)
    model = live_sb3_trial(life, "PPO", seed=3)
    assert life.finished and life.week == SHORT.weeks
    # measured (seeds 3-5): 0.68-0.77 after 5 weeks; a uniform policy uses with chance 1/3
    assert _use_probability(model, life) > 0.6
    arm, doses = life.arm, life.batch.doses_taken    # the trial's randomisation acted on the SB3 people
    assert (arm == 1).sum() >= 10 and np.all(doses[arm == 1] > 0) and np.all(doses[arm != 1] == 0)
    # uses per week over treatment above a uniform random policy's, same design and people (seeds 3-5: 1.28-1.31x)
    results = life.result()
    random_life = TrialLife(SHORT, 1, 1, 3)
    rng = np.random.default_rng(0)
    random_life.enter_stage()
    while not random_life.finished:
        for _ in range(168):
            random_life.batch.step(rng.integers(0, 3, random_life.n))
            random_life.after_step()
        random_life.next_week()
        random_life.enter_stage()
    assert results.people["uses_per_week"].mean() > 1.2 * random_life.result().people["uses_per_week"].mean()


def test_an_sb3_trial_has_the_td_trials_tables_and_the_same_seed_gives_the_same_trial() -> None:
    results = run_trials(SHORT_PPO, 2, seed=3)
    td = run_trials(SHORT, 2, seed=3)
    assert list(results.trials.columns) == list(td.trials.columns)
    assert list(results.people.columns) == list(td.people.columns)
    assert list(results.urines.columns) == list(td.urines.columns)
    assert set(results.urines["arm"]) == {"baclofen", "placebo"}
    assert results.urines.groupby("person")["visit"].count().eq(6).all()    # three urines a week
    on = results.people["arm"] == "baclofen"
    assert np.all(results.people.loc[on, "dopamine_gain"] < 1.0)
    assert np.allclose(results.trials["effect"], results.trials["outcome_baclofen"] - results.trials["outcome_placebo"])
    again = run_trials(SHORT_PPO, 2, seed=3)
    assert results.trials.equals(again.trials) and results.people.equals(again.people)


def test_a_trial_has_the_same_people_alone_as_beside_other_trials() -> None:
    together = TrialLife(SHORT, 3, 1, 5)
    alone = TrialLife(SHORT, 1, 1, 5, first_trial=2)
    for trait in ("access", "adherence", "renal_function", "exposure"):
        assert np.array_equal(getattr(together.batch, trait)[2 * 24:], getattr(alone.batch, trait))


def test_the_sb3_trial_spec_is_shoptaw_2003_with_a_ppo_person() -> None:
    ppo = load_trial(EXPERIMENTS / "shoptaw_2003_ppo.yaml")
    paper = load_trial(EXPERIMENTS / "shoptaw_2003.yaml")
    assert ppo.agent == "PPO"
    assert dataclasses.replace(ppo, name=paper.name, agent=paper.agent, trials=paper.trials,
                               scales=paper.scales) == paper


@pytest.mark.parametrize(("changes", "message"), [
    ({"agent": "ppo"}, "agent='ppo'"),
    ({"agent": "PPO", "agent_params": {"learning_rate": 0.1}}, "agent_params="),
    ({"agent": "q_learning", "algo_kwargs": {"n_steps": 8}}, "algo_kwargs="),
    ({"agent": "PPO", "algo_kwargs": {"nsteps": 8}}, "nsteps"),
    ({"agent": "A2C", "algo_kwargs": {"seed": 1}}, "seed"),
    ({"agent": "PPO", "algo_kwargs": [1, 2]}, "algo_kwargs="),
])
def test_bad_sb3_trial_settings_are_refused_naming_the_parameter(changes: dict, message: str) -> None:
    with pytest.raises((ValueError, TypeError), match=message):
        dataclasses.replace(SHORT, **changes)
