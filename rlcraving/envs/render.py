"""Pictures and text of one subject's chamber (for `render_mode` "rgb_array" and "ansi")."""

from __future__ import annotations

import numpy as np

from rlcraving.chamber import levers_presented

_CONTEXT_COLOURS = {0: (200, 200, 205), 1: (205, 190, 160), 2: (170, 200, 180)}  # A grey, B sand, C green
_RETRACTED = (50, 50, 50)   # a retracted lever: its slot in the wall


def ansi(batch, i: int, phase: str) -> str:
    """One line of text describing subject `i` now."""
    s = batch.summary
    minutes = batch.step_index[i] * batch.params.dt_s / 60.0
    return (f"[{phase} ctx {'ABC'[batch.context[i]]} t={minutes:6.1f} min] "
            f"cue {'ON ' if batch.cue_left[i] > 0 else 'off'} | active {int(s['active_presses'][i])} "
            f"inactive {int(s['inactive_presses'][i])} infusions {int(s['infusions'][i])} | "
            f"occupancy {batch.occupancy[i]:.2f} dysphoria {batch.dysphoria[i]:.2f} "
            f"incentive {batch.incentive[i]:.2f} baclofen gain {float(batch.dopamine_gain[i]):.2f}\n")


def rgb(batch, i: int) -> np.ndarray:
    """A 120 x 200 RGB picture of the chamber: levers, cue lights and three interoceptive bars. In a
    discrete-trials session a lever not presented now is drawn retracted (a thin dark slot)."""
    img = np.zeros((120, 200, 3), dtype=np.uint8)
    img[:] = _CONTEXT_COLOURS[int(batch.context[i])]
    img[5:15, 10:190] = (255, 250, 210) if batch.timeout_left[i] == 0 else (60, 60, 60)  # house light
    _disc(img, 30, 45, 8, (255, 220, 0) if batch.cue_left[i] > 0 else (90, 80, 40))      # drug cue light
    drug, sucrose, inactive = True, True, True
    if batch.discrete[i]:   # levers are presented trial by trial; the inactive lever never is
        drug, sucrose = levers_presented(int(batch.step_index[i]), batch._trials[i])
        inactive = False
    _lever(img, 30, (40, 40, 160), drug)                                                  # active lever
    _lever(img, 80, (110, 110, 110), inactive)                                            # inactive lever
    if batch.sucrose_available[i]:
        _disc(img, 30, 145, 8, (80, 200, 255) if batch.sucrose_cue_left[i] > 0 else (40, 70, 90))
        _lever(img, 130, (30, 130, 60), sucrose)
    for row, value, colour in ((80, batch.occupancy[i], (220, 60, 60)),
                               (93, batch.dysphoria[i] / (1 + batch.dysphoria[i]), (120, 60, 160)),
                               (106, batch.incentive[i] / (1 + batch.incentive[i]), (230, 140, 30))):
        img[row:row + 8, 10:190] = (40, 40, 40)
        img[row:row + 8, 10:10 + int(180 * float(np.clip(value, 0, 1)))] = colour
    return img


def _lever(img: np.ndarray, x: int, colour: tuple[int, int, int], presented: bool) -> None:
    if presented:
        img[55:62, x:x + 30] = colour
    else:
        img[57:60, x:x + 30] = _RETRACTED


def _disc(img: np.ndarray, cy: int, cx: int, r: int, colour: tuple[int, int, int]) -> None:
    yy, xx = np.ogrid[: img.shape[0], : img.shape[1]]
    img[(yy - cy) ** 2 + (xx - cx) ** 2 <= r * r] = colour
