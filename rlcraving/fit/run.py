"""`rlcraving fit`: fit every subject of a data set, compare groups, check what the fit can recover.

Written to the output folder:

| file | what |
|---|---|
| ``estimator.pt`` | the trained posterior estimator (reused while the spec and the model's code are unchanged) |
| ``posterior.parquet`` | per-subject posterior draws: subject, group, draw, parameter, value (model units) |
| ``subjects.csv`` | per subject and parameter: posterior mean, median, 90% interval, contraction |
| ``group_differences.csv`` | per parameter and group: posterior of the difference from the reference group |
| ``predictive.csv`` | per group, session and measure: data mean, posterior-predictive mean and 90% band |
| ``check.csv`` | with ``--check``: recovery correlation, contraction, interval coverage per parameter |
| ``figures/*.png``, ``report.md`` | figures and the report |
| ``spec.yaml``, ``metadata.json`` | the resolved spec; provenance (versions, revision, time) |
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from rlcraving.experiments.results import git_revision, package_versions
from rlcraving.files import atomic_write, output_folder
from rlcraving.fit.data import FitData, load_data
from rlcraving.fit.inference import Estimator, trained_estimator
from rlcraving.fit.simulate import CHECK, PREDICTIVE, Simulator, draw_prior, natural, summaries
from rlcraving.fit.spec import FitSpec, FreeParameter, load_fit_spec

#: Recovery correlation at and above which press counts are said to identify a parameter, and the
#: one below which they are said not to (conventions of this report, not of the literature).
IDENTIFIED_R, NOT_IDENTIFIED_R = 0.7, 0.3
#: Central intervals whose coverage the calibration check reports.
COVERAGE_LEVELS = (0.5, 0.9)


@dataclass
class FitResult:
    """What a fit found (the tables also written to the output folder)."""

    out: Path
    subjects: pd.DataFrame
    differences: pd.DataFrame
    predictive: pd.DataFrame
    named: list[str]                 # per compared group: the sentence naming the differing mechanism
    estimator: Estimator
    trained: bool
    seconds: dict[str, float] = field(default_factory=dict)


@dataclass
class CheckResult:
    """Parameter recovery and calibration on simulated subjects with known parameters."""

    table: pd.DataFrame              # per parameter: recovery_r, contraction, coverage_50, coverage_90, identification
    truth: np.ndarray                # (subjects, parameters) log-parameters
    draws: np.ndarray                # (subjects, draws, parameters)
    seconds: float = 0.0


# ---------------------------------------------------------------------------------------------
# Fitting subjects and comparing groups
# ---------------------------------------------------------------------------------------------


def posterior_table(data: FitData, free: list[FreeParameter], draws: np.ndarray) -> pd.DataFrame:
    """Long table of posterior draws in model units: subject, group, draw, parameter, value."""
    n, s, k = draws.shape
    values = natural(free, draws.reshape(-1, k)).reshape(n, s, k)
    return pd.DataFrame({
        "subject": np.repeat(np.array(data.subjects, dtype=object), s * k),
        "group": np.repeat(np.array(data.groups, dtype=object), s * k),
        "draw": np.tile(np.repeat(np.arange(s), k), n),
        "parameter": np.tile(np.array([p.name for p in free], dtype=object), n * s),
        "value": values.ravel(),
    })


def subject_summary(data: FitData, free: list[FreeParameter], draws: np.ndarray,
                    outside: np.ndarray) -> pd.DataFrame:
    """Per subject and parameter: posterior mean, median and 90% interval (model units), and the
    contraction 1 - posterior variance / prior variance of the log-parameter."""
    rows = []
    values = np.exp(draws)
    for i, (subject, group) in enumerate(zip(data.subjects, data.groups, strict=True)):
        for k, p in enumerate(free):
            v = np.clip(values[i, :, k], p.lo, p.hi)
            rows.append({"subject": subject, "group": group, "parameter": p.name, "mean": float(v.mean()),
                         "median": float(np.median(v)), "q05": float(np.quantile(v, 0.05)),
                         "q95": float(np.quantile(v, 0.95)),
                         "contraction": 1.0 - float(draws[i, :, k].var()) / p.sigma**2,
                         "summaries_outside_training": int(outside[i])})
    return pd.DataFrame(rows)


def group_differences(data: FitData, free: list[FreeParameter], draws: np.ndarray,
                      reference: str | None = None) -> pd.DataFrame:
    """Posterior of each parameter's group difference: for every draw, the mean log-parameter of a
    group's subjects minus the reference group's (subjects' posteriors are independent, so draw s
    of every subject together is a draw of the group means). `ratio` is exp(difference), the
    ratio of the groups' geometric means; `standardised` the difference in prior SDs."""
    groups = np.array(data.groups, dtype=object)
    names = data.group_names
    reference = names[0] if reference is None else reference
    ref = draws[groups == reference].mean(axis=0)              # (draws, parameters)
    rows = []
    for g in names:
        if g == reference:
            continue
        diff = draws[groups == g].mean(axis=0) - ref
        for k, p in enumerate(free):
            d = diff[:, k]
            rows.append({"parameter": p.name, "group": g, "reference": reference,
                         "n": int((groups == g).sum()), "n_reference": int((groups == reference).sum()),
                         "difference": float(d.mean()), "ci_low": float(np.quantile(d, 0.025)),
                         "ci_high": float(np.quantile(d, 0.975)), "ratio": float(np.exp(d.mean())),
                         "p_above_zero": float((d > 0).mean()), "standardised": float(d.mean() / p.sigma),
                         "z": float(d.mean() / d.std()) if d.std() > 0 else 0.0})
    return pd.DataFrame(rows)


def name_mechanisms(differences: pd.DataFrame) -> list[str]:
    """For each compared group, a sentence naming the parameter that differs most credibly (95%
    interval excluding 0, largest |mean| / posterior SD), or saying that none does."""
    out = []
    if not len(differences):
        return out
    for g, rows in differences.groupby("group", sort=False):
        credible = rows[(rows["ci_low"] > 0) | (rows["ci_high"] < 0)]
        ref = rows["reference"].iloc[0]
        if not len(credible):
            out.append(f"{g} vs {ref}: no parameter differs credibly (every 95% interval includes 0)")
            continue
        ranked = credible.reindex(credible["z"].abs().sort_values(ascending=False).index)
        top = ranked.iloc[0]
        others = ", ".join(f"{r.parameter} (P(>0) = {r.p_above_zero:.3f})" for r in ranked.iloc[1:].itertuples())
        out.append(f"{g} vs {ref}: {top.parameter} differs most (x{top.ratio:.2f}, 95% interval of the log "
                   f"difference [{top.ci_low:+.2f}, {top.ci_high:+.2f}], P(>0) = {top.p_above_zero:.3f})"
                   + (f"; also credible: {others}" if others else ""))
    return out


def predictive_check(spec: FitSpec, data: FitData, draws: np.ndarray) -> pd.DataFrame:
    """Per group, session and measure: the data's mean count beside the posterior predictive.

    Each subject is simulated at `predictive_draws` of its posterior draws; replicate r of a group
    mean is the mean over its subjects of their r-th simulation. The band is the 5-95% range of
    the replicate means.
    """
    n, s, k = draws.shape
    reps = min(spec.predictive_draws, s)
    theta = draws[:, np.linspace(0, s - 1, reps).astype(int), :].reshape(n * reps, k)   # subject-major
    sims = Simulator(spec).simulate(theta, PREDICTIVE)
    counts = sims.counts.reshape(n, reps, *sims.counts.shape[1:])
    groups = np.array(data.groups, dtype=object)
    phases = spec.phases()
    rows = []
    for g in data.group_names:
        members = groups == g
        replicate_means = np.nanmean(counts[members], axis=0)          # (reps, sessions, measures)
        observed = data.counts[members].mean(axis=0)
        for d in range(len(phases)):
            for m, measure in enumerate(data.measures):
                r = replicate_means[:, d, m]
                rows.append({"group": g, "day": d, "phase": phases[d], "measure": measure,
                             "data_mean": float(observed[d, m]), "predictive_mean": float(np.mean(r)),
                             "predictive_q05": float(np.quantile(r, 0.05)),
                             "predictive_q95": float(np.quantile(r, 0.95)),
                             "failed_simulations": int(sims.failed.reshape(n, reps)[members].sum())})
    return pd.DataFrame(rows)


def fit(spec: FitSpec, data: FitData, out: Path, *, retrain: bool = False,
        progress: Callable[[str], None] | None = None) -> FitResult:
    """Fit every subject of `data` (training the estimator unless a matching one is saved in `out`)."""
    from rlcraving.fit import report

    say = progress or (lambda _message: None)
    if spec.reference_group is not None and spec.reference_group not in data.group_names:
        raise ValueError(f"reference_group={spec.reference_group!r} is not a group of the data; "
                         f"groups: {data.group_names}")
    out.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    estimator, trained = trained_estimator(spec, out / "estimator.pt", retrain=retrain, progress=say)
    trained_at = time.perf_counter()
    free = spec.free()
    x = summaries(data.counts)
    say(f"sampling {spec.posterior_samples} posterior draws for each of {len(x)} subjects ...")
    draws = estimator.sample(x, spec.posterior_samples, spec.seed)
    subjects = subject_summary(data, free, draws, estimator.outside(x))
    differences = group_differences(data, free, draws, spec.reference_group)
    sampled = time.perf_counter()
    say(f"simulating {spec.predictive_draws} posterior-predictive replicates of each subject ...")
    predictive = predictive_check(spec, data, draws)
    done = time.perf_counter()
    atomic_write(out / "posterior.parquet", lambda p: posterior_table(data, free, draws).to_parquet(p, index=False))
    for name, frame in (("subjects", subjects), ("group_differences", differences), ("predictive", predictive)):
        atomic_write(out / f"{name}.csv", lambda p, f=frame: f.to_csv(p, index=False))
    seconds = {"estimator": trained_at - start, "posterior": sampled - trained_at, "predictive": done - sampled,
               "total": done - start}
    result = FitResult(out, subjects, differences, predictive, name_mechanisms(differences), estimator, trained,
                       seconds)
    report.fit_figures(result, spec, data, draws)
    return result


# ---------------------------------------------------------------------------------------------
# Recovery and calibration
# ---------------------------------------------------------------------------------------------


def check(spec: FitSpec, estimator: Estimator) -> CheckResult:
    """Recovery and simulation-based calibration (Talts et al. 2018) on `check.subjects` new
    simulated subjects drawn from the prior (streams apart from the training simulations)."""
    start = time.perf_counter()
    free = spec.free()
    truth = draw_prior(free, spec.check.subjects, spec.seed, CHECK)
    sims = Simulator(spec).simulate(truth, CHECK)
    keep = ~sims.failed
    truth, x = truth[keep], summaries(sims.counts[keep])
    draws = estimator.sample(x, spec.check.posterior_samples, spec.seed + 1)
    return CheckResult(check_table(free, truth, draws), truth, draws, time.perf_counter() - start)


def check_table(free: list[FreeParameter], truth: np.ndarray, draws: np.ndarray) -> pd.DataFrame:
    """Per parameter: correlation of true and posterior-mean log-parameters, mean contraction, and
    the share of true values inside the central 50% and 90% posterior intervals."""
    rows = []
    for k, p in enumerate(free):
        t, d = truth[:, k], draws[:, :, k]
        estimate = d.mean(axis=1)
        r = float(np.corrcoef(t, estimate)[0, 1]) if t.std() > 0 and estimate.std() > 0 else math.nan
        row = {"parameter": p.name, "kind": p.kind, "subjects": len(t), "recovery_r": r,
               "contraction": float(1.0 - d.var(axis=1).mean() / p.sigma**2)}
        for level in COVERAGE_LEVELS:
            lo, hi = np.quantile(d, [(1 - level) / 2, (1 + level) / 2], axis=1)
            row[f"coverage_{round(100 * level)}"] = float(((t >= lo) & (t <= hi)).mean())
        row["identification"] = identification(r)
        rows.append(row)
    return pd.DataFrame(rows)


def identification(r: float) -> str:
    """What a recovery correlation says: identified, partly identified or not identified."""
    if not math.isfinite(r) or r < NOT_IDENTIFIED_R:
        return "not identified"
    return "identified" if r >= IDENTIFIED_R else "partly identified"


def sbc_ranks(truth: np.ndarray, draws: np.ndarray) -> np.ndarray:
    """Rank of each true value among its posterior draws, (subjects, parameters), 0..draws."""
    return (draws < truth[:, None, :]).sum(axis=1)


# ---------------------------------------------------------------------------------------------
# Entry point
# ---------------------------------------------------------------------------------------------


def main(spec_path: Path, data_path: Path | None = None, *, out: str | Path | None = None, check_fit: bool = False,
         retrain: bool = False, quiet: bool = False) -> Path:
    """`rlcraving fit SPEC [DATA] [--check]`: fit the data (if given) and/or check the estimator.
    Returns the report's path. Bad input raises a ValueError whose message names what is wrong."""
    from rlcraving.fit import report

    def say(message: str) -> None:
        if not quiet:
            print(message, flush=True)

    spec = load_fit_spec(spec_path)
    data = load_data(data_path, spec) if data_path is not None else None
    if data is None and not check_fit:
        raise ValueError("give a DATA file to fit, or --check to check the estimator (or both)")
    out, _ = output_folder(Path("results") / "fit" / spec.name if out is None else out, "--out")
    start = time.perf_counter()
    result = fit(spec, data, out, retrain=retrain, progress=say) if data is not None else None
    if result is not None:
        estimator = result.estimator
    else:
        estimator, _ = trained_estimator(spec, out / "estimator.pt", retrain=retrain, progress=say)
    checked = None
    if check_fit:
        say(f"checking recovery and calibration on {spec.check.subjects} simulated subjects ...")
        checked = check(spec, estimator)
        atomic_write(out / "check.csv", lambda p: checked.table.to_csv(p, index=False))
        report.check_figures(checked, spec, out)
    seconds = time.perf_counter() - start
    write_provenance(spec, out, data, seconds)
    path = report.write_report(spec, out, data, result, checked, estimator, seconds)
    for line in (result.named if result else []):
        say(line)
    if checked is not None:
        for row in checked.table.itertuples():
            say(f"{row.parameter:<24} recovery r = {row.recovery_r:.2f}, coverage 90% = {row.coverage_90:.2f}: "
                f"{row.identification}")
    say(f"{seconds:.0f} s; report: {path}")
    return path


def write_provenance(spec: FitSpec, out: Path, data: FitData | None, seconds: float) -> None:
    """Write the resolved spec (``spec.yaml``) and ``metadata.json`` (versions, revision, times)."""
    atomic_write(out / "spec.yaml", lambda p: p.write_text(yaml.safe_dump(spec.dump(), sort_keys=False)))
    meta = {"fit": spec.name, "data": data.source if data else None, "subjects": len(data.subjects) if data else 0,
            "packages": {**package_versions(), "sbi": _version("sbi")}, "git": git_revision(),
            "seconds": round(seconds, 1)}
    atomic_write(out / "metadata.json", lambda p: p.write_text(json.dumps(meta, indent=2, default=str) + "\n"))


def _version(name: str) -> str | None:
    from importlib import metadata

    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None
