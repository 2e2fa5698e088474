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
        self._allocate()
        self.new_subjects(np.arange(self.n), rnd.subject_keys(0, np.arange(self.n)))

    # ------------------------------------------------------------------ state
    def _allocate(self) -> None:
        n = self.n
        z = lambda dtype=np.float64: np.zeros(n, dtype=dtype)  # noqa: E731
        self.keys = z(np.uint64)
        self.traits = np.ones((n, len(INDIVIDUAL_TRAITS)))
        # carried across days
        self.cocaine = z()            # brain level, mg/kg
        self.ip_depot = z()           # unabsorbed i.p. cocaine, mg/kg
        self.occupancy = z()          # DAT occupancy after the last step
        self.allostasis = z()         # hedonic set-point shift A
        self.kor = z()                # kappa-opioid activation k
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
        self.drug_available = z(bool)
        self.contingent_cue = z(bool)
        self.context = z(np.int64)
        self.unit_dose = z()
        self.unit_occupancy = np.ones(n)   # occupancy one unit dose gives from zero
        self.punish_p = z()
        self.punish_mA = z()
        self.footshock_mA = z()
        self.sucrose_available = z(bool)
        self.incubation = z()
        self.bac_group = z(np.int64)
        # session counters; rows of small matrices so that one operation updates them all
        self._clocks = np.zeros((3, n), dtype=np.int64)
        self._timers = np.zeros((3, n), dtype=np.int64)
        self._tally = np.zeros((1 + len(SUMMARY_FIELDS), n))
        self._bind_views()
        self.ratio_count = z(np.int64)
        self.pr_index = z(np.int64)
        # net associative strengths in the current context, and terms built on them
        self.value_cue, self.value_context, self.value_drug_state, self.value_sucrose_cue = z(), z(), z(), z()
        # strengths for the drug outcome in the current context: rows cue, context, drug state
        self._excitation, self._inhibition = np.zeros((3, n)), np.zeros((3, n))
        self.incubated, self.cue_term, self.retrieval = np.ones(n), z(), np.ones(n)
        self._zeros, self._ones, self._subjects = z(), np.ones(n), np.arange(n)
        self.components = {name: self._zeros for name in REWARD_COMPONENTS}
        self.dopamine_gain = self._ones
        self.baclofen_mg_per_l = z()
        self.incentive = z()
        self.dysphoria = z()
        self.kappa = z()
        self.availability = np.ones(n)
        self._obs_rows = np.zeros((len(OBSERVATION_NAMES), n), dtype=np.float32)
        self._any_ip = self._any_pr = self._any_punish = self._any_sucrose = False
        self._bac_active = False

    def _bind_views(self) -> None:
        """Name the rows of the counter, timer and tally matrices (views, so one operation on a
        matrix updates them all)."""
        self.step_index, self.steps_since_infusion, self.counter = self._clocks
        self.timeout_left, self.cue_left, self.sucrose_cue_left = self._timers
        self.summary = dict(zip(SUMMARY_FIELDS, self._tally[1:], strict=True))

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
        self._excitation[:, idx], self._inhibition[:, idx] = 0.0, 0.0
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
        self.allostasis_step = p.allostasis_rate_per_h * p.dt_s / 3600.0 * self.trait("vulnerability")
        self.dopamine_scale = p.drug_dopamine_max * self.trait("dopamine_sensitivity")
        self.incentive_sensitivity = self.trait("incentive_sensitivity").copy()
        self.shock_scale = -p.shock_aversion_per_mA * self.trait("punishment_sensitivity")
        self.sucrose_scale = p.sucrose_reward * self.trait("sucrose_preference")
        self.pavlovian_rate = p.pavlovian_rate * self.trait("pavlovian_rate")
        self.extinction_rate = p.extinction_rate * self.trait("pavlovian_rate")
        self.relief_scale = p.relief_weight
        self.press_cost = -p.press_cost

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
        self._clocks[:2, idx] = 0
        self._timers[:, idx] = 0
        self.ratio_count[idx] = 0
        self.pr_index[idx] = 0
        self._tally[:, idx] = 0.0
        self._stress_before_session(idx, s.footshock_mA)
        self._obs_rows[3:6, idx] = (self.context[idx] == np.arange(3)[:, None])
        self._obs_rows[11, idx] = self.sucrose_available[idx]
        self._any_ip = bool(self.ip_depot.max() > 1e-12)
        self._any_pr = bool(self.progressive.any())
        self._any_punish = bool((self.punish_p > 0).any())
        self._any_sucrose = bool(self.sucrose_available.any())
        self._refresh_values(idx)
        self._refresh_signals(*self._baclofen_signal_inputs())

    def _baclofen_signal_inputs(self) -> tuple[np.ndarray | float, np.ndarray | None]:
        """(gain, withdrawal) this step, for `_refresh_signals` outside `step`."""
        if not self._bac_active:
            return 1.0, None
        eff = self.baclofen_effects()
        return eff[:, 1], eff[:, 4]

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
        """This step's baclofen effects per subject, shape (n, 5): `EFFECT_COLUMNS`."""
        k = np.minimum(self.step_index, self._bac_table.shape[1] - 1)
        return self._bac_table[self.bac_group, k]

    # ------------------------------------------------------------------ dynamics
    def step(self, actions: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Advance every subject by one step. Returns (observation, reward, terminated, truncated).

        Rare events (completed ratios, pellets, shocks, i.p. absorption) are computed only when
        some subject has one, so a quiet step costs a few dozen array operations.
        """
        p = self.params
        a = np.asarray(actions)
        if self._bac_active:
            eff = self.baclofen_effects()
            self.baclofen_mg_per_l, gain, nat_gain, sedation, bac_withdrawal = eff.T
            self.dopamine_gain = gain
            attempted = a != OTHER
            if np.any(attempted & (sedation > 0)):
                failed = attempted & (rnd.uniform(self.keys, self.counter, _STREAM_SEDATION) < sedation)
                a = np.where(failed, OTHER, a)
        else:
            gain = nat_gain = 1.0
            bac_withdrawal = None
            self.dopamine_gain = self._ones
            attempted = a != OTHER
        self._tally[a, self._subjects] += 1.0  # row 0 (other) is discarded; rows 1-3 are press counts

        # schedule on the drug lever
        counted = (a == ACTIVE) & (self.timeout_left == 0)
        self.ratio_count += counted
        completed = counted & (self.ratio_count >= self.ratio)
        events = bool(completed.any())
        dose: np.ndarray | float = 0.0
        if events:
            infused, cue, dose = self._complete_ratios(completed)
        if self._transit is not None and (events or self._transit_left > 0):
            dose = self._through_catheter(dose, events)
        pellet = self._deliver_pellets(a) if self._any_sucrose else None

        # cocaine kinetics and DAT occupancy
        if self._any_ip:
            transfer = self.ip_depot * (1.0 - self._decay_ip)
            self.ip_depot -= transfer
            dose = dose + transfer
            self._any_ip = bool(self.ip_depot.max() > 1e-12)
        self.cocaine = self.cocaine * self._decay_c + dose
        occ = self.cocaine / (self.cocaine + p.cocaine_k50_mg_per_kg)
        rise = np.maximum(occ - self.occupancy, 0.0)
        occ_before, self.occupancy = self.occupancy, occ

        # stress (kappa-opioid) and allostasis
        shock_mA = self._shocks(completed if events else None)
        self.kor *= self._decay_kor
        if shock_mA is not None:
            self.kor += self._kor_drive(shock_mA) * self.kor_on
        self.allostasis *= self._decay_A
        self.allostasis += self.allostasis_step * occ

        # Pavlovian trials
        if events:
            self.total_infusions += infused
            self.last_drug_h[infused] = (self.session_start_h + self.step_index * p.dt_s / 3600.0)[infused]
            self.steps_since_infusion[infused] = 0
            self._pavlovian_trial(np.flatnonzero(completed), infused, cue, occ_before, pav.DRUG, gain)
        if pellet is not None:
            self._pavlovian_trial(np.flatnonzero(pellet), pellet, pellet, occ_before, pav.SUCROSE, nat_gain)

        # incentive salience and reward (components summed in REWARD_COMPONENTS order)
        self._refresh_signals(gain, bac_withdrawal)
        c = self.components
        c["hedonic"] = p.hedonic_max * rise
        c["drug_dopamine"] = self.dopamine_scale * rise if bac_withdrawal is None else gain * self.dopamine_scale * rise
        reward = c["hedonic"] + c["drug_dopamine"]
        c["incentive"] = self._zeros
        if events or pellet is not None:
            incentive = np.zeros(self.n)
            if events:
                incentive += cue * (self.kappa * self.availability * self.cue_term)
            if pellet is not None:
                incentive += pellet * (nat_gain * self.incentive_sensitivity * np.maximum(self.value_sucrose_cue, 0.0))
            c["incentive"] = p.incentive_weight * incentive
            reward = reward + c["incentive"]
        c["relief"] = self.relief_scale * self.dysphoria * rise
        reward += c["relief"]
        c["sucrose"] = self._zeros if pellet is None else self.sucrose_scale * nat_gain * pellet
        if pellet is not None:
            reward += c["sucrose"]
        c["cost"] = self.press_cost * attempted
        reward += c["cost"]
        c["punishment"] = self._zeros if shock_mA is None else self.shock_scale * shock_mA
        if shock_mA is not None:
            reward += c["punishment"]

        # clocks: step index, steps since infusion, random counter; then the timers
        self._clocks += 1
        np.subtract(self._timers, 1, out=self._timers)
        np.maximum(self._timers, 0, out=self._timers)
        truncated = self.step_index >= self.n_steps
        if self._any_pr:
            terminated = self.progressive & (self.steps_since_infusion >= self._pr_limit_steps) & ~truncated
        else:
            terminated = np.zeros(self.n, dtype=bool)
        return self.observe(), reward, terminated, truncated

    def _complete_ratios(self, completed: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Ratio completions: infusion, cue and timeout; the next ratio. Returns (infused, cue, dose)."""
        infused = completed & self.drug_available
        cue = completed & self.contingent_cue
        self.ratio_count[completed] = 0
        if self._any_pr:
            pr = completed & self.progressive
            self.summary["breakpoint"][pr] = self.ratio[pr]
            self.pr_index += pr
            self.ratio[self.progressive] = _PR[self.pr_index[self.progressive]]
        self.timeout_left[infused | cue] = self._timeout_steps
        self.cue_left[cue] = self._timeout_steps
        dose = np.where(infused, self.unit_dose, 0.0)
        self.summary["infusions"] += infused
        self.summary["intake_mg_per_kg"] += dose
        self.summary["first_hour_infusions"] += infused & (self.step_index < self._first_hour_steps)
        return infused, cue, dose

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

    def _shocks(self, completed: np.ndarray | None) -> np.ndarray | None:
        """Footshock intensity (mA) of punished ratio completions this step, or None."""
        if completed is None or not self._any_punish:
            return None
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

    def _pavlovian_trial(self, rows: np.ndarray, reinforced: np.ndarray, cue: np.ndarray,
                         drug_state: np.ndarray, outcome: int, gain: np.ndarray | float) -> None:
        """A Rescorla-Wagner trial (see `pavlovian`) for subjects `rows`.

        The stimuli of a trial are its lever's cue, the context and the drug state. For the drug
        outcome their strengths are cached per subject, so the trial works on three
        slots and writes them back to E and I.
        """
        gain = np.broadcast_to(gain, (self.n,))[rows]
        args = (reinforced[rows].astype(float), self.pavlovian_rate[rows], self.extinction_rate[rows], gain,
                self.retrieval[rows])
        if outcome != pav.DRUG:
            x = np.zeros((rows.size, len(pav.STIMULI)))
            x[:, pav.SUCROSE_CUE] = cue[rows]
            x[np.arange(rows.size), pav.CONTEXT_0 + self.context[rows]] = 1.0
            x[:, pav.DRUG_STATE] = drug_state[rows]
            E, I = self._E[rows], self._I[rows]
            pav.update(E, I, x, self.context[rows], np.full(rows.size, outcome), *args)
            self._E[rows], self._I[rows] = E, I
            self._refresh_values(rows)
            return
        x = np.column_stack([cue[rows], np.ones(rows.size), drug_state[rows]])
        e, i, _ = pav.learn(self._excitation[:, rows].T, self._inhibition[:, rows].T, x, *args)
        self._excitation[:, rows], self._inhibition[:, rows] = e.T, i.T
        self._stale = True

    def _sync_associations(self) -> None:
        """Write the cached drug-outcome slots back into E and I (done lazily: on reading them,
        and before a session start re-reads them)."""
        if not self._stale:
            return
        everyone = self._subjects
        for k, stimulus in enumerate((pav.DRUG_CUE, pav.CONTEXT_0 + self.context, pav.DRUG_STATE)):
            self._E[everyone, stimulus, pav.DRUG] = self._excitation[k]
            self._I[everyone, stimulus, self.context, pav.DRUG] = self._inhibition[k]
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
            self._excitation[k, idx] = E[rows, stimulus, pav.DRUG]
            self._inhibition[k, idx] = I[rows, stimulus, pav.DRUG]
        self.value_sucrose_cue[idx] = E[:, pav.SUCROSE_CUE, pav.SUCROSE] - I[:, pav.SUCROSE_CUE, pav.SUCROSE]
        self.incubated[idx] = 1.0 + self.params.incubation_gain * self.incubation[idx]

    def _refresh_signals(self, gain: np.ndarray | float = 1.0, bac_withdrawal: np.ndarray | None = None) -> None:
        """Dysphoria, kappa, extinction retrieval, expressed values, availability and incentive."""
        p = self.params
        occ = self.occupancy
        self.dysphoria = self.allostasis + self.kor
        kappa = self.incentive_sensitivity * (1.0 + p.kappa_drug * occ) * (1.0 + p.kappa_stress * self.kor)
        if bac_withdrawal is not None:
            self.dysphoria += p.baclofen_withdrawal_gain * bac_withdrawal
            kappa *= gain * (1.0 + p.kappa_baclofen_withdrawal * bac_withdrawal)
        self.kappa = kappa
        # extinction is retrieved in the drug-free, unstressed state it was learned in (Bouton 2002)
        self.retrieval = np.exp(-occ / p.extinction_retrieval_occupancy - self.kor / p.extinction_retrieval_kor)
        self.value_cue, self.value_context, self.value_drug_state = self._excitation - self.retrieval * self._inhibition
        self.cue_term = self.incubated * np.maximum(self.value_cue, 0.0)
        # the surge one unit dose would cause now, relative to its surge in a drug-free subject
        after = self.cocaine + self.unit_dose
        self.availability = (after / (after + p.cocaine_k50_mg_per_kg) - occ) / self.unit_occupancy
        exteroceptive = np.maximum(self.value_context, 0.0) + (self.cue_left > 0) * self.cue_term
        self.incentive = kappa * self.availability * (exteroceptive + occ * np.maximum(self.value_drug_state, 0.0))

    def observe(self) -> np.ndarray:
        """Observation matrix (n, len(OBSERVATION_NAMES)), float32 in [0, 1] (a new array)."""
        rows = self._obs_rows  # (features, n); context and lever rows are set at session start
        rows[0] = self.cue_left > 0
        rows[1] = self.sucrose_cue_left > 0
        rows[2] = self.timeout_left * (1.0 / max(self._timeout_steps, 1))
        rows[6] = self.occupancy
        rows[7] = self.dysphoria / (1.0 + self.dysphoria)
        rows[8] = self.incentive / (1.0 + self.incentive)
        rows[9] = self.ratio_count / self.ratio
        rows[10] = self.step_index / self.n_steps
        return rows.T.copy()

    def end_sessions(self, idx: np.ndarray) -> None:
        """Book-keeping when sessions at `idx` end (called by the environments at episode end)."""
        self.sessions_done[idx] += 1


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
    "OBSERVATION_NAMES",
    "REWARD_COMPONENTS",
    "SUMMARY_FIELDS",
    "SubjectBatch",
    "SubjectOptions",
)
