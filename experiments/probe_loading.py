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
priming_threshold_mg_per_kg=0, or one session setting of every FR1 session, e.g. priming_infusions=1:
an experimenter-given i.v. prime at each session's start, whose doses the levels include and which
the ratio is also given counting, as infusions at 0 s). docs/model.md (3.4, satiety level) reports
its output.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from rlcraving.agents import run_cohort
from rlcraving.cli import run_script
from rlcraving.params import ModelParams
from rlcraving.protocol import SESSION_KEYS, SessionSettings
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


def dose_events(agent: str, n: int, dose: float, params: ModelParams,
                settings: dict[str, Any]) -> tuple[list[np.ndarray], float]:
    """Each subject's infusion times (s) in the last FR1 session (`settings` in every session), and the
    cohort's mean infusions in it."""
    result = run_cohort(n, acquisition(unit_dose_mg_per_kg=dose, **settings), agent=agent, seed=SEED,
                        env_kwargs={"params": params}, trace_sessions=[SA_DAYS - 1], event_subjects=list(range(n)))
    infusions = result.events[result.events["event"] == "infusions"]
    times = [np.sort(infusions.loc[infusions["subject"] == s, "time_s"].to_numpy(dtype=float)) for s in range(n)]
    return times, sum(t.size for t in times) / n


def median(values: list[float], digits: int) -> str:
    """The median of `values` to `digits` decimals, or "-" when there are none."""
    return f"{np.median(values):.{digits}f}" if values else "-"


def describe(dose: float, times: list[np.ndarray], primes: int = 0) -> str:
    """Latency, loading gaps, levels and loading end of one dose's subjects (`primes` unit doses given at 0 s)."""
    latency = np.array([t[0] if t.size else 3600.0 for t in times])
    n_gaps = max(int(np.ceil(PAPER_SATIETY_MG_PER_KG / dose)) - 1 - primes, 0)   # a prime is a loading infusion
    gaps = np.concatenate([np.diff(t)[:n_gaps] for t in times] + [np.full(0, np.nan)])
    loading, maintained, ends = [], [], []
    for t in times:
        if t.size < 3 or not (t > 1200).any():
            continue
        level = level_before(np.concatenate([np.zeros(primes), t]), dose)[primes:]   # self-infusions come after 0 s
        held = float(np.median(level[t > 1200]))
        last = int(np.argmax(level + dose >= held))
        loading.extend(level[0 if primes else 1:last + 1])
        maintained.append(held)
        ends.append(t[last])
    return (f"- {dose:g} mg/kg: latency to the first self-infusion (s, percentiles 10/25/50/75/90) {pct(latency)}, "
            f"mean {latency.mean():.0f}"
            + (f"; loading gaps {pct(gaps)}, mean {gaps.mean():.0f}, {np.mean(gaps <= 24.0):.0%} within one step "
               "of the timeout" if gaps.size else "; no loading gaps")
            + f"; level before the loading infusions after the first, median {median(loading, 2)} mg/kg; maintained "
            f"level {median(maintained, 2)}; loading ends at median {median(ends, 0)} s")


def variant(change: str) -> tuple[ModelParams, dict[str, Any]]:
    """The model's parameters and the FR1 sessions' settings with one field changed by "NAME=VALUE"."""
    name, _, value = change.partition("=")
    numeric = {f.name: type(f.default) for f in dataclasses.fields(SessionSettings)
               if type(f.default) in (int, float) and f.name in SESSION_KEYS}
    try:
        if name in {f.name for f in dataclasses.fields(ModelParams)} and value:
            return dataclasses.replace(ModelParams(), **{name: float(value)}), {}
        if name in numeric and value:
            return ModelParams(), {name: numeric[name](value)}
    except ValueError as error:     # a value that is not a number, or one the parameter does not allow
        raise ValueError(f"{change!r}: {error}") from None
    raise ValueError(f"{change!r} is not NAME=VALUE with NAME a ModelParams field or a numeric session setting")


def ratio_of(first: list[float], hour: list[float]) -> float:
    """First-10-min over rest-of-hour infusion rate, all doses."""
    return (sum(first) / LOADING_MINUTES) / ((sum(hour) - sum(first)) / (60.0 - LOADING_MINUTES))


def main(agent: str = "q_learning", n: int = 200, changes: tuple[str, ...] = ()) -> None:
    variants = [("", (ModelParams(), {}))] + [(change, variant(change)) for change in changes]   # checked first
    for change, (params, settings) in variants:
        primes = int(settings.get("priming_infusions", 0))
        first, hour = [], []
        for dose in UNIT_DOSES_MG_PER_KG:
            times, per_hour = dose_events(agent, n, dose, params, settings)
            print(describe(dose, times, primes), flush=True)
            first.append(sum(int((t < LOADING_MINUTES * 60.0).sum()) for t in times) / n)
            hour.append(per_hour)
        counted = (f" ({ratio_of([f + primes for f in first], [h + primes for h in hour]):.3f} counting the "
                   f"{primes} prime(s) as infusions at 0 s)") if primes else ""
        print(f"- {agent}, {change or 'the model'}: infusions in the first {LOADING_MINUTES:g} min "
              + ", ".join(f"{v:.2f}" for v in first) + "; per hour " + ", ".join(f"{v:.1f}" for v in hour)
              + f"; loading ratio {ratio_of(first, hour):.3f}{counted}", flush=True)


if __name__ == "__main__":
    run_script(main)
