"""Study specs: the shipped studies validate; bad specs give errors naming line, key, value and what is allowed."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from rlcraving.experiments.demo import DEMO_SPEC, demo_study
from rlcraving.experiments.loader import SpecError, load_spec, loads_spec, set_path
from rlcraving.experiments.spec import run_key
from rlcraving.pharmacology import OralTID, Placebo, RatIP, Titration
from rlcraving.trials import is_trial_design

EXPERIMENTS = [p for p in sorted((Path(__file__).resolve().parents[1] / "experiments").glob("*.yaml"))
               if not is_trial_design(p)]   # trial designs are read by rlcraving.trials

BASE = """\
name: t
subjects: 4
seeds: 2
agents:
  td: {type: td, name: q_learning}
calendar:
  - {label: sa, phase: self_administration, days: 3}
  - {label: ext, phase: extinction, days: 2, context: B}
  - {label: test, phase: cue_reinstatement}
baclofen:
  regimen: {type: RatIP, mg_per_kg: 0.0}
  sessions: [test]
grid:
  baclofen.regimen.mg_per_kg: [0.0, 2.5]
analysis:
  axis: baclofen.regimen.mg_per_kg
  outcomes:
    - {measure: active_presses, session: test, baseline: "ext:-1"}
"""


def study_of(*sets: str, text: str = BASE):
    return loads_spec(text, source="t.yaml", overrides=sets)


def error_of(text: str = BASE, *sets: str, grid: tuple[str, ...] = ()) -> str:
    with pytest.raises(SpecError) as info:
        loads_spec(text, source="t.yaml", overrides=sets, grid=grid)
    return str(info.value)


def test_shipped_studies_validate():
    names = {p.stem for p in EXPERIMENTS}
    assert {"baclofen_cue_reinstatement", "escalation", "progressive_ratio_baclofen", "reinstatement_battery",
            "kor_knockout", "incubation", "clinical_trial"} <= names
    for path in EXPERIMENTS:
        study = load_spec(path)
        assert study.spec.name == path.stem
        assert len(study.points) >= 2, path


def test_headline_study_design():
    study = load_spec(next(p for p in EXPERIMENTS if p.stem == "baclofen_cue_reinstatement"))
    doses = study.spec.grid["baclofen.regimen.mg_per_kg"]
    assert doses[0] == 0.0 and set(doses) >= {1.25, 2.5, 5.0}
    arms = {p.spec.agent_spec.type for p in study.points}
    assert arms == {"td", "sb3"}
    point = next(p for p in study.points if p.labels["baclofen.regimen.mg_per_kg"] == 2.5)
    entries = point.spec.calendar_entries()
    assert entries[-1]["baclofen"] == RatIP(2.5, minutes_before=30.0)   # before the test only
    assert all("baclofen" not in e for e in entries[:-1])


def test_base_spec_loads_with_defaults_and_round_trips():
    study = study_of()
    spec = study.spec
    assert spec.seeds == [0, 1] and spec.agent == "td" and spec.environment.kor_knockout is False
    assert [study.condition(p) for p in study.points] == ["mg_per_kg=0.0", "mg_per_kg=2.5"]
    again = loads_spec(yaml.safe_dump(spec.dump()))
    assert again.spec == spec and len(again.points) == 2
    assert demo_study().spec.name == "demo" and "baclofen" in DEMO_SPEC


def test_sessions_and_regimen_placement():
    spec = study_of("calendar.ext.baclofen={type: OralTID, mg_per_day: 30}",
                      "baclofen.sessions=[sa]").spec
    assert spec.sessions("sa") == [0, 1, 2] and spec.sessions("ext:-1") == [4] and spec.sessions(-1) == [5]
    assert spec.entry_names() == ["sa", "sa", "sa", "ext", "ext", "test"]
    entries = spec.calendar_entries()
    assert entries[0]["baclofen"] == RatIP(0.0)
    assert entries[1]["baclofen"] == OralTID(30.0)   # the entry's own regimen wins
    assert "baclofen" not in entries[2]
    everywhere = study_of("baclofen.sessions=all", "baclofen.regimen={type: Titration}", "grid={}",
                          "analysis.axis=null").spec
    assert everywhere.env_kwargs()["baclofen"] == Titration()
    assert all("baclofen" not in e for e in everywhere.calendar_entries())
    stopped = study_of("baclofen.sessions=[ext]").spec.calendar_entries()
    assert stopped[2]["baclofen"] == Placebo()   # a regimen ends after the entries it applies to


def test_set_path_resolves_labels_indices_and_merges():
    data = yaml.safe_load(BASE)
    assert set_path(data, "calendar.test.days", 2) == ("calendar", 2, "days")
    assert set_path(data, "calendar.-1.context", "C") == ("calendar", 2, "context")
    set_path(data, "calendar.ext", {"phase": "extinction", "context": "C"})
    assert data["calendar"][1] == {"label": "ext", "phase": "extinction", "days": 2, "context": "C"}
    set_path(data, "baclofen.regimen", {"type": "Placebo"})
    assert data["baclofen"]["regimen"] == {"type": "Placebo"}   # a typed mapping replaces
    with pytest.raises(ValueError, match="must name exactly one entry"):
        set_path(data, "calendar.nope.days", 1)


def test_named_grid_values_and_reference():
    study = study_of("grid.calendar.test={cue: {phase: cue_reinstatement}, "
                             "shock: {phase: stress_reinstatement, footshock_mA: 0.5}}",
                       "analysis.reference=2.5")
    conditions = [study.condition(p) for p in study.points]
    assert conditions[1] == "mg_per_kg=0.0, test=shock"
    assert study.points[1].spec.calendar[-1].footshock_mA == 0.5
    assert study.points[1].spec.calendar[-1].label == "test"
    assert study.spec.reference_label == 2.5
    replaced = study_of("grid.calendar.test={shock: {phase: stress_reinstatement}}",
                        "grid.calendar.test={cue: {phase: cue_reinstatement}}")
    assert list(replaced.spec.grid["calendar.test"]) == ["cue"]   # a grid axis is replaced, not merged


def test_run_key_depends_on_what_runs_only():
    a = study_of().spec
    b = study_of("analysis.bootstrap=500", "description=other").spec
    c = study_of("environment.params.dt_s=8.0").spec
    assert run_key(a, 0) == run_key(b, 0) != run_key(a, 1)
    assert run_key(a, 0) != run_key(c, 0)


# ------------------------------------------------------------------------------ bad specs


def test_unknown_key_names_line_and_allowed_keys():
    msg = error_of(BASE.replace("seeds: 2", "seeds: 2\nsubjectz: 3"))
    assert "line 4" in msg and "subjectz" in msg and "allowed keys" in msg and "'subjects'" in msg
    msg = error_of(BASE.replace("{label: ext,", "{label: ext, contxt: B,"))
    assert "line 8" in msg and "contxt" in msg and "'context'" in msg


def test_wrong_type_names_value_and_expectation():
    msg = error_of(BASE.replace("subjects: 4", "subjects: four"))
    assert "line 2" in msg and "subjects" in msg and "'four'" in msg and "valid integer" in msg
    msg = error_of(BASE.replace("context: B", "context: Z"))
    assert "line 8" in msg and "context='Z'" in msg and "['A', 'B', 'C']" in msg
    msg = error_of(BASE.replace("phase: extinction", "phase: extinktion"))
    assert "calendar.1.phase" in msg and "'extinktion'" in msg and "'extinction'" in msg


def test_negative_dose_in_base_and_in_grid():
    msg = error_of(BASE.replace("mg_per_kg: 0.0}", "mg_per_kg: -1.0}"))
    assert "line 11" in msg and "baclofen.regimen" in msg and "-1.0" in msg and "[0.0, 20.0]" in msg
    msg = error_of(BASE.replace("[0.0, 2.5]", "[0.0, -2.5]"))
    assert "line 14" in msg and "-2.5" in msg and "allowed range" in msg and "grid point" in msg
    msg = error_of(BASE, "baclofen.regimen={type: OralTID, mg_per_day: -5}")
    assert "--set" in msg and "mg_per_day=-5" in msg


def test_empty_grid_axis_and_other_grid_errors():
    msg = error_of(BASE.replace("[0.0, 2.5]", "[]"))
    assert "line 14" in msg and "no values" in msg
    assert "repeated values" in error_of(BASE.replace("[0.0, 2.5]", "[2.5, 2.5]"))
    assert "cannot be swept" in error_of(BASE, grid=("seeds=1,2",))
    assert "not a grid key" in error_of(BASE, "analysis.axis=subjects")


def test_references_regimens_agents_and_yaml_errors():
    assert "session 'nope' names no calendar entry" in error_of(BASE, "traces=[nope]")
    assert "-7 is outside the calendar" in error_of(BASE, "traces=[-7]")
    msg = error_of(BASE, "baclofen.regimen.type=Aspirin")
    assert "'Aspirin'" in msg and "'RatIP'" in msg and "'Titration'" in msg
    msg = error_of(BASE, "agents.td.name=nope")
    assert "agents.td.name" in msg and "q_learning" in msg
    assert "key given twice" in error_of(BASE + "subjects: 5\n")
    assert "not valid YAML" in error_of("name: [unclosed\n")
    assert "must look like key.sub=value" in error_of(BASE, "subjects")
    assert "agent='zz'" in error_of(BASE, "agent=zz")
    with pytest.raises(SpecError, match="cannot read"):
        load_spec("/nonexistent/spec.yaml")


def test_every_problem_is_reported_at_once():
    msg = error_of(BASE.replace("subjects: 4", "subjects: 0").replace("context: B", "context: Q"))
    assert "2 problem(s)" in msg and "subjects" in msg and "context" in msg
