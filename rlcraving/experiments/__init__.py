"""Studies: spec files, sweeps on local processes or a Ray cluster, tidy results, figures, statistics.

    from rlcraving.experiments import load_spec, run_study
    study = load_spec("experiments/baclofen_cue_reinstatement.yaml", overrides=["subjects=8"])
    result = run_study(study, "results/baclofen_cue_reinstatement", workers=2)
    result.summary  # per condition: mean and bootstrap 95% CI of each outcome

See docs/experiments.md.
"""

from rlcraving.experiments.loader import SpecError, Study, load_spec, loads_spec
from rlcraving.experiments.runner import RunError, RunTask, plan, simulate
from rlcraving.experiments.spec import StudySpec
from rlcraving.experiments.study import StudyResult, run_study

__all__ = ["RunError", "RunTask", "SpecError", "Study", "StudyResult", "StudySpec", "load_spec", "loads_spec",
           "plan", "run_study", "simulate"]
