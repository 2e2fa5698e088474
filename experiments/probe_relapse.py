"""Relapse phenomena of one TD agent through the cohort API, as an outside reviewer runs them.

    python experiments/probe_relapse.py [AGENT] [N_SUBJECTS]      (defaults: q_learning 200; seed 11)

Prints the last FR1 and extinction sessions, one more extinction session (the control), the cue,
0.5 mA stress, cue + stress and prime tests after 10 FR1 + 10 extinction sessions in A; ABA
renewal (extinction in B, test in A or B); and an extinction test 1, 7 or 21 days after extinction.
Active presses per 1-h session, cohort means. docs/agents.md reports its output for every agent.
"""

from __future__ import annotations

import numpy as np

from rlcraving.agents import run_cohort
from rlcraving.cli import run_script

SEED = 11
SA = [{"phase": "self_administration", "days": 10}]


def extinction(context: str = "A") -> list[dict]:
    return [{"phase": "extinction", "days": 10, "context": context}]


def active_presses(agent: str, n: int, calendar: list[dict]) -> np.ndarray:
    """Cohort mean of active presses in each session of `calendar`."""
    table = run_cohort(n, calendar, agent=agent, seed=SEED).table
    return table[table.measure == "active_presses"].groupby("day").value.mean().to_numpy()


def main(agent: str = "q_learning", n: int = 200) -> None:
    test = {name: active_presses(agent, n, SA + extinction() + [session])[-1] for name, session in {
        "extinction": {"phase": "extinction"}, "cue": {"phase": "cue_reinstatement"},
        "stress": {"phase": "stress_reinstatement"},
        "cue+stress": {"phase": "cue_reinstatement", "footshock_mA": 0.5},
        "prime": {"phase": "prime_reinstatement"}}.items()}
    history = active_presses(agent, n, SA + extinction())
    print(f"{agent}: last FR1 {history[9]:.1f}, last extinction {history[-1]:.1f}; tests: "
          + ", ".join(f"{k} {v:.1f}" for k, v in test.items()))
    in_a = active_presses(agent, n, SA + extinction("B") + [{"phase": "extinction", "context": "A"}])
    in_b = active_presses(agent, n, SA + extinction("B") + [{"phase": "extinction", "context": "B"}])[-1]
    print(f"ABA renewal: in B {in_b:.1f}, in A {in_a[-1]:.1f} ({100 * in_a[-1] / in_a[9]:.0f}% of the last FR1)")
    later = [active_presses(agent, n, SA + extinction() + [{"phase": "extinction", "abstinence_days": d}])[-1]
             for d in (1, 7, 21)]
    print("spontaneous recovery, 1 / 7 / 21 days after extinction: " + " / ".join(f"{x:.2f}" for x in later))


if __name__ == "__main__":
    run_script(main)
