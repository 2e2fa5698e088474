"""Why the agents' preference for cocaine grows across discrete-trials choice sessions: the choice arm of
the individual_differences row under counterfactual variants.

    python experiments/probe_choice.py [AGENT] [N_SUBJECTS]     (defaults: q_learning 200; seed 0)

Lives the row's choice calendar (5 days of each reward alone on alternate days, then 15
discrete-trials choice sessions; subjects with individual differences) and prints per variant the
mean drug choices (of 12) in choice sessions 1, 8 and 15 and the share of subjects that win more
than half their answered choice trials with the drug lever over sessions 1-3, 3-5 and 13-15 (the
row's measure). docs/model.md 3.3 reports its output.

Variants from the first choice session on (the same trained subjects, copied at the end of
training; counterfactual organisms, *not* the model): no relief term (relief_weight 0), no new
allostatic load (the load left by training decays and the choice sessions' cocaine adds none),
both, no conditioned reinforcement (incentive_weight 0: neither the drug cue's nor the sucrose
cue's), agents to which the retracted levers are open (they may choose one, which the chamber
turns into other behaviour, and count its value in their best next value, as before the agents'
action set closed them), a policy without the compulsion zone, the zone as well as the relief and the
new load, and a pellet that relieves dysphoria as much as a drug-free infusion's rise does (the
relief term with the rise of 0.75 mg/kg from zero, 0.5; a bound for a sweet reward that dampens stress,
Ulrich-Lai et al. 2010, whose size the paper does not give in these units). Variants of the whole
history: levers that do not share the state's value (value_sharing 0, value learners only), cocaine
acting in the step of the press (infusion_delay_s 0), cocaine's action rising in equal parts over the
steps from 4 to 20 s after the press (Mateo et al. 2004: dopamine uptake inhibition significant within
4 s of an i.v. dose and at its plateau by 20 s), the whole dose arriving 20 s after the press, and
training with 6-h cocaine sessions (long_access) in place of the 1-h ones.
"""

from __future__ import annotations

import contextlib
import copy
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from rlcraving import chamber, organism
from rlcraving.agents.cohort import _Cohort
from rlcraving.agents.td import AGENTS
from rlcraving.cli import run_script
from rlcraving.params import ModelParams
from rlcraving.protocol import as_calendar
from rlcraving.validation.phenomena.individual_differences import (
    CHOICE_SESSIONS,
    PREFERENCE_SESSIONS,
    TRAINING_PAIRS,
    choice_calendar,
)

SEED = 0
ENV = {"individual_differences": True, "sucrose_lever": True}
#: A drug-free subject's occupancy rise from one 0.75 mg/kg infusion (K50 = 0.75 mg/kg): the rise the
#: sweet-relief bound credits to a pellet.
DRUG_FREE_RISE = 0.5
#: Mateo et al. 2004: dopamine uptake inhibition by an i.v. dose reaches its plateau 20 s after it.
UPTAKE_PLATEAU_S = 20.0
TRAINING_SESSIONS = 2 * TRAINING_PAIRS
WINDOWS = ((1, 3), (3, 5), (CHOICE_SESSIONS - PREFERENCE_SESSIONS + 1, CHOICE_SESSIONS))


def _no_relief(cohort: _Cohort) -> None:
    cohort.protocol.batch._coefficients[organism._RELIEF_WEIGHT] = 0.0


def _no_new_load(cohort: _Cohort) -> None:
    cohort.protocol.batch._constants[:, organism._ALLOSTASIS_STEP] = 0.0


def _no_conditioned_reinforcement(cohort: _Cohort) -> None:
    cohort.protocol.batch._coefficients[organism._INCENTIVE_WEIGHT] = 0.0


def _retracted_levers_open(cohort: _Cohort) -> None:
    cohort.learner._closed = lambda obs, idx=slice(None): np.zeros(0, dtype=np.uint8)


def _no_compulsion_zone(cohort: _Cohort) -> None:
    cohort.learner.compulsion_zone = False
    cohort.learner._active_bias = np.zeros(0, dtype=cohort.learner._active_bias.dtype)


def _sweet_relief(cohort: _Cohort) -> None:
    """Each pellet also pays the relief term rho D x (the drug-free rise of one infusion)."""
    batch = cohort.protocol.batch
    step = batch.step

    def relieved(actions: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        before = batch.summary["pellets"].copy()
        obs, reward, terminated, truncated = step(actions)
        got = batch.summary["pellets"] > before
        reward[got] += batch._coefficients[organism._RELIEF_WEIGHT] * batch.dysphoria[got] * DRUG_FREE_RISE
        return obs, reward, terminated, truncated
    batch.step = relieved


def _into_catheter_spread(self: chamber.Chamber, dose: np.ndarray, events: bool) -> None:
    """`Chamber._into_catheter` with each dose arriving in equal parts over the catheter's steps."""
    slot = self._transit_slot
    self._transit[slot] = 0.0
    self._transit += dose[None, :] / self._transit.shape[0]
    self._transit_slot = (slot + 1) % self._transit.shape[0]
    self._transit_left = self._transit.shape[0] if events else self._transit_left - 1


@contextlib.contextmanager
def spread_infusions() -> Iterator[None]:
    """Doses act in equal parts over the steps up to `infusion_delay_s` after the press, while inside."""
    kept = chamber.Chamber._into_catheter
    chamber.Chamber._into_catheter = _into_catheter_spread
    try:
        yield
    finally:
        chamber.Chamber._into_catheter = kept


#: Changes to the trained subjects (their organism, or their agent) before the first choice session.
IN_CHOICE: dict[str, tuple[Callable[[_Cohort], None], ...]] = {
    "as is": (),
    "no relief in choice": (_no_relief,),
    "no new load in choice": (_no_new_load,),
    "neither relief nor new load": (_no_relief, _no_new_load),
    "no conditioned reinforcement in choice": (_no_conditioned_reinforcement,),
    "retracted levers open to the agent": (_retracted_levers_open,),
    "no compulsion zone in choice": (_no_compulsion_zone,),
    "no zone, relief nor new load in choice": (_no_compulsion_zone, _no_relief, _no_new_load),
    "pellets relieve as an infusion in choice": (_sweet_relief,),
}


def long_access_calendar() -> list[dict[str, Any]]:
    """The row's calendar with 6-h cocaine training sessions."""
    return [dict(e, phase="long_access") if e["phase"] == "self_administration" else e for e in choice_calendar()]


Variant = tuple[list[dict[str, Any]], dict[str, float] | None, dict[str, Any], bool]


def whole_history(agent: str) -> dict[str, Variant]:
    """Variants of the whole history: name -> (calendar, agent parameters, environment, whether doses act
    in equal parts over the catheter's steps)."""
    plateau = {**ENV, "params": ModelParams(infusion_delay_s=UPTAKE_PLATEAU_S)}
    variants = {"cocaine in the step of the press": (choice_calendar(), None,
                                                     {**ENV, "params": ModelParams(infusion_delay_s=0.0)}, False),
                "cocaine acting over 4-20 s": (choice_calendar(), None, plateau, True),
                "cocaine acting at 20 s": (choice_calendar(), None, plateau, False),
                "6-h cocaine training": (long_access_calendar(), None, ENV, False)}
    if agent != "actor_critic":
        variants["levers without the state's value"] = (choice_calendar(), {"value_sharing": 0.0}, ENV, False)
    return variants


def choices(cohort: _Cohort) -> tuple[np.ndarray, np.ndarray]:
    """(drug, sucrose) choices, arrays (choice session, subject)."""
    table = cohort.result("").table
    sessions = range(TRAINING_SESSIONS, TRAINING_SESSIONS + CHOICE_SESSIONS)

    def won(measure: str) -> np.ndarray:
        rows = table[table.measure == measure]
        return np.array([rows[rows.day == d].sort_values("subject").value.to_numpy() for d in sessions])
    return won("drug_choices"), won("sucrose_choices")


def line(name: str, drug: np.ndarray, sucrose: np.ndarray) -> str:
    """The variant's drug choices per session and shares preferring cocaine."""
    shares = []
    for first, last in WINDOWS:
        d, s = drug[first - 1:last].sum(0), sucrose[first - 1:last].sum(0)
        shares.append(f"{100 * np.mean(d > s):5.1f}%")   # more than half the answered choice trials
    per = drug.mean(1)
    return f"{name:40s} {per[0]:5.2f} {per[7]:5.2f} {per[-1]:5.2f}   " + "  ".join(shares)


def trained(agent: str, n: int) -> _Cohort:
    """`n` subjects of `agent` at the end of the row's training (before the first choice session)."""
    cohort = _Cohort(n, as_calendar(choice_calendar()), agent, None, ENV, SEED, ())
    cohort.live(TRAINING_SESSIONS)
    return cohort


def in_choice(cohort: _Cohort, changes: tuple[Callable[[_Cohort], None], ...]) -> tuple[np.ndarray, np.ndarray]:
    """(drug, sucrose) choices of a copy of the trained `cohort` that `changes` alter before the first
    choice session."""
    cohort = copy.deepcopy(cohort)
    for change in changes:
        change(cohort)
    cohort.live(len(as_calendar(choice_calendar())))
    return choices(cohort)


def main(agent: str = "q_learning", n: int = 200) -> None:
    if agent not in AGENTS:
        raise SystemExit(f"agent={agent!r} is not known; choose one of {sorted(AGENTS)}")
    print(f"{agent}, {n} subjects, seed {SEED}; drug choices in choice sessions 1, 8, 15; share preferring "
          f"cocaine over sessions " + ", ".join(f"{a}-{b}" for a, b in WINDOWS))
    subjects = trained(agent, n)
    for name, changes in IN_CHOICE.items():
        print(line(name, *in_choice(subjects, changes)))
    for name, (entries, agent_params, env, spread) in whole_history(agent).items():
        with spread_infusions() if spread else contextlib.nullcontext():
            cohort = _Cohort(n, as_calendar(entries), agent, agent_params, env, SEED, ())
            cohort.live(len(cohort.protocol.calendar))
        print(line(name, *choices(cohort)))


if __name__ == "__main__":
    run_script(main)
