"""Temporal-difference agents that learn online across a whole protocol, batched over a cohort.

Every agent drives a `SubjectBatch` directly: N subjects, each with its own weights and
parameters, updated together as arrays. One step of `dt_s` seconds is

    1. act:    a_t ~ softmax(beta * Q(s_t, .) + b)    (b: operant-level and Pavlovian biases)
    2. world:  r_t, s_{t+1} from the core
    3. learn:  delta_t from the agent's rule (below); dopaminergic learning signal
               s_t = g_t * delta_t if delta_t > 0 else delta_t     (g_t: baclofen's gain)
               w_{a_t} += alpha * s_t * phi(s_t)

Values are linear in the features of `rlcraving.agents.features` (Q(s, a) = w_a . phi(s)); for the
value learners a lever's value adds `value_sharing` times other behaviour's, the state's value
(advantage updating, Baird 1993; Wang et al. 2016), so what other behaviour learns on almost every
step reaches the levers, and a rarely tried lever's value does not stay behind.

Shared pieces (all agents):

* Discounting in real time: gamma = exp(-dt / tau_discount). A session's end is terminal (no
  bootstrap): the next session is a day away, discounted to nothing at tau of seconds.
* Action selection: softmax over beta Q plus fixed preferences. "Other behaviour" gets
  b_other = ln(3600 / (dt * operant_presses_per_h)), so that with equal values each lever is
  pressed about `operant_presses_per_h` times an hour (the unlearned operant level). The
  active lever gets the Pavlovian approach bias omega * u, with u the observed incentive
  signal u / (1 + u) of the core (Zhang et al. 2009's cue "wanting", computed at once from
  kappa, so a cue or a prime raises seeking before any relearning: the Pavlovian-instrumental
  interaction of Dayan, Niv, Seymour & Daw 2006).
* Baclofen: GABA-B activation damps dopamine bursts, not pauses (as in `pavlovian`), so the
  gain multiplies positive errors only. With a stochastic reward this also lowers the learnt
  values (an asymmetric, pessimistic average), besides slowing learning.
* Homeostatic reward (Keramati & Gutkin 2014; Keramati et al. 2017), optional
  (homeostatic_weight > 0): internal state H = drug occupancy, set point
  H* = homeostatic_setpoint + A (the core's allostatic set-point shift), drive
  d(H) = |H* - H|^(n/m), reward = r - relief + w (d(H_t) - d(H_{t+1})): drive reduction
  replaces the core's relief term, both being negative reinforcement.

Individual parameters are drawn per subject from log-normal distributions with median equal to
the default (sigma per parameter, `AgentParameter.sigma`), from the subject's own random key,
so a subject is the same whatever the cohort size; without individual differences every
subject has the defaults.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from rlcraving import random as rnd
from rlcraving.agents import compiled
from rlcraving.agents.features import features_of, linear
from rlcraving.chamber import ACTIVE, INACTIVE, SUCROSE, priming_occupancy
from rlcraving.checks import check_bool, check_keys, check_number, check_per_subject
from rlcraving.core import OBSERVATION_NAMES, SubjectBatch
from rlcraving.organism import Organism

_STREAM_CHOICE = 1001  # random stream of action selection (the core uses streams below 100)
_ALL = slice(None)
#: Floating type of weights, features and values (halves memory traffic; learning steps are far above its precision).
WEIGHT_DTYPE = np.float32
#: Column of the incentive signal in the chamber's observation (a world's own: `Features.incentive_column`).
INCENTIVE = OBSERVATION_NAMES.index("incentive")
_NONE = np.zeros(0)   # an absent per-subject term of the compiled update
#: Columns that show, in a discrete-trials session, the drug lever retracted and the sucrose lever presented.
_RETRACTED, _SUCROSE_PRESENT = OBSERVATION_NAMES.index("timeout"), OBSERVATION_NAMES.index("sucrose_lever_present")
_OPEN = np.zeros(0, dtype=np.uint8)   # every action open to every subject


@dataclass(frozen=True)
class AgentParameter:
    """One agent parameter: default (the cohort median), unit, allowed range, spread and source.

    `sigma` is the log-normal spread across subjects (log scale; 0: the same for every subject);
    `stream` is the random stream its per-subject draw uses (fixed, so adding a parameter does
    not change the others' draws).
    """

    default: float
    unit: str
    lo: float
    hi: float
    sigma: float
    stream: int
    source: str


_COMMON: dict[str, AgentParameter] = {
    "learning_rate": AgentParameter(
        0.05, "fraction of the error per update", 0.0, 1.0, 0.5, 201,
        "calibrated with inverse_temperature: FR1 responding is acquired within 1-2 sessions and "
        "extinguished over ~5 (Shaham et al. 2003); sigma assumed (a factor ~3 between subjects)"),
    "inverse_temperature": AgentParameter(
        20.0, "1 / reward unit", 0.0, 1000.0, 0.3, 202,
        "calibrated: the press cost (0.05) then halves the odds of a worthless press, so inactive "
        "presses fall from the operant level to ~3 an hour while active presses stay ~20; sigma assumed"),
    "discount_time_s": AgentParameter(
        10.0, "s", 0.1, 1e6, 0.3, 203,
        "rats discount delayed rewards steeply (value halves within ~5-10 s; Mazur 1987, Richards et al. "
        "1997); sigma: impulsivity varies between rats and predicts cocaine taking (Perry et al. 2005)"),
    "operant_presses_per_h": AgentParameter(
        10.0, "presses / h per lever", 0.001, 3600.0, 0.0, 204,
        "unlearned operant level: drug-naive rats press an inactive lever ~5-20 times a session"),
    "pavlovian_weight": AgentParameter(
        2.0, "log-odds / unit observed incentive", 0.0, 100.0, 0.5, 205,
        "Pavlovian approach bias omega (Dayan, Niv, Seymour & Daw 2006); chosen; sigma: sign- vs "
        "goal-trackers differ in cue attraction (Flagel et al. 2009)"),
    "homeostatic_weight": AgentParameter(
        0.0, "reward / unit drive", 0.0, 100.0, 0.0, 206,
        "Keramati et al. 2017 drive-reduction reward; 0 turns it off"),
    "homeostatic_setpoint": AgentParameter(
        0.0, "occupancy", 0.0, 1.0, 0.0, 207,
        "drug-naive set point of the internal state (none needed); drug use raises it by A"),
    "drive_n": AgentParameter(4.0, "", 1.0, 10.0, 0.0, 208, "Keramati & Gutkin 2014: n = 4"),
    "drive_m": AgentParameter(3.0, "", 1.0, 10.0, 0.0, 209, "Keramati & Gutkin 2014: m = 3"),
}
#: Parameters of the value learners (all but the actor-critic, whose critic is the state's value).
_VALUE: dict[str, AgentParameter] = {
    **_COMMON,
    "value_sharing": AgentParameter(
        1.0, "fraction of the state's value", 0.0, 1.0, 0.0, 213,
        "a lever's value is its advantage over other behaviour plus this share of other behaviour's value, "
        "the state's value (advantage updating, Baird 1993; the dueling architecture, Wang et al. 2016: the "
        "state's value, learnt on every step, reaches every action, so a change of the state's worth does not "
        "leave a rarely tried action's value behind; the ventral striatum's state values beside the dorsal "
        "striatum's action values, O'Doherty et al. 2004). Measured (q_learning, 100 subjects): at 0 the "
        "inactive lever, tried ~3 times an hour, kept its value while baclofen's gate on bursts lowered other "
        "behaviour's within the session, and inactive presses rose to 1.21x vehicle at 5 mg/kg"),
}


class TDAgent:
    """Linear action values learnt by TD, one weight vector per action and subject.

    Subclasses set `name` and the terms of the error (`bootstrap_chosen`, `_drug_term`, `_baseline`);
    the actor-critic redefines the update and
    what the weights mean. Call `new_subjects` for naive subjects, `begin` when sessions start
    (after the core's `start_sessions`), take `actions`, step the core, then `learn`.
    Arrays are stored subjects-last: weights (A, F, n), values (A, n), features (F, n).
    """

    name: ClassVar[str] = ""
    PARAMETERS: ClassVar[dict[str, AgentParameter]] = _VALUE

    def __init__(self, batch: SubjectBatch | Organism, params: Mapping[str, float] | None = None, *,
                 individual_differences: bool = False, compulsion_zone: bool = False):
        if not isinstance(batch, Organism):
            raise TypeError(f"batch={batch!r} must be a SubjectBatch (or another world's batch of organisms)")
        self.batch = batch
        self.individual_differences = check_bool("individual_differences", individual_differences)
        #: the compulsion zone in the policy (Norman & Tsibulsky 2006): the chamber's drug lever only
        self.compulsion_zone = check_bool("compulsion_zone", compulsion_zone)
        if self.compulsion_zone and not isinstance(batch, SubjectBatch):
            raise ValueError(f"compulsion_zone=True needs a chamber's SubjectBatch (its drug lever); got {batch!r}")
        self.settings = self._check_params({} if params is None else params)
        self.features = features_of(batch)
        n, n_actions, n_features = batch.n, batch.n_actions, len(self.features)
        self.n, self.n_actions, self.dt_s = n, n_actions, batch.dt_s
        self.weights = np.zeros((n_actions, n_features, n), dtype=WEIGHT_DTYPE)   # w[a, f, i]
        self.values = np.zeros((n_actions, n), dtype=WEIGHT_DTYPE)   # Q(s_t, .) (actor-critic: preferences)
        self.actions = np.zeros(n, dtype=np.int64)            # a_t
        self.signal = np.zeros(n)                             # learning signal of the last step
        self._next = np.zeros((n_actions, n), dtype=WEIGHT_DTYPE)
        self._phi = np.zeros((n_features, n), dtype=WEIGHT_DTYPE)
        self._phi_next = np.zeros((n_features, n), dtype=WEIGHT_DTYPE)
        self._pref = np.zeros((n_actions, n), dtype=WEIGHT_DTYPE)                 # scratch: action preferences
        self._drive = np.zeros(n)                             # homeostatic drive d(H_t)
        self._active_bias = np.zeros(n if self.compulsion_zone else 0, dtype=WEIGHT_DTYPE)   # compulsion bias
        self._param: dict[str, np.ndarray | float] = {k: float(v) for k, v in self.settings.items()}
        if self.individual_differences:
            for name, spec in self.PARAMETERS.items():
                if spec.sigma > 0:
                    self._param[name] = np.full(n, self.settings[name])
        self._derive()

    # ------------------------------------------------------------------ parameters
    @classmethod
    def _check_params(cls, params: Mapping[str, float]) -> dict[str, float]:
        if not isinstance(params, Mapping):
            raise TypeError(f"agent_params={params!r} has type {type(params).__name__}; a dict is required")
        unknown = sorted(set(params) - set(cls.PARAMETERS))
        if unknown:
            raise ValueError(f"agent {cls.name!r} has no parameter(s) {unknown}; "
                             f"allowed: {sorted(cls.PARAMETERS)}")
        out = {}
        for name, spec in cls.PARAMETERS.items():
            value = params.get(name, spec.default)
            out[name] = check_number(f"agent_params.{name}", value, lo=spec.lo, hi=spec.hi)
        if out["homeostatic_weight"] > 0 and out["drive_n"] < out["drive_m"]:
            raise ValueError(f"agent_params.drive_n={out['drive_n']} must be at least "
                             f"agent_params.drive_m={out['drive_m']} (the drive must be convex)")
        return out

    def parameter(self, name: str) -> np.ndarray:
        """Per-subject values of parameter `name`, shape (n,)."""
        if name not in self._param:
            raise ValueError(f"agent {self.name!r} has no parameter {name!r}; allowed: {sorted(self._param)}")
        return np.broadcast_to(self._param[name], (self.n,)).copy()

    def _draw(self, idx: np.ndarray) -> None:
        """Per-subject parameters of subjects `idx`: default * exp(sigma z), z ~ N(0, 1) from their key,
        clipped to the allowed range."""
        keys = self.batch.keys[idx]
        for name, spec in self.PARAMETERS.items():
            values = self._param[name]
            if isinstance(values, np.ndarray):
                drawn = self.settings[name] * np.exp(spec.sigma * rnd.normal(keys, spec.stream))
                values[idx] = np.clip(drawn, spec.lo, spec.hi)
        self._derive()

    def set_parameters(self, idx: np.ndarray, values: Mapping[str, np.ndarray]) -> None:
        """Give subjects `idx` chosen values (name -> one value per subject) of parameters that vary
        between subjects (sigma > 0), in place of their drawn or default ones."""
        check_keys("agent parameters", values, varying_parameters(self))
        idx = np.asarray(idx, dtype=np.int64)
        for name, value in values.items():
            spec = self.PARAMETERS[name]
            value = check_per_subject(f"agent parameter {name!r}", value, idx.size, lo=spec.lo, hi=spec.hi)
            if not isinstance(self._param[name], np.ndarray):
                self._param[name] = np.full(self.n, self._param[name])
            self._param[name][idx] = value
        self._derive()

    def _derive(self) -> None:
        """Quantities computed from the parameters (discount factor, other-behaviour bias)."""
        p = self._param
        self.gamma = np.exp(-self.dt_s / np.asarray(p["discount_time_s"]))
        self.other_bias = np.log(3600.0 / (self.dt_s * np.asarray(p["operant_presses_per_h"])))
        self._homeostatic = self.settings["homeostatic_weight"] > 0
        self._drive_power = self.settings["drive_n"] / self.settings["drive_m"]
        self._gamma = np.atleast_1d(self.gamma)
        self._sharing = float(self.settings.get("value_sharing", 0.0))
        # the compiled step's parameters for every subject (per-subject arrays change in place, others here)
        self._choice_all = self._choice_operands()
        self._rates_all = tuple(self._operand(name) for name in ("learning_rate", "critic_learning_rate") if name in p)

    def _operand(self, name: str, sel: np.ndarray | slice = _ALL, shared_dtype: type = np.float64) -> np.ndarray:
        """Parameter `name` for subjects `sel` as an array for the compiled step: the per-subject values
        (float64), or one value of `shared_dtype` when every subject shares it (a Python float in
        numpy arithmetic takes the precision of the array it meets: float32 for values and
        observations, float64 for learning signals)."""
        value = self._of(name, sel)
        return value if isinstance(value, np.ndarray) else np.full(1, value, dtype=shared_dtype)

    def _of(self, name: str, sel: np.ndarray | slice) -> np.ndarray | float:
        """Parameter `name` for subjects `sel` (a float when every subject shares it)."""
        value = self._param[name]
        return value[sel] if isinstance(value, np.ndarray) else value

    # ------------------------------------------------------------------ subjects and sessions
    def new_subjects(self, idx: np.ndarray) -> None:
        """Naive subjects at `idx`: zero weights and their own parameters (from the core's keys)."""
        idx = np.asarray(idx, dtype=np.int64)
        self._reset_weights(idx)
        if self.individual_differences:
            self._draw(idx)

    def _reset_weights(self, idx: np.ndarray) -> None:
        self.weights[..., idx] = 0.0

    def begin(self, idx: np.ndarray) -> None:
        """Sessions of subjects `idx` have just started: observe them and choose their first actions."""
        idx = np.asarray(idx, dtype=np.int64)
        if idx.size == 0:
            return
        obs = self.batch.observe()[idx]
        phi = self.features(obs, np.empty((len(self.features), idx.size), dtype=WEIGHT_DTYPE))
        self._phi[:, idx] = phi
        values = self._start_values(idx, phi)
        self.values[:, idx] = values
        self.actions[idx] = self._choose(values, obs[:, self.features.incentive_column], idx,
                                         closed=self._closed(obs, idx))
        if self._homeostatic:
            self._drive[idx] = self._drive_of(self.batch.occupancy[idx], self.batch.allostasis[idx])

    def _start_values(self, idx: np.ndarray, phi: np.ndarray) -> np.ndarray:
        return self._shared(linear(self.weights[..., idx], phi))

    def _shared(self, values: np.ndarray) -> np.ndarray:
        """Values (A, m) of each action's own weights made action values: every lever's plus
        `value_sharing` times other behaviour's (the state's value). Returns `values`."""
        if self._sharing > 0:
            values[1:] += WEIGHT_DTYPE(self._sharing) * values[0]
        return values

    # ------------------------------------------------------------------ acting
    def _choose(self, values: np.ndarray, incentive: np.ndarray, idx: np.ndarray | slice = _ALL,
                policy: np.ndarray | None = None, closed: np.ndarray = _OPEN) -> np.ndarray:
        """Softmax choice over beta * values + biases (values (A, m) of subjects `idx`) among the actions
        open to them (`closed`: see `_closed`).

        The choice probabilities are written into `policy` (A, m) when it is given.
        """
        beta, other_bias, omega = self._choice_operands(idx)
        pref = self._pref if idx is _ALL else np.empty(values.shape, dtype=np.result_type(values, beta))
        bias = self._compulsion_bias()
        compiled.preferences(values, beta, other_bias, omega, incentive,
                             bias if idx is _ALL or bias.size == 0 else bias[idx], pref, closed)
        np.exp(pref, out=pref)
        chosen = np.empty(values.shape[1], dtype=np.int64)
        compiled.choose(pref, self.batch.keys[idx], self.batch.counter[idx], _STREAM_CHOICE, chosen,
                        pref if policy is None else policy, policy is not None)
        return chosen

    def _closed(self, obs: np.ndarray, idx: np.ndarray | slice = _ALL) -> np.ndarray:
        """Levers subjects `idx` cannot press in the state `obs` shows, one bit per action (bit a: action
        a): in a discrete-trials session the levers not presented (the inactive lever never is; the drug
        lever while "timeout" is 1, the sucrose lever while "sucrose_lever_present" is 0; docs/model.md
        3.3), which the agent neither chooses nor counts in its best next value. Empty where no subject is
        in such a session (or the world has none)."""
        discrete = getattr(self.batch, "discrete", None)
        if discrete is None or not np.count_nonzero(discrete[idx]):   # (count_nonzero: faster than any)
            return _OPEN
        closed = (1 << INACTIVE) | ((obs[:, _RETRACTED] >= 1.0).astype(np.uint8) << ACTIVE)
        if self.n_actions > SUCROSE:
            closed |= (obs[:, _SUCROSE_PRESENT] < 1.0).astype(np.uint8) << SUCROSE
        return np.where(discrete[idx], closed, 0).astype(np.uint8)

    def _compulsion_bias(self) -> np.ndarray:
        """The active lever's bias of the compulsion zone now, one per subject (float32), or an empty
        array when the policy carries no zone: ln(1 + compulsion rate x c / operant level) between the
        priming and satiety thresholds, -inf (no press) at or above satiety (`compiled.compulsion_bias`)."""
        if self.compulsion_zone:
            compiled.compulsion_bias(*self._zone(), self._active_bias)
        return self._active_bias

    def _zone(self) -> tuple[np.ndarray, float, float]:
        """The compulsion zone's operands of the compiled choice: the batch's levels, the priming
        threshold's occupancy and the compulsion rate over the operant level (presses / h over presses
        / h; both 0 when the policy carries no zone, whose `_active_bias` is empty)."""
        if not self.compulsion_zone:
            return self.batch._levels, 0.0, 0.0
        p = self.batch.params
        return (self.batch._levels, priming_occupancy(p),
                p.compulsion_rate_per_h / float(self._param["operant_presses_per_h"]))

    def _choice_operands(self, idx: np.ndarray | slice = _ALL) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """beta, b_other and omega of subjects `idx` as the compiled choice takes them."""
        beta = self._operand("inverse_temperature", idx, WEIGHT_DTYPE)
        other_bias = np.atleast_1d(self.other_bias[idx] if self.other_bias.ndim else self.other_bias)
        return beta, other_bias, self._operand("pavlovian_weight", idx, WEIGHT_DTYPE)

    # ------------------------------------------------------------------ learning
    def learn(self, obs: np.ndarray, reward: np.ndarray, done: np.ndarray) -> np.ndarray:
        """Learn from the step just taken; choose the next actions. Returns the learning signal (n,).

        `obs`, `reward`, `done` are the core's output for the step (done: session over, no bootstrap).
        Features phi(s'), values Q(s', .), the choice of a' and the update run as one compiled pass
        over the subjects (`_step`).
        """
        performed = getattr(self.batch, "performed_actions", None)
        if performed is not None:   # sedation held or released a press: credit what was done
            self.actions = performed
        next_actions = np.empty(self.n, dtype=np.int64)
        self._step(obs, self._reward(reward), done, next_actions)
        self.values, self._next = self._next, self.values
        self.actions = next_actions
        self._phi, self._phi_next = self._phi_next, self._phi
        return self.signal

    def _step(self, obs: np.ndarray, reward: np.ndarray, done: np.ndarray, next_actions: np.ndarray) -> None:
        """phi(s') into `_phi_next`, Q(s', .) into `_next`, a' into `next_actions`, then
        delta = r + gamma V(s') - Q(s, a), with V(s') = 0 at a session's end (Q-learning: the best
        action's value); w_a += alpha s phi(s_t) for the action taken, and Q(s_{t+1}, a_t) kept in
        step with it (compiled: `compiled.value_step`)."""
        compiled.value_step(obs, *self.features.compiled_arguments(), self.features.incentive_column,
                            *self._choice_all, self._active_bias, *self._zone(), self.batch.keys,
                            self.batch.counter, _STREAM_CHOICE,
                            self._pref, next_actions, self.weights, self.values, self._next, self.actions, reward,
                            done, self.batch.dopamine_gain, self._gamma, self._rates_all[0], self._phi,
                            self._phi_next, self.bootstrap_chosen, self._drug_term(), *self._baseline(),
                            self._sharing, self.signal, self._closed(obs))

    def _reward(self, reward: np.ndarray) -> np.ndarray:
        """The reward the agent learns from: the core's, or with drive reduction in place of relief."""
        if not self._homeostatic:
            return reward
        b = self.batch
        drive = self._drive_of(b.occupancy, b.allostasis)
        out = reward - b.components["relief"] + self.settings["homeostatic_weight"] * (self._drive - drive)
        self._drive = drive
        return out

    def _drive_of(self, occupancy: np.ndarray, allostasis: np.ndarray) -> np.ndarray:
        """Homeostatic drive d(H) = |H* - H|^(n/m), H* = set point + allostatic shift A."""
        setpoint = self.settings["homeostatic_setpoint"] + allostasis
        return np.abs(setpoint - occupancy) ** self._drive_power

    #: SARSA: bootstrap from the action chosen next rather than the best one.
    bootstrap_chosen: ClassVar[bool] = False

    def _drug_term(self) -> np.ndarray:
        """The non-compensable drug term D per subject (Redish), or none."""
        return _NONE

    def _baseline(self) -> tuple[np.ndarray, float, float, np.ndarray]:
        """Average-reward baseline (Dezfouli): rbar, its adaptation rate, kappa per unit allostasis,
        allostasis; or none."""
        return _NONE, 0.0, 0.0, _NONE



class QLearning(TDAgent):
    """Q-learning (Watkins 1989; Sutton & Barto 2018, section 6.5), linear in the features.

        delta = r + gamma max_a' Q(s', a') - Q(s, a)
    """

    name = "q_learning"


class SARSA(TDAgent):
    """SARSA (Rummery & Niranjan 1994; Sutton & Barto 2018, section 6.4): on-policy TD control.

        delta = r + gamma Q(s', a') - Q(s, a),  a' the action actually chosen next
    """

    name = "sarsa"
    bootstrap_chosen = True


class ActorCritic(TDAgent):
    """Actor-critic with a softmax policy-gradient actor (Barto, Sutton & Anderson 1983; Sutton &
    Barto 2018, section 13.5), linear in the features.

    The critic learns state values V(s) = v . phi(s); the actor's preferences H(s, a) = w_a . phi(s)
    take the place of Q in the softmax policy pi. With s the gated learning signal of

        delta = r + gamma V(s') - V(s)
        v   += critic_learning_rate * s * phi(s)
        w_b += learning_rate * s * (1[b = a] - pi(b | s)) * phi(s)     for every action b

    The (1[b = a] - pi) term is the gradient of log pi: an outcome that no action controls
    (a non-contingent footshock) leaves the preferences unchanged on average, whereas the
    value learners credit it to whatever the subject was doing.
    """

    name = "actor_critic"
    PARAMETERS: ClassVar[dict[str, AgentParameter]] = {
        **_COMMON,
        "inverse_temperature": dataclasses.replace(
            _COMMON["inverse_temperature"], sigma=0.0,
            source=_COMMON["inverse_temperature"].source + "; the same for every subject here: the actor's "
            "log-odds move by learning_rate x inverse_temperature, so individual learning rates already vary it"),
        "critic_learning_rate": AgentParameter(
            0.05, "fraction of the error per update", 0.0, 1.0, 0.5, 210,
            "chosen equal to the actor's learning_rate; spread as learning_rate"),
    }

    def __init__(self, batch: SubjectBatch, params: Mapping[str, float] | None = None, *,
                 individual_differences: bool = False, compulsion_zone: bool = False):
        super().__init__(batch, params, individual_differences=individual_differences,
                         compulsion_zone=compulsion_zone)
        self.critic = np.zeros((len(self.features), self.n), dtype=WEIGHT_DTYPE)   # v[f, i]
        self.state_value = np.zeros(self.n, dtype=WEIGHT_DTYPE)                     # V(s_t)
        self.policy = np.zeros((self.n_actions, self.n), dtype=WEIGHT_DTYPE)         # pi(. | s_t)
        self._next_state_value = np.zeros(self.n, dtype=WEIGHT_DTYPE)
        self._next_policy = np.zeros((self.n_actions, self.n), dtype=WEIGHT_DTYPE)

    def _reset_weights(self, idx: np.ndarray) -> None:
        super()._reset_weights(idx)
        if hasattr(self, "critic"):
            self.critic[:, idx] = 0.0

    def _start_values(self, idx: np.ndarray, phi: np.ndarray) -> np.ndarray:
        self.state_value[idx] = linear(self.critic[:, idx], phi)
        return super()._start_values(idx, phi)

    def _choose(self, values: np.ndarray, incentive: np.ndarray, idx: np.ndarray | slice = _ALL,
                policy: np.ndarray | None = None, closed: np.ndarray = _OPEN) -> np.ndarray:
        if idx is _ALL:
            return super()._choose(values, incentive, idx, self._next_policy, closed)
        policy = np.empty_like(values)
        chosen = super()._choose(values, incentive, idx, policy, closed)
        self.policy[:, idx] = policy
        return chosen

    def _step(self, obs: np.ndarray, reward: np.ndarray, done: np.ndarray, next_actions: np.ndarray) -> None:
        """phi(s'), V(s') and H(s', .), a' and pi(. | s'), then the critic's error and both updates
        (compiled: `compiled.actor_critic_step`)."""
        compiled.actor_critic_step(obs, *self.features.compiled_arguments(), self.features.incentive_column,
                                   *self._choice_all, self._active_bias, *self._zone(), self.batch.keys,
                                   self.batch.counter, _STREAM_CHOICE,
                                   self._pref, next_actions, self._next_policy, self.weights, self.critic,
                                   self.state_value, self._next_state_value, self.policy, self._next, self.actions,
                                   reward, done, self.batch.dopamine_gain, self._gamma, *self._rates_all, self._phi,
                                   self._phi_next, self.signal, self._closed(obs))
        self.state_value, self._next_state_value = self._next_state_value, self.state_value
        self.policy, self._next_policy = self._next_policy, self.policy


class Redish(QLearning):
    """Q-learning with a non-compensable drug dopamine term (Redish 2004, Science 306:1944).

    With D = the core's drug_dopamine component (zero unless the drug's occupancy rises) and
    r_c = r - D the rest of the reward,

        delta0 = r_c + gamma max_a' Q(s', a') - Q(s, a)
        delta  = max(delta0 + D, D)  if D > 0,  else delta0

    so no prediction can cancel the drug's surge: the value of drug taking grows for as long as
    the drug is taken, unlike a natural reward's.
    """

    name = "redish"

    def _drug_term(self) -> np.ndarray:
        return self.batch.components["drug_dopamine"]


class Dezfouli(Redish):
    """Average-reward Redish model with an adapting reward baseline (Dezfouli et al. 2009,
    Neural Computation 21:2869).

    Undiscounted within a session, errors are measured against the baseline rho_t = rbar_t + kappa_t:

        delta0 = r_c + max_a' Q(s', a') - Q(s, a)
        delta  = (max(delta0 + D, D) if D > 0 else delta0) - rho_t
        rbar  <- rbar + (1 - exp(-dt / baseline_time)) (r - rbar)     (average reward per step)
        kappa  = allostasis_weight * A * dt                           (A: the core's allostatic shift)

    kappa is Dezfouli's elevation of the basal reward level after long drug exposure, taken
    from the core's allostasis rather than kept twice: it caps the growth of drug value and
    devalues natural rewards after long access.
    """

    name = "dezfouli"
    PARAMETERS: ClassVar[dict[str, AgentParameter]] = {
        **_VALUE,
        "value_sharing": dataclasses.replace(
            _VALUE["value_sharing"], default=0.0,
            source="0 here: with the levers sharing other behaviour's value (1), Dezfouli subjects' FR1 pressing ran "
                   "away (100 subjects, seed 0: 120 active presses in the 10th 1-h session, 93 infusions an hour, "
                   "long access below short access), not analysed further; at 0 they press the inactive lever almost "
                   "never after training, so baclofen cannot raise it (docs/agents.md)"),
        "discount_time_s": AgentParameter(
            1e6, "s", 0.1, 1e6, 0.0, 203, "average-reward TD is undiscounted (1e6 s: gamma = 1 in practice)"),
        "baseline_time_min": AgentParameter(
            60.0, "min", 0.1, 1e6, 0.0, 211,
            "chosen: the average reward rbar adapts over about a session"),
        "allostasis_weight": AgentParameter(
            0.75, "reward / min / unit A", 0.0, 100.0, 0.0, 212,
            "chosen: at the allostatic load of short access (A ~ 0.1) the baseline is of the order of "
            "the average reward; Dezfouli's kappa, which rises with drug exposure"),
    }

    def __init__(self, batch: SubjectBatch, params: Mapping[str, float] | None = None, *,
                 individual_differences: bool = False, compulsion_zone: bool = False):
        super().__init__(batch, params, individual_differences=individual_differences,
                         compulsion_zone=compulsion_zone)
        self.average_reward = np.zeros(self.n)   # rbar, reward / step; carried across sessions
        self._baseline_rate = -math.expm1(-self.dt_s / (60.0 * self.settings["baseline_time_min"]))

    def _reset_weights(self, idx: np.ndarray) -> None:
        super()._reset_weights(idx)
        if hasattr(self, "average_reward"):
            self.average_reward[idx] = 0.0

    def _baseline(self) -> tuple[np.ndarray, float, float, np.ndarray]:
        per_step = self.dt_s / 60.0
        return (self.average_reward, self._baseline_rate, self.settings["allostasis_weight"] * per_step,
                self.batch.allostasis)


def varying_parameters(agent: TDAgent | type[TDAgent]) -> tuple[str, ...]:
    """Names of the agent's parameters that vary between subjects (log-normal sigma > 0)."""
    return tuple(name for name, spec in agent.PARAMETERS.items() if spec.sigma > 0)


#: Registry: agent name -> class.
AGENTS: dict[str, type[TDAgent]] = {cls.name: cls for cls in (QLearning, SARSA, ActorCritic, Redish, Dezfouli)}


def make_agent(name: str, batch: SubjectBatch, params: Mapping[str, float] | None = None, *,
               individual_differences: bool = False, compulsion_zone: bool = False) -> TDAgent:
    """An agent of registry name `name` driving `batch` (see `AGENTS`); `compulsion_zone`: its policy
    carries the compulsion zone (docs/agents.md)."""
    if not isinstance(name, str):
        raise TypeError(f"agent={name!r} has type {type(name).__name__}; one of {sorted(AGENTS)} is required")
    if name not in AGENTS:
        raise ValueError(f"agent={name!r} is not known; choose one of {sorted(AGENTS)}")
    return AGENTS[name](batch, params, individual_differences=individual_differences,
                        compulsion_zone=compulsion_zone)


def describe_parameters(name: str) -> dict[str, dict[str, Any]]:
    """Parameters of agent `name`: default, unit, range, log-normal sigma and source."""
    if name not in AGENTS:
        raise ValueError(f"agent={name!r} is not known; choose one of {sorted(AGENTS)}")
    return {k: {"default": s.default, "unit": s.unit, "range": (s.lo, s.hi), "sigma": s.sigma, "source": s.source}
            for k, s in AGENTS[name].PARAMETERS.items()}


__all__ = [
    "AGENTS",
    "SARSA",
    "ActorCritic",
    "AgentParameter",
    "Dezfouli",
    "QLearning",
    "Redish",
    "TDAgent",
    "describe_parameters",
    "make_agent",
    "varying_parameters",
]
