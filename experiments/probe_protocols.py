"""Protocols the validation report does not run, for one TD agent through the cohort API.

    python experiments/probe_protocols.py [AGENT] [N_SUBJECTS]      (defaults: q_learning 100; seed 11)

After 10 FR1 sessions and 10 extinction sessions in context A (1 h each, 0.75 mg/kg) it runs:
repeated cue tests on consecutive days, the order of two triggers (stress then cue, cue then
stress), the renewal designs (ABA, ABC, AAB against their no-change controls ABB and AAA:
self-administration, extinction, test contexts), extinction tests 1 to 180 days after
extinction, graded footshock and graded priming doses, i.p. baclofen 2.5 mg/kg before every
extinction session (then a drug-free cue test), 0.5 to 8 h before a cue test, and before the last
5 FR1 sessions. Prints active
presses per 1-h session (cohort means, 95% bootstrap intervals of the mean) as markdown lines;
docs/agents.md reports its output.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from rlcraving.agents import run_cohort
from rlcraving.cli import run_script
from rlcraving.pharmacology import Placebo, RatIP
from rlcraving.stats import bootstrap_ci

SEED = 11
Calendar = list[dict[str, Any]]


def sa(days: int = 10, **settings: Any) -> Calendar:
    return [{"phase": "self_administration", "days": days, **settings}]


def extinction(days: int = 10, **settings: Any) -> Calendar:
    return [{"phase": "extinction", "days": days, **settings}]


def test(phase: str, **settings: Any) -> Calendar:
    return [{"phase": phase, **settings}]


class Probe:
    """Cohorts of one agent: `presses(calendar, days)` gives the active presses of sessions `days`."""

    def __init__(self, agent: str, n: int):
        self.agent, self.n = agent, n

    def presses(self, calendar: Calendar, days: Sequence[int] = (-1,), measure: str = "active_presses"
                ) -> list[np.ndarray]:
        table = run_cohort(self.n, calendar, agent=self.agent, seed=SEED).table
        table = table[table.measure == measure]
        last = int(table.day.max())
        return [table[table.day == (d if d >= 0 else last + 1 + d)].sort_values("subject").value.to_numpy()
                for d in days]


def show(label: str, values: Sequence[np.ndarray], names: Sequence[str]) -> None:
    cells = []
    for name, v in zip(names, values, strict=True):
        lo, hi = bootstrap_ci(v, seed=SEED)
        cells.append(f"{name} {v.mean():.1f} [{lo:.1f}, {hi:.1f}]")
    print(f"- {label}: " + "; ".join(cells))


def main(agent: str = "q_learning", n: int = 100) -> None:
    p = Probe(agent, n)
    history = sa() + extinction()
    print(f"### {agent}, {n} subjects, seed {SEED}")
    show("history", p.presses(history, (9, 19)), ("last FR1", "last extinction"))
    show("repeated cue tests on 3 consecutive days", p.presses(history + test("cue_reinstatement") * 3,
                                                                (-3, -2, -1)), ("test 1", "test 2", "test 3"))
    show("stress then cue (a day apart)", p.presses(history + test("stress_reinstatement")
                                                      + test("cue_reinstatement"), (-2, -1)), ("stress", "cue"))
    show("cue then stress (a day apart)", p.presses(history + test("cue_reinstatement")
                                                      + test("stress_reinstatement"), (-2, -1)), ("cue", "stress"))
    designs = {"ABA": ("B", "A"), "ABB": ("B", "B"), "ABC": ("B", "C"), "AAB": ("A", "B"), "AAA": ("A", "A")}
    show("renewal designs (test = extinction session in the test context)",
         [p.presses(sa() + extinction(context=e) + test("extinction", context=t))[0] for e, t in designs.values()],
         list(designs))
    gaps = (1, 21, 60, 180)
    show("extinction test after days since extinction",
         [p.presses(history + test("extinction", abstinence_days=d))[0] for d in gaps], [f"{d} d" for d in gaps])
    shocks = (0.0, 0.25, 0.5, 0.75, 1.0)
    show("footshock test (mA)", [p.presses(history + test("stress_reinstatement", footshock_mA=mA))[0]
                                 for mA in shocks], [f"{mA:g}" for mA in shocks])
    primes = (0.0, 2.5, 5.0, 10.0, 20.0)
    show("priming test (mg/kg i.p. cocaine)", [p.presses(history + test("prime_reinstatement", prime_mg_per_kg=d))[0]
                                               for d in primes], [f"{d:g}" for d in primes])
    on_ext = sa() + extinction(baclofen=RatIP(2.5)) + test("cue_reinstatement", baclofen=Placebo())
    show("baclofen 2.5 mg/kg before each extinction session, drug-free cue test",
         p.presses(on_ext, (19, -1)) + p.presses(history + test("cue_reinstatement")),
         ("last extinction", "cue test", "vehicle cue test"))
    pretreatment(p, history)
    show("baclofen 2.5 mg/kg before FR1 sessions 6-10 (infusions)",
         p.presses(sa(5) + sa(5, baclofen=RatIP(2.5)), (4, 9), "infusions") + p.presses(sa(), (9,), "infusions"),
         ("session 5", "session 10", "vehicle session 10"))


def pretreatment(p: Probe, history: Calendar, hours: Sequence[float] = (0.5, 2.0, 4.0, 8.0)) -> None:
    """Cue tests with i.p. baclofen 2.5 mg/kg given `hours` before the session, and with vehicle."""
    show("baclofen 2.5 mg/kg i.p. given hours before a cue test",
         [p.presses(history + test("cue_reinstatement", baclofen=RatIP(2.5, minutes_before=60.0 * h)))[0]
          for h in hours] + p.presses(history + test("cue_reinstatement")),
         [f"{h:g} h" for h in hours] + ["vehicle"])


if __name__ == "__main__":
    run_script(main)
