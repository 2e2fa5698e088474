"""The operant chamber: the world of a rat's sessions, over the organism of `rlcraving.organism`.

What the chamber decides (all equations in docs/model.md): levers and their schedule (FR n, the
Richardson-Roberts progressive ratio, or the discrete-trials choice of Lenoir et al. 2007, whose
levers are presented and retracted trial by trial), timeouts, intravenous infusions through a catheter
(`infusion_delay_s` in transit), the drug cue, i.p. primes and i.v. priming infusions, sucrose pellets,
punishing and intermittent footshocks, the session clock and its end, the home-cage gap between sessions, the
observation, and the session tally. `Chamber` is a world class: `rlcraving.core.SubjectBatch`
is an `Organism` living in it.
"""

from __future__ import annotations

import math

import numpy as np
from numba import prange

from rlcraving import random as rnd
from rlcraving.organism import (
    _DYSPHORIA,
    _INCENTIVE,
    _OCCUPANCY,
    _UNIT_DOSE,
    OTHER,
    compulsion_drive,
    drug_trial,
)
from rlcraving.params import ModelParams
from rlcraving.protocol import CONTEXTS, PR_SERIES, SessionSettings
from rlcraving.threads import block_end, block_start, blocks, compiled, kernel

ACTIVE, INACTIVE, SUCROSE = 1, 2, 3  # and OTHER (0), the organism's own
ACTION_MEANINGS = ("other", "active_lever", "inactive_lever", "sucrose_lever")

OBSERVATION_NAMES = (
    "drug_cue", "sucrose_cue", "timeout", "context_A", "context_B", "context_C",
    "drug_occupancy", "dysphoria", "incentive", "ratio_progress", "session_time", "sucrose_lever_present",
)
SUMMARY_FIELDS = ("active_presses", "inactive_presses", "sucrose_presses", "infusions", "pellets",
                  "shocks", "breakpoint", "intake_mg_per_kg", "first_hour_infusions", "drug_choices",
                  "sucrose_choices")

#: Entries of `Chamber._chamber_coefficients`: the chamber's constants of one step.
CHAMBER_COEFFICIENTS = ("timeout_fraction", "pr_limit_steps", "dt_s", "timeout_steps", "first_hour_steps",
                        "generality", "retrieval_kor")
(_TIMEOUT_FRACTION, _PR_LIMIT_STEPS, _DT_S, _TIMEOUT_STEPS, _FIRST_HOUR_STEPS, _GENERALITY,
 _RETRIEVAL_KOR) = range(len(CHAMBER_COEFFICIENTS))
#: Columns of `Chamber._tally` (column 0 counts "other" steps and is not reported).
(_BREAKPOINT, _INFUSIONS, _INTAKE, _FIRST_HOUR_INFUSIONS) = (
    1 + SUMMARY_FIELDS.index(name) for name in ("breakpoint", "infusions", "intake_mg_per_kg", "first_hour_infusions"))
#: Columns of `Chamber._trials`, a discrete-trials session's schedule (all 0 in other sessions) and
#: the last trial answered (-1: none yet).
TRIAL_COLUMNS = ("trial_steps", "limit_steps", "sampling_trials", "answered_trial")

_PR = np.array(PR_SERIES + (PR_SERIES[-1],) * 200, dtype=np.int64)
_STREAM_PUNISH, _STREAM_BEHAVIOUR = 102, 103  # above the trait streams of random.normal


def session_steps(settings: SessionSettings, params: ModelParams) -> int:
    """Steps in a session of `settings` (the most, for progressive ratio, which may end sooner)."""
    minutes = settings.session_minutes
    if settings.schedule == "PR":
        minutes = max(minutes, params.pr_max_session_min)
    return max(1, int(round(60.0 * minutes / params.dt_s)))


class Chamber:
    """The chamber's state and schedule; mixed with `Organism` (which provides the subjects)."""

    def _build_chamber(self) -> None:
        """Constants and state of the chamber (after `Organism.__init__`)."""
        p = self.params
        self.n_actions = 4 if self.options.sucrose_lever else 3
        self._timeout_steps = int(round(p.timeout_s / p.dt_s))
        self._shock_every = max(1, int(round(p.shock_interval_s / p.dt_s)))
        self._pr_limit_steps = int(round(60.0 * p.pr_limit_min / p.dt_s))
        self._first_hour_steps = int(round(3600.0 / p.dt_s))
        delay_steps = int(round(p.infusion_delay_s / p.dt_s))
        self._transit = np.zeros((delay_steps, self.n)) if delay_steps > 0 else None
        self._transit_slot = self._transit_left = 0
        coefficients = {"timeout_fraction": 1.0 / max(self._timeout_steps, 1), "pr_limit_steps": self._pr_limit_steps,
                        "dt_s": p.dt_s, "timeout_steps": self._timeout_steps,
                        "first_hour_steps": self._first_hour_steps, "generality": p.extinction_generality,
                        "retrieval_kor": p.extinction_retrieval_kor}
        self._chamber_coefficients = np.array([coefficients[name] for name in CHAMBER_COEFFICIENTS], dtype=float)
        # per-step rates of the presses the environment adds to the agent's (docs/model.md 3.2)
        self._approach_rate = (p.pavlovian_approach_per_h * p.dt_s / 3600.0 if self.options.pavlovian_controller
                               else 0.0)
        self._cue_approach_rate = p.cue_approach_per_h * p.dt_s / 3600.0 if self.options.pavlovian_controller else 0.0
        self._operant_p = -math.expm1(-p.operant_level_per_h * p.dt_s / 3600.0) if self.options.operant_level else 0.0
        # the compulsion zone (docs/model.md 3.2): presses added between the priming and satiety
        # thresholds; -1 switches it off
        self._compulsion_rate = (p.compulsion_rate_per_h * p.dt_s / 3600.0 if self.options.compulsion_zone
                                 else -1.0)
        self._priming_occupancy = priming_occupancy(p)
        n = self.n
        z = lambda dtype=np.float64: np.zeros(n, dtype=dtype)  # noqa: E731
        self.sessions_done = z(np.int64)
        self.n_steps = np.ones(n, dtype=np.int64)
        self.progressive = z(bool)
        self.ratio = np.ones(n, dtype=np.int64)
        self.ratio_count = z(np.int64)
        self.pr_index = z(np.int64)
        self.drug_available = z(bool)
        self.contingent_cue = z(bool)
        self.punish_p = z()
        self.punish_mA = z()
        self.footshock_mA = z()
        self.sucrose_available = z(bool)
        self.discrete = z(bool)   # a discrete-trials session (schedule "DT")
        self._trials = np.zeros((n, len(TRIAL_COLUMNS)), dtype=np.int64)
        # timers (timeout, drug cue, sucrose cue) and the session tally, row views as the organism's
        self._timers = np.zeros((n, 3), dtype=np.int64)
        self._tally = np.zeros((n, 1 + len(SUMMARY_FIELDS)))
        self._bind_views()
        self._nobody, self._completed, self._cue, self._dose = z(bool), z(bool), z(bool), z()
        self._any_pr = self._any_punish = self._any_sucrose = self._any_discrete = False
        self.actions_taken = z(np.int64)   # the last step's actions, with the presses the environment added

    def _bind_views(self) -> None:
        super()._bind_views()
        self.timeout_left, self.cue_left, self.sucrose_cue_left = self._timers.T
        self.summary = dict(zip(SUMMARY_FIELDS, self._tally.T[1:], strict=True))
        self.trial_steps, self.limit_steps, self.sampling_trials, self.answered_trial = self._trials.T

    def _drug_cue_left(self) -> np.ndarray:
        return self.cue_left

    def new_subjects(self, idx: np.ndarray, keys: np.ndarray) -> None:
        """Give the subjects at `idx` fresh, naive state and the given random keys; nothing in their catheters."""
        idx = np.asarray(idx, dtype=np.int64)
        super().new_subjects(idx, keys)
        if self._transit is not None:
            self._transit[:, idx] = 0.0
        self.sessions_done[idx] = 0

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
            # a new subject's regimen starts at midnight before its first session, so doses due
            # before that session are given
            switch_h = 24.0 * np.floor(start_h / 24.0)
        else:
            end_h = self.session_start_h[idx] + self.step_index[idx] * p.dt_s / 3600.0
            start_h = np.maximum(self.session_start_h[idx] + 24.0 * s.abstinence_days, end_h)
            gap_h = start_h - end_h
            switch_h = end_h  # a new regimen takes over where the gap begins
        n_steps = session_steps(s, p)
        _check_pretreatment(s, start_h - switch_h)
        self._home_cage(idx, gap_h)
        self._start_baclofen(idx, switch_h, start_h, s.regimen, n_steps)
        self.session_start_h[idx] = start_h
        self._set_incubation(idx, start_h)
        self._set_retrieval_time(idx, start_h)
        # the session's settings
        self.n_steps[idx] = n_steps
        self.progressive[idx] = s.schedule == "PR"
        self.ratio[idx] = _PR[0] if s.schedule == "PR" else s.ratio
        self.drug_available[idx] = s.drug_available
        self.contingent_cue[idx] = s.contingent_cue
        self.context[idx] = CONTEXTS.index(s.context)
        self.punish_p[idx] = s.punishment_probability
        self.punish_mA[idx] = s.punishment_mA
        self.footshock_mA[idx] = s.footshock_mA
        self.sucrose_available[idx] = s.sucrose_available and self.options.sucrose_lever
        self.discrete[idx] = s.schedule == "DT"
        if s.schedule == "DT":
            self._trials[idx] = (max(1, int(round(60.0 * s.trial_interval_min / p.dt_s))),
                                 max(1, int(round(60.0 * s.trial_limit_min / p.dt_s))), s.sampling_trials, -1)
        else:
            self._trials[idx] = 0
        self.ip_depot[idx] += p.ip_bioavailability * s.prime_mg_per_kg
        self._set_unit_dose(idx, s.unit_dose_mg_per_kg)
        # experimenter-given i.v. priming infusions: in the brain at the session's first step
        self.cocaine[idx] += s.priming_infusions * s.unit_dose_mg_per_kg
        self._clocks[idx, :2] = 0
        self._timers[idx] = 0
        self.ratio_count[idx] = 0
        self.pr_index[idx] = 0
        self._tally[idx] = 0.0
        self._stress_before_session(idx, s.footshock_mA)
        self._any_pr = bool(self.progressive.any())
        self._any_punish = bool((self.punish_p > 0).any())
        self._any_sucrose = bool(self.sucrose_available.any())
        self._any_discrete = bool(self.discrete.any())
        self._begin_episode(idx)

    def _home_cage(self, idx: np.ndarray, gap_h: np.ndarray) -> None:
        """Home-cage time between sessions: doses still in the catheter arrive, then the organism washes out."""
        if not np.any(gap_h > 0):
            return
        arriving = None
        if self._transit is not None:
            arriving = self._transit[:, idx].sum(axis=0)
            self._transit[:, idx] = 0.0
        self._wash_out(idx, gap_h, arriving)

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

    def observe(self) -> np.ndarray:
        """Observation matrix (n, len(OBSERVATION_NAMES)), float32 in [0, 1] (a new array)."""
        obs = np.empty((self.n, len(OBSERVATION_NAMES)), dtype=np.float32)
        write_observation(obs, self._levels, self._clocks, self._timers, self.ratio_count, self.ratio, self.n_steps,
                          self.context, self.sucrose_available, self.discrete, self._trials, self._chamber_coefficients)
        return obs

    def end_sessions(self, idx: np.ndarray) -> None:
        """Book-keeping when sessions at `idx` end (called by the environments at episode end)."""
        self.sessions_done[idx] += 1

    # ------------------------------------------------------------------ rarer events of a step
    def _add_behaviour(self, actions: np.ndarray) -> np.ndarray:
        """Presses the environment adds where the agent chose "other" (docs/model.md 3.2): the Pavlovian
        controller presses the drug lever with probability 1 - exp(-rate u dt), u = I / (1 + I) the
        observed incentive (Dayan, Niv, Seymour & Daw 2006), at a higher rate while the drug cue is on
        (cue-elicited approach), and in the compulsion zone (Norman & Tsibulsky 2006) at a further
        compulsion rate times w / (1 + w), w the wanting; the operant level presses each lever with
        probability 1 - exp(-operant rate dt). One uniform draw per subject and step. The environment
        only adds presses: an agent's own press is carried out at any level."""
        if self._approach_rate == 0.0 and self._operant_p == 0.0 and self._compulsion_rate < 0.0:
            return actions
        out = np.empty_like(actions)
        add_behaviour(actions, self._levels, self._timers, self._clocks, self.keys, self._approach_rate,
                      self._cue_approach_rate, self._operant_p, self._compulsion_rate, self._priming_occupancy, out)
        return out

    def _retract(self, actions: np.ndarray) -> np.ndarray:
        """In a discrete-trials session a press on a lever that is not presented is no press: "other"
        behaviour (no count, no effort). Returns `actions`, or a new array where some press was such."""
        out = np.empty_like(actions)
        if not retract(actions, self._clocks, self.discrete, self._trials, out):
            return actions
        return out

    def _close_trials(self, completed: np.ndarray, pellet: np.ndarray) -> None:
        """A discrete trial ends at its reward (both levers retract until the next trial); a choice
        trial's reward is tallied as that lever's choice."""
        done = self.discrete & (completed | pellet)
        if not done.any():
            return
        rows = np.flatnonzero(done)
        trial = self.step_index[rows] // self.trial_steps[rows]
        self.answered_trial[rows] = trial
        choice = trial >= self.sampling_trials[rows]
        self.summary["drug_choices"][rows] += choice & completed[rows]
        self.summary["sucrose_choices"][rows] += choice & pellet[rows]

    def _into_catheter(self, dose: np.ndarray, events: bool) -> None:
        """Send the doses given now into the catheter, in place of those arriving now (its slot
        `_transit_slot`, read before): they reach the brain `infusion_delay_s` later."""
        slot = self._transit_slot
        self._transit[slot] = dose
        self._transit_slot = (slot + 1) % self._transit.shape[0]
        self._transit_left = self._transit.shape[0] if events else self._transit_left - 1

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


def priming_occupancy(p: ModelParams) -> float:
    """DAT occupancy at the priming threshold of the compulsion zone (Norman & Tsibulsky 2006)."""
    return p.priming_threshold_mg_per_kg / (p.priming_threshold_mg_per_kg + p.cocaine_k50_mg_per_kg)


def _check_pretreatment(s: SessionSettings, room_h: np.ndarray) -> None:
    """An i.p. pretreatment `minutes_before` a session needs that much time since the regimen took over
    (the end of the last session): otherwise it would fall inside the last session and not be given."""
    before = getattr(s.regimen, "minutes_before", None)
    if before is None or s.regimen.mg_per_kg == 0 or room_h.size == 0:
        return
    room_min = float(room_h.min()) * 60.0
    if room_min < before:
        raise ValueError(f"baclofen={s.regimen!r} is injected {before:g} min before the session, but the session "
                         f"begins {room_min:.0f} min after the last one ended (abstinence_days="
                         f"{s.abstinence_days:g}); leave at least {before:g} min (abstinence_days > 0) or give "
                         f"minutes_before <= {room_min:.0f}")


# ---------------------------------------------------------------------------------------------
# The chamber's arithmetic of one step, compiled with numba (see rlcraving.core). L and S are the
# organism's levels and constants; W the chamber's coefficients (CHAMBER_COEFFICIENTS).

@kernel()
def schedule(actions: np.ndarray, gain: np.ndarray, L: np.ndarray, S: np.ndarray, tally: np.ndarray,
             clocks: np.ndarray, timers: np.ndarray, ratio_count: np.ndarray, ratio: np.ndarray,
             progressive: np.ndarray, pr_index: np.ndarray, drug_available: np.ndarray,
             contingent_cue: np.ndarray, excitation: np.ndarray, inhibition: np.ndarray, elsewhere: np.ndarray,
             inhibition_old: np.ndarray, total_infusions: np.ndarray, last_drug_h: np.ndarray,
             last_extinction_h: np.ndarray, session_start_h: np.ndarray, W: np.ndarray,
             completed: np.ndarray, cue: np.ndarray, dose: np.ndarray) -> bool:
    """Steps 3 and 7 (drug outcome) for every subject (`schedule_block`, block by block). Returns whether
    any subject completed a ratio."""
    n_completed = 0   # completions across subjects: an integer sum, the same in any order
    for block in prange(blocks(actions.size)):
        n_completed += schedule_block(block_start(block), block_end(block, actions.size), actions, gain, L, S,
                                      tally, clocks, timers, ratio_count, ratio, progressive, pr_index,
                                      drug_available, contingent_cue, excitation, inhibition, elsewhere,
                                      inhibition_old, total_infusions, last_drug_h, last_extinction_h,
                                      session_start_h, W, completed, cue, dose)
    return n_completed > 0


@compiled
def schedule_block(lo: int, hi: int, actions: np.ndarray, gain: np.ndarray, L: np.ndarray, S: np.ndarray,
                   tally: np.ndarray, clocks: np.ndarray, timers: np.ndarray, ratio_count: np.ndarray,
                   ratio: np.ndarray, progressive: np.ndarray, pr_index: np.ndarray, drug_available: np.ndarray,
                   contingent_cue: np.ndarray, excitation: np.ndarray, inhibition: np.ndarray, elsewhere: np.ndarray,
                   inhibition_old: np.ndarray, total_infusions: np.ndarray, last_drug_h: np.ndarray,
                   last_extinction_h: np.ndarray, session_start_h: np.ndarray, W: np.ndarray,
                   completed: np.ndarray, cue: np.ndarray, dose: np.ndarray) -> int:
    """Steps 3 and 7 (drug outcome): count presses (tally columns 1-3) and drug-lever presses
    outside the timeout towards the ratio. A completed ratio gives the infusion (if the drug is
    available: `dose` mg/kg, sent into the catheter), the cue (if contingent), a timeout, the
    next ratio, and a Rescorla-Wagner trial on the cached drug-outcome slots (stimuli cue,
    context, drug state, drug lever), in the drug state and extinction retrieval at the start of the
    step; the clock time of an unreinforced trial is kept (the subject's latest extinction learning).
    Subjects lo..hi-1; gain: baclofen's dopamine gain now. Returns the number of completed ratios.
    """
    n_completed = 0
    x = np.empty(excitation.shape[1])   # scratch of these subjects
    other = np.empty(excitation.shape[1])
    for i in range(lo, hi):
        tally[i, actions[i]] += 1.0
        completed[i], cue[i], dose[i] = False, False, 0.0
        if actions[i] != ACTIVE or timers[i, 0] > 0:
            continue
        ratio_count[i] += 1
        if ratio_count[i] < ratio[i]:
            continue
        completed[i] = True
        n_completed += 1
        infused, cue[i] = drug_available[i], contingent_cue[i]
        ratio_count[i] = 0
        if progressive[i]:
            tally[i, _BREAKPOINT] = ratio[i]
            pr_index[i] += 1
            ratio[i] = _PR[pr_index[i]]
        if infused or cue[i]:
            timers[i, 0] = W[_TIMEOUT_STEPS]
        if cue[i]:
            timers[i, 1] = W[_TIMEOUT_STEPS]
        if infused:
            dose[i] = S[i, _UNIT_DOSE]
            tally[i, _INFUSIONS] += 1.0
            tally[i, _INTAKE] += dose[i]
            tally[i, _FIRST_HOUR_INFUSIONS] += clocks[i, 0] < W[_FIRST_HOUR_STEPS]
            total_infusions[i] += 1.0
            last_drug_h[i] = session_start_h[i] + clocks[i, 0] * W[_DT_S] / 3600.0
            clocks[i, 1] = 0
        else:
            last_extinction_h[i] = session_start_h[i] + clocks[i, 0] * W[_DT_S] / 3600.0
        x[0], x[1], x[2], x[3] = cue[i], 1.0, L[i, _OCCUPANCY], 1.0
        drug_trial(i, x, 1.0 if infused else 0.0, gain[i], W[_GENERALITY], W[_RETRIEVAL_KOR], L, S, excitation,
                   inhibition, elsewhere, inhibition_old, other)
    return n_completed


@compiled
def levers_presented(step: int, trials: np.ndarray) -> tuple[bool, bool]:
    """(drug lever, sucrose lever) presented at `step` of a discrete-trials session (`trials`: the
    subject's row of TRIAL_COLUMNS). Trial k starts at step k * trial_steps and presents its levers
    for limit_steps, until a reward retracts them; sampling trials present one lever each, the drug
    lever first and then alternately, choice trials both (Lenoir et al. 2007)."""
    k = step // trials[0]
    if step - k * trials[0] >= trials[1] or k == trials[3]:
        return False, False
    if k >= trials[2]:
        return True, True
    return k % 2 == 0, k % 2 == 1


@kernel()
def retract(actions: np.ndarray, clocks: np.ndarray, discrete: np.ndarray, trials: np.ndarray,
            out: np.ndarray) -> bool:
    """`Chamber._retract` into `out`: in a discrete-trials session, presses on a lever that is not
    presented now (the inactive lever never is) become "other". Returns whether any press did."""
    n_changed = 0
    for i in prange(actions.shape[0]):
        out[i] = actions[i]
        if not discrete[i] or actions[i] == OTHER:
            continue
        drug, sucrose = levers_presented(clocks[i, 0], trials[i])
        if ((actions[i] == ACTIVE and not drug) or actions[i] == INACTIVE
                or (actions[i] == SUCROSE and not sucrose)):
            out[i] = OTHER
            n_changed += 1
    return n_changed > 0


@kernel()
def add_behaviour(actions: np.ndarray, L: np.ndarray, timers: np.ndarray, clocks: np.ndarray, keys: np.ndarray,
                  approach: float, cue_approach: float, operant_p: float, compulsion: float,
                  priming: float, out: np.ndarray) -> None:
    """`Chamber._add_behaviour` into `out`: where the action is "other", the drug lever with probability
    1 - exp(-(approach + cue_approach [cue on]) u - compulsion c) + operant_p (u = I / (1 + I); c the
    `compulsion_drive`, counted where positive), else the inactive lever with probability operant_p;
    one uniform draw per subject on its behaviour stream. compulsion: the zone's rate per step, or -1 (off);
    priming: the occupancy at the priming threshold."""
    for i in prange(actions.shape[0]):
        out[i] = actions[i]
        if actions[i] != OTHER:
            continue
        drive = compulsion_drive(i, L, priming) if compulsion >= 0.0 else 0.0
        u = L[i, _INCENTIVE] / (1.0 + L[i, _INCENTIVE])
        rate = approach + (cue_approach if timers[i, 1] > 0 else 0.0)
        exponent = rate * u
        if drive > 0.0:
            exponent += compulsion * drive
        active = -math.expm1(-exponent) + operant_p
        draw = rnd.uniform_one(keys[i], clocks[i, 2], _STREAM_BEHAVIOUR)
        if draw < active:
            out[i] = ACTIVE
        elif draw < active + operant_p:
            out[i] = INACTIVE


@compiled
def tick(lo: int, hi: int, clocks: np.ndarray, timers: np.ndarray, n_steps: np.ndarray, progressive: np.ndarray,
         W: np.ndarray, terminated: np.ndarray, truncated: np.ndarray) -> None:
    """Subjects lo..hi-1: clocks (step index, steps since infusion, random counter) forward, timers
    down; episode ends."""
    for i in range(lo, hi):
        for k in range(3):
            clocks[i, k] += 1
            timers[i, k] = max(timers[i, k] - 1, 0)
        truncated[i] = clocks[i, 0] >= n_steps[i]
        terminated[i] = progressive[i] and clocks[i, 1] >= W[_PR_LIMIT_STEPS] and not truncated[i]


@kernel()
def write_observation(obs: np.ndarray, L: np.ndarray, clocks: np.ndarray, timers: np.ndarray,
                      ratio_count: np.ndarray, ratio: np.ndarray, n_steps: np.ndarray, context: np.ndarray,
                      sucrose_available: np.ndarray, discrete: np.ndarray, trials: np.ndarray, W: np.ndarray) -> None:
    """The observation of every subject (`observe`, block by block)."""
    for block in prange(blocks(obs.shape[0])):
        observe(block_start(block), block_end(block, obs.shape[0]), obs, L, clocks, timers, ratio_count, ratio,
                n_steps, context, sucrose_available, discrete, trials, W)


@compiled
def observe(lo: int, hi: int, obs: np.ndarray, L: np.ndarray, clocks: np.ndarray, timers: np.ndarray,
            ratio_count: np.ndarray, ratio: np.ndarray, n_steps: np.ndarray, context: np.ndarray,
            sucrose_available: np.ndarray, discrete: np.ndarray, trials: np.ndarray, W: np.ndarray) -> None:
    """The observation (OBSERVATION_NAMES) of subjects lo..hi-1, each feature in [0, 1]. In a
    discrete-trials session the levers presented at the next step: "timeout" is 1 while the drug
    lever is retracted, and "sucrose_lever_present" is 1 while the sucrose lever is presented."""
    for i in range(lo, hi):
        dysphoria, incentive = L[i, _DYSPHORIA], L[i, _INCENTIVE]
        obs[i, 0] = timers[i, 1] > 0
        obs[i, 1] = timers[i, 2] > 0
        obs[i, 2] = timers[i, 0] * W[_TIMEOUT_FRACTION]
        for k in range(3):
            obs[i, 3 + k] = context[i] == k
        obs[i, 6] = L[i, _OCCUPANCY]
        obs[i, 7] = dysphoria / (1.0 + dysphoria)
        obs[i, 8] = incentive / (1.0 + incentive)
        obs[i, 9] = ratio_count[i] / ratio[i]
        obs[i, 10] = clocks[i, 0] / n_steps[i]
        obs[i, 11] = sucrose_available[i]
        if discrete[i]:
            drug, sucrose = levers_presented(clocks[i, 0], trials[i])
            if not drug:
                obs[i, 2] = 1.0
            obs[i, 11] = sucrose and sucrose_available[i]
