"""Simulated subjects for a fit: prior draws, batched cohorts, per-session counts, summaries.

Parameters live on the log scale, where each prior is Normal(log median, sigma). A simulated
subject's free parameters are exp(theta) (the agent's clipped to their allowed range, as the
model's own draws are); its other traits and parameters are drawn or median as the spec's
environment says. Simulations run as TD cohorts (`run_cohort`) of `batch_subjects` subjects.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from rlcraving.agents.cohort import run_cohort
from rlcraving.fit.spec import FitSpec, FreeParameter

#: Purposes of simulations, each with its own random streams.
TRAINING, CHECK, PREDICTIVE = 0, 1, 2
#: Source files whose edits change what the simulations mean (every module but these).
_NOT_MODEL = ("fit", "experiments", "app", "cli.py", "bench.py", "validat", "docs.py", "files.py", "__main__.py")


def model_digest() -> str:
    """Digest of the model's source code (every module of the package except the fit, studies,
    classroom app, command line, benchmarks, validation, docs and file helpers), so a trained
    estimator is not reused after the model changes."""
    root = Path(__file__).resolve().parents[1]
    digest = hashlib.sha256()
    for path in sorted(root.rglob("*.py")):
        rel = path.relative_to(root).as_posix()
        if not rel.startswith(_NOT_MODEL):
            digest.update(rel.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:16]


def cohort_seed(seed: int, purpose: int, batch: int) -> int:
    """The cohort seed of one batch of simulations (independent streams per purpose and batch)."""
    state = np.random.SeedSequence([seed, purpose, batch]).generate_state(1, np.uint64)[0]
    return int(state >> np.uint64(1))


def draw_prior(free: list[FreeParameter], n: int, seed: int, purpose: int) -> np.ndarray:
    """`n` draws of log-parameters from the prior, shape (n, parameters)."""
    rng = np.random.default_rng([seed, purpose, 7])
    mu = np.array([p.mu for p in free])
    sigma = np.array([p.sigma for p in free])
    return mu + sigma * rng.standard_normal((n, len(free)))


def natural(free: list[FreeParameter], theta: np.ndarray) -> np.ndarray:
    """Log-parameters as the model's values (the agent's clipped to their allowed range)."""
    values = np.exp(theta)
    for k, p in enumerate(free):
        values[:, k] = np.clip(values[:, k], p.lo, p.hi)
    return values


@dataclass
class Simulations:
    """Counts of simulated subjects (subjects, sessions, measures) and which simulations failed."""

    counts: np.ndarray
    failed: np.ndarray        # bool per subject: the simulation raised or gave non-finite counts
    errors: list[str]         # the error of each failed batch


class Simulator:
    """Simulates subjects with given free parameters through the spec's protocol."""

    def __init__(self, spec: FitSpec):
        self.spec = spec
        protocol = spec.protocol()
        self.calendar = protocol.calendar_entries()
        self.env_kwargs = protocol.env_kwargs()
        self.free = spec.free()
        self.measures = tuple(spec.measures)
        self.n_sessions = len(spec.phases())

    def simulate(self, theta: np.ndarray, purpose: int,
                 progress: Callable[[int], None] | None = None) -> Simulations:
        """Counts of one subject per row of log-parameters `theta`, in batches of `batch_subjects`."""
        n, size = len(theta), self.spec.batch_subjects
        counts = np.full((n, self.n_sessions, len(self.measures)), np.nan)
        errors = []
        values = natural(self.free, theta)
        for b, start in enumerate(range(0, n, size)):
            rows = slice(start, min(start + size, n))
            chosen = {p.name: values[rows, k] for k, p in enumerate(self.free)}
            try:
                result = run_cohort(rows.stop - rows.start, self.calendar, agent=self.spec.agent.name,
                                    agent_params=self.spec.agent.params, env_kwargs=self.env_kwargs,
                                    seed=cohort_seed(self.spec.seed, purpose, b), subject_values=chosen)
            except (ArithmeticError, ValueError) as err:
                errors.append(f"simulations {rows.start}..{rows.stop - 1}: {type(err).__name__}: {err}")
            else:
                counts[rows] = counts_of(result.table, self.measures, rows.stop - rows.start, self.n_sessions)
            if progress is not None:
                progress(rows.stop - rows.start)
        failed = ~np.isfinite(counts).all(axis=(1, 2))
        return Simulations(counts, failed, errors)


def counts_of(table: pd.DataFrame, measures: tuple[str, ...], n_subjects: int, n_sessions: int) -> np.ndarray:
    """A cohort's tidy table as counts (subjects, sessions, measures); NaN where no row."""
    rows = table[table["measure"].isin(measures)]
    counts = np.full((n_subjects, n_sessions, len(measures)), np.nan)
    index = {m: k for k, m in enumerate(measures)}
    counts[rows["subject"].to_numpy(), rows["day"].to_numpy(), rows["measure"].map(index).to_numpy()] = \
        rows["value"].to_numpy()
    return counts


def summaries(counts: np.ndarray) -> np.ndarray:
    """Summary statistics of subjects: log(1 + count) of every session and measure, (subjects, features)."""
    return np.log1p(counts).reshape(len(counts), -1)
