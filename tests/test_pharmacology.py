"""Cocaine occupancy and baclofen pharmacology against the published figures.

*Baclofen for Cocaine Cravings* and *Is Baclofen Effective for Cocaine Cravings?* (docs/model.md,
references): oral baclofen peaks 1-3 h after a dose, half-life 2-6 h, 70-85% renally excreted
unchanged (renal impairment -> accumulation); clinical regimens of 5-20 mg three times a day with
titration; abrupt discontinuation gives a withdrawal syndrome that tapering avoids
(*What are the management strategies for baclofen withdrawal symptoms?*, Dr.Oracle).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from rlcraving.params import ModelParams
from rlcraving.pharmacology import (
    EFFECT_COLUMNS,
    ORAL_DOSE_HOURS,
    STATE_SIZE,
    BaclofenModel,
    OralTID,
    Placebo,
    RatIP,
    Titration,
    cocaine_occupancy,
)

PARAMS = ModelParams()
GRID_H = 0.01  # h, fine grid for curve shapes
COL = {name: i for i, name in enumerate(EFFECT_COLUMNS)}


def oral(params: ModelParams = PARAMS) -> BaclofenModel:
    return BaclofenModel(params, "oral")


def single_dose_curve(model: BaclofenModel, mg: float, hours: float) -> tuple[np.ndarray, np.ndarray]:
    """(times h, central concentration mg/L) after one dose into the depot at t = 0."""
    t = np.arange(0.0, hours, GRID_H)
    return t, model.propagate(np.array([mg, 0.0, 0.0]), t)[:, 1] / model.volume


def terminal_half_life_h(t: np.ndarray, conc: np.ndarray, after_h: float) -> float:
    """Half-life of the log-linear tail of a concentration curve (fitted after `after_h`)."""
    tail = t > after_h
    slope = np.polyfit(t[tail], np.log(conc[tail]), 1)[0]
    return math.log(2.0) / -slope


def steady_day(model: BaclofenModel, regimen, step_h: float = 0.05) -> np.ndarray:
    """Effects over one day at steady state, from midnight."""
    state = model.steady_state(regimen, 0.0)
    effects, _ = model.run(state, regimen, 0.0, step_h, int(round(24.0 / step_h)))
    return effects


# ------------------------------------------------------------------ cocaine


def test_cocaine_occupancy_is_half_at_k50_and_saturates() -> None:
    k50 = PARAMS.cocaine_k50_mg_per_kg
    levels = np.array([0.0, k50, 10 * k50, 1000 * k50])
    occ = cocaine_occupancy(levels, k50)
    assert occ[0] == 0.0
    assert occ[1] == pytest.approx(0.5)
    assert np.all(np.diff(occ) > 0) and occ[-1] < 1.0


# ------------------------------------------------------------------ oral kinetics


def test_micro_constants_reproduce_the_two_compartment_fit() -> None:
    """k10, k12, k21 derived from alpha, beta, V/F and CL/F give back alpha and beta exactly."""
    disposition = oral().rate_per_h[1:, 1:]
    rates = np.sort(-np.linalg.eigvals(disposition).real)
    assert rates == pytest.approx([PARAMS.baclofen_beta_per_h, PARAMS.baclofen_alpha_per_h], rel=1e-9)
    k10 = -(disposition[0, 0] + disposition[1, 0])  # what leaves the central compartment for good
    assert k10 == pytest.approx(PARAMS.baclofen_cl_l_per_h / PARAMS.baclofen_v_l)
    assert np.all(oral().rate_per_h[1:, 1:][[0, 1], [1, 0]] > 0), "inter-compartment rates must be positive"


def test_single_oral_dose_peaks_within_one_to_three_hours() -> None:
    t, conc = single_dose_curve(oral(), 20.0, 12.0)
    assert 1.0 <= t[np.argmax(conc)] <= 3.0


def test_terminal_half_life_is_two_to_six_hours() -> None:
    t, conc = single_dose_curve(oral(), 20.0, 48.0)
    half_life = terminal_half_life_h(t, conc, after_h=24.0)
    assert 2.0 <= half_life <= 6.0
    assert half_life == pytest.approx(math.log(2.0) / PARAMS.baclofen_beta_per_h, rel=1e-3)


def test_exposure_equals_dose_over_clearance() -> None:
    """Mass balance: AUC(0, inf) = dose / (CL/F) for a linear model."""
    dose = 20.0
    _, conc = single_dose_curve(oral(), dose, 96.0)
    auc = float(np.sum((conc[1:] + conc[:-1]) / 2) * GRID_H)
    assert auc == pytest.approx(dose / PARAMS.baclofen_cl_l_per_h, rel=1e-3)


def test_first_regimen_dose_peaks_one_to_three_hours_after_it_is_taken() -> None:
    """The same through a regimen: 08:00 dose of a patient starting treatment."""
    step_h = 0.05
    effects, _ = oral().run(np.zeros(STATE_SIZE), OralTID(30.0, at_steady_state=False), 0.0, step_h, int(13.9 / step_h))
    conc = effects[:, COL["concentration_mg_per_l"]]
    assert np.all(conc[: int(ORAL_DOSE_HOURS[0] / step_h)] == 0.0)  # nothing before the first dose
    assert 1.0 <= step_h * np.argmax(conc) - ORAL_DOSE_HOURS[0] <= 3.0


@pytest.mark.parametrize("mg_per_day", [15.0, 30.0, 60.0, 80.0])
def test_steady_state_mean_level_is_dose_rate_over_clearance(mg_per_day: float) -> None:
    """Linear kinetics: the mean steady-state level is proportional to the daily dose."""
    conc = steady_day(oral(), OralTID(mg_per_day))[:, COL["concentration_mg_per_l"]]
    assert conc.mean() == pytest.approx(mg_per_day / 24.0 / PARAMS.baclofen_cl_l_per_h, rel=0.01)


def test_steady_state_is_reached_by_repeated_dosing() -> None:
    """Three weeks of dosing from nothing ends where `steady_state` puts a patient on treatment."""
    model, regimen = oral(), OralTID(60.0, at_steady_state=False)
    _, state = model.run(np.zeros(STATE_SIZE), regimen, 0.0, 0.25, 4 * 24 * 21)
    reference = model.steady_state(regimen, 0.0)
    assert state[:3] == pytest.approx(reference[:3], rel=1e-6)


def test_renal_impairment_accumulates_within_the_seeds_renal_share() -> None:
    """70-85% renal excretion: at 5% of normal kidney function clearance falls to the
    non-renal 15-30% plus 5% of the renal share, so levels rise 3-5.2 fold."""
    normal = steady_day(oral(), OralTID(60.0))[:, COL["concentration_mg_per_l"]]
    levels = []
    for renal in (0.75, 0.5, 0.05):
        impaired = oral(PARAMS.replace(renal_function=renal))
        levels.append(steady_day(impaired, OralTID(60.0))[:, COL["concentration_mg_per_l"]])
    means = np.array([normal.mean()] + [c.mean() for c in levels])
    assert np.all(np.diff(means) > 0), "lower kidney function must accumulate more baclofen"
    assert levels[-1].max() > normal.max()
    bounds = [1.0 / (1.0 - share + share * 0.05) for share in (0.7, 0.85)]
    assert bounds[0] <= means[-1] / means[0] <= bounds[1]


def test_renal_impairment_lengthens_the_half_life() -> None:
    t, conc = single_dose_curve(oral(), 20.0, 72.0)
    t, impaired = single_dose_curve(oral(PARAMS.replace(renal_function=0.3)), 20.0, 72.0)
    assert terminal_half_life_h(t, impaired, 36.0) > terminal_half_life_h(t, conc, 24.0)


def test_rat_ip_dose_peaks_and_clears_within_hours() -> None:
    model = BaclofenModel(PARAMS, "ip")
    t, conc = single_dose_curve(model, 3.0, 24.0)
    assert 0.0 < t[np.argmax(conc)] < 1.5
    assert terminal_half_life_h(t, conc, 8.0) == pytest.approx(PARAMS.baclofen_rat_half_life_h, rel=1e-2)


# ------------------------------------------------------------------ effects (Emax / Hill)


def test_dopamine_gain_follows_emax_hill() -> None:
    model = oral()
    ec50 = PARAMS.baclofen_ec50_mg_per_l
    conc = np.array([0.0, ec50, 1e9 * ec50])
    effects, _ = model.effects(conc, np.zeros(2), 0.25)
    gain = effects[:, COL["dopamine_gain"]]
    assert gain == pytest.approx([1.0, 1.0 - PARAMS.baclofen_emax / 2, 1.0 - PARAMS.baclofen_emax], rel=1e-6)


@given(st.lists(st.floats(0.0, 50.0), min_size=2, max_size=30))
def test_effects_are_bounded_and_monotone_in_concentration(values: list[float]) -> None:
    conc = np.sort(np.array(values))
    effects, adapted = oral().effects(conc, np.zeros(2), 0.25)
    gain, natural = effects[:, COL["dopamine_gain"]], effects[:, COL["natural_reward_gain"]]
    sedation, withdrawal = effects[:, COL["sedation"]], effects[:, COL["withdrawal"]]
    assert np.all(np.isfinite(effects))
    assert np.all((gain >= 1.0 - PARAMS.baclofen_emax - 1e-12) & (gain <= 1.0))
    assert np.all(natural >= gain - 1e-12), "food reward is spared more than drug reward"
    assert np.all(np.diff(gain) <= 1e-12) and np.all(np.diff(sedation) >= -1e-12)
    assert np.all((sedation >= 0) & (sedation <= PARAMS.sedation_max)) and np.all(withdrawal >= 0)
    assert np.all((adapted >= 0.0) & (adapted <= 1.0))


def test_sedation_needs_more_drug_than_the_dopamine_effect() -> None:
    """Seed 000: little sedation at therapeutic doses; sedation rises at high levels."""
    mean = {dose: steady_day(oral(), OralTID(dose)).mean(axis=0) for dose in (20.0, 60.0, 200.0)}
    assert mean[60.0][COL["sedation"]] < 1.0 - mean[60.0][COL["dopamine_gain"]]
    assert mean[20.0][COL["sedation"]] < mean[60.0][COL["sedation"]] < mean[200.0][COL["sedation"]]


# ------------------------------------------------------------------ adaptation and withdrawal


def test_withdrawal_appears_when_occupancy_falls_and_fades_with_adaptation() -> None:
    step_h = 0.25
    days_on, days_off = 30, 10
    conc = np.r_[np.full(int(24 * days_on / step_h), PARAMS.baclofen_ec50_mg_per_l),
                 np.zeros(int(24 * days_off / step_h))]
    effects, _ = oral().effects(conc, np.zeros(2), step_h)
    withdrawal = effects[:, COL["withdrawal"]]
    stop = int(24 * days_on / step_h)
    assert np.all(withdrawal[:stop] == 0.0), "no withdrawal while the level is constant"
    peak = int(np.argmax(withdrawal))
    # the withdrawal article: the syndrome evolves over 1-3 days after the stop
    assert 24 <= (peak - stop) * step_h <= 72, f"peak {(peak - stop) * step_h:.0f} h after the stop"
    assert withdrawal[peak] > 0.25  # adapted to half occupancy, now none
    tau = int(round(24 * PARAMS.baclofen_adaptation_days / step_h))
    assert withdrawal[peak + 2 * tau] < 0.4 * withdrawal[peak], "adaptation undoes it over days"


def session_time_withdrawal(taper_days: float, stop_day: float = 20.0) -> float:
    """Largest withdrawal at 10:00 (session time) after stopping 60 mg/day."""
    regimen = Titration(target_mg_per_day=60.0, stop_day=stop_day, taper_days=taper_days)
    step_h = 0.25
    days = stop_day + 10 * PARAMS.baclofen_adaptation_days + 10
    effects, _ = oral().run(np.zeros(STATE_SIZE), regimen, 0.0, step_h, int(24 * days / step_h))
    hours = step_h * np.arange(len(effects))
    at_ten = (hours % 24 == 10.0) & (hours >= 24 * stop_day)
    return float(effects[at_ten, COL["withdrawal"]].max())


def test_tapering_avoids_the_withdrawal_of_an_abrupt_stop() -> None:
    """Seed 003: abrupt discontinuation gives withdrawal; a gradual dose reduction avoids it.
    Tapers are measured in adaptation time constants, the time scale of the syndrome."""
    tau = PARAMS.baclofen_adaptation_days
    peaks = [session_time_withdrawal(multiple * tau) for multiple in (0.0, 1.0, 3.0, 5.0)]
    assert peaks[0] > 0.0
    assert np.all(np.diff(peaks) < 0), f"longer tapers must give less withdrawal: {peaks}"
    assert peaks[3] < 0.5 * peaks[0], "a taper over five adaptation time constants at least halves it"


# ------------------------------------------------------------------ regimens


@pytest.mark.parametrize("mg_per_day", [15.0, 60.0, 80.0])
def test_oral_tid_gives_three_equal_doses_a_day(mg_per_day: float) -> None:
    times, amounts = OralTID(mg_per_day).doses(0.0, 72.0)
    assert len(times) == 9
    assert np.allclose(np.sort(times % 24.0).reshape(3, 3), np.array(ORAL_DOSE_HOURS)[:, None])
    assert amounts.sum() == pytest.approx(3 * mg_per_day)
    assert np.allclose(amounts, mg_per_day / 3)


def test_titration_climbs_to_target_then_tapers_or_stops() -> None:
    """Seed 001: 5 mg three times a day, +5 mg a dose every 3 days up to the target."""
    regimen = Titration(target_mg_per_day=60.0, stop_day=40.0, taper_days=10.0)
    daily = np.array([regimen.mg_per_day_on(day) for day in range(60)])
    assert daily[0] == regimen.start_mg_per_day
    climb = daily[: 40]
    assert np.all(np.diff(climb) >= 0) and climb.max() == regimen.target_mg_per_day
    assert set(np.diff(climb)) <= {0.0, regimen.step_mg_per_day}
    taper = daily[40:51]
    assert np.all(np.diff(taper) < 0) and daily[50] == 0.0 and np.all(daily[50:] == 0.0)
    abrupt = Titration(target_mg_per_day=60.0, stop_day=40.0)
    assert abrupt.mg_per_day_on(39.9) == 60.0 and abrupt.mg_per_day_on(40.0) == 0.0


def test_rat_ip_dose_is_given_before_the_session() -> None:
    regimen = RatIP(3.0, minutes_before=30.0)
    times, amounts = regimen.doses(0.0, 24.0, session_start_h=10.0)
    assert times.tolist() == [9.5] and amounts.tolist() == [3.0]
    assert len(regimen.doses(10.0, 24.0, session_start_h=10.0)[0]) == 0
    assert len(RatIP(0.0).doses(0.0, 24.0, session_start_h=10.0)[0]) == 0


def test_placebo_gives_nothing_and_lets_baclofen_wash_out() -> None:
    model = oral()
    assert len(Placebo().doses(0.0, 1e4)[0]) == 0
    state = model.steady_state(OralTID(60.0), 10.0)
    effects, _ = model.run(state, Placebo(), 10.0, 0.25, 4 * 48)
    conc = effects[:, COL["concentration_mg_per_l"]]
    assert np.all(np.diff(conc[8:]) < 0) and conc[-1] < 0.01 * conc.max()
