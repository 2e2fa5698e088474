"""The headline in a stable-baselines3 agent: PPO's cue test under baclofen."""

from __future__ import annotations

import numpy as np

from rlcraving.pharmacology import RatIP
from rlcraving.validation.protocols import (
    acquisition,
    diff_ci,
    extinction,
    mean_ci,
    monotone_down,
    per_subject,
    rows,
    test_session,
)
from rlcraving.validation.unit import Config, Measurement, Phenomenon, register

SB3_SUBJECTS, SB3_SEEDS, SB3_DOSES = 32, (0, 1), (0.0, 2.5, 5.0)
#: Tolerance of the monotone fall over doses.
MONOTONE_TOLERANCE = 0.05


def protocol(cfg: Config) -> Measurement:
    """PPO cohorts of two seeds through SA, extinction and a cue test at three baclofen doses.

    The subjects of one seed share one policy, so the unit of replication is the seed: each
    seed's policy is identical up to the test in every dose arm (same seed, same history).
    """
    from rlcraving.agents.sb3 import run_sb3_cohort

    calendar = acquisition() + extinction()
    per_dose: dict[float, list[np.ndarray]] = {d: [] for d in SB3_DOSES}
    for seed in SB3_SEEDS:
        for dose in SB3_DOSES:
            r = run_sb3_cohort(SB3_SUBJECTS, calendar + test_session("cue_reinstatement", baclofen=RatIP(dose)),
                               seed=seed)
            per_dose[dose].append(per_subject(r, "active_presses", -1))
    control = [per_subject(run_sb3_cohort(SB3_SUBJECTS, calendar + test_session("extinction"), seed=seed),
                           "active_presses", -1) for seed in SB3_SEEDS]
    values = [np.concatenate(per_dose[d]) for d in SB3_DOSES]
    seed_drops = [per_dose[SB3_DOSES[-1]][k].mean() - per_dose[0.0][k].mean() for k in range(len(SB3_SEEDS))]
    reinstated = np.concatenate(per_dose[0.0]).mean() > np.concatenate(control).mean()
    est = diff_ci(values[0], values[-1], cfg.seed)
    detail = (f"PPO, {SB3_SUBJECTS} subjects x seeds {list(SB3_SEEDS)}; cue-test active presses "
              + ", ".join(f"{d:g} mg/kg {mean_ci(v, cfg.seed)}" for d, v in zip(SB3_DOSES, values, strict=True))
              + f"; extinction control {mean_ci(np.concatenate(control), cfg.seed)}; change at "
              f"{SB3_DOSES[-1]:g} mg/kg per seed: {', '.join(f'{x:+.1f}' for x in seed_drops)} (intervals are "
              "over subjects, who share a policy within a seed: read them with the per-seed changes)")
    return Measurement(f"cue-test presses, {SB3_DOSES[-1]:g} mg/kg minus placebo", est,
                       bool(reinstated and all(x < 0 for x in seed_drops)),
                       monotone_down([v.mean() for v in values], tolerance=MONOTONE_TOLERANCE), detail,
                       rows(**{f"{d:g}": v for d, v in zip(SB3_DOSES, values, strict=True)},
                            control=np.concatenate(control)),
                       n_subjects=SB3_SUBJECTS * len(SB3_SEEDS),
                       y_label="active presses in the cue test")


UNIT = register(Phenomenon(
    key="headline_ppo", title="Baclofen lowers cue-induced reinstatement in a PPO agent",
    paper="Campbell et al. 1999; Di Ciano & Everitt 2003",
    paper_effect="cue-induced reinstatement falls with dose (here in a stable-baselines3 PPO agent)",
    paper_size="as the TD row of baclofen and relapse: cue-controlled seeking falls with baclofen dose "
               "(Di Ciano & Everitt 2003)",
    criterion=f"direction: the cue test exceeds the extinction control and each seed's change at "
              f"{SB3_DOSES[-1]:g} mg/kg is negative; size: dose means fall monotonically "
              f"({100 * MONOTONE_TOLERANCE:.0f}% tolerance)",
    protocol=protocol, sb3=True))
