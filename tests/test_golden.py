"""Regression: a seeded cohort through every kind of session gives the numbers it gave before.

The reference table `data/golden_cohort.csv` was written by this file's `golden_table` (run
`python tests/test_golden.py` to rewrite it, only for a change meant to alter the model's
numbers). Values are written with 17 significant digits, so equality is bit for bit.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pandas as pd

from rlcraving.agents.cohort import run_cohort
from rlcraving.core import SubjectBatch, SubjectOptions
from rlcraving.pharmacology import Titration
from rlcraving.protocol import session
from rlcraving.random import subject_keys

GOLDEN = Path(__file__).parent / "data" / "golden_cohort.csv"
#: SHA-256 of `golden_table(compulsion_zone=False)` written as GOLDEN is: the table from before the
#: compulsion zone (docs/model.md 3.3) was added, so switching it off gives the former numbers bit for bit.
GOLDEN_WITHOUT_COMPULSION = GOLDEN.parent / "golden_cohort_without_compulsion.sha256"

#: Every phase, short sessions, with titrated baclofen, the sucrose lever and individual differences.
CALENDAR = [
    {"phase": "self_administration", "days": 2, "session_minutes": 20.0},
    {"phase": "long_access", "days": 1, "session_minutes": 30.0},
    {"phase": "punished_self_administration", "days": 1, "session_minutes": 20.0},
    {"phase": "choice", "days": 1, "session_minutes": 20.0},
    {"phase": "progressive_ratio", "days": 1, "session_minutes": 20.0},
    {"phase": "extinction", "days": 1, "session_minutes": 20.0, "context": "B"},
    {"phase": "cue_reinstatement", "days": 1, "session_minutes": 20.0, "abstinence_days": 3},
    {"phase": "prime_reinstatement", "days": 1, "session_minutes": 20.0},
    {"phase": "stress_reinstatement", "days": 1, "session_minutes": 20.0},
    {"phase": "sucrose_self_administration", "days": 1, "session_minutes": 20.0},
    {"phase": "discrete_choice", "days": 1, "session_minutes": 60.0},
]


def golden_table(compulsion_zone: bool = True) -> pd.DataFrame:
    """Session summaries of 12 seeded Q-learning subjects through `CALENDAR`."""
    env_kwargs = {"baclofen": Titration(target_mg_per_day=60.0), "sucrose_lever": True,
                  "individual_differences": True, "compulsion_zone": compulsion_zone}
    result = run_cohort(12, CALENDAR, agent="q_learning", env_kwargs=env_kwargs, seed=3)
    return result.table


def trajectory_digest() -> str:
    """SHA-256 of every observation, reward and level of a batch driven by seeded random presses."""
    batch = SubjectBatch(6, options=SubjectOptions(sucrose_lever=True, individual_differences=True))
    everyone = np.arange(6)
    batch.new_subjects(everyone, subject_keys(11, everyone))
    digest = hashlib.sha256()
    rng = np.random.default_rng(5)
    for k, phase in enumerate(("self_administration", "punished_self_administration", "choice",
                               "prime_reinstatement", "stress_reinstatement")):
        batch.start_sessions(everyone, session(phase, session_minutes=10.0, baclofen_mg_per_day=30.0), first=k == 0)
        for _ in range(int(batch.n_steps.max())):
            obs, reward, terminated, truncated = batch.step(rng.integers(0, 4, size=6))
            for array in (obs, reward, terminated, truncated, batch._levels, batch.baclofen_mg_per_l):
                digest.update(np.ascontiguousarray(array).tobytes())
        batch.end_sessions(everyone)
    return digest.hexdigest()


def test_seeded_cohort_table_is_unchanged() -> None:
    reference = pd.read_csv(GOLDEN, keep_default_na=False)
    table = golden_table()
    assert list(table.columns) == list(reference.columns)
    for column in ("subject", "day", "phase", "measure", "condition"):
        assert table[column].astype(str).tolist() == reference[column].astype(str).tolist(), column
    assert np.array_equal(table["value"].to_numpy(float), reference["value"].to_numpy(float))


def _csv_digest(table: pd.DataFrame) -> str:
    return hashlib.sha256(table.to_csv(index=False, float_format="%.17g").encode()).hexdigest()


def test_without_the_compulsion_zone_the_cohort_is_as_before() -> None:
    assert _csv_digest(golden_table(compulsion_zone=False)) == GOLDEN_WITHOUT_COMPULSION.read_text().strip()


def test_seeded_trajectory_is_unchanged() -> None:
    reference = (GOLDEN.parent / "golden_trajectory.sha256").read_text().strip()
    assert trajectory_digest() == reference


if __name__ == "__main__":
    golden_table().to_csv(GOLDEN, index=False, float_format="%.17g")
    GOLDEN_WITHOUT_COMPULSION.write_text(_csv_digest(golden_table(compulsion_zone=False)) + "\n")
    (GOLDEN.parent / "golden_trajectory.sha256").write_text(trajectory_digest() + "\n")
