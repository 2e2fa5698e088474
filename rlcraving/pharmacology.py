"""Drugs: cocaine's brain level and baclofen's route from dose to a dopamine gain.

Cocaine (per subject, stepped by the core):
    occupancy(c) = c / (c + K50)                          c: brain level, mg/kg

Baclofen (per regimen, computed ahead for whole intervals because it does not depend on
behaviour):
    dx/dt = K x + doses,  x = (depot, central, peripheral) in mg (human) or mg/kg (rat)
    C = central / V                                        mg/L
    occ = C^h / (C^h + EC50^h)                             GABA-B receptor occupancy, 0..1
    gain = 1 - Emax * occ                                  multiplies dopamine signals
    sedation = sedation_max * C^2 / (C^2 + (m EC50)^2)     chance a press attempt fails
    dB/dt = (occ - B) / tau_adapt                          adapted occupancy (days)
    dR/dt = (occ - R) / tau_recent                         recent occupancy (hours)
    withdrawal = max(0, B - R)                             rebound after a sustained fall

Regimens are small frozen objects that list their dose times; they are anchored to the day
they are assigned to a subject (day 0 = the day of assignment, clock time in hours).
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import Literal

import numpy as np

from rlcraving.checks import check_bool, check_number
from rlcraving.params import ModelParams

Route = Literal["oral", "ip"]
ORAL_DOSE_HOURS = (8.0, 14.0, 20.0)
MAX_MG_PER_DAY = 300.0  # far above the 80 mg/day clinical maximum; rejects absurd input
MAX_RAT_MG_PER_KG = 20.0


def cocaine_occupancy(level: np.ndarray, k50: float) -> np.ndarray:
    """Fraction of dopamine transporters blocked at brain level `level` (mg/kg)."""
    return level / (level + k50)


# ---------------------------------------------------------------------------------------
# Regimens
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Placebo:
    """No baclofen. Assigning it after treatment is an abrupt stop."""

    route: Route = "oral"
    at_steady_state: bool = False

    def doses(self, t0_h: float, t1_h: float, session_start_h: float | None = None) -> tuple[np.ndarray, np.ndarray]:
        return _no_doses()


@dataclass(frozen=True)
class OralTID:
    """Oral baclofen, `mg_per_day` split in three doses at 08:00, 14:00 and 20:00.

    With `at_steady_state` (default) the subject is put at the regimen's steady state when it
    is assigned, as for a patient already on treatment.
    """

    mg_per_day: float
    at_steady_state: bool = True
    route: Route = "oral"

    def __post_init__(self) -> None:
        check_number("baclofen_mg_per_day", self.mg_per_day, lo=0.0, hi=MAX_MG_PER_DAY)
        check_bool("at_steady_state", self.at_steady_state)

    def doses(self, t0_h: float, t1_h: float, session_start_h: float | None = None) -> tuple[np.ndarray, np.ndarray]:
        return _daily_doses(t0_h, t1_h, lambda day: self.mg_per_day)


@dataclass(frozen=True)
class Titration:
    """Clinical titration: start low, add `step_mg_per_day` every `every_days` up to the target.

    Defaults follow the regimen of Is Baclofen Effective for Cocaine Cravings?: 5 mg three times a
    day, +5 mg a dose (+15 mg/day) every 3 days.
    If `stop_day` is set, treatment ends then: abruptly (`taper_days` = 0) or by a linear taper
    over `taper_days`.
    """

    target_mg_per_day: float = 60.0
    start_mg_per_day: float = 15.0
    step_mg_per_day: float = 15.0
    every_days: float = 3.0
    stop_day: float | None = None
    taper_days: float = 0.0
    route: Route = "oral"
    at_steady_state: bool = False

    def __post_init__(self) -> None:
        check_number("target_mg_per_day", self.target_mg_per_day, lo=0.0, hi=MAX_MG_PER_DAY)
        check_number("start_mg_per_day", self.start_mg_per_day, lo=0.0, hi=MAX_MG_PER_DAY)
        check_number("step_mg_per_day", self.step_mg_per_day, lo=0.0, hi=MAX_MG_PER_DAY)
        check_number("every_days", self.every_days, lo=0.1, hi=365.0)
        check_number("taper_days", self.taper_days, lo=0.0, hi=365.0)
        if self.stop_day is not None:
            check_number("stop_day", self.stop_day, lo=0.0, hi=1e5)

    def mg_per_day_on(self, day: float) -> float:
        """Daily dose on regimen day `day` (0 = first day)."""
        dose = min(self.target_mg_per_day,
                   self.start_mg_per_day + self.step_mg_per_day * math.floor(day / self.every_days))
        if self.stop_day is None or day < self.stop_day:
            return dose
        if self.taper_days <= 0 or day >= self.stop_day + self.taper_days:
            return 0.0
        return dose * (1.0 - (day - self.stop_day) / self.taper_days)

    def doses(self, t0_h: float, t1_h: float, session_start_h: float | None = None) -> tuple[np.ndarray, np.ndarray]:
        return _daily_doses(t0_h, t1_h, self.mg_per_day_on)


@dataclass(frozen=True)
class RatIP:
    """Acute intraperitoneal baclofen (mg/kg), `minutes_before` each session (rat studies)."""

    mg_per_kg: float
    minutes_before: float = 30.0
    route: Route = "ip"
    at_steady_state: bool = False

    def __post_init__(self) -> None:
        check_number("baclofen_mg_per_kg", self.mg_per_kg, lo=0.0, hi=MAX_RAT_MG_PER_KG)
        check_number("minutes_before", self.minutes_before, lo=0.0, hi=24 * 60.0)

    def doses(self, t0_h: float, t1_h: float, session_start_h: float | None = None) -> tuple[np.ndarray, np.ndarray]:
        if session_start_h is None or self.mg_per_kg == 0:
            return _no_doses()
        t = session_start_h - self.minutes_before / 60.0
        if t0_h <= t < t1_h:
            return np.array([t]), np.array([self.mg_per_kg])
        return _no_doses()


Regimen = Placebo | OralTID | Titration | RatIP
REGIMEN_TYPES = (Placebo, OralTID, Titration, RatIP)


def _no_doses() -> tuple[np.ndarray, np.ndarray]:
    return np.zeros(0), np.zeros(0)


def _daily_doses(t0_h: float, t1_h: float, mg_per_day_on) -> tuple[np.ndarray, np.ndarray]:
    first_day, last_day = math.floor(t0_h / 24.0), math.floor(t1_h / 24.0)
    times, amounts = [], []
    for day in range(first_day, last_day + 1):
        mg = mg_per_day_on(day) / len(ORAL_DOSE_HOURS)
        for hour in ORAL_DOSE_HOURS:
            t = 24.0 * day + hour
            if t0_h <= t < t1_h and mg > 0:
                times.append(t)
                amounts.append(mg)
    return np.array(times), np.array(amounts)


# ---------------------------------------------------------------------------------------
# Pharmacokinetics and pharmacodynamics
# ---------------------------------------------------------------------------------------

#: Length of a subject's baclofen state: depot, central, peripheral, adapted B, recent R.
STATE_SIZE = 5
#: Columns of a baclofen effect trajectory.
EFFECT_COLUMNS = ("concentration_mg_per_l", "dopamine_gain", "natural_reward_gain", "sedation", "withdrawal")


class BaclofenModel:
    """Linear compartment kinetics and Emax/Hill effects for one route.

    State vector per subject: (depot, central, peripheral, adapted occupancy B, recent occupancy R).
    """

    def __init__(self, params: ModelParams, route: Route):
        self.params, self.route = params, route
        p = params
        if route == "oral":
            rate = oral_rate_per_h(p, np.array(p.renal_function))
            self.volume, self.ec50 = p.baclofen_v_l, p.baclofen_ec50_mg_per_l
        else:
            k10 = math.log(2.0) / p.baclofen_rat_half_life_h
            rate = _rate_matrix(np.array(p.baclofen_rat_ka_per_h), np.array(k10), np.array(0.0), np.array(0.0))
            self.volume, self.ec50 = p.baclofen_rat_v_l_per_kg, p.baclofen_rat_ec50_mg_per_l
        self.rate_per_h = rate
        lam, vec = np.linalg.eig(rate)
        self._lam, self._vec, self._vec_inv = lam.real, vec.real, np.linalg.inv(vec).real

    def propagate(self, x0: np.ndarray, t_h: np.ndarray) -> np.ndarray:
        """Compartment amounts at times `t_h` (>= 0) after state `x0` with no dose: shape (M, 3)."""
        coef = self._vec_inv @ x0
        return (np.exp(np.outer(t_h, self._lam)) * coef) @ self._vec.T

    def effects(self, conc: np.ndarray, filters0: np.ndarray, step_h: float) -> tuple[np.ndarray, np.ndarray]:
        """Effect columns (`EFFECT_COLUMNS`) on a uniform grid, and the final (B, R)."""
        from scipy.signal import lfilter  # imported here: scipy.signal takes ~1 s to import

        p = self.params
        occ = receptor_occupancy(p, self.ec50, conc)
        filtered = []
        for tau_h, start in zip(filter_time_constants_h(p), filters0, strict=True):
            a = math.exp(-step_h / tau_h)
            filtered.append(lfilter([1.0 - a], [1.0, -a], occ, zi=[a * start])[0])
        adapted, recent = filtered
        out = effect_columns(p, self.ec50, conc, occ, adapted, recent)
        end = np.array([adapted[-1], recent[-1]]) if len(occ) else np.asarray(filters0, dtype=float)
        return out, end

    def run(self, state0: np.ndarray, regimen: Regimen, t0_h: float, step_h: float, n: int,
            session_start_h: float | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Simulate `n` grid steps of `step_h` from clock `t0_h` (regimen time, hours).

        Returns (effects at the start of each step, shape (n, 5); state after the last step).
        Doses fall at their exact times; effects are sampled at t0 + k * step_h.
        """
        t_end = t0_h + n * step_h
        times = t0_h + step_h * np.arange(n)
        dose_t, dose_mg = regimen.doses(t0_h, t_end, session_start_h)
        amounts = np.empty((n, 3))
        x, seg_start = state0[:3].astype(float), t0_h
        for td, mg in zip(list(dose_t) + [t_end], list(dose_mg) + [0.0], strict=True):
            lo, hi = np.searchsorted(times, [seg_start, td], side="left")
            amounts[lo:hi] = self.propagate(x, times[lo:hi] - seg_start)
            x = self.propagate(x, np.array([td - seg_start]))[0]
            x[0] += mg
            seg_start = td
        conc = np.maximum(amounts[:, 1], 0.0) / self.volume
        effects, filters = self.effects(conc, state0[3:5], step_h)
        return effects, np.array([*np.maximum(x, 0.0), *filters])

    def steady_state(self, regimen: Regimen, at_h: float) -> np.ndarray:
        """State at clock `at_h` after 21 days on `regimen` (anchored 21 days earlier)."""
        return _steady_state(self, regimen, at_h % 24.0)


def oral_rate_per_h(params: ModelParams, renal_function: np.ndarray) -> np.ndarray:
    """Rate matrices (1/h) of oral baclofen's depot, central and peripheral compartments, one per
    element of `renal_function` (fraction of normal): shape renal_function.shape + (3, 3).

    The two-compartment fit (alpha, beta, V/F, CL/F) gives the micro constants; the renal share of
    elimination (`baclofen_renal_fraction`) scales with renal function.
    """
    p = params
    k10_nominal = p.baclofen_cl_l_per_h / p.baclofen_v_l
    k21 = p.baclofen_alpha_per_h * p.baclofen_beta_per_h / k10_nominal
    k12 = p.baclofen_alpha_per_h + p.baclofen_beta_per_h - k10_nominal - k21
    renal = p.baclofen_renal_fraction
    k10 = k10_nominal * (1.0 - renal + renal * np.asarray(renal_function, dtype=float))
    return _rate_matrix(np.full(k10.shape, p.baclofen_ka_per_h), k10, np.full(k10.shape, k12),
                        np.full(k10.shape, k21))


def _rate_matrix(ka: np.ndarray, k10: np.ndarray, k12: np.ndarray, k21: np.ndarray) -> np.ndarray:
    zero = np.zeros(k10.shape)
    return np.stack([np.stack([-ka, zero, zero], axis=-1),
                     np.stack([ka, -(k10 + k12), k21], axis=-1),
                     np.stack([zero, k12, -k21], axis=-1)], axis=-2)


def receptor_occupancy(params: ModelParams, ec50: float, conc: np.ndarray) -> np.ndarray:
    """GABA-B occupancy C^h / (C^h + EC50^h) at concentration `conc` (mg/L)."""
    ch, eh = np.power(conc, params.baclofen_hill), ec50 ** params.baclofen_hill
    return ch / (ch + eh)


def filter_time_constants_h(params: ModelParams) -> tuple[float, float]:
    """Time constants (h) of the adapted (B) and recent (R) occupancy filters."""
    return 24.0 * params.baclofen_adaptation_days, params.baclofen_recent_h


def effect_columns(params: ModelParams, ec50: float, conc: np.ndarray, occ: np.ndarray, adapted: np.ndarray,
                   recent: np.ndarray) -> np.ndarray:
    """`EFFECT_COLUMNS` from concentration (mg/L), occupancy and the two filtered occupancies:
    shape conc.shape + (5,)."""
    p = params
    withdrawal = np.maximum(adapted - recent, 0.0)
    sed_ec50 = p.sedation_ec50_multiple * ec50
    sedation = p.sedation_max * conc**2 / (conc**2 + sed_ec50**2)
    gain = 1.0 - p.baclofen_emax * occ
    natural = 1.0 - p.baclofen_natural_reward_fraction * p.baclofen_emax * occ
    return np.stack([conc, gain, natural, sedation, withdrawal], axis=-1)


@functools.lru_cache(maxsize=256)
def _steady_state_cached(model: BaclofenModel, regimen: Regimen, hour: float) -> tuple[float, ...]:
    total_h = 21 * 24.0 + hour
    n = int(math.ceil(total_h / 0.25))
    _, state = model.run(np.zeros(STATE_SIZE), regimen, 0.0, total_h / n, n)
    return tuple(state)


def _steady_state(model: BaclofenModel, regimen: Regimen, hour: float) -> np.ndarray:
    return np.array(_steady_state_cached(model, regimen, round(hour, 6)))


@functools.lru_cache(maxsize=8)
def baclofen_model(params: ModelParams, route: Route) -> BaclofenModel:
    """Shared, cached `BaclofenModel` for (params, route)."""
    return BaclofenModel(params, route)
