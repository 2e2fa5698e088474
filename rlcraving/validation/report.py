"""Run the registered phenomena and write the validation report (`validation.md`, csv, figures)."""

from __future__ import annotations

import dataclasses
import shlex
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from rlcraving import stats
from rlcraving.docs import field_basis
from rlcraving.files import atomic_write_text, output_folder, save_figure
from rlcraving.params import ModelParams
from rlcraving.validation.protocols import fmt
from rlcraving.validation.unit import PHENOMENA, Config, Finding

SB3_PHENOMENA = tuple(key for key, unit in PHENOMENA.items() if unit.sb3)


def run(cfg: Config, only: Sequence[str] = ()) -> list[Finding]:
    """Run the phenomena (all, or those named in `only`), timing each."""
    unknown = sorted(set(only) - set(PHENOMENA))
    if unknown:
        raise ValueError(f"unknown phenomenon name(s) {unknown}; choose from {sorted(PHENOMENA)}")
    findings = []
    for key, unit in PHENOMENA.items():
        if (only and key not in only) or (not cfg.sb3 and unit.sb3):
            continue
        start = time.perf_counter()
        f = unit(cfg)
        f.seconds = time.perf_counter() - start
        findings.append(f)
    return findings


def calibration_rows() -> list[tuple[str, str, str]]:
    """(parameter, its target as its source states it, the phenomena calibrated on it) for every
    `ModelParams` field whose basis is calibrated or that a phenomenon names in `calibrated_on`."""
    on = {name: [key for key, unit in PHENOMENA.items() if name in unit.calibrated_on]
          for name in (f.name for f in dataclasses.fields(ModelParams))}
    return [(f.name, f.metadata["source"], ", ".join(on[f.name]) or "none of the rows")
            for f in dataclasses.fields(ModelParams) if field_basis(f) == "calibrated" or on[f.name]]


#: A figure whose largest bar exceeds its median bar (of at least 1) this many times gets a log axis.
SPREAD_FOR_LOG_AXIS = 30.0


def _figure(f: Finding, figdir: Path) -> str:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 3.2))
    groups = list(dict.fromkeys(f.rows["group"]))
    means = [f.rows.loc[f.rows["group"] == g, "value"].mean() for g in groups]
    cis = [stats.bootstrap_ci(f.rows.loc[f.rows["group"] == g, "value"].to_numpy(), seed=f.seed) for g in groups]
    err = np.array([[m - lo, hi - m] for m, (lo, hi) in zip(means, cis, strict=True)]).T
    ax.bar(range(len(groups)), means, yerr=err, capsize=3, color="#4c72b0")
    ax.set_xticks(range(len(groups)), groups, rotation=30, ha="right", fontsize=8)
    typical = float(np.median(means))
    if min(means) >= 0 and typical >= 1.0 and max(means) > SPREAD_FOR_LOG_AXIS * typical:
        ax.set_yscale("symlog", linthresh=1.0)   # a few bars dwarf the rest on a linear axis (zeros kept)
    ax.set_title(f.title, fontsize=10)
    ax.set_ylabel(f"{f.y_label}\n(mean per subject, 95% CI)", fontsize=8)
    fig.tight_layout()
    save_figure(fig, figdir / f"{f.key}.png", dpi=110)
    plt.close(fig)
    return f"validation/{f.key}.png"


def write_report(findings: list[Finding], out: Path, command: str) -> Path:
    """Write `validation.md`, `validation.csv` and one figure per phenomenon into `out`."""
    out, _ = output_folder(out, "out")
    figdir = out / "validation"
    figdir.mkdir(exist_ok=True)
    for f in findings:
        f.figure = _figure(f, figdir)
    table = pd.DataFrame([{k: v for k, v in dataclasses.asdict(f).items() if k != "rows"} | {"verdict": f.verdict}
                          for f in findings])
    atomic_write_text(out / "validation.csv", table.to_csv(index=False))
    lines = [
        "# Validation report",
        "",
        f"Produced by `{command}` on {time.strftime('%Y-%m-%d')} "
        f"(cohorts of {findings[0].n_subjects if findings else 0} subjects, seed "
        f"{findings[0].seed if findings else 0}). Each published phenomenon is run on simulated subjects; "
        "intervals are 95% percentile bootstraps over subjects. Each row states the paper's own size (with the "
        "figure it comes from) and the criterion, fixed in the code before the run: 'direction' asks whether the "
        "model's effect has the paper's sign, 'size' whether it meets the size criterion.",
        "",
        "| phenomenon | paper's effect | model's effect [95% CI] | direction | size | verdict |",
        "|---|---|---|---|---|---|",
    ]
    for f in findings:
        size = "n/a" if f.size_agrees is None else ("yes" if f.size_agrees else "no")
        lines.append(f"| [{f.title}](#{f.key}) | {f.paper_effect} ({f.paper}) | {f.measure}: {fmt(f.value)} "
                     f"[{fmt(f.ci_low)}, {fmt(f.ci_high)}] | {'yes' if f.direction_agrees else 'no'} | {size} | "
                     f"{f.verdict} |")
    lines += _calibration_section(findings)
    for f in findings:
        lines += ["", f"## {f.title}", f"<a id=\"{f.key}\"></a>", "",
                  f"- Paper: {f.paper_effect} ({f.paper}).",
                  f"- Paper's size: {f.paper_size}.",
                  f"- Criterion: {f.criterion}.",
                  f"- Model: {f.detail}.",
                  f"- Measure: {f.measure} = {fmt(f.value)} [{fmt(f.ci_low)}, {fmt(f.ci_high)}]; "
                  f"verdict: **{f.verdict}**; {f.n_subjects} subjects, seed {f.seed}, {f.seconds:.0f} s.",
                  "", f"![{f.title}]({f.figure})"]
    path = out / "validation.md"
    atomic_write_text(path, "\n".join(lines) + "\n")
    return path


def _calibration_section(findings: list[Finding]) -> list[str]:
    """Every calibrated parameter, its target, and which rows are then predictions."""
    calibrated = {key for _, _, keys in calibration_rows() for key in keys.split(", ") if key in PHENOMENA}
    lines = ["", "## Calibrated parameters and true predictions", "",
             "A parameter calibrated on a phenomenon does not validate that phenomenon. These are the model's "
             "calibrated parameters (from `rlcraving/params.py`), each with the target it was set on and the "
             "rows of this report it was set on ('none of the rows': its target is not a phenomenon of this report). "
             "Parameters named 'assumed' or 'chosen' whose value was still set to give a row's outcome are listed "
             "with that row.", "",
             "| parameter | default | target (as its source states it) | calibrated on |", "|---|---|---|---|"]
    defaults = ModelParams()
    for name, source, keys in calibration_rows():
        lines.append(f"| `{name}` | {getattr(defaults, name):g} | {source.replace('|', '/')} | {keys} |")
    predictions = [f.key for f in findings if f.key not in calibrated]
    checks = [f.key for f in findings if f.key in calibrated]
    lines += ["", f"Rows that are true predictions (no parameter calibrated on them): "
                  f"{', '.join(predictions) or 'none'}. Rows that check a calibration: {', '.join(checks) or 'none'}."]
    return lines


def main(out: str = "results/validation", n_subjects: int = 200, seed: int = 0, only: list[str] | None = None,
         agent: str = "q_learning", sb3: bool = True) -> Path:
    """Entry point of `rlcraving validate`: run the phenomena (all, or `only`) and write the report.

    Args:
        out: directory of the report (`validation.md`, `validation.csv`, figures).
        n_subjects: TD cohort size per condition.
        seed: cohort seed.
        only: names of phenomena to run (default: all; see `PHENOMENA`).
        agent: TD agent of the cohorts.
        sb3: include the stable-baselines3 (PPO) arm (several minutes).
    """
    cfg = Config(n_subjects=n_subjects, seed=seed, agent=agent, sb3=sb3)
    folder, _ = output_folder(out, "out")  # before the phenomena run, not after
    command = "rlcraving validate " + " ".join(shlex.quote(a) for a in sys.argv[2:]) if len(sys.argv) > 2 else \
        "rlcraving validate"
    findings = run(cfg, only or ())
    path = write_report(findings, folder, command)
    for f in findings:
        print(f"{f.verdict:>15}  {f.key:<28} {f.measure}: {fmt(f.value)} [{fmt(f.ci_low)}, {fmt(f.ci_high)}]"
              f"  ({f.seconds:.0f} s)")
    print(f"wrote {path}")
    return path
