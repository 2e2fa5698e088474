"""Fitting a lab's data: chosen per-subject values, spec and data checks, the pipeline on a tiny
simulation budget, the statistics of group differences and calibration, and (slow) recovery,
calibration and the worked example at full budget."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from rlcraving.agents.cohort import run_cohort
from rlcraving.cli import app
from rlcraving.fit import (
    DataError,
    FitData,
    FitError,
    FitSpecError,
    check_data,
    fit,
    group_differences,
    load_fit_spec,
    loads_fit_spec,
    train,
)
from rlcraving.fit.example import simulate_groups
from rlcraving.fit.run import check_table, name_mechanisms
from rlcraving.fit.simulate import Simulations, Simulator

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE_SPEC = ROOT / "experiments" / "fits" / "reinstatement.yaml"

TINY = """\
name: tiny
environment: {individual_differences: true}
calendar:
  - {label: self_admin, phase: self_administration, days: 3, session_minutes: 20}
  - {label: extinction, phase: extinction, days: 2, session_minutes: 20}
  - {label: cue_test, phase: cue_reinstatement, session_minutes: 20}
parameters: [learning_rate, dopamine_sensitivity]
simulations: 120
posterior_samples: 50
predictive_draws: 2
training: {max_epochs: 3, hidden_features: 16, transforms: 1}
check: {subjects: 20, posterior_samples: 40}
"""


@pytest.fixture(scope="module")
def tiny() -> object:
    return loads_fit_spec(TINY)


@pytest.fixture(scope="module")
def tiny_table(tiny: object) -> pd.DataFrame:
    return simulate_groups(tiny, 6, "learning_rate", {"control": 1.0, "knockout": 0.5}, seed=3)


# ---------------------------------------------------------------------------------------------
# chosen per-subject values in the cohort API
# ---------------------------------------------------------------------------------------------


def test_subject_values_equal_to_the_defaults_change_nothing_and_others_do() -> None:
    calendar = [{"phase": "self_administration", "days": 2, "session_minutes": 20}]
    plain = run_cohort(5, calendar, seed=4).table
    same = run_cohort(5, calendar, seed=4, subject_values={"learning_rate": np.full(5, 0.05),
                                                           "dopamine_sensitivity": np.ones(5)}).table
    pd.testing.assert_frame_equal(plain, same)
    faster = run_cohort(5, calendar, seed=4, subject_values={"learning_rate": np.full(5, 0.5)}).table
    assert not faster["value"].equals(plain["value"])


def test_subject_values_are_checked() -> None:
    calendar = [{"phase": "self_administration", "session_minutes": 5}]
    with pytest.raises(ValueError, match=r"subject_values has unknown key\(s\) \['relief'\]"):
        run_cohort(3, calendar, subject_values={"relief": np.ones(3)})
    with pytest.raises(ValueError, match=r"traits\['vulnerability'\]\[1\]=-1.0 is outside the allowed range"):
        run_cohort(3, calendar, subject_values={"vulnerability": np.array([1.0, -1.0, 1.0])})
    with pytest.raises(ValueError, match=r"'learning_rate' must hold one value per subject, shape \(3,\)"):
        run_cohort(3, calendar, subject_values={"learning_rate": np.ones(2)})
    with pytest.raises(ValueError, match="operant_presses_per_h"):   # no spread between subjects: not settable
        run_cohort(3, calendar, subject_values={"operant_presses_per_h": np.ones(3)})


# ---------------------------------------------------------------------------------------------
# the fit spec
# ---------------------------------------------------------------------------------------------


def test_example_spec_loads_with_priors_from_the_documented_spreads() -> None:
    spec = load_fit_spec(EXAMPLE_SPEC)
    free = {p.name: p for p in spec.free()}
    assert free["learning_rate"].median == 0.05 and free["learning_rate"].sigma == 0.5
    assert free["dopamine_sensitivity"].median == 1.0 and free["dopamine_sensitivity"].sigma == 0.3


@pytest.mark.parametrize(("change", "message"), [
    ("parameters: [learning_rate, relief_weight]", r"line \d+: parameters.1: parameter 'relief_weight' cannot be "
                                                   r"fitted with agent 'q_learning'"),
    ("parameters: [operant_presses_per_h]", "parameter 'operant_presses_per_h' cannot be fitted"),
    ("parameters: []", "parameters"),
    ("measures: [presses]", "measures.0"),
    ("simulations: 10", "simulations"),
])
def test_bad_fit_specs_name_the_key_and_line(change: str, message: str) -> None:
    key = change.split(":")[0]
    text = "\n".join(change if line.startswith(key + ":") else line for line in TINY.splitlines())
    if key not in TINY:
        text += "\n" + change
    with pytest.raises(FitSpecError, match=message):
        loads_fit_spec(text)


# ---------------------------------------------------------------------------------------------
# the data
# ---------------------------------------------------------------------------------------------


def test_good_data_become_counts(tiny: object, tiny_table: pd.DataFrame) -> None:
    data = check_data(tiny_table, tiny)
    assert data.counts.shape == (12, 6, 3)
    assert data.group_names == ["control", "knockout"]
    row = tiny_table[(tiny_table["subject"] == "knockout-2") & (tiny_table["day"] == 1)
                     & (tiny_table["measure"] == "infusions")]
    assert data.counts[data.subjects.index("knockout-2"), 1, 2] == row["value"].item()


def _broken(table: pd.DataFrame, row: int, column: str, value: object) -> pd.DataFrame:
    out = table.copy()
    out[column] = out[column].astype(object)
    out.loc[row, column] = value
    return out


@pytest.mark.parametrize(("column", "value", "message"), [
    ("measure", "lever_presses", r"row 5 \(line 6\), column measure: measure='lever_presses' is not known"),
    ("phase", "extinction", r"row 5 \(line 6\), column phase: phase='extinction' but day 0 of the spec's "
                            r"calendar is 'self_administration'"),
    ("day", 9, r"row 5 \(line 6\), column day: day=9 is not a session of the calendar; the spec's calendar has "
               r"sessions 0..5"),
    ("value", -3.0, r"row 5 \(line 6\), column value: value=-3.0 must be a finite number >= 0"),
    ("group", "knockout", r"row 5 \(line 6\), column group: subject 'control-4' is in group 'knockout' here"),
])
def test_bad_rows_are_named_by_row_and_column(tiny: object, tiny_table: pd.DataFrame, column: str, value: object,
                                               message: str) -> None:
    with pytest.raises(DataError, match=message):
        check_data(_broken(tiny_table, 4, column, value), tiny, csv=True)


def test_missing_columns_sessions_duplicates_and_short_calendars(tiny: object, tiny_table: pd.DataFrame) -> None:
    with pytest.raises(DataError, match=r"column\(s\) \['phase'\] are missing"):
        check_data(tiny_table.drop(columns="phase"), tiny)
    gap = tiny_table.drop(index=tiny_table.index[(tiny_table["subject"] == "control-1") & (tiny_table["day"] == 4)
                                                 & (tiny_table["measure"] == "active_presses")])
    with pytest.raises(DataError, match=r"subject 'control-1': no row for day 4 \(extinction\), measure "
                                        r"'active_presses'"):
        check_data(gap, tiny)
    twice = pd.concat([tiny_table, tiny_table.iloc[[7]]], ignore_index=True)
    with pytest.raises(DataError, match=rf"row {len(twice)}, column measure: subject .* was already given at row 8"):
        check_data(twice, tiny)
    with pytest.raises(DataError, match="the data end at day 4 but the spec's calendar has 6 sessions"):
        check_data(tiny_table[tiny_table["day"] < 5], tiny)


def test_cli_reports_bad_data_in_one_message_without_a_traceback(tmp_path: Path, tiny_table: pd.DataFrame) -> None:
    spec = tmp_path / "tiny.yaml"
    spec.write_text(TINY)
    data = tmp_path / "rats.csv"
    _broken(tiny_table, 2, "measure", "presses").to_csv(data, index=False)
    result = CliRunner().invoke(app, ["fit", str(spec), str(data), "--out", str(tmp_path / "out")])
    assert result.exit_code == 2
    assert "row 3 (line 4), column measure: measure='presses' is not known" in result.output
    assert "Traceback" not in result.output
    assert not (tmp_path / "out").exists()


# ---------------------------------------------------------------------------------------------
# the pipeline on a tiny budget
# ---------------------------------------------------------------------------------------------


def test_pipeline_writes_posteriors_differences_figures_and_report(tmp_path: Path, tiny_table: pd.DataFrame) -> None:
    spec = tmp_path / "tiny.yaml"
    spec.write_text(TINY)
    data = tmp_path / "rats.parquet"
    tiny_table.to_parquet(data)
    out = tmp_path / "out"
    result = CliRunner().invoke(app, ["fit", str(spec), str(data), "--out", str(out), "--check", "--quiet"])
    assert result.exit_code == 0, result.output
    posterior = pd.read_parquet(out / "posterior.parquet")
    assert list(posterior.columns) == ["subject", "group", "draw", "parameter", "value"]
    assert len(posterior) == 12 * 50 * 2 and (posterior["value"] > 0).all()
    differences = pd.read_csv(out / "group_differences.csv")
    assert set(differences["parameter"]) == {"learning_rate", "dopamine_sensitivity"}
    assert differences["p_above_zero"].between(0, 1).all()
    check = pd.read_csv(out / "check.csv")
    assert list(check["parameter"]) == ["learning_rate", "dopamine_sensitivity"]
    for name in ("marginals", "group_differences", "predictive", "recovery", "calibration"):
        assert (out / "figures" / f"{name}.png").stat().st_size > 5000
    report = (out / "report.md").read_text()
    assert "## Group differences" in report and "## Recovery and calibration" in report
    # the saved estimator is reused: a second fit trains nothing and draws the same numbers
    before = (out / "estimator.pt").stat().st_mtime_ns
    again = CliRunner().invoke(app, ["fit", str(spec), str(data), "--out", str(out), "--quiet"])
    assert again.exit_code == 0, again.output
    assert (out / "estimator.pt").stat().st_mtime_ns == before
    pd.testing.assert_frame_equal(pd.read_parquet(out / "posterior.parquet"), posterior)


def test_same_seed_trains_the_same_estimator(tiny: object, tiny_table: pd.DataFrame) -> None:
    x = np.log1p(check_data(tiny_table, tiny).counts.reshape(12, -1))
    first, second = train(tiny), train(tiny)
    np.testing.assert_array_equal(first.sample(x, 20, 0), second.sample(x, 20, 0))


def test_failed_simulations_are_dropped_and_counted_or_stop_the_fit(tiny: object,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    real = Simulator.simulate

    def failing(share: float):
        def simulate(self: Simulator, theta: np.ndarray, purpose: int, progress: object = None) -> Simulations:
            sims = real(self, theta, purpose)
            bad = np.arange(len(theta)) < share * len(theta)
            sims.counts[bad, 0, 0] = np.nan
            return Simulations(sims.counts, sims.failed | bad, sims.errors)
        return simulate

    monkeypatch.setattr(Simulator, "simulate", failing(0.05))
    estimator = train(tiny.model_copy(update={"max_invalid_fraction": 0.1}))
    assert estimator.training["failed"] == 6
    with pytest.raises(FitError, match=r"6 of 120 training simulations failed .* max_invalid_fraction=0.01"):
        train(tiny)


# ---------------------------------------------------------------------------------------------
# the statistics
# ---------------------------------------------------------------------------------------------


def _data(groups: list[str]) -> FitData:
    return FitData([f"s{i}" for i in range(len(groups))], groups, np.zeros((len(groups), 1, 1)), ("infusions",))


def test_group_difference_posterior_names_the_shifted_parameter(tiny: object) -> None:
    rng = np.random.default_rng(0)
    groups = ["a"] * 20 + ["b"] * 20
    draws = rng.normal(0.0, 0.3, (40, 400, 2))
    draws[20:, :, 0] += 0.5            # group b: learning_rate higher by 0.5 on the log scale
    differences = group_differences(_data(groups), tiny.free(), draws)
    lr = differences.set_index("parameter").loc["learning_rate"]
    assert lr["difference"] == pytest.approx(0.5, abs=0.05) and lr["p_above_zero"] == 1.0
    assert lr["ratio"] == pytest.approx(math.exp(lr["difference"]))
    named = name_mechanisms(differences)
    assert named[0].startswith("b vs a: learning_rate differs most")
    same = group_differences(_data(groups), tiny.free(), rng.normal(0.0, 0.3, (40, 400, 2)))
    assert name_mechanisms(same) == ["b vs a: no parameter differs credibly (every 95% interval includes 0)"]


def test_calibration_of_an_exact_posterior_is_nominal(tiny: object) -> None:
    """Conjugate normal model: truth ~ N(mu, sigma), x = truth + N(0, s); the exact posterior's
    central intervals cover the truth at their level, and recovery r is sigma / sqrt(sigma^2 + s^2)."""
    rng = np.random.default_rng(1)
    free = tiny.free()
    mu = np.array([p.mu for p in free])
    sigma = np.array([p.sigma for p in free])
    n, s = 4000, sigma
    truth = mu + sigma * rng.standard_normal((n, 2))
    x = truth + s * rng.standard_normal((n, 2))
    post_var = 1 / (1 / sigma**2 + 1 / s**2)
    post_mean = post_var * (mu / sigma**2 + x / s**2)
    draws = post_mean[:, None, :] + np.sqrt(post_var) * rng.standard_normal((n, 300, 2))
    table = check_table(free, truth, draws)
    assert table["coverage_50"].between(0.47, 0.53).all() and table["coverage_90"].between(0.88, 0.92).all()
    assert table["recovery_r"].to_numpy() == pytest.approx(1 / math.sqrt(2), abs=0.03)
    assert table["contraction"].to_numpy() == pytest.approx(0.5, abs=0.03)
    assert list(table["identification"]) == ["identified", "identified"]


# ---------------------------------------------------------------------------------------------
# full budget (slow)
# ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def example_fit(tmp_path_factory: pytest.TempPathFactory) -> tuple[object, object]:
    from rlcraving.fit import check
    from rlcraving.fit.inference import trained_estimator

    spec = load_fit_spec(EXAMPLE_SPEC)
    estimator, _ = trained_estimator(spec, tmp_path_factory.mktemp("fit") / "estimator.pt")
    return spec, estimator, check(spec, estimator)


@pytest.mark.slow
def test_recovery_and_calibration_of_the_example_spec(example_fit: tuple) -> None:
    """Intervals are calibrated for every parameter (whatever the model's numbers), and the press
    counts identify at least the learning rate and the inverse temperature."""
    _, _, checked = example_fit
    table = checked.table.set_index("parameter")
    assert table["coverage_90"].between(0.82, 0.97).all(), table
    assert table["coverage_50"].between(0.40, 0.60).all(), table
    assert (table.loc[["learning_rate", "inverse_temperature"], "recovery_r"] >= 0.7).all(), table


@pytest.mark.slow
def test_worked_example_names_the_mechanism(example_fit: tuple, tmp_path: Path) -> None:
    """Two groups differing only in learning rate (halved), fitted blind over six parameters."""
    spec, estimator, _ = example_fit
    table = simulate_groups(spec, 100, "learning_rate", {"control": 1.0, "low_learning": 0.5}, seed=1)
    estimator.save(tmp_path / "estimator.pt")
    result = fit(spec, check_data(table, spec), tmp_path)
    assert not result.trained
    assert result.named[0].startswith("low_learning vs control: learning_rate differs most")
    lr = result.differences.set_index("parameter").loc["learning_rate"]
    assert lr["p_above_zero"] < 0.01 and lr["ci_low"] < math.log(0.5) * 0.3


def test_docs_list_every_fittable_parameter_with_its_prior() -> None:
    from rlcraving.fit.spec import fittable_parameters, free_parameter

    text = (ROOT / "docs" / "fitting.md").read_text()
    for name in fittable_parameters("q_learning"):
        p = free_parameter(name, "q_learning")
        row = next((line for line in text.splitlines() if line.startswith(f"| `{name}` |")), None)
        assert row is not None, name
        cells = [c.strip() for c in row.split("|")[1:-1]]
        assert cells[1] == p.kind and float(cells[2].removesuffix(" s")) == p.median and float(cells[3]) == p.sigma
