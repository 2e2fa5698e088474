"""The `rlcraving` command line end to end on the smoke-test study (real TD cohorts)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from rlcraving.cli import _delegate, app

pytest.importorskip("rlcraving.agents.cohort", reason="the TD cohort runner is not available")

ROOT = Path(__file__).resolve().parents[1]
SMOKE = ROOT / "experiments" / "smoke_test.yaml"
runner = CliRunner()


def invoke(*args: str):
    return runner.invoke(app, [str(a) for a in args], catch_exceptions=False)


@pytest.fixture(scope="module")
def swept(tmp_path_factory) -> Path:
    """The smoke test swept once, uninterrupted."""
    out = tmp_path_factory.mktemp("cli") / "swept"
    result = invoke("sweep", SMOKE, "--out", out)
    assert result.exit_code == 0, result.output
    (out / "stdout.txt").write_text(result.stdout)
    return out


def test_sweep_end_to_end(swept):
    out = swept
    stdout = (out / "stdout.txt").read_text()
    assert "2 condition(s) x 2 seed(s) = 4 run(s)" in stdout
    assert "outcomes per condition" in stdout and "mg_per_kg=5.0" in stdout and "Jonckheere" in stdout
    for name in ("spec.yaml", "metadata.json", "results.parquet", "results.csv", "traces.parquet", "summary.csv",
                 "tests.csv", "outcomes.csv", "figures/sessions.png", "figures/outcome_cue.png",
                 "figures/traces_cue_locked.png"):
        assert (out / name).is_file(), name
    table = pd.read_parquet(out / "results.parquet")
    assert set(table["condition"]) == {"mg_per_kg=0.0", "mg_per_kg=5.0"} and set(table["seed"]) == {0, 1}
    assert {"active_presses", "infusions"} <= set(table["measure"]) and len(table) == 2 * 2 * 3 * 4 * table[
        "measure"].nunique()
    again = invoke("sweep", SMOKE, "--out", out)
    assert again.exit_code == 0 and "0 run(s)" in again.stdout and "(4 already done)" in again.stdout


def test_killed_sweep_resumes_to_the_same_table(swept, tmp_path):
    out = tmp_path / "killed"
    args = [sys.executable, "-m", "rlcraving", "sweep", str(SMOKE), "--out", str(out), "-q"]
    proc = subprocess.Popen(args, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and not list((out / "runs").glob("*-s?.sha256.json")):
            time.sleep(0.05)
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    saved = list((out / "runs").glob("*-s?.sha256.json"))
    assert 1 <= len(saved) < 4 and not (out / "results.parquet").exists()
    result = invoke("sweep", SMOKE, "--out", out)
    assert result.exit_code == 0 and f"({len(saved)} already done)" in result.stdout
    pd.testing.assert_frame_equal(pd.read_parquet(out / "results.parquet"), pd.read_parquet(swept / "results.parquet"))
    assert (out / "summary.csv").read_bytes() == (swept / "summary.csv").read_bytes()


def test_run_ignores_the_grid(tmp_path):
    result = invoke("run", SMOKE, "--out", tmp_path, "--set", "seeds=[0]", "--set", "subjects=2")
    assert result.exit_code == 0, result.output
    assert "ignored by `run`" in result.stdout
    table = pd.read_parquet(tmp_path / "results.parquet")
    assert set(table["condition"]) == {"smoke_test"} and set(table["subject"]) == {0, 1}


BAD = {
    "unknown key": (("subjects: 3", "subjects: 3\nsubjekts: 4"), ["line 9", "subjekts", "allowed keys"]),
    "wrong type": (("subjects: 3", "subjects: three"), ["line 8", "subjects", "'three'", "valid integer"]),
    "negative dose": (("[0.0, 5.0]", "[0.0, -5.0]"), ["line 30", "-5.0", "[0.0, 20.0]"]),
    "empty grid": (("[0.0, 5.0]", "[]"), ["line 30", "no values"]),
}


@pytest.mark.parametrize("case", BAD)
def test_bad_specs_fail_clearly_and_write_nothing(case, tmp_path):
    (old, new), expected = BAD[case]
    text = SMOKE.read_text()
    assert old in text
    spec = tmp_path / "bad.yaml"
    spec.write_text(text.replace(old, new, 1))
    for command in ("sweep", "run", "check"):
        args = [command, spec] + (["--out", tmp_path / "out"] if command != "check" else [])
        result = invoke(*args)
        assert result.exit_code == 2, (command, result.output)
        for fragment in expected:
            assert fragment in result.stderr, (command, fragment, result.stderr)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.yaml"]


def test_bad_set_and_missing_grid(tmp_path):
    result = invoke("sweep", SMOKE, "--out", tmp_path / "out", "--set", "baclofen.regimen.mg_per_kg=-1")
    assert result.exit_code == 2 and "--set baclofen.regimen.mg_per_kg=-1" in result.stderr
    result = invoke("sweep", SMOKE, "--out", tmp_path / "out", "--set", "grid={}", "--set", "analysis.axis=null")
    assert result.exit_code == 2 and "no grid to sweep" in result.stderr
    assert not (tmp_path / "out").exists()


def test_check_prints_the_plan():
    result = invoke("check", SMOKE, "--grid", "environment.kor_knockout=false,true")
    assert result.exit_code == 0
    assert "# 4 grid point(s) x 2 seed(s):" in result.stdout and "mg_per_kg=5.0, kor_knockout=True" in result.stdout


def test_python_dash_m_and_delegated_commands(capsys):
    done = subprocess.run([sys.executable, "-m", "rlcraving", "--help"], cwd=ROOT, capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0
    for command in ("demo", "run", "sweep", "check", "validate", "bench"):
        assert command in done.stdout
    import typer

    with pytest.raises(typer.Exit) as info:
        _delegate("rlcraving.no_such_module", "validate", [])
    assert info.value.exit_code == 2 and "not part of this installation" in capsys.readouterr().err


def test_delegated_help_lists_each_option_with_its_help():
    from typer.testing import CliRunner

    from rlcraving.cli import app

    out = CliRunner().invoke(app, ["bench", "--help"], terminal_width=200).output
    assert "minimum time per rate measurement" in out and "Args:" not in out


def test_set_on_a_spec_without_agents_edits_the_default_agent(tmp_path):
    from rlcraving.experiments.loader import SpecError, load_spec

    spec = tmp_path / "no_agents.yaml"
    spec.write_text("name: x\nsubjects: 2\ncalendar:\n  - {phase: self_administration, days: 2}\n")
    study = load_spec(spec, ["agents.td.params.learning_rate=0.1"])
    assert study.spec.agents["td"].params == {"learning_rate": 0.1}
    with pytest.raises(SpecError, match="an agent needs a type: td"):
        load_spec(spec, ["agents.other.params.learning_rate=0.1"])


def test_printed_summary_is_not_cut_when_piped(tmp_path):
    import subprocess
    import sys

    out = subprocess.run([sys.executable, "-m", "rlcraving", "sweep", "experiments/smoke_test.yaml", "--out",
                          str(tmp_path)], capture_output=True, text=True, check=True).stdout
    versus = [line for line in out.splitlines() if line.startswith("cue: mg_per_kg=5.0 vs 0.0:")]
    assert len(versus) == 1 and len(versus[0]) > 80 and "permutation p = " in versus[0]   # one line, not cut
    assert all("…" not in line for line in out.splitlines())


TINY_TRIAL = """name: tiny
n_randomised: 12
history_weeks: 1
baseline_weeks: 1
treatment_weeks: 1
"""


def test_trial_runs_a_design_many_times_writes_its_table_and_figure_and_prints_the_power(tmp_path):
    design = tmp_path / "tiny.yaml"
    design.write_text(TINY_TRIAL, encoding="utf-8")
    args = [sys.executable, "-m", "rlcraving", "trial", str(design), "--trials", "2", "--scale", "1", "--seed", "4",
            "--out", str(tmp_path / "out")]
    done = subprocess.run(args, capture_output=True, text=True, check=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
    table = pd.read_csv(tmp_path / "out" / "tiny_trials.csv")
    assert list(table["trial"]) == [0, 1] and set(table["scale"]) == {1} and set(table["n_planned"]) == {12}
    assert (table["effect"] - (table["outcome_baclofen"] - table["outcome_placebo"])).abs().max() < 1e-9
    assert (tmp_path / "out" / "tiny_power.png").stat().st_size > 1000
    assert f"effect {table['effect'].mean():+.2f} [95% CI " in done.stdout
    assert "GEE p < 0.05 favouring baclofen: " in done.stdout
    assert "subgroup by baseline use: heavier users" in done.stdout
    subprocess.run(args[:-1] + [str(tmp_path / "again")], capture_output=True, text=True, check=True,
                   env={**os.environ, "PYTHONPATH": str(ROOT)})     # same seed, same trials
    assert (tmp_path / "again" / "tiny_trials.csv").read_text() == (tmp_path / "out" / "tiny_trials.csv").read_text()


def test_trial_with_an_empty_arm_is_reported_not_a_traceback(tmp_path):
    # 4 severe users planned, one screened per place: at seed 1 nobody is randomised (measured),
    # so no trial has both arms; the command says so in a line and still writes its table
    design = tmp_path / "empty.yaml"
    design.write_text("name: empty\nn_randomised: 4\nhistory_weeks: 1\nbaseline_weeks: 1\ntreatment_weeks: 1\n"
                      "eligibility: severe\nscreen_factor: 1\n", encoding="utf-8")
    args = [sys.executable, "-W", "error::RuntimeWarning", "-m", "rlcraving", "trial", str(design), "--trials", "1",
            "--scale", "1", "--seed", "1", "--out", str(tmp_path / "out")]
    done = subprocess.run(args, capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert done.returncode == 0, done.stderr
    table = pd.read_csv(tmp_path / "out" / "empty_trials.csv")
    assert table["effect"].isna().all()
    assert "no trial could be analysed" in done.stdout and "Traceback" not in done.stderr
