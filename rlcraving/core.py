"""The batched simulation core: N subjects in operant chambers, advanced together as arrays.

This is the only implementation of the model. `CocaineSeekingEnv` is a view of it with
N = 1 and `CocaineSeekingVectorEnv` with N > 1; the TD agents drive it directly.

One step is `dt_s` seconds. Per subject and step, in order (all equations in docs/model.md):

1. baclofen effects for this moment (precomputed per session): gain g, natural-reward gain
   g_nat, sedation probability, withdrawal w_bac;
2. the action: 0 other behaviour, 1 active lever, 2 inactive lever, 3 sucrose lever; a press
   fails with the sedation probability;
3. schedule: an active press outside the timeout counts towards the ratio (FR n or the
   Richardson-Roberts series); completing it gives the infusion (if the drug is available),
   the cue (if contingent), a timeout, and possibly a footshock (punished sessions);
4. cocaine: c <- c e^(-dt/tau_c) + infusion (given `infusion_delay_s` earlier) + i.p. transfer;
   occupancy o = c/(c+K50);
5. stress: shocks raise KOR activation k (threshold in mA; none if knocked out): punished
   completions in session, and the 15-min intermittent footshock before a stress test;
6. allostasis: A <- A + dt (r_A o) - A dt/tau_A;
7. Pavlovian trials at each completed ratio and each sucrose pellet;
8. incentive (Zhang et al. 2009): kappa times the net cue/context/drug-state value (extinction
   retrieved less in a drug or stress state than in the drug-free state it was learned in), times the
   availability a = (occupancy rise one unit dose would cause now) / (its rise from zero):
   a drug cue is worth the surge it predicts, so a sated subject's cues are worth less;
9. reward = hedonic + drug dopamine + incentive + relief + sucrose - cost - punishment, where
   relief = w_relief x dysphoria x occupancy rise: the drug removes dysphoria as it acts.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numba
import numpy as np

from rlcraving import pavlovian as pav
from rlcraving import random as rnd
from rlcraving.params import INDIVIDUAL_TRAITS, ModelParams
from rlcraving.pharmacology import EFFECT_COLUMNS, Placebo, Regimen, baclofen_model
from rlcraving.pharmacology import STATE_SIZE as BACLOFEN_STATE_SIZE
from rlcraving.protocol import CONTEXTS, PR_SERIES, SessionSettings

OTHER, ACTIVE, INACTIVE, SUCROSE = 0, 1, 2, 3
ACTION_MEANINGS = ("other", "active_lever", "inactive_lever", "sucrose_lever")

OBSERVATION_NAMES = (
    "drug_cue", "sucrose_cue", "timeout", "context_A", "context_B", "context_C",
    "drug_occupancy", "dysphoria", "incentive", "ratio_progress", "session_time", "sucrose_lever_present",
)
REWARD_COMPONENTS = ("hedonic", "drug_dopamine", "incentive", "relief", "sucrose", "cost", "punishment")
SUMMARY_FIELDS = ("active_presses", "inactive_presses", "sucrose_presses", "infusions", "pellets",
                  "shocks", "breakpoint", "intake_mg_per_kg", "first_hour_infusions")

#: Columns of `SubjectBatch._levels`: what one step moves (state, then the signals derived from it).
LEVELS = ("cocaine", "occupancy", "rise", "allostasis", "kor", "dysphoria", "kappa", "retrieval", "value_cue",
          "value_context", "value_drug_state", "cue_term", "availability", "incentive")
(_COCAINE, _OCCUPANCY, _RISE, _ALLOSTASIS, _KOR, _DYSPHORIA, _KAPPA, _RETRIEVAL, _VALUE_CUE, _VALUE_CONTEXT,
 _VALUE_DRUG_STATE, _CUE_TERM, _AVAILABILITY, _INCENTIVE) = range(len(LEVELS))
#: Columns of `SubjectBatch._constants`: per-subject values fixed within a session.
SUBJECT_CONSTANTS = ("allostasis_step", "dopamine_scale", "incentive_sensitivity", "shock_scale", "sucrose_scale",
                     "pavlovian_rate", "extinction_rate", "unit_dose", "unit_occupancy", "incubated",
                     "value_sucrose_cue")
(_ALLOSTASIS_STEP, _DOPAMINE_SCALE, _INCENTIVE_SENSITIVITY, _SHOCK_SCALE, _SUCROSE_SCALE, _PAVLOVIAN_RATE,
 _EXTINCTION_RATE, _UNIT_DOSE, _UNIT_OCCUPANCY, _INCUBATED, _VALUE_SUCROSE_CUE) = range(len(SUBJECT_CONSTANTS))
#: Entries of `SubjectBatch._coefficients`: model constants of one step.
COEFFICIENTS = ("decay_cocaine", "decay_kor", "decay_allostasis", "k50", "hedonic_max", "incentive_weight",
                "kappa_drug", "kappa_stress", "kappa_withdrawal", "withdrawal_gain", "retrieval_occupancy",
                "retrieval_kor", "relief_weight", "press_cost", "timeout_fraction", "pr_limit_steps", "dt_s",
                "timeout_steps", "first_hour_steps")
(_DECAY_COCAINE, _DECAY_KOR, _DECAY_ALLOSTASIS, _K50, _HEDONIC_MAX, _INCENTIVE_WEIGHT, _KAPPA_DRUG, _KAPPA_STRESS,
 _KAPPA_WITHDRAWAL, _WITHDRAWAL_GAIN, _RETRIEVAL_OCCUPANCY, _RETRIEVAL_KOR, _RELIEF_WEIGHT, _PRESS_COST,
 _TIMEOUT_FRACTION, _PR_LIMIT_STEPS, _DT_S, _TIMEOUT_STEPS, _FIRST_HOUR_STEPS) = range(len(COEFFICIENTS))
#: Columns of `SubjectBatch._tally` (column 0 counts "other" steps and is not reported).
(_BREAKPOINT, _INFUSIONS, _INTAKE, _FIRST_HOUR_INFUSIONS) = (
    1 + SUMMARY_FIELDS.index(name) for name in ("breakpoint", "infusions", "intake_mg_per_kg", "first_hour_infusions"))

_PR = np.array(PR_SERIES + (PR_SERIES[-1],) * 200, dtype=np.int64)
_NULL_EFFECT = np.array([0.0, 1.0, 1.0, 0.0, 0.0])  # no baclofen: concentration 0, gains 1
_STREAM_SEDATION, _STREAM_PUNISH = 101, 102  # above the trait streams of random.normal


@dataclass(frozen=True)
class SubjectOptions:
    """Settings fixed for the life of a batch (kwargs of the environments)."""

    sucrose_lever: bool = False
    kor_knockout: bool = False
    individual_differences: bool = False


def session_steps(settings: SessionSettings, params: ModelParams) -> int:
    """Steps in a session of `settings` (the most, for progressive ratio, which may end sooner)."""
    minutes = settings.session_minutes
    if settings.schedule == "PR":
        minutes = max(minutes, params.pr_max_session_min)
    return max(1, int(round(60.0 * minutes / params.dt_s)))


class SubjectBatch:
    """N subjects, their state across days, and the session each one is in."""

    def __init__(self, n: int, params: ModelParams | None = None, options: SubjectOptions | None = None):
        self.n = int(n)
        self.params = params or ModelParams()
        self.options = options or SubjectOptions()
        p = self.params
        self.n_actions = 4 if self.options.sucrose_lever else 3
        self._regimens: list[Regimen] = [Placebo()]
        self._bac_groups: dict[int, np.ndarray] = {}
        self._next_group = 1
        self._decay_c = math.exp(-p.dt_s / (60.0 * p.cocaine_half_life_min / math.log(2.0)))
        self._decay_ip = math.exp(-p.dt_s / (60.0 * p.ip_absorption_half_life_min / math.log(2.0)))
        self._decay_kor = math.exp(-p.dt_s / (60.0 * p.kor_decay_min))
        self._decay_A = math.exp(-p.dt_s / (86400.0 * p.allostasis_recovery_days))
        self._timeout_steps = int(round(p.timeout_s / p.dt_s))
        self._shock_every = max(1, int(round(p.shock_interval_s / p.dt_s)))
        self._pr_limit_steps = int(round(60.0 * p.pr_limit_min / p.dt_s))
        self._first_hour_steps = int(round(3600.0 / p.dt_s))
        delay_steps = int(round(p.infusion_delay_s / p.dt_s))
        self._transit = np.zeros((delay_steps, self.n)) if delay_steps > 0 else None
        self._transit_slot = self._transit_left = 0
        coefficients = {
            "decay_cocaine": self._decay_c, "decay_kor": self._decay_kor, "decay_allostasis": self._decay_A,
            "k50": p.cocaine_k50_mg_per_kg, "hedonic_max": p.hedonic_max, "incentive_weight": p.incentive_weight,
            "kappa_drug": p.kappa_drug, "kappa_stress": p.kappa_stress,
            "kappa_withdrawal": p.kappa_baclofen_withdrawal, "withdrawal_gain": p.baclofen_withdrawal_gain,
            "retrieval_occupancy": p.extinction_retrieval_occupancy, "retrieval_kor": p.extinction_retrieval_kor,
            "relief_weight": p.relief_weight, "press_cost": -p.press_cost,
            "timeout_fraction": 1.0 / max(self._timeout_steps, 1), "pr_limit_steps": self._pr_limit_steps,
            "dt_s": p.dt_s, "timeout_steps": self._timeout_steps, "first_hour_steps": self._first_hour_steps}
        self._coefficients = np.array([coefficients[name] for name in COEFFICIENTS], dtype=float)
        self._allocate()
        self.new_subjects(np.arange(self.n), rnd.subject_keys(0, np.arange(self.n)))

    # ------------------------------------------------------------------ state
    def _allocate(self) -> None:
        n = self.n
        z = lambda dtype=np.float64: np.zeros(n, dtype=dtype)  # noqa: E731
        self.keys = z(np.uint64)
        self.traits = np.ones((n, len(INDIVIDUAL_TRAITS)))
        # carried across days (cocaine, occupancy, allostasis and kor are rows of _levels)
        self.ip_depot = z()           # unabsorbed i.p. cocaine, mg/kg
        self._E, self._I = pav.zeros(n)   # read through .E / .I, which bring them up to date
        self._stale = False                 # drug-outcome slots changed since the last sync
        self.total_infusions = z()
        self.last_drug_h = np.full(n, -np.inf)
        self.bac_state = np.zeros((n, BACLOFEN_STATE_SIZE))
        self.bac_clock_h = z()
        self.regimen_index = z(np.int64)
        self.regimen_anchor_h = z()
        self.session_start_h = z()
        self.sessions_done = z(np.int64)
        self.kor_on = np.full(n, 0.0 if self.options.kor_knockout else 1.0)
        # the session in progress
        self.n_steps = np.ones(n, dtype=np.int64)
        self.progressive = z(bool)
        self.ratio = np.ones(n, dtype=np.int64)
        self.ratio_count = z(np.int64)
        self.pr_index = z(np.int64)
        self.drug_available = z(bool)
        self.contingent_cue = z(bool)
        self.context = z(np.int64)
        self.punish_p = z()
        self.punish_mA = z()
        self.footshock_mA = z()
        self.sucrose_available = z(bool)
        self.incubation = z()
        self.bac_group = z(np.int64)
        # matrices, one row per subject, whose columns are named attributes (views): levels and
        # signals (LEVELS), per-subject constants (SUBJECT_CONSTANTS), counters, timers, the session
        # tally and the reward components. A subject's values lie together in memory for the
        # compiled step (rows of thousands of values 4 KiB apart would share cache sets)
        self._levels = np.zeros((n, len(LEVELS)))
        self._constants = np.zeros((n, len(SUBJECT_CONSTANTS)))
        self._clocks = np.zeros((n, 3), dtype=np.int64)
        self._timers = np.zeros((n, 3), dtype=np.int64)
        self._tally = np.zeros((n, 1 + len(SUMMARY_FIELDS)))
        self._components = np.zeros((n, len(REWARD_COMPONENTS)))
        self._bind_views()
        self.retrieval[:] = self.incubated[:] = self.unit_occupancy[:] = self.availability[:] = 1.0
        # strengths for the drug outcome in the current context: rows cue, context, drug state
        self._excitation, self._inhibition = np.zeros((n, 3)), np.zeros((n, 3))
        self._zeros, self._ones, self._subjects = z(), np.ones(n), np.arange(n)
        self._nobody, self._completed, self._cue, self._dose = z(bool), z(bool), z(bool), z()
        self.dopamine_gain = self._ones
        self.baclofen_mg_per_l = self._zeros
        self._any_ip = self._any_pr = self._any_punish = self._any_sucrose = False
        self._bac_active = False

    def _bind_views(self) -> None:
        """Name the columns of the state matrices (views, so one operation on a matrix updates them all)."""
        for names, matrix in ((LEVELS, self._levels), (SUBJECT_CONSTANTS, self._constants)):
            for name, column in zip(names, matrix.T, strict=True):
                setattr(self, name, column)
        self.step_index, self.steps_since_infusion, self.counter = self._clocks.T
        self.timeout_left, self.cue_left, self.sucrose_cue_left = self._timers.T
        self.summary = dict(zip(SUMMARY_FIELDS, self._tally.T[1:], strict=True))
        self.components = dict(zip(REWARD_COMPONENTS, self._components.T, strict=True))

    def __setstate__(self, state: dict) -> None:
        """Copies and unpickled batches get their row views back (a copied view is detached)."""
        self.__dict__.update(state)
        self._bind_views()

    def new_subjects(self, idx: np.ndarray, keys: np.ndarray) -> None:
        """Give the subjects at `idx` fresh, naive state and the given random keys."""
        idx = np.asarray(idx, dtype=np.int64)
        for arr in (self.cocaine, self.ip_depot, self.occupancy, self.allostasis, self.kor,
                    self.total_infusions, self.bac_clock_h, self.regimen_anchor_h, self.session_start_h):
            arr[idx] = 0.0
        self._sync_associations()
        self._E[idx], self._I[idx] = 0.0, 0.0
        if self._transit is not None:
            self._transit[:, idx] = 0.0
        self._excitation[idx], self._inhibition[idx] = 0.0, 0.0
        self.last_drug_h[idx] = -np.inf
        self.bac_state[idx] = 0.0
        self.regimen_index[idx] = 0
        self.sessions_done[idx] = 0
        self.counter[idx] = 0
        self.keys[idx] = keys
        if self.options.individual_differences:
            sigma = np.array([s for s, _, _ in INDIVIDUAL_TRAITS.values()])
            z = np.stack([rnd.normal(keys, stream) for stream in range(len(sigma))], axis=1)
            self.traits[idx] = np.exp(sigma * z)
        else:
            self.traits[idx] = 1.0
        self._derive_constants()

    def _derive_constants(self) -> None:
        """Per-subject constants: model parameters times the subject's trait multipliers."""
        p = self.params
        self.allostasis_step[:] = p.allostasis_rate_per_h * p.dt_s / 3600.0 * self.trait("vulnerability")
        self.dopamine_scale[:] = p.drug_dopamine_max * self.trait("dopamine_sensitivity")
        self.incentive_sensitivity[:] = self.trait("incentive_sensitivity")
        self.shock_scale[:] = -p.shock_aversion_per_mA * self.trait("punishment_sensitivity")
        self.sucrose_scale[:] = p.sucrose_reward * self.trait("sucrose_preference")
        self.pavlovian_rate[:] = p.pavlovian_rate * self.trait("pavlovian_rate")
        self.extinction_rate[:] = p.extinction_rate * self.trait("pavlovian_rate")

    def trait(self, name: str) -> np.ndarray:
        """Per-subject multiplier `name` (see `params.INDIVIDUAL_TRAITS`)."""
        return self.traits[:, list(INDIVIDUAL_TRAITS).index(name)]

    # ------------------------------------------------------------------ sessions
    def start_sessions(self, idx: np.ndarray, settings: SessionSettings, *, first: bool = False) -> None:
        """Advance subjects `idx` through the abstinence gap and begin a session of `settings`.

        `first`: these subjects are new, their first session starts on day 0.
        """
        idx = np.asarray(idx, dtype=np.int64)
        if idx.size == 0:
            return
        self._sync_associations()  # the cached slots belong to the context about to change
        p, s = self.params, settings
        if first:
            start_h = np.full(idx.size, p.session_start_hour)
            gap_h = np.zeros(idx.size)
        else:
            end_h = self.session_start_h[idx] + self.step_index[idx] * p.dt_s / 3600.0
            start_h = np.maximum(self.session_start_h[idx] + 24.0 * s.abstinence_days, end_h)
            gap_h = start_h - end_h
        n_steps = session_steps(s, p)
        self._advance_gap(idx, gap_h)
        self._start_baclofen(idx, start_h, s.regimen, n_steps, first)
        self.session_start_h[idx] = start_h
        # incubation of cue incentive (Grimm 2001): Bateman function of days since the last drug
        days = (start_h - self.last_drug_h[idx]) / 24.0
        self.incubation[idx] = _incubation(days, self.total_infusions[idx], p)
        # the session's settings
        self.n_steps[idx] = n_steps
        self.progressive[idx] = s.schedule == "PR"
        self.ratio[idx] = _PR[0] if s.schedule == "PR" else s.ratio
        self.drug_available[idx] = s.drug_available
        self.contingent_cue[idx] = s.contingent_cue
        self.context[idx] = CONTEXTS.index(s.context)
        self.unit_dose[idx] = s.unit_dose_mg_per_kg
        self.punish_p[idx] = s.punishment_probability
        self.punish_mA[idx] = s.punishment_mA
        self.footshock_mA[idx] = s.footshock_mA
        self.sucrose_available[idx] = s.sucrose_available and self.options.sucrose_lever
        self.ip_depot[idx] += p.ip_bioavailability * s.prime_mg_per_kg
        self.unit_occupancy[idx] = max(s.unit_dose_mg_per_kg, 1e-9) / (max(s.unit_dose_mg_per_kg, 1e-9)
                                                                       + p.cocaine_k50_mg_per_kg)
        self._clocks[idx, :2] = 0
        self._timers[idx] = 0
        self.ratio_count[idx] = 0
        self.pr_index[idx] = 0
        self._tally[idx] = 0.0
        self._stress_before_session(idx, s.footshock_mA)
        self._any_ip = bool(self.ip_depot.max() > 1e-12)
        self._any_pr = bool(self.progressive.any())
        self._any_punish = bool((self.punish_p > 0).any())
        self._any_sucrose = bool(self.sucrose_available.any())
        self._refresh_values(idx)
        _, gain, _, _, withdrawal = self.baclofen_effects()
        _express(gain, withdrawal, self._levels, self._constants, self._excitation, self._inhibition, self._timers,
                 self._coefficients)

    def _advance_gap(self, idx: np.ndarray, gap_h: np.ndarray) -> None:
        """Home-cage time between sessions: drugs wash out, allostasis and stress recover."""
        p = self.params
        if not np.any(gap_h > 0):
            return
        gap_s = 3600.0 * gap_h
        tau_c = 60.0 * p.cocaine_half_life_min / math.log(2.0)
        absorbed = self.ip_depot[idx]
        if self._transit is not None:  # doses still in the catheter arrive in the gap
            absorbed = absorbed + self._transit[:, idx].sum(axis=0)
            self._transit[:, idx] = 0.0
        self.cocaine[idx] = (self.cocaine[idx] + absorbed) * np.exp(-gap_s / tau_c)
        self.ip_depot[idx] = 0.0
        self.occupancy[idx] = self.cocaine[idx] / (self.cocaine[idx] + p.cocaine_k50_mg_per_kg)
        self.allostasis[idx] *= np.exp(-gap_s / (86400.0 * p.allostasis_recovery_days))
        self.kor[idx] *= np.exp(-gap_s / (60.0 * p.kor_decay_min))

    def _start_baclofen(self, idx: np.ndarray, start_h: np.ndarray, regimen: Regimen | None,
                        n_steps: int, first: bool) -> None:
        """Bring baclofen state up to the session start and tabulate its effects for the session."""
        p = self.params
        if regimen is not None:
            # the old regimen ends where the gap begins (for a new subject: at midnight before its
            # first session, so doses due before that session are given); the new one is anchored
            # to that day
            if first:
                switch_h = 24.0 * np.floor(start_h / 24.0)
            else:
                switch_h = self.session_start_h[idx] + self.step_index[idx] * p.dt_s / 3600.0
            self._advance_baclofen(idx, switch_h, start_h)
            if regimen not in self._regimens:
                self._regimens.append(regimen)
            self.regimen_index[idx] = self._regimens.index(regimen)
            self.regimen_anchor_h[idx] = 24.0 * np.floor(switch_h / 24.0)
            if regimen.at_steady_state:
                model = baclofen_model(p, regimen.route)
                self.bac_state[idx] = model.steady_state(regimen, float(switch_h[0] % 24.0))
                self.bac_clock_h[idx] = switch_h
        self._advance_baclofen(idx, start_h, start_h)
        self._tabulate_baclofen(idx, n_steps)

    def _baclofen_groups(self, idx: np.ndarray, *columns: np.ndarray) -> list[np.ndarray]:
        """Positions in `idx` grouped by regimen, anchor, clock, state and `columns` (usually one group)."""
        key = np.column_stack([self.regimen_index[idx], self.regimen_anchor_h[idx], self.bac_clock_h[idx],
                               self.bac_state[idx], *columns])
        _, inverse = np.unique(key, axis=0, return_inverse=True)
        inverse = inverse.ravel()
        return [np.flatnonzero(inverse == g) for g in range(inverse.max() + 1)]

    def _is_idle(self, i: int) -> bool:
        """Subject `i` is on placebo with no baclofen left: nothing to compute."""
        return self.regimen_index[i] == 0 and not np.any(self.bac_state[i] > 1e-12)

    def _advance_baclofen(self, idx: np.ndarray, to_h: np.ndarray, session_h: np.ndarray) -> None:
        """Integrate baclofen kinetics from each subject's baclofen clock to `to_h` (per element of idx)."""
        for pos in self._baclofen_groups(idx, to_h, session_h):
            rows, i0 = idx[pos], idx[pos[0]]
            t_to, t_from = float(to_h[pos[0]]), float(self.bac_clock_h[i0])
            if t_to > t_from and not self._is_idle(i0):
                regimen = self._regimens[self.regimen_index[i0]]
                anchor = self.regimen_anchor_h[i0]
                n = max(1, int(math.ceil((t_to - t_from) / 0.25)))
                _, state = baclofen_model(self.params, regimen.route).run(
                    self.bac_state[i0], regimen, t_from - anchor, (t_to - t_from) / n, n,
                    session_start_h=float(session_h[pos[0]]) - anchor)
                self.bac_state[rows] = state
            self.bac_clock_h[rows] = max(t_to, t_from)

    def _tabulate_baclofen(self, idx: np.ndarray, n_steps: int) -> None:
        """Precompute this session's baclofen effects, one table per group of identical subjects."""
        for pos in self._baclofen_groups(idx):
            rows, i0 = idx[pos], idx[pos[0]]
            if self._is_idle(i0):
                self.bac_group[rows] = 0
                continue
            regimen = self._regimens[self.regimen_index[i0]]
            t0 = float(self.bac_clock_h[i0] - self.regimen_anchor_h[i0])
            effects, _ = baclofen_model(self.params, regimen.route).run(
                self.bac_state[i0], regimen, t0, self.params.dt_s / 3600.0, n_steps, session_start_h=t0)
            self._bac_groups[self._next_group] = effects
            self.bac_group[rows] = self._next_group
            self._next_group += 1
        self._rebuild_bac_table()

    def _rebuild_bac_table(self) -> None:
        used = np.unique(self.bac_group)
        self._bac_groups = {g: t for g, t in self._bac_groups.items() if g in set(used.tolist())}
        if not self._bac_groups:
            self._bac_table = _NULL_EFFECT[None, None, :].copy()
            self.bac_group[:] = 0
            self._bac_active = False
            return
        k_max = max(t.shape[0] for t in self._bac_groups.values())
        table = np.tile(_NULL_EFFECT, (len(self._bac_groups) + 1, k_max, 1))
        remap = np.zeros(self._next_group, dtype=np.int64)
        for row, (g, t) in enumerate(sorted(self._bac_groups.items()), start=1):
            table[row, : t.shape[0]] = t
            table[row, t.shape[0]:] = t[-1]
            remap[g] = row
        self._bac_groups = {row: table[row] for row in range(1, len(self._bac_groups) + 1)}
        self._next_group = len(self._bac_groups) + 1
        self.bac_group[:] = remap[self.bac_group]
        self._bac_table = table
        self._bac_active = True

    def baclofen_effects(self) -> np.ndarray:
        """This step's baclofen effects per subject, shape (5, n): rows `EFFECT_COLUMNS` (no baclofen:
        concentration 0, gains 1, no sedation or withdrawal)."""
        k = np.minimum(self.step_index, self._bac_table.shape[1] - 1)
        return np.ascontiguousarray(self._bac_table[self.bac_group, k].T)

    # ------------------------------------------------------------------ dynamics
    def step(self, actions: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Advance every subject by one step. Returns (observation, reward, terminated, truncated).

        The arithmetic of every subject is compiled (`_schedule`, then `_advance`); rarer events
        (pellets, shocks, catheter transit, i.p. absorption) are handled here, in numpy, only when
        some subject has one. Levels, signals and reward components are updated in
        place: copy them to keep a step's values.
        """
        actions = np.asarray(actions, dtype=np.int64)
        a = actions
        if self._bac_active:
            self.baclofen_mg_per_l, gain, nat_gain, sedation, withdrawal = self.baclofen_effects()
            if np.any((a != OTHER) & (sedation > 0)):
                failed = (a != OTHER) & (rnd.uniform(self.keys, self.counter, _STREAM_SEDATION) < sedation)
                a = np.where(failed, OTHER, a)
        else:
            self.baclofen_mg_per_l, gain, nat_gain, withdrawal = self._zeros, self._ones, self._ones, self._zeros
        self.dopamine_gain = gain

        # schedule on the drug lever: infusions, cues, timeouts, and the Pavlovian trials of
        # completed ratios (in the drug state at the start of the step); then rarer events
        completed, cue, dose = self._completed, self._cue, self._dose
        events = _schedule(a, gain, self._levels, self._constants, self._tally, self._clocks, self._timers,
                           self.ratio_count, self.ratio, self.progressive, self.pr_index, self.drug_available,
                           self.contingent_cue, self._excitation, self._inhibition, self.total_infusions,
                           self.last_drug_h, self.session_start_h, self._coefficients, completed, cue, dose)
        self._stale |= events
        pellet, shock_mA, kor_drive = self._nobody, self._zeros, self._zeros
        if events and self._any_punish and (shocks := self._shocks(completed)) is not None:
            shock_mA = shocks
            kor_drive = self._kor_drive(shock_mA) * self.kor_on
        if self._transit is not None and (events or self._transit_left > 0):
            dose = self._through_catheter(dose, events)
        if self._any_ip:
            transfer = self.ip_depot * (1.0 - self._decay_ip)
            self.ip_depot -= transfer
            dose = dose + transfer
            self._any_ip = bool(self.ip_depot.max() > 1e-12)
        if self._any_sucrose and (pellets := self._deliver_pellets(a)) is not None:
            pellet = pellets
            self._sucrose_trial(pellet, nat_gain)

        # kinetics, stress, allostasis, signals, reward, clocks, observation: compiled loops
        obs = np.empty((self.n, len(OBSERVATION_NAMES)), dtype=np.float32)
        reward = np.empty(self.n)
        terminated, truncated = np.empty(self.n, dtype=bool), np.empty(self.n, dtype=bool)
        _advance(actions, dose, kor_drive, cue, pellet, shock_mA, gain, nat_gain, withdrawal,
                 self._levels, self._constants, self._excitation, self._inhibition, self._clocks, self._timers,
                 self.ratio_count, self.ratio, self.n_steps, self.progressive, self.context, self.sucrose_available,
                 self._coefficients, self._components, reward, obs, terminated, truncated)
        return obs, reward, terminated, truncated

    def _through_catheter(self, dose: np.ndarray | float, events: bool) -> np.ndarray:
        """Doses given now reach the brain `infusion_delay_s` later: returns what arrives now."""
        slot = self._transit_slot
        arriving = self._transit[slot].copy()
        self._transit[slot] = dose
        self._transit_slot = (slot + 1) % self._transit.shape[0]
        self._transit_left = self._transit.shape[0] if events else self._transit_left - 1
        return arriving

    def _deliver_pellets(self, a: np.ndarray) -> np.ndarray | None:
        """Sucrose lever, FR1 with its own cue and timeout. Returns the pellet mask, or None."""
        pellet = (a == SUCROSE) & self.sucrose_available & (self.sucrose_cue_left == 0)
        if not pellet.any():
            return None
        self.sucrose_cue_left[pellet] = self._timeout_steps + 1
        self.summary["pellets"] += pellet
        return pellet

    def _shocks(self, completed: np.ndarray) -> np.ndarray | None:
        """Footshock intensity (mA) of punished ratio completions this step, or None."""
        punished = completed & (rnd.uniform(self.keys, self.counter, _STREAM_PUNISH) < self.punish_p)
        if not punished.any():
            return None
        self.summary["shocks"] += punished
        return np.where(punished, self.punish_mA, 0.0)

    def _kor_drive(self, mA: np.ndarray | float) -> np.ndarray | float:
        """KOR activation added by one shock of `mA` (Hill threshold; 0 in knockouts is applied by the caller)."""
        p = self.params
        return p.kor_per_shock * mA**p.kor_hill / (mA**p.kor_hill + p.kor_half_mA**p.kor_hill)

    def _stress_before_session(self, idx: np.ndarray, mA: float) -> None:
        """Intermittent footshock before the session (Shaham et al. 2003: 15 min, mean 40 s apart,
        levers retracted): KOR activation builds up and decays between shocks."""
        p = self.params
        n_shocks = int(p.stress_minutes * 60.0 // p.shock_interval_s)
        if mA <= 0 or n_shocks == 0:
            return
        between = math.exp(-p.shock_interval_s / (60.0 * p.kor_decay_min))
        # the last shock falls as the session starts: sum of a geometric series of decayed shocks
        total = self._kor_drive(mA) * (1.0 - between**n_shocks) / (1.0 - between)
        self.kor[idx] = self.kor[idx] * between**n_shocks + total * self.kor_on[idx]
        self.summary["shocks"][idx] = n_shocks

    def _sucrose_trial(self, pellet: np.ndarray, gain: np.ndarray) -> None:
        """A Rescorla-Wagner trial (see `pavlovian`) for the subjects given a pellet: stimuli
        the sucrose cue, the context and the drug state (drug trials are in `_schedule`)."""
        rows = np.flatnonzero(pellet)
        x = np.zeros((rows.size, len(pav.STIMULI)))
        x[:, pav.SUCROSE_CUE] = 1.0
        x[np.arange(rows.size), pav.CONTEXT_0 + self.context[rows]] = 1.0
        x[:, pav.DRUG_STATE] = self.occupancy[rows]
        E, I = self._E[rows], self._I[rows]
        pav.update(E, I, x, self.context[rows], np.full(rows.size, pav.SUCROSE), np.ones(rows.size),
                   self.pavlovian_rate[rows], self.extinction_rate[rows], gain[rows], self.retrieval[rows])
        self._E[rows], self._I[rows] = E, I
        self._refresh_values(rows)

    def _sync_associations(self) -> None:
        """Write the cached drug-outcome slots back into E and I (done lazily: on reading them,
        and before a session start re-reads them)."""
        if not self._stale:
            return
        everyone = self._subjects
        for k, stimulus in enumerate((pav.DRUG_CUE, pav.CONTEXT_0 + self.context, pav.DRUG_STATE)):
            self._E[everyone, stimulus, pav.DRUG] = self._excitation[:, k]
            self._I[everyone, stimulus, self.context, pav.DRUG] = self._inhibition[:, k]
        self._stale = False

    @property
    def E(self) -> np.ndarray:  # noqa: N802
        """Excitatory strengths, shape (n, stimuli, outcomes) (see `pavlovian`)."""
        self._sync_associations()
        return self._E

    @property
    def I(self) -> np.ndarray:  # noqa: E743, N802
        """Context-bound inhibitory strengths, shape (n, stimuli, contexts, outcomes)."""
        self._sync_associations()
        return self._I

    def _refresh_values(self, idx: np.ndarray) -> None:
        """Cache, per subject, the excitatory and context-bound inhibitory strengths (drug outcome,
        current context) of cue, context and drug state; the net sucrose-cue strength."""
        self._sync_associations()
        ctx = self.context[idx]
        rows = np.arange(idx.size)
        E, I = self._E[idx], self._I[idx, :, ctx]
        for k, stimulus in enumerate((pav.DRUG_CUE, pav.CONTEXT_0 + ctx, pav.DRUG_STATE)):
            self._excitation[idx, k] = E[rows, stimulus, pav.DRUG]
            self._inhibition[idx, k] = I[rows, stimulus, pav.DRUG]
        self.value_sucrose_cue[idx] = E[:, pav.SUCROSE_CUE, pav.SUCROSE] - I[:, pav.SUCROSE_CUE, pav.SUCROSE]
        self.incubated[idx] = 1.0 + self.params.incubation_gain * self.incubation[idx]

    def observe(self) -> np.ndarray:
        """Observation matrix (n, len(OBSERVATION_NAMES)), float32 in [0, 1] (a new array)."""
        obs = np.empty((self.n, len(OBSERVATION_NAMES)), dtype=np.float32)
        _observe(obs, self._levels, self._clocks, self._timers, self.ratio_count, self.ratio, self.n_steps,
                     self.context, self.sucrose_available, self._coefficients)
        return obs

    def end_sessions(self, idx: np.ndarray) -> None:
        """Book-keeping when sessions at `idx` end (called by the environments at episode end)."""
        self.sessions_done[idx] += 1



# ---------------------------------------------------------------------------------------------
# The arithmetic of one step, compiled with numba: a few loops over the subjects instead of ~80
# numpy operations, which cost as much for one subject as for a thousand. Each phase is one loop
# (a helper called per subject with array arguments would pay reference counting on each call).
# Matrices have a row per subject, indexed by the column constants defined with LEVELS,
# SUBJECT_CONSTANTS and COEFFICIENTS; the equations are those of docs/model.md, numbered as in
# the module docstring.

@numba.njit(cache=True)
def _schedule(actions: np.ndarray, gain: np.ndarray, L: np.ndarray, S: np.ndarray, tally: np.ndarray,
              clocks: np.ndarray, timers: np.ndarray, ratio_count: np.ndarray, ratio: np.ndarray,
              progressive: np.ndarray, pr_index: np.ndarray, drug_available: np.ndarray,
              contingent_cue: np.ndarray, excitation: np.ndarray, inhibition: np.ndarray,
              total_infusions: np.ndarray, last_drug_h: np.ndarray, session_start_h: np.ndarray, C: np.ndarray,
              completed: np.ndarray, cue: np.ndarray, dose: np.ndarray) -> bool:
    """Steps 3 and 7 (drug outcome): count presses (tally columns 1-3) and drug-lever presses
    outside the timeout towards the ratio. A completed ratio gives the infusion (if the drug is
    available: `dose` mg/kg, sent into the catheter), the cue (if contingent), a timeout, the
    next ratio, and a Rescorla-Wagner trial on the cached drug-outcome slots (stimuli cue,
    context, drug state), in the drug state and extinction retrieval at the start of the step.
    gain: baclofen's dopamine gain now. Returns whether any subject completed a ratio.
    """
    any_completed = False
    x = np.empty(3)
    for i in range(actions.size):
        tally[i, actions[i]] += 1.0
        completed[i], cue[i], dose[i] = False, False, 0.0
        if actions[i] != ACTIVE or timers[i, 0] > 0:
            continue
        ratio_count[i] += 1
        if ratio_count[i] < ratio[i]:
            continue
        completed[i], any_completed = True, True
        infused, cue[i] = drug_available[i], contingent_cue[i]
        ratio_count[i] = 0
        if progressive[i]:
            tally[i, _BREAKPOINT] = ratio[i]
            pr_index[i] += 1
            ratio[i] = _PR[pr_index[i]]
        if infused or cue[i]:
            timers[i, 0] = C[_TIMEOUT_STEPS]
        if cue[i]:
            timers[i, 1] = C[_TIMEOUT_STEPS]
        if infused:
            dose[i] = S[i, _UNIT_DOSE]
            tally[i, _INFUSIONS] += 1.0
            tally[i, _INTAKE] += dose[i]
            tally[i, _FIRST_HOUR_INFUSIONS] += clocks[i, 0] < C[_FIRST_HOUR_STEPS]
            total_infusions[i] += 1.0
            last_drug_h[i] = session_start_h[i] + clocks[i, 0] * C[_DT_S] / 3600.0
            clocks[i, 1] = 0
        x[0], x[1], x[2] = cue[i], 1.0, L[i, _OCCUPANCY]
        pav.trial(excitation[i], inhibition[i], x, 1.0 if infused else 0.0, S[i, _PAVLOVIAN_RATE],
                  S[i, _EXTINCTION_RATE], gain[i], L[i, _RETRIEVAL])
    return any_completed


@numba.njit(cache=True)
def _move_levels(dose: np.ndarray, kor_drive: np.ndarray, L: np.ndarray, S: np.ndarray, C: np.ndarray) -> None:
    """Steps 4-6: cocaine kinetics and DAT occupancy (and its rise), KOR activation, allostasis.

    dose: cocaine reaching the brain now (mg/kg); kor_drive: KOR activation added by shocks now.
    """
    for i in range(L.shape[0]):
        cocaine = L[i, _COCAINE] * C[_DECAY_COCAINE] + dose[i]
        occupancy = cocaine / (cocaine + C[_K50])
        L[i, _RISE] = max(occupancy - L[i, _OCCUPANCY], 0.0)
        L[i, _COCAINE], L[i, _OCCUPANCY] = cocaine, occupancy
        L[i, _KOR] = L[i, _KOR] * C[_DECAY_KOR] + kor_drive[i]
        L[i, _ALLOSTASIS] = L[i, _ALLOSTASIS] * C[_DECAY_ALLOSTASIS] + S[i, _ALLOSTASIS_STEP] * occupancy


@numba.njit(cache=True)
def _express(gain: np.ndarray, withdrawal: np.ndarray, L: np.ndarray, S: np.ndarray, excitation: np.ndarray,
             inhibition: np.ndarray, timers: np.ndarray, C: np.ndarray) -> None:
    """Step 8: signals from the levels: dysphoria, kappa, extinction retrieval, net values,
    availability and incentive. gain, withdrawal: baclofen effects now."""
    for i in range(L.shape[0]):
        occ, kor = L[i, _OCCUPANCY], L[i, _KOR]
        L[i, _DYSPHORIA] = L[i, _ALLOSTASIS] + kor + C[_WITHDRAWAL_GAIN] * withdrawal[i]
        kappa = S[i, _INCENTIVE_SENSITIVITY] * (1.0 + C[_KAPPA_DRUG] * occ) * (1.0 + C[_KAPPA_STRESS] * kor)
        kappa *= gain[i] * (1.0 + C[_KAPPA_WITHDRAWAL] * withdrawal[i])
        L[i, _KAPPA] = kappa
        # extinction is retrieved in the drug-free, unstressed state it was learned in (Bouton 2002)
        retrieval = math.exp(-occ / C[_RETRIEVAL_OCCUPANCY] - kor / C[_RETRIEVAL_KOR])
        L[i, _RETRIEVAL] = retrieval
        value_cue = excitation[i, 0] - retrieval * inhibition[i, 0]
        value_context = excitation[i, 1] - retrieval * inhibition[i, 1]
        value_drug_state = excitation[i, 2] - retrieval * inhibition[i, 2]
        L[i, _VALUE_CUE], L[i, _VALUE_CONTEXT], L[i, _VALUE_DRUG_STATE] = value_cue, value_context, value_drug_state
        cue_term = S[i, _INCUBATED] * max(value_cue, 0.0)
        L[i, _CUE_TERM] = cue_term
        # the surge one unit dose would cause now, relative to its surge in a drug-free subject
        after = L[i, _COCAINE] + S[i, _UNIT_DOSE]
        availability = (after / (after + C[_K50]) - occ) / S[i, _UNIT_OCCUPANCY]
        L[i, _AVAILABILITY] = availability
        exteroceptive = max(value_context, 0.0) + (cue_term if timers[i, 1] > 0 else 0.0)
        L[i, _INCENTIVE] = kappa * availability * (exteroceptive + occ * max(value_drug_state, 0.0))


@numba.njit(cache=True)
def _reward(actions: np.ndarray, cue: np.ndarray, pellet: np.ndarray, shock_mA: np.ndarray, gain: np.ndarray,
            natural_gain: np.ndarray, L: np.ndarray, S: np.ndarray, C: np.ndarray, components: np.ndarray,
            reward: np.ndarray) -> None:
    """Step 9: reward by component (REWARD_COMPONENTS order) and their sum.

    cue, pellet: a drug-cue onset, a sucrose pellet now; shock_mA: footshock now.
    """
    for i in range(L.shape[0]):
        rise = L[i, _RISE]
        incentive = 0.0
        if cue[i]:
            incentive += L[i, _KAPPA] * L[i, _AVAILABILITY] * L[i, _CUE_TERM]
        if pellet[i]:
            incentive += natural_gain[i] * S[i, _INCENTIVE_SENSITIVITY] * max(S[i, _VALUE_SUCROSE_CUE], 0.0)
        components[i, 0] = C[_HEDONIC_MAX] * rise
        components[i, 1] = gain[i] * S[i, _DOPAMINE_SCALE] * rise
        components[i, 2] = C[_INCENTIVE_WEIGHT] * incentive
        components[i, 3] = C[_RELIEF_WEIGHT] * L[i, _DYSPHORIA] * rise
        components[i, 4] = S[i, _SUCROSE_SCALE] * natural_gain[i] * pellet[i]
        components[i, 5] = C[_PRESS_COST] * (actions[i] != OTHER)
        components[i, 6] = S[i, _SHOCK_SCALE] * shock_mA[i]
        total = components[i, 0]
        for k in range(1, components.shape[1]):
            total += components[i, k]
        reward[i] = total


@numba.njit(cache=True)
def _tick(clocks: np.ndarray, timers: np.ndarray, n_steps: np.ndarray, progressive: np.ndarray, C: np.ndarray,
          terminated: np.ndarray, truncated: np.ndarray) -> None:
    """Clocks (step index, steps since infusion, random counter) forward, timers down; episode ends."""
    for i in range(clocks.shape[0]):
        for k in range(3):
            clocks[i, k] += 1
            timers[i, k] = max(timers[i, k] - 1, 0)
        truncated[i] = clocks[i, 0] >= n_steps[i]
        terminated[i] = progressive[i] and clocks[i, 1] >= C[_PR_LIMIT_STEPS] and not truncated[i]


@numba.njit(cache=True)
def _observe(obs: np.ndarray, L: np.ndarray, clocks: np.ndarray, timers: np.ndarray, ratio_count: np.ndarray,
             ratio: np.ndarray, n_steps: np.ndarray, context: np.ndarray, sucrose_available: np.ndarray,
             C: np.ndarray) -> None:
    """The observation (OBSERVATION_NAMES), each feature in [0, 1]."""
    for i in range(obs.shape[0]):
        dysphoria, incentive = L[i, _DYSPHORIA], L[i, _INCENTIVE]
        obs[i, 0] = timers[i, 1] > 0
        obs[i, 1] = timers[i, 2] > 0
        obs[i, 2] = timers[i, 0] * C[_TIMEOUT_FRACTION]
        for k in range(3):
            obs[i, 3 + k] = context[i] == k
        obs[i, 6] = L[i, _OCCUPANCY]
        obs[i, 7] = dysphoria / (1.0 + dysphoria)
        obs[i, 8] = incentive / (1.0 + incentive)
        obs[i, 9] = ratio_count[i] / ratio[i]
        obs[i, 10] = clocks[i, 0] / n_steps[i]
        obs[i, 11] = sucrose_available[i]


@numba.njit(cache=True)
def _advance(actions: np.ndarray, dose: np.ndarray, kor_drive: np.ndarray, cue: np.ndarray, pellet: np.ndarray,
             shock_mA: np.ndarray, gain: np.ndarray, natural_gain: np.ndarray, withdrawal: np.ndarray,
             L: np.ndarray, S: np.ndarray, excitation: np.ndarray, inhibition: np.ndarray, clocks: np.ndarray,
             timers: np.ndarray, ratio_count: np.ndarray, ratio: np.ndarray, n_steps: np.ndarray,
             progressive: np.ndarray, context: np.ndarray, sucrose_available: np.ndarray, C: np.ndarray,
             components: np.ndarray, reward: np.ndarray, obs: np.ndarray, terminated: np.ndarray,
             truncated: np.ndarray) -> None:
    """Steps 4-9 for every subject, then the clocks and the observation."""
    _move_levels(dose, kor_drive, L, S, C)
    _express(gain, withdrawal, L, S, excitation, inhibition, timers, C)
    _reward(actions, cue, pellet, shock_mA, gain, natural_gain, L, S, C, components, reward)
    _tick(clocks, timers, n_steps, progressive, C, terminated, truncated)
    _observe(obs, L, clocks, timers, ratio_count, ratio, n_steps, context, sucrose_available, C)


def _incubation(days: np.ndarray, infusions: np.ndarray, p: ModelParams) -> np.ndarray:
    """Incubation level U in [0, 1]: load(history) x normalised Bateman(days since drug)."""
    tr, td = p.incubation_rise_days, p.incubation_decay_days
    t_peak = math.log(td / tr) * tr * td / (td - tr)
    peak = math.exp(-t_peak / td) - math.exp(-t_peak / tr)
    d = np.where(np.isfinite(days), np.maximum(days, 0.0), 0.0)
    shape = (np.exp(-d / td) - np.exp(-d / tr)) / peak
    load = 1.0 - np.exp(-infusions / p.incubation_load_infusions)
    return np.where(np.isfinite(days), load * shape, 0.0)


__all__: Sequence[str] = (
    "ACTION_MEANINGS",
    "EFFECT_COLUMNS",
    "LEVELS",
    "OBSERVATION_NAMES",
    "REWARD_COMPONENTS",
    "SUBJECT_CONSTANTS",
    "SUMMARY_FIELDS",
    "SubjectBatch",
    "SubjectOptions",
)
