"""Population studies in chunks: the chunks' merged table is the whole cohort's, bit for bit."""

from __future__ import annotations

import pandas as pd
import pyarrow.parquet as pq
import pytest

from rlcraving.agents.cohort import run_cohort_arms
from rlcraving.experiments.population import SCHEMA, balanced_chunk, run_population
from rlcraving.pharmacology import RatIP

HISTORY = [{"phase": "self_administration", "days": 2, "session_minutes": 20}, {"phase": "extinction",
                                                                                 "session_minutes": 20}]
ARMS = {"placebo": [{"phase": "cue_reinstatement", "session_minutes": 20}],
        "baclofen": [{"phase": "cue_reinstatement", "session_minutes": 20, "baclofen": RatIP(2.5)}]}


def _whole(n: int, **kwargs) -> pd.DataFrame:
    arms = run_cohort_arms(n, HISTORY, ARMS, **kwargs)
    return pd.concat([a.table for a in arms.values()], ignore_index=True)


def _in_subject_order(table: pd.DataFrame) -> pd.DataFrame:
    table = table.astype({"condition": str, "phase": str, "measure": str})
    return table.sort_values(["condition", "day", "measure", "subject"], kind="stable").reset_index(drop=True)


@pytest.mark.parametrize("individual", [False, True], ids=["shared", "individual"])
def test_chunks_merge_into_the_whole_cohorts_table(tmp_path, individual: bool) -> None:
    env = {"individual_differences": individual}
    result = run_population(7, HISTORY, ARMS, tmp_path / "t.parquet", chunk_subjects=3, env_kwargs=env, seed=4)
    assert (result.n_subjects, result.n_chunks) == (7, 3)
    assert pq.read_schema(result.path).remove_metadata().equals(SCHEMA)
    merged = pd.read_parquet(result.path)
    assert len(merged) == result.n_rows
    assert list(merged["subject"].iloc[:3]) == [0, 1, 2]       # written in subject order, chunk by chunk
    whole = _whole(7, env_kwargs=env, seed=4)
    assert list(merged.columns) == list(whole.columns)
    assert _in_subject_order(merged).equals(_in_subject_order(whole))


def test_a_chunk_is_its_subjects_of_the_whole_cohort() -> None:
    whole = _whole(5, seed=2)
    chunk = _whole(2, seed=2, first_subject=3)
    assert sorted(chunk["subject"].unique()) == [3, 4]
    expected = whole[whole["subject"] >= 3].reset_index(drop=True)
    assert _in_subject_order(chunk).equals(_in_subject_order(expected))


@pytest.mark.parametrize(("kwargs", "words"), [
    ({"n_subjects": 0}, "n_subjects=0"),
    ({"chunk_subjects": 0}, "chunk_subjects=0"),
    ({"workers": 0}, "workers=0"),
    ({"backend": "slurm"}, "backend='slurm'"),
    ({"arms": {}}, "arms={}"),
])
def test_bad_input_is_named(tmp_path, kwargs, words) -> None:
    args = {"n_subjects": 4, "history": HISTORY, "arms": ARMS, "out": tmp_path / "t.parquet", **kwargs}
    with pytest.raises(ValueError, match=words.replace("{", r"\{").replace("}", r"\}").replace("(", r"\(")):
        run_population(**args)
    assert not (tmp_path / "t.parquet").exists()


@pytest.mark.slow
def test_worker_processes_give_the_same_table(tmp_path) -> None:
    one = run_population(6, HISTORY, ARMS, tmp_path / "one.parquet", chunk_subjects=2)
    two = run_population(6, HISTORY, ARMS, tmp_path / "two.parquet", chunk_subjects=2, workers=2)
    assert pd.read_parquet(one.path).equals(pd.read_parquet(two.path))
    assert one.path.read_bytes() == two.path.read_bytes()   # the workers write the chunks, the driver merges
    assert two.worker_peak_mb > 0


def test_ray_backend_writes_the_local_backends_table(tmp_path) -> None:
    pytest.importorskip("ray", reason="Ray is not installed (pip install 'rlcraving[ray]')")
    local = run_population(5, HISTORY, ARMS, tmp_path / "local.parquet", chunk_subjects=2, seed=1)
    remote = run_population(5, HISTORY, ARMS, tmp_path / "ray.parquet", chunk_subjects=2, seed=1,
                            backend="ray", workers=2)
    assert remote.n_chunks == local.n_chunks == 3
    assert pd.read_parquet(remote.path).equals(pd.read_parquet(local.path))


def test_an_interrupt_keeps_finished_chunks_and_the_same_call_resumes(tmp_path, monkeypatch) -> None:
    import rlcraving.experiments.population as population

    out = tmp_path / "t.parquet"
    run = population.run_chunk
    calls: list[int] = []

    def interrupted_after_two(chunk):
        if len(calls) == 2:
            raise KeyboardInterrupt
        calls.append(chunk.first)
        return run(chunk)

    monkeypatch.setattr(population, "run_chunk", interrupted_after_two)
    with pytest.raises(population.PopulationInterrupted, match="2 of 4 chunk"):
        run_population(7, HISTORY, ARMS, out, chunk_subjects=2, seed=4)
    assert not out.exists()                                  # nothing half-written
    calls.clear()
    monkeypatch.setattr(population, "run_chunk", lambda c: calls.append(c.first) or run(c))
    resumed = run_population(7, HISTORY, ARMS, out, chunk_subjects=2, seed=4)
    assert (calls, resumed.resumed_chunks) == ([4, 6], 2)   # only the chunks not finished before
    whole = run_population(7, HISTORY, ARMS, tmp_path / "whole.parquet", chunk_subjects=2, seed=4)
    assert pd.read_parquet(out).equals(pd.read_parquet(whole.path))
    assert pq.read_schema(out).remove_metadata().equals(SCHEMA)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["t.parquet", "whole.parquet"]   # parts merged, removed


@pytest.mark.parametrize(("n", "size", "workers", "chunk"), [
    (100_000, 2048, 2, 2000),   # 49 chunks of 2,048 would leave one worker alone with the last
    (100_000, 4096, 2, 3847),   # 26 chunks, the last of 3,825
    (100_000, 2000, 2, 2000),   # 50 chunks already
    (7, 2, 2, 2),               # 4 chunks already
    (3, 5, 2, 5),               # one chunk: fewer chunks than workers stay as they are
    (5, 2, 2, 2),               # no size below 2 makes 4 chunks of 5 subjects: kept
    (10, 3, 1, 3),              # one worker: any number of chunks
])
def test_balanced_chunk_makes_whole_rounds_of_chunks(n, size, workers, chunk) -> None:
    assert balanced_chunk(n, size, workers) == chunk
    assert chunk <= size


def test_the_headline_cli_balances_its_chunks_and_keeps_the_rows(tmp_path) -> None:
    from rlcraving.experiments.population import headline_study, main

    result = main(subjects=5, out=str(tmp_path / "study"), chunk=2, workers=1)
    assert result.n_chunks == 3
    history, arms = headline_study()
    plain = run_population(5, history, arms, tmp_path / "plain.parquet", chunk_subjects=5)
    assert _in_subject_order(pd.read_parquet(result.path)).equals(_in_subject_order(pd.read_parquet(plain.path)))
