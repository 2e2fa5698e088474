"""experiments/probe_choice.py: its unchanged variant is the individual_differences row's cohort, and the
relief term it removes is one of the things that grow drug choice across choice sessions (docs/model.md 3.3)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np

from rlcraving.agents.cohort import run_cohort
from rlcraving.validation.phenomena.individual_differences import CHOICE_SESSIONS, choice_calendar

PROBE = Path(__file__).resolve().parent.parent / "experiments" / "probe_choice.py"
N = 40


def _probe():
    spec = importlib.util.spec_from_file_location("probe_choice", PROBE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_unchanged_variant_is_the_rows_cohort_and_relief_grows_drug_choice() -> None:
    probe = _probe()
    subjects = probe.trained("q_learning", N)
    drug, sucrose = probe.in_choice(subjects, probe.IN_CHOICE["as is"])
    table = run_cohort(N, choice_calendar(), seed=probe.SEED, env_kwargs=probe.ENV).table
    for k, day in enumerate(range(probe.TRAINING_SESSIONS, probe.TRAINING_SESSIONS + CHOICE_SESSIONS)):
        rows = table[(table.day == day) & (table.measure == "drug_choices")].sort_values("subject")
        np.testing.assert_array_equal(drug[k], rows.value.to_numpy())
    assert (drug + sucrose).sum() > 0.9 * N * CHOICE_SESSIONS * 12   # the choice trials are answered
    no_relief, _ = probe.in_choice(subjects, probe.IN_CHOICE["no relief in choice"])
    late = slice(CHOICE_SESSIONS - 5, CHOICE_SESSIONS)
    assert no_relief[late].sum() < 0.8 * drug[late].sum()   # relief adds drug choices in the last sessions
