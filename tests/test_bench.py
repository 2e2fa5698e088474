"""The benchmark harness measures and reports (the figures themselves come from `rlcraving bench`)."""

from __future__ import annotations

from dataclasses import asdict

import numpy as np
import pytest

from rlcraving import bench


def test_rates_are_min_median_max_over_repeats() -> None:
    for spread in (bench.core_subject_steps_per_s(16, seconds=0.02, repeats=3),
                   bench.td_cohort_subject_steps_per_s(16, seconds=0.02, repeats=3),
                   bench.cartpole_steps_per_s(0.02, repeats=3),
                   bench.cartpole_vector_steps_per_s(16, 0.02, repeats=3),
                   bench.memory_bandwidth_bytes_per_s(0.02, repeats=3, megabytes=8),
                   bench.parallel_memory_bandwidth_bytes_per_s(0.02, repeats=3, megabytes=8)):
        assert 0 < spread.low <= spread.median <= spread.high


def test_spread_is_min_median_max() -> None:
    assert bench.Spread.of([3.0, 1.0, 2.0]) == bench.Spread(1.0, 2.0, 3.0)
    with pytest.raises(ValueError, match="repeats=0 is outside the allowed range"):
        bench.memory_bandwidth_bytes_per_s(0.01, repeats=0, megabytes=1)


def test_traffic_counts_state_read_and_changed_state_written() -> None:
    class Holder:
        def __init__(self) -> None:
            self.changing = np.zeros((10, 2))  # 160 B, changed by the step
            self.constant = np.ones(10)        # 80 B, read only
            self.view = self.changing[:, 0]    # a view: counted with its owner
            self.elsewhere = np.zeros(7)       # not per subject

    holder = Holder()
    assert bench.traffic_bytes_per_subject_step(10, lambda: holder.changing.__iadd__(1.0), holder) == (
        (160 + 80 + 160) / 10)
    state = bench.state_bytes_per_subject(64)
    assert state < bench.core_traffic_bytes(64) <= 2 * state  # a step changes some of the state, not more


def test_table_names_every_figure_its_spread_and_its_verdict() -> None:
    figures = [bench.Figure("vector_env_4096", 5e6, "subject-steps/s", ">= 1e+07", False,
                            {"x_cartpole": 0.3, "x_python_loop": 40.0, "x_memory_ceiling": 0.5}, "note",
                            4e6, 6e6),
               bench.Figure("memory_100k_subjects", 200.0, "MB", "<= 2048", True)]
    table = bench.format_table([asdict(f) for f in figures])
    assert ("| vector_env_4096 | 4,000,000.0 | 5,000,000.0 | 6,000,000.0 | subject-steps/s | >= 1e+07 | no | "
            "0.30 | 40.00 | 0.50 | - | note |") in table
    assert "| memory_100k_subjects | - | 200.0 | - | MB | <= 2048 | yes | - | - | - | - |  |" in table


def test_ppo_and_headline_measurements_run() -> None:
    assert bench.ppo_env_steps_per_s(n_subjects=4, timesteps=512, repeats=2).low > 0
    by_days = bench.protocol_scaling(4, (1,), repeats=2)
    assert 0 < by_days["seconds_low"][0] <= by_days["seconds"][0] <= by_days["seconds_high"][0]


def test_thread_scaling_measures_one_and_every_thread_in_turns() -> None:
    result = bench.core_thread_scaling(64, seconds=0.02, steps=2, repeats=2)
    for spread in result.values():
        assert 0 < spread.low <= spread.median <= spread.high
    assert result["ratio"].low <= result["all"].high / result["one"].low


@pytest.mark.parametrize("env_id", ["rlcraving/CocaineSeeking-v0", "rlcraving/Outpatient-v0"])
def test_vector_layer_overhead_times_the_core_inside_the_env(env_id: str) -> None:
    result = bench.vector_layer_overhead(env_id, 32, seconds=0.05, repeats=2)
    assert 0 < result["env"].median < result["core"].median   # the env does its core's work and more
    assert result["overhead"].low > 0
    assert result["overhead"].median == pytest.approx(result["core"].median / result["env"].median - 1, rel=0.5)


@pytest.mark.slow
def test_demo_is_timed_warm_in_fresh_processes() -> None:
    spread = bench.demo_seconds(repeats=2)
    assert 0 < spread.low <= spread.median <= spread.high
