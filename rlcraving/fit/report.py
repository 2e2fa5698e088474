"""Figures and the markdown report of a fit (matplotlib, Agg backend), in ``<out>/figures``.

- ``marginals.png``: each parameter's prior and its posterior pooled over each group's subjects;
- ``group_differences.png``: posterior of each parameter's group difference, with P(>0);
- ``predictive.png``: per measure and group, the data's session means beside the posterior-
  predictive mean and 90% band;
- ``recovery.png`` and ``calibration.png`` (``--check``): true against estimated parameters,
  and the ranks of the true values among the posterior draws (uniform when calibrated).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

from rlcraving.files import atomic_write, save_figure
from rlcraving.fit.data import FitData
from rlcraving.fit.inference import Estimator
from rlcraving.fit.spec import FitSpec

if TYPE_CHECKING:
    from rlcraving.fit.run import CheckResult, FitResult

COLOURS = plt.rcParams["axes.prop_cycle"].by_key()["color"]


def _save(fig: plt.Figure, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    save_figure(fig, path, dpi=110)
    plt.close(fig)
    return path


def _grid(n: int, width: float = 3.2, height: float = 2.6) -> tuple[plt.Figure, np.ndarray]:
    cols = min(n, 3)
    rows = math.ceil(n / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(width * cols, height * rows), squeeze=False)
    for ax in axes.ravel()[n:]:
        ax.set_visible(False)
    return fig, axes.ravel()


def _log_axis(ax: plt.Axes, which: str) -> None:
    """Axis `which` ("x" or "y") of `ax` on a log scale, labelled at 1, 2 and 5 times powers of ten."""
    (ax.set_xscale if which == "x" else ax.set_yscale)("log")
    axis = ax.xaxis if which == "x" else ax.yaxis
    axis.set_major_locator(LogLocator(subs=(1.0, 2.0, 5.0)))
    axis.set_major_formatter(FuncFormatter(lambda v, _pos: f"{v:g}"))
    axis.set_minor_formatter(NullFormatter())


def fit_figures(result: FitResult, spec: FitSpec, data: FitData, draws: np.ndarray) -> list[Path]:
    """The fit's figures (marginals, group differences, posterior predictive)."""
    out = result.out / "figures"
    return [marginals_figure(spec, data, draws, out / "marginals.png"),
            differences_figure(result.differences, draws, data, spec, out / "group_differences.png"),
            predictive_figure(result.predictive, spec, out / "predictive.png")]


def marginals_figure(spec: FitSpec, data: FitData, draws: np.ndarray, path: Path) -> Path:
    """Prior density and each group's pooled posterior of every log-parameter."""
    free = spec.free()
    fig, axes = _grid(len(free))
    groups = np.array(data.groups, dtype=object)
    for k, (p, ax) in enumerate(zip(free, axes, strict=False)):
        grid = np.linspace(p.mu - 3.5 * p.sigma, p.mu + 3.5 * p.sigma, 200)
        density = np.exp(-0.5 * ((grid - p.mu) / p.sigma) ** 2) / (p.sigma * math.sqrt(2 * math.pi))
        ax.plot(np.exp(grid), density, color="0.5", lw=1.5, ls="--", label="prior")
        bins = np.linspace(grid[0], grid[-1], 50)
        for g, name in enumerate(data.group_names):
            pooled = draws[groups == name, :, k].ravel()
            hist, edges = np.histogram(pooled, bins=bins, density=True)
            ax.stairs(hist, np.exp(edges), color=COLOURS[g % len(COLOURS)], lw=1.5, label=f"{name} (posterior)")
            means = draws[groups == name, :, k].mean(axis=1)
            ax.plot(np.exp(means), np.full(means.shape, -0.04 * density.max() * (g + 1)), "|",
                    color=COLOURS[g % len(COLOURS)], ms=6)
        _log_axis(ax, "x")
        ax.set_title(p.name, fontsize=10)
        ax.set_xlabel(p.unit if p.kind == "agent" else "multiplier", fontsize=8)
        ax.tick_params(labelsize=8)
        ax.set_yticks([])
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=len(labels), fontsize=8, frameon=False)
    fig.suptitle(f"{spec.name}: prior and posteriors pooled over each group's subjects\n"
                 "(ticks below: subjects' posterior means)", fontsize=10)
    fig.tight_layout(rect=(0, 0.07, 1, 1))
    return _save(fig, path)


def differences_figure(differences: pd.DataFrame, draws: np.ndarray, data: FitData, spec: FitSpec,
                       path: Path) -> Path:
    """Posterior of each parameter's log difference from the reference group, with P(>0)."""
    free = spec.free()
    compared = [g for g in data.group_names if g in set(differences["group"])] if len(differences) else []
    fig, ax = plt.subplots(figsize=(7.5, 0.6 + 0.55 * len(free) * max(len(compared), 1)))
    if not compared:
        ax.text(0.5, 0.5, "one group only: nothing to compare", ha="center", va="center", transform=ax.transAxes)
        ax.set_axis_off()
        return _save(fig, path)
    groups = np.array(data.groups, dtype=object)
    reference = differences["reference"].iloc[0]
    ref = draws[groups == reference].mean(axis=0)
    labels, y = [], 0
    for g, name in enumerate(compared):
        diff = draws[groups == name].mean(axis=0) - ref
        for k, p in enumerate(free):
            d = diff[:, k]
            density, edges = np.histogram(d, bins=40, density=True)
            half = 0.4 * density / density.max()
            centres = 0.5 * (edges[1:] + edges[:-1])
            ax.fill_between(centres, y - half, y + half, color=COLOURS[(g + 1) % len(COLOURS)], alpha=0.6, lw=0)
            lo, hi = np.quantile(d, [0.025, 0.975])
            ax.plot([lo, hi], [y, y], color="k", lw=1)
            ax.plot([d.mean()], [y], "o", color="k", ms=3)
            ax.annotate(f"P(>0) = {(d > 0).mean():.3f}", (1.0, y), xycoords=("axes fraction", "data"),
                        xytext=(4, 0), textcoords="offset points", va="center", fontsize=8)
            labels.append(f"{p.name}\n{name} - {reference}" if len(compared) > 1 else p.name)
            y += 1
    ax.axvline(0.0, color="0.4", lw=1, ls=":")
    ax.set_yticks(range(len(labels)), labels, fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel(f"difference of group mean log-parameter ({', '.join(compared)} minus {reference}); "
                  "log of the ratio of geometric means", fontsize=8)
    ax.set_title("group differences: posterior, 95% interval and P(difference > 0)", fontsize=10)
    fig.tight_layout()
    return _save(fig, path)


def predictive_figure(predictive: pd.DataFrame, spec: FitSpec, path: Path) -> Path:
    """Per measure: each group's session means (points) and the posterior-predictive mean (line)
    and 90% band (shaded)."""
    measures = list(dict.fromkeys(predictive["measure"]))
    fig, axes = _grid(len(measures), width=4.6, height=3.0)
    boundaries = np.cumsum([e.days for e in spec.calendar])[:-1] - 0.5
    for ax, measure in zip(axes, measures, strict=False):
        rows = predictive[predictive["measure"] == measure]
        for g, (name, block) in enumerate(rows.groupby("group", sort=False)):
            colour = COLOURS[g % len(COLOURS)]
            ax.fill_between(block["day"], block["predictive_q05"], block["predictive_q95"], color=colour, alpha=0.25,
                            lw=0)
            ax.plot(block["day"], block["predictive_mean"], color=colour, lw=1.2, label=f"{name}: predictive")
            ax.plot(block["day"], block["data_mean"], "o", color=colour, ms=3.5, label=f"{name}: data")
        for b in boundaries:
            ax.axvline(b, color="0.8", lw=0.8)
        ax.set_title(measure.replace("_", " "), fontsize=10)
        ax.set_xlabel("session (calendar day)", fontsize=8)
        ax.set_ylabel("mean per subject", fontsize=8)
        ax.tick_params(labelsize=8)
    axes[0].legend(fontsize=7, frameon=False)
    fig.suptitle("data beside the posterior predictive (mean and 90% band of the group mean)", fontsize=10)
    fig.tight_layout()
    return _save(fig, path)


def check_figures(checked: CheckResult, spec: FitSpec, out: Path) -> list[Path]:
    """Recovery scatter and calibration rank histograms of `--check`."""
    from rlcraving.fit.run import sbc_ranks

    free = spec.free()
    fig, axes = _grid(len(free))
    estimate = checked.draws.mean(axis=1)
    for k, (p, ax) in enumerate(zip(free, axes, strict=False)):
        ax.plot(np.exp(checked.truth[:, k]), np.exp(estimate[:, k]), ".", ms=3, alpha=0.6)
        lo, hi = np.exp(p.mu - 3 * p.sigma), np.exp(p.mu + 3 * p.sigma)
        ax.plot([lo, hi], [lo, hi], color="0.5", lw=1, ls="--")
        _log_axis(ax, "x")
        _log_axis(ax, "y")
        r = checked.table.loc[k, "recovery_r"]
        ax.set_title(f"{p.name}: r = {r:.2f}", fontsize=10)
        ax.set_xlabel("true", fontsize=8)
        ax.set_ylabel("posterior mean", fontsize=8)
        ax.tick_params(labelsize=8)
    fig.suptitle(f"parameter recovery: {len(checked.truth)} simulated subjects (log scales)", fontsize=10)
    fig.tight_layout()
    paths = [_save(fig, out / "figures" / "recovery.png")]
    ranks = sbc_ranks(checked.truth, checked.draws)
    n_draws = checked.draws.shape[1]
    bins = 20
    fig, axes = _grid(len(free))
    expected = len(ranks) / bins
    band = 1.96 * math.sqrt(expected * (1 - 1 / bins))
    for k, (p, ax) in enumerate(zip(free, axes, strict=False)):
        ax.hist(ranks[:, k], bins=np.linspace(0, n_draws + 1, bins + 1), color=COLOURS[0], alpha=0.8)
        ax.axhspan(expected - band, expected + band, color="0.85", zorder=0)
        ax.axhline(expected, color="0.5", lw=1)
        ax.set_title(p.name, fontsize=10)
        ax.set_xlabel("rank of the true value", fontsize=8)
        ax.tick_params(labelsize=8)
    fig.suptitle("simulation-based calibration: ranks are uniform (grey band: 95%) when calibrated", fontsize=10)
    fig.tight_layout()
    paths.append(_save(fig, out / "figures" / "calibration.png"))
    return paths


# ---------------------------------------------------------------------------------------------
# The report
# ---------------------------------------------------------------------------------------------


def _table(frame: pd.DataFrame, digits: int = 3) -> str:
    def cell(v: object) -> str:
        if isinstance(v, float):
            return f"{v:.{digits}g}" if abs(v) >= 1e-3 or v == 0 else f"{v:.2e}"
        return str(v)

    head = "| " + " | ".join(map(str, frame.columns)) + " |"
    rule = "|" + "---|" * len(frame.columns)
    body = ["| " + " | ".join(cell(v) for v in row) + " |" for row in frame.itertuples(index=False)]
    return "\n".join([head, rule, *body])


def write_report(spec: FitSpec, out: Path, data: FitData | None, result: FitResult | None,
                 checked: CheckResult | None, estimator: Estimator, seconds: float) -> Path:
    """Write ``report.md`` and return its path."""
    t = estimator.training
    lines = [f"# Fit: {spec.name}", "", " ".join(spec.description.split()), ""]
    lines += ["## Estimator", "",
              f"Neural posterior estimation (sbi, {spec.training.estimator}) on {t['simulations']} subjects "
              f"simulated from the prior through the protocol; {t['failed']} simulation(s) failed or gave "
              f"non-finite counts and were dropped. {t['summaries_used']} of {t['summaries']} summaries "
              f"(log(1 + count) per session and measure: {', '.join(spec.measures)}) vary between simulations and "
              f"are read. Trained {t['epochs']} epochs (best validation loss {t['best_validation_loss']:.3f}"
              + (", stopped at training.max_epochs before converging" if t["epochs"] >= spec.training.max_epochs
                 else "") + "); "
              f"simulation {t['simulation_s']:.0f} s, training {t['training_s']:.0f} s"
              + ("." if result is None or result.trained else "; reused, not trained by this run."), ""]
    lines += ["| parameter | kind | prior median | prior sigma (log) | unit | source |", "|---|---|---|---|---|---|"]
    lines += [f"| {p.name} | {p.kind} | {p.median:g} | {p.sigma:g} | {p.unit} | {p.source} |" for p in spec.free()]
    lines.append("")
    if result is not None and data is not None:
        lines += _fit_section(spec, data, result)
    if checked is not None:
        lines += _check_section(checked)
    lines += [f"Total time {seconds:.0f} s.", ""]
    path = out / "report.md"
    atomic_write(path, lambda p: p.write_text("\n".join(lines)))
    return path


def _fit_section(spec: FitSpec, data: FitData, result: FitResult) -> list[str]:
    counts = pd.Series(data.groups).value_counts(sort=False)
    lines = ["## Data", "", f"{data.source}: {len(data.subjects)} subjects ("
             + ", ".join(f"{g}: {n}" for g, n in counts.items()) + f"), {data.counts.shape[1]} sessions."]
    if data.ignored_measures:
        lines.append(f"Measures in the data that the fit does not read: {', '.join(data.ignored_measures)}.")
    outside = result.subjects.drop_duplicates("subject")
    far = outside[outside["summaries_outside_training"] > 0]
    if len(far):
        lines.append(f"{len(far)} subject(s) have session counts outside the range of every training simulation "
                     f"(their posteriors are extrapolations): {', '.join(map(str, far['subject'][:10]))}"
                     + (" ..." if len(far) > 10 else "") + ".")
    lines += ["", "## Posterior per group", "",
              "Mean over each group's subjects of their posterior means (model units), and the mean contraction "
              "(1 - posterior / prior variance of the log-parameter: 0 the data say nothing, 1 they pin it).", ""]
    by_group = result.subjects.groupby(["parameter", "group"], sort=False)[["mean", "contraction"]].mean()
    lines += [_table(by_group.reset_index()), ""]
    if len(result.differences):
        lines += ["## Group differences", "",
                  "Posterior of the difference in mean log-parameter from the reference group (ratio: of the "
                  "geometric means). Each subject is fitted under the population prior, so differences are "
                  "shrunk towards 0 (conservative).", ""]
        cols = ["parameter", "group", "reference", "difference", "ci_low", "ci_high", "ratio", "p_above_zero"]
        lines += [_table(result.differences[cols]), ""]
        lines += [f"- {s}" for s in result.named] + [""]
    lines += ["![marginals](figures/marginals.png)", "", "![group differences](figures/group_differences.png)", "",
              "![posterior predictive](figures/predictive.png)", "",
              f"Fit time: estimator {result.seconds['estimator']:.0f} s, posterior draws "
              f"{result.seconds['posterior']:.0f} s, posterior predictive {result.seconds['predictive']:.0f} s.", ""]
    return lines


def _check_section(checked: CheckResult) -> list[str]:
    from rlcraving.fit.run import IDENTIFIED_R, NOT_IDENTIFIED_R

    table = checked.table
    lines = ["## Recovery and calibration", "",
             f"{int(table['subjects'].iloc[0])} subjects simulated with parameters drawn from the prior (streams "
             "apart from the training simulations), each fitted: the correlation of true and posterior-mean "
             "log-parameters, the mean contraction, and the share of true values inside the central 50% and 90% "
             "posterior intervals (0.5 and 0.9 when calibrated).", "",
             _table(table[["parameter", "recovery_r", "contraction", "coverage_50", "coverage_90", "identification"]]),
             "", f"Identified: recovery r >= {IDENTIFIED_R}; partly: {NOT_IDENTIFIED_R} <= r < {IDENTIFIED_R}; "
             f"not identified: r < {NOT_IDENTIFIED_R}.", ""]
    for verdict in ("identified", "partly identified", "not identified"):
        names = table.loc[table["identification"] == verdict, "parameter"].tolist()
        if names:
            lines.append(f"- {verdict} by these press counts: {', '.join(names)}")
    lines += ["", "![recovery](figures/recovery.png)", "", "![calibration](figures/calibration.png)", "",
              f"Check time {checked.seconds:.0f} s.", ""]
    return lines
