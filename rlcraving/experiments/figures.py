"""Figures of a study (matplotlib, Agg backend), written to ``<out>/figures``.

- ``sessions.png``: active (solid, 95% bootstrap band) and inactive (dashed) presses, and
  infusions, per session across the calendar's phases, one colour per condition;
- ``outcome_<name>.png``: each outcome per condition with 95% CIs, as a dose-response curve
  when the comparison axis is numeric (one line per combination of the other grid values),
  with the baseline (dotted) where the outcome has one;
- ``traces_cue_locked.png``: cohort-mean prediction error, drug dopamine and incentive around
  drug-cue onsets in the traced sessions: early and late sessions show the signal moving from
  the drug to the cue as the cue is learned;
- ``traces_session.png``: the same signals (and the cue's Pavlovian value) over the session.
"""

from __future__ import annotations

import re
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.ticker import MaxNLocator

from rlcraving import stats
from rlcraving.experiments.loader import Study
from rlcraving.experiments.results import is_number
from rlcraving.files import save_figure

MAX_TRACE_CONDITIONS = 4
#: (file stem, signals, x label) of the trace figures.
TRACE_FIGURES = (
    ("traces_cue_locked", ("cue_locked_prediction_error", "cue_locked_drug_dopamine", "cue_locked_incentive"),
     "time from drug-cue onset (s)"),
    ("traces_session", ("prediction_error", "drug_dopamine", "incentive", "cue_value"), "time in session (s)"),
)


def write_figures(study: Study, table: pd.DataFrame, traces: pd.DataFrame, summary: pd.DataFrame,
                  out: Path) -> list[Path]:
    """Write every figure the results allow; returns their paths."""
    folder = out / "figures"
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    if len(table):
        paths.append(_save(sessions_figure(study, table), folder / "sessions.png"))
    for title in summary["outcome"].unique() if len(summary) else ():
        fig = outcome_figure(study, summary[summary["outcome"] == title])
        paths.append(_save(fig, folder / f"outcome_{_slug(title)}.png"))
    for name, signals, xlabel in TRACE_FIGURES:
        part = traces[traces["signal"].isin(signals)] if len(traces) else traces
        if len(part):
            paths.append(_save(traces_figure(part, xlabel), folder / f"{name}.png"))
    return paths


def _save(fig: plt.Figure, path: Path) -> Path:
    save_figure(fig, path, dpi=110, bbox_inches="tight")
    plt.close(fig)
    return path


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_-]+", "_", text).strip("_")


def _colors(n: int) -> list:
    cmap = plt.get_cmap("tab10" if n <= 10 else "viridis")
    return [cmap(i if n <= 10 else i / max(n - 1, 1)) for i in range(n)]


def _phase_bands(ax: plt.Axes, study: Study, label: bool) -> None:
    spec = study.points[0].spec
    for i, (entry, days) in enumerate(zip(spec.calendar, spec.entry_days(), strict=True)):
        if i % 2:
            ax.axvspan(days.start - 0.5, days.stop - 0.5, color="0.93", zorder=0)
        if label:
            ax.text((days.start + days.stop - 1) / 2, 1.01, entry.name.replace("_", " "), rotation=30,
                    transform=ax.get_xaxis_transform(), ha="left", va="bottom", fontsize=7)


def _mean_band(frame: pd.DataFrame, seed: int) -> pd.DataFrame:
    """Per day: mean over subjects and its bootstrap 95% CI (subjects resampled as wholes)."""
    wide = frame.pivot_table(index=["seed", "subject"], columns="day", values="value", aggfunc="mean")
    lo, hi = stats.bootstrap_ci_columns(wide.to_numpy(), seed=seed, n_boot=1000)
    return pd.DataFrame({"day": wide.columns.to_numpy(), "mean": np.nanmean(wide.to_numpy(), axis=0),
                         "lo": lo, "hi": hi})


def sessions_figure(study: Study, table: pd.DataFrame) -> plt.Figure:
    """Presses and infusions per session, per condition, across the calendar."""
    conditions = list(dict.fromkeys(table["condition"]))
    colors = _colors(len(conditions))
    fig, (top, bottom) = plt.subplots(2, 1, sharex=True, figsize=(10, 6.5))
    for c, (condition, color) in enumerate(zip(conditions, colors, strict=True)):
        rows = table[table["condition"] == condition]
        for ax, measure, style in ((top, "active_presses", "-"), (top, "inactive_presses", "--"),
                                   (bottom, "infusions", "-")):
            part = rows[rows["measure"] == measure]
            if not len(part):
                continue
            band = _mean_band(part, seed=c)
            label = condition if measure != "inactive_presses" else None
            ax.plot(band["day"], band["mean"], style, color=color, lw=1.5, marker="o", ms=2.5, label=label)
            if measure != "inactive_presses":
                ax.fill_between(band["day"], band["lo"], band["hi"], color=color, alpha=0.15, lw=0)
    _phase_bands(top, study, label=True)
    _phase_bands(bottom, study, label=False)
    top.set_ylabel("lever presses / session\n(solid active, dashed inactive)")
    bottom.set_ylabel("infusions / session")
    bottom.set_xlabel("session (day of the protocol)")
    bottom.xaxis.set_major_locator(MaxNLocator(integer=True))
    top.legend(fontsize=7, loc="upper right", ncol=1 + len(conditions) // 8, frameon=False)
    fig.suptitle(f"{study.spec.name}: mean per session (95% bootstrap CI)", y=1.06)
    return fig


def outcome_figure(study: Study, summary: pd.DataFrame) -> plt.Figure:
    """One outcome per condition with 95% CIs (a dose-response curve along a numeric axis)."""
    spec = study.spec
    title = str(summary["outcome"].iloc[0])
    measure = str(summary["measure"].iloc[0])
    axis = spec.comparison_axis
    fig, ax = plt.subplots(figsize=(6.5, 4.2))
    if axis is None:
        _categorical(ax, summary)
    else:
        col = study.axis_columns[axis]
        levels = [label for label, _ in spec.grid_levels(axis)]
        numeric = all(is_number(v) for v in levels)
        others = [study.axis_columns[k] for k in spec.grid if k != axis]
        groups = summary.groupby(others, sort=False) if others else [((), summary)]
        groups = list(groups)
        for (key, block), color in zip(groups, _colors(len(groups)), strict=True):
            key = key if isinstance(key, tuple) else (key,)
            block = block.set_index(col).reindex(levels).dropna(subset=["mean"])
            x = block.index.to_numpy(dtype=float) if numeric else np.array([levels.index(v) for v in block.index])
            label = ", ".join(f"{k}={v}" for k, v in zip(others, key, strict=True)) or None
            yerr = np.vstack([block["mean"] - block["ci_low"], block["ci_high"] - block["mean"]])
            ax.errorbar(x, block["mean"], yerr=yerr, color=color, marker="o", capsize=3, label=label)
            if "baseline_mean" in block:
                ax.plot(x, block["baseline_mean"], ":", color=color, marker="s", mfc="none",
                        label=f"baseline{' ' + label if label else ''}")
        if not numeric:
            ax.set_xticks(range(len(levels)), [str(v) for v in levels], rotation=20)
        ax.set_xlabel(axis)
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=7, frameon=False)
    ax.set_ylabel(measure.replace("_", " "))
    ax.set_title(f"{spec.name}: {title} (mean, 95% bootstrap CI)", fontsize=9)
    ax.set_ylim(bottom=min(0.0, ax.get_ylim()[0]))
    return fig


def _categorical(ax: plt.Axes, summary: pd.DataFrame) -> None:
    x = np.arange(len(summary))
    yerr = np.vstack([summary["mean"] - summary["ci_low"], summary["ci_high"] - summary["mean"]])
    ax.errorbar(x, summary["mean"], yerr=yerr, fmt="o", capsize=3)
    if "baseline_mean" in summary:
        ax.plot(x, summary["baseline_mean"], "s", mfc="none", color="0.4", label="baseline")
        ax.legend(fontsize=7, frameon=False)
    ax.set_xticks(x, summary["condition"], rotation=20)


def traces_figure(traces: pd.DataFrame, xlabel: str = "time (s)") -> plt.Figure:
    """Within-session signals: one column per signal, one row per condition, one line per session."""
    keys = [k for k in ("condition", "day", "phase", "signal", "time_s") if k in traces]
    mean = traces.groupby(keys, sort=False)["value"].mean().reset_index()
    distinct = _distinct_conditions(mean)
    picks = sorted({round(i) for i in np.linspace(0, len(distinct) - 1, min(len(distinct), MAX_TRACE_CONDITIONS))})
    rows = [distinct[i] for i in picks]   # the first and last conditions, and evenly spaced ones between
    signals = list(dict.fromkeys(mean["signal"]))
    fig, axes = plt.subplots(len(rows), len(signals), figsize=(3.6 * len(signals), 2.6 * len(rows)),
                             squeeze=False, sharex=True)
    days = sorted(mean["day"].unique())
    cmap = plt.get_cmap("viridis")
    for r, (label, block) in enumerate(rows):
        for c, signal in enumerate(signals):
            ax = axes[r, c]
            part = block[block["signal"] == signal]
            for day, session in part.groupby("day", sort=True):
                phase = session["phase"].iloc[0] if "phase" in session else ""
                color = cmap(days.index(day) / max(len(days) - 1, 1))
                ax.plot(session["time_s"], session["value"], color=color, lw=1.2, label=f"session {day} {phase}")
            ax.axhline(0, color="0.7", lw=0.6)
            if r == 0:
                ax.set_title(signal.replace("_", " "), fontsize=9)
            if c == 0:
                ax.set_ylabel(label, fontsize=7)
            if r == len(rows) - 1:
                ax.set_xlabel(xlabel, fontsize=8)
    axes[0, -1].legend(fontsize=6, frameon=False)
    shown = "" if len(rows) == len(distinct) else f"; {len(rows)} of {len(distinct)} conditions"
    fig.suptitle(f"Within-session dopamine signals, cohort mean (early vs late sessions{shown})", y=1.02)
    fig.tight_layout()
    return fig


def _distinct_conditions(mean: pd.DataFrame) -> list[tuple[str, pd.DataFrame]]:
    """Conditions with identical traces (e.g. a dose given after the traced sessions) merged,
    labelled with every condition they stand for."""
    groups: dict[str, list[tuple[str, pd.DataFrame]]] = {}
    for condition, part in mean.groupby("condition", sort=False):
        groups.setdefault(part.drop(columns="condition").to_csv(index=False), []).append((str(condition), part))
    if len(groups) == 1 and len(next(iter(groups.values()))) > 1:
        return [("all conditions", next(iter(groups.values()))[0][1])]
    return [("\n".join(name for name, _ in members), members[0][1]) for members in groups.values()]
