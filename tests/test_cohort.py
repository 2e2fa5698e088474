"""The cohort API: tidy tables, traces, errors, determinism, and the behaviour a cohort must show."""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
import pytest

from rlcraving.agents import AGENTS, CohortResult, run_cohort
from rlcraving.agents.cohort import BINNED_SIGNALS, LOCKED_SIGNALS, MEASURES
from rlcraving.pharmacology import RatIP
from rlcraving.protocol import default_calendar
from rlcraving.stats import bootstrap_ci

REQUIRED = ("active_presses", "inactive_presses", "infusions", "intake_mg_per_kg", "sucrose_presses", "pellets",
            "breakpoint")


def reinstatement_calendar(sa_days: int = 5, extinction_days: int = 5, **test: object) -> list[dict]:
    """Shaham et al. 2003's design, shortened: FR1 self-administration, extinction, a cue test."""
    return [{"phase": "self_administration", "days": sa_days},
            {"phase": "extinction", "days": extinction_days},
            {"phase": "cue_reinstatement", "days": 1, **test}]


def per_subject(result: CohortResult, measure: str, day: int) -> np.ndarray:
    t = result.table
    rows = t[(t.measure == measure) & (t.day == day)].sort_values("subject")
    return rows.value.to_numpy()


def mean_by_day(result: CohortResult, measure: str) -> pd.Series:
    t = result.table
    return t[t.measure == measure].groupby("day").value.mean()


@pytest.fixture(scope="module")
def cohort() -> CohortResult:
    """24 Q-learning subjects through the shortened reinstatement design, traces on three days."""
    return run_cohort(24, reinstatement_calendar(), seed=3, condition="ctl", trace_sessions=(0, 4, 10))


# ---------------------------------------------------------------------------------------
# Tables
# ---------------------------------------------------------------------------------------


def test_table_is_tidy_one_row_per_subject_session_and_measure(cohort):
    t = cohort.table
    assert list(t.columns) == ["subject", "condition", "day", "phase", "measure", "value"]
    assert set(REQUIRED) <= set(MEASURES) and set(t.measure) == set(MEASURES)
    assert len(t) == 24 * 11 * len(MEASURES)
    assert not t.duplicated(["subject", "day", "measure"]).any()
    assert t.subject.dtype.kind == "i" and t.day.dtype.kind == "i" and t.value.dtype == float
    assert set(t.condition) == {"ctl"}
    phases = t.drop_duplicates("day").sort_values("day").phase.tolist()
    assert phases == ["self_administration"] * 5 + ["extinction"] * 5 + ["cue_reinstatement"]
    assert (t[(t.measure == "infusions") & (t.phase != "self_administration")].value == 0).all()
    sa = t[t.phase == "self_administration"].pivot_table(index=["subject", "day"], columns="measure", values="value")
    assert np.allclose(sa.intake_mg_per_kg, 0.75 * sa.infusions)
    assert (sa.infusions <= sa.active_presses).all()


def test_traces_cover_the_requested_sessions(cohort):
    tr = cohort.traces
    assert list(tr.columns) == ["condition", "day", "phase", "time_s", "signal", "value"]
    assert set(tr.day) == {0, 4, 10}
    expected = set(BINNED_SIGNALS) | {f"cue_locked_{s}" for s in LOCKED_SIGNALS}
    assert set(tr.signal) == expected
    binned = tr[(tr.signal == "prediction_error") & (tr.day == 0)]
    assert binned.time_s.tolist() == [60.0 * k for k in range(60)]
    locked = tr[(tr.signal == "cue_locked_drug_dopamine") & (tr.day == 4)].set_index("time_s").value
    assert locked.index.min() == -20.0 and locked.index.max() == 40.0
    # the drug's surge reaches the brain one step after the cue (its worth: the rise below the
    # satiety level less the overshoot beyond it, positive on average); none in the rest of the timeouts
    assert locked[4.0] > 0.005
    assert (locked[[-12.0, -8.0, -4.0, 0.0, 8.0, 12.0, 16.0]] == 0).all()
    # no cue, no infusion in extinction
    assert tr[(tr.day == 10) & (tr.signal == "infusions_per_min")].value.max() == 0


@pytest.fixture(scope="module")
def cohort_without_zone() -> CohortResult:
    """`cohort` without the compulsion zone in the agents' policy (docs/agents.md)."""
    return run_cohort(24, reinstatement_calendar(), seed=3, condition="ctl", trace_sessions=(0, 4, 10),
                      env_kwargs={"compulsion_zone": False})


def test_traces_show_the_dopamine_signal_moving_from_the_drug_to_the_cue(cohort_without_zone):
    """As the cue and the press come to predict the drug, the error at the drug's arrival shrinks;
    in the cue test the cue alone evokes a burst, and a dip follows where the drug should arrive.
    Shown without the compulsion zone: with it, infusions are taken as the level falls to the satiety
    level from the first session on, so the drug's own surge at arrival is small from day 0 (0.021 against
    0.072 without it, seed 3) and its error stays about that surge (0.017 on day 0, 0.023 on day 4)."""
    tr = cohort_without_zone.traces
    cue = tr[tr.signal == "cue_value"].set_index(["day", "time_s"]).value
    assert cue[0, 0.0] < 0.5 * cue[0, 600.0] and cue[0, 600.0] < cue[4].mean()
    error = tr[tr.signal == "cue_locked_prediction_error"].set_index(["day", "time_s"]).value
    assert error[4, 4.0] < 0.6 * error[0, 4.0]
    assert error[10, 0.0] > 0.05 and error[10, 4.0] < 0
    paid = tr[(tr.signal == "cue_locked_incentive") & (tr.time_s == 0)].set_index("day").value
    assert paid[10] > 2 * paid[0] > 0     # the cue's conditioned reinforcement, drug-free
    rates = tr[tr.signal == "active_presses_per_min"].groupby("day").value.sum()
    table_presses = mean_by_day(cohort_without_zone, "active_presses")
    assert rates[4] == pytest.approx(table_presses[4], rel=1e-9)   # 60 one-minute bins of a rate


def test_no_trace_sessions_give_an_empty_frame_with_the_columns():
    r = run_cohort(2, [{"phase": "extinction", "days": 1, "session_minutes": 5}])
    assert r.traces.empty and list(r.traces.columns) == ["condition", "day", "phase", "time_s", "signal", "value"]


def test_progressive_ratio_sessions_end_at_their_own_time():
    """A PR session ends for each subject at its breakpoint; the cohort waits and goes on together."""
    calendar = [{"phase": "self_administration", "days": 2}, {"phase": "progressive_ratio", "days": 1},
                {"phase": "extinction", "days": 1, "session_minutes": 10}]
    r = run_cohort(6, calendar, seed=1)
    assert len(r.table) == 6 * 4 * len(MEASURES)
    breakpoints = per_subject(r, "breakpoint", 2)
    assert np.all(breakpoints >= 1)
    assert np.all(per_subject(r, "infusions", 3) == 0)


# ---------------------------------------------------------------------------------------
# Errors and options
# ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("kwargs, error, words", [
    ({"agent": "q_learner"}, ValueError, ["q_learner", "q_learning"]),
    ({"agent_params": {"alpha": 0.1}}, ValueError, ["alpha", "learning_rate"]),
    ({"env_kwargs": {"baclofen_dose": 1.0}}, ValueError, ["baclofen_dose", "baclofen_mg_per_day"]),
    ({"env_kwargs": {"params": {"dt": 2.0}}}, ValueError, ["dt", "dt_s"]),
    ({"trace_sessions": (0, 5)}, ValueError, ["trace_sessions", "5"]),
    ({"trace_sessions": "0"}, TypeError, ["trace_sessions"]),
    ({"seed": -1}, ValueError, ["seed", "-1"]),
    ({"condition": 3}, TypeError, ["condition", "str"]),
    ({"progress": "yes"}, TypeError, ["progress"]),
])
def test_bad_input_is_named(kwargs, error, words):
    with pytest.raises(error) as info:
        run_cohort(2, [{"phase": "extinction", "days": 1, "session_minutes": 1}], **kwargs)
    for word in words:
        assert word in str(info.value)


@pytest.mark.parametrize("n", [0, 2.5, "4"])
def test_bad_cohort_size_is_named(n):
    with pytest.raises((TypeError, ValueError), match="n_subjects"):
        run_cohort(n, [{"phase": "extinction", "days": 1, "session_minutes": 1}])  # type: ignore[arg-type]


def test_progress_bar_is_optional(capsys):
    run_cohort(2, [{"phase": "extinction", "days": 2, "session_minutes": 1}], progress=True)
    assert "session" in capsys.readouterr().err


# ---------------------------------------------------------------------------------------
# Determinism
# ---------------------------------------------------------------------------------------

SHORT = [{"phase": "self_administration", "days": 2, "session_minutes": 20},
         {"phase": "extinction", "days": 1, "session_minutes": 20}]


def test_same_seed_same_table_and_other_seed_other_table():
    a = run_cohort(5, SHORT, seed=11, trace_sessions=(0,))
    b = run_cohort(5, SHORT, seed=11, trace_sessions=(0,))
    c = run_cohort(5, SHORT, seed=12)
    pd.testing.assert_frame_equal(a.table, b.table)
    pd.testing.assert_frame_equal(a.traces, b.traces)
    assert not a.table.value.equals(c.table.value)


@pytest.mark.parametrize("agent", sorted(AGENTS))
def test_a_subject_is_the_same_whatever_the_cohort_size(agent):
    env = {"individual_differences": True}
    small = run_cohort(1, SHORT, agent=agent, env_kwargs=env, seed=4).table
    large = run_cohort(6, SHORT, agent=agent, env_kwargs=env, seed=4).table
    first = large[large.subject == 0].reset_index(drop=True)
    assert np.array_equal(small.value.to_numpy(), first.value.to_numpy())
    assert large.groupby("subject").value.sum().nunique() > 1


# ---------------------------------------------------------------------------------------
# Behaviour
# ---------------------------------------------------------------------------------------


def test_active_presses_separate_from_inactive_after_acquisition(cohort):
    active, inactive = mean_by_day(cohort, "active_presses"), mean_by_day(cohort, "inactive_presses")
    for day in (2, 3, 4):
        assert active[day] > 3 * inactive[day]
    diff = np.concatenate([per_subject(cohort, "active_presses", d) - per_subject(cohort, "inactive_presses", d)
                           for d in (3, 4)])
    assert bootstrap_ci(diff, seed=0)[0] > 5


def test_presses_fall_over_extinction(cohort):
    first, last = per_subject(cohort, "active_presses", 5), per_subject(cohort, "active_presses", 9)
    _, hi = bootstrap_ci(last - first, seed=0)
    assert hi < 0 and last.mean() < 0.5 * first.mean()


def test_cue_reinstates_seeking_above_the_extinction_baseline(cohort):
    baseline, test = per_subject(cohort, "active_presses", 9), per_subject(cohort, "active_presses", 10)
    lo, _ = bootstrap_ci(test - baseline, seed=0)
    assert lo > 0 and test.mean() > 2 * baseline.mean()
    # specific to the drug lever
    assert test.mean() > 3 * per_subject(cohort, "inactive_presses", 10).mean()


def test_baclofen_lowers_cue_induced_seeking():
    """Rats given baclofen i.p. before the test press less for the cue (Campbell 1999; Di Ciano &
    Everitt 2003). Same seed: the same subjects up to the test, so the comparison is paired."""
    control = run_cohort(40, reinstatement_calendar(), seed=7)
    treated = run_cohort(40, reinstatement_calendar(baclofen=RatIP(2.5)), seed=7)
    pd.testing.assert_frame_equal(control.table[control.table.day < 10], treated.table[treated.table.day < 10])
    effect = per_subject(treated, "active_presses", 10) - per_subject(control, "active_presses", 10)
    _, hi = bootstrap_ci(effect, seed=0)
    assert hi < 0
    assert effect.mean() < -0.25 * per_subject(control, "active_presses", 10).mean()


# ---------------------------------------------------------------------------------------
# Larger runs (`pytest -m slow`)
# ---------------------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("agent", sorted(AGENTS))
def test_every_agent_acquires_extinguishes_and_reinstates(agent):
    r = run_cohort(200, default_calendar(), agent=agent, seed=21)
    sa_active = per_subject(r, "active_presses", 9)
    assert bootstrap_ci(sa_active - per_subject(r, "inactive_presses", 9), seed=0)[0] > 0
    assert sa_active.mean() > 2 * per_subject(r, "inactive_presses", 9).mean()
    assert bootstrap_ci(per_subject(r, "active_presses", 19) - per_subject(r, "active_presses", 10), seed=0)[1] < 0
    assert bootstrap_ci(per_subject(r, "active_presses", 20) - per_subject(r, "active_presses", 19), seed=0)[0] > 0


@pytest.mark.slow
def test_baclofen_dose_lowers_cue_induced_seeking_in_order():
    means, his = [], []
    control = None
    for dose in (0.0, 1.25, 2.5, 5.0):
        test = {"baclofen": RatIP(dose)} if dose else {}
        r = run_cohort(200, reinstatement_calendar(10, 10, **test), seed=22,
                       env_kwargs={"individual_differences": True})
        presses = per_subject(r, "active_presses", 20)
        control = presses if control is None else control
        means.append(presses.mean())
        his.append(bootstrap_ci(presses - control, seed=0)[1])
    assert means == sorted(means, reverse=True)
    assert all(hi < 0 for hi in his[1:])


@pytest.mark.slow
def test_classroom_cohort_takes_seconds():
    start = time.perf_counter()
    run_cohort(200, default_calendar())
    assert time.perf_counter() - start < 60.0


#: docs/agents.md (dezfouli): with the compulsion zone its 0.5 mA stress test is no longer above its
#: extinction session (+0.41 [-0.32, 1.11] presses, 100 subjects, seed 3; +3.08 [2.41, 3.74] without the zone).
_DEZFOULI_NO_STRESS = pytest.mark.xfail(strict=True, reason="dezfouli: no stress reinstatement with the zone")


@pytest.mark.slow
@pytest.mark.parametrize("agent", [pytest.param(a, marks=_DEZFOULI_NO_STRESS) if a == "dezfouli" else a
                                   for a in sorted(AGENTS)])
def test_prime_and_stress_reinstate_and_the_kor_knockout_removes_only_stress(agent):
    """Drug-primed and stress-induced reinstatement (Shaham et al. 2003); a kappa-opioid knockout
    removes the stress effect and leaves the prime's (McLaughlin et al. 2003)."""
    def test_day(phase: str, **env: object) -> tuple[np.ndarray, np.ndarray]:
        calendar = [{"phase": "self_administration", "days": 10}, {"phase": "extinction", "days": 10},
                    {"phase": phase, "days": 1}]
        r = run_cohort(100, calendar, agent=agent, seed=3, env_kwargs=env or None)
        return per_subject(r, "active_presses", 19), per_subject(r, "active_presses", 20)

    for phase in ("prime_reinstatement", "stress_reinstatement"):
        baseline, test = test_day(phase)
        assert bootstrap_ci(test - baseline, seed=0)[0] > 0, phase
    baseline, test = test_day("stress_reinstatement", kor_knockout=True)
    assert bootstrap_ci(test - baseline, seed=0)[1] < 0.5
    baseline, test = test_day("prime_reinstatement", kor_knockout=True)
    assert bootstrap_ci(test - baseline, seed=0)[0] > 0


def test_arms_sharing_a_history_equal_separate_cohorts_bit_for_bit() -> None:
    from rlcraving.agents.cohort import run_cohort_arms
    from rlcraving.pharmacology import RatIP

    history = [{"phase": "self_administration", "days": 2, "session_minutes": 20.0},
               {"phase": "extinction", "days": 1, "session_minutes": 20.0}]
    arms = {"placebo": [{"phase": "cue_reinstatement", "session_minutes": 20.0}],
            "baclofen": [{"phase": "cue_reinstatement", "session_minutes": 20.0, "baclofen": RatIP(2.5)},
                         {"phase": "progressive_ratio", "session_minutes": 20.0}]}
    shared = run_cohort_arms(6, history, arms, seed=3, trace_sessions=(0, 3))
    for name, entries in arms.items():
        alone = run_cohort(6, [*history, *entries], seed=3, condition=name, trace_sessions=(0, 3))
        pd.testing.assert_frame_equal(shared[name].table, alone.table)
        pd.testing.assert_frame_equal(shared[name].traces, alone.traces)


def test_tidy_table_is_the_table_of_one_python_string_a_row() -> None:
    """The table built from codes equals, dtypes included, the one built as a Python string a row."""
    from rlcraving.agents.cohort import tidy_table
    from rlcraving.protocol import as_calendar

    calendar = as_calendar(reinstatement_calendar(sa_days=2, extinction_days=1))
    results = np.random.default_rng(3).random((len(calendar), len(MEASURES), 4))
    n_days, n_measures, n = results.shape
    phases = np.array(calendar.phases(), dtype=object)
    days = np.repeat(np.arange(n_days), n_measures * n)
    expected = pd.DataFrame({"subject": np.tile(np.arange(5, 5 + n), n_days * n_measures), "condition": "drug",
                             "day": days, "phase": phases[days],
                             "measure": np.tile(np.repeat(np.array(MEASURES, dtype=object), n), n_days),
                             "value": results.ravel()})
    table = tidy_table(results, calendar, "drug", first_subject=5)
    pd.testing.assert_frame_equal(table, expected, check_exact=True)
    assert table.loc[(table.day == 3) & (table.measure == MEASURES[1]) & (table.subject == 7), "value"].item() \
        == results[3, 1, 2]
    assert table.loc[table.day == 3, "phase"].unique().tolist() == ["cue_reinstatement"]
