"""Where the dose_regulation row's loading burst loses time, for one TD agent through the cohort API.

    python experiments/probe_loading.py [AGENT] [N_SUBJECTS] [NAME=VALUE ...]   (defaults: q_learning 200; seed 0)

For each unit dose of the row, the last of 10 daily 1-h FR1 sessions (the row's protocol) with
every subject's events: the latency to the first infusion (s from session start), the gaps
between loading infusions (the first ceil(S / D) - 1 gaps, S = 1.7 mg/kg; the timeout is 20 s),
the level reconstructed from the infusion times (first order, 8.2-min half-life) before the
loading infusions after the first and at the infusions after 20 min, and the time the loading
ends (the infusion that brings the level to that maintained level). Then the first-10-min and
hourly infusions and the loading ratio of the row with the model's parameters and with each
NAME=VALUE in turn (one `ModelParams` field changed, e.g. compulsion_rate_per_h=360 or
priming_threshold_mg_per_kg=0). docs/model.md (3.4, satiety level) reports its output.
"""

from __future__ import annotations

import dataclasses
import sys

import numpy as np

from rlcraving.agents import run_cohort
from rlcraving.params import ModelParams
from rlcraving.validation.phenomena.dose_regulation import (
    LOADING_MINUTES,
    PAPER_HALF_LIFE_MIN,
    PAPER_SATIETY_MG_PER_KG,
    UNIT_DOSES_MG_PER_KG,
)
from rlcraving.validation.protocols import SA_DAYS, acquisition

SEED = 0


def level_before(times_s: np.ndarray, dose: float) -> np.ndarray:
    """Level (mg/kg) just before each infusion at `times_s`, first-order elimination from the earlier ones."""
    k = np.log(2.0) / (PAPER_HALF_LIFE_MIN * 60.0)
    lag = times_s[:, None] - times_s[None, :]
    return (dose * np.where(lag > 0, np.exp(-k * np.maximum(lag, 0.0)), 0.0)).sum(axis=1)


def pct(values: np.ndarray) -> str:
    """10th, 25th, 50th, 75th and 90th percentiles, rounded."""
    return "/".join(f"{v:.0f}" for v in np.percentile(values, [10, 25, 50, 75, 90]))


def dose_events(agent: str, n: int, dose: float, params: ModelParams) -> tuple[list[np.ndarray], float]:
    """Each subject's infusion times (s) in the last FR1 session, and the cohort's mean infusions in it."""
    result = run_cohort(n, acquisition(unit_dose_mg_per_kg=dose), agent=agent, seed=SEED,
                        env_kwargs={"params": params}, trace_sessions=[SA_DAYS - 1], event_subjects=list(range(n)))
    infusions = result.events[result.events["event"] == "infusions"]
    times = [np.sort(infusions.loc[infusions["subject"] == s, "time_s"].to_numpy(dtype=float)) for s in range(n)]
    return times, sum(t.size for t in times) / n


def describe(dose: float, times: list[np.ndarray]) -> str:
    """Latency, loading gaps, levels and loading end of one dose's subjects."""
    latency = np.array([t[0] if t.size else 3600.0 for t in times])
    n_gaps = int(np.ceil(PAPER_SATIETY_MG_PER_KG / dose)) - 1
    gaps = np.concatenate([np.diff(t)[:n_gaps] for t in times])
    loading, maintained, ends = [], [], []
    for t in times:
        if t.size < 3 or not (t > 1200).any():
            continue
        level = level_before(t, dose)
        held = float(np.median(level[t > 1200]))
        last = int(np.argmax(level + dose >= held))
        loading.extend(level[1:last + 1])
        maintained.append(held)
        ends.append(t[last])
    return (f"- {dose:g} mg/kg: latency to the first infusion (s, percentiles 10/25/50/75/90) {pct(latency)}, "
            f"mean {latency.mean():.0f}; loading gaps {pct(gaps)}, mean {gaps.mean():.0f}, "
            f"{np.mean(gaps <= 24.0):.0%} within one step of the timeout; level before loading infusions 2.. "
            f"median {np.median(loading):.2f} mg/kg; maintained level {np.median(maintained):.2f}; loading ends "
            f"at median {np.median(ends):.0f} s")


def variant(change: str) -> ModelParams:
    """The model's parameters with one field changed by "NAME=VALUE"."""
    name, _, value = change.partition("=")
    if name not in {f.name for f in dataclasses.fields(ModelParams)} or not value:
        raise SystemExit(f"{change!r} is not NAME=VALUE with NAME a ModelParams field")
    return dataclasses.replace(ModelParams(), **{name: float(value)})


def main(agent: str = "q_learning", n: int = 200, changes: tuple[str, ...] = ()) -> None:
    for change in ("", *changes):
        params = variant(change) if change else ModelParams()
        first, hour = [], []
        for dose in UNIT_DOSES_MG_PER_KG:
            times, per_hour = dose_events(agent, n, dose, params)
            print(describe(dose, times), flush=True)
            first.append(sum(int((t < LOADING_MINUTES * 60.0).sum()) for t in times) / n)
            hour.append(per_hour)
        ratio = (sum(first) / LOADING_MINUTES) / ((sum(hour) - sum(first)) / (60.0 - LOADING_MINUTES))
        print(f"- {agent}, {change or 'the model'}: infusions in the first {LOADING_MINUTES:g} min "
              + ", ".join(f"{v:.2f}" for v in first) + "; per hour " + ", ".join(f"{v:.1f}" for v in hour)
              + f"; loading ratio {ratio:.3f}", flush=True)


if __name__ == "__main__":
    args = sys.argv[1:]
    main(args[0] if args else "q_learning", int(args[1]) if len(args) > 1 else 200, tuple(args[2:]))
