"""A study's results folder: resolved spec, metadata, tidy tables and statistics.

Layout of ``<out>/``:

| file | what |
|---|---|
| ``spec.yaml`` | the resolved spec (defaults filled in, overrides applied); loads back as is |
| ``metadata.json`` | command line, package and dependency versions, git revision, seeds, backend, times |
| ``results.parquet`` / ``.csv`` | tidy table: condition, point, grid columns, seed, subject, day, entry,
  phase, measure, value |
| ``traces.parquet`` / ``.csv`` | cohort-mean within-session traces per run: ..., day, time_s, signal, value |
| ``outcomes.csv`` | one row per outcome, condition and subject: the analysed value (and baseline) |
| ``summary.csv`` | per outcome and condition: n, mean, SD, bootstrap 95% CI (and change from baseline) |
| ``tests.csv`` | each condition against the reference (Hedges' g, Welch t, permutation) and dose trends |
| ``figures/*.png`` | see `rlcraving.experiments.figures` |
| ``runs/`` | per finished (grid point, seed): its tables and their checksums; what makes a sweep resumable |
"""

from __future__ import annotations

import datetime as dt
import json
import math
import platform
import subprocess
import sys
from importlib import metadata as importlib_metadata
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from rlcraving import stats
from rlcraving.experiments.loader import Study
from rlcraving.files import atomic_write, atomic_write_text, overwrite_in_place

#: Distributions whose versions go into metadata.json.
PACKAGES = ("rlcraving", "numpy", "scipy", "pandas", "pyarrow", "gymnasium", "torch", "stable-baselines3",
            "pydantic", "pyyaml", "matplotlib", "typer", "ray")


# ---------------------------------------------------------------------------------------------
# Spec and metadata
# ---------------------------------------------------------------------------------------------


def write_spec(study: Study, out: Path) -> None:
    """Write the resolved spec to ``spec.yaml``."""
    text = yaml.safe_dump(study.spec.dump(), sort_keys=False, allow_unicode=True)
    header = f"# resolved from {study.source}" + (f" with {' '.join(study.overrides)}" if study.overrides else "")
    atomic_write(out / "spec.yaml", lambda p: p.write_text(header + "\n" + text))


def package_versions() -> dict[str, str | None]:
    """Installed version of each package in `PACKAGES` (None where not installed)."""
    out: dict[str, str | None] = {}
    for name in PACKAGES:
        try:
            out[name] = importlib_metadata.version(name)
        except importlib_metadata.PackageNotFoundError:
            out[name] = None
    return out


def git_revision() -> dict[str, Any] | None:
    """Commit and dirtiness of the source tree the package runs from, or None outside git."""
    root = Path(__file__).resolve().parents[2]

    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=root, capture_output=True, text=True, check=True,
                              timeout=10).stdout.strip()

    try:
        revision = git("rev-parse", "HEAD")
        dirty = bool(git("status", "--porcelain", "--untracked-files=no"))
    except (OSError, subprocess.SubprocessError):
        return None
    return {"revision": revision, "dirty": dirty}


def write_metadata(study: Study, out: Path, **extra: Any) -> dict[str, Any]:
    """Write ``metadata.json``: provenance of the results, plus `extra` (backend, times, ...)."""
    meta = {
        "study": study.spec.name,
        "spec_file": study.source,
        "overrides": list(study.overrides),
        "command": [Path(sys.argv[0]).name, *sys.argv[1:]],
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "packages": package_versions(),
        "git": git_revision(),
        "seeds": study.spec.seeds,
        "grid_points": len(study.points),
        "written": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        **extra,
    }
    text = json.dumps(meta, indent=2, default=str) + "\n"
    try:
        atomic_write_text(out / "metadata.json", text)
    except OSError:
        if not (out / "metadata.json").is_file():
            raise
        overwrite_in_place(out / "metadata.json", text)  # a full disk has no room for a temporary copy
    return meta


def write_table(frame: pd.DataFrame, out: Path, stem: str, *, csv_only: bool = False) -> None:
    """Write `frame` as ``<stem>.parquet`` and ``<stem>.csv`` (atomically)."""
    if not csv_only:
        atomic_write(out / f"{stem}.parquet", lambda p: frame.to_parquet(p, index=False))
    atomic_write(out / f"{stem}.csv", lambda p: frame.to_csv(p, index=False))


# ---------------------------------------------------------------------------------------------
# Outcomes and statistics
# ---------------------------------------------------------------------------------------------

_SUMMARIES = {
    "mean": "mean",
    "sum": "sum",
    "fraction_zero": lambda s: float((s == 0).mean()),
}


def _per_subject(rows: pd.DataFrame, summary: str) -> pd.Series:
    return rows.groupby(["seed", "subject"])["value"].agg(_SUMMARIES[summary])


def outcome_table(study: Study, table: pd.DataFrame) -> pd.DataFrame:
    """One row per outcome, grid point and subject: the outcome value (and its baseline value)."""
    columns = list(study.axis_columns.values())
    frames = []
    by_point = dict(tuple(table.groupby("point", sort=False))) if len(table) else {}
    for o, outcome in enumerate(study.spec.analysis.outcomes):
        for point in study.points:
            rows = by_point.get(point.index)
            if rows is None:
                continue
            rows = rows[rows["measure"] == outcome.measure]
            value = _per_subject(rows[rows["day"].isin(point.spec.sessions(outcome.session))], outcome.summary)
            frame = value.rename("value").reset_index()
            if outcome.baseline is not None:
                base = _per_subject(rows[rows["day"].isin(point.spec.sessions(outcome.baseline))], outcome.summary)
                frame["baseline"] = base.reindex(value.index).to_numpy()
            info = {"outcome": outcome.title, "index": o, "measure": outcome.measure,
                    "condition": study.condition(point), "point": point.index, **point.columns(study.axis_columns)}
            for i, (name, v) in enumerate(info.items()):
                frame.insert(i, name, v)
            frames.append(frame)
    if not frames:
        return pd.DataFrame(columns=["outcome", "index", "measure", "condition", "point", *columns,
                                     "seed", "subject", "value"])
    return pd.concat(frames, ignore_index=True)


def is_number(value: Any) -> bool:
    """Whether a grid label is a number (bools are not): such an axis gets a trend test."""
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, (bool, np.bool_))


def summarise(study: Study, outcomes: pd.DataFrame) -> pd.DataFrame:
    """Per outcome and condition: n, mean, SD and bootstrap CI; with a baseline, the within-subject
    change (mean, CI, d_z, paired t and sign-flip permutation p)."""
    a = study.spec.analysis
    rows = []
    for (o, point), group in outcomes.groupby(["index", "point"], sort=True):
        head = group.iloc[0]
        s = stats.describe(group["value"], n_boot=a.bootstrap, seed=[a.seed, int(o), int(point), 0])
        row = {k: head[k] for k in group.columns if k not in ("seed", "subject", "value", "baseline", "index")}
        row.update(s.as_dict())
        if "baseline" in group and group["baseline"].notna().all():
            base, value = group["baseline"].to_numpy(), group["value"].to_numpy()
            change = stats.describe(value - base, n_boot=a.bootstrap, seed=[a.seed, int(o), int(point), 1])
            row.update(baseline_mean=float(base.mean()), change_mean=change.mean, change_ci_low=change.ci_low,
                       change_ci_high=change.ci_high, change_dz=stats.paired_dz(base, value),
                       change_p_t=stats.paired_t(base, value).p,
                       change_p_perm=stats.paired_permutation_test(base, value, n_perm=a.permutations,
                                                                   seed=[a.seed, int(o), int(point), 2]))
        rows.append(row)
    return pd.DataFrame(rows)


def compare(study: Study, outcomes: pd.DataFrame) -> pd.DataFrame:
    """Tests along the comparison axis, within each combination of the other grid values:
    each level against the reference (difference, Hedges' g, Welch t, permutation p) and, for a
    numeric axis with 2+ levels, the dose trend (Spearman rho, Jonckheere-Terpstra)."""
    spec, a = study.spec, study.spec.analysis
    axis = spec.comparison_axis
    if axis is None or not len(outcomes):
        return pd.DataFrame()
    col = study.axis_columns[axis]
    levels = [label for label, _ in spec.grid_levels(axis)]
    reference = spec.reference_label
    others = [study.axis_columns[k] for k in spec.grid if k != axis]
    rows: list[dict[str, Any]] = []
    for (o, title), per_outcome in outcomes.groupby(["index", "outcome"], sort=True):
        groups = per_outcome.groupby(others, sort=False, dropna=False) if others else [((), per_outcome)]
        for g, (key, block) in enumerate(groups):
            key = key if isinstance(key, tuple) else (key,)
            where = dict(zip(others, key, strict=True))
            samples = {lv: block.loc[block[col] == lv, "value"].to_numpy() for lv in levels}
            ref = samples[reference]
            base = {"outcome": title, **where, "axis": col}
            for i, lv in enumerate(levels):
                if lv == reference:
                    continue
                x = samples[lv]
                welch = stats.welch_t(ref, x)
                rows.append({**base, "test": "vs_reference", "level": lv, "reference": reference,
                             "n_reference": len(ref), "n": len(x),
                             "mean_reference": float(ref.mean()) if len(ref) else math.nan,
                             "mean": float(x.mean()) if len(x) else math.nan,
                             "difference": float(x.mean() - ref.mean()) if len(x) and len(ref) else math.nan,
                             "hedges_g": stats.hedges_g(ref, x), "welch_t": welch.t, "welch_df": welch.df,
                             "p_welch": welch.p,
                             "p_permutation": stats.permutation_test(ref, x, n_perm=a.permutations,
                                                                     seed=[a.seed, int(o), g, i])})
            if all(is_number(lv) for lv in levels) and len(levels) >= 2:
                dose = np.concatenate([np.full(len(samples[lv]), float(lv)) for lv in levels])
                y = np.concatenate([samples[lv] for lv in levels])
                order = sorted(levels)
                rho = stats.spearman_trend(dose, y)
                jt = stats.jonckheere_terpstra([samples[lv] for lv in order])
                rows.append({**base, "test": "trend", "n": len(y), "spearman_rho": rho.statistic,
                             "p_spearman": rho.p, "jonckheere_j": jt.statistic, "jonckheere_z": jt.z,
                             "p_jonckheere": jt.p})
    return pd.DataFrame(rows)


def format_summary(summary: pd.DataFrame) -> list[list[str]]:
    """Rows of text for a printed summary: outcome, condition, n, mean [95% CI] (and change)."""
    out = []
    for _, r in summary.iterrows():
        cells = [str(r["outcome"]), str(r["condition"]), str(int(r["n"])),
                 f"{r['mean']:.3g} [{r['ci_low']:.3g}, {r['ci_high']:.3g}]"]
        if "change_mean" in summary and not pd.isna(r.get("change_mean")):
            cells.append(f"{r['change_mean']:+.3g} [{r['change_ci_low']:+.3g}, {r['change_ci_high']:+.3g}]")
        elif "change_mean" in summary:
            cells.append("")
        out.append(cells)
    return out
