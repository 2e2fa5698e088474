"""The batched simulation core: schedules, drug levels, stress, allostasis, incubation, reward.

These tests drive `SubjectBatch` directly with scripted actions and check mechanisms and
invariants derived from `ModelParams`, not calibrated numbers.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from rlcraving import pavlovian as pav
from rlcraving import random as rnd
from rlcraving.core import (
    ACTIVE,
    INACTIVE,
    LEVELS,
    OBSERVATION_NAMES,
    OTHER,
    REWARD_COMPONENTS,
    SubjectBatch,
    SubjectOptions,
)
from rlcraving.params import INDIVIDUAL_TRAITS, ModelParams
from rlcraving.pharmacology import OralTID, baclofen_model
from rlcraving.protocol import PR_SERIES, SessionSettings, session
from rlcraving.random import subject_keys

P = ModelParams()
OBS = {name: i for i, name in enumerate(OBSERVATION_NAMES)}
TIMEOUT_STEPS = round(P.timeout_s / P.dt_s)


def new_batch(*sessions: SessionSettings, params: ModelParams = P, **options: bool) -> SubjectBatch:
    """One new subject per session given, each starting that session."""
    batch = SubjectBatch(len(sessions), params, SubjectOptions(**options))
    for i, settings in enumerate(sessions):
        batch.start_sessions(np.array([i]), settings, first=True)
    return batch


def next_session(batch: SubjectBatch, settings: SessionSettings) -> None:
    """All subjects of `batch` go on to a session of `settings` (after its abstinence gap)."""
    idx = np.arange(batch.n)
    batch.end_sessions(idx)
    batch.start_sessions(idx, settings)


def run(batch: SubjectBatch, action: int | np.ndarray, steps: int | None = None) -> list[tuple]:
    """Step every subject with `action` for `steps` steps (default: to the end of the session)."""
    actions = np.broadcast_to(np.asarray(action), (batch.n,))
    out = []
    for _ in range(int(batch.n_steps.max()) if steps is None else steps):
        out.append(batch.step(actions))
    return out


# ------------------------------------------------------------------ schedules


@pytest.mark.parametrize("ratio", [1, 3, 10])
def test_fixed_ratio_with_timeout(ratio: int) -> None:
    """Every `ratio`-th press outside the timeout gives an infusion; presses in the timeout don't count."""
    batch = new_batch(session(ratio=ratio))
    infusion_steps = []
    for step in range(600):
        before = batch.summary["infusions"][0]
        batch.step(np.array([ACTIVE]))
        if batch.summary["infusions"][0] > before:
            infusion_steps.append(step)
    gaps = np.diff(infusion_steps)
    assert infusion_steps[0] == ratio - 1
    assert np.all(gaps == TIMEOUT_STEPS + ratio - 1)
    assert batch.summary["active_presses"][0] == 600


def test_inactive_lever_and_other_behaviour_do_nothing() -> None:
    batch = new_batch(session(), session())
    run(batch, np.array([INACTIVE, OTHER]), 200)
    assert batch.summary["infusions"].sum() == 0 and np.all(batch.cocaine == 0)
    assert batch.summary["inactive_presses"].tolist() == [200, 0]
    assert np.all(batch.E == 0)


def test_cue_light_stays_on_while_the_timeout_runs() -> None:
    """The cue comes on with the infusion and shows the timeout, during which presses do not count."""
    batch = new_batch(session())
    cue_on, timeout = [], []
    for action in [ACTIVE] + [OTHER] * (TIMEOUT_STEPS + 2):
        obs, *_ = batch.step(np.array([action]))
        cue_on.append(obs[0, OBS["drug_cue"]])
        timeout.append(obs[0, OBS["timeout"]])
    assert np.array_equal(np.array(cue_on) > 0, np.array(timeout) > 0)
    assert sum(cue_on) == TIMEOUT_STEPS - 1  # seen after the infusion step until the next countable press
    assert np.all(np.diff(timeout[: TIMEOUT_STEPS]) < 0) and timeout[-1] == 0


def test_no_cue_without_contingent_cue_and_no_drug_in_extinction() -> None:
    batch = new_batch(session("extinction"), session("cue_reinstatement"))
    observations = [step[0] for step in run(batch, ACTIVE, 100)]
    cue = np.array([o[:, OBS["drug_cue"]] for o in observations])
    assert cue[:, 0].sum() == 0 and cue[:, 1].sum() > 0
    assert np.all(batch.cocaine == 0) and batch.summary["infusions"].sum() == 0


def test_progressive_ratio_breakpoint_and_termination() -> None:
    """Ratios follow Richardson & Roberts; a session ends 1 h after the last infusion, with the
    last completed ratio as breakpoint."""
    infusions_wanted = 6
    batch = new_batch(session("progressive_ratio"))
    limit = round(60.0 * P.pr_limit_min / P.dt_s)
    step, terminated = 0, False
    while not terminated:
        pressing = batch.summary["infusions"][0] < infusions_wanted
        _, _, term, trunc = batch.step(np.array([ACTIVE if pressing else OTHER]))
        terminated = bool(term[0])
        assert not trunc[0]
        step += 1
    assert batch.summary["infusions"][0] == infusions_wanted
    assert batch.summary["breakpoint"][0] == PR_SERIES[infusions_wanted - 1]
    assert batch.steps_since_infusion[0] == limit


def test_sessions_are_truncated_by_their_clock() -> None:
    minutes = 7.0
    batch = new_batch(session(session_minutes=minutes))
    results = run(batch, OTHER, round(60 * minutes / P.dt_s))
    truncated = np.array([r[3][0] for r in results])
    terminated = np.array([r[2][0] for r in results])
    assert truncated[-1] and not truncated[:-1].any() and not terminated.any()


# ------------------------------------------------------------------ cocaine


def test_cocaine_decays_with_its_half_life_and_sets_occupancy() -> None:
    batch = new_batch(session(unit_dose_mg_per_kg=1.5))
    batch.step(np.array([ACTIVE]))
    assert batch.cocaine[0] == 0.0, "the infusion is still in the catheter"
    run(batch, OTHER, round(P.infusion_delay_s / P.dt_s) - 1)
    obs, *_ = batch.step(np.array([OTHER]))
    peak = batch.cocaine[0]
    assert peak == pytest.approx(1.5)
    assert obs[0, OBS["drug_occupancy"]] == pytest.approx(peak / (peak + P.cocaine_k50_mg_per_kg), rel=1e-6)
    steps = round(60 * P.cocaine_half_life_min / P.dt_s)
    run(batch, OTHER, steps)
    assert batch.cocaine[0] == pytest.approx(peak / 2, rel=1e-9)


def test_a_prime_raises_the_drug_level_without_pressing() -> None:
    batch = new_batch(session("prime_reinstatement"), session("extinction"))
    levels = np.array([batch.step(np.array([OTHER, OTHER]))[0][:, OBS["drug_occupancy"]] for _ in range(450)])
    assert levels[:, 1].max() == 0.0
    peak = int(np.argmax(levels[:, 0]))
    assert 0 < peak * P.dt_s / 60 < 60 and levels[peak, 0] > 0
    assert levels[-1, 0] < levels[peak, 0]


def test_priming_infusions_are_in_the_brain_at_the_first_step_and_not_counted() -> None:
    """An experimenter-given i.v. prime of n unit doses: the level is n D at the session's first step (no
    catheter delay, no i.p. absorption), decays from there, gives the rise's reward, and is not the subject's
    infusion or intake; drug available or not."""
    dose = 0.5
    batch = new_batch(session("self_administration", unit_dose_mg_per_kg=dose, priming_infusions=2),
                      session("extinction", unit_dose_mg_per_kg=dose, priming_infusions=1),
                      session("self_administration", unit_dose_mg_per_kg=dose))
    decay = math.exp(-P.dt_s * math.log(2.0) / (60.0 * P.cocaine_half_life_min))
    _, reward, *_ = batch.step(np.array([OTHER, OTHER, OTHER]))
    np.testing.assert_allclose(batch.cocaine, [2 * dose * decay, dose * decay, 0.0], rtol=1e-12)
    assert reward[0] > reward[2] and reward[1] > reward[2]
    run(batch, OTHER, 10)
    np.testing.assert_allclose(batch.cocaine, [2 * dose * decay**11, dose * decay**11, 0.0], rtol=1e-9)
    for field in ("infusions", "intake_mg_per_kg", "active_presses"):
        assert batch.summary[field].tolist() == [0.0, 0.0, 0.0]


# ------------------------------------------------------------------ stress (KOR) and allostasis


def test_stress_has_a_threshold_and_needs_the_kappa_opioid_system() -> None:
    """A shock at or below kor_threshold_mA recruits no KOR (Buffalari & See 2009: 0.25 mA does not
    reinstate); just above it a little; 0.5 mA nearly the full increment."""
    intensities = (0.1, P.kor_threshold_mA, P.kor_threshold_mA + 0.05, 0.5)
    batch = new_batch(*(session("stress_reinstatement", footshock_mA=mA) for mA in intensities))
    knockout = new_batch(session("stress_reinstatement"), kor_knockout=True)
    run(batch, OTHER, 300)
    run(knockout, OTHER, 300)
    shocks = P.stress_minutes * 60 / P.shock_interval_s
    assert batch.summary["shocks"].tolist() == [pytest.approx(shocks, abs=1)] * 4
    assert batch.kor[0] == batch.kor[1] == 0.0
    assert batch.kor[3] > 3 * batch.kor[2] > 0
    assert knockout.kor[0] == 0.0 and knockout.summary["shocks"][0] == batch.summary["shocks"][3]
    assert batch.dysphoria[3] > knockout.dysphoria[0]


def test_kor_response_is_the_hill_function_without_a_threshold() -> None:
    from rlcraving.organism import kor_response

    mA = np.array([0.0, 0.1, 0.35, 0.5, 1.0])
    plain = mA**P.kor_hill / (mA**P.kor_hill + P.kor_half_mA**P.kor_hill)
    np.testing.assert_allclose(kor_response(mA, P.replace(kor_threshold_mA=0.0)), plain)
    shifted = kor_response(mA, P)
    assert shifted[0] == shifted[1] == 0.0 and np.all(np.diff(shifted[1:]) > 0) and shifted[-1] < 1.0


def test_kor_activation_decays_after_the_stress() -> None:
    batch = new_batch(session("stress_reinstatement"))
    after = batch.kor[0]  # the footshock came before the session
    assert after > 0
    decay_steps = round(60 * P.kor_decay_min / P.dt_s)
    run(batch, OTHER, decay_steps)
    assert batch.kor[0] == pytest.approx(after * math.exp(-1.0), rel=1e-6)


def test_stress_footshock_punishes_no_action() -> None:
    """Shaham 2003: the shocks come before the test with the levers retracted, so no reward is lost."""
    batch = new_batch(session("stress_reinstatement"))
    run(batch, OTHER, 10)
    assert batch.components["punishment"][0] == 0.0


def test_allostasis_grows_with_drug_and_recovers_in_abstinence() -> None:
    batch = new_batch(session("long_access"), session("long_access"))
    steps = 900
    run(batch, np.array([ACTIVE, OTHER]), steps)
    assert batch.allostasis[0] > 0 and batch.allostasis[1] == 0
    load, end_h = batch.allostasis[0], batch.session_start_h[0] + steps * P.dt_s / 3600
    next_session(batch, session("extinction", abstinence_days=P.allostasis_recovery_days))
    gap_h = batch.session_start_h[0] - end_h
    assert batch.allostasis[0] == pytest.approx(load * math.exp(-gap_h / (24 * P.allostasis_recovery_days)))


def test_long_access_loads_more_allostasis_than_short_access() -> None:
    short, long = new_batch(session("self_administration")), new_batch(session("long_access"))
    run(short, ACTIVE)
    run(long, ACTIVE)
    assert long.allostasis[0] > short.allostasis[0] > 0


# ------------------------------------------------------------------ incubation


def incubation_after(days: float) -> float:
    batch = new_batch(session())
    run(batch, ACTIVE)
    next_session(batch, session("cue_reinstatement", abstinence_days=days))
    return float(batch.incubation[0])


def test_incubation_rises_to_a_peak_and_declines() -> None:
    """Grimm et al. 2001, Lu et al. 2004: cue craving grows over weeks of abstinence, then wanes."""
    tr, td = P.incubation_rise_days, P.incubation_decay_days
    peak_day = math.log(td / tr) * tr * td / (td - tr)
    early, peak, late = (incubation_after(d) for d in (1.0, peak_day, 3 * peak_day))
    assert 0 < early < peak <= 1.0 and late < peak
    assert peak >= max(incubation_after(0.8 * peak_day), incubation_after(1.2 * peak_day))


def test_no_incubation_without_drug_history() -> None:
    batch = new_batch(session("extinction"))
    run(batch, ACTIVE)
    next_session(batch, session("cue_reinstatement", abstinence_days=60.0))
    assert batch.incubation[0] == 0.0


# ------------------------------------------------------------------ reward and baclofen


def test_reward_is_the_sum_of_its_components() -> None:
    batch = new_batch(session("punished_self_administration", punishment_probability=1.0), session())
    for step in range(300):
        actions = np.array([ACTIVE if step % 2 else OTHER, ACTIVE])
        _, reward, *_ = batch.step(actions)
        total = sum(batch.components[name] for name in REWARD_COMPONENTS)
        assert np.array_equal(reward, total)
    assert batch.summary["shocks"][0] == batch.summary["infusions"][0] > 0
    assert batch.components["cost"].max() <= 0 and batch.components["punishment"].max() <= 0


def test_baclofen_lowers_the_dopamine_surge_not_the_hedonic_effect() -> None:
    placebo = new_batch(session())
    treated = new_batch(session(baclofen_mg_per_day=60.0))
    for batch in (placebo, treated):  # press, then wait for the infusion to reach the brain
        batch.step(np.array([ACTIVE]))
        run(batch, OTHER, round(P.infusion_delay_s / P.dt_s))
    gain = float(treated.dopamine_gain[0])
    assert 1.0 - P.baclofen_emax <= gain < 1.0 and placebo.dopamine_gain[0] == 1.0
    assert treated.components["hedonic"][0] == placebo.components["hedonic"][0] > 0
    assert treated.components["drug_dopamine"][0] == pytest.approx(gain * placebo.components["drug_dopamine"][0])


def test_baclofen_gain_matches_the_pharmacology_at_steady_state() -> None:
    batch = new_batch(session(baclofen_mg_per_day=60.0))
    batch.step(np.array([OTHER]))
    model = baclofen_model(P, "oral")
    state = model.steady_state(OralTID(60.0), P.session_start_hour)
    conc = state[1] / model.volume
    assert batch.baclofen_mg_per_l[0] == pytest.approx(conc, rel=1e-9)
    occ = conc**P.baclofen_hill / (conc**P.baclofen_hill + P.baclofen_ec50_mg_per_l**P.baclofen_hill)
    assert batch.dopamine_gain[0] == pytest.approx(1.0 - P.baclofen_emax * occ, rel=1e-9)


def test_sedation_makes_some_presses_fail() -> None:
    batch = new_batch(session(baclofen_mg_per_day=300.0), session())
    run(batch, ACTIVE, 500)
    assert 0 < batch.summary["active_presses"][0] < 500 == batch.summary["active_presses"][1]


def test_abrupt_stop_brings_withdrawal_dysphoria() -> None:
    batch = new_batch(session(baclofen_mg_per_day=60.0), session(baclofen_mg_per_day=60.0))
    run(batch, OTHER, 10)
    idx = np.arange(2)
    batch.end_sessions(idx)
    batch.start_sessions(idx[:1], session("extinction", baclofen_mg_per_day=0.0))
    batch.start_sessions(idx[1:], session("extinction"))
    run(batch, OTHER, 10)
    assert batch.dysphoria[0] > batch.dysphoria[1]


def test_rat_ip_baclofen_acts_in_the_first_session() -> None:
    from rlcraving.pharmacology import RatIP

    batch = new_batch(session(baclofen=RatIP(3.0)))
    batch.step(np.array([OTHER]))
    assert batch.dopamine_gain[0] < 1.0


# ------------------------------------------------------------------ subjects and traits


def test_individual_traits_have_median_one_and_the_stated_spread() -> None:
    n = 4000
    batch = SubjectBatch(n, P, SubjectOptions(individual_differences=True))
    batch.new_subjects(np.arange(n), subject_keys(3, np.arange(n)))
    log_traits = np.log(batch.traits)
    sigma = np.array([s for s, _, _ in INDIVIDUAL_TRAITS.values()])
    assert np.abs(np.median(log_traits, axis=0)).max() < 0.1 * sigma.max()
    assert log_traits.std(axis=0) == pytest.approx(sigma, rel=0.06)
    corr = np.corrcoef(log_traits.T) - np.eye(len(sigma))
    assert np.abs(corr).max() < 0.1, "traits are drawn independently"
    assert np.all(SubjectBatch(2, P).traits == 1.0), "no individual differences unless asked"


def test_a_subjects_traits_do_not_depend_on_its_batch() -> None:
    keys = subject_keys(11, np.arange(50))
    big = SubjectBatch(50, P, SubjectOptions(individual_differences=True))
    big.new_subjects(np.arange(50), keys)
    small = SubjectBatch(1, P, SubjectOptions(individual_differences=True))
    small.new_subjects(np.arange(1), keys[17:18])
    assert np.array_equal(small.traits[0], big.traits[17])


# ------------------------------------------------------------------ time in real units


def test_the_step_length_changes_resolution_not_time() -> None:
    """Halving dt_s doubles the steps of a session and leaves levels at a given time unchanged."""
    minutes = 10.0
    levels = {}
    for dt_s in (2.0, 4.0):
        params = P.replace(dt_s=dt_s)
        batch = new_batch(session(session_minutes=minutes), params=params)
        steps, truncated = 0, False
        while not truncated:
            truncated = bool(batch.step(np.array([ACTIVE if steps == 0 else OTHER]))[3][0])
            steps += 1
        assert steps == round(60 * minutes / dt_s)
        # the infusion arrives at the end of the step infusion_delay_s after the press
        since_infusion_s = 60 * minutes - dt_s - round(P.infusion_delay_s / dt_s) * dt_s
        unit_dose = session().unit_dose_mg_per_kg
        expected = unit_dose * 0.5 ** (since_infusion_s / (60 * P.cocaine_half_life_min))
        assert batch.cocaine[0] == pytest.approx(expected, rel=1e-9)
        levels[dt_s] = batch.allostasis[0]
    assert levels[2.0] == pytest.approx(levels[4.0], rel=0.05)


def test_kor_knockout_loses_the_dynorphin_share_of_the_allostatic_load() -> None:
    """Without KOR the dysphoria holds only the non-dynorphin share of the allostatic load (no shocks
    here); with that share set to 0 the knockout's drug reward is the wild type's, step for step."""
    share = P.allostasis_kor_fraction
    for params, expressed in ((P, 1.0 - share), (P.replace(allostasis_kor_fraction=0.0), 1.0)):
        wild, knockout = new_batch(session(), params=params), new_batch(session(), params=params, kor_knockout=True)
        same_reward = True
        for step in range(600):
            action = np.array([ACTIVE if step % 7 == 0 else OTHER])
            _, wild_reward, *_ = wild.step(action)
            _, knockout_reward, *_ = knockout.step(action)
            same_reward &= bool(wild_reward[0] == knockout_reward[0])
        assert wild.allostasis[0] == knockout.allostasis[0] > 0
        assert wild.dysphoria[0] == pytest.approx(wild.allostasis[0], rel=1e-12)
        assert knockout.dysphoria[0] == pytest.approx(expressed * knockout.allostasis[0], rel=1e-12)
        assert same_reward == (expressed == 1.0)
    assert wild.summary["infusions"][0] > 0


@pytest.mark.parametrize("extinction_context", ["A", "B"])
def test_extinction_is_bound_to_its_context_in_the_core(extinction_context: str) -> None:
    """ABA renewal through the core's cached associations: extinction in B leaves the drug cue and
    context A their value; extinction in A removes it (Bouton 2004)."""
    batch = new_batch(session())
    for t in range(int(batch.n_steps[0])):
        batch.step(np.array([ACTIVE if t % 8 == 0 else OTHER]))
    learnt = batch.value_context[0]
    for _ in range(3):
        batch.start_sessions(np.arange(1), session("extinction", context=extinction_context,
                                                   contingent_cue=True))
        for t in range(int(batch.n_steps[0])):
            batch.step(np.array([ACTIVE if t % 8 == 0 else OTHER]))
    batch.start_sessions(np.arange(1), session("extinction", context="A"))
    batch.step(np.array([OTHER]))
    renewed = extinction_context == "B"
    assert (batch.value_context[0] > 0.5 * learnt) == renewed
    assert (batch.value_cue[0] > 0.2) == renewed
    assert batch.E[0, pav.CONTEXT_0, pav.DRUG] == pytest.approx(learnt, rel=0.2)


def test_a_copied_batch_steps_exactly_like_the_original() -> None:
    import copy
    import pickle

    batch = new_batch(session(), session("cue_reinstatement"))
    run(batch, ACTIVE, 30)
    for duplicate in (copy.deepcopy, lambda b: pickle.loads(pickle.dumps(b))):
        twin = duplicate(batch)
        assert np.shares_memory(twin.step_index, twin._clocks), "row views must survive the copy"
        for a in (ACTIVE, OTHER, ACTIVE, INACTIVE):
            mine, theirs = batch.step(np.array([a, a])), twin.step(np.array([a, a]))
            assert all(np.array_equal(x, y) for x, y in zip(mine, theirs, strict=True))
        assert twin.summary["active_presses"].tolist() == batch.summary["active_presses"].tolist()


def test_steps_return_new_arrays_while_the_state_columns_are_updated_in_place() -> None:
    batch = new_batch(session(), session())
    levels = batch.cocaine
    first, second = run(batch, ACTIVE, 2)
    assert not any(np.shares_memory(a, b) for a, b in zip(first, second, strict=True))
    assert levels is batch.cocaine and batch.cocaine[0] > 0, "the named column is a live view"
    for name in LEVELS:
        assert np.shares_memory(getattr(batch, name), batch._levels), name


def _trained_then_extinguished(extinction_context: str = "A", extinction_sessions: int = 3) -> SubjectBatch:
    """One subject pressing every 8th step through an FR1 session in A and extinction sessions."""
    batch = new_batch(session())
    for settings in [session("extinction", context=extinction_context)] * extinction_sessions:
        for t in range(int(batch.n_steps[0])):
            batch.step(np.array([ACTIVE if t % 8 == 0 else OTHER]))
        next_session(batch, settings)
    for t in range(int(batch.n_steps[0])):
        batch.step(np.array([ACTIVE if t % 8 == 0 else OTHER]))
    return batch


def test_spontaneous_recovery_grows_with_time_since_extinction() -> None:
    """Rescorla 2004: the longer the gap after extinction, the more the extinguished value returns, and
    never more than the context-bound share of extinction (the general share stays)."""
    import copy
    extinguished = _trained_then_extinguished()
    learnt = extinguished.E[0, pav.CONTEXT_0, pav.DRUG]
    values = {}
    for gap in (1.0, 7.0, 21.0, 365.0):
        batch = copy.deepcopy(extinguished)
        next_session(batch, session("extinction", abstinence_days=gap))
        values[gap] = batch.value_context[0]
    assert values[1.0] < values[7.0] < values[21.0] < values[365.0]
    inhibition = extinguished.I[0, pav.CONTEXT_0, 0, pav.DRUG]
    assert values[365.0] == pytest.approx(learnt - P.extinction_generality * inhibition, rel=1e-3)


def test_extinction_learnt_under_stress_is_retrieved_under_stress() -> None:
    """Extinction learnt in a state is retrieved in it: a cue presented in a stressed test loses its
    value within the session about as fast as in an unstressed one (Bouton 2002)."""
    import copy
    extinguished = _trained_then_extinguished()
    ends = {}
    for mA in (0.0, 0.5):
        batch = copy.deepcopy(extinguished)
        next_session(batch, session("cue_reinstatement", footshock_mA=mA))
        start = batch.E[0, pav.DRUG_CUE, pav.DRUG]
        for t in range(int(batch.n_steps[0])):
            batch.step(np.array([ACTIVE if t % 8 == 0 else OTHER]))
        ends[mA] = batch.value_cue[0] / start
    assert ends[0.0] < 0.5 and ends[0.5] < 0.5
    assert ends[0.5] < ends[0.0] + 0.15


def test_extinction_is_learnt_more_slowly_under_stress() -> None:
    """docs/model.md section 5: an unreinforced drug trial lays down extinction at the rate
    beta f (-delta), f = zeta + (1 - zeta) exp(-k / sigma_k): in full unstressed, more slowly in the
    stressed cue test (Maren & Holmes 2016)."""
    import copy
    extinguished = _trained_then_extinguished()
    factors = {}
    for mA in (0.0, 0.5):
        batch = copy.deepcopy(extinguished)
        next_session(batch, session("cue_reinstatement", footshock_mA=mA))
        kor = float(batch.kor[0])
        predicted = float(batch.value_cue[0] + batch.value_context[0] + batch.value_lever[0]
                          + batch.occupancy[0] * batch.value_drug_state[0])
        before = batch.I[0, pav.DRUG_CUE, 0, pav.DRUG]
        batch.step(np.array([ACTIVE]))   # one completed ratio, unreinforced: the cue comes on
        laid_down = batch.I[0, pav.DRUG_CUE, 0, pav.DRUG] - before
        factor = P.extinction_generality + (1 - P.extinction_generality) * np.exp(-kor / P.extinction_retrieval_kor)
        assert laid_down == pytest.approx(batch.extinction_rate[0] * factor * predicted, rel=1e-9)
        factors[mA] = factor
    assert factors[0.0] == 1.0 and factors[0.5] < 0.8


def test_renewal_is_partial() -> None:
    """ABA renewal restores part of the lever's value: the general share of its extinction in B is
    expressed in A (Bouton 2004), so A after B lies between the trained and the AAA-extinguished value."""
    aba, aaa = _trained_then_extinguished("B"), _trained_then_extinguished("A")
    learnt = aba.E[0, pav.DRUG_LEVER, pav.DRUG]
    for batch in (aba, aaa):
        next_session(batch, session("extinction", context="A"))
    assert aaa.value_lever[0] < aba.value_lever[0] < learnt - 0.5 * P.extinction_generality * aba.I[
        0, pav.DRUG_LEVER, 1, pav.DRUG]


@pytest.mark.parametrize("pavlovian_controller, operant_level", [(False, False), (False, True), (True, True)])
def test_the_environment_adds_operant_and_pavlovian_presses(pavlovian_controller: bool, operant_level: bool) -> None:
    """Subjects whose agent only ever chooses "other": without the environment's own behaviour they never
    press; the operant level gives each lever its rate; the Pavlovian controller adds drug-lever presses
    where incentive is high (after training, in the drug context)."""
    n = 400
    trained = SubjectBatch(n, P, SubjectOptions(pavlovian_controller=pavlovian_controller,
                                                operant_level=operant_level))
    trained.start_sessions(np.arange(n), session(), first=True)
    for t in range(int(trained.n_steps[0])):   # scripted training: the environment adds little here
        trained.step(np.full(n, ACTIVE if t % 40 == 0 else OTHER))
    next_session(trained, session("extinction"))
    run(trained, OTHER)
    active, inactive = trained.summary["active_presses"].mean(), trained.summary["inactive_presses"].mean()
    if not operant_level:
        assert active == inactive == 0
        return
    assert inactive == pytest.approx(P.operant_level_per_h, rel=0.25)
    if pavlovian_controller:
        assert active > inactive + 3
    else:
        assert active == pytest.approx(P.operant_level_per_h, rel=0.25)


def _set_level(batch: SubjectBatch, mg_per_kg: float, wanting: float) -> None:
    """Every subject's brain cocaine level (and its occupancy) and wanting, as the next step reads them."""
    batch.cocaine[:] = mg_per_kg
    batch.occupancy[:] = mg_per_kg / (mg_per_kg + P.cocaine_k50_mg_per_kg)
    batch.wanting[:] = wanting


@pytest.mark.parametrize("compulsion_zone", [True, False])
def test_the_environment_leaves_an_agents_own_press_above_satiety(compulsion_zone: bool) -> None:
    """The compulsion zone only adds presses: an agent's own drug-lever press above the satiety level is
    carried out and infused, zone or not (the TD policies carry the zone's stop there themselves)."""
    n = 50
    batch = SubjectBatch(n, P, SubjectOptions(compulsion_zone=compulsion_zone))
    batch.start_sessions(np.arange(n), session(), first=True)
    _set_level(batch, 3.0 * P.satiety_threshold_mg_per_kg, 10.0)
    batch.step(np.full(n, ACTIVE))
    assert np.all(batch.actions_taken == ACTIVE) and np.all(batch.summary["infusions"] == 1)


def test_the_compulsion_zone_adds_presses_between_the_priming_and_satiety_thresholds() -> None:
    """Where the agent chose "other", the zone presses the drug lever with probability 1 - e^(-rate dt c),
    c = w / (1 + w), only between the priming threshold and the satiety level; nothing else is added."""
    n = 4000
    params = P.replace(compulsion_rate_per_h=900.0)
    batch = SubjectBatch(n, params, SubjectOptions(compulsion_zone=True))
    batch.new_subjects(np.arange(n), subject_keys(4, np.arange(n)))
    batch.start_sessions(np.arange(n), session(), first=True)
    expected = -math.expm1(-900.0 * P.dt_s / 3600.0 * 0.5)   # w = 1: c = 1/2
    for level, share in ((0.5 * P.priming_threshold_mg_per_kg, 0.0), (1.0, expected),
                         (2.0 * P.satiety_threshold_mg_per_kg, 0.0)):
        _set_level(batch, level, 1.0)
        batch.step(np.full(n, OTHER))
        assert np.mean(batch.actions_taken == ACTIVE) == pytest.approx(share, abs=0.03), level
        assert np.all(batch.actions_taken != INACTIVE)


def test_uniform_draws_are_the_splitmix64_of_key_counter_and_stream() -> None:
    """`random.uniform` (a compiled loop) gives the numbers of its definition written in numpy: the top 53
    bits of mix64(key + counter * golden + stream * M2), for scalar and per-key counters."""
    keys = subject_keys(3, np.arange(5000))
    counters = np.random.default_rng(0).integers(0, 10**9, keys.size)
    for counter in (0, 41, counters):
        for stream in (0, 101, 307):
            with np.errstate(over="ignore"):
                x = keys + np.asarray(counter, dtype=np.uint64) * rnd._GOLDEN + np.uint64(stream) * rnd._M2
            expected = (rnd.mix64(x) >> np.uint64(11)).astype(np.float64) * rnd._TO_UNIT
            assert np.array_equal(rnd.uniform(keys, counter, stream), expected)
            assert rnd.uniform_one(keys[7], np.int64(np.broadcast_to(counter, keys.shape)[7]), stream) == expected[7]
