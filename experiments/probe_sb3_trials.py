"""What SB3 people do in a trial: the design run with an SB3 person, or a uniform random policy.

    python experiments/probe_sb3_trials.py AGENT [TRIALS] [SEED] [DESIGN]
        (AGENT: PPO, A2C, DQN, RecurrentPPO or random; defaults: 10 trials, seed 2, shoptaw_2003)

Runs `experiments/<DESIGN>.yaml` with the person's agent replaced, trial by trial at the paper's
size (each trial its own people and, for SB3, its own policy seeded seed + trial, as `run_trials`
does), keeps every randomised person, and prints per arm: uses per week and free urines over the
treatment weeks, the mean difference over trials with a bootstrap 95% interval, the share of trials
with GEE p < 0.05 favouring baclofen, retention, craving, the share positive at every baseline urine,
the share of a use's reward that baclofen's gain scales and the relief per use (placebo arm), and
the trained policy's mean action probabilities at 14:00 with and without drug at hand (first
trial). docs/outpatient.md ("SB3 people in the trial") reports its output.
"""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from rlcraving.agents.sb3 import live_sb3_trial, torch_threads
from rlcraving.cli import run_script
from rlcraving.outpatient import OBSERVATION_NAMES
from rlcraving.trials import TrialLife, baclofen_reach, load_trial

EXPERIMENTS = Path(__file__).resolve().parent


def live_at_random(life: TrialLife, seed: int) -> None:
    """The trial's people choosing uniformly at random every hour (no learning)."""
    rng = np.random.default_rng([seed, life.first_trial])
    life.enter_stage()
    while not life.finished:
        for _ in range(int(life.batch.n_steps[0])):
            life.batch.step(rng.integers(0, 3, life.n))
            life.after_step()
        life.next_week()
        life.enter_stage()


def policy_probabilities(model, life: TrialLife) -> dict[str, np.ndarray]:
    """Mean (ordinary activity, seek, use) probabilities over the people's states now, awake at 14:00
    with no cue, with and without drug at hand."""
    obs = life.batch.observe()
    for name, value in (("awake", 1.0), ("hour_of_day", 14.0 / 24.0), ("drug_cue", 0.0)):
        obs[:, OBSERVATION_NAMES.index(name)] = value
    out = {}
    for label, at_hand in (("at hand", 1.0), ("none at hand", 0.0)):
        o = obs.copy()
        o[:, OBSERVATION_NAMES.index("drug_at_hand")] = at_hand
        with torch.no_grad():
            dist = model.policy.get_distribution(model.policy.obs_to_tensor(o)[0])
        out[label] = dist.distribution.probs.numpy().mean(axis=0)
    return out


def main(agent: str = "PPO", n_trials: int = 10, seed: int = 2, name: str = "shoptaw_2003") -> None:
    design = load_trial(EXPERIMENTS / f"{name}.yaml")
    design = dataclasses.replace(design, agent="q_learning" if agent == "random" else agent, algo_kwargs={},
                                 agent_params={})
    start, rows, people, probs = time.perf_counter(), [], [], None
    for t in range(n_trials):
        life = TrialLife(design, 1, 1, seed, first_trial=t)
        if agent == "random":
            live_at_random(life, seed)
        else:
            with torch_threads(1):
                model = live_sb3_trial(life, agent, seed=seed + t)
            if t == 0 and agent != "DQN":
                probs = policy_probabilities(model, life)
        result = life.result()
        rows.append(result.trials.assign(trial=t))
        people.append(result.people.assign(trial=t))
    trials, p = pd.concat(rows, ignore_index=True), pd.concat(people, ignore_index=True)
    on = p["arm"] == "baclofen"
    effect = trials["effect"].to_numpy()
    boots = effect[np.random.default_rng(0).integers(0, effect.size, (2000, effect.size))].mean(axis=1)
    lo, hi = np.quantile(boots, [0.025, 0.975])
    power = ((trials["gee_p"] < 0.05) & (trials["gee_log_odds"] > 0)).mean()
    print(f"{name}, {agent} person, seed {seed}: {n_trials} trials, {len(p)} people, "
          f"{time.perf_counter() - start:.0f} s")
    print(f"  uses/week placebo {p.loc[~on, 'uses_per_week'].mean():.1f} vs baclofen "
          f"{p.loc[on, 'uses_per_week'].mean():.1f}; free urines {trials['outcome_placebo'].mean():.2f} vs "
          f"{trials['outcome_baclofen'].mean():.2f}; difference {effect.mean():+.2f} [{lo:+.2f}, {hi:+.2f}]; "
          f"p < 0.05 favouring baclofen {power:.0%} ({trials['gee_p'].notna().sum()} fitted)")
    print(f"  retained placebo {trials['retained_placebo'].mean():.0%} vs baclofen "
          f"{trials['retained_baclofen'].mean():.0%}; craving {trials['craving_placebo'].mean():.0f} vs "
          f"{trials['craving_baclofen'].mean():.0f}; positive at every baseline urine "
          f"{(p['baseline_positive'] == 1).mean():.0%}; dopamine gain on baclofen "
          f"{p.loc[on, 'dopamine_gain'].mean():.2f}")
    print(f"  placebo arm: share of a use's reward baclofen scales {baclofen_reach(p[~on]).mean():.1%}; per use "
          f"relief {p.loc[~on, 'reward_relief'].mean():.2f}, dopamine {p.loc[~on, 'reward_dopamine'].mean():.2f}")
    if probs is not None:
        print("  policy (ordinary, seek, use), first trial's end: " +
              "; ".join(f"{k} {np.round(v, 2).tolist()}" for k, v in probs.items()))


if __name__ == "__main__":
    run_script(main)
