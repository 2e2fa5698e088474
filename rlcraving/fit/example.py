"""Simulated lab data for the worked example and the tests: groups of subjects that differ in
one mechanism, in the tidy table a lab would bring (subject, group, day, phase, measure, value)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from rlcraving.agents.cohort import run_cohort
from rlcraving.fit.spec import FitSpec, free_parameter


def simulate_groups(spec: FitSpec, subjects_per_group: int, mechanism: str, factors: Mapping[str, float],
                    seed: int = 0) -> pd.DataFrame:
    """Groups (name -> factor) of `subjects_per_group` subjects living the spec's protocol, whose
    `mechanism` is drawn from its documented distribution times the group's factor; every other
    trait and parameter is drawn as the spec's environment says, the same way in every group."""
    protocol = spec.protocol()
    p = free_parameter(mechanism, spec.agent.name)
    rng = np.random.default_rng([seed, 99])
    frames = []
    for g, (name, factor) in enumerate(factors.items()):
        values = np.clip(factor * np.exp(p.mu + p.sigma * rng.standard_normal(subjects_per_group)), p.lo, p.hi)
        result = run_cohort(subjects_per_group, protocol.calendar_entries(), agent=spec.agent.name,
                            agent_params=spec.agent.params, env_kwargs=protocol.env_kwargs(),
                            seed=seed * 1000 + g, condition=name, subject_values={mechanism: values})
        table = result.table.rename(columns={"condition": "group"})
        table["subject"] = name + "-" + table["subject"].astype(str)
        frames.append(table[table["measure"].isin(spec.measures)])
    return pd.concat(frames, ignore_index=True)


def main(out: str = "results/fit/worked_example", spec: str = "experiments/fits/reinstatement.yaml",
         subjects_per_group: int = 100, mechanism: str = "learning_rate", factor: float = 0.5, seed: int = 1,
         check: bool = True) -> Path:
    """The worked example: simulate two groups differing only in `mechanism` (x `factor`), write
    them as a lab's table (``<out>/data.csv``), and fit them blind with `spec` (and ``--check``)."""
    from rlcraving.files import atomic_write, output_folder
    from rlcraving.fit.run import main as fit_main
    from rlcraving.fit.spec import load_fit_spec

    folder, _ = output_folder(out, "--out")
    table = simulate_groups(load_fit_spec(spec), subjects_per_group, mechanism,
                            {"control": 1.0, f"{mechanism}_x{factor:g}": factor}, seed)
    atomic_write(folder / "data.csv", lambda p: table.to_csv(p, index=False))
    return fit_main(Path(spec), folder / "data.csv", out=folder, check_fit=check)


if __name__ == "__main__":  # pragma: no cover
    import typer

    typer.run(main)
