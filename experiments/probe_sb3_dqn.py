"""Inside library-default DQN trained to criterion through gym.make, as the default_sb3 row trains it.

    python experiments/probe_sb3_dqn.py [SUBJECTS] [MAX_SA] [MAX_EXTINCTION] [DQN_KWARGS_JSON]
                                                 (defaults: 4 15 12 '{}'; seed 0)

`SUBJECTS` environments from `make_vec_env("rlcraving/CocaineSeeking-v0")`, `DQN("MlpPolicy", env)` with
`DQN_KWARGS_JSON` (e.g. '{"buffer_size": 3600}') over SB3's defaults, trained by
`rlcraving.agents.sb3.train_to_criterion` (one ``learn`` call; the row's criterion with its maxima replaced
by `MAX_SA` FR1 and `MAX_EXTINCTION` extinction sessions, and `exploration_fraction` set so that epsilon reaches
its floor after 9 sessions, as in the row, unless given), then an extinction test and a stress test from
copies, as the row. Per session: the exploration rate, gradient steps so far, active / inactive presses and
infusions, the presses the agent chose itself, the share of steps where its greedy action is the active or the
inactive lever, and its Q-values at the session's observations (Q(other), Q(active) - Q(other),
Q(inactive) - Q(other), means). Per test, the same in 5-min bins with the dysphoria observation.
docs/sb3.md reports its output.
"""

from __future__ import annotations

import copy
from typing import Any

import numpy as np

from rlcraving.cli import run_script

SEED = 0
STEPS = 900   # one 1-h session of 4-s steps
#: Sessions after which epsilon reaches its floor in the default_sb3 row (10% of the 60 + 30 allowed).
ROW_FLOOR_SESSIONS = 9.0


def _probe(n: int, tag: str, bins: bool = False) -> Any:
    """An SB3 callback printing one line per session (and 5-min bins with `bins`)."""
    import torch
    from stable_baselines3.common.callbacks import BaseCallback

    class Probe(BaseCallback):
        def __init__(self) -> None:
            super().__init__()
            self.obs: list[np.ndarray] = []
            self.chosen: list[np.ndarray] = []
            self.sessions = 0

        def _on_step(self) -> bool:
            self.obs.append(np.array(self.model._last_obs))
            self.chosen.append(np.asarray(self.locals["actions"]).ravel())
            infos = self.locals["infos"]
            if not all("session_summary" in i for i in infos):
                return True
            obs, chosen = np.stack(self.obs), np.stack(self.chosen)   # (steps, subjects, ...)
            with torch.no_grad():
                q = self.model.q_net(torch.as_tensor(obs.reshape(-1, obs.shape[-1]))).numpy().reshape(*chosen.shape, -1)
            greedy = q.argmax(-1)
            mean = {k: np.mean([i["session_summary"][k] for i in infos])
                    for k in ("active_presses", "inactive_presses", "infusions")}
            phase = infos[0]["session_summary"]["phase"]
            print(f"{tag} {self.sessions:2d} {phase:<22} eps {self.model.exploration_rate:.3f} "
                  f"updates {self.model._n_updates:6d}  active {mean['active_presses']:6.1f} inactive "
                  f"{mean['inactive_presses']:6.1f} infusions {mean['infusions']:5.1f}  "
                  f"chosen {(chosen == 1).sum() / n:6.1f} / {(chosen == 2).sum() / n:6.1f}  "
                  f"greedy {(greedy == 1).mean():.3f} / {(greedy == 2).mean():.3f}  "
                  f"Q(o) {q[..., 0].mean():+.3f} Q(a)-Q(o) {(q[..., 1] - q[..., 0]).mean():+.3f} "
                  f"Q(i)-Q(o) {(q[..., 2] - q[..., 0]).mean():+.3f}", flush=True)
            for b in range(0, len(chosen), 75) if bins else ():
                s = slice(b, b + 75)
                print(f"    min {b * 4 // 60:2d}-{(b + 75) * 4 // 60:2d}: dysphoria {obs[s, :, 7].mean():.3f} "
                      f"chosen active {(chosen[s] == 1).mean():.2f} inactive {(chosen[s] == 2).mean():.2f}  Q(a)-Q(o) "
                      f"{(q[s, :, 1] - q[s, :, 0]).mean():+.3f} Q(i)-Q(o) {(q[s, :, 2] - q[s, :, 0]).mean():+.3f}")
            self.obs, self.chosen, self.sessions = [], [], self.sessions + 1
            return True

    return Probe()


def main(n: int = 4, max_sa: int = 15, max_extinction: int = 12, kwargs: dict[str, Any] | None = None) -> None:
    import torch
    from stable_baselines3 import DQN
    from stable_baselines3.common.env_util import make_vec_env

    import rlcraving  # noqa: F401  (registers the environment)
    from rlcraving.agents.sb3 import learn_sessions, train_to_criterion
    from rlcraving.criterion import CRITERION

    torch.set_num_threads(1)
    criterion = CRITERION.__class__(min_sa=min(CRITERION.min_sa, max_sa), max_sa=max_sa,
                                    stable_sessions=min(CRITERION.stable_sessions, max_sa),
                                    min_extinction=min(CRITERION.min_extinction, max_extinction),
                                    max_extinction=max_extinction,
                                    extinguished_sessions=min(CRITERION.extinguished_sessions, max_extinction))
    venv = make_vec_env("rlcraving/CocaineSeeking-v0", n_envs=n, seed=SEED, env_kwargs={
        "calendar": [{"phase": "self_administration", "days": max_sa + max_extinction + 1}]})
    # epsilon reaches its floor after as many sessions as in the row (10% of its 90 sessions allowed)
    kwargs = {"exploration_fraction": ROW_FLOOR_SESSIONS / (max_sa + max_extinction), **(kwargs or {})}
    model = DQN("MlpPolicy", venv, seed=SEED, device="cpu", **kwargs)
    run = train_to_criterion(model, criterion=criterion, extinction={"context": "A"}, callback=_probe(n, "train"))
    done = run.experimenter
    print(f"acquisition criterion met after: {done.acquired_after}; extinction criterion met after: "
          f"{done.extinguished_after}; target network updated every {max(model.target_update_interval // n, 1)} "
          f"steps ({model.target_update_interval / n / STEPS:.2f} sessions)")
    for phase in ("extinction", "stress_reinstatement"):
        env = copy.deepcopy(venv)
        agent = copy.deepcopy(model)   # with its replay memory
        env.set_options({"phase": phase})
        first = env.reset()
        agent.set_env(env, force_reset=False)
        agent._last_obs = first
        learn_sessions(agent, STEPS * n, callback=_probe(n, phase, bins=True))


if __name__ == "__main__":
    run_script(main)
