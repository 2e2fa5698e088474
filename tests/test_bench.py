"""The benchmark harness measures and reports (the figures themselves come from `rlcraving bench`)."""

from __future__ import annotations

from rlcraving import bench


def test_rates_are_measured_and_positive() -> None:
    assert bench.core_subject_steps_per_s(16, seconds=0.05) > 0
    assert bench.td_cohort_subject_steps_per_s(16, seconds=0.05) > 0
    assert bench.cartpole_steps_per_s(0.05) > 0


def test_table_names_every_figure_and_its_verdict() -> None:
    figures = [bench.Figure("vector_env_4096", 5e6, "subject-steps/s", ">= 1e+07", False,
                            {"x_cartpole": 30.0, "x_python_loop": 400.0}, "note"),
               bench.Figure("memory_100k_subjects", 200.0, "MB", "<= 2048", True)]
    from dataclasses import asdict

    table = bench.format_table([asdict(f) for f in figures])
    assert "| vector_env_4096 | 5,000,000.0 | subject-steps/s | >= 1e+07 | no | 30.00 | 400.00 | note |" in table
    assert "| memory_100k_subjects | 200.0 | MB | <= 2048 | yes | - | - |  |" in table


def test_ppo_and_headline_measurements_run() -> None:
    assert bench.ppo_env_steps_per_s(n_subjects=4, timesteps=512) > 0
    assert bench.protocol_scaling(4, (1,))["seconds"][0] > 0
