"""Outpatient: a person's daily life between clinic visits, an hour a step.

A thin Gymnasium view of `rlcraving.outpatient.PersonBatch` (the chamber's organism in the person's
world): `OutpatientEnv` is one person, `OutpatientVectorEnv` N people stepped as arrays.

## Action space (Discrete(3))

| action | meaning |
|---|---|
| 0 | ordinary activity |
| 1 | seek cocaine (a purchase succeeds with the person's access) |
| 2 | use (if cocaine is at hand) |

Asleep (23:00-07:00) every action is ordinary activity; sedation makes seeking and using fail.

## Observation space (Box(0, 1, (10,), float32))

| index | name | meaning |
|---|---|---|
| 0 | drug_cue | a drug-associated person, place or paraphernalia met this hour |
| 1 | drug_at_hand | cocaine at hand (0/1) |
| 2 | awake | 07:00-23:00 |
| 3 | clinic_day | a visit day (Mon, Wed, Fri) while attending |
| 4 | drug_occupancy | dopamine-transporter occupancy by cocaine |
| 5 | dysphoria | allostatic + stress (KOR) + baclofen-withdrawal dysphoria, d / (1 + d) |
| 6 | incentive | incentive salience of present stimuli, u / (1 + u) |
| 7 | sedation | chance an action fails (baclofen, alcohol) |
| 8 | hour_of_day | hour / 24 |
| 9 | week_time | fraction of the week elapsed |

## Reward

The organism's: hedonic + drug_dopamine + incentive + relief - cost (seeking: `seek_cost`).

## Episodes

A week is an episode (`truncated` after 168 hours). `reset(seed=s)` starts a new person;
`reset()` continues the same life with the next week; `reset(options=...)` sets it: `baclofen`
(a regimen: `OralTID`, `Titration`, `Placebo` = stop), `baclofen_mg_per_day` (three doses a day,
from zero), `attending` (in the clinic's care).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from rlcraving import random as rnd
from rlcraving.checks import (
    check_bool,
    check_keys,
    check_number,
)
from rlcraving.envs.views import SingleView, VectorView, organism_info
from rlcraving.outpatient import (
    ACTION_MEANINGS,
    ADVERSE_EVENTS,
    OBSERVATION_NAMES,
    OutpatientParams,
    PersonBatch,
    PersonOptions,
    human_params,
)
from rlcraving.params import ModelParams
from rlcraving.pharmacology import MAX_MG_PER_DAY, OralTID, Placebo, RatIP, Regimen, Titration

#: Keys accepted by ``reset(options=...)``.
WEEK_OPTIONS = ("baclofen", "baclofen_mg_per_day", "attending")
_GENERATION_STRIDE = 2**32


def as_regimen(name: str, value: Any) -> Regimen:
    """A person's regimen from a regimen object or a daily dose (three doses a day, from zero)."""
    if isinstance(value, (OralTID, Titration, Placebo)):
        return value
    if isinstance(value, RatIP):
        raise ValueError(f"{name}={value!r}: a person takes oral baclofen (OralTID, Titration, Placebo)")
    mg = check_number(name, value, lo=0.0, hi=MAX_MG_PER_DAY)
    return OralTID(mg, at_steady_state=False) if mg > 0 else Placebo()


class Life:
    """Who is in which week: subject generations and week options, shared by both environments."""

    def __init__(self, n: int, *, route: Any, baclofen_mg_per_day: Any, baclofen: Any, alcohol: Any,
                 renal_function: Any, individual_differences: Any, kor_knockout: Any, params: Any, world: Any):
        check_number("num_envs", n, lo=1, hi=10_000_000, integer=True)
        if isinstance(world, Mapping):
            world = OutpatientParams().replace(**world)
        if world is not None and not isinstance(world, OutpatientParams):
            raise TypeError(f"world={world!r} must be an OutpatientParams, a dict of overrides or None")
        world = world or OutpatientParams()
        if isinstance(params, Mapping):
            params = human_params(world).replace(**params)
        if params is not None and not isinstance(params, ModelParams):
            raise TypeError(f"params={params!r} must be a ModelParams, a dict of overrides or None")
        if baclofen is not None and baclofen_mg_per_day:
            raise ValueError(f"baclofen={baclofen!r} and baclofen_mg_per_day={baclofen_mg_per_day!r} were both "
                             "given; give a regimen or a daily dose, not both")
        self.regimen = as_regimen("baclofen", baclofen) if baclofen is not None else \
            as_regimen("baclofen_mg_per_day", baclofen_mg_per_day)
        options = PersonOptions(route=route, alcohol=alcohol, renal_function=renal_function,
                                individual_differences=individual_differences, kor_knockout=kor_knockout)
        self.batch = PersonBatch(int(n), params, options, world)
        self.n, self.seed = int(n), 0
        self.generation = np.zeros(self.n, dtype=np.int64)

    def reset(self, idx: np.ndarray, seed: int | None, options: Mapping[str, Any] | None) -> None:
        """Start the next week of people `idx` (new people with a seed), with `options` checked first."""
        options = {} if options is None else options
        check_keys("options", options, WEEK_OPTIONS)
        if "baclofen" in options and "baclofen_mg_per_day" in options:
            raise ValueError("options gives both 'baclofen' and 'baclofen_mg_per_day'; give one")
        regimen = None
        if "baclofen" in options:
            regimen = as_regimen("options['baclofen']", options["baclofen"])
        elif "baclofen_mg_per_day" in options:
            regimen = as_regimen("options['baclofen_mg_per_day']", options["baclofen_mg_per_day"])
        attending = check_bool("options['attending']", options["attending"]) if "attending" in options else None
        b = self.batch
        if seed is not None:
            self.seed = int(seed)
            self.generation[idx] = 0
            b.new_subjects(idx, rnd.subject_keys(self.seed, self.generation[idx] * _GENERATION_STRIDE + idx))
            b.start_weeks(idx, regimen if regimen is not None else self.regimen, attending=attending)
            return
        b.end_weeks(idx)
        b.start_weeks(idx, regimen, attending=attending)

    def info_arrays(self) -> dict[str, np.ndarray]:
        """Per-step measures, one array over people each."""
        b = self.batch
        info = organism_info(b)
        info["dopamine_gain"] = b.dopamine_gain
        info["withdrawal"] = b.bac_withdrawal
        info["at_hand"] = b.at_hand
        info["uses_this_week"] = b.week_uses
        info["benzoylecgonine_mg"] = b.benzoylecgonine
        info["attending"] = b.attending
        info.update(zip(_ADVERSE_KEYS, b.adverse_columns, strict=True))
        return info


class _People:
    """What a view of people adds to the Gymnasium contract (`views`)."""

    summary_key = "week_summary"
    _batch: PersonBatch

    def _summaries(self) -> dict[str, np.ndarray]:
        return week_summaries(self._batch)

    def _ansi(self, i: int) -> str:
        return ansi(self._batch, i)

    def _rgb(self, i: int) -> np.ndarray:
        return rgb(self._batch, i)


def make_env(**kwargs: Any) -> OutpatientEnv:
    """`gym.make`'s entry point, so that ``render_mode="human"`` is refused when the environment is
    made (see `rlcraving.envs.cocaine_seeking.make_env`)."""
    return OutpatientEnv(**kwargs)


class OutpatientEnv(_People, SingleView):
    """One person between clinic visits (see the module docstring for the spaces).

    Args:
        route: "smoked" or "intranasal" cocaine.
        baclofen_mg_per_day: oral baclofen three times a day, from the first week, from zero (0 = none).
        baclofen: a regimen object instead (`OralTID`, `Titration`, `Placebo`).
        alcohol: the person drinks on some evenings (adds to sedation).
        renal_function: fraction of normal; None draws it per person.
        individual_differences: draw the person's traits (organism and world).
        kor_knockout: remove the kappa-opioid stress pathway.
        params: the organism's `ModelParams` (default `outpatient.human_params`) or a dict of overrides.
        world: `OutpatientParams`, or a dict of overrides.
        render_mode: "ansi" or "rgb_array".
    """

    def __init__(self, *, route: str = "smoked", baclofen_mg_per_day: float = 0.0, baclofen: Regimen | None = None,
                 alcohol: bool = False, renal_function: float | None = None, individual_differences: bool = True,
                 kor_knockout: bool = False, params: ModelParams | Mapping[str, float] | None = None,
                 world: OutpatientParams | Mapping[str, float] | None = None, render_mode: str | None = None):
        self._life = _life(1, locals())
        self._bind(self._life, list(ACTION_MEANINGS), list(OBSERVATION_NAMES), render_mode)

    def _reset_info(self) -> dict[str, Any]:
        return {"week": int(self._batch.weeks_done[0])}

    def _over_message(self) -> str:
        return "the week is over; call reset() to continue with the next"


def _life(n: int, kwargs: Mapping[str, Any]) -> Life:
    """The world of an environment made with `kwargs` (its `__init__`'s locals)."""
    names = ("route", "baclofen_mg_per_day", "baclofen", "alcohol", "renal_function", "individual_differences",
             "kor_knockout", "params", "world")
    return Life(n, **{k: kwargs[k] for k in names})


class OutpatientVectorEnv(_People, VectorView):
    """N people, stepped as arrays (Gymnasium's native VectorEnv); same kwargs plus ``num_envs``.

    Person i of a batch seeded with s is person i of any other batch seeded with s, and the single
    environment seeded with s is person 0. Weeks end together; the next starts in the same step
    (autoreset "same step"; the final observation and the week summary are in `info`).
    """

    def __init__(self, num_envs: int = 1, *, route: str = "smoked", baclofen_mg_per_day: float = 0.0,
                 baclofen: Regimen | None = None, alcohol: bool = False, renal_function: float | None = None,
                 individual_differences: bool = True, kor_knockout: bool = False,
                 params: ModelParams | Mapping[str, float] | None = None,
                 world: OutpatientParams | Mapping[str, float] | None = None, render_mode: str | None = None):
        self._life = _life(num_envs, locals())
        self._bind(self._life, list(ACTION_MEANINGS), list(OBSERVATION_NAMES), render_mode)


#: `info` keys of each person's adverse events this week, one per `ADVERSE_EVENTS`.
_ADVERSE_KEYS = tuple(f"adverse_{name}" for name in ADVERSE_EVENTS)
#: Fields of a week's summary (`info["week_summary"]` at a week's end).
WEEK_SUMMARY = ("uses", "seeking_hours", "urine_tests", "urine_positive", "doses_taken", "doses_missed",
                "attending", *_ADVERSE_KEYS)


def week_summaries(batch: PersonBatch) -> dict[str, np.ndarray]:
    """What each person did this week, and the clinic's measures of it (the person's own urine tests
    at this week's visits, counted as they happen), as one array per field of `WEEK_SUMMARY`."""
    out = {"uses": batch.week_uses, "seeking_hours": batch.week_seeks, "urine_tests": batch.week_tests,
           "urine_positive": batch.week_positive, "doses_taken": batch.doses_taken,
           "doses_missed": batch.missed_doses, "attending": batch.attending}
    out.update(zip(_ADVERSE_KEYS, batch.adverse_columns, strict=True))
    return {k: np.asarray(v, dtype=float).copy() for k, v in out.items()}


def week_summary(batch: PersonBatch, i: int) -> dict[str, float]:
    """`week_summaries` of person `i`, as numbers."""
    return {k: float(v[i]) for k, v in week_summaries(batch).items()}


def ansi(batch: PersonBatch, i: int) -> str:
    """One line of text describing person `i` now."""
    t = float(batch.now_h()[i])
    day, hour = int(t // 24), t % 24
    return (f"[day {day:3d} {'MTWTFSS'[day % 7]} {hour:04.1f} h] cue {'ON ' if batch.cue_left[i] else 'off'} | "
            f"at hand {batch.at_hand[i]:.0f} uses this week {batch.week_uses[i]:.0f} | "
            f"occupancy {batch.occupancy[i]:.2f} dysphoria {batch.dysphoria[i]:.2f} "
            f"incentive {batch.incentive[i]:.2f} | baclofen {float(batch.baclofen_mg_per_l[i]):.2f} mg/L "
            f"{'attending' if batch.attending[i] else 'dropped out'}\n")


def rgb(batch: PersonBatch, i: int) -> np.ndarray:
    """A 120 x 200 RGB picture: the hour as sky, a cue marker, and bars for occupancy, dysphoria,
    incentive and baclofen."""
    img = np.zeros((120, 200, 3), dtype=np.uint8)
    hour = float(batch.now_h()[i] % 24)
    light = 0.5 - 0.5 * np.cos(2 * np.pi * hour / 24.0)
    img[:] = (int(30 + 170 * light), int(40 + 170 * light), int(80 + 150 * light))
    if batch.cue_left[i]:
        img[8:28, 10:30] = (255, 200, 0)
    if batch.at_hand[i] >= 1:
        img[8:28, 40:60] = (240, 240, 240)
    conc = float(batch.baclofen_mg_per_l[i])
    for row, value, colour in ((50, batch.occupancy[i], (220, 60, 60)),
                               (65, batch.dysphoria[i] / (1 + batch.dysphoria[i]), (120, 60, 160)),
                               (80, batch.incentive[i] / (1 + batch.incentive[i]), (230, 140, 30)),
                               (95, conc / (conc + batch.params.baclofen_ec50_mg_per_l), (60, 160, 90))):
        img[row:row + 10, 10:190] = (40, 40, 40)
        img[row:row + 10, 10:10 + int(180 * float(np.clip(value, 0, 1)))] = colour
    return img
