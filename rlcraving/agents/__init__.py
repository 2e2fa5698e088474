"""Agents that learn to seek cocaine: hand-written TD agents batched over a cohort.

`run_cohort` runs a cohort of one agent kind through a protocol calendar and returns tidy
tables; `AGENTS` names the kinds (q_learning, sarsa, actor_critic, redish, dezfouli). See
docs/agents.md for the update rules, features and parameters.
"""

from rlcraving.agents.cohort import CohortResult, run_cohort, run_cohort_arms
from rlcraving.agents.td import (
    AGENTS,
    SARSA,
    ActorCritic,
    AgentParameter,
    Dezfouli,
    QLearning,
    Redish,
    TDAgent,
    describe_parameters,
    make_agent,
)

__all__ = ["AGENTS", "SARSA", "ActorCritic", "AgentParameter", "CohortResult", "Dezfouli", "QLearning", "Redish",
           "TDAgent", "describe_parameters", "make_agent", "run_cohort", "run_cohort_arms"]
