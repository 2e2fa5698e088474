"""Random mutations of the shipped spec files (types, keys, values, encodings) never give a
traceback: each mutant is refused with a `SpecError` that names the key (exit 2 on the command
line), or is accepted and then plans and builds every run's cohort as a sweep would."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from rlcraving.cli import app
from rlcraving.experiments.demo import DEMO_SPEC
from rlcraving.experiments.loader import SpecError, load_spec
from rlcraving.experiments.runner import plan
from rlcraving.experiments.spec import TDAgentSpec
from rlcraving.trials import is_trial_design

ROOT = Path(__file__).resolve().parents[1]
SPECS = {p.name: p.read_text() for p in sorted((ROOT / "experiments").glob("*.yaml"))
         if not is_trial_design(p)} | {"demo": DEMO_SPEC}

Path_ = tuple[Any, ...]


def paths(data: Any, prefix: Path_ = ()) -> list[Path_]:
    """Every key and list item of loaded YAML, as paths from the top."""
    out = []
    if isinstance(data, dict):
        for k, v in data.items():
            out += [(*prefix, k), *paths(v, (*prefix, k))]
    elif isinstance(data, list):
        for i, v in enumerate(data):
            out += [(*prefix, i), *paths(v, (*prefix, i))]
    return out


def parent_of(data: Any, path: Path_) -> Any:
    for part in path[:-1]:
        data = data[part]
    return data


text = st.text(st.characters(blacklist_categories=("Cs",)), max_size=12)
values = st.one_of(st.none(), st.booleans(), st.integers(-2**70, 2**70), st.floats(), text,
                   st.lists(st.integers(-5, 5), max_size=3), st.dictionaries(text, st.integers(), max_size=2))


@st.composite
def mutants(draw: st.DrawFn) -> tuple[str, bytes, str, Path_, Any]:
    """(spec name, file bytes, kind of mutation, path mutated, value that was there)."""
    name = draw(st.sampled_from(sorted(SPECS)))
    data = yaml.safe_load(SPECS[name])
    kind = draw(st.sampled_from(["type", "value", "rename", "delete", "add", "encoding"]))
    if kind == "encoding":
        raw = SPECS[name].encode()
        how = draw(st.sampled_from(["latin-1", "utf-16", "bytes", "truncate", "nul"]))
        at = draw(st.integers(0, len(raw)))
        if how == "latin-1":
            raw = (SPECS[name][:at] + "é" + SPECS[name][at:]).encode("latin-1", errors="replace")
        elif how == "utf-16":
            raw = SPECS[name].encode("utf-16")
        elif how == "bytes":
            raw = raw[:at] + draw(st.binary(min_size=1, max_size=4)) + raw[at:]
        elif how == "truncate":
            raw = raw[:at]
        else:
            raw = raw[:at] + b"\0" + raw[at:]
        return name, raw, f"encoding:{how}", (), None
    path = draw(st.sampled_from(paths(data)))
    parent, last = parent_of(data, path), path[-1]
    old = parent[last]
    if kind == "type":
        parent[last] = draw(values)
    elif kind == "value":
        if isinstance(old, bool) or not isinstance(old, (int, float)):
            parent[last] = draw(values)
        else:
            parent[last] = draw(st.sampled_from([-old, 0, old * 1000, old + 0.5, -1, 10**12, math.nan, math.inf]))
    elif kind == "delete":
        del parent[last]
    elif isinstance(parent, dict):  # rename / add: a key nobody knows
        new = draw(text.filter(lambda k: k not in parent and k.strip()))
        if kind == "rename":
            parent[new], old = parent.pop(last), last
        else:
            parent[new] = draw(values)
        path = (*path[:-1], new)
    else:  # add to a list: one more item
        parent.append(draw(values))
        kind, path = "append", (*path[:-1], len(parent) - 1)
    return name, yaml.safe_dump(data, allow_unicode=True, sort_keys=False).encode(), kind, path, old


def build_runs(study: Any) -> None:
    """What a sweep does before simulating: plan every run and build its cohort (one subject)."""
    from rlcraving.agents.cohort import _Cohort
    from rlcraving.agents.sb3 import algo_kwargs_for, make_env
    from rlcraving.protocol import as_calendar

    for task in plan(study):
        if isinstance(task.agent, TDAgentSpec):
            _Cohort(1, as_calendar(list(task.calendar)), task.agent.name, dict(task.agent.params) or None,
                    dict(task.env_kwargs), task.seed, task.trace_sessions, ())
        else:
            make_env(1, {**task.env_kwargs, "calendar": as_calendar(list(task.calendar))})
            algo_kwargs_for(task.agent.algo, 1, dict(task.agent.algo_kwargs) or None)


def names_the_key(err: SpecError, kind: str, path: Path_, old: Any) -> bool:
    """An unknown key is named (or, for a renamed key that was required, the key now missing); any
    other refusal names, in each problem, the key it is about (the mutated one, or one whose
    reference the mutation broke, e.g. an outcome's session past the calendar)."""
    if kind == "add" or (kind == "rename" and isinstance(path[-1], str)):
        names = [path[-1], *([old] if kind == "rename" else [])]
        return any(repr(n) in str(err) or str(n) in str(err) for n in names)
    return all(issue.key for issue in err.issues)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(mutant=mutants())
def test_mutated_specs_are_refused_naming_the_key_or_run(mutant: tuple[str, bytes, str, Path_, Any],
                                                         tmp_path_factory: pytest.TempPathFactory) -> None:
    name, raw, kind, path, old = mutant
    spec = tmp_path_factory.mktemp("fuzz") / "mutant.yaml"
    spec.write_bytes(raw)
    try:
        study = load_spec(spec)
    except SpecError as err:
        assert kind.startswith("encoding") or names_the_key(err, kind, path, old), (name, kind, path, str(err))
        accepted = False
    else:
        build_runs(study)
        accepted = True
    event(f"{kind.split(':')[0]}: {'accepted' if accepted else 'refused'}")
    result = CliRunner().invoke(app, ["check", str(spec)])
    assert result.exit_code == (0 if accepted else 2), (name, kind, path, result.output)
    assert "Traceback" not in result.output


@pytest.mark.parametrize(("entry", "fragment"), [
    ("agents:\n  td: {name: q_learning}", "line 3: agents.td: an agent needs a type"),
    ("agents:\n  td: {type: tdx, name: q_learning}", "line 3: agents.td: 'type'='tdx' is not allowed; choose one of"),
    ("baclofen:\n  regimen: {type: Foo}", "line 3: baclofen.regimen: 'type'='Foo' is not allowed; choose one of"),
])
def test_a_missing_or_unknown_type_is_named_plainly(entry: str, fragment: str) -> None:
    from rlcraving.experiments.loader import loads_spec

    with pytest.raises(SpecError) as caught:
        loads_spec(f"name: x\n{entry}\nsubjects: 2\ncalendar: [{{phase: extinction}}]\n")
    assert fragment in str(caught.value)
