"""Loading spec files: YAML line numbers, ``--set``/``--grid`` overrides, grid expansion, errors.

`load_spec` reads a file, applies ``--set key.sub=value`` overrides (dotted keys into the spec;
list items by index, or calendar entries by label or phase), validates the base spec and every
grid point, and raises a `SpecError` whose lines name the YAML line (or the command-line option
the value came from), the key, the bad value and what is allowed. Nothing is run or written
before a spec has validated.
"""

from __future__ import annotations

import copy
import dataclasses
import itertools
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from rlcraving.experiments.spec import REGIMEN_SPECS, RESERVED_COLUMNS, StudySpec

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

    #: what kind of file the message names
    kind = "study spec"

    def __init__(self, source: str, issues: Sequence[Issue]):
        self.source, self.issues = source, list(issues)
        lines = "\n".join(f"  {i}" for i in self.issues)
        super().__init__(f"{source} is not a valid {self.kind} ({len(self.issues)} problem(s)):\n{lines}")


Path_ = tuple[str | int, ...]


class LineMap:
    """YAML line (1-based) of every key and item, by path."""

    def __init__(self, node: yaml.Node | None):
        self.lines: dict[Path_, int] = {}
        self.duplicates: list[tuple[Path_, int]] = []
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
        """Longest known path along `loc` and its line."""
        path: Path_ = ()
        for part in loc:
            if (*path, part) in self.lines:
                path = (*path, part)
        return path, self.lines.get(path)


def validation_issues(err: ValidationError, lines: LineMap,
                      origin_of: Mapping[Path_, str] | None = None) -> list[Issue]:
    """Issues of a validation error, each at its key's line (or the option that set it)."""
    out = []
    for e in err.errors(include_url=False):
        loc = tuple(e["loc"])
        msg = e["msg"].removeprefix("Value error, ")
        ctx = e.get("ctx") or {}
        if e["type"] == "located":
            out += [_issue_at(split_key(k), m, lines, origin_of) for k, m in ctx["problems"]]
            continue
        if e["type"] == "union_tag_not_found" and loc[:1] == ("agents",):
            msg = ("an agent needs a type: td (a TD cohort) or sb3 (a stable-baselines3 arm), "
                   f"e.g. --set agents.{loc[1] if len(loc) > 1 else 'NAME'}.type=td")
        elif e["type"] == "union_tag_not_found" and "regimen" in loc:
            msg = f"a regimen needs a type: one of {sorted(REGIMEN_SPECS)}"
        elif e["type"] == "unknown_key":
            loc = (*loc, ctx["unknown"][0])
        elif e["type"] == "union_tag_invalid":
            msg = (f"{ctx.get('discriminator', 'type')}={ctx.get('tag')!r} is not allowed; "
                   f"choose one of {ctx.get('expected_tags')}")
        elif e["type"] not in ("missing",) and not isinstance(e.get("input"), (dict, list)):
            msg += f" (got {e.get('input')!r})"
        out.append(_issue_at(loc, msg, lines, origin_of))
    return out


def _without_tags(loc: Sequence[Any]) -> tuple[Any, ...]:
    """`loc` without the union tags pydantic inserts (regimen types, agent types)."""
    out: list[Any] = []
    for i, part in enumerate(loc):
        regimen_tag = part in REGIMEN_SPECS and i > 0 and loc[i - 1] in ("regimen", "baclofen")
        agent_tag = part in ("td", "sb3") and i == 2 and loc[0] == "agents"
        if not (regimen_tag or agent_tag):
            out.append(part)
    return tuple(out)


def _issue_at(loc: Sequence[Any], msg: str, lines: LineMap, origin_of: Mapping[Path_, str] | None) -> Issue:
    loc = _without_tags(loc)
    _, line = lines.find(loc)
    key = ".".join(str(p) for p in loc)
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
    """Set dotted `key` in nested `data` (creating dicts on the way); returns the resolved path.

    A mapping value is merged into the mapping it lands on (keys it does not give are kept),
    unless it has a ``type`` (a regimen or an agent), is empty, or is a grid axis: then it
    replaces it.
    """
    parts, node, path = split_key(key), data, []
    for i, part in enumerate(parts):
        last = i == len(parts) - 1
        if not isinstance(node, (dict, list)):
            raise ValueError(f"key {key!r}: {'.'.join(map(str, path))} is {node!r}, which has no keys")
        step = _child(node, str(part), key) if isinstance(node, list) else part
        path.append(step)
        if last:
            old = node[step] if isinstance(node, list) else node.get(step)
            merge = isinstance(value, dict) and value and "type" not in value and path[0] != "grid"
            if merge and isinstance(old, dict):
                value = {**old, **copy.deepcopy(value)}
            node[step] = copy.deepcopy(value)  # type: ignore[index]
        else:
            if isinstance(node, dict) and not isinstance(node.get(step), (dict, list)):
                node[step] = {}
            node = node[step]  # type: ignore[index]
    return tuple(path)


def _plain(data: Any) -> Any:
    """A copy of loaded YAML with no shared objects (YAML aliases become independent copies)."""
    if isinstance(data, dict):
        return {k: _plain(v) for k, v in data.items()}
    if isinstance(data, list):
        return [_plain(v) for v in data]
    return data


#: Largest spec file read (bytes); the shipped specs are a few kB.
MAX_SPEC_BYTES = 1_000_000
#: Deepest nesting of lists and mappings accepted; the shipped specs nest 4 deep.
MAX_DEPTH = 50
#: Most values a spec may hold once YAML aliases are expanded (an alias repeats its anchor's value).
MAX_VALUES = 100_000


class YAMLLimitError(yaml.YAMLError):
    """YAML text beyond the size, depth or alias-expansion bounds (refused before it is built)."""

    def __init__(self, problem: str, line: int | None = None):
        super().__init__(problem)
        self.problem, self.line = problem, line


def _check_depth(text: str) -> None:
    """Refuse nesting deeper than `MAX_DEPTH` (PyYAML's composer recurses once per level)."""
    depth = 0
    for event in yaml.parse(text, Loader=yaml.SafeLoader):
        if isinstance(event, yaml.CollectionStartEvent):
            depth += 1
            if depth > MAX_DEPTH:
                raise YAMLLimitError(f"lists and mappings nest more than {MAX_DEPTH} levels deep",
                                     event.start_mark.line + 1)
        elif isinstance(event, yaml.CollectionEndEvent):
            depth -= 1


def _expanded_size(node: yaml.Node) -> int:
    """Number of values `node` holds with aliases expanded, counted once per distinct node."""
    sizes: dict[int, int] = {}

    def size(n: yaml.Node) -> int:
        if id(n) not in sizes:
            if isinstance(n, yaml.MappingNode):
                children = [c for pair in n.value for c in pair]
            elif isinstance(n, yaml.SequenceNode):
                children = list(n.value)
            else:
                children = []
            sizes[id(n)] = 1 + sum(size(c) for c in children)
        return sizes[id(n)]

    return size(node)


def compose_yaml(text: str) -> yaml.Node | None:
    """YAML text as a node graph, within `MAX_SPEC_BYTES`, `MAX_DEPTH` and `MAX_VALUES`.

    Raises `yaml.YAMLError` (`YAMLLimitError` beyond a bound) before any large structure is built.
    """
    if len(text) > MAX_SPEC_BYTES:
        raise YAMLLimitError(f"the text is {len(text):,} characters; a spec is at most {MAX_SPEC_BYTES:,}")
    _check_depth(text)
    node = yaml.compose(text, Loader=yaml.SafeLoader)
    if node is not None and _expanded_size(node) > MAX_VALUES:
        raise YAMLLimitError(f"YAML aliases (*name) expand it to more than {MAX_VALUES:,} values; "
                             "write the values out, or use fewer aliases")
    return node


def construct_yaml(node: yaml.Node | None) -> Any:
    """Python data of a node from `compose_yaml` (YAML's safe types only)."""
    if node is None:
        return None
    loader = yaml.SafeLoader("")
    try:
        return loader.construct_document(node)
    finally:
        loader.dispose()


def safe_yaml(text: str) -> Any:
    """`yaml.safe_load` within the bounds of `compose_yaml`."""
    return construct_yaml(compose_yaml(text))


def parse_assignment(text: str) -> tuple[str, Any]:
    """``"key.sub=value"`` -> (key, value), the value read as YAML (``5``, ``true``, ``[0, 2.5]``)."""
    key, sep, raw = text.partition("=")
    if not sep or not key.strip():
        raise ValueError(f"--set {text!r} must look like key.sub=value")
    try:
        value = safe_yaml(raw)
    except YAMLLimitError as err:
        raise ValueError(f"--set {text!r}: {err.problem}") from None
    except yaml.YAMLError:
        value = raw
    return key.strip(), value


# ---------------------------------------------------------------------------------------------
# Loading
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class GridPoint:
    """One combination of grid values (their labels by grid key) and the spec it resolves to."""

    index: int
    labels: dict[str, Any]
    spec: StudySpec

    def columns(self, names: Mapping[str, str]) -> dict[str, Any]:
        """Grid labels by table column name."""
        return {names[k]: v for k, v in self.labels.items()}


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
        if not point.labels:
            return self.spec.name
        cols = self.axis_columns
        return ", ".join(f"{cols[k]}={v}" for k, v in point.labels.items())

    def base_only(self) -> Study:
        """The study without its grid: one point, the base spec."""
        analysis = self.spec.analysis.model_copy(update={"axis": None, "reference": None})
        spec = self.spec.model_copy(update={"grid": {}, "analysis": analysis})
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


def read_spec_file(path: str | Path, error: type[SpecError] = SpecError) -> str:
    """Text of a spec file: at most `MAX_SPEC_BYTES`, UTF-8; else `error` naming what is wrong."""
    path = Path(path)
    try:
        if path.is_dir():
            raise IsADirectoryError(21, "it is a folder, not a file")
        with open(path, "rb") as handle:
            data = handle.read(MAX_SPEC_BYTES + 1)
    except OSError as err:
        raise error(str(path), [Issue("", f"cannot read the {error.kind} file: {err.strerror or err}")]) from None
    if len(data) > MAX_SPEC_BYTES:
        raise error(str(path), [Issue("", f"the file is larger than {MAX_SPEC_BYTES:,} bytes; a {error.kind} is a "
                                          "few kB of settings")])
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        line = data[:err.start].count(b"\n") + 1
        column = err.start - data.rfind(b"\n", 0, err.start)
        raise error(str(path), [Issue("", f"not UTF-8 text (byte 0x{data[err.start]:02x} at column {column}); "
                                          "save the file as UTF-8", line)]) from None


def parse_spec_text(text: str, source: str, error: type[SpecError] = SpecError) -> tuple[dict[str, Any], LineMap]:
    """The mapping a spec's YAML holds and the line of each key; `error` for bad YAML, a
    document that is not a mapping, refused sizes or duplicate keys."""
    try:
        node = compose_yaml(text)
        data = construct_yaml(node)
        lines = LineMap(node)
    except YAMLLimitError as err:
        raise error(source, [Issue("", f"refused: {err.problem}", err.line)]) from None
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        raise error(source, [Issue("", f"not valid YAML: {getattr(err, 'problem', None) or err}",
                                   mark.line + 1 if mark else None)]) from None
    if not isinstance(data, dict):
        raise error(source, [Issue("", f"the {error.kind} must be a mapping of keys (got {type(data).__name__})")])
    if lines.duplicates:
        raise error(source, [Issue(".".join(map(str, p)), "key given twice", line) for p, line in lines.duplicates])
    return _plain(data), lines


def load_spec(path: str | Path, overrides: Sequence[str] = (), grid: Sequence[str] = ()) -> Study:
    """Read and validate a spec file; `overrides` are ``key=value`` strings (``--set``), `grid`
    ``key=v1,v2`` strings that add or replace grid axes (``--grid``)."""
    return loads_spec(read_spec_file(path), source=str(Path(path)), overrides=overrides, grid=grid)


def default_agents() -> dict[str, dict[str, Any]]:
    """The `agents:` block a spec without one runs with, as spec data."""
    default = StudySpec.model_fields["agents"].default_factory()  # type: ignore[misc]
    return {name: agent.model_dump(mode="json", exclude_defaults=True) | {"type": agent.type}
            for name, agent in default.items()}


def loads_spec(text: str, *, source: str = "<spec>", overrides: Sequence[str] = (),
               grid: Sequence[str] = ()) -> Study:
    """Validate spec text (see `load_spec`)."""
    data, lines = parse_spec_text(text, source)
    if "agents" not in data and any(a.startswith("agents.") for a in overrides):
        data["agents"] = default_agents()   # so that --set agents.td.params.x=... edits the default agent
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
        raise SpecError(source, validation_issues(err, lines, origin_of)) from None
    points = _expand(spec, data, lines, origin_of, source)
    return Study(spec, points, source, tuple(overrides) + tuple(f"--grid {g}" for g in grid))


def _expand(spec: StudySpec, data: dict[str, Any], lines: LineMap, origin_of: Mapping[Path_, str],
            source: str) -> tuple[GridPoint, ...]:
    keys = list(spec.grid)
    points, issues = [], []
    for index, combo in enumerate(itertools.product(*(spec.grid_levels(k) for k in keys))):
        values = {k: value for k, (_, value) in zip(keys, combo, strict=True)}
        labels = {k: label for k, (label, _) in zip(keys, combo, strict=True)}
        point = copy.deepcopy(data)
        try:
            targets = {key: set_path(point, key, value) for key, value in values.items()}
            point_spec = StudySpec.model_validate(point)
        except ValueError as err:
            grid_line = lines.lines.get(("grid", next(iter(keys))))
            if isinstance(err, ValidationError):
                for issue in validation_issues(err, lines, origin_of):
                    loc = tuple(issue.key.split("."))
                    blamed = [k for k, t in targets.items() if _related(tuple(map(str, t)), loc)]
                    where = blamed[0] if blamed else ", ".join(f"{k}={v!r}" for k, v in labels.items())
                    line = lines.lines.get(("grid", blamed[0])) if blamed else grid_line
                    issues.append(dataclasses.replace(
                        issue, line=line, origin=origin_of.get(("grid", where), ""),
                        message=f"{issue.message} [grid point {where}={labels.get(where, '')!r}]"
                        if blamed else f"{issue.message} [grid point {where}]"))
            else:
                issues.append(Issue("grid", str(err), grid_line))
            if len(issues) >= 20:
                break
            continue
        points.append(GridPoint(index, labels, point_spec))
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


