"""In-silico trials in the person's world: a short trial end to end, the designs' files, bad input.

The full trials at the papers' sizes are slow tests."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest

from rlcraving.pharmacology import Titration
from rlcraving.trials import TrialDesign, baclofen_reach, load_trial, run_trials

EXPERIMENTS = Path(__file__).resolve().parent.parent / "experiments"
SHORT = TrialDesign(name="short", n_randomised=24, history_weeks=2, baseline_weeks=1, treatment_weeks=2)


def test_a_short_trial_runs_end_to_end_and_the_same_seed_gives_the_same_trial() -> None:
    results = run_trials(SHORT, 2, seed=3)
    t = results.trials
    assert len(t) == 2 and np.all(t["n"] <= 24) and np.all(t["n"] >= 20)
    assert np.all((t["gee_p"].dropna() >= 0) & (t["gee_p"].dropna() <= 1))
    assert np.allclose(t["effect"], t["outcome_baclofen"] - t["outcome_placebo"])
    urines = results.urines
    assert set(urines["arm"]) == {"baclofen", "placebo"}
    assert urines.groupby("person")["visit"].count().eq(6).all()    # three urines a week
    assert 0.0 <= results.power() <= 1.0
    again = run_trials(SHORT, 2, seed=3).trials
    assert t.equals(again)
    people = results.people      # the mechanism per person over the treatment weeks
    on = people["arm"] == "baclofen"
    assert np.all(people.loc[~on, "dopamine_gain"] == 1.0) and np.all(people.loc[on, "dopamine_gain"] < 1.0)
    assert np.all(people["uses_per_week"] >= 0) and set(people["retained"]) <= {True, False}
    reach = baclofen_reach(people).dropna()     # dopamine and incentive share of a use's reward
    assert reach.size > 0 and np.all((reach > 0) & (reach < 1))


def test_a_severe_only_trial_randomises_only_people_positive_at_every_baseline_urine() -> None:
    severe = dataclasses.replace(SHORT, eligibility="severe", screen_factor=3,
                                 outcome="confirmed_abstinent_weeks")
    results = run_trials(severe, 1, seed=0)
    assert np.all(results.urines["baseline_positive"] == 1.0)


def test_the_interaction_with_heavier_use_is_not_reported_where_everyone_is_in_one_subgroup() -> None:
    from rlcraving.trials import _gee

    units = np.random.default_rng(0).random((12, 20)) < 0.3      # visits x people
    observed, arm = np.ones((12, 20), dtype=bool), np.arange(20) % 2
    split = _gee(units, observed, arm, np.arange(20) < 10)
    assert 0.0 < split["gee_interaction_p"] < 1.0
    alone = _gee(units, observed, arm, np.ones(20, dtype=bool))   # e.g. Kahn's severe users: all "heavier"
    assert np.isnan(alone["gee_interaction_p"]) and alone["gee_p"] == split["gee_p"]


def test_the_papers_designs_load_as_the_papers_ran_them() -> None:
    shoptaw = load_trial(EXPERIMENTS / "shoptaw_2003.yaml")
    assert (shoptaw.n_randomised, shoptaw.treatment_weeks, shoptaw.outcome) == (70, 16, "negative_urines")
    assert shoptaw.baclofen == Titration(target_mg_per_day=60.0)
    kahn = load_trial(EXPERIMENTS / "kahn_2009.yaml")
    assert (kahn.n_randomised, kahn.treatment_weeks, kahn.eligibility) == (160, 8, "severe")


@pytest.mark.parametrize(("text", "message"), [
    ("name: x\nn_randomised: 2\n", "n_randomised=2"),
    ("name: x\nsample: 70\n", "unknown key"),
    ("name: x\nbaclofen: {patch: {}}\n", "baclofen="),
    ("name: x\neligibility: mild\n", "eligibility='mild'"),
    ("name: x\nworld: {be_cutoff: 2}\n", "unknown world parameter"),
    ("- 1\n- 2\n", "mapping"),
])
def test_bad_trial_files_are_refused_naming_the_key(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises((ValueError, TypeError), match=message):
        load_trial(path)


@pytest.mark.slow
@pytest.mark.parametrize("name", ["shoptaw_2003", "kahn_2009"])
def test_the_full_trials_run_at_the_papers_sizes(name: str) -> None:
    design = load_trial(EXPERIMENTS / f"{name}.yaml")
    results = run_trials(design, 3, seed=0)
    # people drop out during the 2-week baseline, before randomisation (seed 0: 57-61 of 70, 133-142 of 160)
    assert np.all(results.trials["n"] >= 0.75 * design.n_randomised)
    assert np.all(results.trials["n"] <= design.n_randomised)
    if name == "shoptaw_2003":
        assert results.trials["gee_p"].notna().all()
    else:   # severe users sit at the floor of confirmed abstinence, where the GEE is rarely fitted
        # (docs/outpatient.md: no abstinent week in an arm, or a diverged fit, reported as missing)
        by_arm = results.people.groupby("arm")["outcome"].mean()
        # weeks of 8; docs/outpatient.md measures 0.007-0.017 per arm: a quarter of a week is well above that
        # and still a floor (one confirmed abstinent week for every four people)
        assert (by_arm < 0.25).all(), by_arm


def test_shoptaw_row_asks_for_the_papers_size_and_the_heavier_users_benefit() -> None:
    from rlcraving.validation.phenomena import shoptaw_2003 as row

    paper_like = {"all": (3.5, 2.0, 5.0), "heavy_minus_light": (2.0, 0.5, 3.5)}
    assert row.verdict(paper_like) == (True, True)
    # the model's measured mean before this criterion: +1.0 with a CI reaching below 0
    assert row.verdict({"all": (1.0, -0.5, 2.5), "heavy_minus_light": (-0.6, -2.0, 1.0)}) == (False, False)
    # a benefit of the paper's size without the heavier users' larger benefit is not the paper's finding
    assert row.verdict({"all": (3.7, 2.0, 5.4), "heavy_minus_light": (1.0, -0.5, 2.5)}) == (True, False)
    assert row.verdict({"all": (8.0, 6.0, 10.0), "heavy_minus_light": (2.0, 0.5, 3.5)})[1] is False


def test_kahn_row_refuses_a_null_at_a_floor() -> None:
    from rlcraving.validation.phenomena import kahn_2009 as row

    assert row.verdict({"all": (0.1, -0.3, 0.5)}, placebo_weeks=1.5) == (True, True)
    assert row.verdict({"all": (0.0076, -0.01, 0.02)}, placebo_weeks=0.007) == (True, False)   # the floor
    assert row.verdict({"all": (1.0, 0.4, 1.6)}, placebo_weeks=1.5) == (False, False)
