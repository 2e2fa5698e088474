"""The person's world: daily life between clinic visits, over the organism of `rlcraving.organism`.

One step is an hour (`OutpatientParams.dt_h`). The organism is the chamber's (learning, incentive
salience, allostasis and relief, KOR stress, baclofen effects); what differs is the world and a few
human numbers (cocaine kinetics by route, DAT occupancy per mg/kg, `human_params`). Per person and
hour, in order (equations in docs/outpatient.md):

1. the world: asleep (23:00-07:00) every action is ordinary activity; cue exposures (people, places,
   paraphernalia), daily hassles and rarer major stressors (KOR drive), drinking hours;
2. baclofen: oral doses due this hour, each taken with the person's adherence; kinetics per
   person (renal function); effects, with alcohol adding to sedation;
3. the action: 0 ordinary activity, 1 seek (a purchase succeeds with the person's access), 2 use
   (if drug is at hand); seeking and using fail with the sedation probability;
4. a use: a Pavlovian trial (cue, context, drug state -> drug) and the route's dose into the
   brain (smoked: at once; intranasal: through an absorption depot); a cue exposure without use:
   an extinction trial;
5. the organism's levels, signals and reward (as in the chamber);
6. the clinic: on visit days (Mon, Wed, Fri at 10:00) a urine benzoylecgonine test, self-reported
   use and craving 0-100; adverse events each day; dropout at day's end with a hazard that rises
   with use and side effects (a dropout stops treatment: an abrupt stop).

An episode is a week (Monday 00:00 to Sunday 24:00); the next episode continues the same life.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from numba import prange

from rlcraving import random as rnd
from rlcraving.checks import check_bool, check_choice, check_number
from rlcraving.organism import (
    _DYSPHORIA,
    _GENERALITY,
    _INCENTIVE,
    _OCCUPANCY,
    _RETRIEVAL_KOR,
    _UNIT_DOSE,
    EMPTY_DEPOT_MG_PER_KG,
    OTHER,
    STREAM_SEDATION,
    Organism,
    drug_trial,
    live_step,
)
from rlcraving.params import ModelParams, _p
from rlcraving.pharmacology import (
    Placebo,
    Regimen,
    effect_columns,
    filter_time_constants_h,
    oral_rate_per_h,
    receptor_occupancy,
)
from rlcraving.threads import BLOCK, block_end, block_start, blocks, compiled, kernel

SEEK, USE = 1, 2
ACTION_MEANINGS = ("ordinary_activity", "seek", "use")
OBSERVATION_NAMES = ("drug_cue", "drug_at_hand", "awake", "clinic_day", "drug_occupancy", "dysphoria", "incentive",
                     "sedation", "hour_of_day", "week_time")
ROUTES = ("smoked", "intranasal")
#: Measures of a clinic visit, one row each per person and visit.
VISIT_MEASURES = ("attending", "urine_positive", "self_report_use", "craving", "benzoylecgonine_mg")
#: Adverse events counted per person and day.
ADVERSE_EVENTS = ("drowsiness", "dizziness", "confusion", "withdrawal_syndrome")
VISIT_DAYS = (0, 2, 4)  # Monday, Wednesday, Friday
HOURS_PER_WEEK = 168
# random streams (per person, above the organism's and the chamber's)
(_S_CUE, _S_HASSLE, _S_MAJOR, _S_BUY, _S_DOSE, _S_DRINK, _S_DROPOUT, _S_REPORT) = range(301, 309)
_T_ACCESS, _T_EXPOSURE, _T_ADHERENCE, _T_RENAL, _T_DRINKER, _T_HONESTY = range(40, 46)  # trait streams
#: Entries of `Outpatient._world_coefficients`: the world's constants of one hour (`_hour`).
WORLD_COEFFICIENTS = ("dt_h", "cue_p", "hassle_p", "major_p", "kor_per_hassle", "kor_per_major_stressor",
                      "units_per_purchase", "used_mg", "seek_reward", "sober", "drowsiness_sedation",
                      "dizziness_mg_per_l", "confusion_mg_per_l", "withdrawal_syndrome", "withdrawal_confusion",
                      "be_decay", "drink_p", "absorbed")
(_DT_H, _CUE_P, _HASSLE_P, _MAJOR_P, _KOR_PER_HASSLE, _KOR_PER_MAJOR, _UNITS_PER_PURCHASE, _USED_MG, _SEEK_REWARD,
 _SOBER, _DROWSINESS, _DIZZINESS, _CONFUSION, _WITHDRAWAL_SYNDROME, _WITHDRAWAL_CONFUSION, _BE_DECAY, _DRINK_P,
 _ABSORBED) = range(len(WORLD_COEFFICIENTS))
#: What `_hour` counts per block of people: trials, uses, drinkers, clocks at 10:00 and at midnight.
_COUNTS = ("trials", "uses", "drinking", "clinic_hour", "midnight")
_TRIALS, _USES, _DRINKING, _CLINIC_HOUR, _MIDNIGHT = range(len(_COUNTS))
#: np.isclose(hour, 10.0)'s tolerance (atol + rtol |10|)
_CLINIC_TOLERANCE = 1e-08 + 1e-05 * 10.0


@dataclass(frozen=True)
class OutpatientParams:
    """The person's world: time, drug, cues, stress, clinic. Units in the names; sources beside."""

    # --- time and body ---
    dt_h: float = _p(1.0, "h", 0.25, 2.0, "chosen: an hour resolves doses, uses and visits", basis="chosen")
    body_weight_kg: float = _p(70.0, "kg", 30.0, 200.0, "reference adult", basis="assumed")
    # --- cocaine by route (Jeffcoat et al. 1989; Volkow et al. 1997) ---
    smoked_dose_mg: float = _p(40.0, "mg", 1.0, 500.0,
                               "assumed: a smoked dose of crack of 25-50 mg (Jones 1990, NIDA Res Monogr 99)")
    intranasal_dose_mg: float = _p(96.0, "mg", 1.0, 500.0, "Javaid et al. 1983: 96 mg intranasal cocaine")
    smoked_bioavailability: float = _p(0.6, "fraction", 0.05, 1.0,
                                       "assumed: Jeffcoat et al. 1989 found smoked cocaine well absorbed but its "
                                       "bioavailability diminished by pyrolysis")
    intranasal_bioavailability: float = _p(0.8, "fraction", 0.05, 1.0, "Jeffcoat et al. 1989: 80% after snorting")
    intranasal_absorption_half_life_min: float = _p(11.7, "min", 0.5, 120.0,
                                                    "Jeffcoat et al. 1989: absorption half-time 11.7 min "
                                                    "(smoked: 1.1 min, taken as immediate at an hour's step)")
    cocaine_half_life_min: float = _p(69.0, "min", 20.0, 240.0,
                                      "Jeffcoat et al. 1989: elimination half-life 69 min (78 min i.v.; "
                                      "Wilkinson et al. 1980: 75 min intranasal)")
    cocaine_k50_mg_per_kg: float = _p(0.2, "mg/kg", 0.01, 5.0,
                                      "Volkow et al. 1997: 0.3-0.6 mg/kg i.v. blocked 60-77% of dopamine "
                                      "transporters, so half occupancy near 0.2 mg/kg")
    # --- drug availability ---
    units_per_purchase: float = _p(3.0, "uses", 1.0, 50.0, "assumed: a purchase lasts a few uses", basis="assumed")
    access: float = _p(0.3, "probability / seeking hour", 0.0, 1.0,
                       "assumed: chance an hour of seeking finds money and a contact (median person)",
                       basis="assumed")
    access_sigma: float = _p(0.8, "log-normal sigma", 0.0, 3.0,
                             "assumed spread of access between people (severity)", basis="assumed")
    # --- cues and stressors ---
    cue_exposures_per_day: float = _p(2.0, "1 / day", 0.0, 24.0,
                                      "assumed: drug-associated people, places or paraphernalia met in a day",
                                      basis="assumed")
    hassles_per_day: float = _p(1.0, "1 / day", 0.0, 24.0, "assumed: daily hassles (Kanner et al. 1981)",
                                basis="assumed")
    kor_per_hassle: float = _p(0.3, "KOR activation", 0.0, 10.0,
                               "chosen: a hassle is about a fifth of the chamber's 15-min footshock stressor",
                               basis="chosen")
    major_stressors_per_week: float = _p(0.1, "1 / week", 0.0, 7.0, "assumed", basis="assumed")
    kor_per_major_stressor: float = _p(1.5, "KOR activation", 0.0, 10.0,
                                       "chosen: the chamber's 15-min 0.5 mA footshock gives ~1.3", basis="chosen")
    # --- choices ---
    seek_cost: float = _p(0.1, "reward / hour", 0.0, 10.0,
                          "chosen: effort, money and risk of an hour of seeking", basis="chosen")
    # --- treatment: adherence, renal function, alcohol ---
    adherence: float = _p(0.8, "fraction of doses", 0.0, 1.0,
                          "assumed: median share of doses taken in trials of oral medication", basis="assumed")
    adherence_sigma: float = _p(1.0, "logit sigma", 0.0, 5.0, "assumed spread of adherence", basis="assumed")
    renal_function_sigma: float = _p(0.25, "log-normal sigma", 0.0, 2.0,
                                     "assumed spread of renal function (fraction of normal) between adults",
                                     basis="assumed")
    drinkers_fraction: float = _p(1.0, "fraction", 0.0, 1.0,
                                  "share of people who drink, when alcohol co-use is on (PersonOptions.alcohol)",
                                  basis="protocol")
    drinking_days_per_week: float = _p(3.0, "days / week", 0.0, 7.0, "assumed", basis="assumed")
    alcohol_sedation: float = _p(0.3, "probability", 0.0, 1.0,
                                 "chosen: evening drinking alone makes 3 in 10 attempts fail; CNS depressants add "
                                 "to baclofen's sedation (product of the chances of not failing)", basis="chosen")
    # --- clinic measures ---
    be_half_life_h: float = _p(12.0, "h", 1.0, 100.0,
                               "calibrated with be_cutoff_mg so one use is detectable for 2-3 days and heavy use "
                               "for 4 or more (benzoylecgonine: 2-4 days, longer after heavy use)")
    be_cutoff_mg: float = _p(1.5, "mg of cocaine used (equivalent)", 0.01, 100.0, "see be_half_life_h",
                             basis="calibrated")
    self_report_honesty: float = _p(0.8, "probability", 0.0, 1.0,
                                    "assumed: share of users who report use confirmed by urine (Donovan et al. "
                                    "2012: self-report under-reports use)", basis="assumed")
    # --- retention ---
    dropout_per_day: float = _p(0.004, "1 / day", 0.0, 1.0,
                                "assumed: ~60% of a placebo arm retained at 16 weeks", basis="assumed")
    dropout_use_factor: float = _p(1.15, "x per use that day", 1.0, 10.0, "assumed", basis="assumed")
    dropout_adverse_factor: float = _p(2.0, "x on a day with an adverse event", 1.0, 100.0, "assumed",
                                       basis="assumed")
    # --- adverse events ---
    drowsiness_sedation: float = _p(0.15, "sedation probability", 0.0, 1.0,
                                    "chosen threshold of a reported drowsiness", basis="chosen")
    dizziness_ec50: float = _p(2.0, "x EC50", 0.1, 100.0, "chosen threshold of reported dizziness",
                               basis="chosen")
    confusion_ec50: float = _p(6.0, "x EC50", 0.1, 100.0,
                               "chosen: confusion at high levels (Baclofen for Cocaine Cravings; Is Baclofen "
                               "Effective)", basis="chosen")
    withdrawal_syndrome: float = _p(0.15, "withdrawal units", 0.0, 10.0,
                                    "chosen threshold of a withdrawal syndrome (agitation, confusion)",
                                    basis="chosen")

    def __post_init__(self) -> None:
        for f in dataclasses.fields(self):
            lo, hi = f.metadata["range"]
            check_number(f"world.{f.name}", getattr(self, f.name), lo=lo, hi=hi)
        if abs(2.0 / self.dt_h - round(2.0 / self.dt_h)) > 1e-9:
            raise ValueError(f"world.dt_h={self.dt_h} must divide 2 h into whole steps (0.25, 0.5, 1 or 2), so "
                             "that doses, visits and midnight fall on a step")

    def replace(self, **changes: Any) -> OutpatientParams:
        """A copy with some fields changed (unknown names raise a ValueError)."""
        known = {f.name for f in dataclasses.fields(self)}
        unknown = sorted(set(changes) - known)
        if unknown:
            raise ValueError(f"unknown world parameter(s) {unknown}; allowed: {sorted(known)}")
        return dataclasses.replace(self, **changes)


def human_params(world: OutpatientParams, base: ModelParams | None = None) -> ModelParams:
    """The organism's parameters for a person: the chamber's, with human cocaine kinetics."""
    return (base or ModelParams()).replace(cocaine_half_life_min=world.cocaine_half_life_min,
                                           cocaine_k50_mg_per_kg=world.cocaine_k50_mg_per_kg,
                                           ip_absorption_half_life_min=world.intranasal_absorption_half_life_min)


@dataclass(frozen=True)
class PersonOptions:
    """Settings fixed for the life of a batch of people."""

    route: str = "smoked"
    kor_knockout: bool = False
    individual_differences: bool = True
    alcohol: bool = False
    renal_function: float | None = None   # None: drawn per person around normal

    def __post_init__(self) -> None:
        check_choice("route", self.route, ROUTES)
        check_bool("kor_knockout", self.kor_knockout)
        check_bool("individual_differences", self.individual_differences)
        check_bool("alcohol", self.alcohol)
        if self.renal_function is not None:
            check_number("renal_function", self.renal_function, lo=0.05, hi=2.0)


class Outpatient:
    """The person's world; mixed with `Organism` in `PersonBatch`."""

    observation_names = OBSERVATION_NAMES
    #: What the TD agents learn from (`agents.features`): the observation less the clocks.
    feature_names = ("drug_cue", "drug_at_hand", "awake", "clinic_day", "dysphoria", "incentive", "sedation")

    def _build_world(self, world: OutpatientParams) -> None:
        self.world = world
        n, w, p = self.n, world, self.params
        self.n_actions = 3
        self.steps_per_day = int(round(24.0 / w.dt_h))
        self.n_steps = np.full(n, int(round(HOURS_PER_WEEK / w.dt_h)), dtype=np.int64)
        z = lambda dtype=np.float64: np.zeros(n, dtype=dtype)  # noqa: E731
        self.at_hand = z()
        self.cue_left = z(np.int64)           # 1 while a drug cue is present this hour
        self.weeks_done = z(np.int64)
        self.attending = np.ones(n, dtype=bool)
        self.benzoylecgonine = z()           # urine benzoylecgonine index, mg of cocaine used (decayed)
        self.uses_today = z()
        self.uses_since_visit = z()
        self.week_uses = z()
        self.week_seeks = z()
        self.week_tests = z(np.int64)       # urine tests at this week's clinic visits
        self.week_positive = z(np.int64)    # of which positive
        self.adverse_today = np.zeros((n, len(ADVERSE_EVENTS)), dtype=bool)
        self.adverse_counts = np.zeros((n, len(ADVERSE_EVENTS)))
        self.adverse_columns = tuple(self.adverse_counts.T)   # one view per event (ADVERSE_EVENTS)
        self.drinking = z(bool)
        # world traits
        self.access = z()
        self.exposure = z()
        self.adherence = z()
        self.renal_function = np.ones(n)
        self.drinker = z(bool)
        self.honesty = z(bool)
        # oral baclofen, per person: amounts (depot, central, peripheral) mg; filters B, R
        self.bac_amounts = np.zeros((n, 3))
        self.bac_filters = np.zeros((n, 2))
        self.regimen_index[:] = 0
        self.missed_doses = z()
        self.doses_taken = z()
        self._effects = np.tile(np.array([0.0, 1.0, 1.0, 0.0, 0.0]), (n, 1))
        self._withdrawal = self._effects[:, 4]   # written in place (`_effects[:] = ...`), so one view serves
        self._dose_per_use = (w.smoked_dose_mg * w.smoked_bioavailability if self.options.route == "smoked"
                              else w.intranasal_dose_mg * w.intranasal_bioavailability) / w.body_weight_kg
        self._used_mg = w.smoked_dose_mg if self.options.route == "smoked" else w.intranasal_dose_mg
        self._be_decay = math.exp(-math.log(2.0) * w.dt_h / w.be_half_life_h)
        self._filter_decay = np.array([math.exp(-w.dt_h / tau) for tau in filter_time_constants_h(p)])
        self._ec50 = p.baclofen_ec50_mg_per_l
        self._nobody = z(bool)
        #: Each clinic visit's records (urine, self-report, craving), kept only while `record_visits` is
        #: set (a trial sets it at enrolment): an environment stepping for millions of hours keeps none.
        self.record_visits = False
        self.visits: list[dict[str, np.ndarray]] = []
        awake_share = w.dt_h / 16.0
        coefficients = {
            "dt_h": w.dt_h, "cue_p": w.cue_exposures_per_day * awake_share, "hassle_p": w.hassles_per_day * awake_share,
            "major_p": w.major_stressors_per_week * w.dt_h / 168.0, "kor_per_hassle": w.kor_per_hassle,
            "kor_per_major_stressor": w.kor_per_major_stressor, "units_per_purchase": w.units_per_purchase,
            "used_mg": self._used_mg, "seek_reward": -w.seek_cost, "sober": 1.0 - w.alcohol_sedation,
            "drowsiness_sedation": w.drowsiness_sedation, "dizziness_mg_per_l": w.dizziness_ec50 * self._ec50,
            "confusion_mg_per_l": w.confusion_ec50 * self._ec50, "withdrawal_syndrome": w.withdrawal_syndrome,
            "withdrawal_confusion": 2.0 * w.withdrawal_syndrome, "be_decay": self._be_decay,
            "drink_p": w.drinking_days_per_week / 7.0, "absorbed": 1.0 - self._decay_ip}
        self._world_coefficients = np.array([coefficients[name] for name in WORLD_COEFFICIENTS])
        # scratch of a step: the actions carried out, uses, cocaine reaching the brain, KOR drive
        self._performed, self._used, self._dose, self._kor_drive = z(np.int64), z(bool), z(), z()
        self._n_blocks = (n + BLOCK - 1) // BLOCK

    def _drug_cue_left(self) -> np.ndarray:
        return self.cue_left

    @property
    def bac_withdrawal(self) -> np.ndarray:
        """Baclofen withdrawal now (adapted minus recent occupancy, >= 0), per person."""
        return self._withdrawal

    def new_subjects(self, idx: np.ndarray, keys: np.ndarray) -> None:
        """New people at `idx`: naive organisms, their own world traits, nothing at hand, attending."""
        idx = np.asarray(idx, dtype=np.int64)
        super().new_subjects(idx, keys)
        w = self.world
        spread = 1.0 if self.options.individual_differences else 0.0
        self.access[idx] = np.clip(w.access * np.exp(spread * w.access_sigma * rnd.normal(keys, _T_ACCESS)), 0, 1)
        self.exposure[idx] = np.exp(spread * 0.5 * rnd.normal(keys, _T_EXPOSURE))
        logit = math.log(max(w.adherence, 1e-9) / max(1.0 - w.adherence, 1e-9))
        z = rnd.normal(keys, _T_ADHERENCE)
        self.adherence[idx] = 1.0 / (1.0 + np.exp(-(logit + spread * w.adherence_sigma * z)))
        if self.options.renal_function is not None:
            self.renal_function[idx] = self.options.renal_function
        else:
            self.renal_function[idx] = np.clip(np.exp(spread * w.renal_function_sigma * rnd.normal(keys, _T_RENAL)),
                                               0.05, 2.0)
        drinkers = w.drinkers_fraction if self.options.alcohol else 0.0
        self.drinker[idx] = rnd.uniform(keys, 0, 2 * _T_DRINKER) < drinkers
        self.honesty[idx] = rnd.uniform(keys, 0, 2 * _T_HONESTY) < w.self_report_honesty
        self._transition = _transitions(self.params, self.renal_function, w.dt_h)
        for arr in (self.at_hand, self.benzoylecgonine, self.uses_today, self.uses_since_visit, self.week_uses,
                    self.week_seeks, self.missed_doses, self.doses_taken):
            arr[idx] = 0.0
        self.cue_left[idx] = 0
        self.weeks_done[idx] = 0
        self.week_tests[idx] = self.week_positive[idx] = 0
        self.attending[idx] = True
        self.adverse_today[idx] = False
        self.adverse_counts[idx] = 0.0
        self.bac_amounts[idx] = 0.0
        self.bac_filters[idx] = 0.0
        self.regimen_index[idx] = 0
        self.regimen_anchor_h[idx] = 0.0
        self._effects[idx] = (0.0, 1.0, 1.0, 0.0, 0.0)
        self.context[idx] = 0
        self._set_unit_dose(idx, self._dose_per_use)

    # ------------------------------------------------------------------ weeks
    def start_weeks(self, idx: np.ndarray, regimen: Regimen | None = None, *, attending: bool | None = None) -> None:
        """Begin the next week of people `idx` (their first, for new people). A `regimen` starts
        now (anchored to this Monday; Placebo() after treatment is an abrupt stop); None keeps theirs."""
        idx = np.asarray(idx, dtype=np.int64)
        if idx.size == 0:
            return
        start_h = 168.0 * self.weeks_done[idx]
        self.session_start_h[idx] = start_h
        if attending is not None:
            self.attending[idx] = check_bool("attending", attending)
        if regimen is not None:
            self.assign_regimen(idx, regimen, start_h)
        self._clocks[idx, 0] = 0
        self.week_uses[idx] = 0.0
        self.week_seeks[idx] = 0.0
        self.week_tests[idx] = self.week_positive[idx] = 0
        self._set_incubation(idx, start_h)
        self._set_drinking()
        self._begin_episode(idx)

    def assign_regimen(self, idx: np.ndarray, regimen: Regimen, now_h: np.ndarray) -> None:
        """Put people `idx` on `regimen` from `now_h` (regimen day 0 is that day)."""
        if regimen.route != "oral":
            raise ValueError(f"baclofen={regimen!r}: a person takes oral baclofen; route {regimen.route!r} "
                             "is the rat's")
        if regimen not in self._regimens:
            self._regimens.append(regimen)
        self.regimen_index[idx] = self._regimens.index(regimen)
        self.regimen_anchor_h[idx] = 24.0 * np.floor(np.asarray(now_h) / 24.0)
        if regimen.at_steady_state:
            self._settle(idx, regimen)
        self._bac_active = bool((self.regimen_index > 0).any() or (self.bac_amounts > 1e-9).any()
                                or (self.bac_filters > 1e-6).any())

    def _settle(self, idx: np.ndarray, regimen: Regimen) -> None:
        """Three weeks on `regimen`, every dose taken: the steady state of a person already treated."""
        hours = 21 * self.steps_per_day
        amounts, filters = np.zeros((idx.size, 3)), np.zeros((idx.size, 2))
        dt = self.world.dt_h
        for k in range(hours):
            t0 = k * dt
            _, mg = regimen.doses(t0, t0 + dt)
            amounts[:, 0] += mg.sum()
            effects, filters = self._baclofen_hour(amounts, filters)
            amounts = np.einsum("nij,nj->ni", self._transition[idx], amounts)
        self.bac_amounts[idx], self.bac_filters[idx] = amounts, filters
        self._effects[idx] = effects

    def _baclofen_hour(self, amounts: np.ndarray, filters: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Effects this hour from the amounts now, and the filters updated with this hour's occupancy."""
        p = self.params
        conc = np.maximum(amounts[:, 1], 0.0) / p.baclofen_v_l
        occ = receptor_occupancy(p, self._ec50, conc)
        a = self._filter_decay
        filters = a * filters + (1.0 - a) * occ[:, None]
        return effect_columns(p, self._ec50, conc, occ, filters[:, 0], filters[:, 1]), filters

    def baclofen_effects(self) -> np.ndarray:
        """This hour's baclofen effects per person, shape (5, n) (`EFFECT_COLUMNS`), alcohol's sedation included."""
        effects = self._effects.T.copy()
        if self.drinking.any():   # each person's own: 1 - (1 - s) x sober only while drinking
            effects[3] = np.where(self.drinking, 1.0 - (1.0 - effects[3]) * (1.0 - self.world.alcohol_sedation),
                                  effects[3])
        return np.ascontiguousarray(effects)

    # ------------------------------------------------------------------ an hour
    def now_h(self) -> np.ndarray:
        """Each person's clock, hours since their first Monday 00:00."""
        return self.session_start_h + self.step_index * self.world.dt_h

    def step(self, actions: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Advance every person by one hour. Returns (observation, reward, terminated, truncated).

        The hour of every person is one compiled pass over blocks of people (`_hour`: the world's
        draws, baclofen's effects, seeking and using, the organism's `live_step`, adverse events,
        clocks, drinking, the observation); baclofen kinetics and doses (while anyone is treated),
        clinic visits and the day's end run here, in numpy, when they are due.
        """
        n = self.n
        actions = np.asarray(actions, dtype=np.int64)
        bac = self._bac_active
        if bac:   # this hour's effects (the organism's, `_feel_baclofen`), written by the kernel
            conc, gain, natural_gain, withdrawal = np.empty((4, n))
        else:
            conc, gain, natural_gain, withdrawal = self._zeros, self._ones, self._ones, self._zeros
        self.baclofen_mg_per_l, self.dopamine_gain = conc, gain
        # a use with nothing in the depot: whether anyone absorbs this hour is known only after the uses
        split = self.options.route != "smoked" and not self._any_ip
        obs = np.empty((n, len(OBSERVATION_NAMES)), dtype=np.float32)
        reward, truncated = np.empty(n), np.empty(n, dtype=bool)
        counts, ip_max = np.zeros((self._n_blocks, len(_COUNTS)), dtype=np.int64), np.zeros(self._n_blocks)
        _hour(actions, self.keys, self._clocks, self.session_start_h, self.n_steps, self.exposure, self.access,
              self.kor_on, self.attending, self.drinker, self.drinking, self._effects, self.held_action,
              self.cue_left, self.at_hand, self.week_seeks, self.week_uses, self.uses_today, self.uses_since_visit,
              self.total_infusions, self.last_drug_h, self.benzoylecgonine, self.ip_depot, self.adverse_today,
              self._levels, self._constants, self._excitation, self._inhibition, self._elsewhere,
              self._inhibition_old, self._coefficients, self._components, self._world_coefficients,
              bac, bool(self.drinker.any()), self.options.route == "smoked",
              self._any_ip, split, not bac, conc, gain, natural_gain, withdrawal, self._performed, self._used,
              self._dose, self._kor_drive, self._nobody, self._zeros, reward, obs, truncated, counts, ip_max)
        totals = counts.sum(axis=0)
        if totals[_TRIALS]:
            self._stale = True
        if self._any_ip or (split and totals[_USES]):
            self._any_ip = bool(ip_max.max() > 0.0)
        fresh = not bac   # the observation written by the kernel still holds
        if bac:
            self._advance_baclofen_hour()
        if totals[_CLINIC_HOUR] or totals[_MIDNIGHT]:
            hour_next = np.mod(self.now_h(), 24.0)
            if totals[_CLINIC_HOUR]:
                self._clinic(np.isclose(hour_next, 10.0))
            if totals[_MIDNIGHT]:
                self._end_of_day(hour_next == 0.0)
                fresh = False   # dropouts leave the clinic
        if not fresh:
            obs = self.observe()
        return obs, reward, np.zeros(n, dtype=bool), truncated

    def _set_drinking(self) -> None:
        """Whether each person drinks this hour (`_drinks`; nobody without drinkers)."""
        if self.drinker.any():
            _drinking_now(self.drinker, self.keys, self.session_start_h, self._clocks, self._world_coefficients,
                          self.drinking)

    def _advance_baclofen_hour(self) -> None:
        """Kinetics to the next hour; the doses due then, each taken with the person's adherence."""
        if not self._bac_active:
            return
        self.bac_amounts = np.einsum("nij,nj->ni", self._transition, self.bac_amounts)
        now = self.now_h()
        dt = self.world.dt_h
        for index in np.unique(self.regimen_index):
            rows = np.flatnonzero(self.regimen_index == index)
            regimen = self._regimens[index]
            if isinstance(regimen, Placebo):
                continue
            for anchor in np.unique(self.regimen_anchor_h[rows]):
                group = rows[self.regimen_anchor_h[rows] == anchor]
                t = float(now[group[0]] - anchor)
                same = group[now[group] - anchor == t]
                _, mg = regimen.doses(t, t + dt)
                if mg.size:
                    taken = rnd.uniform(self.keys[same], self.counter[same], _S_DOSE) < self.adherence[same]
                    self.bac_amounts[same, 0] += np.where(taken, mg.sum(), 0.0)
                    self.doses_taken[same] += taken * mg.size
                    self.missed_doses[same] += ~taken * mg.size
        effects, self.bac_filters = self._baclofen_hour(self.bac_amounts, self.bac_filters)
        self._effects[:] = effects

    def _clinic(self, at_visit_hour: np.ndarray) -> None:
        """Visits of the people whose clock reads 10:00 on a visit day: urine, self-report, craving."""
        day_of_week = np.floor(np.mod(self.now_h(), 168.0) / 24.0)
        visit = at_visit_hour & np.isin(day_of_week, VISIT_DAYS)
        if not visit.any():
            return
        positive = self.benzoylecgonine >= self.world.be_cutoff_mg
        used = self.uses_since_visit > 0
        honest = self.honesty | (rnd.uniform(self.keys, self.counter, _S_REPORT) < 0.5)
        craving = 100.0 * (self.incentive + self.dysphoria) / (1.0 + self.incentive + self.dysphoria)
        tested = visit & self.attending
        if self.record_visits:
            self.visits.append({"hour": self.now_h().copy(), "visit": visit.copy(), "attending": tested,
                                "urine_positive": positive.copy(), "self_report_use": used & honest,
                                "craving": craving.copy(), "benzoylecgonine_mg": self.benzoylecgonine.copy()})
        self.week_tests += tested
        self.week_positive += tested & positive
        self.uses_since_visit[visit] = 0.0

    def _end_of_day(self, midnight: np.ndarray) -> None:
        """Adverse events are counted; attending people drop out with the day's hazard (treatment stops).
        The bookkeeping is compiled (`_count_adverse`, `_drop_out`); the hazard's power and exponential
        are numpy's."""
        w = self.world
        any_event = np.empty(self.n, dtype=bool)
        _count_adverse(midnight, self.adverse_today, self.adverse_counts, any_event)
        hazard = w.dropout_per_day * w.dropout_use_factor ** self.uses_today * np.where(any_event,
                                                                                        w.dropout_adverse_factor, 1.0)
        leaving = np.empty(self.n, dtype=bool)
        if _drop_out(midnight, self.attending, self.keys, self.session_start_h, self._clocks, np.exp(-hazard),
                     self.adverse_today, self.uses_today, self._world_coefficients, leaving):
            rows = np.flatnonzero(leaving & (self.regimen_index > 0))
            if rows.size:
                self.assign_regimen(rows, Placebo(), self.now_h()[rows])

    def end_weeks(self, idx: np.ndarray) -> None:
        """Book-keeping when weeks at `idx` end (called by the environments at episode end)."""
        self.weeks_done[idx] += 1

    def observe(self) -> np.ndarray:
        """Observation matrix (n, len(OBSERVATION_NAMES)), float32 in [0, 1] (a new array)."""
        obs = np.empty((self.n, len(OBSERVATION_NAMES)), dtype=np.float32)
        observe_people(obs, self.cue_left, self.at_hand, self.session_start_h, self._clocks, self.n_steps,
                       self.attending, self._effects, self.drinking, self._levels,
                       self._world_coefficients)
        return obs


class PersonBatch(Outpatient, Organism):
    """N people living their days (the organism of the chamber in the person's world)."""

    def __init__(self, n: int, params: ModelParams | None = None, options: PersonOptions | None = None,
                 world: OutpatientParams | None = None):
        world = world or OutpatientParams()
        options = options or PersonOptions()
        Organism.__init__(self, n, params or human_params(world), options, dt_s=3600.0 * world.dt_h)
        self._build_world(world)
        self.new_subjects(np.arange(self.n), rnd.subject_keys(0, np.arange(self.n)))


def _transitions(params: ModelParams, renal_function: np.ndarray, dt_h: float) -> np.ndarray:
    """Per person, the baclofen compartments' transition over one step: expm(K dt), shape (n, 3, 3)."""
    rate = oral_rate_per_h(params, renal_function)
    lam, vec = np.linalg.eig(rate)
    lam, vec = lam.real, vec.real
    return np.einsum("nij,nj,njk->nik", vec, np.exp(lam * dt_h), np.linalg.inv(vec))


# ---------------------------------------------------------------------------------------------
# An hour of the person's world, compiled with numba: the numpy expressions it replaced, in their
# order, so that the numbers are the same bit for bit (tests/test_golden.py).

@compiled
def _sedation(baclofen: float, drinking: bool, sober: float) -> float:
    """A person's chance that an action fails now: baclofen's, and alcohol's with it while the person
    drinks (`baclofen_effects`): 1 - (1 - s) x sober. Each person's own, whoever else drinks. Scalars
    only: array arguments would cost reference counting on every call."""
    return 1.0 - (1.0 - baclofen) * sober if drinking else baclofen


@compiled
def _unit(x: float) -> float:
    """np.clip(x, 0, 1), NaN and -0 as numpy treats them."""
    if math.isnan(x):
        return x
    return (x if x < 1.0 else 1.0) if x > 0.0 else 0.0


@compiled
def _drinks(drinker: bool, key: np.uint64, day: int, hour: float, W: np.ndarray) -> bool:
    """Whether a person drinks in the hour starting at `hour` (0-24) of `day` (days since their first
    Monday): drinkers drink 19:00-23:00 on drinking days, each day one draw per person (probability
    drinking days per week / 7)."""
    return drinker and rnd.uniform_one(key, day, _S_DRINK) < W[_DRINK_P] and hour >= 19.0 and hour < 23.0


@kernel()
def _drinking_now(drinker: np.ndarray, keys: np.ndarray, session_start_h: np.ndarray, clocks: np.ndarray,
                  W: np.ndarray, drinking: np.ndarray) -> None:
    """`Outpatient._set_drinking`: each person's `_drinks` at their clock now."""
    n = drinker.shape[0]
    for block in prange(blocks(n)):
        for i in range(block_start(block), block_end(block, n)):
            now = session_start_h[i] + clocks[i, 0] * W[_DT_H]
            drinking[i] = _drinks(drinker[i], keys[i], math.floor(now / 24.0), now % 24.0, W)


@compiled
def _world_hour(lo: int, hi: int, actions: np.ndarray, keys: np.ndarray, clocks: np.ndarray,
                session_start_h: np.ndarray, exposure: np.ndarray, access: np.ndarray, kor_on: np.ndarray,
                drinking: np.ndarray, effects: np.ndarray, held_action: np.ndarray, cue_left: np.ndarray,
                at_hand: np.ndarray, week_seeks: np.ndarray, week_uses: np.ndarray, uses_today: np.ndarray,
                uses_since_visit: np.ndarray, total_infusions: np.ndarray, last_drug_h: np.ndarray,
                benzoylecgonine: np.ndarray, ip_depot: np.ndarray, L: np.ndarray, S: np.ndarray,
                excitation: np.ndarray, inhibition: np.ndarray, elsewhere: np.ndarray, inhibition_old: np.ndarray,
                C: np.ndarray, W: np.ndarray, bac_active: bool, smoked: bool, conc: np.ndarray,
                gain: np.ndarray, natural_gain: np.ndarray, withdrawal: np.ndarray, performed: np.ndarray,
                used: np.ndarray, dose: np.ndarray, kor_drive: np.ndarray, counts: np.ndarray) -> None:
    """Steps 1-4 of the hour for people lo..hi-1: cues, stressors, baclofen's effects and sedation,
    seeking, using, the Pavlovian trials, the dose (mg/kg; smoked: to the brain, intranasal: to the
    depot). `counts`: this block's row (trials, uses)."""
    x = np.zeros(excitation.shape[1])   # a trial's stimuli: the drug cue, the context, the drug state
    other = np.empty(excitation.shape[1])
    x[0], x[1] = 1.0, 1.0
    clock, awake = np.nan, False   # the people of a block share their clock, almost always
    for i in range(lo, hi):
        now = session_start_h[i] + clocks[i, 0] * W[_DT_H]
        if now != clock:
            clock, hour = now, now % 24.0
            awake = hour >= 7.0 and hour < 23.0
        a = actions[i] if awake else OTHER
        key, counter = keys[i], clocks[i, 2]
        # the world this hour: cues, stressors (step 1)
        cue = awake and rnd.uniform_one(key, counter, _S_CUE) < W[_CUE_P] * exposure[i]
        cue_left[i] = 1 if cue else 0
        hassle = awake and rnd.uniform_one(key, counter, _S_HASSLE) < W[_HASSLE_P]
        major = rnd.uniform_one(key, counter, _S_MAJOR) < W[_MAJOR_P]
        kor_drive[i] = (W[_KOR_PER_HASSLE] * (1.0 if hassle else 0.0)
                        + W[_KOR_PER_MAJOR] * (1.0 if major else 0.0)) * kor_on[i]
        # baclofen and sedation (steps 2-3; `Organism._feel_baclofen`)
        if bac_active:
            conc[i], gain[i], natural_gain[i] = effects[i, 0], effects[i, 1], effects[i, 2]
            withdrawal[i] = effects[i, 4]
            held = held_action[i]
            if held != OTHER or a != OTHER:
                go = rnd.uniform_one(key, counter, STREAM_SEDATION) >= _sedation(effects[i, 3], drinking[i],
                                                                                  W[_SOBER])
                if held != OTHER:
                    a = held if go else OTHER
                    if go:
                        held_action[i] = OTHER
                elif not go:
                    held_action[i], a = a, OTHER
        # seeking and using (steps 3-4)
        # (& rather than `and`: the agent's random actions would mispredict a branch)
        seek = a == SEEK
        bought = seek & (rnd.uniform_one(key, counter, _S_BUY) < access[i])
        at_hand[i] += (1.0 if bought else 0.0) * W[_UNITS_PER_PURCHASE]
        use = (a == USE) & (at_hand[i] >= 1.0)
        at_hand[i] -= 1.0 if use else 0.0
        week_seeks[i] += 1.0 if seek else 0.0
        dose[i] = 0.0
        if use:   # paraphernalia, context and drug state predict the drug
            x[2] = L[i, _OCCUPANCY]
            drug_trial(i, x, 1.0, gain[i], C[_GENERALITY], C[_RETRIEVAL_KOR], L, S, excitation, inhibition,
                       elsewhere, inhibition_old, other)
            week_uses[i] += 1.0
            uses_today[i] += 1.0
            uses_since_visit[i] += 1.0
            total_infusions[i] += 1.0
            last_drug_h[i] = now
            benzoylecgonine[i] += W[_USED_MG]
            if smoked:
                dose[i] = S[i, _UNIT_DOSE]
            else:
                ip_depot[i] += S[i, _UNIT_DOSE]
            counts[_TRIALS] += 1
            counts[_USES] += 1
        elif cue:   # a cue met without using: an extinction trial
            x[2] = L[i, _OCCUPANCY]
            drug_trial(i, x, 0.0, gain[i], C[_GENERALITY], C[_RETRIEVAL_KOR], L, S, excitation, inhibition,
                       elsewhere, inhibition_old, other)
            counts[_TRIALS] += 1
        performed[i], used[i] = a, use


@compiled
def _body_hour(lo: int, hi: int, actions: np.ndarray, keys: np.ndarray, clocks: np.ndarray,
               session_start_h: np.ndarray, n_steps: np.ndarray, attending: np.ndarray, drinker: np.ndarray,
               drinking: np.ndarray, effects: np.ndarray, cue_left: np.ndarray, at_hand: np.ndarray,
               benzoylecgonine: np.ndarray, ip_depot: np.ndarray, adverse_today: np.ndarray, L: np.ndarray,
               S: np.ndarray, excitation: np.ndarray, inhibition: np.ndarray, elsewhere: np.ndarray,
               inhibition_old: np.ndarray, C: np.ndarray, components: np.ndarray, W: np.ndarray,
               any_drinker: bool, absorb: bool, observe_now: bool, gain: np.ndarray,
               natural_gain: np.ndarray, withdrawal: np.ndarray, performed: np.ndarray, used: np.ndarray,
               dose: np.ndarray, kor_drive: np.ndarray, nobody: np.ndarray, zeros: np.ndarray, reward: np.ndarray,
               obs: np.ndarray, truncated: np.ndarray, counts: np.ndarray, ip_max: np.ndarray, block: int) -> None:
    """Steps 4-6 of the hour for people lo..hi-1: i.p.-like absorption of an intranasal dose (when
    `absorb`), the organism (`live_step`; the use is the cue's onset), the cost of seeking, adverse
    events, clocks, benzoylecgonine's decay, the next hour's drinking; the observation (when
    `observe_now`). `counts`: this block's row (drinkers, clocks at 10:00 and at midnight)."""
    if absorb:   # `Organism._absorb_ip`
        top = 0.0
        for i in range(lo, hi):
            transfer = ip_depot[i] * W[_ABSORBED]
            ip_depot[i] -= transfer
            if ip_depot[i] <= EMPTY_DEPOT_MG_PER_KG:   # each person's own rule, whoever else has a depot
                ip_depot[i] = 0.0
            dose[i] = dose[i] + transfer
            top = max(top, ip_depot[i])
        ip_max[block] = top
    live_step(lo, hi, dose, kor_drive, actions, used, nobody, zeros, gain, natural_gain, withdrawal, cue_left, L, S,
              excitation, inhibition, elsewhere, inhibition_old, C, components, reward)
    clock, awake = np.nan, False   # the clock of the hour just lived and of the next (as in `_world_hour`)
    clock_next, hour_next, day_next = np.nan, 0.0, 0
    for i in range(lo, hi):
        seek_reward = W[_SEEK_REWARD] * (1.0 if performed[i] == SEEK else 0.0)   # effort, money and risk
        components[i, 5] += seek_reward
        reward[i] += seek_reward
        # adverse events of the hour (baclofen's level, sedation and withdrawal now)
        now = session_start_h[i] + clocks[i, 0] * W[_DT_H]
        if now != clock:
            clock, hour = now, now % 24.0
            awake = hour >= 7.0 and hour < 23.0
        level, withdrawn = effects[i, 0], effects[i, 4]
        if awake and _sedation(effects[i, 3], drinking[i], W[_SOBER]) >= W[_DROWSINESS] and level > 0:
            adverse_today[i, 0] = True
        if awake and level >= W[_DIZZINESS]:
            adverse_today[i, 1] = True
        if level >= W[_CONFUSION] or withdrawn >= W[_WITHDRAWAL_CONFUSION]:
            adverse_today[i, 2] = True
        if withdrawn >= W[_WITHDRAWAL_SYNDROME]:
            adverse_today[i, 3] = True
        for k in range(clocks.shape[1]):
            clocks[i, k] += 1
        benzoylecgonine[i] *= W[_BE_DECAY]
        now = session_start_h[i] + clocks[i, 0] * W[_DT_H]
        if now != clock_next:
            clock_next, hour_next, day_next = now, now % 24.0, math.floor(now / 24.0)
        if any_drinker:
            drinking[i] = _drinks(drinker[i], keys[i], day_next, hour_next, W)
        if drinking[i]:
            counts[_DRINKING] += 1
        if abs(hour_next - 10.0) <= _CLINIC_TOLERANCE:
            counts[_CLINIC_HOUR] += 1
        if hour_next == 0.0:
            counts[_MIDNIGHT] += 1
        truncated[i] = clocks[i, 0] >= n_steps[i]
    if observe_now:
        _observe(lo, hi, obs, cue_left, at_hand, session_start_h, clocks, n_steps, attending, effects, drinking,
                 L, W)


@kernel()
def _hour(actions: np.ndarray, keys: np.ndarray, clocks: np.ndarray, session_start_h: np.ndarray,
          n_steps: np.ndarray, exposure: np.ndarray, access: np.ndarray, kor_on: np.ndarray, attending: np.ndarray,
          drinker: np.ndarray, drinking: np.ndarray, effects: np.ndarray, held_action: np.ndarray,
          cue_left: np.ndarray, at_hand: np.ndarray, week_seeks: np.ndarray, week_uses: np.ndarray,
          uses_today: np.ndarray, uses_since_visit: np.ndarray, total_infusions: np.ndarray,
          last_drug_h: np.ndarray, benzoylecgonine: np.ndarray, ip_depot: np.ndarray, adverse_today: np.ndarray,
          L: np.ndarray, S: np.ndarray, excitation: np.ndarray, inhibition: np.ndarray, elsewhere: np.ndarray,
          inhibition_old: np.ndarray, C: np.ndarray, components: np.ndarray, W: np.ndarray, bac_active: bool,
          any_drinker: bool, smoked: bool, any_ip: bool, split: bool, observe_now: bool,
          conc: np.ndarray, gain: np.ndarray, natural_gain: np.ndarray, withdrawal: np.ndarray,
          performed: np.ndarray, used: np.ndarray, dose: np.ndarray, kor_drive: np.ndarray, nobody: np.ndarray,
          zeros: np.ndarray, reward: np.ndarray, obs: np.ndarray, truncated: np.ndarray, counts: np.ndarray,
          ip_max: np.ndarray) -> None:
    """An hour of every person (`Outpatient.step`): `_world_hour` then `_body_hour`, block by block of
    people, each block through both while its rows are in cache. With `split` (an intranasal world
    whose depots are empty) the blocks go through `_world_hour` first, since whether anyone's depot is
    absorbed this hour (`Organism._absorb_ip`) depends on whether anyone used."""
    n = clocks.shape[0]
    n_blocks = blocks(n)
    absorb = any_ip
    if split:
        for block in prange(n_blocks):
            _world_hour(block_start(block), block_end(block, n), actions, keys, clocks, session_start_h, exposure,
                        access, kor_on, drinking, effects, held_action, cue_left, at_hand, week_seeks, week_uses,
                        uses_today, uses_since_visit, total_infusions, last_drug_h, benzoylecgonine, ip_depot, L, S,
                        excitation, inhibition, elsewhere, inhibition_old, C, W, bac_active, smoked,
                        conc, gain, natural_gain, withdrawal, performed, used, dose, kor_drive, counts[block])
        absorb = counts[:, _USES].sum() > 0
    for block in prange(n_blocks):
        lo, hi = block_start(block), block_end(block, n)
        if not split:
            _world_hour(lo, hi, actions, keys, clocks, session_start_h, exposure, access, kor_on, drinking, effects,
                        held_action, cue_left, at_hand, week_seeks, week_uses, uses_today, uses_since_visit,
                        total_infusions, last_drug_h, benzoylecgonine, ip_depot, L, S, excitation, inhibition,
                        elsewhere, inhibition_old, C, W, bac_active, smoked, conc, gain, natural_gain,
                        withdrawal, performed, used, dose, kor_drive, counts[block])
        _body_hour(lo, hi, actions, keys, clocks, session_start_h, n_steps, attending, drinker, drinking, effects,
                   cue_left, at_hand, benzoylecgonine, ip_depot, adverse_today, L, S, excitation, inhibition,
                   elsewhere, inhibition_old, C, components, W, any_drinker, absorb, observe_now, gain,
                   natural_gain, withdrawal, performed, used, dose, kor_drive, nobody, zeros, reward, obs, truncated,
                   counts[block], ip_max, block)


@compiled
def _observe(lo: int, hi: int, obs: np.ndarray, cue_left: np.ndarray, at_hand: np.ndarray,
             session_start_h: np.ndarray, clocks: np.ndarray, n_steps: np.ndarray, attending: np.ndarray,
             effects: np.ndarray, drinking: np.ndarray, L: np.ndarray, W: np.ndarray) -> None:
    """The observation (OBSERVATION_NAMES) of people lo..hi-1, each feature in [0, 1]."""
    clock, awake, visit_day, day_share = np.nan, 0.0, False, 0.0   # a block's people share their clock, mostly
    step, length, week_share = -1, -1, 0.0
    for i in range(lo, hi):
        now = session_start_h[i] + clocks[i, 0] * W[_DT_H]
        if now != clock:
            hour, day = now % 24.0, math.floor((now % 168.0) / 24.0)
            clock, visit_day, day_share = now, day in VISIT_DAYS, hour / 24.0
            awake = 1.0 if hour >= 7.0 and hour < 23.0 else 0.0
        if clocks[i, 0] != step or n_steps[i] != length:
            step, length = clocks[i, 0], n_steps[i]
            week_share = _unit(step / length)
        dysphoria, incentive = L[i, _DYSPHORIA], L[i, _INCENTIVE]
        obs[i, 0] = 1.0 if cue_left[i] > 0 else 0.0
        obs[i, 1] = _unit(min(at_hand[i], 1.0))
        obs[i, 2] = awake
        obs[i, 3] = 1.0 if visit_day and attending[i] else 0.0
        obs[i, 4] = _unit(L[i, _OCCUPANCY])
        obs[i, 5] = _unit(dysphoria / (1.0 + dysphoria))
        obs[i, 6] = _unit(incentive / (1.0 + incentive))
        obs[i, 7] = _unit(_sedation(effects[i, 3], drinking[i], W[_SOBER]))
        obs[i, 8] = _unit(day_share)
        obs[i, 9] = week_share


@kernel()
def observe_people(obs: np.ndarray, cue_left: np.ndarray, at_hand: np.ndarray, session_start_h: np.ndarray,
                   clocks: np.ndarray, n_steps: np.ndarray, attending: np.ndarray, effects: np.ndarray,
                   drinking: np.ndarray, L: np.ndarray, W: np.ndarray) -> None:
    """`Outpatient.observe` of every person (`_observe`, block by block) into `obs`."""
    n = obs.shape[0]
    for block in prange(blocks(n)):
        _observe(block_start(block), block_end(block, n), obs, cue_left, at_hand, session_start_h, clocks, n_steps,
                 attending, effects, drinking, L, W)


@kernel()
def _count_adverse(midnight: np.ndarray, adverse_today: np.ndarray, adverse_counts: np.ndarray,
                   any_event: np.ndarray) -> None:
    """At midnight (per person): the day's adverse events counted, and whether there was any."""
    for i in prange(midnight.shape[0]):
        anything = False
        for k in range(adverse_today.shape[1]):
            event = midnight[i] and adverse_today[i, k]
            adverse_counts[i, k] += 1.0 if event else 0.0
            anything |= event
        any_event[i] = anything


@kernel()
def _drop_out(midnight: np.ndarray, attending: np.ndarray, keys: np.ndarray, session_start_h: np.ndarray,
              clocks: np.ndarray, survival: np.ndarray, adverse_today: np.ndarray, uses_today: np.ndarray,
              W: np.ndarray, leaving: np.ndarray) -> bool:
    """At midnight (per person): an attending person leaves with probability 1 - `survival` (the
    day's), the day's adverse events and uses are cleared. Returns whether anyone left."""
    n_leaving = 0
    for i in prange(midnight.shape[0]):
        leaving[i] = False
        if not midnight[i]:
            continue
        day = math.floor((session_start_h[i] + clocks[i, 0] * W[_DT_H]) / 24.0)
        if attending[i] and rnd.uniform_one(keys[i], day, _S_DROPOUT) < 1.0 - survival[i]:
            leaving[i] = True
            attending[i] = False
            n_leaving += 1
        for k in range(adverse_today.shape[1]):
            adverse_today[i, k] = False
        uses_today[i] = 0.0
    return n_leaving > 0
