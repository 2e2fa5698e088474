"""Figures of a study (matplotlib, Agg backend), written to ``<out>/figures``, and the story
figures the classroom app draws from its own tables. Every axis and legend is in words with its
unit, and sized for a classroom projector (`CLASSROOM_STYLE`).

- ``sessions.png`` (`course_figure`): active and inactive presses per session through the
  calendar, phases shaded and named; conditions that share their history are one line until
  they part;
- ``outcome_<name>.png``: each outcome per condition with 95% CIs, as a dose-response curve
  when the comparison axis is numeric, with the baseline (dotted) where the outcome has one;
- ``traces_cue_locked.png`` (`dopamine_shift_figure`): the prediction error and the drug's
  surge around drug-cue onsets, early and late sessions: the signal moving from the drug to
  the cue;
- ``cumulative.png`` (`cumulative_figure`): cumulative presses within a session;
- ``traces_session.png``: the within-session signals in 1-min bins.
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
#: Matplotlib settings for figures read on a classroom projector.
CLASSROOM_STYLE = {"font.size": 12, "axes.titlesize": 13, "axes.labelsize": 12, "legend.fontsize": 10,
                   "xtick.labelsize": 11, "ytick.labelsize": 11, "axes.spines.top": False,
                   "axes.spines.right": False}
#: Phases in words (a phase not listed is shown with its name's underscores as spaces).
PHASE_WORDS = {
    "self_administration": "acquisition\n(cocaine, 1 h/day)", "long_access": "long access\n(cocaine, 6 h/day)",
    "extinction": "extinction\n(no drug, no cue)", "cue_reinstatement": "cue\ntest",
    "prime_reinstatement": "drug-prime\ntest", "stress_reinstatement": "stress\ntest",
    "progressive_ratio": "progressive\nratio", "punished_self_administration": "punished\nseeking",
    "choice": "drug vs\nsucrose", "sucrose_self_administration": "sucrose",
}
#: Grid keys in words with their units, for legends and axes.
AXIS_WORDS = {
    "baclofen.regimen.mg_per_kg": "baclofen (mg/kg i.p.)",
    "baclofen.regimen.mg_per_day": "baclofen (mg/day oral)",
    "baclofen.regimen.target_mg_per_day": "baclofen target (mg/day oral)",
    "environment.baclofen_mg_per_day": "baclofen (mg/day oral)",
    "environment.kor_knockout": "kappa-opioid receptor knockout",
    "environment.individual_differences": "individual differences",
}
SHARED_COLOR = "0.15"
#: (file stem, signals, x label) of the trace figures.
TRACE_FIGURES = (
    ("traces_session", ("prediction_error", "drug_dopamine", "incentive", "cue_value"), "time in session (min)"),
)
#: Signals in words, with units (reward units: the model's common scale of reward, docs/model.md).
SIGNAL_WORDS = {
    "prediction_error": "prediction error\n(reward units per step)",
    "drug_dopamine": "drug's dopamine surge\n(reward units per step)",
    "incentive": "cue's incentive pull\n(reward units per step)",
    "cue_value": "cue's learned value\n(associative strength, 0-1)",
}


def write_figures(study: Study, table: pd.DataFrame, traces: pd.DataFrame, summary: pd.DataFrame,
                  out: Path) -> list[Path]:
    """Write every figure the results allow; returns their paths."""
    folder = out / "figures"
    folder.mkdir(parents=True, exist_ok=True)
    labels = condition_words(study)
    paths = []
    with plt.rc_context(CLASSROOM_STYLE):
        if len(table):
            fig = course_figure(table, labels=labels, title=f"{study.spec.name}: lever presses per session")
            paths.append(_save(fig, folder / "sessions.png"))
        for title in summary["outcome"].unique() if len(summary) else ():
            fig = outcome_figure(study, summary[summary["outcome"] == title])
            paths.append(_save(fig, folder / f"outcome_{_slug(title)}.png"))
        locked = traces[traces["signal"] == "cue_locked_prediction_error"] if len(traces) else traces
        if len(locked):
            paths.append(_save(dopamine_shift_figure(traces, labels=labels), folder / "traces_cue_locked.png"))
        rates = traces[traces["signal"] == "active_presses_per_min"] if len(traces) else traces
        if len(rates):
            fig = cumulative_figure(cumulative_from_rates(traces), labels=labels,
                                    title="Cumulative record: presses within a session (cohort mean)")
            paths.append(_save(fig, folder / "cumulative.png"))
        for name, signals, xlabel in TRACE_FIGURES:
            part = traces[traces["signal"].isin(signals)] if len(traces) else traces
            if len(part):
                paths.append(_save(traces_figure(part, xlabel, labels=labels), folder / f"{name}.png"))
    return paths


def _save(fig: plt.Figure, path: Path) -> Path:
    save_figure(fig, path, dpi=110, bbox_inches="tight")
    plt.close(fig)
    return path


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_-]+", "_", text).strip("_")


def _colors(n: int) -> list:
    """Distinct colours, dark enough to read on a projector (no yellow)."""
    if n <= 8:
        return [plt.get_cmap("Dark2")(i) if i else plt.get_cmap("tab10")(0) for i in range(n)]
    cmap = plt.get_cmap("plasma")
    return [cmap(0.85 * i / max(n - 1, 1)) for i in range(n)]


def axis_words(key: str) -> str:
    """A grid key in words with its unit (the key itself when it is not a known one)."""
    return AXIS_WORDS.get(key, key.split(".")[-1].replace("_", " "))


def phase_words(phase: str, short: bool = False) -> str:
    """A phase in words (two lines; `short`: the first line only)."""
    words = PHASE_WORDS.get(phase, phase.replace("_", " "))
    if not short:
        return words
    first, _, rest = words.partition("\n")
    return first if rest.startswith("(") else words.replace("\n", " ")


def condition_words(study: Study) -> dict[str, str]:
    """Each condition's label in words: "placebo", "baclofen 2.5 mg/kg i.p.", "KOR knockout: yes"..."""
    out = {}
    for point in study.points:
        parts = []
        for key, value in point.labels.items():
            words = axis_words(key)
            if words.startswith("baclofen") and is_number(value):
                unit = words[words.index("(") + 1:-1]
                parts.append("placebo" if value == 0 else f"baclofen {value:g} {unit}")
            elif isinstance(value, bool):
                parts.append(f"{words}: {'yes' if value else 'no'}")
            else:
                parts.append(f"{words} = {value}")
        out[study.condition(point)] = ", ".join(parts) or study.spec.name
    return out


# ---------------------------------------------------------------------------------------------
# The course of the protocol: presses per session, the shared history drawn once
# ---------------------------------------------------------------------------------------------


def _per_subject(table: pd.DataFrame, measure: str) -> pd.DataFrame:
    """Wide frame: rows (condition, seed, subject), columns day."""
    rows = table[table["measure"] == measure]
    index = [c for c in ("condition", "seed", "subject") if c in rows]
    return rows.pivot_table(index=index, columns="day", values="value", aggfunc="mean")


def shared_days(table: pd.DataFrame, measure: str = "active_presses") -> int:
    """How many leading days every condition has exactly the same per-subject values (a shared
    history: the same subjects living the same sessions before the conditions part)."""
    wide = _per_subject(table, measure)
    conditions = list(dict.fromkeys(table["condition"]))
    if len(conditions) < 2:
        return 0
    blocks = [wide.xs(c, level="condition").to_numpy() for c in conditions]
    if any(b.shape != blocks[0].shape for b in blocks):
        return 0
    days = 0
    for d in range(blocks[0].shape[1]):
        if all(np.array_equal(b[:, d], blocks[0][:, d], equal_nan=True) for b in blocks[1:]):
            days += 1
        else:
            break
    return days


def _band(wide: pd.DataFrame, seed: int) -> pd.DataFrame:
    """Per day: mean over subjects and its bootstrap 95% CI (subjects resampled as wholes)."""
    lo, hi = stats.bootstrap_ci_columns(wide.to_numpy(), seed=seed, n_boot=1000)
    return pd.DataFrame({"day": wide.columns.to_numpy() + 1, "mean": np.nanmean(wide.to_numpy(), axis=0),
                         "lo": lo, "hi": hi})


def _phase_spans(table: pd.DataFrame) -> list[tuple[str, int, int]]:
    """(phase, first day, last day) of each run of sessions of one phase."""
    phases = table.drop_duplicates("day").sort_values("day")[["day", "phase"]].to_numpy()
    phases[:, 0] += 1   # sessions counted from 1
    spans: list[tuple[str, int, int]] = []
    for day, phase in phases:
        if spans and spans[-1][0] == phase and spans[-1][2] == day - 1:
            spans[-1] = (phase, spans[-1][1], int(day))
        else:
            spans.append((str(phase), int(day), int(day)))
    return spans


def _shade_phases(ax: plt.Axes, table: pd.DataFrame) -> None:
    for i, (phase, first, last) in enumerate(_phase_spans(table)):
        ax.axvspan(first - 0.5, last + 0.5, color=("0.93" if i % 2 == 0 else "white"), zorder=0, lw=0)
        ax.text((first + last) / 2, 1.01, phase_words(phase), transform=ax.get_xaxis_transform(), ha="center",
                va="bottom", fontsize=10)


def course_figure(table: pd.DataFrame, *, labels: dict[str, str] | None = None, title: str = "",
                  measures: tuple[str, ...] = ("active_presses", "inactive_presses")) -> plt.Figure:
    """Presses per session through the protocol (mean, 95% bootstrap band): one line while the
    conditions share their history, one per condition where they part; phases shaded and named."""
    labels = labels or {}
    conditions = list(dict.fromkeys(table["condition"]))
    colors = dict(zip(conditions, _colors(len(conditions)), strict=True))
    shared = shared_days(table)
    fig, ax = plt.subplots(figsize=(11, 5.2))
    for m, measure in enumerate(measures):
        wide = _per_subject(table, measure)
        if not len(wide):
            continue
        active = measure == "active_presses"
        style = dict(lw=2.2 if active else 1.2, ls="-" if active else "--", marker="o" if active else None, ms=4)
        what = "active lever" if active else measure.replace("_presses", " lever").replace("_", " ")
        if shared:
            band = _band(wide.xs(conditions[0], level="condition").loc[:, :shared - 1], seed=m)
            ax.plot(band["day"], band["mean"], color=SHARED_COLOR if active else "0.55", **style,
                    label=f"{what}: every group (same history)" if len(conditions) > 1 else what)
            if active:
                ax.fill_between(band["day"], band["lo"], band["hi"], color=SHARED_COLOR, alpha=0.15, lw=0)
        for c, condition in enumerate(conditions):
            block = wide.xs(condition, level="condition")
            days = [d for d in block.columns if d >= shared - 1] if shared else list(block.columns)
            band = _band(block.loc[:, days], seed=100 * m + c)
            color = colors[condition] if active else "0.55"
            name = labels.get(condition, condition)
            if not active and len(conditions) > 1:
                name = None if c else f"{what}: each group"
            elif len(conditions) > 1 or not shared:
                name = f"{what}: {name}" if not active else name
            else:
                name = None
            ax.plot(band["day"], band["mean"], color=color, **style, label=name)
            if active and len(days) > 1 and shared:
                ax.errorbar(band["day"].iloc[1:], band["mean"].iloc[1:],
                            yerr=np.vstack([band["mean"] - band["lo"], band["hi"] - band["mean"]])[:, 1:],
                            color=color, capsize=4, lw=0, elinewidth=1.5)
            elif active:
                ax.fill_between(band["day"], band["lo"], band["hi"], color=color, alpha=0.15, lw=0)
    _shade_phases(ax, table)
    ax.set_xlim(0.5, int(table["day"].max()) + 1.5)
    if shared and len(conditions) > 1:
        ax.axvline(shared + 0.5, color="0.4", lw=1, ls=":")
        ax.annotate("groups part here", (shared + 0.5, 0.97), xycoords=("data", "axes fraction"), ha="right",
                    va="top", fontsize=10, color="0.3", xytext=(-4, 0), textcoords="offset points")
    ax.set_ylabel("lever presses per session")
    ax.set_xlabel("session (one a day)")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_ylim(bottom=0)
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    if title:
        ax.set_title(title + " (mean, 95% bootstrap interval)", pad=40)
    return fig


# ---------------------------------------------------------------------------------------------
# Cumulative record
# ---------------------------------------------------------------------------------------------


def cumulative_from_events(events: pd.DataFrame, subject: int) -> pd.DataFrame:
    """One subject's cumulative record: columns condition, day, phase, time_s, presses (active
    presses so far), and infusion (whether the press earned a dose)."""
    mine = events[events["subject"] == subject]
    frames = []
    for (condition, day), block in mine.groupby(["condition", "day"], sort=False):
        presses = block[block["event"] == "active_presses"].sort_values("time_s", kind="stable")
        infused = set(block.loc[block["event"] == "infusions", "time_s"])
        frames.append(pd.DataFrame({"condition": condition, "day": day, "phase": block["phase"].iloc[0],
                                    "time_s": presses["time_s"].to_numpy(),
                                    "presses": np.arange(1, len(presses) + 1, dtype=float),
                                    "infusion": presses["time_s"].isin(infused).to_numpy()}))
    columns = ["condition", "day", "phase", "time_s", "presses", "infusion"]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=columns)


def cumulative_from_rates(traces: pd.DataFrame) -> pd.DataFrame:
    """The cohort-mean cumulative record from the 1-min press rates of the traces."""
    rates = traces[traces["signal"] == "active_presses_per_min"]
    keys = [k for k in ("condition", "day", "phase", "time_s") if k in rates]
    mean = rates.groupby(keys, sort=False)["value"].mean().reset_index()
    frames = []
    for _, block in mean.groupby(["condition", "day"], sort=False):
        block = block.sort_values("time_s")
        minutes = np.diff(np.append(block["time_s"].to_numpy(), block["time_s"].iloc[-1] + 60.0)) / 60.0
        frames.append(block.assign(time_s=block["time_s"] + 60.0 * minutes,
                                   presses=np.cumsum(block["value"].to_numpy() * minutes), infusion=False))
    return pd.concat(frames, ignore_index=True).drop(columns="value")


def cumulative_figure(curves: pd.DataFrame, *, labels: dict[str, str] | None = None, title: str = "",
                      days: list[int] | None = None) -> plt.Figure:
    """Cumulative presses against time within each session (one panel a session; a line per
    condition where they differ); ticks mark presses that earned an infusion."""
    labels = labels or {}
    days = days or sorted(curves["day"].unique())
    conditions = list(dict.fromkeys(curves["condition"]))
    colors = dict(zip(conditions, _colors(len(conditions)), strict=True))
    fig, axes = plt.subplots(1, len(days), figsize=(4.2 * len(days), 4.2), sharey=True, squeeze=False)
    for ax, day in zip(axes[0], days, strict=True):
        part = curves[curves["day"] == day]
        drawn: list[np.ndarray] = []
        for condition in conditions:
            block = part[part["condition"] == condition]
            key = block[["time_s", "presses"]].to_numpy()
            if any(np.array_equal(key, k) for k in drawn):
                continue   # the same as a condition already drawn (a shared session)
            drawn.append(key)
            alone = len(part.drop_duplicates(["condition"])) == 1 or all(
                np.array_equal(part[part["condition"] == c][["time_s", "presses"]].to_numpy(), key)
                for c in conditions)
            color = SHARED_COLOR if alone else colors[condition]
            t = np.concatenate([[0.0], block["time_s"].to_numpy()]) / 60.0
            y = np.concatenate([[0.0], block["presses"].to_numpy()])
            ax.step(t, y, where="post", color=color, lw=2, label=None if alone else labels.get(condition, condition))
            hits = block[block["infusion"]]
            if len(hits):
                ax.plot(hits["time_s"] / 60.0, hits["presses"], "|", color=color, ms=9, mew=1.5)
        phase = part["phase"].iloc[0] if len(part) else ""
        ax.set_title(f"session {day + 1}: {phase_words(phase, short=True)}", fontsize=11)
        ax.set_xlabel("time in session (min)")
        ax.set_xlim(left=0)
        if ax.get_legend_handles_labels()[0]:
            ax.legend(loc="upper left", frameon=False, fontsize=9)
    axes[0, 0].set_ylabel("active presses so far")
    axes[0, 0].set_ylim(bottom=0)
    if curves["infusion"].any():
        axes[0, 0].plot([], [], "|", color="0.3", ms=9, mew=1.5, label="press that earned a dose")
        axes[0, 0].legend(loc="upper left", frameon=False, fontsize=9)
    if title:
        fig.suptitle(title, y=1.02)
    fig.tight_layout()
    return fig


# ---------------------------------------------------------------------------------------------
# The prediction error moving from the drug to the cue
# ---------------------------------------------------------------------------------------------


def dopamine_shift_figure(traces: pd.DataFrame, *, labels: dict[str, str] | None = None,
                          condition: str | None = None) -> plt.Figure:
    """Cohort-mean prediction error around drug-cue onsets, one line per traced session (early
    to late), with the drug's own surge beside it. `condition`: the one to draw (default: the
    first; conditions share their traced sessions until they part)."""
    labels = labels or {}
    locked = traces[traces["signal"].str.startswith("cue_locked_")]
    conditions = list(dict.fromkeys(locked["condition"]))
    days = sorted(locked["day"].unique())
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.3), sharex=True)
    palette = plt.get_cmap("viridis")
    arm_colors = _colors(len(conditions))   # where groups part: each its colour of the course figure
    for ax, signal in zip(axes, ("cue_locked_prediction_error", "cue_locked_drug_dopamine"), strict=True):
        for k, day in enumerate(days):
            part = locked[(locked["signal"] == signal) & (locked["day"] == day)]
            differ = condition is None and any(not _same_as_first(part, part[part["condition"] == name], conditions)
                                               for name in conditions[1:])
            for c, name in enumerate(conditions if condition is None else [condition]):
                block = part[part["condition"] == name]
                if not len(block) or (c and condition is None and _same_as_first(part, block, conditions)):
                    continue
                mean = block.groupby("time_s")["value"].mean()
                label = f"session {day + 1} ({phase_words(str(block['phase'].iloc[0]), short=True)})"
                color = palette(0.75 * k / max(len(days) - 1, 1))
                if differ:
                    label += f", {labels.get(name, name)}"
                    color = arm_colors[conditions.index(name)]
                ax.plot(mean.index, mean.to_numpy(), color=color, lw=2, ls="--" if differ else "-", label=label)
        ax.axvline(0, color="0.5", lw=1, ls=":")
        ax.axhline(0, color="0.7", lw=0.8)
        ax.set_xlabel("time from cue onset (s)")
    axes[0].set_ylabel("prediction error\n(reward units per 4-s step)")
    axes[0].set_title("learning signal (dopamine prediction error)", fontsize=11)
    axes[1].set_ylabel("drug's dopamine surge\n(reward units per 4-s step)")
    axes[1].set_title("the drug's own dopamine", fontsize=11)
    axes[0].annotate("cue on", (0, 1), xycoords=("data", "axes fraction"), ha="left", va="top", fontsize=9,
                     xytext=(3, -2), textcoords="offset points", color="0.4")
    axes[1].legend(*axes[0].get_legend_handles_labels(), loc="upper left", bbox_to_anchor=(1.02, 1.0),
                   frameon=False, fontsize=9)
    fig.suptitle("Dopamine signals around the cue, cohort mean: early and late sessions", y=1.02)
    fig.tight_layout()
    return fig


def _same_as_first(part: pd.DataFrame, block: pd.DataFrame, conditions: list[str]) -> bool:
    first = part[part["condition"] == conditions[0]]["value"].to_numpy()
    return np.array_equal(first, block["value"].to_numpy(), equal_nan=True)


# ---------------------------------------------------------------------------------------------
# Dose-response
# ---------------------------------------------------------------------------------------------


def dose_response_figure(summary: pd.DataFrame, *, dose_label: str, measure_label: str,
                         baseline_label: str = "end of extinction", title: str = "") -> plt.Figure:
    """Mean and 95% interval of an outcome against dose (columns dose, mean, ci_low, ci_high and
    optionally baseline_mean), with the baseline dotted."""
    fig, ax = plt.subplots(figsize=(6.8, 4.6))
    x = summary["dose"].to_numpy(dtype=float)
    yerr = np.vstack([summary["mean"] - summary["ci_low"], summary["ci_high"] - summary["mean"]])
    ax.errorbar(x, summary["mean"], yerr=yerr, color=_colors(1)[0], marker="o", ms=7, lw=2, capsize=5,
                label="relapse test (mean, 95% interval)")
    if "baseline_mean" in summary:
        ax.plot(x, summary["baseline_mean"], ":", color="0.35", lw=2, label=baseline_label)
    ax.set_xticks(x, ["placebo" if v == 0 else f"{v:g}" for v in x])
    ax.set_xlabel(dose_label)
    ax.set_ylabel(measure_label)
    ax.set_ylim(bottom=0)
    ax.legend(frameon=False, loc="upper right")
    if title:
        ax.set_title(title, fontsize=12)
    return fig


def outcome_figure(study: Study, summary: pd.DataFrame) -> plt.Figure:
    """One outcome per condition with 95% CIs (a dose-response curve along a numeric axis)."""
    spec = study.spec
    title = str(summary["outcome"].iloc[0])
    measure = str(summary["measure"].iloc[0])
    outcome = next((o for o in spec.analysis.outcomes if o.title == title), None)
    session = outcome.session if outcome is not None else ""
    baseline = getattr(outcome, "baseline", None) if outcome is not None else None
    axis = spec.comparison_axis
    fig, ax = plt.subplots(figsize=(7.5, 4.8))
    if axis is None:
        _categorical(ax, summary, baseline)
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
            label = ", ".join(f"{k} = {v}" for k, v in zip(others, key, strict=True))
            yerr = np.vstack([block["mean"] - block["ci_low"], block["ci_high"] - block["mean"]])
            ax.errorbar(x, block["mean"], yerr=yerr, color=color, marker="o", ms=6, lw=2, capsize=4,
                        label=f"{session.replace('_', ' ')}{': ' + label if label else ''}")
            if "baseline_mean" in block and baseline:
                ax.plot(x, block["baseline_mean"], ":", color=color, marker="s", mfc="none",
                        label=f"baseline: {_session_words(baseline)}{' ' + label if label else ''}")
        words = axis_words(axis)
        if numeric:
            ticks = block.index.to_numpy(dtype=float) if len(groups) else []
            if words.startswith("baclofen"):
                ax.set_xticks(ticks, ["placebo" if v == 0 else f"{v:g}" for v in ticks])
        else:
            ax.set_xticks(range(len(levels)), [str(v) for v in levels], rotation=20)
        ax.set_xlabel(words)
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=9, frameon=False)
    ax.set_ylabel(measure.replace("_", " ") + " per session")
    ax.set_title(f"{spec.name}: {title.replace('_', ' ')}\n(mean over subjects, 95% bootstrap interval)",
                 fontsize=12)
    ax.set_ylim(bottom=min(0.0, ax.get_ylim()[0]))
    return fig


def _session_words(ref: str) -> str:
    """A session reference such as "extinction:-1" in words ("last extinction session")."""
    name, _, index = str(ref).partition(":")
    name = name.replace("_", " ")
    if index in ("-1",):
        return f"last {name} session"
    if index in ("0",):
        return f"first {name} session"
    return f"{name} session {index}" if index else f"{name} session"


def _categorical(ax: plt.Axes, summary: pd.DataFrame, baseline: str | None) -> None:
    x = np.arange(len(summary))
    yerr = np.vstack([summary["mean"] - summary["ci_low"], summary["ci_high"] - summary["mean"]])
    ax.errorbar(x, summary["mean"], yerr=yerr, fmt="o", capsize=4, ms=6)
    if "baseline_mean" in summary and baseline:
        ax.plot(x, summary["baseline_mean"], "s", mfc="none", color="0.4",
                label=f"baseline: {_session_words(baseline)}")
        ax.legend(fontsize=9, frameon=False)
    ax.set_xticks(x, summary["condition"], rotation=20)


def traces_figure(traces: pd.DataFrame, xlabel: str = "time in session (min)", *,
                  labels: dict[str, str] | None = None) -> plt.Figure:
    """Within-session signals in 1-min bins: one column per signal, one row per distinct condition,
    one line per traced session (early to late)."""
    labels = labels or {}
    keys = [k for k in ("condition", "day", "phase", "signal", "time_s") if k in traces]
    mean = traces.groupby(keys, sort=False)["value"].mean().reset_index()
    distinct = _distinct_conditions(mean, labels)
    picks = sorted({round(i) for i in np.linspace(0, len(distinct) - 1, min(len(distinct), MAX_TRACE_CONDITIONS))})
    rows = [distinct[i] for i in picks]   # the first and last conditions, and evenly spaced ones between
    signals = list(dict.fromkeys(mean["signal"]))
    fig, axes = plt.subplots(len(rows), len(signals), figsize=(3.9 * len(signals), 3.0 * len(rows)),
                             squeeze=False, sharex=True, sharey="col")
    days = sorted(mean["day"].unique())
    palette = plt.get_cmap("viridis")
    for r, (label, block) in enumerate(rows):
        for c, signal in enumerate(signals):
            ax = axes[r, c]
            part = block[block["signal"] == signal]
            for day, session in part.groupby("day", sort=True):
                phase = phase_words(str(session["phase"].iloc[0]), short=True) if "phase" in session else ""
                color = palette(0.75 * days.index(day) / max(len(days) - 1, 1))
                ax.plot(session["time_s"] / 60.0, session["value"], color=color, lw=1.8,
                        label=f"session {day + 1} ({phase})")
            ax.axhline(0, color="0.7", lw=0.6)
            if r == 0:
                ax.set_title(SIGNAL_WORDS.get(signal, signal.replace("_", " ")).split("\n")[0], fontsize=11)
            ax.set_ylabel(SIGNAL_WORDS.get(signal, "").partition("\n")[2], fontsize=9)
            if r == len(rows) - 1:
                ax.set_xlabel(xlabel, fontsize=10)
        axes[r, 0].annotate(label, (-0.45, 0.5), xycoords="axes fraction", rotation=90, ha="center", va="center",
                            fontsize=10)
    axes[0, -1].legend(fontsize=9, frameon=False, loc="upper left", bbox_to_anchor=(1.02, 1.0))
    shown = "" if len(rows) == len(distinct) else f"; {len(rows)} of {len(distinct)} conditions"
    fig.suptitle(f"Within-session signals, cohort mean in 1-min bins (early and late sessions{shown})", y=1.02)
    fig.tight_layout()
    return fig


def _distinct_conditions(mean: pd.DataFrame, labels: dict[str, str]) -> list[tuple[str, pd.DataFrame]]:
    """Conditions with identical traces (e.g. a dose given after the traced sessions) merged,
    labelled with every condition they stand for."""
    groups: dict[str, list[tuple[str, pd.DataFrame]]] = {}
    for condition, part in mean.groupby("condition", sort=False):
        groups.setdefault(part.drop(columns="condition").to_csv(index=False), []).append((str(condition), part))
    if len(groups) == 1 and len(next(iter(groups.values()))) > 1:
        return [("every group (same history)", next(iter(groups.values()))[0][1])]
    return [("\n".join(labels.get(name, name) for name, _ in members), members[0][1]) for members in groups.values()]
