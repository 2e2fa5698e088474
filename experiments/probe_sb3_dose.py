"""FR1 intake against unit dose for a stable-baselines3 agent with the library's defaults, through gym.make.

    python experiments/probe_sb3_dose.py [ALGO] [SUBJECTS] [SESSIONS]      (defaults: PPO 8 15; seed 0)

Each unit dose (0.25, 0.5, 0.75, 1.5 mg/kg) trains a fresh agent on `SUBJECTS` environments made by
`make_vec_env("rlcraving/CocaineSeeking-v0")` for `SESSIONS` daily 1-h FR1 sessions, with the
environment's compulsion zone off (its default) and on. Prints the infusions per session and the
active presses the agent chose itself, means over the last 3 sessions, and the log-log slope of
infusions on dose (Pickens & Thompson 1968: near -1; Tsibulsky & Norman 1999's equation: -0.83).
docs/sb3.md reports its output.
"""

from __future__ import annotations

import numpy as np

from rlcraving.cli import run_script

UNIT_DOSES = (0.25, 0.5, 0.75, 1.5)
SEED = 0


def last_sessions(algo: str, subjects: int, sessions: int, dose: float, zone: bool) -> tuple[float, float]:
    """(infusions, own active presses) per session, means over the last 3 sessions and the subjects."""
    import stable_baselines3
    import torch
    from stable_baselines3.common.callbacks import BaseCallback
    from stable_baselines3.common.env_util import make_vec_env

    import rlcraving  # noqa: F401  (registers the environment)

    torch.set_num_threads(1)
    calendar = [{"phase": "self_administration", "days": sessions + 1, "unit_dose_mg_per_kg": dose}]
    venv = make_vec_env("rlcraving/CocaineSeeking-v0", n_envs=subjects, seed=SEED,
                        env_kwargs={"calendar": calendar, "compulsion_zone": zone})
    model = getattr(stable_baselines3, algo)("MlpPolicy", venv, seed=SEED, device="cpu")
    summaries: list[dict[str, float]] = []
    own = np.zeros(subjects)

    class Sessions(BaseCallback):
        def _on_step(self) -> bool:
            own[:] += np.asarray(self.locals["actions"]).ravel() == 1
            for i, info in enumerate(self.locals["infos"]):
                if "session_summary" in info:
                    summaries.append({**info["session_summary"], "own_active": float(own[i])})
                    own[i] = 0.0
            return True

    model.learn(sessions * 900 * subjects, callback=Sessions())
    last = summaries[-3 * subjects:]
    return (float(np.mean([s["infusions"] for s in last])), float(np.mean([s["own_active"] for s in last])))


def main(algo: str = "PPO", subjects: int = 8, sessions: int = 15) -> None:
    for zone in (False, True):
        results = [last_sessions(algo, subjects, sessions, d, zone) for d in UNIT_DOSES]
        infusions = np.array([r[0] for r in results])
        slope = np.polyfit(np.log(UNIT_DOSES), np.log(np.maximum(infusions, 1e-9)), 1)[0]
        cells = [f"{d:g} mg/kg {i:.1f} infusions ({o:.1f} own active)"
                 for d, (i, o) in zip(UNIT_DOSES, results, strict=True)]
        print(f"{algo}, compulsion_zone={zone}: " + "; ".join(cells) + f"; log-log slope {slope:.2f}", flush=True)


if __name__ == "__main__":
    run_script(main)
