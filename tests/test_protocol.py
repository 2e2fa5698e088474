"""Session settings, phase presets and calendars."""

from __future__ import annotations

import dataclasses
import itertools

import pytest

from rlcraving.pharmacology import OralTID, Placebo
from rlcraving.protocol import (
    CONTEXTS,
    PHASES,
    PR_SERIES,
    SESSION_KEYS,
    Calendar,
    SessionSettings,
    as_calendar,
    default_calendar,
    session,
)

#: Richardson & Roberts (1996), as listed in the model's brief.
PUBLISHED_PR = (1, 2, 4, 6, 9, 12, 15, 20, 25, 32, 40, 50, 62, 77, 95, 118, 145, 178, 219, 268)


def test_progressive_ratio_series_is_richardson_and_roberts() -> None:
    assert PR_SERIES[: len(PUBLISHED_PR)] == PUBLISHED_PR
    assert all(b > a for a, b in itertools.pairwise(PR_SERIES))


@pytest.mark.parametrize("phase", sorted(PHASES))
def test_every_phase_preset_is_a_valid_session(phase: str) -> None:
    settings = session(phase)
    assert settings.phase == phase
    for key, value in PHASES[phase].items():
        assert getattr(settings, key) == value
    assert set(PHASES[phase]) <= set(SESSION_KEYS)


def test_phase_presets_follow_the_reinstatement_model() -> None:
    """Shaham et al. 2003: drug and cue during self-administration; neither in extinction; the
    cue alone, a prime or footshock in the tests; Ahmed & Koob's 6 h long access."""
    assert session("self_administration").drug_available and session("self_administration").contingent_cue
    extinction = session("extinction")
    assert not extinction.drug_available and not extinction.contingent_cue
    cue = session("cue_reinstatement")
    assert cue.contingent_cue and not cue.drug_available
    assert session("prime_reinstatement").prime_mg_per_kg > 0
    assert session("stress_reinstatement").footshock_mA > 0
    assert session("long_access").session_minutes == 6 * session("self_administration").session_minutes
    assert session("progressive_ratio").schedule == "PR"
    punished = session("punished_self_administration")
    assert punished.punishment_probability > 0 and punished.punishment_mA > 0
    assert session("choice").sucrose_available and session("choice").drug_available
    assert session("sucrose_self_administration").sucrose_available
    for phase in ("extinction", "cue_reinstatement", "prime_reinstatement", "stress_reinstatement"):
        assert not session(phase).drug_available


def test_overrides_beat_the_preset() -> None:
    settings = session("extinction", context="B", session_minutes=120.0)
    assert settings.context == "B" and settings.session_minutes == 120.0
    assert not settings.drug_available


def test_regimen_from_a_daily_dose() -> None:
    assert session().regimen is None
    assert session(baclofen_mg_per_day=60.0).regimen == OralTID(60.0)
    assert session(baclofen_mg_per_day=0.0).regimen == Placebo()
    regimen = OralTID(20.0, at_steady_state=False)
    assert session(baclofen=regimen).regimen is regimen


def test_default_calendar_is_ten_sa_ten_extinction_one_cue_test() -> None:
    calendar = default_calendar()
    assert calendar.phases() == ["self_administration"] * 10 + ["extinction"] * 10 + ["cue_reinstatement"]
    assert len(calendar) == 21 and calendar[0] == session("self_administration")


def test_calendar_expands_entries_in_order() -> None:
    calendar = Calendar([{"phase": "long_access", "days": 3, "context": "B"},
                         {"phase": "extinction", "days": 2, "context": "C"},
                         {"phase": "cue_reinstatement", "context": "B"}])
    assert calendar.phases() == ["long_access"] * 3 + ["extinction"] * 2 + ["cue_reinstatement"]
    assert [s.context for s in calendar.sessions] == ["B"] * 3 + ["C"] * 2 + ["B"]
    assert "long_access x3" in repr(calendar)


def test_abstinence_and_baclofen_on_an_entry_apply_to_its_first_session_only() -> None:
    calendar = Calendar([{"phase": "self_administration", "days": 2},
                         {"phase": "cue_reinstatement", "days": 3, "abstinence_days": 30.0,
                          "baclofen_mg_per_day": 60.0}])
    first, later = calendar[2], calendar[3:]
    assert first.abstinence_days == 30.0 and first.regimen == OralTID(60.0)
    for s in later:
        assert s.abstinence_days == SessionSettings().abstinence_days
        assert s.regimen is None  # keeps the regimen in force


def test_as_calendar_accepts_calendars_lists_and_none() -> None:
    calendar = default_calendar()
    assert as_calendar(calendar) is calendar
    assert as_calendar(None).phases() == calendar.phases()
    assert as_calendar([{"phase": "extinction"}]).phases() == ["extinction"]
    assert as_calendar(({"phase": "extinction", "days": 2},)).phases() == ["extinction"] * 2


def test_session_settings_are_frozen() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        session().context = "B"  # type: ignore[misc]


def test_contexts_are_three_chambers() -> None:
    assert CONTEXTS == ("A", "B", "C")
    assert {session(context=c).context for c in CONTEXTS} == set(CONTEXTS)
