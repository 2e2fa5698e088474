"""Scientific validation: the literature's signature phenomena, run on simulated cohorts.

Each phenomenon is a small unit (`rlcraving.validation.phenomena`, one module each) carrying its
paper, the paper's own size with the figure it comes from, the criterion with its tolerance, and
the protocol that tests it: cohorts of TD agents (and, for the headline, a stable-baselines3 arm)
live through the published protocol and the effect is measured with a 95% bootstrap interval.
`rlcraving validate` writes the report (`validation.md`, figures, `validation.csv`); the
committed `docs/validation.md` is that report. A phenomenon the model does not produce is
reported as failing, with its numbers.
"""

from rlcraving.validation import phenomena  # noqa: F401  (registers the units)
from rlcraving.validation.report import SB3_PHENOMENA, calibration_rows, main, run, write_report
from rlcraving.validation.unit import PHENOMENA, Config, Finding, Measurement, Phenomenon, register

__all__ = ["PHENOMENA", "SB3_PHENOMENA", "Config", "Finding", "Measurement", "Phenomenon", "calibration_rows",
           "main", "register", "run", "write_report"]
