"""The literature's phenomena on small cohorts (fast subset); the full set is `slow` and in the report.

Each test runs the same study as `rlcraving validate` (see docs/validation.md), on fewer subjects,
and asserts the verdict the report gives at full size.
"""

from __future__ import annotations

import dataclasses

import pytest

from rlcraving import validation
from rlcraving.params import ModelParams

SMALL = validation.Config(n_subjects=30, seed=1, sb3=False)
FAST = ("acquisition", "extinction", "reinstatement")


@pytest.mark.parametrize("key", FAST)
def test_phenomenon_agrees_with_the_paper_in_direction(key: str) -> None:
    finding = validation.PHENOMENA[key](SMALL)
    assert finding.direction_agrees, finding.detail
    assert finding.ci_low <= finding.value <= finding.ci_high


def test_baclofen_lowers_cue_induced_reinstatement() -> None:
    """The cue half of the baclofen_relapse row (its measure); its drug-primed half, a small effect
    since intake is regulated at the satiety level, needs more than this fast cohort to resolve."""
    finding = validation.PHENOMENA["baclofen_relapse"](SMALL)
    assert finding.ci_high < 0, finding.detail


def test_report_is_written(tmp_path) -> None:
    findings = validation.run(SMALL, only=["acquisition"])
    path = validation.write_report(findings, tmp_path, "rlcraving validate --only acquisition")
    text = path.read_text()
    assert "| [Acquisition of FR1 self-administration](#acquisition) |" in text
    assert (tmp_path / "validation.csv").exists() and (tmp_path / "validation" / "acquisition.png").exists()


def test_unknown_phenomenon_is_named() -> None:
    with pytest.raises(ValueError, match="unknown phenomenon name"):
        validation.run(SMALL, only=["acquisitoin"])


#: Phenomena whose size criterion the model does not meet in the report (docs/validation.md has the
#: numbers): dose regulation's slope is met (-0.86) but its loading burst is not (1.97x the rest of the
#: session's rate against 2), the punishment-resistant share is met (21%) but, in the discrete-trials
#: choice, 41.5% prefer cocaine to sucrose (Cantin 2010: a minority under 15%; docs/model.md 3.3), and
#: Kahn 2009's null is met in direction but its placebo
#: arm sits on the floor of the outcome (docs/outpatient.md).
SIZE_NOT_MET = {"dose_regulation", "individual_differences", "kahn_2009"}
#: ... and whose direction it does not meet: Shoptaw 2003's benefit is not reproduced (the model's
#: benefit falls with baseline use, where the paper's was strongest in heavier users).
#: (sedation_pattern's inactive presses no longer rise under baclofen since the levers' values share
#: the state's, docs/agents.md.)
DIRECTION_NOT_MET = {"shoptaw_2003"}
#: The report's own size and seed, so these tests hold its verdicts bit for bit.
FULL = validation.Config(n_subjects=200, seed=0, sb3=False)


@pytest.mark.slow
@pytest.mark.parametrize("key", [k for k in validation.PHENOMENA if k not in validation.SB3_PHENOMENA])
def test_every_phenomenon_at_report_size(key: str) -> None:
    finding = validation.PHENOMENA[key](FULL)
    if key in DIRECTION_NOT_MET:
        assert not finding.direction_agrees, f"now agrees in direction: update DIRECTION_NOT_MET ({finding.detail})"
        return
    assert finding.direction_agrees, finding.detail
    if key in SIZE_NOT_MET:
        assert finding.size_agrees is False, f"now meets its size criterion: update SIZE_NOT_MET ({finding.detail})"
    else:
        assert finding.size_agrees in (True, None), finding.detail


@pytest.mark.slow
def test_ppo_headline() -> None:
    finding = validation.PHENOMENA["headline_ppo"](FULL)
    assert finding.direction_agrees, finding.detail


#: The default_sb3 row's checks each algorithm fails with SB3's defaults, trained to criterion (docs/sb3.md
#: has the numbers and why): DQN never meets the acquisition criterion (60 sessions) and does not extinguish
#: (at its exploration floor of 0.05 an ideal agent presses 1.47x active / inactive in FR1 and, in extinction,
#: 68% of its FR1 pressing: `criterion.epsilon_greedy_ceiling`, `epsilon_greedy_extinction_floor`); PPO meets
#: it after 37 sessions and then shows every phenomenon, as A2C (10 sessions), on one machine; on an AMD EPYC
#: (torch's AVX512 kernels) the same seed drifts late in training and PPO's stress test gives 10 presses
#: against 8.4 in extinction (1.19x, the criterion 1.5x). Whether default PPO's stress reinstatement clears
#: the criterion thus turns on rounding, so the test allows that one failure for PPO (docs/sb3.md).
DEFAULT_SB3_FAILS = {"A2C": set(), "DQN": {"acquisition", "extinction"}, "PPO": set()}
#: Checks that may fail on some machines and not on others, per algorithm.
DEFAULT_SB3_MACHINE_DEPENDENT = {"PPO": {"stress"}}


@pytest.mark.slow
def test_default_sb3_row_holds_its_verdicts() -> None:
    """The default_sb3 row's protocol (SB3 defaults, gym.make, 8 subjects, seed 0), each algorithm's failed
    checks as measured; A2C shows every phenomenon."""
    from rlcraving.validation.phenomena import default_sb3

    for algo in default_sb3.ALGOS:
        ok, detail, _ = default_sb3._checks(algo, 0)
        fails = {k for k, v in ok.items() if not v} - DEFAULT_SB3_MACHINE_DEPENDENT.get(algo, set())
        assert fails == DEFAULT_SB3_FAILS[algo], detail


def test_every_unit_states_the_papers_size_and_its_criterion() -> None:
    for key, unit in validation.PHENOMENA.items():
        assert unit.paper_size and unit.criterion, key
        assert set(unit.calibrated_on) <= {f.name for f in dataclasses.fields(ModelParams)}, key


def test_calibrated_parameters_are_listed_with_their_rows() -> None:
    rows = {name: keys for name, _, keys in validation.calibration_rows()}
    assert rows["relief_weight"] == "escalation"
    assert "incubation" in rows["incubation_gain"]


def test_incubation_tests_grimms_day() -> None:
    """Grimm et al. 2001's test day: extinction sessions back to back after the abstinence, then the cue test."""
    from rlcraving.validation.phenomena import incubation

    day = incubation.test_day(60)
    assert [e["phase"] for e in day] == ["extinction"] * incubation.TEST_DAY_EXTINCTION_SESSIONS + ["cue_reinstatement"]
    assert day[0]["abstinence_days"] == 60 and all(e["abstinence_days"] == 0 for e in day[1:])


def test_choice_follows_training_on_both_rewards() -> None:
    from rlcraving.validation.phenomena import individual_differences as unit

    phases = [e["phase"] for e in unit.choice_calendar()]
    assert phases.count("self_administration") == phases.count("sucrose_self_administration") == unit.TRAINING_PAIRS
    assert phases[-1] == "discrete_choice" and phases.index("discrete_choice") == 2 * unit.TRAINING_PAIRS
    assert unit.choice_calendar()[-1]["days"] == unit.CHOICE_SESSIONS >= unit.PREFERENCE_SESSIONS


def test_the_papers_own_model_meets_the_dose_regulation_criterion() -> None:
    """Tsibulsky & Norman 1999's equations alone (loading to S, then an infusion each time the level
    decays to S) give the counts written beside MIN_LOADING_RATIO, a loading ratio at or above it, and
    a slope inside SLOPE_RANGE: the criterion asks no more than the paper's model does."""
    import numpy as np

    from rlcraving.validation.phenomena import dose_regulation as dr

    times = [dr.paper_infusion_times(d) for d in dr.UNIT_DOSES_MG_PER_KG]
    assert [t.size for t in times] == [44, 24, 17, 10]
    assert [int((t < dr.LOADING_MINUTES).sum()) for t in times] == [13, 7, 5, 3]
    for gap in (0.0, 20.0 / 60.0):
        assert dr.MIN_LOADING_RATIO <= dr.paper_loading_ratio(loading_gap_min=gap) < dr.MIN_LOADING_RATIO + 0.15
    doses = np.array(dr.UNIT_DOSES_MG_PER_KG)
    slope = np.polyfit(np.log(doses), np.log([t.size for t in times]), 1)[0]
    assert dr.SLOPE_RANGE[0] <= slope <= dr.SLOPE_RANGE[1]
