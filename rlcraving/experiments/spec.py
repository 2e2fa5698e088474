"""Study specs as typed, validated objects (pydantic v2).

A spec is one study: environment settings, agents, the protocol calendar, a baclofen regimen
and the sessions it applies to, a grid of values to sweep (dotted keys into the spec), the
number of subjects and seeds, and the outcomes to analyse. Unknown keys are errors that list
the allowed keys. Reading files and reporting errors by YAML line is `loader`'s job.

Calendar entries and baclofen regimens are generated from `SessionSettings` and the regimen
dataclasses, and checked by them, so a spec accepts exactly what the model accepts.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re
import typing
from collections.abc import Mapping
from typing import Annotated, Any, Literal, Union

import yaml
from pydantic import BaseModel, ConfigDict, Field, create_model, field_validator, model_validator
from pydantic_core import PydanticCustomError

from rlcraving.checks import check_number
from rlcraving.core import SUMMARY_FIELDS
from rlcraving.params import ModelParams
from rlcraving.pharmacology import REGIMEN_TYPES, Placebo, Regimen
from rlcraving.protocol import PHASES, SessionSettings, session


def _measures() -> tuple[str, ...]:
    try:
        from rlcraving.agents import cohort
    except ImportError:  # the agents are optional for loading specs
        return (*SUMMARY_FIELDS, "first_hour_infusions")
    return tuple(cohort.MEASURES)


#: Per-session measures a cohort run reports (column `measure` of the tidy table).
MEASURES = _measures()
#: Columns of the tidy table that a grid axis may not be named after.
RESERVED_COLUMNS = ("subject", "condition", "day", "phase", "measure", "value", "seed", "point", "entry")
_NAME = r"^[A-Za-z_][A-Za-z0-9_-]*$"
MAX_GRID_POINTS = 10_000


class _Strict(BaseModel):
    """Base of every spec object: unknown keys are errors that list the allowed keys."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    @model_validator(mode="before")
    @classmethod
    def _known_keys(cls, data: Any) -> Any:
        if isinstance(data, Mapping):
            unknown = sorted(str(k) for k in data if k not in cls.model_fields)
            if unknown:
                raise PydanticCustomError("unknown_key", "unknown key(s) {unknown}; allowed keys: {allowed}",
                                          {"unknown": unknown, "allowed": sorted(cls.model_fields)})
        return data


# ---------------------------------------------------------------------------------------------
# Baclofen regimens: one spec model per regimen dataclass, discriminated by `type`
# ---------------------------------------------------------------------------------------------

_REGIMEN_CLASSES: dict[str, type] = {cls.__name__: cls for cls in REGIMEN_TYPES}


class _RegimenBase(_Strict):
    type: str

    def build(self) -> Regimen:
        """The regimen object the model uses."""
        kwargs = {k: v for k, v in self.__dict__.items() if k != "type"}
        return _REGIMEN_CLASSES[self.type](**kwargs)

    @model_validator(mode="after")
    def _check(self) -> _RegimenBase:
        try:
            self.build()
        except (TypeError, ValueError) as err:
            raise ValueError(str(err)) from None
        return self


def _regimen_model(cls: type) -> type[_RegimenBase]:
    hints = typing.get_type_hints(cls)
    fields: dict[str, Any] = {"type": (Literal[cls.__name__], ...)}
    for f in dataclasses.fields(cls):
        if f.name == "route":  # fixed by the regimen type
            continue
        default = ... if f.default is dataclasses.MISSING else f.default
        fields[f.name] = (hints[f.name], default)
    return create_model(f"{cls.__name__}Spec", __base__=_RegimenBase, __doc__=cls.__doc__, **fields)


REGIMEN_SPECS: dict[str, type[_RegimenBase]] = {name: _regimen_model(cls) for name, cls in _REGIMEN_CLASSES.items()}
RegimenSpec = Annotated[Union[tuple(REGIMEN_SPECS.values())], Field(discriminator="type")]  # noqa: UP007


# ---------------------------------------------------------------------------------------------
# Calendar entries: phase, days, label and any session setting
# ---------------------------------------------------------------------------------------------


class _EntryBase(_Strict):
    label: str | None = None
    phase: str
    days: int = 1

    def overrides(self) -> dict[str, Any]:
        """Session settings given beside the phase (regimens built), as `Calendar` takes them."""
        out = {}
        for key, value in self.__dict__.items():
            if key in ("label", "phase", "days") or value is None:
                continue
            out[key] = value.build() if isinstance(value, _RegimenBase) else value
        return out

    @property
    def name(self) -> str:
        """The label, or the phase when there is none."""
        return self.label or self.phase

    @model_validator(mode="after")
    def _check(self) -> _EntryBase:
        try:
            session(self.phase, **self.overrides())
        except (TypeError, ValueError) as err:
            raise ValueError(str(err)) from None
        return self


def _entry_fields() -> dict[str, Any]:
    fields: dict[str, Any] = {
        "label": (str | None, Field(None, pattern=_NAME, description="name to refer to this entry by")),
        "phase": (Literal[tuple(PHASES)], ...),
        "days": (int, Field(1, ge=1, le=10_000)),
    }
    for name, hint in typing.get_type_hints(SessionSettings).items():
        if name == "phase":
            continue
        fields[name] = ((RegimenSpec | None) if name == "baclofen" else (hint | None), None)
    return fields


CalendarEntrySpec = create_model("CalendarEntrySpec", __base__=_EntryBase, **_entry_fields())


# ---------------------------------------------------------------------------------------------
# Environment, agents, baclofen, analysis
# ---------------------------------------------------------------------------------------------


class EnvironmentSpec(_Strict):
    """Keyword arguments of `CocaineSeekingEnv` fixed for the study (besides the calendar)."""

    sucrose_lever: bool = False
    kor_knockout: bool = False
    individual_differences: bool = False
    params: dict[str, float] = Field(default_factory=dict, description="ModelParams overrides")

    @field_validator("params")
    @classmethod
    def _known_params(cls, value: dict[str, float]) -> dict[str, float]:
        try:
            ModelParams().replace(**value)
        except (TypeError, ValueError) as err:
            raise ValueError(str(err)) from None
        return value

    def kwargs(self) -> dict[str, Any]:
        """As keyword arguments of the environment."""
        return {"sucrose_lever": self.sucrose_lever, "kor_knockout": self.kor_knockout,
                "individual_differences": self.individual_differences, "params": dict(self.params)}


class TDAgentSpec(_Strict):
    """A tabular TD cohort (`rlcraving.agents.cohort.run_cohort`)."""

    type: Literal["td"]
    name: str = "q_learning"
    params: dict[str, Any] = Field(default_factory=dict)
    subjects: int | None = Field(None, ge=1, le=1_000_000, description="overrides the study's subjects")

    @field_validator("name")
    @classmethod
    def _known_agent(cls, value: str) -> str:
        registry = td_agents()
        if registry is not None and value not in registry:
            raise ValueError(f"agent name {value!r} is not known; choose one of {sorted(registry)}")
        return value

    @model_validator(mode="after")
    def _known_params(self) -> TDAgentSpec:
        registry = td_agents()
        if registry is None or self.name not in registry:
            return self
        allowed = getattr(registry[self.name], "PARAMETERS", None)
        if allowed is None:
            return self
        unknown = sorted(set(self.params) - set(allowed))
        if unknown:
            raise ValueError(f"params: unknown {self.name} parameter(s) {unknown}; allowed: {sorted(allowed)}")
        for key, value in self.params.items():
            p = allowed[key]
            try:
                check_number(f"params.{key}", value, lo=p.lo, hi=p.hi)
            except (TypeError, ValueError) as err:
                raise ValueError(str(err)) from None
        return self


class SB3AgentSpec(_Strict):
    """A stable-baselines3 arm (`rlcraving.agents.sb3.run_sb3_cohort`): one shared policy per seed,
    its subjects being parallel environments of that policy."""

    type: Literal["sb3"]
    algo: str = "PPO"
    algo_kwargs: dict[str, Any] = Field(default_factory=dict)
    subjects: int | None = Field(None, ge=1, le=10_000, description="overrides the study's subjects")


AgentSpec = Annotated[TDAgentSpec | SB3AgentSpec, Field(discriminator="type")]


class BaclofenSpec(_Strict):
    """A regimen and the calendar entries it applies to (labels or phase names, or "all")."""

    regimen: RegimenSpec
    sessions: list[str] | Literal["all"] = "all"


SessionRef = int | str


class OutcomeSpec(_Strict):
    """A per-subject outcome: `measure` over the sessions `session` selects, summarised per subject.

    `session` is a calendar session index (negative from the end), an entry label or phase name
    (all its days), or ``label:k`` (day k of that entry, negative from its end). With `baseline`
    the outcome is also compared within subjects with the same measure in the baseline sessions.
    """

    name: str | None = Field(None, pattern=_NAME)
    measure: Literal[MEASURES] = "active_presses"
    session: SessionRef = -1
    summary: Literal["mean", "sum", "fraction_zero"] = "mean"
    baseline: SessionRef | None = None

    @property
    def title(self) -> str:
        """The outcome's name, or one made of measure and session."""
        return self.name or f"{self.measure}@{self.session}"


class AnalysisSpec(_Strict):
    """What `results` summarises and tests, and the figures' x axis."""

    outcomes: list[OutcomeSpec] = Field(default_factory=lambda: [OutcomeSpec()], min_length=1)
    axis: str | None = Field(None, description="grid key on the x axis of response curves; tested for a trend")
    reference: Any = Field(None, description="value of the axis (or first grid key) others are compared with")
    bootstrap: int = Field(2000, ge=100, le=1_000_000)
    permutations: int = Field(5000, ge=100, le=1_000_000)
    seed: int = 0


# ---------------------------------------------------------------------------------------------
# The study
# ---------------------------------------------------------------------------------------------


class StudySpec(_Strict):
    """One study (a spec file). See docs/experiments.md for every key."""

    name: str = Field(pattern=_NAME)
    description: str = ""
    subjects: int = Field(ge=1, le=1_000_000)
    seeds: list[int] = Field(default_factory=lambda: [0], min_length=1, description="seeds, or a count n: 0..n-1")
    environment: EnvironmentSpec = Field(default_factory=EnvironmentSpec)
    agents: dict[str, AgentSpec] = Field(default_factory=lambda: {"td": TDAgentSpec(type="td")}, min_length=1)
    agent: str | None = Field(None, description="which of `agents` runs (default: the first)")
    calendar: list[CalendarEntrySpec] = Field(min_length=1)  # type: ignore[valid-type]
    baclofen: BaclofenSpec | None = None
    traces: list[SessionRef] = Field(default_factory=list, description="sessions whose within-session traces "
                                                                       "are recorded (TD agents)")
    grid: dict[str, list[Any] | dict[str, Any]] = Field(
        default_factory=dict, description="dotted key -> list of values, or mapping of named values")
    analysis: AnalysisSpec = Field(default_factory=AnalysisSpec)

    @field_validator("seeds", mode="before")
    @classmethod
    def _seed_count(cls, value: Any) -> Any:
        if isinstance(value, int) and not isinstance(value, bool):
            if value < 1:
                raise ValueError(f"seeds={value} must be a positive count or a list of seeds")
            return list(range(value))
        return value

    @field_validator("seeds")
    @classmethod
    def _unique_seeds(cls, value: list[int]) -> list[int]:
        if len(set(value)) != len(value) or min(value) < 0:
            raise ValueError(f"seeds={value} must be distinct and >= 0")
        return value

    @field_validator("agents")
    @classmethod
    def _agent_names(cls, value: dict[str, Any]) -> dict[str, Any]:
        bad = [k for k in value if not re.match(_NAME, k)]
        if bad:
            raise ValueError(f"agent name(s) {bad} must match {_NAME}")
        return value

    @field_validator("grid")
    @classmethod
    def _grid_axes(cls, value: dict[str, list[Any] | dict[str, Any]]) -> dict[str, list[Any] | dict[str, Any]]:
        problems: list[tuple[str, str]] = []
        n = 1
        for key, values in value.items():
            where = f"grid.{key}"
            if not values:
                problems.append((where, f"grid axis {key!r} has no values; give at least one (or remove the axis)"))
            elif isinstance(values, dict):
                bad = [name for name in values if not isinstance(name, str) or not name.strip() or "," in name]
                if bad:
                    problems.append((where, f"grid axis {key!r}: value names {bad} must be non-empty strings "
                                            "without commas"))
            else:
                labels = [json.dumps(display_value(v)) for v in values]
                if len(set(labels)) != len(labels):
                    problems.append((where, f"grid axis {key!r} has repeated values {values}"))
            if key.split(".")[0] in ("grid", "analysis", "name", "description", "seeds"):
                problems.append((where, f"grid axis {key!r} cannot be swept; sweep environment, agent(s), calendar, "
                                        "baclofen, subjects or traces"))
            n *= max(len(values), 1)
        if n > MAX_GRID_POINTS:
            problems.append(("grid", f"grid has {n} points; at most {MAX_GRID_POINTS} are allowed"))
        if problems:
            raise located_error(problems)
        return value

    def grid_levels(self, key: str) -> list[tuple[Any, Any]]:
        """(label, value) of each value of grid axis `key`: a named value's name, else the value
        itself (non-scalars as compact YAML)."""
        values = self.grid[key]
        if isinstance(values, dict):
            return list(values.items())
        return [(display_value(v), v) for v in values]

    @model_validator(mode="after")
    def _references(self) -> StudySpec:
        if self.agent is None:
            object.__setattr__(self, "agent", next(iter(self.agents)))
        problems = self._reference_problems()
        if problems:
            raise located_error(problems)
        return self

    def _reference_problems(self) -> list[tuple[str, str]]:
        """(dotted key, message) for every reference to an agent, session or grid key that does not resolve."""
        problems: list[tuple[str, str]] = []

        def check(key: str, fn: Any, *args: Any) -> None:
            try:
                fn(*args)
            except ValueError as err:
                problems.append((key, str(err)))

        if self.agent not in self.agents:
            problems.append(("agent", f"agent={self.agent!r} is not one of the agents {list(self.agents)}"))
        labels = [e.label for e in self.calendar if e.label]
        if len(set(labels)) != len(labels):
            problems.append(("calendar", f"calendar labels {labels} must be distinct"))
        for i, ref in enumerate(self.traces):
            check(f"traces.{i}", self.sessions, ref)
        for i, outcome in enumerate(self.analysis.outcomes):
            check(f"analysis.outcomes.{i}.session", self.sessions, outcome.session)
            if outcome.baseline is not None:
                check(f"analysis.outcomes.{i}.baseline", self.sessions, outcome.baseline)
        if self.baclofen is not None and self.baclofen.sessions != "all":
            for i, ref in enumerate(self.baclofen.sessions):
                check(f"baclofen.sessions.{i}", self._entries_named, ref)
                if not problems and any(self.calendar[j].baclofen is not None for j in self._entries_named(ref)):
                    problems.append((f"baclofen.sessions.{i}",
                                     f"{ref!r} names an entry that sets its own baclofen; use one or the other"))
        if self.analysis.axis is not None and self.analysis.axis not in self.grid:
            problems.append(("analysis.axis", f"analysis.axis={self.analysis.axis!r} is not a grid key; "
                                              f"grid keys: {list(self.grid)}"))
        axis = self.comparison_axis
        if self.analysis.reference is not None and axis in self.grid:
            labels = [label for label, _ in self.grid_levels(axis)]
            if display_value(self.analysis.reference) not in labels:
                problems.append(("analysis.reference", f"analysis.reference={self.analysis.reference!r} is not a "
                                                       f"value (or value name) of grid axis {axis!r}: {labels}"))
        return problems

    @property
    def comparison_axis(self) -> str | None:
        """The grid key conditions are compared along: `analysis.axis`, else the first grid key."""
        return self.analysis.axis or next(iter(self.grid), None)

    @property
    def reference_label(self) -> Any:
        """The level (label) of the comparison axis others are compared with (default: its first)."""
        axis = self.comparison_axis
        if axis is None:
            return None
        if self.analysis.reference is not None:
            return display_value(self.analysis.reference)
        return self.grid_levels(axis)[0][0]

    # ---- derived views -------------------------------------------------------------------------
    @property
    def agent_spec(self) -> TDAgentSpec | SB3AgentSpec:
        """The agent that runs."""
        return self.agents[self.agent]  # type: ignore[index]

    @property
    def n_subjects(self) -> int:
        """Subjects per seed (the agent's own count if it sets one)."""
        return self.agent_spec.subjects or self.subjects

    def entry_days(self) -> list[range]:
        """Calendar session indices of each entry."""
        out, start = [], 0
        for e in self.calendar:
            out.append(range(start, start + e.days))
            start += e.days
        return out

    def entry_names(self) -> list[str]:
        """Entry name (label or phase) of each calendar session."""
        return [e.name for e, days in zip(self.calendar, self.entry_days(), strict=True) for _ in days]

    def _entries_named(self, name: str) -> list[int]:
        hits = [i for i, e in enumerate(self.calendar) if e.label == name]
        hits = hits or [i for i, e in enumerate(self.calendar) if e.label is None and e.phase == name]
        if not hits:
            names = sorted({e.name for e in self.calendar})
            raise ValueError(f"session {name!r} names no calendar entry; entry labels/phases: {names}")
        return hits

    def sessions(self, ref: SessionRef) -> list[int]:
        """Calendar session indices a session reference selects (see `OutcomeSpec`)."""
        n = sum(e.days for e in self.calendar)
        if isinstance(ref, int):
            if not -n <= ref < n:
                raise ValueError(f"session {ref} is outside the calendar's {n} sessions (0..{n - 1} or -{n}..-1)")
            return [ref % n]
        name, _, day = ref.partition(":")
        days = [d for i in self._entries_named(name) for d in self.entry_days()[i]]
        if not day:
            return days
        try:
            k = int(day)
            return [days[k]]
        except (ValueError, IndexError):
            raise ValueError(f"session {ref!r}: day {day!r} must be an integer in -{len(days)}..{len(days) - 1}") \
                from None

    def calendar_entries(self) -> list[dict[str, Any]]:
        """Calendar entries as the environment takes them, with the baclofen regimen applied.

        A regimen applied to some entries is assigned at the first of each run of those entries
        and replaced by `Placebo` at the next entry outside them (for an acute i.p. regimen: no
        injection; for an oral one: treatment stops).
        """
        chosen: set[int] = set()
        if self.baclofen is not None and self.baclofen.sessions != "all":
            chosen = {i for ref in self.baclofen.sessions for i in self._entries_named(ref)}
        entries, on = [], False
        for i, e in enumerate(self.calendar):
            entry = {"phase": e.phase, "days": e.days, **e.overrides()}
            if i in chosen and not on:
                entry["baclofen"] = self.baclofen.regimen.build()  # type: ignore[union-attr]
            elif i not in chosen and on and "baclofen" not in entry:
                entry["baclofen"] = Placebo()
            on = i in chosen
            entries.append(entry)
        return entries

    def env_kwargs(self) -> dict[str, Any]:
        """Environment keyword arguments (the calendar goes separately)."""
        kwargs = self.environment.kwargs()
        if self.baclofen is not None and self.baclofen.sessions == "all":
            kwargs["baclofen"] = self.baclofen.regimen.build()
        return kwargs

    def trace_sessions(self) -> tuple[int, ...]:
        """Calendar session indices whose traces are recorded."""
        return tuple(sorted({d for ref in self.traces for d in self.sessions(ref)}))

    def dump(self) -> dict[str, Any]:
        """The resolved spec as plain data (defaults filled in); loads back to an equal spec."""
        return self.model_dump(mode="json", exclude_none=True)

    def run_identity(self) -> dict[str, Any]:
        """What determines a run's numbers (besides the seed): agent, subjects, environment, calendar."""
        return {"agent": self.agent_spec.model_dump(mode="json"), "subjects": self.n_subjects,
                "environment": self.environment.model_dump(mode="json"),
                "calendar": [e.model_dump(mode="json", exclude_none=True) for e in self.calendar],
                "baclofen": None if self.baclofen is None else self.baclofen.model_dump(mode="json"),
                "traces": list(self.trace_sessions())}


def located_error(problems: list[tuple[str, str]]) -> PydanticCustomError:
    """One validation error carrying several (dotted key, message) problems, which the loader
    reports each at its own key and line."""
    return PydanticCustomError("located", "{summary}", {"problems": problems,
                                                        "summary": "; ".join(m for _, m in problems)})


def td_agents() -> Mapping[str, Any] | None:
    """The TD agent registry (name -> class), or None where `rlcraving.agents` is not available."""
    try:
        from rlcraving.agents.td import AGENTS
    except ImportError:
        return None
    return AGENTS


def display_value(value: Any) -> Any:
    """A grid value as a label and table cell: scalars as they are, others as compact YAML."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return yaml.safe_dump(value, default_flow_style=True, sort_keys=False).strip()


def run_key(spec: StudySpec, seed: int) -> str:
    """File stem of one run: a digest of what determines its numbers, and the seed."""
    digest = hashlib.sha256(json.dumps(spec.run_identity(), sort_keys=True).encode()).hexdigest()[:12]
    return f"{digest}-s{seed}"
