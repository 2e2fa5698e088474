"""experiments/probe_choice.py: its unchanged variant is the individual_differences row's cohort, the
relief term it removes is one of the things that grow drug choice across choice sessions (docs/model.md
3.3), and its counterfactual organisms do what they say: doses acting in equal parts over the catheter's
steps, and pellets paying the relief term."""

from __future__ import annotations

import contextlib
import copy
import importlib.util
import math
from pathlib import Path
from types import SimpleNamespace

import numpy as np

from rlcraving import chamber, organism
from rlcraving.agents.cohort import run_cohort
from rlcraving.chamber import ACTIVE, SUCROSE
from rlcraving.core import OTHER, SubjectBatch, SubjectOptions
from rlcraving.params import ModelParams
from rlcraving.protocol import session
from rlcraving.random import subject_keys
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


def _batch(phase: str, params: ModelParams | None = None) -> SubjectBatch:
    batch = SubjectBatch(2, params=params, options=SubjectOptions(sucrose_lever=True))
    batch.new_subjects(np.arange(2), subject_keys(0, np.arange(2)))
    batch.start_sessions(np.arange(2), session(phase), first=True)
    return batch


def _arrivals(spread: bool) -> np.ndarray:
    """Cocaine arriving in the brain (mg/kg) at each of the 7 steps after subject 0's press at step 0."""
    probe = _probe()
    params = ModelParams(infusion_delay_s=probe.UPTAKE_PLATEAU_S)
    decay = math.exp(-params.dt_s * math.log(2.0) / (60.0 * params.cocaine_half_life_min))
    with probe.spread_infusions() if spread else contextlib.nullcontext():
        batch = _batch("self_administration", params)
        levels = [batch.cocaine[0]]
        for t in range(8):
            batch.step(np.array([ACTIVE if t == 0 else OTHER, OTHER]))
            levels.append(batch.cocaine[0])
        assert batch.summary["infusions"][0] == 1 and batch.cocaine[1] == 0.0
    return np.array([levels[k + 1] - decay * levels[k] for k in range(1, 8)])


def test_spread_infusions_act_in_equal_parts_over_the_catheter_steps() -> None:
    kept = chamber.Chamber._into_catheter
    dose = session("self_administration").unit_dose_mg_per_kg
    steps = int(round(_probe().UPTAKE_PLATEAU_S / ModelParams().dt_s))
    whole, spread = _arrivals(False), _arrivals(True)
    np.testing.assert_allclose(whole[:steps], [0.0] * (steps - 1) + [dose], atol=1e-12)
    np.testing.assert_allclose(spread[:steps], [dose / steps] * steps, atol=1e-12)
    np.testing.assert_allclose(spread[steps:], 0.0, atol=1e-12)
    assert chamber.Chamber._into_catheter is kept   # the chamber is itself again outside


def test_sweet_relief_pays_the_relief_term_on_pellet_steps_only() -> None:
    probe = _probe()
    batch = _batch("sucrose_self_administration")
    batch.allostasis[:] = 0.4
    relieved = copy.deepcopy(batch)
    probe._sweet_relief(SimpleNamespace(protocol=SimpleNamespace(batch=relieved)))
    actions = np.array([SUCROSE, OTHER])
    _, plain, _, _ = batch.step(actions.copy())
    _, paid, _, _ = relieved.step(actions.copy())
    assert relieved.summary["pellets"].tolist() == [1, 0] and relieved.dysphoria[0] > 0.3
    rho = relieved._coefficients[organism._RELIEF_WEIGHT]
    np.testing.assert_allclose(paid - plain, [rho * relieved.dysphoria[0] * probe.DRUG_FREE_RISE, 0.0])
