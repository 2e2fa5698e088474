"""A PPO pre-trained through acquisition on placebo, shipped with the package.

The classroom app offers it beside the TD agents. Training a PPO from nothing through a whole
lesson takes about a minute, so the package ships one that has already lived acquisition
(`PROTOCOL`: 32 subjects with individual differences, ten daily 1-h FR1 cocaine sessions, no
baclofen, `DEFAULT_ALGO_KWARGS["PPO"]`, seed 0), as `data/ppo_acquisition.zip` (SB3's file),
`data/ppo_acquisition.env.json` (its environment settings) and `data/ppo_acquisition.training.json`
(the protocol, the library versions, a checksum of the policy's parameters, and what the
pre-training cohort did per session). This module is the file's single source:

    python -m rlcraving.agents.pretrained        # or: make pretrained

regenerates it (same seed, same parameters: the checksum is tested).

`run_pretrained_arms` is `cohort.run_cohort_arms` for this PPO: new subjects (the lesson's seed and
settings) live the history's first `frozen_sessions` sessions (acquisition, which the checkpoint
has learnt) with the pre-trained policy acting and not learning, then the policy goes on learning,
as the TD agents do, through the rest of the history (extinction) and each arm's own sessions (the
tests). Arms are copies of the policy and the subjects at the end of the history.
"""

from __future__ import annotations

import argparse
import copy
import hashlib
import json
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from stable_baselines3 import PPO
from stable_baselines3.common.callbacks import BaseCallback, CallbackList
from stable_baselines3.common.logger import Logger
from stable_baselines3.common.utils import set_random_seed

from rlcraving.agents.cohort import CohortResult
from rlcraving.agents.sb3 import (
    SessionRecorder,
    algo_kwargs_for,
    calendar_steps,
    make_env,
    make_model,
    phase_means,
    save_agent,
    torch_threads,
    train_through_calendar,
)
from rlcraving.agents.sb3_vec_env import CocaineSeekingSB3VecEnv
from rlcraving.checks import check_keys, check_number
from rlcraving.core import session_steps
from rlcraving.files import atomic_write_text
from rlcraving.protocol import Calendar, as_calendar

DATA = Path(__file__).with_name("data")
NAME = "ppo_acquisition"
#: The pre-training: who, how long, which seed (the app's lessons use individual differences too).
PROTOCOL: dict[str, Any] = {"subjects": 32, "acquisition_days": 10, "session_minutes": 60.0, "seed": 0,
                            "individual_differences": True}
#: Environment options a lesson may set on the pre-trained PPO's subjects.
LESSON_ENV_KWARGS = ("kor_knockout", "individual_differences", "params")


def calendar(protocol: Mapping[str, Any] = PROTOCOL) -> Calendar:
    """The pre-training calendar: daily FR1 cocaine sessions, placebo."""
    return as_calendar([{"phase": "self_administration", "days": int(protocol["acquisition_days"]),
                         "session_minutes": float(protocol["session_minutes"])}])


def policy_checksum(model: PPO) -> str:
    """sha256 of the policy's parameters (float32, in state-dict order): equal files, equal policies."""
    digest = hashlib.sha256()
    for name, tensor in model.policy.state_dict().items():
        digest.update(name.encode())
        digest.update(tensor.detach().cpu().numpy().astype(np.float32).tobytes())
    return digest.hexdigest()


def train(out: str | Path = DATA, protocol: Mapping[str, Any] = PROTOCOL) -> Path:
    """Pre-train the PPO through acquisition and write the three files to `out`; returns the zip."""
    import sb3_contrib
    import stable_baselines3

    from rlcraving import __version__

    check_keys("protocol", protocol, PROTOCOL)
    n = check_number("protocol['subjects']", protocol["subjects"], lo=1, hi=4096, integer=True)
    seed = check_number("protocol['seed']", protocol["seed"], lo=0, hi=2**32 - 1, integer=True)
    check_number("protocol['acquisition_days']", protocol["acquisition_days"], lo=1, hi=60, integer=True)
    check_number("protocol['session_minutes']", protocol["session_minutes"], lo=1.0, hi=600.0)
    cal = calendar(protocol)
    env = make_env(n, {"calendar": cal, "individual_differences": bool(protocol["individual_differences"])})
    model = make_model("PPO", env, seed=seed)
    started = time.perf_counter()
    recorder = train_through_calendar(model, progress_bar=False)
    seconds = time.perf_counter() - started
    zip_path, _ = save_agent(model, Path(out) / NAME)
    means = phase_means(recorder.table())
    record = {
        "what": "PPO (stable-baselines3) pre-trained through acquisition on placebo; regenerate with "
                "`python -m rlcraving.agents.pretrained` (make pretrained)",
        "protocol": dict(protocol),
        "algo_kwargs": {k: v for k, v in algo_kwargs_for("PPO", n).items() if k != "device"},
        "environment_steps": int(n * calendar_steps(cal, env.batch.params)),
        "observation_names": list(env.vector_env.observation_names),
        "action_meanings": list(env.vector_env.action_meanings),
        "policy_sha256": policy_checksum(model),
        "versions": {"rlcraving": __version__, "stable_baselines3": stable_baselines3.__version__,
                     "sb3_contrib": sb3_contrib.__version__, "torch": torch.__version__},
        "training_seconds": round(seconds, 1),
        "per_session_means": {m: [round(float(v), 3) for v in means[m]]
                              for m in ("active_presses", "inactive_presses", "infusions")},
    }
    atomic_write_text(Path(out) / f"{NAME}.training.json", json.dumps(record, indent=2) + "\n")
    return zip_path


def training_record(where: str | Path = DATA) -> dict[str, Any]:
    """The shipped file's training record (`train` wrote it)."""
    return json.loads((Path(where) / f"{NAME}.training.json").read_text())


def load(env: CocaineSeekingSB3VecEnv, where: str | Path = DATA) -> PPO:
    """The pre-trained PPO on `env` (its subjects, any number), the classroom minibatch rule kept.

    Refuses, naming the fix, a file whose observation or action space is not `env`'s.
    """
    path = Path(where) / f"{NAME}.zip"
    if not path.exists():
        raise FileNotFoundError(f"{path} is missing; make it with `python -m rlcraving.agents.pretrained`")
    batch_size = algo_kwargs_for("PPO", env.num_envs)["batch_size"]
    try:
        model = PPO.load(path, env=env, device="cpu", batch_size=batch_size)
    except ValueError as error:   # SB3's space check
        raise ValueError(f"{path} does not fit the environment ({error}); the environment changed since it was "
                         "made: regenerate it with `python -m rlcraving.agents.pretrained`") from error
    model.set_logger(Logger(None, []))
    return model


class _Steps(BaseCallback):
    """Stops learning after `steps` environment steps, keeping the last observation for the next learn()."""

    def __init__(self, steps: int):
        super().__init__()
        self.left = int(steps)

    def _on_step(self) -> bool:
        self.left -= 1
        if self.left > 0:
            return True
        # SB3 returns before storing these when a callback stops the rollout
        self.model._last_obs = self.locals["new_obs"]
        self.model._last_episode_starts = self.locals["dones"]
        return False


class _Report(BaseCallback):
    """Calls `tell()` after every step that ends a session."""

    def __init__(self, tell: Callable[[], None]):
        super().__init__()
        self.tell = tell

    def _on_step(self) -> bool:
        if self.locals["dones"].any():
            self.tell()
        return True


def run_pretrained_arms(n_subjects: int, history: Sequence[Mapping[str, Any]],
                        arms: Mapping[str, Sequence[Mapping[str, Any]]], *, frozen_sessions: int,
                        env_kwargs: Mapping[str, Any] | None = None, seed: int = 0,
                        trace_sessions: Sequence[int] = (), event_subjects: Sequence[int] = (),
                        report: Callable[[int, int], None] | None = None,
                        where: str | Path = DATA) -> dict[str, CohortResult]:
    """`cohort.run_cohort_arms` for the pre-trained PPO: one `CohortResult` per arm.

    The history's first `frozen_sessions` sessions are lived with the policy acting, not learning;
    the policy learns in every later session. Every arm has as many sessions as the first. The last
    4-s step of the history is where arms part; SB3 trains on whole rollouts of 64 steps, so the
    part-filled rollout there (under 64 steps) is not trained on. `report(done, total)` as sessions end.
    """
    if not isinstance(arms, Mapping) or not arms:
        raise ValueError(f"arms={arms!r} must be a non-empty dict of name -> calendar entries")
    kwargs = dict(env_kwargs or {})
    check_keys("env_kwargs", kwargs, LESSON_ENV_KWARGS)
    calendars = {name: as_calendar([*history, *entries]) for name, entries in arms.items()}
    shared = len(as_calendar(list(history)))
    lengths = {len(c) for c in calendars.values()}
    if len(lengths) != 1:
        raise ValueError(f"arms have {sorted(lengths)} sessions in all; every arm needs as many as the first")
    check_number("frozen_sessions", frozen_sessions, lo=0, hi=shared - 1, integer=True)
    first = next(iter(calendars.values()))
    env = make_env(n_subjects, {**kwargs, "calendar": first})
    model = load(env, where)
    env.seed(check_number("seed", seed, lo=0, hi=2**32 - 1, integer=True))   # after load: SB3 seeds the env there
    recorder = SessionRecorder(first, env.num_envs, trace_sessions=trace_sessions, event_subjects=event_subjects,
                               stop_at_end=False)
    recorder.attach(env)
    total = shared + len(arms) * (len(first) - shared)
    now = {"recorder": recorder, "offset": 0}   # whose sessions `tell` counts

    def tell() -> None:
        if report is not None:
            report(now["offset"] + int(now["recorder"].finished.min()), total)

    with torch_threads(1):
        set_random_seed(int(seed))
        _act(model, env, recorder, frozen_sessions, tell)
        learnt = sum(session_steps(first[d], env.batch.params) for d in range(frozen_sessions, shared))
        _learn(model, [recorder, _Steps(learnt - 1), _Report(tell)])
        results = {}
        for k, (name, cal) in enumerate(calendars.items()):
            recorder.locals, recorder.globals = {}, {}   # SB3's references to the training loop's frames
            arm_model, arm_recorder = copy.deepcopy((model, recorder))
            arm_model.get_env().unwrapped.follow(cal)
            arm_recorder.calendar, arm_recorder.stop_at_end = cal, True
            now.update(recorder=arm_recorder, offset=k * (len(first) - shared))
            set_random_seed(int(seed) + 1)   # every arm draws the same action noise: arms differ by their sessions
            _learn(arm_model, [arm_recorder, _Report(tell)])
            if not arm_recorder.done:
                raise RuntimeError(f"arm {name!r} ended before every subject finished it")
            results[name] = arm_recorder.result(name)
    return results


def _act(model: PPO, env: CocaineSeekingSB3VecEnv, recorder: SessionRecorder, sessions: int,
         tell: Callable[[], None]) -> None:
    """Every subject lives its next `sessions` sessions with the policy acting (sampling) and not learning."""
    obs = env.reset()
    dones = np.ones(env.num_envs, dtype=bool)
    policy = model.policy
    policy.set_training_mode(False)
    while int(recorder.finished.min()) < sessions:
        with torch.no_grad():
            actions, values, _ = policy(policy.obs_to_tensor(obs)[0])
        obs, rewards, dones, infos = env.step(actions.cpu().numpy())
        recorder.record(env, model, obs, rewards, dones, infos, values)
        if dones.any():
            tell()
    model._last_obs = obs
    model._last_episode_starts = dones


def _learn(model: PPO, callbacks: list[BaseCallback]) -> None:
    """Go on learning from where the model's environment is (no reset) until a callback stops it."""
    forever = 10**12
    model.learn(total_timesteps=forever, callback=CallbackList(callbacks), reset_num_timesteps=False,
                progress_bar=False)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m rlcraving.agents.pretrained",
                                     description="Regenerate the pre-trained PPO shipped with the package.")
    parser.add_argument("--out", default=str(DATA),
                        help=f"folder to write {NAME}.zip and its JSON files to (default: %(default)s)")
    args = parser.parse_args(argv)
    zip_path = train(args.out)
    record = training_record(args.out)
    presses = record["per_session_means"]["active_presses"]
    print(f"wrote {zip_path} ({zip_path.stat().st_size / 1024:.0f} KB) in {record['training_seconds']} s; "
          f"active presses per session {presses[0]:.1f} -> {presses[-1]:.1f}; "
          f"policy sha256 {record['policy_sha256'][:12]}")


__all__ = ["DATA", "LESSON_ENV_KWARGS", "NAME", "PROTOCOL", "calendar", "load", "main",
           "policy_checksum", "run_pretrained_arms", "train", "training_record"]

if __name__ == "__main__":
    main()
