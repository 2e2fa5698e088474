"""The pre-trained PPO shipped with the package: it fits today's environment, regenerating it is
deterministic, and it goes on learning through the arms of a lesson."""

from __future__ import annotations

import copy
from pathlib import Path

import numpy as np
import pytest

from rlcraving.agents import pretrained
from rlcraving.agents.sb3 import make_env
from rlcraving.pharmacology import Placebo, RatIP

TINY = {"subjects": 3, "acquisition_days": 1, "session_minutes": 3.0, "seed": 0, "individual_differences": True}
HISTORY = [{"phase": "self_administration", "days": 2, "session_minutes": 3},
           {"phase": "extinction", "days": 1, "session_minutes": 3}]
ARMS = {"placebo": [{"phase": "cue_reinstatement", "session_minutes": 3, "baclofen": Placebo(route="ip")}],
        "baclofen": [{"phase": "cue_reinstatement", "session_minutes": 3, "baclofen": RatIP(5.0)}]}


def test_the_shipped_file_is_small_and_fits_the_environment():
    zip_path = pretrained.DATA / f"{pretrained.NAME}.zip"
    assert zip_path.stat().st_size < 400_000
    record = pretrained.training_record()
    env = make_env(5, {"calendar": pretrained.calendar()})
    assert record["observation_names"] == env.vector_env.observation_names
    assert record["action_meanings"] == env.vector_env.action_meanings
    model = pretrained.load(env)
    assert model.observation_space == env.observation_space and model.action_space == env.action_space
    assert model.n_envs == 5 and model.batch_size == 64 * 5 // 4
    assert pretrained.policy_checksum(model) == record["policy_sha256"]
    assert record["protocol"] == pretrained.PROTOCOL
    presses = record["per_session_means"]["active_presses"]
    assert len(presses) == pretrained.PROTOCOL["acquisition_days"]


def test_a_file_for_another_environment_is_refused_naming_the_fix(tmp_path: Path):
    pretrained.train(tmp_path, TINY)
    env = make_env(2, {"calendar": pretrained.calendar(), "sucrose_lever": True})   # one more action
    with pytest.raises(ValueError, match=r"regenerate it with `python -m rlcraving\.agents\.pretrained`"):
        pretrained.load(env, tmp_path)
    with pytest.raises(FileNotFoundError, match=r"python -m rlcraving\.agents\.pretrained"):
        pretrained.load(env, tmp_path / "nowhere")


def test_regenerating_is_deterministic(tmp_path: Path):
    for name, protocol in (("a", TINY), ("b", TINY), ("c", {**TINY, "seed": 1})):
        pretrained.train(tmp_path / name, protocol)
    sums = [pretrained.training_record(tmp_path / name)["policy_sha256"] for name in "abc"]
    assert sums[0] == sums[1] != sums[2]


@pytest.mark.slow
def test_the_script_regenerates_the_shipped_policy(tmp_path: Path):
    """If this fails, the environment changed since the file was made: run `make pretrained`. Only on the
    machine that made it: on another CPU torch's kernels round differently and the policy drifts."""
    shipped = pretrained.training_record()
    if shipped.get("machine") != pretrained.machine():
        pytest.skip(f"the shipped policy was trained on {shipped.get('machine')}, this is {pretrained.machine()}")
    pretrained.main(["--out", str(tmp_path)])
    assert pretrained.training_record(tmp_path)["policy_sha256"] == shipped["policy_sha256"]


def test_arms_share_the_history_and_learn_on(tmp_path: Path):
    pretrained.train(tmp_path, TINY)
    told: list[tuple[int, int]] = []
    kwargs = dict(frozen_sessions=2, env_kwargs={"individual_differences": True}, seed=2, trace_sessions=(0, 3),
                  event_subjects=range(4), where=tmp_path)
    results = pretrained.run_pretrained_arms(4, HISTORY, ARMS, report=lambda done, total: told.append((done, total)),
                                             **kwargs)
    again = pretrained.run_pretrained_arms(4, HISTORY, ARMS, **kwargs)
    placebo, treated = results["placebo"].table, results["baclofen"].table
    shared = placebo["day"] < 3
    assert np.array_equal(placebo.loc[shared, "value"], treated.loc[treated["day"] < 3, "value"])
    assert not np.array_equal(placebo.loc[~shared, "value"], treated.loc[treated["day"] == 3, "value"])
    assert told[-1] == (5, 5) and [d for d, _ in told] == sorted(d for d, _ in told)
    for name in ARMS:
        assert results[name].table.equals(again[name].table) and results[name].events.equals(again[name].events)
        events = results[name].events
        test = events[(events["day"] == 3) & (events["event"] == "active_presses")]
        per_subject = test.groupby("subject").size().reindex(range(4), fill_value=0).to_numpy()
        cells = results[name].table
        cells = cells[(cells["day"] == 3) & (cells["measure"] == "active_presses")].sort_values("subject")
        assert np.array_equal(per_subject, cells["value"].to_numpy())


def test_bad_arms_are_refused(tmp_path: Path):
    with pytest.raises(ValueError, match="frozen_sessions=3"):
        pretrained.run_pretrained_arms(2, HISTORY, ARMS, frozen_sessions=3)
    with pytest.raises(ValueError, match=r"arms have \[4, 5\] sessions"):
        pretrained.run_pretrained_arms(2, HISTORY, {"a": ARMS["placebo"], "b": ARMS["placebo"] * 2},
                                       frozen_sessions=1)
    with pytest.raises(ValueError, match="env_kwargs"):
        pretrained.run_pretrained_arms(2, HISTORY, ARMS, frozen_sessions=1, env_kwargs={"sucrose_lever": True})


def test_the_lesson_policy_is_sb3s_policy_in_numpy():
    """The gradient-free passes (numpy) give torch's values, log-probabilities and action
    probabilities; the training pass gives SB3's own log-probabilities and entropies."""
    import torch
    from stable_baselines3.common.policies import ActorCriticPolicy

    env = make_env(6, {"calendar": pretrained.calendar()})
    model = pretrained.load(env)
    policy = model.policy
    assert isinstance(policy, pretrained.LessonPolicy)
    env.seed(3)
    obs = env.reset()
    for step in range(40):
        obs, *_ = env.step(np.full(6, step % 3))
    tensor = torch.as_tensor(obs)
    with torch.no_grad():
        actions, values, log_prob = policy(tensor)
        dist = ActorCriticPolicy.get_distribution(policy, tensor)
        assert torch.allclose(values, ActorCriticPolicy.predict_values(policy, tensor), atol=1e-5)
        assert torch.allclose(log_prob, dist.log_prob(actions), atol=1e-5)
        probs = dist.distribution.probs.numpy().astype(float)
    policy.seed_actions(1)
    many = policy.act(np.repeat(obs[:1], 100_000, axis=0))[0]
    freq = np.bincount(many, minlength=probs.shape[1]) / many.size
    assert np.abs(freq - probs[0]).max() < 4 * np.sqrt(probs[0].max() * (1 - probs[0].max()) / many.size) + 1e-3
    twin = copy.deepcopy(policy)
    with torch.no_grad():
        twin.value_net.bias.add_(1.0)   # a copy's numpy pass follows the copy's own parameters
    assert np.allclose(twin.value_of(obs), policy.value_of(obs) + 1.0, atol=1e-5)
    chosen = torch.as_tensor(np.arange(6) % 3)
    ours, theirs = policy.evaluate_actions(tensor, chosen), ActorCriticPolicy.evaluate_actions(policy, tensor, chosen)
    for a, b in zip(ours, theirs, strict=True):
        assert torch.allclose(a, b, atol=1e-5)


def test_a_lived_history_serves_any_test_with_the_numbers_of_a_fresh_run(tmp_path: Path):
    pretrained.train(tmp_path, TINY)
    kwargs = dict(frozen_sessions=2, env_kwargs={"individual_differences": True}, seed=2, trace_sessions=(0, 3),
                  event_subjects=range(4), where=tmp_path)
    lived = pretrained.live_history(4, HISTORY, arms=2, **kwargs)
    other = {"shock": [{"phase": "stress_reinstatement", "session_minutes": 3, "footshock_mA": 0.5}]}
    first = pretrained.run_arms(lived, ARMS)
    second = pretrained.run_arms(lived, other)
    for arms, result in ((ARMS, first), (other, second)):
        fresh = pretrained.run_pretrained_arms(4, HISTORY, arms, **kwargs)
        for name in arms:
            assert result[name].table.equals(fresh[name].table) and result[name].events.equals(fresh[name].events)
            assert result[name].traces.equals(fresh[name].traces)
    with pytest.raises(ValueError, match=r"arms have \[2\] sessions after the history"):
        pretrained.run_arms(lived, {"two": ARMS["placebo"] * 2})
