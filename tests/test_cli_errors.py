"""What a careless or hostile user meets on the command line: every bad input is a short error
on stderr with exit status 2 (never a traceback), bounded in time and memory, before any work.

Each case runs `rlcraving` as a subprocess. Faults the machine cannot produce on demand
(permission denied for root, an unexpected error) are injected into that process by a line of
Python run before the command line.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SMOKE = ROOT / "experiments" / "smoke_test.yaml"
#: A one-run smoke test: one seed, one subject.
TINY = ["--set", "seeds=[0]", "--set", "subjects=1", "--set", "grid={}", "--set", "analysis.axis=null"]


def cli(*args: str | Path, cwd: Path, inject: str = "", timeout: float = 120,
        env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """`rlcraving ARGS` in `cwd` (after running the Python line `inject`, if any)."""
    command = [sys.executable, "-m", "rlcraving"] if not inject else \
        [sys.executable, "-c", f"{inject}\nfrom rlcraving.cli import app\napp(prog_name='rlcraving')"]
    environment = {**os.environ, "PYTHONPATH": str(ROOT), **(env or {})}
    return subprocess.run([*command, *map(str, args)], cwd=cwd, capture_output=True, text=True, timeout=timeout,
                          env=environment, check=False)


def assert_refused(result: subprocess.CompletedProcess[str], *fragments: str, code: int = 2) -> None:
    """Exit status `code`, no traceback, a message on stderr holding every fragment."""
    assert result.returncode == code, (result.returncode, result.stdout, result.stderr)
    assert "Traceback" not in result.stderr + result.stdout, result.stderr
    assert result.stderr.strip(), "no message"
    for fragment in fragments:
        assert fragment in result.stderr, (fragment, result.stderr)


def alias_bomb(levels: int = 9, width: int = 9) -> str:
    """YAML of `levels` lists, each holding `width` aliases of the one before (width**levels values)."""
    lines = ["a0: &a0 [" + ", ".join(["x"] * width) + "]"]
    lines += [f"a{i}: &a{i} [" + ",".join([f"*a{i - 1}"] * width) + "]" for i in range(1, levels + 1)]
    return "\n".join(lines) + "\n"


# ------------------------------------------------------------------ spec files


def test_a_spec_that_is_not_utf8_is_refused_with_its_line(tmp_path: Path) -> None:
    spec = tmp_path / "latin1.yaml"
    spec.write_bytes(SMOKE.read_bytes().replace(b"Tiny", "Tíny".encode("latin-1")))
    for command in ("check", "sweep"):
        assert_refused(cli(command, spec, cwd=tmp_path), "not UTF-8", "byte 0xed", "line 6", "save the file as UTF-8")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["latin1.yaml"]


@pytest.mark.parametrize(("text", "fragment"), [
    ("name: x\nsubjects: " + "[" * 5000 + "]" * 5000 + "\n", "nest more than 50 levels"),
    (alias_bomb(), "aliases (*name) expand it to more than 100,000 values"),
    ("name: x\n" + "# padding\n" * 200_000, "larger than 1,000,000 bytes"),
], ids=["deep-nesting", "alias-bomb", "huge-file"])
def test_oversized_yaml_is_refused_before_any_work(text: str, fragment: str, tmp_path: Path) -> None:
    spec = tmp_path / "hostile.yaml"
    spec.write_text(text)
    start = time.monotonic()
    result = cli("sweep", spec, cwd=tmp_path, timeout=60)
    assert_refused(result, "hostile.yaml", fragment)
    assert time.monotonic() - start < 30


def test_an_alias_bomb_in_a_set_option_is_refused(tmp_path: Path) -> None:
    bomb = "{" + alias_bomb().replace("\n", ", ").rstrip(", ") + "}"
    assert_refused(cli("check", SMOKE, "--set", f"description={bomb}", cwd=tmp_path), "--set", "aliases")


def test_modest_aliases_still_load(tmp_path: Path) -> None:
    result = cli("check", ROOT / "experiments" / "clinical_trial.yaml", cwd=tmp_path)  # uses &week / *week
    assert result.returncode == 0, result.stderr


# ------------------------------------------------------------------ output folders


@pytest.mark.parametrize("command", [["sweep", SMOKE], ["run", SMOKE], ["demo"], ["bench", "--quick"]],
                         ids=lambda c: c[0])
@pytest.mark.parametrize(("out", "fragment"), [("afile", "is a file"), ("afile/sub", "lies under afile"),
                                               ("", "is empty")], ids=["file", "under-file", "empty"])
def test_an_output_folder_that_cannot_be_one_is_refused(command: list, out: str, fragment: str,
                                                        tmp_path: Path) -> None:
    (tmp_path / "afile").write_text("not a folder")
    result = cli(*command, "--out", out, cwd=tmp_path)
    assert_refused(result, f"out={out!r}", fragment)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["afile"]


def test_permission_denied_on_the_output_folder_is_refused(tmp_path: Path) -> None:
    deny = ("import pathlib\n_mkdir = pathlib.Path.mkdir\n"
            "def mkdir(self, *a, **k):\n"
            "    if 'locked' in str(self): raise PermissionError(13, 'Permission denied', str(self))\n"
            "    return _mkdir(self, *a, **k)\n"
            "pathlib.Path.mkdir = mkdir")
    for command in (["sweep", SMOKE], ["bench", "--quick"]):
        result = cli(*command, "--out", "locked/results", cwd=tmp_path, inject=deny)
        assert_refused(result, "out='locked/results'", "Permission denied", "give a folder you can write to")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_a_read_only_output_folder_is_refused(tmp_path: Path) -> None:
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o555)
    assert_refused(cli("sweep", SMOKE, "--out", locked, cwd=tmp_path), "Permission denied")


def test_dot_dot_in_the_output_folder_makes_no_folder_on_the_way(tmp_path: Path) -> None:
    result = cli("run", SMOKE, *TINY, "--out", "a/b/../c", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "a" / "c" / "results.parquet").is_file() and not (tmp_path / "a" / "b").exists()
    assert "-> a/c (new folders a, a/c)" in result.stdout


# ------------------------------------------------------------------ options and unexpected errors


@pytest.mark.parametrize("seconds", ["nan", "-1", "0", "inf"])
def test_bench_refuses_a_measuring_time_that_is_not_positive(seconds: str, tmp_path: Path) -> None:
    assert_refused(cli("bench", "--seconds", seconds, "--out", "bench", cwd=tmp_path), "seconds=")
    assert list(tmp_path.iterdir()) == []


def test_an_unexpected_error_is_one_line_unless_the_traceback_is_asked_for(tmp_path: Path) -> None:
    boom = ("import rlcraving.experiments.study as study\n"
            "def broken(*a, **k): raise RuntimeError('simulated fault\\nsecond line')\n"
            "study.run_study = broken")
    result = cli("run", SMOKE, "--out", "out", cwd=tmp_path, inject=boom)
    assert_refused(result, "rlcraving run: unexpected error: RuntimeError: simulated fault second line",
                   "RLCRAVING_TRACEBACK=1", code=1)
    assert len(result.stderr.strip().splitlines()) == 1
    shown = cli("run", SMOKE, "--out", "out", cwd=tmp_path, inject=boom, env={"RLCRAVING_TRACEBACK": "1"})
    assert shown.returncode == 1 and "Traceback" in shown.stderr and "simulated fault" in shown.stderr


def test_validate_refuses_an_output_folder_under_a_file_before_running(tmp_path: Path) -> None:
    (tmp_path / "afile").write_text("not a folder")
    start = time.monotonic()
    result = cli("validate", "--out", "afile/report", "--only", "acquisition", cwd=tmp_path)
    assert_refused(result, "out='afile/report'", "lies under afile")
    assert time.monotonic() - start < 30


# ------------------------------------------------------------------ trial designs


def test_a_missing_trial_design_and_zero_trials_are_refused_before_any_work(tmp_path: Path) -> None:
    assert_refused(cli("trial", tmp_path / "nowhere.yaml", cwd=tmp_path), "DESIGN=", "nowhere.yaml", "is not a file")
    design = ROOT / "experiments" / "shoptaw_2003.yaml"
    assert_refused(cli("trial", design, "--trials", "0", cwd=tmp_path), "--trials", "greater than or equal")
    assert_refused(cli("trial", design, "--scale", "0", cwd=tmp_path), "--scale", "greater than or equal")
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: bad\nn_randomised: 2\n", encoding="utf-8")
    assert_refused(cli("trial", bad, cwd=tmp_path), "n_randomised", "2")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.yaml"]   # no results folder made


def _probe_main(agent: str = "q_learning", n: int = 200, changes: tuple[str, ...] = (),
                kwargs: dict[str, float] | None = None) -> tuple:
    if agent not in ("q_learning", "sarsa"):
        raise ValueError(f"agent={agent!r} is not known; choose one of ['q_learning', 'sarsa']")
    return agent, n, changes, kwargs


def test_experiment_scripts_take_typed_words_and_fail_in_one_line(capsys, monkeypatch):
    """`run_script` maps a script's words onto its main's parameters; bad words end it in one line."""
    from rlcraving.cli import EXIT_BAD_INPUT, run_script

    monkeypatch.setattr(sys, "argv", ["probe.py"])
    assert run_script(_probe_main, []) == ("q_learning", 200, (), None)
    assert run_script(_probe_main, ["sarsa", "8", "a=1", "b=2"]) == ("sarsa", 8, ("a=1", "b=2"), None)
    for words, message in ((["sarsa", "eight"], "probe.py: n='eight' is not allowed: a whole number"),
                           (["nosuch"], "probe.py: agent='nosuch' is not known")):
        with pytest.raises(SystemExit) as ended:
            run_script(_probe_main, words)
        assert ended.value.code == EXIT_BAD_INPUT
        err = capsys.readouterr().err
        assert err.startswith(message) and "Traceback" not in err and err.count("\n") == 1
