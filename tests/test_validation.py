"""The literature's phenomena on small cohorts (fast subset); the full set is `slow` and in the report.

Each test runs the same study as `rlcraving validate` (see docs/validation.md), on fewer subjects,
and asserts the verdict the report gives at full size.
"""

from __future__ import annotations

import pytest

from rlcraving import validate

SMALL = validate.Config(n_subjects=30, seed=1, sb3=False)
FAST = ("acquisition", "extinction", "reinstatement", "baclofen_relapse")


@pytest.mark.parametrize("key", FAST)
def test_phenomenon_agrees_with_the_paper_in_direction(key: str) -> None:
    finding = validate.PHENOMENA[key](SMALL)
    assert finding.direction_agrees, finding.detail
    assert finding.ci_low <= finding.value <= finding.ci_high


def test_report_is_written(tmp_path) -> None:
    findings = validate.run(SMALL, only=["acquisition"])
    path = validate.write_report(findings, tmp_path, "rlcraving validate --only acquisition")
    text = path.read_text()
    assert "| [Acquisition of FR1 self-administration](#acquisition) |" in text
    assert (tmp_path / "validation.csv").exists() and (tmp_path / "validation" / "acquisition.png").exists()


def test_unknown_phenomenon_is_named() -> None:
    with pytest.raises(ValueError, match="unknown phenomenon name"):
        validate.run(SMALL, only=["acquisitoin"])
