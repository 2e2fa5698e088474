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


#: Phenomena whose size criterion the model does not meet (see docs/validation.md for the numbers):
#: under baclofen, FR1 intake at a high unit dose falls more than the papers report, and the
#: in-silico trial's benefit stays large in the severe-only subgroup where Kahn 2009 found none.
SIZE_NOT_MET = {"baclofen_progressive_ratio", "clinical_trial"}
FULL = validation.Config(n_subjects=100, seed=0, sb3=False)


@pytest.mark.slow
@pytest.mark.parametrize("key", [k for k in validation.PHENOMENA if k not in validation.SB3_PHENOMENA])
def test_every_phenomenon_at_report_size(key: str) -> None:
    finding = validation.PHENOMENA[key](FULL)
    assert finding.direction_agrees, finding.detail
    if key in SIZE_NOT_MET:
        assert finding.size_agrees is False, f"now meets its size criterion: update SIZE_NOT_MET ({finding.detail})"
    else:
        assert finding.size_agrees in (True, None), finding.detail


@pytest.mark.slow
def test_ppo_headline() -> None:
    finding = validation.PHENOMENA["headline_ppo"](FULL)
    assert finding.direction_agrees, finding.detail


@pytest.mark.slow
def test_a2c_with_library_defaults_shows_every_relapse_phenomenon() -> None:
    """The default_sb3 row's protocol for A2C alone (SB3 defaults, gym.make, 8 subjects)."""
    from rlcraving.validation.phenomena import default_sb3

    ok, detail, _ = default_sb3._checks("A2C", 0)
    assert all(ok.values()), detail


def test_every_unit_states_the_papers_size_and_its_criterion() -> None:
    for key, unit in validation.PHENOMENA.items():
        assert unit.paper_size and unit.criterion, key
        assert set(unit.calibrated_on) <= {f.name for f in dataclasses.fields(ModelParams)}, key


def test_calibrated_parameters_are_listed_with_their_rows() -> None:
    rows = {name: keys for name, _, keys in validation.calibration_rows()}
    assert rows["relief_weight"] == "escalation"
    assert "incubation" in rows["incubation_gain"]
