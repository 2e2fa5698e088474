"""Why the model's baclofen does not give Shoptaw et al. 2003's benefit: the trial under variants.

    python experiments/probe_trials.py [DESIGN] [SEEDS]     (defaults: shoptaw_2003 2; scale 10)

Runs one trial of `experiments/<DESIGN>.yaml` at ten times the paper's size per seed (1, 2, ...)
under each variant below, pools the people, and prints per variant: the outcome per arm and its
difference, the difference in heavier and lighter users (baseline positive share at or above the
median), uses per week per arm, the mean dopamine gain on baclofen, and the share of a use's reward
that baclofen's gain scales (dopamine and incentive terms, placebo arm). docs/outpatient.md reports
its output.

Variants: the design as it is; 80 mg/day (the label's maximum); every dose taken; adverse events
that do not raise dropout; and two counterfactual organisms that are *not* the model: baclofen's gain
also scaling the relief term, or scaling the whole reward of a use; and a counterfactual drug, full
efficacy (Emax 1) at half the EC50.
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Callable
from pathlib import Path
from unittest import mock

import numpy as np
import pandas as pd

from rlcraving import trials
from rlcraving.cli import run_script
from rlcraving.outpatient import OutpatientParams, PersonBatch, human_params
from rlcraving.pharmacology import Titration

EXPERIMENTS = Path(__file__).resolve().parent


def _gated(components: tuple[int, ...]) -> type[PersonBatch]:
    """A PersonBatch whose reward also has these components scaled by baclofen's dopamine gain."""

    class Gated(PersonBatch):
        def step(self, actions: np.ndarray):  # type: ignore[override]
            obs, reward, terminated, truncated = super().step(actions)
            lost = (1.0 - self.dopamine_gain) * self._components[:, list(components)].sum(axis=1)
            return obs, reward - lost, terminated, truncated

    return Gated


def _potent(**changes: float) -> type[PersonBatch]:
    """A PersonBatch whose organism has these baclofen parameters changed (a counterfactual drug)."""

    class Potent(PersonBatch):
        def __init__(self, n: int, params=None, options=None, world=None) -> None:
            base = human_params(world or OutpatientParams())
            super().__init__(n, base.replace(**changes), options, world)

    return Potent


def variants(design: trials.TrialDesign) -> dict[str, tuple[trials.TrialDesign, Callable | None]]:
    """Name -> (design, PersonBatch class or None for the model's own)."""
    world = dict(design.world)
    return {
        "as designed": (design, None),
        "80 mg/day": (dataclasses.replace(design, baclofen=Titration(target_mg_per_day=80.0)), None),
        "every dose taken": (dataclasses.replace(design, world={**world, "adherence": 1.0,
                                                                 "adherence_sigma": 0.0}), None),
        "adverse events do not raise dropout": (dataclasses.replace(
            design, world={**world, "dropout_adverse_factor": 1.0}), None),
        "counterfactual: relief gated too": (design, _gated((3,))),
        "counterfactual: whole use reward gated": (design, _gated((0, 3))),
        "counterfactual: Emax 1, EC50 halved": (design, _potent(baclofen_emax=1.0, baclofen_ec50_mg_per_l=0.125)),
    }


def probe(design: trials.TrialDesign, seeds: int, batch_class: type | None) -> dict[str, float]:
    """Pooled people of one trial at 10x per seed: the outcome and mechanism by arm."""
    with mock.patch.object(trials, "PersonBatch", batch_class) if batch_class else contextlib.nullcontext():
        people = pd.concat([trials.run_trials(design, 1, scale=10, seed=s).people for s in range(1, seeds + 1)])
    on = people["arm"] == "baclofen"
    heavy = people["heavy"].to_numpy(bool)
    reach = trials.baclofen_reach(people)

    def diff(mask: np.ndarray) -> float:
        return float(people.loc[on & mask, "outcome"].mean() - people.loc[~on & mask, "outcome"].mean())

    return {"n": float(len(people)), "baclofen": float(people.loc[on, "outcome"].mean()),
            "placebo": float(people.loc[~on, "outcome"].mean()), "effect": diff(np.ones(len(people), bool)),
            "heavy": diff(heavy), "light": diff(~heavy),
            "uses_baclofen": float(people.loc[on, "uses_per_week"].mean()),
            "uses_placebo": float(people.loc[~on, "uses_per_week"].mean()),
            "gain": float(people.loc[on, "dopamine_gain"].mean()),
            "reach_heavy": float(reach[~on & heavy].mean()), "reach_light": float(reach[~on & ~heavy].mean())}


def main(name: str = "shoptaw_2003", seeds: int = 2) -> pd.DataFrame:
    design = trials.load_trial(EXPERIMENTS / f"{name}.yaml")
    table = pd.DataFrame({label: probe(d, seeds, cls) for label, (d, cls) in variants(design).items()}).T
    with pd.option_context("display.width", 200, "display.max_columns", 20):
        print(table.round(3).to_string())
    return table


if __name__ == "__main__":
    run_script(main)
