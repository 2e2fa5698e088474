"""Relapse phenomena in stable-baselines3 agents with the library's defaults, through `gym.make`."""

from __future__ import annotations

import copy
import os
import tempfile
from typing import Any

import numpy as np
import pandas as pd

from rlcraving.chamber import session_steps
from rlcraving.params import ModelParams
from rlcraving.pharmacology import RatIP
from rlcraving.protocol import session
from rlcraving.validation.protocols import EXTINCTION_DAYS, SA_DAYS, fmt
from rlcraving.validation.unit import Config, Measurement, Phenomenon, register

ALGOS, SUBJECTS = ("A2C", "DQN", "PPO"), 8
#: The phenomena each algorithm must show, in the order of the detail.
CHECKS = ("acquisition", "extinction", "cue", "baclofen", "stress", "renewal")


def _session_counts(model: Any, steps: int, env: Any) -> list[dict[str, float]]:
    """Learn for `steps` vector steps; the summaries of the sessions that ended, each with `own_active`: the
    active presses the agent chose itself (the rest of `active_presses` the environment added, docs/model.md
    3.2)."""
    from stable_baselines3.common.callbacks import BaseCallback

    class Sessions(BaseCallback):
        def __init__(self) -> None:
            super().__init__()
            self.summaries: list[dict[str, float]] = []
            self.own = np.zeros(env.num_envs)

        def _on_step(self) -> bool:
            self.own += np.asarray(self.locals["actions"]).ravel() == 1
            for i, info in enumerate(self.locals["infos"]):
                if "session_summary" in info:
                    self.summaries.append({**info["session_summary"], "own_active": float(self.own[i])})
                    self.own[i] = 0.0
            return True

    recorder = Sessions()
    model.learn(steps * env.num_envs, callback=recorder, reset_num_timesteps=False)
    return recorder.summaries


def train_and_test(algo: str, seed: int, extinction_context: str, tests: dict[str, dict[str, Any]]
                   ) -> tuple[pd.DataFrame, dict[str, np.ndarray]]:
    """`algo` with SB3's defaults on `SUBJECTS` environments made by `gym.make`: ten FR1 sessions in A and ten
    extinction sessions in `extinction_context`, learning throughout; then each test session (options of
    `reset`) from a copy of the trained agent and subjects, learning on, as the animal. Returns the training
    sessions' summaries and each test's active presses per subject."""
    import torch
    from stable_baselines3 import A2C, DQN, PPO
    from stable_baselines3.common.env_util import make_vec_env

    import rlcraving  # noqa: F401  (registers the environment)

    cls = {"A2C": A2C, "DQN": DQN, "PPO": PPO}[algo]
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        calendar = [{"phase": "self_administration", "days": SA_DAYS},
                    {"phase": "extinction", "days": EXTINCTION_DAYS, "context": extinction_context},
                    {"phase": "extinction", "context": extinction_context}]   # in progress when training stops
        venv = make_vec_env("rlcraving/CocaineSeeking-v0", n_envs=SUBJECTS, seed=seed,
                            env_kwargs={"calendar": calendar})
        steps = session_steps(session("self_administration"), ModelParams())   # every session here lasts 1 h
        model = cls("MlpPolicy", venv, seed=seed, device="cpu")
        training = pd.DataFrame(_session_counts(model, (SA_DAYS + EXTINCTION_DAYS) * steps, venv))
        folder = tempfile.mkdtemp()
        model.save(os.path.join(folder, "agent"))
        if hasattr(model, "replay_buffer"):   # DQN's memory of its history is part of the trained agent
            model.save_replay_buffer(os.path.join(folder, "memory"))
        results = {}
        for name, options in tests.items():
            env = copy.deepcopy(venv)
            agent = cls.load(os.path.join(folder, "agent"), env=env, device="cpu")
            if hasattr(agent, "replay_buffer"):
                agent.load_replay_buffer(os.path.join(folder, "memory"))
            agent._last_obs = np.stack([e.reset(options=options)[0] for e in env.envs])   # same subjects
            summaries = _session_counts(agent, steps, env)[:SUBJECTS]
            results[name] = np.array([s["active_presses"] for s in summaries])
            results[f"{name}_own"] = np.array([s["own_active"] for s in summaries])
        return training, results
    finally:
        torch.set_num_threads(threads)


def _checks(algo: str, seed: int) -> tuple[dict[str, bool], str, dict[str, np.ndarray]]:
    aaa_tests = {"extinction": {"phase": "extinction"}, "cue": {"phase": "cue_reinstatement"},
                 "cue_baclofen": {"phase": "cue_reinstatement", "baclofen": RatIP(2.5)},
                 "stress": {"phase": "stress_reinstatement"}}
    training, test = train_and_test(algo, seed, "A", aaa_tests)
    _, aba = train_and_test(algo, seed, "B", {"in_b": {"phase": "extinction", "context": "B"},
                                              "in_a": {"phase": "extinction", "context": "A"}})
    sa = training[training.phase == "self_administration"].tail(SUBJECTS)
    last_ext = training[training.phase == "extinction"].tail(SUBJECTS)
    mean = {k: float(v.mean()) for k, v in {**test, **aba}.items()}
    ok = {"acquisition": sa.active_presses.mean() > 2 * sa.inactive_presses.mean() and sa.infusions.mean() >= 5,
          "extinction": last_ext.active_presses.mean() < 0.5 * sa.active_presses.mean(),
          "cue": mean["cue"] > 1.5 * mean["extinction"],
          "baclofen": mean["cue_baclofen"] < mean["cue"],
          "stress": mean["stress"] > 1.5 * mean["extinction"],
          "renewal": mean["in_a"] > 1.5 * mean["in_b"]}
    detail = (f"{algo}: last FR1 {fmt(sa.active_presses.mean())} active / {fmt(sa.inactive_presses.mean())} inactive "
              f"({fmt(sa.infusions.mean())} infusions), last extinction {fmt(last_ext.active_presses.mean())}; tests: "
              f"extinction {fmt(mean['extinction'])}, cue {fmt(mean['cue'])}, cue + 2.5 mg/kg baclofen "
              f"{fmt(mean['cue_baclofen'])}, stress {fmt(mean['stress'])}; after extinction in B: in B "
              f"{fmt(mean['in_b'])}, in A {fmt(mean['in_a'])}; active presses the agent chose itself: last FR1 "
              f"{fmt(sa.own_active.mean())}, last extinction {fmt(last_ext.own_active.mean())}, cue test "
              f"{fmt(mean['cue_own'])}, stress test {fmt(mean['stress_own'])}; fails: "
              f"{', '.join(k for k in CHECKS if not ok[k]) or 'none'}")
    return ok, detail, {f"{algo}_{k}": v for k, v in {**test, **aba}.items() if not k.endswith("_own")}


def protocol(cfg: Config) -> Measurement:
    """Each algorithm of `ALGOS` with SB3's default hyperparameters, through the public Gymnasium API."""
    verdicts, details, groups = {}, [], {}
    for algo in ALGOS:
        ok, detail, values = _checks(algo, cfg.seed)
        verdicts[algo] = ok
        details.append(detail)
        groups.update(values)
    shown = sum(all(ok.values()) for ok in verdicts.values())
    rows = pd.DataFrame([{"group": k, "subject": i, "value": float(v)} for k, arr in groups.items()
                         for i, v in enumerate(arr)])
    return Measurement(f"algorithms (of {len(ALGOS)}) showing every phenomenon", (float(shown),) * 3,
                       shown == len(ALGOS), None, "; ".join(details), rows, n_subjects=SUBJECTS)


UNIT = register(Phenomenon(
    key="default_sb3", title="Relapse in stable-baselines3 agents with library defaults (gym.make)",
    paper="Shaham et al. 2003; Crombag & Shaham 2002; Di Ciano & Everitt 2003",
    paper_effect="any reasonable learner in the chamber acquires, extinguishes, reinstates to the cue (less "
                 "under baclofen) and to stress, and renews in the drug-taking context",
    paper_size="as the TD rows: each trigger raises responding above the extinction baseline (Shaham et al. "
               "2003); baclofen lowers cue-controlled seeking (Di Ciano & Everitt 2003); renewal in A after "
               "extinction in B (Crombag & Shaham 2002)",
    criterion=f"direction: for each of {', '.join(ALGOS)} ({SUBJECTS} subjects, SB3 defaults, environments from "
              "gym.make, learning on in every session): last FR1 active > 2x inactive with >= 5 infusions; last "
              "extinction < 50% of last FR1; cue test and stress test > 1.5x the extinction test; cue test under "
              "2.5 mg/kg i.p. baclofen below the placebo cue test; test in A > 1.5x test in B after extinction "
              "in B",
    protocol=protocol, sb3=True))
