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
tests). Arms are copies of the policy and the subjects at the end of the history; `live_history`
and `run_arms` are its two halves, so one lived history can serve many tests (the app keeps them).
In a lesson the PPO updates on whole rollouts (`LESSON_MINIBATCHES`), and its policy is a
`LessonPolicy`: SB3's, with the passes that need no gradient in numpy (the same numbers, faster).
"""

from __future__ import annotations

import argparse
import copy
import hashlib
import json
import platform
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from gymnasium import spaces
from stable_baselines3 import PPO
from stable_baselines3.common.callbacks import BaseCallback, CallbackList
from stable_baselines3.common.logger import Logger
from stable_baselines3.common.policies import ActorCriticPolicy
from stable_baselines3.common.torch_layers import FlattenExtractor
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
from rlcraving.protocol import Calendar, CalendarEntry, as_calendar

DATA = Path(__file__).with_name("data")
NAME = "ppo_acquisition"
#: The pre-training: who, how long, which seed (the app's lessons use individual differences too).
PROTOCOL: dict[str, Any] = {"subjects": 32, "acquisition_days": 10, "session_minutes": 60.0, "seed": 0,
                            "individual_differences": True}
#: Environment options a lesson may set on the pre-trained PPO's subjects.
LESSON_ENV_KWARGS = ("kor_knockout", "individual_differences", "params")
#: Minibatches per epoch when the PPO learns on in a lesson (pre-training used `sb3.MINIBATCHES`, 4):
#: one, the whole 64-step rollout, so 4 updates per rollout (n_epochs) instead of 16. An update costs
#: the same few ms whatever its size (torch's per-call overhead at these network sizes), so this
#: quarters the lesson's training time, which was half of its time. Measured (docs/sb3.md, 16
#: subjects, seeds 0-2): extinction and the placebo cue test as with 16 updates (last extinction
#: session 10.6-13.9 vs 9.5-14.1 presses, placebo test 53-67 vs 55-75), and the policy's own presses
#: in the test now fall with the dose (with 16 updates they did not, and only the environment's
#: cue-driven presses carried baclofen's effect): the lesson's baclofen effect depends on this setting.
LESSON_MINIBATCHES = 1


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


def machine() -> dict[str, str]:
    """What torch's float results depend on besides the seed: its version, the CPU kernels it dispatches
    to and the processor. PPO's training is the same bit for bit on one machine; on another CPU the
    kernels round differently and the policy drifts (the shipped one: its last session's mean)."""
    cpuinfo = Path("/proc/cpuinfo")
    names = [line.split(":", 1)[1].strip() for line in cpuinfo.read_text().splitlines()
             if line.startswith("model name")] if cpuinfo.exists() else []
    return {"torch": torch.__version__, "cpu_capability": torch.backends.cpu.get_cpu_capability(),
            "processor": names[0] if names else platform.processor() or platform.machine()}


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
        "machine": machine(),
        "training_seconds": round(seconds, 1),
        "per_session_means": {m: [round(float(v), 3) for v in means[m]]
                              for m in ("active_presses", "inactive_presses", "infusions")},
    }
    atomic_write_text(Path(out) / f"{NAME}.training.json", json.dumps(record, indent=2) + "\n")
    return zip_path


def training_record(where: str | Path = DATA) -> dict[str, Any]:
    """The shipped file's training record (`train` wrote it)."""
    return json.loads((Path(where) / f"{NAME}.training.json").read_text())


#: A layer as numpy sees it: ("linear", weight (in, out), bias) or ("tanh" | "relu", None, None).
_Layer = tuple[str, Any, Any]


def _layer(module: torch.nn.Module) -> _Layer:
    if isinstance(module, torch.nn.Linear):
        return "linear", module.weight.detach().numpy().T, module.bias.detach().numpy()
    if isinstance(module, (torch.nn.Tanh, torch.nn.ReLU)):
        return ("tanh" if isinstance(module, torch.nn.Tanh) else "relu"), None, None
    raise TypeError(f"LessonPolicy has no numpy pass for {type(module).__name__}")


class LessonPolicy(ActorCriticPolicy):
    """SB3's PPO `MlpPolicy` (same networks, same parameters) whose gradient-free passes run in numpy.

    Collecting a rollout asks the policy for every subject's action once per 4-s step: torch spends
    about 0.5 ms on such a call for 16 subjects (module dispatch, a validated `Categorical`), numpy
    about 0.03 ms. The maths is the same: the tanh MLPs in float32, an action drawn from the
    softmax of the logits (with the policy's own generator, `seed_actions`), its log-probability,
    the critic's value. Passes that need gradients (PPO's updates) are torch's; `evaluate_actions`
    there computes the categorical log-probability and entropy straight from the logits.
    """

    rng: np.random.Generator = np.random.default_rng(0)

    def seed_actions(self, seed: int | Sequence[int]) -> None:
        """Seed the generator the gradient-free passes draw actions with (same seed, same actions)."""
        self.rng = np.random.default_rng(seed)

    def _numpy_layers(self) -> tuple[list[_Layer], list[_Layer], _Layer, _Layer]:
        """Numpy views (no copies) of the actor's and critic's layers and heads."""
        source = self.value_net.bias.data_ptr()   # a deep copy has new tensors (an update or a load is in place)
        cached = getattr(self, "_layers", None)
        if cached is None or cached[0] != source:
            nets = self.mlp_extractor
            cached = (source, [_layer(m) for m in nets.policy_net], [_layer(m) for m in nets.value_net],
                      _layer(self.action_net), _layer(self.value_net))
            self._layers = cached
        return cached[1], cached[2], cached[3], cached[4]

    def _fits_numpy(self) -> bool:
        return (isinstance(self.action_space, spaces.Discrete) and isinstance(self.observation_space, spaces.Box)
                and isinstance(self.pi_features_extractor, FlattenExtractor)
                and isinstance(self.vf_features_extractor, FlattenExtractor))

    @staticmethod
    def _mlp(x: np.ndarray, layers: list[_Layer]) -> np.ndarray:
        for kind, weight, bias in layers:
            x = x @ weight + bias if kind == "linear" else np.tanh(x) if kind == "tanh" else np.maximum(x, 0.0)
        return x

    def act(self, obs: np.ndarray, deterministic: bool = False) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Actions (int64), values V(s) (float32, shape (n, 1)) and log-probabilities (float32) for `obs`."""
        pi_layers, vf_layers, (_, w_a, b_a), (_, w_v, b_v) = self._numpy_layers()
        x = np.asarray(obs, dtype=np.float32).reshape(len(obs), -1)
        logits = self._mlp(x, pi_layers) @ w_a + b_a
        values = self._mlp(x, vf_layers) @ w_v + b_v
        log_p = logits - logits.max(axis=1, keepdims=True)
        log_p -= np.log(np.exp(log_p).sum(axis=1, keepdims=True))
        if deterministic:
            actions = log_p.argmax(axis=1)
        else:
            below = np.cumsum(np.exp(log_p.astype(np.float64)), axis=1)
            u = self.rng.random(len(x)) * below[:, -1]
            actions = np.minimum((below < u[:, None]).sum(axis=1), logits.shape[1] - 1)
        return (actions.astype(np.int64), values.astype(np.float32),
                log_p[np.arange(len(x)), actions].astype(np.float32))

    def forward(self, obs: torch.Tensor, deterministic: bool = False
                ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        if torch.is_grad_enabled() or not self._fits_numpy():
            return super().forward(obs, deterministic)
        actions, values, log_prob = self.act(obs.numpy(), deterministic)
        return torch.from_numpy(actions), torch.from_numpy(values), torch.from_numpy(log_prob)

    def value_of(self, obs: np.ndarray) -> np.ndarray:
        """The critic's V(s) (float32, shape (n, 1)) for numpy observations."""
        _, vf_layers, _, (_, w_v, b_v) = self._numpy_layers()
        x = np.asarray(obs, dtype=np.float32).reshape(len(obs), -1)
        return (self._mlp(x, vf_layers) @ w_v + b_v).astype(np.float32)

    def predict_values(self, obs: torch.Tensor) -> torch.Tensor:
        if torch.is_grad_enabled() or not self._fits_numpy():
            return super().predict_values(obs)
        return torch.from_numpy(self.value_of(obs.numpy()))

    def evaluate_actions(self, obs: torch.Tensor, actions: torch.Tensor
                         ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
        if not (self._fits_numpy() and self.share_features_extractor):
            return super().evaluate_actions(obs, actions)
        latent_pi, latent_vf = self.mlp_extractor(self.extract_features(obs))
        log_p = torch.log_softmax(self.action_net(latent_pi), dim=-1)
        log_prob = log_p.gather(1, actions.long().reshape(-1, 1)).squeeze(1)
        entropy = -(log_p.exp() * log_p).sum(dim=1)
        return self.value_net(latent_vf), log_prob, entropy


def load(env: CocaineSeekingSB3VecEnv, where: str | Path = DATA) -> PPO:
    """The pre-trained PPO on `env` (its subjects, any number), the classroom minibatch rule kept.

    Refuses, naming the fix, a file whose observation or action space is not `env`'s.
    """
    path = Path(where) / f"{NAME}.zip"
    if not path.exists():
        raise FileNotFoundError(f"{path} is missing; make it with `python -m rlcraving.agents.pretrained`")
    batch_size = algo_kwargs_for("PPO", env.num_envs)["batch_size"]
    try:
        model = PPO.load(path, env=env, device="cpu", batch_size=batch_size,
                         custom_objects={"policy_class": LessonPolicy})
    except ValueError as error:   # SB3's space check
        raise ValueError(f"{path} does not fit the environment ({error}); the environment changed since it was "
                         "made: regenerate it with `python -m rlcraving.agents.pretrained`") from error
    model.set_logger(Logger(None, []))
    for group in model.policy.optimizer.param_groups:   # Adam's multi-tensor step: the same update, ~20% faster
        group["foreach"] = True
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


@dataclass
class History:
    """A cohort of the pre-trained PPO at the last 4-s step of its shared history (`live_history`),
    ready to part into arms (`run_arms`, which copies it and leaves it as it is: one history serves
    any number of tests)."""

    model: PPO
    recorder: SessionRecorder
    sessions: int        # sessions in the history
    arm_sessions: int    # sessions every arm has after it
    arms: int            # arms planned (for progress reports)
    seed: int


def live_history(n_subjects: int, history: Sequence[Mapping[str, Any]], *, frozen_sessions: int,
                 arm_sessions: int = 1, arms: int = 1, env_kwargs: Mapping[str, Any] | None = None, seed: int = 0,
                 trace_sessions: Sequence[int] = (), event_subjects: Sequence[int] = (),
                 report: Callable[[int, int], None] | None = None, where: str | Path = DATA) -> History:
    """New subjects (`seed`, `env_kwargs`) live `history` with the pre-trained PPO: its first
    `frozen_sessions` sessions with the policy acting and not learning, then learning (updates on
    whole rollouts, `LESSON_MINIBATCHES`).

    Stops one 4-s step before the history's end, where `run_arms` parts the cohort. `trace_sessions`
    may name sessions of the arms (history sessions + k). `report(done, total)` as sessions end,
    total counting `arms` arms of `arm_sessions` sessions each.
    """
    kwargs = dict(env_kwargs or {})
    check_keys("env_kwargs", kwargs, LESSON_ENV_KWARGS)
    shared = len(as_calendar(list(history)))
    check_number("frozen_sessions", frozen_sessions, lo=0, hi=shared - 1, integer=True)
    after = check_number("arm_sessions", arm_sessions, lo=1, hi=1000, integer=True)
    n_arms = check_number("arms", arms, lo=1, hi=1000, integer=True)
    seed = check_number("seed", seed, lo=0, hi=2**32 - 1, integer=True)
    # the arms' sessions are not started here (each arm brings its own); a placeholder holds their place
    last = as_calendar(list(history)).entries[-1]
    placeholder = CalendarEntry(last.phase, after, last.overrides)
    calendar = as_calendar([*history, placeholder])
    env = make_env(n_subjects, {**kwargs, "calendar": calendar})
    model = load(env, where)
    model.batch_size = model.n_steps * env.num_envs // LESSON_MINIBATCHES
    env.seed(seed)   # after load: SB3 seeds the env there
    recorder = SessionRecorder(calendar, env.num_envs, trace_sessions=trace_sessions, event_subjects=event_subjects,
                               stop_at_end=False)
    recorder.attach(env)
    total = shared + n_arms * after

    def tell() -> None:
        if report is not None:
            report(int(recorder.finished.min()), total)

    with torch_threads(1):
        set_random_seed(seed)
        model.policy.seed_actions([seed, 0])
        _act(model, env, recorder, frozen_sessions, tell)
        learnt = sum(session_steps(calendar[d], env.batch.params) for d in range(frozen_sessions, shared))
        _learn(model, [recorder, _Steps(learnt - 1), _Report(tell)])
    recorder.locals, recorder.globals = {}, {}   # SB3's references to the training loop's frames
    return History(model, recorder, shared, after, n_arms, seed)


def run_arms(lived: History, arms: Mapping[str, Sequence[Mapping[str, Any]]], *,
             report: Callable[[int, int], None] | None = None) -> dict[str, CohortResult]:
    """Each arm: a copy of `lived` (policy, optimiser, subjects) goes on learning through the arm's
    sessions. Every arm draws the same action noise, so arms differ only by their sessions.

    `report(done, total)` as sessions end, counting on from the history's sessions.
    """
    if not isinstance(arms, Mapping) or not arms:
        raise ValueError(f"arms={arms!r} must be a non-empty dict of name -> calendar entries")
    history = lived.recorder.calendar.entries
    calendars = {name: as_calendar([*history[:-1], *entries]) for name, entries in arms.items()}
    lengths = sorted({len(c) - lived.sessions for c in calendars.values()})
    if lengths != [lived.arm_sessions]:
        raise ValueError(f"arms have {lengths} sessions after the history; this history was lived for arms of "
                         f"{lived.arm_sessions}")
    total = lived.sessions + max(lived.arms, len(arms)) * lived.arm_sessions
    now = {"recorder": lived.recorder, "offset": 0}   # whose sessions `tell` counts

    def tell() -> None:
        if report is not None:
            report(now["offset"] + int(now["recorder"].finished.min()), total)

    results = {}
    with torch_threads(1):
        for k, (name, cal) in enumerate(calendars.items()):
            model, recorder = copy.deepcopy((lived.model, lived.recorder))
            model.get_env().unwrapped.follow(cal)
            recorder.follow(cal)
            recorder.stop_at_end = True
            now.update(recorder=recorder, offset=k * lived.arm_sessions)
            set_random_seed(lived.seed + 1)
            model.policy.seed_actions([lived.seed, 1])
            _learn(model, [recorder, _Report(tell)])
            if not recorder.done:
                raise RuntimeError(f"arm {name!r} ended before every subject finished it")
            recorder.locals, recorder.globals = {}, {}
            results[name] = recorder.result(name)
    return results


def run_pretrained_arms(n_subjects: int, history: Sequence[Mapping[str, Any]],
                        arms: Mapping[str, Sequence[Mapping[str, Any]]], *, frozen_sessions: int,
                        env_kwargs: Mapping[str, Any] | None = None, seed: int = 0,
                        trace_sessions: Sequence[int] = (), event_subjects: Sequence[int] = (),
                        report: Callable[[int, int], None] | None = None,
                        where: str | Path = DATA) -> dict[str, CohortResult]:
    """`cohort.run_cohort_arms` for the pre-trained PPO: one `CohortResult` per arm
    (`live_history`, then `run_arms`).

    The history's first `frozen_sessions` sessions are lived with the policy acting, not learning;
    the policy learns in every later session. Every arm has as many sessions as the first. The last
    4-s step of the history is where arms part; SB3 trains on whole rollouts of 64 steps, so the
    part-filled rollout there (under 64 steps) is not trained on. `report(done, total)` as sessions end.
    """
    if not isinstance(arms, Mapping) or not arms:
        raise ValueError(f"arms={arms!r} must be a non-empty dict of name -> calendar entries")
    shared = len(as_calendar(list(history)))
    lengths = {len(as_calendar([*history, *entries])) for entries in arms.values()}
    if len(lengths) != 1:
        raise ValueError(f"arms have {sorted(lengths)} sessions in all; every arm needs as many as the first")
    lived = live_history(n_subjects, history, frozen_sessions=frozen_sessions, arm_sessions=lengths.pop() - shared,
                         arms=len(arms), env_kwargs=env_kwargs, seed=seed, trace_sessions=trace_sessions,
                         event_subjects=event_subjects, report=report, where=where)
    return run_arms(lived, arms, report=report)


def _act(model: PPO, env: CocaineSeekingSB3VecEnv, recorder: SessionRecorder, sessions: int,
         tell: Callable[[], None]) -> None:
    """Every subject lives its next `sessions` sessions with the policy acting (sampling) and not learning."""
    obs = env.reset()
    dones = np.ones(env.num_envs, dtype=bool)
    policy = model.policy
    policy.set_training_mode(False)
    while int(recorder.finished.min()) < sessions:
        actions, values, _ = policy.act(obs)
        obs, rewards, dones, infos = env.step(actions)
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


__all__ = ["DATA", "LESSON_ENV_KWARGS", "LESSON_MINIBATCHES", "NAME", "PROTOCOL", "History", "LessonPolicy",
           "calendar", "live_history", "load", "main", "policy_checksum", "run_arms", "run_pretrained_arms", "train",
           "training_record"]

if __name__ == "__main__":
    main()
