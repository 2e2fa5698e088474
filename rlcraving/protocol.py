"""Sessions and calendars: what happens in the chamber on each day of a protocol.

A session is described by orthogonal settings (`SessionSettings`). A *phase* is a named
preset of those settings (Shaham et al. 2003's reinstatement model and its relatives); any
setting given beside a phase overrides the preset. A `Calendar` is the ordered list of
sessions a subject lives through, with the abstinence gap (days) before each.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from rlcraving.checks import check_bool, check_choice, check_keys, check_number
from rlcraving.pharmacology import MAX_MG_PER_DAY, REGIMEN_TYPES, OralTID, Placebo, Regimen

CONTEXTS = ("A", "B", "C")
#: FR n, the Richardson-Roberts progressive ratio, or discrete trials (DT: Lenoir, Serre, Cantin & Ahmed
#: 2007's discrete-trials choice between the drug and sucrose levers, used by Cantin et al. 2010).
SCHEDULES = ("FR", "PR", "DT")

#: Richardson & Roberts (1996) progressive-ratio series: round(5 e^(0.2 j) - 5), from j = 1.
PR_SERIES = tuple(round(5 * 2.718281828459045 ** (0.2 * j) - 5) for j in range(1, 61))


@dataclass(frozen=True)
class SessionSettings:
    """One session's settings. Units are in the names; see `docs/model.md`."""

    phase: str = "self_administration"
    schedule: str = "FR"
    ratio: int = 1
    drug_available: bool = True
    contingent_cue: bool = True
    context: str = "A"
    unit_dose_mg_per_kg: float = 0.75
    prime_mg_per_kg: float = 0.0
    priming_infusions: int = 0   # experimenter-given i.v. unit doses at the start, not the subject's
    footshock_mA: float = 0.0
    punishment_probability: float = 0.0
    punishment_mA: float = 0.0
    sucrose_available: bool = False
    session_minutes: float = 60.0
    trial_interval_min: float = 10.0
    trial_limit_min: float = 5.0
    sampling_trials: int = 4
    abstinence_days: float = 1.0
    baclofen_mg_per_day: float | None = None
    baclofen: Regimen | None = None

    def __post_init__(self) -> None:
        check_choice("phase", self.phase, PHASES)
        check_choice("schedule", self.schedule, SCHEDULES)
        check_number("ratio", self.ratio, lo=1, hi=10_000, integer=True)
        check_bool("drug_available", self.drug_available)
        check_bool("contingent_cue", self.contingent_cue)
        check_choice("context", self.context, CONTEXTS)
        check_number("unit_dose_mg_per_kg", self.unit_dose_mg_per_kg, lo=0.0, hi=10.0)
        check_number("prime_mg_per_kg", self.prime_mg_per_kg, lo=0.0, hi=40.0)
        check_number("priming_infusions", self.priming_infusions, lo=0, hi=20, integer=True)
        check_number("footshock_mA", self.footshock_mA, lo=0.0, hi=3.0)
        check_number("punishment_probability", self.punishment_probability, lo=0.0, hi=1.0)
        check_number("punishment_mA", self.punishment_mA, lo=0.0, hi=3.0)
        check_bool("sucrose_available", self.sucrose_available)
        check_number("session_minutes", self.session_minutes, lo=1.0, hi=24 * 60.0)
        check_number("trial_interval_min", self.trial_interval_min, lo=0.1, hi=24 * 60.0)
        check_number("trial_limit_min", self.trial_limit_min, lo=0.1, hi=24 * 60.0)
        check_number("sampling_trials", self.sampling_trials, lo=0, hi=10_000, integer=True)
        if self.schedule == "DT":
            self._check_discrete_trials()
        check_number("abstinence_days", self.abstinence_days, lo=0.0, hi=3650.0)
        if self.baclofen_mg_per_day is not None:
            check_number("baclofen_mg_per_day", self.baclofen_mg_per_day, lo=0.0, hi=MAX_MG_PER_DAY)
        if self.baclofen is not None and not isinstance(self.baclofen, REGIMEN_TYPES):
            raise TypeError(f"baclofen={self.baclofen!r} must be one of "
                            f"{[t.__name__ for t in REGIMEN_TYPES]} or None")
        if self.baclofen is not None and self.baclofen_mg_per_day is not None:
            raise ValueError(f"baclofen={self.baclofen!r} and baclofen_mg_per_day={self.baclofen_mg_per_day!r} "
                             "were both given; give a regimen or a daily dose, not both")

    def _check_discrete_trials(self) -> None:
        """A discrete-trials session offers the drug and the sucrose lever, one press per trial."""
        if not self.sucrose_available:
            raise ValueError("schedule='DT' is a choice between the drug and the sucrose lever; "
                             "give sucrose_available=True")
        if self.ratio != 1:
            raise ValueError(f"schedule='DT' takes one press per trial; ratio={self.ratio!r} must be 1")
        if self.trial_limit_min > self.trial_interval_min:
            raise ValueError(f"trial_limit_min={self.trial_limit_min!r} is longer than trial_interval_min="
                             f"{self.trial_interval_min!r}; a trial must end before the next one starts")

    @property
    def trials(self) -> int:
        """Trials that start in a discrete-trials session (one every `trial_interval_min` from its start; the
        last may be cut short by the session's end); 0 otherwise."""
        if self.schedule != "DT":
            return 0
        return math.ceil(self.session_minutes / self.trial_interval_min - 1e-9)

    @property
    def regimen(self) -> Regimen | None:
        """The baclofen regimen this session starts (None: keep the current one)."""
        if self.baclofen is not None:
            return self.baclofen
        if self.baclofen_mg_per_day is None:
            return None
        return OralTID(self.baclofen_mg_per_day) if self.baclofen_mg_per_day > 0 else Placebo()


_SA = dict(schedule="FR", ratio=1, drug_available=True, contingent_cue=True)
_NO_DRUG = dict(schedule="FR", ratio=1, drug_available=False, contingent_cue=False)

#: Phase presets (Shaham et al. 2003; Ahmed & Koob 1998; Richardson & Roberts 1996;
#: Deroche-Gamonet et al. 2004; Lenoir et al. 2007; Cantin et al. 2010). `choice` is free-operant
#: concurrent access to both levers; `discrete_choice` is the discrete-trials choice procedure of
#: Lenoir et al. 2007 (Methods, "Discrete-trials choice procedure") used by Cantin et al. 2010: 16
#: trials 10 min apart, the first 4 sampling trials (one lever each, drug first), then 12 choice trials.
PHASES: dict[str, dict[str, Any]] = {
    "self_administration": dict(_SA, session_minutes=60.0),
    "long_access": dict(_SA, session_minutes=360.0),
    "extinction": dict(_NO_DRUG, session_minutes=60.0),
    "cue_reinstatement": dict(_NO_DRUG, contingent_cue=True, session_minutes=60.0),
    "prime_reinstatement": dict(_NO_DRUG, prime_mg_per_kg=10.0, session_minutes=60.0),
    "stress_reinstatement": dict(_NO_DRUG, footshock_mA=0.5, session_minutes=60.0),
    "progressive_ratio": dict(_SA, schedule="PR", session_minutes=360.0),
    "punished_self_administration": dict(_SA, punishment_probability=0.5, punishment_mA=0.3,
                                         session_minutes=60.0),
    "choice": dict(_SA, sucrose_available=True, session_minutes=60.0),
    "discrete_choice": dict(_SA, schedule="DT", sucrose_available=True, session_minutes=160.0,
                            trial_interval_min=10.0, trial_limit_min=5.0, sampling_trials=4),
    "sucrose_self_administration": dict(_NO_DRUG, sucrose_available=True, session_minutes=60.0),
}

#: Keys `reset(options=...)` and calendar entries accept.
SESSION_KEYS = tuple(f.name for f in dataclasses.fields(SessionSettings))


def session(phase: str = "self_administration", **overrides: Any) -> SessionSettings:
    """Settings of `phase`, with any setting overridden by keyword."""
    check_choice("phase", phase, PHASES)
    check_keys("session options", overrides, [k for k in SESSION_KEYS if k != "phase"])
    return SessionSettings(phase=phase, **{**PHASES[phase], **overrides})


@dataclass(frozen=True)
class CalendarEntry:
    """`days` consecutive sessions of one phase, with overrides."""

    phase: str
    days: int = 1
    overrides: Mapping[str, Any] = dataclasses.field(default_factory=dict)

    def __post_init__(self) -> None:
        check_number(f"calendar[{self.phase}].days", self.days, lo=1, hi=10_000, integer=True)
        session(self.phase, **self.overrides)  # validates


class Calendar:
    """The ordered sessions of a protocol.

    Built from entries such as ``{"phase": "extinction", "days": 10, "context": "B"}``;
    every key but ``phase`` and ``days`` is a session setting. ``abstinence_days`` on an entry
    applies to its first session only; later sessions of the entry follow on consecutive days.
    """

    def __init__(self, entries: Iterable[CalendarEntry | Mapping[str, Any]]):
        self.entries: tuple[CalendarEntry, ...] = tuple(_entry(e) for e in entries)
        if not self.entries:
            raise ValueError("calendar=[] is empty; give at least one entry")
        sessions: list[SessionSettings] = []
        for entry in self.entries:
            for day in range(entry.days):
                overrides = dict(entry.overrides)
                if day > 0:
                    overrides.pop("abstinence_days", None)
                    overrides.pop("baclofen", None)
                    overrides.pop("baclofen_mg_per_day", None)
                sessions.append(session(entry.phase, **overrides))
        self.sessions: tuple[SessionSettings, ...] = tuple(sessions)

    def __len__(self) -> int:
        return len(self.sessions)

    def __getitem__(self, index: int) -> SessionSettings:
        return self.sessions[index]

    def phases(self) -> list[str]:
        """Phase name of each session."""
        return [s.phase for s in self.sessions]

    def __repr__(self) -> str:
        return "Calendar([" + ", ".join(f"{e.phase} x{e.days}" for e in self.entries) + "])"


def _entry(e: CalendarEntry | Mapping[str, Any]) -> CalendarEntry:
    if isinstance(e, CalendarEntry):
        return e
    check_keys("calendar entry", e, ("phase", "days", *SESSION_KEYS))
    if "phase" not in e:
        raise ValueError(f"calendar entry {dict(e)!r} has no 'phase'; choose one of {list(PHASES)}")
    rest = {k: v for k, v in e.items() if k not in ("phase", "days")}
    return CalendarEntry(e["phase"], e.get("days", 1), rest)


def default_calendar() -> Calendar:
    """Shaham et al. 2003's reinstatement model: 10 days of FR1 self-administration,
    10 days of extinction, then a cue-induced reinstatement test the next day."""
    return Calendar([
        {"phase": "self_administration", "days": 10},
        {"phase": "extinction", "days": 10},
        {"phase": "cue_reinstatement", "days": 1},
    ])


def as_calendar(value: Calendar | Sequence[Mapping[str, Any]] | None) -> Calendar:
    """A `Calendar` from a calendar, a list of entries, or None (the default)."""
    if value is None:
        return default_calendar()
    if isinstance(value, Calendar):
        return value
    if isinstance(value, (list, tuple)):
        return Calendar(value)
    raise TypeError(f"calendar={value!r} must be a Calendar, a list of entries or None")
