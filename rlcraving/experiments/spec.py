"""Study spec files: YAML in, validated and typed objects out.

A spec is one study: environment settings, agents, the protocol calendar, a baclofen regimen
and the sessions it applies to, a grid of values to sweep (dotted keys into the spec), the
number of subjects and seeds, and the outcomes to analyse. `load_spec` reads a file, applies
``--set key.sub=value`` overrides, validates the base spec and every grid point, and raises a
`SpecError` whose lines name the YAML line (where known), the key, the bad value and what is
allowed. Nothing is run or written before a spec has validated.

Calendar entries and baclofen regimens are generated from `SessionSettings` and the regimen
dataclasses, and checked by them, so a spec accepts exactly what the model accepts.
"""

from __future__ import annotations

import copy
import dataclasses
import hashlib
import itertools
import json
import re
import typing
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal, Union

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, create_model, field_validator, model_validator
from pydantic_core import PydanticCustomError

from rlcraving.params import ModelParams
from rlcraving.pharmacology import REGIMEN_TYPES, Placebo, Regimen
from rlcraving.protocol import PHASES, SessionSettings, session

#: Per-session measures a cohort run reports (columns `measure` of the tidy table).
MEASURES = ("active_presses", "inactive_presses", "infusions", "intake_mg_per_kg", "sucrose_presses",
            "pellets", "breakpoint")
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
        names = td_agent_names()
        if names is not None and value not in names:
            raise ValueError(f"agent name {value!r} is not known; choose one of {sorted(names)}")
        return value


class SB3AgentSpec(_Strict):
    """A stable-baselines3 arm (`rlcraving.agents.sb3.run_sb3_cohort`): one trained policy per subject."""

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
    grid: dict[str, list[Any]] = Field(default_factory=dict)
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
    def _grid_axes(cls, value: dict[str, list[Any]]) -> dict[str, list[Any]]:
        for key, values in value.items():
            if not values:
                raise ValueError(f"grid axis {key!r} has no values; give at least one (or remove the axis)")
            dumped = [json.dumps(v, sort_keys=True, default=str) for v in values]
            if len(set(dumped)) != len(dumped):
                raise ValueError(f"grid axis {key!r} has repeated values {values}")
            if key.split(".")[0] in ("grid", "analysis", "name", "description", "seeds"):
                raise ValueError(f"grid axis {key!r} cannot be swept; sweep environment, agent(s), calendar, "
                                 "baclofen, subjects or traces")
        n = 1
        for values in value.values():
            n *= len(values)
        if n > MAX_GRID_POINTS:
            raise ValueError(f"grid has {n} points; at most {MAX_GRID_POINTS} are allowed")
        return value

    @model_validator(mode="after")
    def _references(self) -> StudySpec:
        if self.agent is None:
            object.__setattr__(self, "agent", next(iter(self.agents)))
        problems = self._reference_problems()
        if problems:
            raise PydanticCustomError("reference", "{summary}", {"problems": problems,
                                                                 "summary": "; ".join(m for _, m in problems)})
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
        if self.analysis.reference is not None and axis in self.grid and self.analysis.reference not in self.grid[axis]:
            problems.append(("analysis.reference", f"analysis.reference={self.analysis.reference!r} is not a value "
                                                   f"of grid axis {axis!r}: {self.grid[axis]}"))
        return problems

    @property
    def comparison_axis(self) -> str | None:
        """The grid key conditions are compared along: `analysis.axis`, else the first grid key."""
        return self.analysis.axis or next(iter(self.grid), None)

    @property
    def reference_value(self) -> Any:
        """The value of the comparison axis others are compared with (default: its first)."""
        axis = self.comparison_axis
        if axis is None:
            return None
        return self.analysis.reference if self.analysis.reference is not None else self.grid[axis][0]

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


def td_agent_names() -> tuple[str, ...] | None:
    """Names in the TD agent registry, or None while `rlcraving.agents.cohort` is not available."""
    try:
        from rlcraving.agents.cohort import AGENTS
    except ImportError:
        return None
    return tuple(AGENTS)


# ---------------------------------------------------------------------------------------------
# Errors with YAML line numbers
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Issue:
    """One problem in a spec: where (line, or the source of the value), which key, what is wrong."""

    key: str
    message: str
    line: int | None = None
    origin: str = ""

    def __str__(self) -> str:
        where = f"line {self.line}" if self.line else (self.origin or "spec")
        if self.line and self.origin:
            where += f" ({self.origin})"
        return f"{where}: {self.key or '<top level>'}: {self.message}"


class SpecError(ValueError):
    """A spec that does not validate; `issues` lists every problem found."""

    def __init__(self, source: str, issues: Sequence[Issue]):
        self.source, self.issues = source, list(issues)
        lines = "\n".join(f"  {i}" for i in self.issues)
        super().__init__(f"{source} is not a valid study spec ({len(self.issues)} problem(s)):\n{lines}")


Path_ = tuple[str | int, ...]


class _LineMap:
    """YAML line (1-based) of every key and item, by path."""

    def __init__(self, text: str | None):
        self.lines: dict[Path_, int] = {}
        self.duplicates: list[tuple[Path_, int]] = []
        if text:
            node = yaml.compose(text, Loader=yaml.SafeLoader)
            if node is not None:
                self._walk(node, ())

    def _walk(self, node: yaml.Node, path: Path_) -> None:
        if isinstance(node, yaml.MappingNode):
            seen: set[str] = set()
            for key_node, value_node in node.value:
                key = key_node.value
                if key in seen:
                    self.duplicates.append(((*path, key), key_node.start_mark.line + 1))
                seen.add(key)
                self.lines[(*path, key)] = key_node.start_mark.line + 1
                self._walk(value_node, (*path, key))
        elif isinstance(node, yaml.SequenceNode):
            for i, item in enumerate(node.value):
                self.lines[(*path, i)] = item.start_mark.line + 1
                self._walk(item, (*path, i))

    def find(self, loc: Iterable[str | int]) -> tuple[Path_, int | None]:
        """Longest known path along `loc` (union tags skipped) and its line."""
        path: Path_ = ()
        for part in loc:
            if (*path, part) in self.lines:
                path = (*path, part)
        return path, self.lines.get(path)


def _issues(err: ValidationError, lines: _LineMap, origin_of: Mapping[Path_, str] | None = None,
            prefix: Path_ = ()) -> list[Issue]:
    out = []
    for e in err.errors(include_url=False):
        loc = (*prefix, *e["loc"])
        msg = e["msg"].removeprefix("Value error, ")
        ctx = e.get("ctx") or {}
        if e["type"] == "reference":
            out += [_issue_at((*prefix, *split_key(k)), m, lines, origin_of) for k, m in ctx["problems"]]
            continue
        if e["type"] == "unknown_key":
            loc = (*loc, ctx["unknown"][0])
        elif e["type"] not in ("missing",) and not isinstance(e.get("input"), (dict, list)):
            msg += f" (got {e.get('input')!r})"
        out.append(_issue_at(loc, msg, lines, origin_of))
    return out


def _issue_at(loc: Sequence[Any], msg: str, lines: _LineMap, origin_of: Mapping[Path_, str] | None) -> Issue:
    _, line = lines.find(loc)
    key = ".".join(str(p) for p in loc if not (isinstance(p, str) and p in REGIMEN_SPECS))
    for p in sorted(origin_of or {}, key=len, reverse=True):
        if _related(p, loc):
            return Issue(key, msg, None, (origin_of or {})[p])
    return Issue(key, msg, line)


def _related(a: Sequence[Any], b: Sequence[Any]) -> bool:
    """Whether one path is a prefix of the other (compared as strings)."""
    n = min(len(a), len(b))
    return n > 0 and [str(x) for x in a[:n]] == [str(x) for x in b[:n]]


# ---------------------------------------------------------------------------------------------
# Dotted keys and overrides
# ---------------------------------------------------------------------------------------------


def split_key(key: str) -> Path_:
    """``"calendar.test.days"`` -> ("calendar", "test", "days"); ``grid.<key>`` keeps the key whole."""
    if not key or any(not part for part in key.split(".")):
        raise ValueError(f"key {key!r} is not a dotted key such as environment.kor_knockout")
    parts = key.split(".")
    if parts[0] == "grid" and len(parts) > 1:
        return ("grid", ".".join(parts[1:]))
    return tuple(parts)


def _child(container: Any, part: str, key: str) -> str | int:
    """Resolve one path part in a dict (the key) or a list (an index, or a calendar label/phase)."""
    if isinstance(container, list):
        if re.fullmatch(r"-?\d+", part):
            i = int(part)
            if not -len(container) <= i < len(container):
                raise ValueError(f"key {key!r}: index {i} is outside the list of {len(container)}")
            return i % len(container)
        hits = [i for i, item in enumerate(container) if isinstance(item, Mapping) and item.get("label") == part]
        hits = hits or [i for i, item in enumerate(container)
                        if isinstance(item, Mapping) and item.get("phase") == part and not item.get("label")]
        if len(hits) != 1:
            names = [item.get("label") or item.get("phase") for item in container if isinstance(item, Mapping)]
            raise ValueError(f"key {key!r}: {part!r} must name exactly one entry (an index, label or phase); "
                             f"entries: {names}")
        return hits[0]
    return part


def set_path(data: dict[str, Any], key: str, value: Any) -> Path_:
    """Set dotted `key` in nested `data` (creating dicts on the way); returns the resolved path."""
    parts, node, path = split_key(key), data, []
    for i, part in enumerate(parts):
        last = i == len(parts) - 1
        if not isinstance(node, (dict, list)):
            raise ValueError(f"key {key!r}: {'.'.join(map(str, path))} is {node!r}, which has no keys")
        step = _child(node, str(part), key) if isinstance(node, list) else part
        path.append(step)
        if last:
            node[step] = value  # type: ignore[index]
        else:
            if isinstance(node, dict) and not isinstance(node.get(step), (dict, list)):
                node[step] = {}
            node = node[step]  # type: ignore[index]
    return tuple(path)


def parse_assignment(text: str) -> tuple[str, Any]:
    """``"key.sub=value"`` -> (key, value), the value read as YAML (``5``, ``true``, ``[0, 2.5]``)."""
    key, sep, raw = text.partition("=")
    if not sep or not key.strip():
        raise ValueError(f"--set {text!r} must look like key.sub=value")
    try:
        value = yaml.safe_load(raw)
    except yaml.YAMLError:
        value = raw
    return key.strip(), value


# ---------------------------------------------------------------------------------------------
# Loading
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class GridPoint:
    """One combination of grid values and the study spec it resolves to."""

    index: int
    values: dict[str, Any]
    spec: StudySpec

    def columns(self, names: Mapping[str, str]) -> dict[str, Any]:
        """Grid values by table column name (non-scalar values as compact YAML)."""
        return {names[k]: _scalar(v) for k, v in self.values.items()}


@dataclass(frozen=True)
class Study:
    """A validated study: the base spec, its grid points, and where it came from."""

    spec: StudySpec
    points: tuple[GridPoint, ...]
    source: str
    overrides: tuple[str, ...] = ()

    @property
    def axis_columns(self) -> dict[str, str]:
        """Table column of each grid key: its last part, or more of it where names would clash."""
        return axis_columns(list(self.spec.grid))

    def condition(self, point: GridPoint) -> str:
        """Condition label of a grid point (the study name when there is no grid)."""
        if not point.values:
            return self.spec.name
        cols = self.axis_columns
        return ", ".join(f"{cols[k]}={_scalar(v)}" for k, v in point.values.items())

    def base_only(self) -> Study:
        """The study without its grid: one point, the base spec."""
        spec = self.spec.model_copy(update={"grid": {}})
        return dataclasses.replace(self, spec=spec, points=(GridPoint(0, {}, spec),))


def axis_columns(keys: Sequence[str]) -> dict[str, str]:
    """Shortest unique dotted suffix of each key that is not a reserved column name."""
    out = {}
    for key in keys:
        parts = key.split(".")
        for n in range(1, len(parts) + 1):
            name = ".".join(parts[-n:])
            clash = any(other != key and other.split(".")[-n:] == parts[-n:] for other in keys)
            if name not in RESERVED_COLUMNS and not clash:
                break
        out[key] = name
    return out


def _scalar(value: Any) -> Any:
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return yaml.safe_dump(value, default_flow_style=True, sort_keys=False).strip()


def load_spec(path: str | Path, overrides: Sequence[str] = (), grid: Sequence[str] = ()) -> Study:
    """Read and validate a spec file; `overrides` are ``key=value`` strings (``--set``), `grid`
    ``key=v1,v2`` strings that add or replace grid axes (``--grid``)."""
    path = Path(path)
    try:
        text = path.read_text()
    except OSError as err:
        raise SpecError(str(path), [Issue("", f"cannot read the spec file: {err.strerror}")]) from None
    return loads_spec(text, source=str(path), overrides=overrides, grid=grid)


def loads_spec(text: str, *, source: str = "<spec>", overrides: Sequence[str] = (),
               grid: Sequence[str] = ()) -> Study:
    """Validate spec text (see `load_spec`)."""
    try:
        data = yaml.safe_load(text)
        lines = _LineMap(text)
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        raise SpecError(source, [Issue("", f"not valid YAML: {getattr(err, 'problem', err)}",
                                       mark.line + 1 if mark else None)]) from None
    if not isinstance(data, dict):
        raise SpecError(source, [Issue("", f"the spec must be a mapping of keys (got {type(data).__name__})")])
    if lines.duplicates:
        raise SpecError(source, [Issue(".".join(map(str, p)), "key given twice", line) for p, line in lines.duplicates])
    assignments = [(a, a, "--set") for a in overrides]
    assignments += [(f"grid.{a.partition('=')[0]}=[{a.partition('=')[2]}]", a, "--grid") for a in grid]
    origin_of: dict[Path_, str] = {}
    for assignment, given, flag in assignments:
        try:
            key, value = parse_assignment(assignment)
            origin_of[set_path(data, key, value)] = f"{flag} {given}"
        except ValueError as err:
            raise SpecError(source, [Issue("", str(err), origin=f"{flag} {given}")]) from None
    try:
        spec = StudySpec.model_validate(data)
    except ValidationError as err:
        raise SpecError(source, _issues(err, lines, origin_of)) from None
    points = _expand(spec, data, lines, origin_of, source)
    return Study(spec, points, source, tuple(overrides) + tuple(f"--grid {g}" for g in grid))


def _expand(spec: StudySpec, data: dict[str, Any], lines: _LineMap, origin_of: Mapping[Path_, str],
            source: str) -> tuple[GridPoint, ...]:
    keys = list(spec.grid)
    points, issues = [], []
    for index, combo in enumerate(itertools.product(*(spec.grid[k] for k in keys))):
        values = dict(zip(keys, combo, strict=True))
        point = copy.deepcopy(data)
        try:
            targets = {key: set_path(point, key, value) for key, value in values.items()}
            point_spec = StudySpec.model_validate(point)
        except ValueError as err:
            grid_line = lines.lines.get(("grid", next(iter(keys))))
            if isinstance(err, ValidationError):
                for issue in _issues(err, lines, origin_of):
                    loc = tuple(issue.key.split("."))
                    blamed = [k for k, t in targets.items() if _related(tuple(map(str, t)), loc)]
                    where = blamed[0] if blamed else ", ".join(f"{k}={v!r}" for k, v in values.items())
                    line = lines.lines.get(("grid", blamed[0])) if blamed else grid_line
                    issues.append(dataclasses.replace(
                        issue, line=line, origin=origin_of.get(("grid", where), ""),
                        message=f"{issue.message} [grid point {where}={values.get(where, '')!r}]"
                        if blamed else f"{issue.message} [grid point {where}]"))
            else:
                issues.append(Issue("grid", str(err), grid_line))
            if len(issues) >= 20:
                break
            continue
        points.append(GridPoint(index, values, point_spec))
    if issues:
        raise SpecError(source, _dedupe(issues))
    return tuple(points) if points else (GridPoint(0, {}, spec),)


def _dedupe(issues: list[Issue]) -> list[Issue]:
    seen, out = set(), []
    for issue in issues:
        if str(issue) not in seen:
            seen.add(str(issue))
            out.append(issue)
    return out


def run_key(spec: StudySpec, seed: int) -> str:
    """File stem of one run: a digest of what determines its numbers, and the seed."""
    digest = hashlib.sha256(json.dumps(spec.run_identity(), sort_keys=True).encode()).hexdigest()[:12]
    return f"{digest}-s{seed}"
