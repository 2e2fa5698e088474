"""Fitting the model to a lab's data by simulation-based inference (sbi's neural posterior
estimation), amortised over subjects: which mechanism do these animals differ in?

    spec = load_fit_spec("experiments/fits/reinstatement.yaml")
    data = load_data("rats.csv", spec)                  # checked against the protocol
    result = fit(spec, data, Path("results/fit/rats"))  # posteriors, group differences, figures

See docs/fitting.md and `rlcraving fit --help`.
"""

from rlcraving.fit.data import DataError, FitData, check_data, load_data
from rlcraving.fit.inference import Estimator, FitError, train, trained_estimator
from rlcraving.fit.run import CheckResult, FitResult, check, fit, group_differences, main
from rlcraving.fit.simulate import Simulator, draw_prior, summaries
from rlcraving.fit.spec import FitSpec, FitSpecError, FreeParameter, load_fit_spec, loads_fit_spec

__all__ = ["CheckResult", "DataError", "Estimator", "FitData", "FitError", "FitResult", "FitSpec", "FitSpecError",
           "FreeParameter", "Simulator", "check", "check_data", "draw_prior", "fit", "group_differences",
           "load_data", "load_fit_spec", "loads_fit_spec", "main", "summaries", "train", "trained_estimator"]
