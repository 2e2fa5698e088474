"""In-silico trials of oral baclofen in the person's world, run as the papers ran them.

A trial (`TrialDesign`, from a YAML file in experiments/) follows people through untreated
life (`history_weeks`, the TD agent learning what cocaine is worth to it), a baseline with urine
tests three times a week (`baseline_weeks`), screening (everyone, or severe users only), and
randomisation to baclofen or placebo for `treatment_weeks`. The outcome is analysed as the paper
did: GEE (statsmodels, binomial, exchangeable correlation within a person) on the urines, the
number of benzoylecgonine-free urines (missing urines after dropout count as not free), and the
subgroup by baseline use. `run_trials` runs many trials of one design at once (one batch of all
their people) and gives each trial's estimate and p value: the in-silico power.
"""

from __future__ import annotations

import dataclasses
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from rlcraving.agents.td import AGENTS, make_agent
from rlcraving.checks import check_bool, check_choice, check_keys, check_number
from rlcraving.files import save_figure
from rlcraving.outpatient import ROUTES, OutpatientParams, PersonBatch, PersonOptions
from rlcraving.pharmacology import OralTID, Regimen, Titration
from rlcraving.random import subject_keys
from rlcraving.stats import finite_mean

OUTCOMES = ("negative_urines", "confirmed_abstinent_weeks")
#: A GEE treatment log odds beyond this (odds ratio e^10) is a diverged fit, reported as missing.
MAX_LOG_ODDS = 10.0
ELIGIBILITY = ("any", "severe")
#: The first reward components (organism.REWARD_COMPONENTS) of an hour with a use, recorded per person
#: over the treatment weeks: baclofen's gain scales the dopamine and (through kappa) incentive terms only.
USE_REWARD = ("hedonic", "dopamine", "incentive", "relief")
#: TrialDesign.agent names that are stable-baselines3 algorithms (`rlcraving.agents.sb3.ALGORITHMS`).
SB3_AGENTS = ("PPO", "A2C", "DQN", "RecurrentPPO")
#: The person's TD agent: what differs from the rat's defaults, and why.
PERSON_AGENT_PARAMS: dict[str, float] = {
    # chosen: a person weighs the next hours (the drug a purchase brings arrives an hour later),
    # not the rat's seconds; cocaine users discount steeply (Coffey et al. 2003), so hours, not days
    "discount_time_s": 3 * 3600.0,
    # chosen: with equal values, ordinary activity is ten times as likely as seeking or using an hour
    "operant_presses_per_h": 0.1,
    # the person's world keeps separate action values (docs/agents.md, value_sharing): sharing the
    # state's value was measured in the chamber only, and the trial rows were not re-run with it
    "value_sharing": 0.0,
}


@dataclass(frozen=True)
class TrialDesign:
    """A randomised trial of baclofen vs placebo in the person's world."""

    name: str
    paper: str = ""
    n_randomised: int = 70
    history_weeks: int = 12
    baseline_weeks: int = 2
    treatment_weeks: int = 16
    baclofen: Regimen = field(default_factory=lambda: Titration(target_mg_per_day=60.0))
    eligibility: str = "any"
    screen_factor: int = 1
    outcome: str = "negative_urines"
    route: str = "smoked"
    alcohol: bool = False
    agent: str = "q_learning"
    agent_params: Mapping[str, float] = field(default_factory=dict)
    algo_kwargs: Mapping[str, Any] = field(default_factory=dict)
    world: Mapping[str, float] = field(default_factory=dict)
    trials: int = 100
    scales: tuple[int, ...] = (1, 10)

    def __post_init__(self) -> None:
        check_number("n_randomised", self.n_randomised, lo=4, hi=100_000, integer=True)
        for name in ("history_weeks", "baseline_weeks", "treatment_weeks"):
            check_number(name, getattr(self, name), lo=1 if name != "history_weeks" else 0, hi=520, integer=True)
        check_choice("eligibility", self.eligibility, ELIGIBILITY)
        check_number("screen_factor", self.screen_factor, lo=1, hi=100, integer=True)
        check_choice("outcome", self.outcome, OUTCOMES)
        check_choice("route", self.route, ROUTES)
        check_bool("alcohol", self.alcohol)
        check_choice("agent", self.agent, (*AGENTS, *SB3_AGENTS))
        for name in ("agent_params", "algo_kwargs"):
            if not isinstance(getattr(self, name), Mapping):
                raise TypeError(f"{name}={getattr(self, name)!r} must be a mapping of names to values")
        if self.agent in SB3_AGENTS:
            if self.agent_params:
                raise ValueError(f"agent_params={dict(self.agent_params)!r} are a TD agent's; agent={self.agent!r} "
                                 "is a stable-baselines3 algorithm: give its settings as algo_kwargs")
            from rlcraving.agents.sb3 import check_algo_kwargs

            check_algo_kwargs(self.agent, self.algo_kwargs)
        elif self.algo_kwargs:
            raise ValueError(f"algo_kwargs={dict(self.algo_kwargs)!r} are a stable-baselines3 algorithm's; "
                             f"agent={self.agent!r} is a TD agent: give its parameters as agent_params")
        check_number("trials", self.trials, lo=1, hi=100_000, integer=True)
        for scale in self.scales:
            check_number("scales[]", scale, lo=1, hi=1000, integer=True)
        if not isinstance(self.baclofen, (OralTID, Titration)):
            raise TypeError(f"baclofen={self.baclofen!r} must be an oral regimen (OralTID or Titration)")
        OutpatientParams().replace(**self.world)   # validates the overrides

    @property
    def weeks(self) -> int:
        return self.history_weeks + self.baseline_weeks + self.treatment_weeks


def is_trial_design(path: str | Path) -> bool:
    """Whether a YAML file in experiments/ is a trial design (it names `n_randomised`), not a study spec."""
    import yaml

    data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    return isinstance(data, Mapping) and "n_randomised" in data


def load_trial(path: str | Path) -> TrialDesign:
    """A `TrialDesign` from a YAML file (keys: the fields of `TrialDesign`; baclofen as
    ``{titration: {target_mg_per_day: 60}}`` or ``{oral_tid: {mg_per_day: 60}}``)."""
    import yaml

    text = Path(path).read_text(encoding="utf-8")
    data = yaml.safe_load(text)
    if not isinstance(data, Mapping):
        raise ValueError(f"{path}: a trial file is a mapping of TrialDesign fields, got {type(data).__name__}")
    check_keys(f"{path}", data, [f.name for f in dataclasses.fields(TrialDesign)])
    data = dict(data)
    if "baclofen" in data:
        data["baclofen"] = _regimen(data["baclofen"])
    if "scales" in data:
        data["scales"] = tuple(data["scales"])
    if "name" not in data:
        data["name"] = Path(path).stem
    return TrialDesign(**data)


def _regimen(spec: Any) -> Regimen:
    kinds = {"titration": Titration, "oral_tid": lambda **kw: OralTID(at_steady_state=False, **kw)}
    if not isinstance(spec, Mapping) or len(spec) != 1 or next(iter(spec)) not in kinds:
        raise ValueError(f"baclofen={spec!r} must be one of {{titration: {{...}}}} or {{oral_tid: {{...}}}}")
    kind, kwargs = next(iter(spec.items()))
    check_keys(f"baclofen.{kind}", kwargs or {}, [f.name for f in dataclasses.fields(
        Titration if kind == "titration" else OralTID) if f.name not in ("route", "at_steady_state")])
    return kinds[kind](**(kwargs or {}))


@dataclass
class TrialResults:
    """Many trials of one design: one row per trial (`trials`), every urine of the first (`urines`)
    and its people (`people`: arm, baseline positive share, heavier user, outcome, retained to the
    end, and over the treatment weeks uses per week, mean baclofen dopamine gain (1 = none) and
    dysphoria, the mean reward components of an hour with a use (`USE_REWARD`); access and
    adherence, their traits)."""

    design: TrialDesign
    scale: int
    trials: pd.DataFrame
    urines: pd.DataFrame
    people: pd.DataFrame = field(default_factory=pd.DataFrame)

    def power(self, alpha: float = 0.05) -> float:
        """Share of trials whose GEE treatment effect has p < alpha in the direction of benefit."""
        t = self.trials
        return float(((t["gee_p"] < alpha) & (t["gee_log_odds"] > 0)).mean())


def person_discount(world: OutpatientParams) -> float:
    """Per-step discount of an SB3 person (gamma): the TD person's time constant,
    `PERSON_AGENT_PARAMS["discount_time_s"]`, at the world's step (3 h at 1 h steps: 0.72)."""
    return float(np.exp(-3600.0 * world.dt_h / PERSON_AGENT_PARAMS["discount_time_s"]))


class TrialLife:
    """The people of many trials of one design and what the protocol does to them, week by week.

    Shared by every kind of agent (one code path): whoever chooses the actions steps `batch` an hour
    at a time and calls `after_step`; when the week ends, `next_week` (end it, start the next) and
    `enter_stage` (enrolment after `history_weeks`, screening and randomisation after the baseline).
    `result` analyses the urines as the paper did. The TD driver is `run_trials`; the SB3 one is
    `rlcraving.agents.sb3.live_sb3_trial`. The people are trials `first_trial` ... `first_trial +
    n_trials - 1` of the seed's: trial t has the same people whichever trials share its batch.
    """

    def __init__(self, design: TrialDesign, n_trials: int, scale: int, seed: int, first_trial: int = 0):
        self.design, self.n_trials, self.scale, self.seed = design, n_trials, scale, seed
        self.first_trial = check_number("first_trial", first_trial, lo=0, hi=100_000, integer=True)
        self.n_per_trial = design.n_randomised * scale
        self.screened = self.n_per_trial * design.screen_factor
        n = self.n = n_trials * self.screened
        world = OutpatientParams().replace(**design.world)
        self.batch = batch = PersonBatch(n, options=PersonOptions(route=design.route, alcohol=design.alcohol),
                                         world=world)
        self.everyone = np.arange(n)
        # trial t's people are the same whichever trials share the batch with it
        batch.new_subjects(self.everyone, subject_keys(seed, first_trial * self.screened + self.everyone))
        batch.start_weeks(self.everyone, attending=False)
        self.week = 0                # weeks lived
        self.recording = False
        # per person over the treatment weeks: uses, hours, dopamine gain and dysphoria summed (the mechanism)
        self.during = {"uses": np.zeros(n), "gain": np.zeros(n), "dysphoria": np.zeros(n), "hours": 0,
                       "use_hours": np.zeros(n), "reward": np.zeros((n, len(USE_REWARD)))}
        self.arm = np.full(n, -1)
        self.baseline_positive = np.full(n, np.nan)
        self._baseline_from = self._treatment_from = 0

    @property
    def finished(self) -> bool:
        """Every week of the design has been lived."""
        return self.week >= self.design.weeks

    def after_step(self) -> None:
        """An hour has been stepped: add it to the treatment weeks' record."""
        if not self.recording:
            return
        batch, during = self.batch, self.during
        during["gain"] += batch.dopamine_gain
        during["dysphoria"] += batch.dysphoria
        during["hours"] += 1
        rise = batch._components[:, 0] > 0.0          # an hour with a use: the components of its reward
        during["use_hours"] += rise
        during["reward"][rise] += batch._components[rise, : len(USE_REWARD)]

    def next_week(self) -> None:
        """The week has ended for everyone: record it and start the next."""
        if self.recording:
            self.during["uses"] += self.batch.week_uses
        self.batch.end_weeks(self.everyone)
        self.batch.start_weeks(self.everyone)
        self.week += 1

    def enter_stage(self) -> None:
        """What the protocol does at the start of this week: enrolment, then randomisation."""
        d, batch = self.design, self.batch
        if self.week == d.history_weeks:
            batch.attending[:] = True                      # enrolment: the baseline's urines
            batch.record_visits = True
            self._baseline_from = len(batch.visits)
        if self.week == d.history_weeks + d.baseline_weeks:
            self._randomise()
            self._treatment_from = len(batch.visits)
            self.recording = True

    def _randomise(self) -> None:
        d, batch = self.design, self.batch
        base = _visit_matrix(batch.visits[self._baseline_from:])
        tested = base["tested"].sum(axis=0)
        self.baseline_positive = np.where(tested > 0, (base["positive"] & base["tested"]).sum(axis=0)
                                          / np.maximum(tested, 1), np.nan)
        # screening and randomisation, per trial
        arm = self.arm
        rng = np.random.default_rng(self.seed if self.first_trial == 0 else [self.seed, self.first_trial])
        for t in range(self.n_trials):
            block = np.arange(t * self.screened, (t + 1) * self.screened)
            eligible = block[batch.attending[block] & np.isfinite(self.baseline_positive[block])]
            if d.eligibility == "severe":
                eligible = eligible[self.baseline_positive[eligible] >= 1.0]
            chosen = eligible[: self.n_per_trial]
            order = rng.permutation(chosen.size)
            arm[chosen[order[: chosen.size // 2]]] = 1
            arm[chosen[order[chosen.size // 2:]]] = 0
        batch.attending[arm < 0] = False
        treated = np.flatnonzero(arm == 1)
        batch.assign_regimen(treated, d.baclofen, batch.now_h()[treated])

    def result(self) -> TrialResults:
        """Each trial's outcome, analysed as the paper did; the first trial's urines and people."""
        if not self.finished:
            raise RuntimeError(f"the trial's people have lived {self.week} of {self.design.weeks} weeks")
        d, batch, during, arm, base = self.design, self.batch, self.during, self.arm, self.baseline_positive
        urines = _visit_matrix(batch.visits[self._treatment_from:])
        rows = []
        for t in range(self.n_trials):
            block = np.arange(t * self.screened, (t + 1) * self.screened)
            people = block[arm[block] >= 0]
            summary, per_person, heavy = _analyse(d, urines, people, arm[people], base[people])
            rows.append({"trial": t, **summary})
            if t == 0:
                first = pd.DataFrame({"person": people, "arm": np.where(arm[people] == 1, "baclofen", "placebo"),
                                      "baseline_positive": base[people], "heavy": heavy,
                                      "outcome": per_person, "retained": urines["tested"][-1, people],
                                      "uses_per_week": during["uses"][people] / d.treatment_weeks,
                                      "dopamine_gain": during["gain"][people] / during["hours"],
                                      "dysphoria": during["dysphoria"][people] / during["hours"],
                                      "access": batch.access[people], "adherence": batch.adherence[people],
                                      **{f"reward_{name}": during["reward"][people, k] / np.maximum(
                                          during["use_hours"][people], 1) for k, name in enumerate(USE_REWARD)}})
        return TrialResults(d, self.scale, pd.DataFrame(rows), _urine_table(urines, first["person"].to_numpy(), arm,
                                                                             base), first)


def run_trials(design: TrialDesign, n_trials: int | None = None, *, scale: int = 1, seed: int = 0) -> TrialResults:
    """Run `n_trials` (default `design.trials`) trials of `design` at `scale` times its sample size.

    The people's agent is `design.agent`: a TD agent, one per person (`rlcraving.agents.td`; all
    trials' people in one batch), or a stable-baselines3 algorithm (`SB3_AGENTS`): one policy per
    trial, shared by its people (`rlcraving.agents.sb3.live_sb3_trial`, seeded seed + trial), so that
    trials stay independent; trial t has the same people either way."""
    n_trials = check_number("n_trials", design.trials if n_trials is None else n_trials, lo=1, hi=100_000,
                            integer=True)
    check_number("scale", scale, lo=1, hi=1000, integer=True)
    if design.agent in SB3_AGENTS:
        return _run_sb3_trials(design, n_trials, scale, seed)
    life = TrialLife(design, n_trials, scale, seed)
    batch, everyone = life.batch, life.everyone
    person = {k: v for k, v in PERSON_AGENT_PARAMS.items() if k in AGENTS[design.agent].PARAMETERS}
    agent = make_agent(design.agent, batch, {**person, **design.agent_params},
                       individual_differences=True)
    agent.new_subjects(everyone)
    agent.begin(everyone)
    life.enter_stage()
    while not life.finished:
        for _ in range(batch.n_steps[0]):
            obs, reward, terminated, truncated = batch.step(agent.actions)
            agent.learn(obs, reward, terminated | truncated)
            life.after_step()
        life.next_week()
        agent.begin(everyone)
        life.enter_stage()
    return life.result()


def _run_sb3_trials(design: TrialDesign, n_trials: int, scale: int, seed: int) -> TrialResults:
    """`run_trials` with an SB3 person: each trial its own people and policy, one after another."""
    from rlcraving.agents.sb3 import live_sb3_trial

    first, rows = None, []
    for t in range(n_trials):
        life = TrialLife(design, 1, scale, seed, first_trial=t)
        live_sb3_trial(life, design.agent, design.algo_kwargs, seed=seed + t)
        result = life.result()
        rows.append(result.trials.assign(trial=t))
        if first is None:
            first = result
    assert first is not None
    return TrialResults(design, scale, pd.concat(rows, ignore_index=True), first.urines, first.people)


def baclofen_reach(people: pd.DataFrame) -> pd.Series:
    """Per person (`TrialResults.people`), the share of a use's reward that baclofen's gain scales:
    the dopamine and incentive terms over the sum of `USE_REWARD` (NaN for a person with no use)."""
    total = people[[f"reward_{k}" for k in USE_REWARD]].sum(axis=1)
    return (people["reward_dopamine"] + people["reward_incentive"]) / total.where(total > 0)


def _visit_matrix(visits: list[dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    """Visits x people matrices: tested (a visit while attending), positive, self-reported use."""
    tested = np.array([v["attending"] for v in visits])
    return {"tested": tested, "positive": np.array([v["urine_positive"] for v in visits]),
            "reported": np.array([v["self_report_use"] for v in visits]),
            "craving": np.array([v["craving"] for v in visits]), "hour": np.array([v["hour"] for v in visits])}


def _urine_table(urines: dict[str, np.ndarray], people: np.ndarray, arm: np.ndarray,
                 baseline_positive: np.ndarray) -> pd.DataFrame:
    n_visits = urines["tested"].shape[0]
    return pd.DataFrame({
        "person": np.tile(people, n_visits), "visit": np.repeat(np.arange(n_visits), people.size),
        "arm": np.tile(np.where(arm[people] == 1, "baclofen", "placebo"), n_visits),
        "baseline_positive": np.tile(baseline_positive[people], n_visits),
        "tested": urines["tested"][:, people].ravel(), "positive": urines["positive"][:, people].ravel(),
        "self_report_use": urines["reported"][:, people].ravel(), "craving": urines["craving"][:, people].ravel()})


def _analyse(design: TrialDesign, urines: dict[str, np.ndarray], people: np.ndarray, arm: np.ndarray,
             baseline_positive: np.ndarray) -> tuple[dict[str, float], np.ndarray, np.ndarray]:
    """One trial's outcome as the paper analysed it; per person, the outcome and heavier use."""
    tested = urines["tested"][:, people]
    negative = tested & ~urines["positive"][:, people]
    if design.outcome == "negative_urines":
        units = negative                       # visits x people
        observed = tested
        per_person = negative.sum(axis=0).astype(float)     # benzoylecgonine-free urines, missing = not free
    else:   # a week is abstinent when its urines are all negative and no use is reported at them
        reported = urines["reported"][:, people]
        weeks = tested.shape[0] // 3
        shape = (weeks, 3, people.size)
        observed = tested[: 3 * weeks].reshape(shape).any(axis=1)
        clean = ((~tested | negative) & ~(reported & tested))[: 3 * weeks].reshape(shape).all(axis=1)
        units = observed & clean
        per_person = units.sum(axis=0).astype(float)
    heavy = baseline_positive >= (np.nanmedian(baseline_positive) if people.size else 0.0)
    # an arm can be empty in a very small trial (people drop out before randomisation): its
    # measures are then missing (NaN), and the trial cannot be analysed
    out = {"n": float(people.size), "outcome_baclofen": finite_mean(per_person[arm == 1]),
           "outcome_placebo": finite_mean(per_person[arm == 0])}
    out["effect"] = out["outcome_baclofen"] - out["outcome_placebo"]
    for name, group in (("heavy", heavy), ("light", ~heavy)):
        out[f"effect_{name}"] = (finite_mean(per_person[(arm == 1) & group])
                                 - finite_mean(per_person[(arm == 0) & group]))
    out["retained_baclofen"] = finite_mean(tested[-1][arm == 1])
    out["retained_placebo"] = finite_mean(tested[-1][arm == 0])
    craving = np.where(tested, urines["craving"][:, people], np.nan)
    out["craving_baclofen"] = finite_mean(craving[:, arm == 1])
    out["craving_placebo"] = finite_mean(craving[:, arm == 0])
    out.update(_gee(units, observed, arm, heavy))
    return out, per_person, heavy


def _gee(units: np.ndarray, observed: np.ndarray, arm: np.ndarray, heavy: np.ndarray) -> dict[str, float]:
    """Binomial GEE with exchangeable correlation within a person: y ~ arm + time, and the
    interaction with heavier baseline use. Returns the arm's log odds and p, the interaction's p
    (NaN where everyone observed is in one subgroup: the interaction is then the arm itself)."""
    import statsmodels.api as sm
    from statsmodels.genmod.cov_struct import Exchangeable

    k, m = np.nonzero(observed.T)          # person, time of each observed unit
    y = units.T[k, m].astype(float)
    frame = pd.DataFrame({"y": y, "arm": arm[k].astype(float), "time": m / max(observed.shape[0] - 1, 1),
                          "heavy": heavy[k].astype(float), "person": k})
    out = {"gee_log_odds": np.nan, "gee_p": np.nan, "gee_interaction_p": np.nan}
    if y.size == 0 or y.min() == y.max():
        return out
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            main = sm.GEE.from_formula("y ~ arm + time", groups="person", data=frame, family=sm.families.Binomial(),
                                       cov_struct=Exchangeable()).fit()
            if abs(float(main.params["arm"])) <= MAX_LOG_ODDS:   # beyond: the fit diverged (separation)
                out["gee_log_odds"], out["gee_p"] = float(main.params["arm"]), float(main.pvalues["arm"])
            if frame["heavy"].nunique() > 1:   # with one subgroup (e.g. all severe) arm:heavy is arm: not identified
                inter = sm.GEE.from_formula("y ~ arm * heavy + time", groups="person", data=frame,
                                            family=sm.families.Binomial(), cov_struct=Exchangeable()).fit()
                out["gee_interaction_p"] = float(inter.pvalues["arm:heavy"])
        except (ValueError, np.linalg.LinAlgError):   # a degenerate trial (e.g. nobody negative in an arm)
            pass
    return out


def power_figure(results: list[TrialResults], path: str | Path, paper_effect: float | None = None) -> Path:
    """Distribution of the trials' effects (benzoylecgonine-free urines or abstinent weeks,
    baclofen minus placebo) at each size, with the share reaching p < 0.05 (GEE) written above."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.5, 3.8))
    for k, r in enumerate(results):
        effects = r.trials["effect"].to_numpy()
        ax.scatter(np.full(effects.size, k) + np.linspace(-0.15, 0.15, effects.size), effects, s=10, alpha=0.6)
    if paper_effect is not None:
        ax.axhline(paper_effect, color="k", ls="--", lw=1, label=f"paper: {paper_effect:+.1f}")
        ax.legend(loc="lower right", fontsize=8)
    ax.axhline(0.0, color="grey", lw=0.8)
    d = results[0].design
    ax.set_xticks(range(len(results)), [f"N = {d.n_randomised * r.scale} planned\npower {r.power():.0%} "
                                        f"({len(r.trials)} trials)" for r in results])
    unit = "benzoylecgonine-free urines" if d.outcome == "negative_urines" else "confirmed abstinent weeks"
    ax.set_ylabel(f"baclofen - placebo\n({unit} per person)")
    ax.set_title(f"In-silico trials of {d.paper or d.name} ({d.treatment_weeks} weeks)", fontsize=10)
    ax.set_xlim(-0.6, len(results) - 0.4)
    fig.tight_layout()
    save_figure(fig, Path(path), dpi=110)
    plt.close(fig)
    return Path(path)
