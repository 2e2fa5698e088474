"""What a resumed or interrupted sweep keeps, through the CLI as a subprocess: damaged or edited
run files are run again (and the user is told), stale temporary files are removed, a full disk
and Ctrl-C leave metadata.json true, and Ctrl-C stops the workers within seconds."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from rlcraving.experiments.runner import RunStore

ROOT = Path(__file__).resolve().parents[1]
SMOKE = ROOT / "experiments" / "smoke_test.yaml"
FAULTS = Path(__file__).resolve().parent / "faults"


def environment(fault: str = "") -> dict[str, str]:
    path = f"{FAULTS}{os.pathsep}{ROOT}" if fault else str(ROOT)
    return {**os.environ, "PYTHONPATH": path, "RLCRAVING_FAULT": fault}


def sweep(out: Path, *extra: str, fault: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "rlcraving", "sweep", str(SMOKE), "--out", str(out), "-q", *extra],
                          cwd=out.parent, capture_output=True, text=True, timeout=300, env=environment(fault),
                          check=False)


def status(out: Path) -> str:
    return json.loads((out / "metadata.json").read_text())["status"]


def run_files(out: Path) -> list[Path]:
    return sorted((out / "runs").glob("*-s?.parquet"))


@pytest.fixture(scope="module")
def finished(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("resume") / "finished"
    result = sweep(out)
    assert result.returncode == 0, result.stderr
    return out


def copy_of(finished: Path, tmp_path: Path) -> Path:
    out = tmp_path / "copy"
    shutil.copytree(finished, out)
    (out / "results.parquet").unlink()
    return out


def assert_same_results(out: Path, finished: Path) -> None:
    pd.testing.assert_frame_equal(pd.read_parquet(out / "results.parquet"),
                                  pd.read_parquet(finished / "results.parquet"))
    assert status(out) == "complete"


def edit_a_value(path: Path) -> None:
    table = pd.read_parquet(path)
    table.loc[0, "value"] += 1.0
    table.to_parquet(path, index=False)


DAMAGE = {
    "truncated": lambda p: p.write_bytes(p.read_bytes()[: p.stat().st_size // 2]),
    "empty": lambda p: p.write_bytes(b""),
    "garbage": lambda p: p.write_bytes(b"not parquet at all"),
    "edited-but-valid": edit_a_value,
    "deleted": lambda p: p.unlink(),
    "checksum-deleted": lambda p: p.with_name(p.name.replace(".parquet", ".sha256.json")).unlink(),
}


@pytest.mark.parametrize("damages", [("truncated", "empty", "garbage"), ("edited-but-valid", "deleted",
                                                                        "checksum-deleted")], ids="+".join)
def test_damaged_or_edited_run_files_are_run_again_and_said_so(damages: tuple[str, ...], finished: Path,
                                                               tmp_path: Path) -> None:
    out = copy_of(finished, tmp_path)
    victims = run_files(out)[: len(damages)]
    for damage, victim in zip(damages, victims, strict=True):
        DAMAGE[damage](victim)
    result = sweep(out)
    assert result.returncode == 0 and "Traceback" not in result.stderr, result.stderr
    for victim in victims:
        key = victim.name.removesuffix(".parquet")
        assert f"run {key} (" in result.stderr and RunStore(out).done(key)
    assert result.stderr.count("running it again") == len(damages)
    assert_same_results(out, finished)


def test_stale_temporary_files_are_removed_and_live_ones_kept(finished: Path, tmp_path: Path) -> None:
    out = copy_of(finished, tmp_path)
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True,
                          check=True)
    stale = out / "runs" / f".{run_files(out)[0].name}.{int(dead.stdout)}.tmp"
    live = out / "runs" / f".{run_files(out)[0].name}.{os.getpid()}.tmp"
    for path in (stale, live):
        path.write_bytes(b"half a parquet file")
    result = sweep(out)
    assert result.returncode == 0, result.stderr
    assert not stale.exists() and live.exists() and "removed 1 temporary file(s)" in result.stderr
    assert_same_results(out, finished)


def test_a_full_disk_is_one_line_and_metadata_says_what_was_saved(finished: Path, tmp_path: Path) -> None:
    out = tmp_path / "full"
    out.mkdir()
    result = sweep(out, fault="disk_full_after_2")  # one run's two tables fit, the next run's do not
    assert result.returncode == 1 and "Traceback" not in result.stderr, result.stderr
    assert "No space left on device" in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert status(out).startswith("failed: 1 of 4 runs saved; OSError: [Errno 28] No space left on device")
    assert list((out / "runs").glob(".*.tmp")) == []
    resumed = sweep(out)
    assert resumed.returncode == 0, resumed.stderr
    assert_same_results(out, finished)


def _children(pid: int) -> list[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(c) for c in path.read_text().split()] if path.exists() else []


def _running(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, IndexError):
        return False
    return state not in ("Z", "X")


@pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="reads worker processes from /proc")
def test_ctrl_c_stops_the_workers_at_once_and_keeps_what_finished(tmp_path: Path) -> None:
    out = tmp_path / "interrupted"
    args = [sys.executable, "-m", "rlcraving", "sweep", str(SMOKE), "--out", str(out), "--workers", "2", "-q"]
    proc = subprocess.Popen(args, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=environment("slow_seed_1"), start_new_session=True)
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and not list((out / "runs").glob("*.sha256.json")):
            time.sleep(0.05)
        time.sleep(0.5)
        workers = [c for c in _children(proc.pid) if _running(c)]
        os.killpg(proc.pid, signal.SIGINT)  # what Ctrl-C in a terminal does: the whole process group
        start = time.monotonic()
        _, stderr = proc.communicate(timeout=30)
        seconds = time.monotonic() - start
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    saved = [p.name.removesuffix(".sha256.json") for p in (out / "runs").glob("*.sha256.json")]
    assert proc.returncode == 130 and "Traceback" not in stderr, stderr
    assert seconds < 10, f"took {seconds:.1f} s to stop"
    assert len(workers) >= 2 and not any(_running(w) for w in workers)
    assert 1 <= len(saved) < 4 and all(RunStore(out).done(key) for key in saved)
    assert f"interrupted: {len(saved)} of 4 run(s) saved in {out / 'runs'}" in stderr
    assert "resume with: rlcraving sweep" in stderr
    assert status(out) == f"interrupted: {len(saved)} of 4 runs saved"
