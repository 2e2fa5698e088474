"""The organism: N subjects' pharmacology, learning, stress and signals, as arrays.

What a subject carries whichever world it lives in (an operant chamber, `rlcraving.chamber`;
or any other world built on it): cocaine in the brain and its DAT occupancy, allostasis, KOR
activation, Pavlovian associations (Rescorla-Wagner with context-bound extinction), incubation
of cue incentive, baclofen's kinetics and effects, the per-subject traits, and the signals and
reward a step derives from them. A world decides what happens (doses, cues, shocks, pellets,
time) and calls the organism to feel it. Every equation is in docs/model.md; the step numbers
below are those of `rlcraving.core`.

`Organism` is a base class: a world class derives from it and provides, per subject, `context`
(index into `protocol.CONTEXTS`), the clock columns set here (`step_index`, the step of the
episode; `steps_since_infusion`; `counter`, the random-draw counter) and `session_start_h`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np
from numba import prange

from rlcraving import libm
from rlcraving import pavlovian as pav
from rlcraving import random as rnd
from rlcraving.checks import check_keys, check_per_subject
from rlcraving.params import INDIVIDUAL_TRAITS, ModelParams
from rlcraving.pharmacology import STATE_SIZE as BACLOFEN_STATE_SIZE
from rlcraving.pharmacology import Placebo, Regimen, baclofen_model
from rlcraving.threads import block_end, block_start, blocks, compiled, kernel

OTHER = 0  # the action of doing nothing in particular: free of effort, never suppressed by sedation

REWARD_COMPONENTS = ("hedonic", "drug_dopamine", "incentive", "relief", "sucrose", "cost", "punishment")

#: Columns of `Organism._levels`: what one step moves (state, then the signals derived from it).
LEVELS = ("cocaine", "occupancy", "rise", "allostasis", "kor", "dysphoria", "kappa", "retrieval", "value_cue",
          "value_context", "value_drug_state", "value_lever", "cue_term", "availability", "incentive",
          "satiety_occupancy", "gut_pellets", "wanting")
(_COCAINE, _OCCUPANCY, _RISE, _ALLOSTASIS, _KOR, _DYSPHORIA, _KAPPA, _RETRIEVAL, _VALUE_CUE, _VALUE_CONTEXT,
 _VALUE_DRUG_STATE, _VALUE_LEVER, _CUE_TERM, _AVAILABILITY, _INCENTIVE, _SATIETY_OCCUPANCY,
 _GUT_PELLETS, _WANTING) = range(len(LEVELS))
#: Columns of `Organism._constants`: per-subject values fixed within a session.
SUBJECT_CONSTANTS = ("allostasis_step", "dopamine_scale", "incentive_sensitivity", "shock_scale", "sucrose_scale",
                     "pavlovian_rate", "extinction_rate", "unit_dose", "unit_occupancy", "incubated",
                     "value_sucrose_cue", "retrieval_time", "allostatic_expression")
(_ALLOSTASIS_STEP, _DOPAMINE_SCALE, _INCENTIVE_SENSITIVITY, _SHOCK_SCALE, _SUCROSE_SCALE, _PAVLOVIAN_RATE,
 _EXTINCTION_RATE, _UNIT_DOSE, _UNIT_OCCUPANCY, _INCUBATED, _VALUE_SUCROSE_CUE, _RETRIEVAL_TIME,
 _ALLOSTATIC_EXPRESSION) = range(len(SUBJECT_CONSTANTS))
#: Entries of `Organism._coefficients`: model constants of one step.
COEFFICIENTS = ("decay_cocaine", "decay_kor", "decay_allostasis", "k50", "hedonic_max", "incentive_weight",
                "kappa_drug", "kappa_stress", "kappa_withdrawal", "withdrawal_gain", "retrieval_occupancy",
                "retrieval_kor", "relief_weight", "press_cost", "generality", "satiety_threshold",
                "satiety_set_point_shift", "satiety_excess_weight", "decay_gut", "per_meal_pellet")
(_DECAY_COCAINE, _DECAY_KOR, _DECAY_ALLOSTASIS, _K50, _HEDONIC_MAX, _INCENTIVE_WEIGHT, _KAPPA_DRUG, _KAPPA_STRESS,
 _KAPPA_WITHDRAWAL, _WITHDRAWAL_GAIN, _RETRIEVAL_OCCUPANCY, _RETRIEVAL_KOR, _RELIEF_WEIGHT,
 _PRESS_COST, _GENERALITY, _SATIETY_THRESHOLD, _SATIETY_SET_POINT_SHIFT, _SATIETY_EXCESS_WEIGHT, _DECAY_GUT,
 _PER_MEAL_PELLET) = range(len(COEFFICIENTS))
#: The drug-outcome stimuli whose strengths in the current context are cached, in slot order.
DRUG_SLOTS = (pav.DRUG_CUE, None, pav.DRUG_STATE, pav.DRUG_LEVER)   # None: the current context
#: The stimulus of each slot as compiled code reads it (-1: the current context).
_SLOT_STIMULI = np.array([-1 if slot is None else slot for slot in DRUG_SLOTS], dtype=np.int64)

_NULL_EFFECT = np.array([0.0, 1.0, 1.0, 0.0, 0.0])  # no baclofen: concentration 0, gains 1
STREAM_SEDATION = 101  # above the trait streams of random.normal
#: A subject's i.p. depot below this (mg/kg) is empty: its rest is dropped, subject by subject, so what a
#: subject absorbs never depends on the other subjects of the batch (docs/model.md 13).
EMPTY_DEPOT_MG_PER_KG = 1e-12


class Organism:
    """N subjects' bodies and minds, carried across days; a world class derives from it.

    options: any object with booleans `kor_knockout` and `individual_differences`; dt_s: the
    world's time step in seconds (default `params.dt_s`, the chamber's).
    """

    def __init__(self, n: int, params: ModelParams | None, options: Any, dt_s: float | None = None):
        self.n = int(n)
        self.params = params or ModelParams()
        self.options = options
        p = self.params
        self.dt_s = float(p.dt_s if dt_s is None else dt_s)
        self._regimens: list[Regimen] = [Placebo()]
        self._bac_groups: dict[int, np.ndarray] = {}
        self._next_group = 1
        self._decay_c = math.exp(-self.dt_s / (60.0 * p.cocaine_half_life_min / math.log(2.0)))
        self._decay_ip = math.exp(-self.dt_s / (60.0 * p.ip_absorption_half_life_min / math.log(2.0)))
        self._decay_kor = math.exp(-self.dt_s / (60.0 * p.kor_decay_min))
        self._decay_A = math.exp(-self.dt_s / (86400.0 * p.allostasis_recovery_days))
        self._decay_gut = math.exp(-self.dt_s / (60.0 * p.gut_emptying_half_life_min / math.log(2.0)))
        coefficients = {
            "decay_cocaine": self._decay_c, "decay_kor": self._decay_kor, "decay_allostasis": self._decay_A,
            "k50": p.cocaine_k50_mg_per_kg, "hedonic_max": p.hedonic_max, "incentive_weight": p.incentive_weight,
            "kappa_drug": p.kappa_drug, "kappa_stress": p.kappa_stress,
            "kappa_withdrawal": p.kappa_baclofen_withdrawal, "withdrawal_gain": p.baclofen_withdrawal_gain,
            "retrieval_occupancy": p.extinction_retrieval_occupancy, "retrieval_kor": p.extinction_retrieval_kor,
            "relief_weight": p.relief_weight, "press_cost": -p.press_cost, "generality": p.extinction_generality,
            "satiety_threshold": p.satiety_threshold_mg_per_kg, "satiety_set_point_shift": p.satiety_set_point_shift,
            "satiety_excess_weight": p.satiety_excess_weight, "decay_gut": self._decay_gut,
            "per_meal_pellet": 1.0 / p.meal_size_pellets}
        self._coefficients = np.array([coefficients[name] for name in COEFFICIENTS], dtype=float)
        self._allocate_organism()

    # ------------------------------------------------------------------ state
    def _allocate_organism(self) -> None:
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
        self.last_extinction_h = np.full(n, -np.inf)   # clock time of the last unreinforced drug trial
        self.bac_state = np.zeros((n, BACLOFEN_STATE_SIZE))
        self.bac_clock_h = z()
        self.regimen_index = z(np.int64)
        self.regimen_anchor_h = z()
        self.session_start_h = z()
        self.kor_on = np.full(n, 0.0 if self.options.kor_knockout else 1.0)
        # where the subject is and what the episode has done to it
        self.context = z(np.int64)
        self.incubation = z()
        self.bac_group = z(np.int64)
        self.held_action = np.full(n, OTHER, dtype=np.int64)  # a press delayed by sedation
        # matrices, one row per subject, whose columns are named attributes (views): levels and
        # signals (LEVELS), per-subject constants (SUBJECT_CONSTANTS), clocks and the reward
        # components. A subject's values lie together in memory for the compiled step (rows of
        # thousands of values 4 KiB apart would share cache sets)
        self._levels = np.zeros((n, len(LEVELS)))
        self._constants = np.zeros((n, len(SUBJECT_CONSTANTS)))
        self._clocks = np.zeros((n, 3), dtype=np.int64)
        self._components = np.zeros((n, len(REWARD_COMPONENTS)))
        Organism._bind_views(self)  # the world binds its own views once it has built them
        self.retrieval[:] = self.incubated[:] = self.unit_occupancy[:] = self.availability[:] = 1.0
        self.retrieval_time[:] = 1.0
        # strengths for the drug outcome in the current context (slots DRUG_SLOTS): excitation, the
        # context's inhibition, that of other contexts expressed here, and the context's inhibition
        # at the episode's start (learnt in earlier episodes)
        k = len(DRUG_SLOTS)
        self._excitation, self._inhibition = np.zeros((n, k)), np.zeros((n, k))
        self._elsewhere, self._inhibition_old = np.zeros((n, k)), np.zeros((n, k))
        self._zeros, self._ones, self._subjects = z(), np.ones(n), np.arange(n)
        self.dopamine_gain = self._ones
        self.baclofen_mg_per_l = self._zeros
        self._any_ip = False
        self._bac_active = self._any_held = False

    def _bind_views(self) -> None:
        """Name the columns of the state matrices (views, so one operation on a matrix updates them all)."""
        for names, matrix in ((LEVELS, self._levels), (SUBJECT_CONSTANTS, self._constants)):
            for name, column in zip(names, matrix.T, strict=True):
                setattr(self, name, column)
        self.step_index, self.steps_since_infusion, self.counter = self._clocks.T
        self.components = dict(zip(REWARD_COMPONENTS, self._components.T, strict=True))

    def __setstate__(self, state: dict) -> None:
        """Copies and unpickled batches get their row views back (a copied view is detached)."""
        self.__dict__.update(state)
        self._bind_views()

    def new_subjects(self, idx: np.ndarray, keys: np.ndarray) -> None:
        """Give the subjects at `idx` fresh, naive state and the given random keys."""
        idx = np.asarray(idx, dtype=np.int64)
        for arr in (self.cocaine, self.ip_depot, self.occupancy, self.allostasis, self.kor, self.gut_pellets,
                    self.total_infusions, self.bac_clock_h, self.regimen_anchor_h, self.session_start_h):
            arr[idx] = 0.0
        self._sync_associations()
        self._E[idx], self._I[idx] = 0.0, 0.0
        for cache in (self._excitation, self._inhibition, self._elsewhere, self._inhibition_old):
            cache[idx] = 0.0
        self.last_drug_h[idx] = -np.inf
        self.last_extinction_h[idx] = -np.inf
        self.bac_state[idx] = 0.0
        self.regimen_index[idx] = 0
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
        self.allostasis_step[:] = p.allostasis_rate_per_h * self.dt_s / 3600.0 * self.trait("vulnerability")
        self.dopamine_scale[:] = p.drug_dopamine_max * self.trait("dopamine_sensitivity")
        self.incentive_sensitivity[:] = self.trait("incentive_sensitivity")
        self.shock_scale[:] = -p.shock_aversion_per_mA * self.trait("punishment_sensitivity")
        self.sucrose_scale[:] = p.sucrose_reward * self.trait("sucrose_preference")
        self.pavlovian_rate[:] = p.pavlovian_rate * self.trait("pavlovian_rate")
        self.extinction_rate[:] = p.extinction_rate * self.trait("pavlovian_rate")
        # the dynorphin/KOR share of the allostatic load is lost without the receptor
        self.allostatic_expression[:] = 1.0 - p.allostasis_kor_fraction * (1.0 - self.kor_on)

    def trait(self, name: str) -> np.ndarray:
        """Per-subject multiplier `name` (see `params.INDIVIDUAL_TRAITS`)."""
        return self.traits[:, list(INDIVIDUAL_TRAITS).index(name)]

    def set_traits(self, idx: np.ndarray, values: Mapping[str, np.ndarray]) -> None:
        """Give subjects `idx` chosen trait multipliers (name -> one positive value per subject)
        in place of their drawn ones; call it before their first step."""
        check_keys("traits", values, INDIVIDUAL_TRAITS)
        idx = np.asarray(idx, dtype=np.int64)
        names = list(INDIVIDUAL_TRAITS)
        for name, value in values.items():
            value = check_per_subject(f"traits[{name!r}]", value, idx.size, lo=0.0, open_lo=True)
            self.traits[idx, names.index(name)] = value
        self._derive_constants()

    # ------------------------------------------------------------------ between and at episode starts
    def _wash_out(self, idx: np.ndarray, gap_h: np.ndarray, arriving: np.ndarray | None = None) -> None:
        """Time away from the world between episodes (`gap_h` hours each): drugs wash out (the i.p.
        depot and any cocaine still `arriving`, mg/kg, are absorbed first), allostasis and stress recover,
        the gut empties of the pellets eaten."""
        p = self.params
        if not np.any(gap_h > 0):
            return
        gap_s = 3600.0 * gap_h
        tau_c = 60.0 * p.cocaine_half_life_min / math.log(2.0)
        absorbed = self.ip_depot[idx] if arriving is None else self.ip_depot[idx] + arriving
        self.cocaine[idx] = (self.cocaine[idx] + absorbed) * np.exp(-gap_s / tau_c)
        self.ip_depot[idx] = 0.0
        self.occupancy[idx] = self.cocaine[idx] / (self.cocaine[idx] + p.cocaine_k50_mg_per_kg)
        self.allostasis[idx] *= np.exp(-gap_s / (86400.0 * p.allostasis_recovery_days))
        self.kor[idx] *= np.exp(-gap_s / (60.0 * p.kor_decay_min))
        self.gut_pellets[idx] *= np.exp(-gap_s * math.log(2.0) / (60.0 * p.gut_emptying_half_life_min))

    def _set_incubation(self, idx: np.ndarray, start_h: np.ndarray) -> None:
        """Incubation of cue incentive (Grimm 2001) at `start_h`: Bateman function of days since the last drug."""
        days = (start_h - self.last_drug_h[idx]) / 24.0
        self.incubation[idx] = incubation_level(days, self.total_infusions[idx], self.params)

    def _set_retrieval_time(self, idx: np.ndarray, start_h: np.ndarray) -> None:
        """Spontaneous recovery (Rescorla 2004): earlier extinction is retrieved less with the days since
        it was learnt, e^(-days / extinction_recovery_days), at `start_h`."""
        days = (start_h - self.last_extinction_h[idx]) / 24.0
        self.retrieval_time[idx] = np.exp(-days / self.params.extinction_recovery_days)

    def _set_unit_dose(self, idx: np.ndarray, mg_per_kg: float) -> None:
        """The dose one use gives in this episode, mg/kg, and the occupancy it would cause from zero."""
        self.unit_dose[idx] = mg_per_kg
        self.unit_occupancy[idx] = max(mg_per_kg, 1e-9) / (max(mg_per_kg, 1e-9) + self.params.cocaine_k50_mg_per_kg)

    def _begin_episode(self, idx: np.ndarray) -> None:
        """Signals at the start of an episode, from the state the world has just set."""
        self._any_ip = bool(self.ip_depot.max() > 0.0)
        self.satiety_occupancy[idx] = satiety_occupancy(self.allostasis[idx] * self.allostatic_expression[idx],
                                                        self._coefficients)
        self.held_action[idx] = OTHER
        self._any_held = bool((self.held_action != OTHER).any())
        self._refresh_values(idx)
        self._inhibition_old[idx] = self._inhibition[idx]
        _, gain, _, _, withdrawal = self.baclofen_effects()
        express(gain, withdrawal, self._levels, self._constants, self._excitation, self._inhibition, self._elsewhere,
                self._inhibition_old, self._drug_cue_left(), self._coefficients)

    def _drug_cue_left(self) -> np.ndarray:
        """Per subject, steps the drug cue has left (> 0: present now); the world provides it."""
        raise NotImplementedError(f"{type(self).__name__} must say where its drug cues are")

    # ------------------------------------------------------------------ baclofen
    def _start_baclofen(self, idx: np.ndarray, switch_h: np.ndarray, start_h: np.ndarray,
                        regimen: Regimen | None, n_steps: int) -> None:
        """Bring baclofen state up to the episode start and tabulate its effects for the episode.

        A new `regimen` takes over from the old at `switch_h` (anchored to that day's midnight);
        None keeps the regimen in place."""
        p = self.params
        if regimen is not None:
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
        if len(idx) and (key == key[:1]).all():   # the usual case, without np.unique's sort of the rows
            return [np.arange(len(idx))]
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
                self.bac_state[i0], regimen, t0, self.dt_s / 3600.0, n_steps, session_start_h=t0)
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

    def _feel_baclofen(self, actions: np.ndarray) -> tuple[np.ndarray, ...]:
        """Step 1-2: baclofen's effects now, and the actions after sedation. Returns (actions, gain,
        natural gain, withdrawal).

        Sedation slows responding in time (Brebner et al. 2000: baclofen left the inter-injection
        intervals unchanged and food responding high): an action attempted while sedated is held and
        carried out on a later step, each step with probability 1 - sedation; meanwhile the subject
        does nothing else. One compiled pass (`feel_baclofen`) looks the effects up in the session's
        table (where the world keeps `baclofen_effects` as the organism's) and slows the actions
        (tests/test_feel_baclofen.py holds the rule in numpy and checks the pass against it)."""
        if not self._bac_active:
            self.baclofen_mg_per_l = self._zeros
            self.dopamine_gain = self._ones
            return actions, self._ones, self._ones, self._zeros
        own = type(self).baclofen_effects is Organism.baclofen_effects
        effects = np.empty((len(_NULL_EFFECT), self.n)) if own else self.baclofen_effects()
        out, held = np.empty_like(self.held_action), np.empty_like(self.held_action)
        slowed = feel_baclofen(self._bac_table, self.bac_group, self.step_index, own, effects, actions,
                               self._any_held, self.held_action, self.keys, self.counter, STREAM_SEDATION,
                               out, held)
        if slowed:
            actions, self.held_action, self._any_held = out, held, slowed == _SLOWED_SOME_HELD
        self.baclofen_mg_per_l, gain, natural_gain, _, withdrawal = effects
        self.dopamine_gain = gain
        return actions, gain, natural_gain, withdrawal

    def _absorb_ip(self, dose: np.ndarray) -> np.ndarray:
        """Step 4 (i.p. transfer): the depot's absorption this step added to `dose` (mg/kg)."""
        if not self._any_ip:
            return dose
        transfer = self.ip_depot * (1.0 - self._decay_ip)
        self.ip_depot -= transfer
        self.ip_depot[self.ip_depot <= EMPTY_DEPOT_MG_PER_KG] = 0.0
        self._any_ip = bool(self.ip_depot.max() > 0.0)
        return dose + transfer

    # ------------------------------------------------------------------ stress and learning
    def _kor_drive(self, mA: np.ndarray | float) -> np.ndarray | float:
        """KOR activation added by one shock of `mA` (0 in knockouts is applied by the caller): the Hill
        function of the shock above its value at the stress threshold `kor_threshold_mA`, renormalised,
        so a shock at or below the threshold recruits nothing (Buffalari & See 2009)."""
        return self.params.kor_per_shock * kor_response(mA, self.params)

    def _sucrose_trial(self, pellet: np.ndarray, gain: np.ndarray) -> None:
        """A Rescorla-Wagner trial (see `pavlovian`) for the subjects given a pellet: stimuli the sucrose cue,
        the context and the drug state (drug trials are the world's, `drug_trial`). It is reinforced, so its
        extinction rate (and stress's slowing of it, `extinction_learning`) never applies."""
        rows = np.flatnonzero(pellet)
        x = np.zeros((rows.size, len(pav.STIMULI)))
        x[:, pav.SUCROSE_CUE] = 1.0
        x[np.arange(rows.size), pav.CONTEXT_0 + self.context[rows]] = 1.0
        x[:, pav.DRUG_STATE] = self.occupancy[rows]
        E, I = self._E[rows], self._I[rows]
        pav.update(E, I, x, self.context[rows], np.full(rows.size, pav.SUCROSE), np.ones(rows.size),
                   self.pavlovian_rate[rows], self.extinction_rate[rows], gain[rows], self.retrieval[rows],
                   self.params.extinction_generality)
        self._E[rows], self._I[rows] = E, I
        self._refresh_values(rows)

    def _sync_associations(self) -> None:
        """Write the cached drug-outcome slots back into E and I (done lazily: on reading them,
        and before a session start re-reads them)."""
        if not self._stale:
            return
        sync_slots(self.context, self._excitation, self._inhibition, self._E, self._I)
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
        current context) of the stimuli of DRUG_SLOTS, with the inhibition of other contexts expressed
        here; the net sucrose-cue strength; the incubated cue's gain (`refresh_slots`). When `idx` is every
        subject in order (an episode starting for all), stale slots are written back in the same pass."""
        idx = np.asarray(idx, dtype=np.int64)
        sync = self._stale and idx.size == self.n and bool((idx == self._subjects).all())
        if not sync:
            self._sync_associations()
        refresh_slots(idx, sync, self.context, self._E, self._I, self.incubation, self.params.extinction_generality,
                      self.params.incubation_gain, self._excitation, self._inhibition, self._elsewhere,
                      self._constants)
        self._stale = self._stale and not sync


# ---------------------------------------------------------------------------------------------
# The organism's arithmetic of one step, compiled with numba (see rlcraving.core): matrices have a
# row per subject, indexed by the column constants of LEVELS, SUBJECT_CONSTANTS and COEFFICIENTS.

#: `feel_baclofen`'s results: no action slowed, some slowed with none held after, some held after.
_NOT_SLOWED, _SLOWED_NONE_HELD, _SLOWED_SOME_HELD = 0, 1, 2


@compiled
def feel_baclofen(table: np.ndarray, group: np.ndarray, step_index: np.ndarray, look_up: bool,
                  effects: np.ndarray, actions: np.ndarray, any_held: bool, held_action: np.ndarray,
                  keys: np.ndarray, counter: np.ndarray, stream: int, out: np.ndarray, held: np.ndarray) -> int:
    """`Organism._feel_baclofen`'s pass over the subjects. With `look_up`, writes effects[:, i] =
    table[group[i], min(step_index[i], steps - 1)] (`baclofen_effects`); then, if some subject holds a
    press or attempts an action while sedated (effects[3] > 0), writes the actions carried out now to
    `out` and held actions to `held` (the rule of `Organism._feel_baclofen`): a held press goes, and an
    attempted one is held, unless the subject's draw on `stream` is below its sedation. Returns
    `_NOT_SLOWED` (out and held unwritten), `_SLOWED_NONE_HELD` or `_SLOWED_SOME_HELD`."""
    n = actions.shape[0]
    last = table.shape[1] - 1
    slow = any_held
    for i in range(n):
        if look_up:
            row = table[group[i], min(step_index[i], last)]
            for c in range(row.shape[0]):
                effects[c, i] = row[c]
        if actions[i] != OTHER and effects[3, i] > 0.0:
            slow = True
    if not slow:
        return _NOT_SLOWED
    some_held = False
    for i in range(n):
        go = rnd.uniform_one(keys[i], counter[i], stream) >= effects[3, i]
        was_held = held_action[i] != OTHER
        new = not was_held and actions[i] != OTHER and not go
        if was_held:
            out[i] = held_action[i] if go else OTHER
        else:
            out[i] = OTHER if new else actions[i]
        held[i] = OTHER if (was_held and go) else (actions[i] if new else held_action[i])
        some_held |= held[i] != OTHER
    return _SLOWED_SOME_HELD if some_held else _SLOWED_NONE_HELD


@compiled
def move_levels(lo: int, hi: int, dose: np.ndarray, kor_drive: np.ndarray, L: np.ndarray, S: np.ndarray,
                C: np.ndarray) -> None:
    """Steps 4-6 for subjects lo..hi-1: cocaine kinetics and DAT occupancy (and the worth of its rise
    against the satiety level), KOR activation, allostasis, the satiety level for the next step, and
    gastric emptying of the pellets eaten.

    dose: cocaine reaching the brain now (mg/kg); kor_drive: KOR activation added by stressors now.
    """
    for i in range(lo, hi):
        cocaine = L[i, _COCAINE] * C[_DECAY_COCAINE] + dose[i]
        occupancy = cocaine / (cocaine + C[_K50])
        before, sated = L[i, _OCCUPANCY], L[i, _SATIETY_OCCUPANCY]
        # the rise's worth: its part below the satiety level less the weighted part beyond it
        L[i, _RISE] = 0.0 if occupancy <= before else (
            min(occupancy, sated) - min(before, sated)
            - C[_SATIETY_EXCESS_WEIGHT] * (max(occupancy, sated) - max(before, sated)))
        L[i, _COCAINE], L[i, _OCCUPANCY] = cocaine, occupancy
        L[i, _KOR] = L[i, _KOR] * C[_DECAY_KOR] + kor_drive[i]
        L[i, _ALLOSTASIS] = L[i, _ALLOSTASIS] * C[_DECAY_ALLOSTASIS] + S[i, _ALLOSTASIS_STEP] * occupancy
        L[i, _SATIETY_OCCUPANCY] = satiety_occupancy(L[i, _ALLOSTASIS] * S[i, _ALLOSTATIC_EXPRESSION], C)
        L[i, _GUT_PELLETS] *= C[_DECAY_GUT]


@compiled
def _slot_stimulus(k: int, context: int) -> int:
    """The stimulus of cached slot k (DRUG_SLOTS) for a subject in `context`."""
    stimulus = _SLOT_STIMULI[k]
    return pav.CONTEXT_0 + context if stimulus < 0 else stimulus


@kernel()
def sync_slots(context: np.ndarray, excitation: np.ndarray, inhibition: np.ndarray, E: np.ndarray,
               I: np.ndarray) -> None:
    """`Organism._sync_associations` of every subject: its cached drug-outcome strengths written back into
    E (n, stimuli, outcomes) and I (n, stimuli, contexts, outcomes) at its context."""
    n = context.shape[0]
    for block in prange(blocks(n)):
        for i in range(block_start(block), block_end(block, n)):
            _sync_subject(i, context[i], excitation, inhibition, E, I)


@compiled
def _sync_subject(i: int, c: int, excitation: np.ndarray, inhibition: np.ndarray, E: np.ndarray,
                  I: np.ndarray) -> None:
    """Subject i's cached drug-outcome strengths written back into E and I at its context c."""
    for k in range(_SLOT_STIMULI.size):
        s = _slot_stimulus(k, c)
        E[i, s, pav.DRUG] = excitation[i, k]
        I[i, s, c, pav.DRUG] = inhibition[i, k]


@kernel()
def refresh_slots(idx: np.ndarray, sync: bool, context: np.ndarray, E: np.ndarray, I: np.ndarray,
                  incubation: np.ndarray, generality: float, incubation_gain: float, excitation: np.ndarray,
                  inhibition: np.ndarray, elsewhere: np.ndarray, S: np.ndarray) -> None:
    """`Organism._refresh_values` of subjects `idx`, as its numpy expressions: the cached slots (E and I
    of the drug outcome in the subject's context; `generality` times the inhibition of the other contexts,
    `pavlovian.elsewhere`: the contexts summed in order, less its own), the net sucrose-cue strength and
    the incubated cue's gain 1 + incubation_gain x incubation. With `sync` (`idx`: every subject), each
    subject's cached slots are first written back (`sync_slots`), in the same pass."""
    m = idx.shape[0]
    for block in prange(blocks(m)):
        for j in range(block_start(block), block_end(block, m)):
            i = idx[j]
            c = context[i]
            if sync:
                _sync_subject(i, c, excitation, inhibition, E, I)
            for k in range(_SLOT_STIMULI.size):
                s = _slot_stimulus(k, c)
                excitation[i, k] = E[i, s, pav.DRUG]
                inhibition[i, k] = I[i, s, c, pav.DRUG]
                total = I[i, s, 0, pav.DRUG]
                for other in range(1, I.shape[2]):
                    total += I[i, s, other, pav.DRUG]
                elsewhere[i, k] = generality * (total - I[i, s, c, pav.DRUG])
            S[i, _VALUE_SUCROSE_CUE] = E[i, pav.SUCROSE_CUE, pav.SUCROSE] - I[i, pav.SUCROSE_CUE, c, pav.SUCROSE]
            S[i, _INCUBATED] = 1.0 + incubation_gain * incubation[i]


@compiled
def satiety_occupancy(allostasis: float, C: np.ndarray) -> float:
    """Occupancy at the satiety threshold (Tsibulsky & Norman 1999), whose set point rises with the
    expressed allostatic load A (Ahmed & Koob 1998): S = S0 (1 + shift A), o_sat = S / (S + K50)."""
    threshold = C[_SATIETY_THRESHOLD] * (1.0 + C[_SATIETY_SET_POINT_SHIFT] * allostasis)
    return threshold / (threshold + C[_K50])


@compiled
def compulsion_drive(i: int, L: np.ndarray, priming_occupancy: float) -> float:
    """Subject i's compulsion (Norman & Tsibulsky 2006, docs/model.md 3.2): -1 at or above the satiety
    level (where the TD policies press no drug lever); w / (1 + w) between the priming threshold's
    occupancy and the satiety level (w: the wanting, the incentive before satiety gates it); 0 below
    the priming threshold."""
    occ = L[i, _OCCUPANCY]
    if occ >= L[i, _SATIETY_OCCUPANCY]:
        return -1.0
    if occ <= priming_occupancy:
        return 0.0
    wanting = max(L[i, _WANTING], 0.0)
    return wanting / (1.0 + wanting)


@compiled
def extinction_learning(kor: float, generality: float, retrieval_kor: float) -> float:
    """Share of the extinction rate a trial learns now: new extinction is learnt more slowly under stress
    (stress impairs extinction learning, Maren & Holmes 2016), by the stress factor of retrieval with its
    general share (docs/model.md, section 5). Unstressed (kor 0, most extinction trials) the factor is
    e^0 = 1 exactly, and the exponential is not taken."""
    stress = 1.0 if kor == 0.0 else libm.exp(-kor / retrieval_kor)
    return generality + (1.0 - generality) * stress


@compiled
def other_inhibition(retrieval: float, elsewhere: np.ndarray, inhibition_old: np.ndarray, out: np.ndarray) -> None:
    """Inhibition expressed besides the current context's own (docs/model.md, section 5): that of
    other contexts, less the share of earlier episodes' extinction not retrieved now (`retrieval`:
    its expression in this state and at this time). Extinction learnt in this episode is learnt in
    the present state and retrieved in full."""
    for k in range(out.size):
        out[k] = expressed_elsewhere(retrieval, elsewhere[k], inhibition_old[k])


@compiled
def expressed_elsewhere(retrieval: float, elsewhere: float, inhibition_old: float) -> float:
    """`other_inhibition` of one stimulus."""
    return elsewhere - (1.0 - retrieval) * inhibition_old


@compiled
def net_strength(i: int, k: int, retrieval: float, excitation: np.ndarray, inhibition: np.ndarray,
                 elsewhere: np.ndarray, inhibition_old: np.ndarray) -> float:
    """Subject i's net strength of cached slot k, at least 0: its excitation less the inhibition of its
    context and that expressed besides (`other_inhibition`)."""
    other = expressed_elsewhere(retrieval, elsewhere[i, k], inhibition_old[i, k])
    return max(excitation[i, k] - inhibition[i, k] - other, 0.0)


@compiled
def drug_trial(i: int, x: np.ndarray, size: float, gain: float, generality: float, retrieval_kor: float,
               L: np.ndarray, S: np.ndarray, excitation: np.ndarray, inhibition: np.ndarray, elsewhere: np.ndarray,
               inhibition_old: np.ndarray, other: np.ndarray) -> None:
    """A Rescorla-Wagner trial (`pavlovian.trial`) of subject i's drug outcome on its cached slots (DRUG_SLOTS,
    stimuli intensities `x`), outcome `size` (0: an extinction trial), in the drug state and extinction
    retrieval of the start of the step: this episode's extinction in full, earlier episodes' at the retrieval
    (`other_inhibition`), new extinction at its rate under stress now (`extinction_learning`; a reinforced
    trial learns no extinction, so its exponential is not taken). `other`: scratch of one entry per slot.
    gain: baclofen's dopamine gain now."""
    other_inhibition(L[i, _RETRIEVAL], elsewhere[i], inhibition_old[i], other)
    rate_ext = 0.0 if size > 0.0 else S[i, _EXTINCTION_RATE] * extinction_learning(L[i, _KOR], generality,
                                                                                   retrieval_kor)
    pav.trial(excitation[i], inhibition[i], x, size, S[i, _PAVLOVIAN_RATE], rate_ext, gain, 1.0, other)


@kernel(2)
def express(gain: np.ndarray, withdrawal: np.ndarray, L: np.ndarray, S: np.ndarray, excitation: np.ndarray,
            inhibition: np.ndarray, elsewhere: np.ndarray, inhibition_old: np.ndarray, cue_left: np.ndarray,
            C: np.ndarray) -> None:
    """Step 8 for every subject (`express_signals`)."""
    for block in prange(blocks(L.shape[0])):
        express_signals(block_start(block), block_end(block, L.shape[0]), gain, withdrawal, L, S, excitation,
                        inhibition, elsewhere, inhibition_old, cue_left, C)


@compiled
def express_signals(lo: int, hi: int, gain: np.ndarray, withdrawal: np.ndarray, L: np.ndarray, S: np.ndarray,
                    excitation: np.ndarray, inhibition: np.ndarray, elsewhere: np.ndarray,
                    inhibition_old: np.ndarray, cue_left: np.ndarray, C: np.ndarray) -> None:
    """Step 8 for subjects lo..hi-1: signals from the levels: dysphoria, kappa, extinction retrieval,
    net values, availability, incentive and wanting. gain, withdrawal: baclofen effects now; cue_left:
    steps the drug cue has left (> 0: present). The retrieval's exponentials are taken for the subjects
    together first (`libm.exp_into`, on vectors), then each subject's signals."""
    # earlier extinction is retrieved in the drug-free, unstressed state it was learnt in (Bouton
    # 2002), and less as time passes (spontaneous recovery), except for its general share
    state = np.empty(hi - lo)   # scratch of these subjects: exponent, then the state factor
    for i in range(lo, hi):
        state[i - lo] = -L[i, _OCCUPANCY] / C[_RETRIEVAL_OCCUPANCY] - L[i, _KOR] / C[_RETRIEVAL_KOR]
    libm.exp_into(state, state)
    for i in range(lo, hi):
        occ, kor = L[i, _OCCUPANCY], L[i, _KOR]
        L[i, _DYSPHORIA] = (L[i, _ALLOSTASIS] * S[i, _ALLOSTATIC_EXPRESSION] + kor
                            + C[_WITHDRAWAL_GAIN] * withdrawal[i])
        kappa = S[i, _INCENTIVE_SENSITIVITY] * (1.0 + C[_KAPPA_DRUG] * occ) * (1.0 + C[_KAPPA_STRESS] * kor)
        kappa *= gain[i] * (1.0 + C[_KAPPA_WITHDRAWAL] * withdrawal[i])
        L[i, _KAPPA] = kappa
        retrieval = C[_GENERALITY] + (1.0 - C[_GENERALITY]) * state[i - lo] * S[i, _RETRIEVAL_TIME]
        L[i, _RETRIEVAL] = retrieval
        value_cue = net_strength(i, 0, retrieval, excitation, inhibition, elsewhere, inhibition_old)
        value_context = net_strength(i, 1, retrieval, excitation, inhibition, elsewhere, inhibition_old)
        value_drug_state = net_strength(i, 2, retrieval, excitation, inhibition, elsewhere, inhibition_old)
        value_lever = net_strength(i, 3, retrieval, excitation, inhibition, elsewhere, inhibition_old)
        L[i, _VALUE_CUE], L[i, _VALUE_CONTEXT], L[i, _VALUE_DRUG_STATE] = value_cue, value_context, value_drug_state
        L[i, _VALUE_LEVER] = value_lever
        cue_term = S[i, _INCUBATED] * value_cue
        L[i, _CUE_TERM] = cue_term
        # the surge one unit dose would cause now below the satiety level, relative to its surge in a
        # drug-free subject
        after = L[i, _COCAINE] + S[i, _UNIT_DOSE]
        sated = L[i, _SATIETY_OCCUPANCY]
        availability = ((min(after / (after + C[_K50]), sated) - min(occ, sated))
                        / max(min(S[i, _UNIT_OCCUPANCY], sated), 1e-12))
        L[i, _AVAILABILITY] = availability
        exteroceptive = value_context + value_lever + (cue_term if cue_left[i] > 0 else 0.0)
        drug_stimuli = exteroceptive + occ * value_drug_state
        L[i, _INCENTIVE] = kappa * availability * drug_stimuli
        L[i, _WANTING] = kappa * drug_stimuli


@compiled
def step_reward(lo: int, hi: int, actions: np.ndarray, cue: np.ndarray, pellet: np.ndarray, shock_mA: np.ndarray,
                gain: np.ndarray, natural_gain: np.ndarray, L: np.ndarray, S: np.ndarray, C: np.ndarray,
                components: np.ndarray, total: np.ndarray) -> None:
    """Step 9 for subjects lo..hi-1: reward by component (REWARD_COMPONENTS order) and their sum (`total`).

    cue, pellet: a drug-cue onset, a natural reward now; shock_mA: footshock now (mA). A pellet is
    worth the share of the meal still wanted, 1 - G / G_meal (G: pellets in the gut; food satiety,
    section 7), which scales its primary value and its cue's incentive; it then joins the gut.
    """
    for i in range(lo, hi):
        rise = L[i, _RISE]
        incentive = 0.0
        hunger = 0.0
        if cue[i]:
            incentive += L[i, _KAPPA] * L[i, _AVAILABILITY] * L[i, _CUE_TERM]
        if pellet[i]:
            hunger = food_hunger(L[i, _GUT_PELLETS], C)
            L[i, _GUT_PELLETS] += 1.0
            incentive += hunger * natural_gain[i] * S[i, _INCENTIVE_SENSITIVITY] * max(S[i, _VALUE_SUCROSE_CUE], 0.0)
        hedonic = C[_HEDONIC_MAX] * rise
        drug_dopamine = gain[i] * S[i, _DOPAMINE_SCALE] * rise
        incentive_reward = C[_INCENTIVE_WEIGHT] * incentive
        relief = C[_RELIEF_WEIGHT] * L[i, _DYSPHORIA] * rise
        sucrose = S[i, _SUCROSE_SCALE] * hunger   # liking and hunger: not dopaminergic (section 10.3)
        cost = C[_PRESS_COST] * (actions[i] != OTHER)
        punishment = S[i, _SHOCK_SCALE] * shock_mA[i]
        components[i, 0], components[i, 1], components[i, 2] = hedonic, drug_dopamine, incentive_reward
        components[i, 3], components[i, 4], components[i, 5], components[i, 6] = relief, sucrose, cost, punishment
        # their sum in REWARD_COMPONENTS order, from the registers (a loop over the row read it back from memory)
        total[i] = hedonic + drug_dopamine + incentive_reward + relief + sucrose + cost + punishment


@compiled
def live_step(lo: int, hi: int, dose: np.ndarray, kor_drive: np.ndarray, actions: np.ndarray, cue: np.ndarray,
              pellet: np.ndarray, shock_mA: np.ndarray, gain: np.ndarray, natural_gain: np.ndarray,
              withdrawal: np.ndarray, cue_left: np.ndarray, L: np.ndarray, S: np.ndarray, excitation: np.ndarray,
              inhibition: np.ndarray, elsewhere: np.ndarray, inhibition_old: np.ndarray, C: np.ndarray,
              components: np.ndarray, reward: np.ndarray) -> None:
    """Steps 4-9 for subjects lo..hi-1, one phase after the other while their rows are in cache: levels
    (`move_levels`), signals (`express_signals`), reward (`step_reward`)."""
    move_levels(lo, hi, dose, kor_drive, L, S, C)
    express_signals(lo, hi, gain, withdrawal, L, S, excitation, inhibition, elsewhere, inhibition_old, cue_left, C)
    step_reward(lo, hi, actions, cue, pellet, shock_mA, gain, natural_gain, L, S, C, components, reward)


@kernel(12)
def live(dose: np.ndarray, kor_drive: np.ndarray, actions: np.ndarray, cue: np.ndarray, pellet: np.ndarray,
         shock_mA: np.ndarray, gain: np.ndarray, natural_gain: np.ndarray, withdrawal: np.ndarray,
         cue_left: np.ndarray, L: np.ndarray, S: np.ndarray, excitation: np.ndarray, inhibition: np.ndarray,
         elsewhere: np.ndarray, inhibition_old: np.ndarray, C: np.ndarray, components: np.ndarray,
         reward: np.ndarray) -> None:
    """Steps 4-9 for every subject (`live_step`, block by block); the arguments are `live_step`'s."""
    for block in prange(blocks(L.shape[0])):
        live_step(block_start(block), block_end(block, L.shape[0]), dose, kor_drive, actions, cue, pellet, shock_mA,
                  gain, natural_gain, withdrawal, cue_left, L, S, excitation, inhibition, elsewhere, inhibition_old,
                  C, components, reward)


@compiled
def food_hunger(gut_pellets: float, C: np.ndarray) -> float:
    """Share of the meal still wanted with `gut_pellets` in the gut: 1 - G / G_meal, at least 0
    (response rate for food falls linearly with the food eaten; drive reduction with a quadratic drive)."""
    return max(1.0 - gut_pellets * C[_PER_MEAL_PELLET], 0.0)


def kor_response(mA: np.ndarray | float, p: ModelParams) -> np.ndarray | float:
    """Share of the full KOR increment one shock of `mA` recruits, in [0, 1): h(I) = max(H(I) - H(I0), 0)
    / (1 - H(I0)), H(I) = I^n / (I^n + I50^n), I0 = `kor_threshold_mA`."""
    def hill(x: np.ndarray | float) -> np.ndarray | float:
        return x**p.kor_hill / (x**p.kor_hill + p.kor_half_mA**p.kor_hill)

    floor = hill(p.kor_threshold_mA)
    return np.maximum(hill(mA) - floor, 0.0) / (1.0 - floor)


def incubation_level(days: np.ndarray, infusions: np.ndarray, p: ModelParams) -> np.ndarray:
    """Incubation level U in [0, 1]: load(history) x normalised Bateman(days since drug)."""
    tr, td = p.incubation_rise_days, p.incubation_decay_days
    t_peak = math.log(td / tr) * tr * td / (td - tr)
    peak = math.exp(-t_peak / td) - math.exp(-t_peak / tr)
    d = np.where(np.isfinite(days), np.maximum(days, 0.0), 0.0)
    shape = (np.exp(-d / td) - np.exp(-d / tr)) / peak
    load = 1.0 - np.exp(-infusions / p.incubation_load_infusions)
    return np.where(np.isfinite(days), load * shape, 0.0)

