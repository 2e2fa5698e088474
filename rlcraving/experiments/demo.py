"""The classroom demo: one small study (its running time is stated in the README)."""

from __future__ import annotations

from rlcraving.experiments.loader import Study, loads_spec

DEMO_SPEC = """\
name: demo
description: >
  Rats learn to press a lever for intravenous cocaine (10 daily 1-h sessions; each infusion
  comes with a light/tone cue), stop pressing when it no longer pays (6 extinction sessions),
  then meet the cue again in a relapse test, 30 min after an i.p. injection of baclofen
  (0, 1.25, 2.5 or 5 mg/kg). Watch active presses rise and fall, the prediction error move from the
  drug to the cue, and relapse shrink with the baclofen dose.
subjects: 48
seeds: 1
environment:
  individual_differences: true
agents:
  td: {type: td, name: q_learning}
calendar:
  - {label: self_admin, phase: self_administration, days: 10}
  - {label: extinction, phase: extinction, days: 6}
  - {label: cue_test, phase: cue_reinstatement}
baclofen:
  regimen: {type: RatIP, mg_per_kg: 0.0, minutes_before: 30}
  sessions: [cue_test]
traces: ["self_admin:0", "self_admin:-1", cue_test]
grid:
  baclofen.regimen.mg_per_kg: [0.0, 1.25, 2.5, 5.0]
analysis:
  axis: baclofen.regimen.mg_per_kg
  outcomes:
    - {name: cue_relapse, measure: active_presses, session: cue_test, baseline: "extinction:-1"}
"""


def demo_study(overrides: list[str] | tuple[str, ...] = ()) -> Study:
    """The demo study, with ``key=value`` overrides."""
    return loads_spec(DEMO_SPEC, source="the built-in demo spec", overrides=overrides)
