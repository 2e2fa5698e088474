"""Relapse phenomena in stable-baselines3 agents with the library's defaults, through `gym.make`."""

from __future__ import annotations

import copy
import os
import tempfile
from typing import Any

import numpy as np
import pandas as pd

from rlcraving.chamber import session_steps
from rlcraving.criterion import CRITERION, TrainingCriterion, epsilon_greedy_ceiling, epsilon_greedy_extinction_floor
from rlcraving.params import ModelParams
from rlcraving.pharmacology import RatIP
from rlcraving.protocol import session
from rlcraving.validation.protocols import fmt
from rlcraving.validation.unit import Config, Measurement, Phenomenon, register

ALGOS, SUBJECTS = ("A2C", "DQN", "PPO"), 8
#: The phenomena each algorithm must show, in the order of the detail.
CHECKS = ("acquisition", "extinction", "cue", "baclofen", "stress", "renewal")


def train_and_test(algo: str, seed: int, extinction_context: str, tests: dict[str, dict[str, Any]],
                   criterion: TrainingCriterion = CRITERION) -> tuple[pd.DataFrame, dict[str, np.ndarray], Any]:
    """`algo` with SB3's defaults on `SUBJECTS` environments made by `gym.make`, trained to `criterion`
    (`rlcraving.agents.sb3.train_to_criterion`): FR1 sessions in A, then extinction sessions in
    `extinction_context`, learning throughout; then each test session (options of `reset`, two days after the
    last extinction session) from a copy of the trained agent and subjects, learning on, as the animal. Returns
    the training sessions' summaries, each test's active presses per subject (and `<test>_own`, those the agent
    chose itself), and the experimenter (`CriterionExperimenter`: sessions needed)."""
    import torch
    from stable_baselines3 import A2C, DQN, PPO
    from stable_baselines3.common.env_util import make_vec_env

    import rlcraving  # noqa: F401  (registers the environment)
    from rlcraving.agents.sb3 import learn_sessions, train_to_criterion

    cls = {"A2C": A2C, "DQN": DQN, "PPO": PPO}[algo]
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        most = criterion.max_sa + criterion.max_extinction
        # every session after the first is set by the experimenter; the calendar only has to last
        venv = make_vec_env("rlcraving/CocaineSeeking-v0", n_envs=SUBJECTS, seed=seed,
                            env_kwargs={"calendar": [{"phase": "self_administration", "days": most + 1}]})
        steps = session_steps(session("self_administration"), ModelParams())   # every session here lasts 1 h
        model = cls("MlpPolicy", venv, seed=seed, device="cpu")
        run = train_to_criterion(model, criterion=criterion, extinction={"context": extinction_context})
        folder = tempfile.mkdtemp()
        model.save(os.path.join(folder, "agent"))
        if hasattr(model, "replay_buffer"):   # DQN's memory of its history is part of the trained agent
            model.save_replay_buffer(os.path.join(folder, "memory"))
        results = {}
        for name, options in tests.items():
            env = copy.deepcopy(venv)
            # same subjects; the test replaces the session begun (no step taken) when training stopped, a day
            # after it: with no gap, an i.p. pretreatment before the session could not be given. Before the
            # agent is loaded: loading seeds the environment's next reset, which would start new subjects
            env.set_options(options)
            first = env.reset()
            agent = cls.load(os.path.join(folder, "agent"), env=env, device="cpu")
            if hasattr(agent, "replay_buffer"):
                agent.load_replay_buffer(os.path.join(folder, "memory"))
            agent._last_obs = first
            summaries = learn_sessions(agent, steps * env.num_envs)[:SUBJECTS]
            results[name] = np.array([s["active_presses"] for s in summaries])
            results[f"{name}_own"] = np.array([s["own_active"] for s in summaries])
        return run.summaries, results, run.experimenter
    finally:
        torch.set_num_threads(threads)


def _sessions_needed(done: Any, phases: str = "both") -> str:
    """How many sessions training took (`done`: a `CriterionExperimenter`), and whether each criterion was
    met, in words."""
    c = done.criterion
    n_sa, n_ext = done.sa_sessions, done.extinction_sessions
    sa = (f"acquisition criterion met after {n_sa} FR1 sessions" if done.acquired_after is not None
          else f"acquisition criterion not met in {c.max_sa} FR1 sessions")
    ext = (f"extinction criterion met after {n_ext} sessions" if done.extinguished_after is not None
           else f"extinction criterion not met in {n_ext} sessions")
    return ext if phases == "extinction" else f"{sa}, {ext}"


def _exploration_ceiling(algo: str, seed: int) -> str:
    """For an algorithm exploring at a floor of epsilon (its library default), what an ideal regulator with that
    floor presses (`criterion.epsilon_greedy_ceiling`, `criterion.epsilon_greedy_extinction_floor`), in words;
    '' for the others."""
    import inspect

    import stable_baselines3

    floor = inspect.signature(getattr(stable_baselines3, algo)).parameters.get("exploration_final_eps")
    if floor is None:
        return ""
    active, inactive = epsilon_greedy_ceiling(floor.default, seed=seed)
    fr1, extinction = epsilon_greedy_extinction_floor(floor.default, seed=seed)
    return (f" (an ideal regulator exploring at {algo}'s default floor, epsilon = {floor.default:g}, presses "
            f"{fmt(active)} active / {fmt(inactive)} inactive: {active / inactive:.2f}x, against the "
            f"{CRITERION.ratio:g}x of the acquisition criterion; and, pressing only to explore in extinction, "
            f"{fmt(extinction)} active presses in the 10th extinction session, {extinction / fr1:.0%} of its last "
            f"FR1 session, against the extinction check's 50% and the criterion's "
            f"{CRITERION.extinction_fraction:.0%})")


def _checks(algo: str, seed: int) -> tuple[dict[str, bool], str, dict[str, np.ndarray]]:
    aaa_tests = {"extinction": {"phase": "extinction"}, "cue": {"phase": "cue_reinstatement"},
                 "cue_baclofen": {"phase": "cue_reinstatement", "baclofen": RatIP(2.5)},
                 "stress": {"phase": "stress_reinstatement"}}
    training, test, done = train_and_test(algo, seed, "A", aaa_tests)
    _, aba, done_b = train_and_test(algo, seed, "B", {"in_b": {"phase": "extinction", "context": "B"},
                                                      "in_a": {"phase": "extinction", "context": "A"}})
    sa = training[training.phase == "self_administration"].tail(SUBJECTS)
    last_ext = training[training.phase == "extinction"].tail(SUBJECTS)
    mean = {k: float(v.mean()) for k, v in {**test, **aba}.items()}
    ok = {"acquisition": done.acquired_after is not None and sa.active_presses.mean() > 2 * sa.inactive_presses.mean()
          and sa.infusions.mean() >= 5,
          "extinction": last_ext.active_presses.mean() < 0.5 * sa.active_presses.mean(),
          "cue": mean["cue"] > 1.5 * mean["extinction"],
          "baclofen": mean["cue_baclofen"] < mean["cue"],
          "stress": mean["stress"] > 1.5 * mean["extinction"],
          "renewal": mean["in_a"] > 1.5 * mean["in_b"]}
    detail = (f"{algo}: {_sessions_needed(done)} (extinction in B: {_sessions_needed(done_b, 'extinction')}); "
              f"last FR1 {fmt(sa.active_presses.mean())} active / {fmt(sa.inactive_presses.mean())} inactive "
              f"({fmt(sa.infusions.mean())} infusions), last extinction {fmt(last_ext.active_presses.mean())}; tests: "
              f"extinction {fmt(mean['extinction'])}, cue {fmt(mean['cue'])}, cue + 2.5 mg/kg baclofen "
              f"{fmt(mean['cue_baclofen'])}, stress {fmt(mean['stress'])}; after extinction in B: in B "
              f"{fmt(mean['in_b'])}, in A {fmt(mean['in_a'])}; active presses the agent chose itself: last FR1 "
              f"{fmt(sa.own_active.mean())}, last extinction {fmt(last_ext.own_active.mean())}, cue test "
              f"{fmt(mean['cue_own'])}, stress test {fmt(mean['stress_own'])}; fails: "
              f"{', '.join(k for k in CHECKS if not ok[k]) or 'none'}{_exploration_ceiling(algo, seed)}")
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
                       shown == len(ALGOS), None, "; ".join(details), rows, n_subjects=SUBJECTS,
                       y_label="active presses in the session")


UNIT = register(Phenomenon(
    key="default_sb3", title="Relapse in stable-baselines3 agents with library defaults (gym.make)",
    paper="Shaham et al. 2003; Crombag & Shaham 2002; Di Ciano & Everitt 2003",
    paper_effect="any reasonable learner in the chamber acquires, extinguishes, reinstates to the cue (less "
                 "under baclofen) and to stress, and renews in the drug-taking context",
    paper_size="as the TD rows, after training to criterion as in the reinstatement procedure (Shaham et al. "
               "2003: self-administration for at least 10 daily sessions and until intake is stable, extinction "
               "until responding falls below a fraction of it): each trigger raises responding above the "
               "extinction baseline (Shaham et al. 2003); baclofen lowers cue-controlled seeking (Di Ciano & "
               "Everitt 2003); renewal in A after extinction in B (Crombag & Shaham 2002)",
    criterion=f"direction: for each of {', '.join(ALGOS)} ({SUBJECTS} subjects, SB3 defaults, environments from "
              f"gym.make, learning on in every session), trained to criterion: FR1 sessions (at least "
              f"{CRITERION.min_sa}, at most {CRITERION.max_sa}) until each of the last {CRITERION.stable_sessions} "
              f"has active > {CRITERION.ratio:g}x inactive, >= {CRITERION.min_infusions:g} infusions and "
              f"infusions within {CRITERION.stability:.0%} of their mean (an agent that never meets it fails), "
              f"then extinction sessions (at least {CRITERION.min_extinction}, at most "
              f"{CRITERION.max_extinction}) until the last {CRITERION.extinguished_sessions} are below "
              f"{CRITERION.extinction_fraction:.0%} of the last FR1 sessions' active presses; then last FR1 "
              "active > 2x inactive with >= 5 infusions; last extinction < 50% of last FR1; cue test and stress "
              "test > 1.5x the extinction test; cue test under 2.5 mg/kg i.p. baclofen below the placebo cue "
              "test; test in A > 1.5x test in B after extinction in B",
    protocol=protocol, sb3=True))
