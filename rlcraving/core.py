"""The batched simulation core: N subjects in operant chambers, advanced together as arrays.

This is the only implementation of the model. `CocaineSeekingEnv` is a view of it with
N = 1 and `CocaineSeekingVectorEnv` with N > 1; the TD agents drive it directly.

`SubjectBatch` holds two halves together: the organism (`rlcraving.organism`: pharmacology,
learning, stress, signals and reward, whatever world the subject lives in) and its world, the
operant chamber (`rlcraving.chamber`: levers, ratios, timeouts, infusions, pellets, shocks, the
session clock and the observation). Steps 1-2, 4-6, 8 and 9 are the organism's; 3 and 7 the
chamber's, which it hands to the organism to feel.

One step is `dt_s` seconds. Per subject and step, in order (all equations in docs/model.md):

1. baclofen effects for this moment (precomputed per session): gain g, natural-reward gain
   g_nat, sedation probability, withdrawal w_bac;
2. the action: 0 other behaviour, 1 active lever, 2 inactive lever, 3 sucrose lever; sedation
   holds a press attempt and carries it out later (slower responding, no press lost);
3. schedule: an active press outside the timeout counts towards the ratio (FR n or the
   Richardson-Roberts series); completing it gives the infusion (if the drug is available),
   the cue (if contingent), a timeout, and possibly a footshock (punished sessions);
4. cocaine: c <- c e^(-dt/tau_c) + infusion (given `infusion_delay_s` earlier) + i.p. transfer;
   occupancy o = c/(c+K50); the rise's worth is its part below the satiety level (Tsibulsky &
   Norman 1999; set point raised by the allostatic load) less a weighted part beyond it;
5. stress: shocks raise KOR activation k (threshold in mA; none if knocked out): punished
   completions in session, and the 15-min intermittent footshock before a stress test;
6. allostasis: A <- A + dt (r_A o) - A dt/tau_A (a dynorphin/KOR share of it is lost in knockouts);
7. Pavlovian trials at each completed ratio and each sucrose pellet;
8. incentive (Zhang et al. 2009): kappa times the net cue/context/drug-state value (extinction
   retrieved less in a drug or stress state than in the drug-free state it was learned in), times the
   availability a = (occupancy rise one unit dose would cause now) / (its rise from zero):
   a drug cue is worth the surge it predicts, so a sated subject's cues are worth less;
9. reward = hedonic + drug dopamine + incentive + relief + sucrose - cost - punishment, where
   relief = w_relief x dysphoria x occupancy rise: the drug removes dysphoria as it acts.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numba import prange

from rlcraving import random as rnd
from rlcraving.chamber import (
    ACTION_MEANINGS,
    ACTIVE,
    INACTIVE,
    OBSERVATION_NAMES,
    SUCROSE,
    SUMMARY_FIELDS,
    Chamber,
    observe,
    schedule,
    schedule_block,
    session_steps,
    tick,
)
from rlcraving.organism import (
    LEVELS,
    OTHER,
    REWARD_COMPONENTS,
    SUBJECT_CONSTANTS,
    Organism,
    live_step,
)
from rlcraving.params import ModelParams
from rlcraving.pharmacology import EFFECT_COLUMNS
from rlcraving.threads import block_end, block_start, blocks, compiled, kernel


@dataclass(frozen=True)
class SubjectOptions:
    """Settings fixed for the life of a batch (kwargs of the environments)."""

    sucrose_lever: bool = False
    kor_knockout: bool = False
    individual_differences: bool = False
    #: the Pavlovian controller: incentive draws presses on the drug lever whatever the agent chose
    pavlovian_controller: bool = False
    #: the operant level: exploratory presses on each lever whatever the agent chose
    operant_level: bool = False
    #: the compulsion zone (Norman & Tsibulsky 2006): drug-lever presses added between the priming and
    #: satiety thresholds, whatever the agent chose
    compulsion_zone: bool = False


class SubjectBatch(Chamber, Organism):
    """N subjects, their state across days, and the chamber session each one is in."""

    def __init__(self, n: int, params: ModelParams | None = None, options: SubjectOptions | None = None):
        Organism.__init__(self, n, params, options or SubjectOptions())
        self._build_chamber()
        self.new_subjects(np.arange(self.n), rnd.subject_keys(0, np.arange(self.n)))

    def step(self, actions: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Advance every subject by one step. Returns (observation, reward, terminated, truncated).

        The arithmetic of every subject is compiled (`chamber.schedule`, then `_advance`); rarer
        events (pellets, shocks, discrete trials, i.p. absorption) are handled here, in numpy, only
        when some subject has one, and on a step where none can happen the schedule and the rest run
        as one pass over the subjects (`_schedule_and_advance`), with the same numbers. Levels, signals
        and reward components are updated in place: copy them to keep a step's values.
        """
        chosen = np.asarray(actions, dtype=np.int64)
        added = actions = self._add_behaviour(chosen)
        if self._any_discrete:   # presses on a retracted lever are no presses
            actions = self._retract(actions)
        self.actions_taken = actions
        a, gain, nat_gain, withdrawal = self._feel_baclofen(actions)
        if self._any_discrete and a is not actions:   # a held press carried out after its lever retracted
            a = self._retract(a)
        # what a learner should credit: its own choice, except where sedation or a retracted lever
        # changed what was done
        self.performed_actions = None if a is added else np.where(a != added, a, chosen)

        # schedule on the drug lever: infusions, cues, timeouts, and the Pavlovian trials of
        # completed ratios (in the drug state at the start of the step); then rarer events
        completed, cue, dose = self._completed, self._cue, self._dose
        obs = np.empty((self.n, len(OBSERVATION_NAMES)), dtype=np.float32)
        reward = np.empty(self.n)
        terminated, truncated = np.empty(self.n, dtype=bool), np.empty(self.n, dtype=bool)
        if not (self._any_punish or self._any_sucrose or self._any_discrete or self._any_ip):
            # nothing of this step's schedule is needed before the organism's phases: one pass
            # over the subjects, block by block (`_schedule_and_advance`), what arrives from the
            # catheter now read before the doses given now are sent into it
            arriving = dose if self._transit is None else self._transit[self._transit_slot]
            events = _schedule_and_advance(
                a, gain, nat_gain, withdrawal, arriving, self._levels, self._constants,
                self._tally, self._clocks, self._timers, self.ratio_count, self.ratio, self.progressive,
                self.pr_index, self.drug_available, self.contingent_cue, self._excitation, self._inhibition,
                self._elsewhere, self._inhibition_old, self.total_infusions, self.last_drug_h,
                self.last_extinction_h, self.session_start_h, self._chamber_coefficients, completed, cue, dose,
                self._zeros, self._nobody, self.n_steps, self.context, self.sucrose_available, self.discrete,
                self._trials, self._coefficients, self._components, reward, obs, terminated, truncated)
            self._stale |= events
            if self._transit is not None and (events or self._transit_left > 0):
                self._into_catheter(dose, events)
            return obs, reward, terminated, truncated
        events = schedule(a, gain, self._levels, self._constants, self._tally, self._clocks, self._timers,
                          self.ratio_count, self.ratio, self.progressive, self.pr_index, self.drug_available,
                          self.contingent_cue, self._excitation, self._inhibition, self._elsewhere,
                          self._inhibition_old, self.total_infusions, self.last_drug_h, self.last_extinction_h,
                          self.session_start_h, self._chamber_coefficients, completed, cue, dose)
        self._stale |= events
        pellet, shock_mA, kor_drive = self._nobody, self._zeros, self._zeros
        if events and self._any_punish and (shocks := self._shocks(completed)) is not None:
            shock_mA = shocks
            kor_drive = self._kor_drive(shock_mA) * self.kor_on
        if self._transit is not None and (events or self._transit_left > 0):
            arriving = self._transit[self._transit_slot].copy()
            self._into_catheter(dose, events)
            dose = arriving
        dose = self._absorb_ip(dose)
        if self._any_sucrose and (pellets := self._deliver_pellets(a)) is not None:
            pellet = pellets
            self._sucrose_trial(pellet, nat_gain)
        if self._any_discrete and (events or pellet is not self._nobody):
            self._close_trials(completed, pellet)

        # kinetics, stress, allostasis, signals, reward, clocks, observation: compiled loops
        _advance(a, dose, kor_drive, cue, pellet, shock_mA, gain, nat_gain, withdrawal,
                 self._levels, self._constants, self._excitation, self._inhibition, self._elsewhere,
                 self._inhibition_old, self._clocks, self._timers,
                 self.ratio_count, self.ratio, self.n_steps, self.progressive, self.context, self.sucrose_available,
                 self.discrete, self._trials, self._coefficients, self._chamber_coefficients, self._components, reward,
                 obs, terminated, truncated)
        return obs, reward, terminated, truncated


@kernel(9)
def _advance(actions: np.ndarray, dose: np.ndarray, kor_drive: np.ndarray, cue: np.ndarray, pellet: np.ndarray,
             shock_mA: np.ndarray, gain: np.ndarray, natural_gain: np.ndarray, withdrawal: np.ndarray,
             L: np.ndarray, S: np.ndarray, excitation: np.ndarray, inhibition: np.ndarray, elsewhere: np.ndarray,
             inhibition_old: np.ndarray, clocks: np.ndarray, timers: np.ndarray, ratio_count: np.ndarray,
             ratio: np.ndarray, n_steps: np.ndarray, progressive: np.ndarray, context: np.ndarray,
             sucrose_available: np.ndarray, discrete: np.ndarray, trials: np.ndarray, C: np.ndarray,
             W: np.ndarray, components: np.ndarray, reward: np.ndarray, obs: np.ndarray, terminated: np.ndarray,
             truncated: np.ndarray) -> None:
    """Steps 4-9 and the chamber's clocks and observation for every subject (`_advance_block`, block by
    block of subjects, each block through every phase while its rows are in cache, in one loop, serial
    or parallel)."""
    n = L.shape[0]
    for block in prange(blocks(n)):
        _advance_block(block_start(block), block_end(block, n), actions, dose, kor_drive, cue, pellet, shock_mA,
                       gain, natural_gain, withdrawal, L, S, excitation, inhibition, elsewhere, inhibition_old,
                       clocks, timers, ratio_count, ratio, n_steps, progressive, context, sucrose_available,
                       discrete, trials, C, W, components, reward, obs, terminated, truncated)


@compiled
def _advance_block(lo: int, hi: int, actions: np.ndarray, dose: np.ndarray, kor_drive: np.ndarray, cue: np.ndarray,
                   pellet: np.ndarray, shock_mA: np.ndarray, gain: np.ndarray, natural_gain: np.ndarray,
                   withdrawal: np.ndarray, L: np.ndarray, S: np.ndarray, excitation: np.ndarray,
                   inhibition: np.ndarray, elsewhere: np.ndarray, inhibition_old: np.ndarray, clocks: np.ndarray,
                   timers: np.ndarray, ratio_count: np.ndarray, ratio: np.ndarray, n_steps: np.ndarray,
                   progressive: np.ndarray, context: np.ndarray, sucrose_available: np.ndarray,
                   discrete: np.ndarray, trials: np.ndarray, C: np.ndarray, W: np.ndarray, components: np.ndarray,
                   reward: np.ndarray, obs: np.ndarray, terminated: np.ndarray, truncated: np.ndarray) -> None:
    """Subjects lo..hi-1: steps 4-9 (the organism's, `organism.live_step`), then the chamber's clocks
    (`chamber.tick`) and observation (`chamber.observe`)."""
    live_step(lo, hi, dose, kor_drive, actions, cue, pellet, shock_mA, gain, natural_gain, withdrawal,
              timers[:, 1], L, S, excitation, inhibition, elsewhere, inhibition_old, C, components, reward)
    tick(lo, hi, clocks, timers, n_steps, progressive, W, terminated, truncated)
    observe(lo, hi, obs, L, clocks, timers, ratio_count, ratio, n_steps, context, sucrose_available, discrete,
            trials, W)


@kernel()
def _schedule_and_advance(actions: np.ndarray, gain: np.ndarray, natural_gain: np.ndarray, withdrawal: np.ndarray,
                          arriving: np.ndarray, L: np.ndarray, S: np.ndarray, tally: np.ndarray, clocks: np.ndarray,
                          timers: np.ndarray, ratio_count: np.ndarray, ratio: np.ndarray, progressive: np.ndarray,
                          pr_index: np.ndarray, drug_available: np.ndarray, contingent_cue: np.ndarray,
                          excitation: np.ndarray, inhibition: np.ndarray, elsewhere: np.ndarray,
                          inhibition_old: np.ndarray, total_infusions: np.ndarray, last_drug_h: np.ndarray,
                          last_extinction_h: np.ndarray, session_start_h: np.ndarray, W: np.ndarray,
                          completed: np.ndarray, cue: np.ndarray, dose: np.ndarray, zeros: np.ndarray,
                          nobody: np.ndarray, n_steps: np.ndarray, context: np.ndarray,
                          sucrose_available: np.ndarray, discrete: np.ndarray, trials: np.ndarray, C: np.ndarray,
                          components: np.ndarray, reward: np.ndarray, obs: np.ndarray, terminated: np.ndarray,
                          truncated: np.ndarray) -> bool:
    """A step without shocks, pellets, discrete trials or an i.p. depot, block by block of subjects: the
    schedule (`chamber.schedule_block`: the doses given now into `dose`), then `_advance_block` with the
    doses `arriving` in the brain now (`dose` itself without a catheter delay), no shock and no pellet
    (`zeros`, `nobody`). Each subject's numbers are those of `schedule` then `_advance`. Returns whether
    any subject completed a ratio."""
    n_completed = 0   # completions across subjects: an integer sum, the same in any order
    n = L.shape[0]
    for block in prange(blocks(n)):
        lo, hi = block_start(block), block_end(block, n)
        n_completed += schedule_block(lo, hi, actions, gain, L, S, tally, clocks, timers, ratio_count, ratio,
                                      progressive, pr_index, drug_available, contingent_cue, excitation, inhibition,
                                      elsewhere, inhibition_old, total_infusions, last_drug_h, last_extinction_h,
                                      session_start_h, W, completed, cue, dose)
        _advance_block(lo, hi, actions, arriving, zeros, cue, nobody, zeros, gain, natural_gain, withdrawal, L, S,
                       excitation, inhibition, elsewhere, inhibition_old, clocks, timers, ratio_count, ratio,
                       n_steps, progressive, context, sucrose_available, discrete, trials, C, W, components,
                       reward, obs, terminated, truncated)
    return n_completed > 0


__all__: Sequence[str] = (
    "ACTION_MEANINGS",
    "ACTIVE",
    "EFFECT_COLUMNS",
    "INACTIVE",
    "LEVELS",
    "OBSERVATION_NAMES",
    "OTHER",
    "REWARD_COMPONENTS",
    "SUBJECT_CONSTANTS",
    "SUCROSE",
    "SUMMARY_FIELDS",
    "SubjectBatch",
    "SubjectOptions",
    "session_steps",
)
