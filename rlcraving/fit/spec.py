"""Fit specs: the protocol the animals lived, the free parameters and their priors, the budget.

A fit spec is a YAML file with the protocol keys of a study spec (``environment``, ``agent``,
``calendar``, ``baclofen``; the same classes check them, so a fit accepts exactly the protocols
a study does) and the keys of the fit itself (``parameters``, ``measures``, ``simulations``,
...). Errors name the YAML line, the key, the value and what is allowed.

Free parameters are per-subject quantities whose spread between animals the model documents:

* traits (`params.INDIVIDUAL_TRAITS`): multipliers of model constants, log-normal with median 1;
* the agent's parameters that vary between subjects (`AgentParameter.sigma` > 0), log-normal
  with median the default.

Each prior is that documented distribution: log(value) ~ Normal(log median, sigma). The
parameters not chosen keep their documented spread (drawn per simulated subject) when
``environment.individual_differences`` is true, else their medians.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, ValidationError, field_validator, model_validator

from rlcraving.agents.td import AGENTS, varying_parameters
from rlcraving.experiments.loader import SpecError, parse_spec_text, read_spec_file, validation_issues
from rlcraving.experiments.spec import (
    MEASURES,
    BaclofenSpec,
    CalendarEntrySpec,
    EnvironmentSpec,
    StudySpec,
    TDAgentSpec,
    _Strict,
    located_error,
)
from rlcraving.params import INDIVIDUAL_TRAITS

#: Measures whose per-session counts are the default summary of a subject.
DEFAULT_MEASURES = ("active_presses", "inactive_presses", "infusions")


@dataclass(frozen=True)
class FreeParameter:
    """A fitted per-subject parameter and its prior: log(value) ~ Normal(log(median), sigma)."""

    name: str
    kind: Literal["trait", "agent"]
    median: float
    sigma: float
    lo: float
    hi: float
    unit: str
    source: str

    @property
    def mu(self) -> float:
        """Prior mean of log(value)."""
        return math.log(self.median)


def free_parameter(name: str, agent: str) -> FreeParameter:
    """The free parameter `name` for agent `agent`, with its documented distribution as prior."""
    if name in INDIVIDUAL_TRAITS:
        sigma, scales, source = INDIVIDUAL_TRAITS[name]
        return FreeParameter(name, "trait", 1.0, sigma, 0.0, math.inf, f"multiplier of {scales}", source)
    spec = AGENTS[agent].PARAMETERS.get(name)
    if spec is None or spec.sigma <= 0:
        raise ValueError(f"parameter {name!r} cannot be fitted: choose traits or {agent} parameters that vary "
                         f"between subjects: {sorted(fittable_parameters(agent))}")
    return FreeParameter(name, "agent", spec.default, spec.sigma, spec.lo, spec.hi, spec.unit, spec.source)


def fittable_parameters(agent: str) -> tuple[str, ...]:
    """Names that may be fitted with agent `agent`: the traits and its varying parameters."""
    return (*INDIVIDUAL_TRAITS, *varying_parameters(AGENTS[agent]))


class TrainingSpec(_Strict):
    """The neural posterior estimator (sbi's NPE) and its training."""

    estimator: Literal["maf", "nsf", "mdn"] = "maf"
    hidden_features: int = Field(64, ge=4, le=1024)
    transforms: int = Field(4, ge=1, le=20)
    batch_size: int = Field(256, ge=16, le=65536)
    learning_rate: float = Field(5e-4, gt=0, le=1.0)
    max_epochs: int = Field(200, ge=1, le=100_000)
    stop_after_epochs: int = Field(15, ge=1, le=1000)
    threads: int = Field(1, ge=1, le=256, description="torch threads (the numbers depend on it)")


class CheckSpec(_Strict):
    """Parameter recovery and simulation-based calibration (`rlcraving fit --check`)."""

    subjects: int = Field(300, ge=10, le=100_000, description="simulated subjects with known parameters")
    posterior_samples: int = Field(500, ge=20, le=100_000)


class FitSpec(_Strict):
    """One fit (a fit spec file); see docs/fitting.md for every key."""

    name: str = Field(pattern=r"^[A-Za-z_][A-Za-z0-9_-]*$")
    description: str = ""
    environment: EnvironmentSpec = Field(default_factory=lambda: EnvironmentSpec(individual_differences=True))
    agent: TDAgentSpec = Field(default_factory=lambda: TDAgentSpec(type="td"))
    calendar: list[CalendarEntrySpec] = Field(min_length=1)  # type: ignore[valid-type]
    baclofen: BaclofenSpec | None = None
    parameters: list[str] = Field(min_length=1, description="free per-subject parameters")
    measures: list[Literal[MEASURES]] = Field(default_factory=lambda: list(DEFAULT_MEASURES),  # type: ignore[valid-type]
                                              min_length=1, description="per-session counts the fit reads")
    reference_group: str | None = Field(None, description="group the others are compared with (default: first)")
    simulations: int = Field(20_000, ge=50, le=10_000_000, description="training simulations (subjects)")
    batch_subjects: int = Field(5000, ge=1, le=1_000_000, description="subjects simulated together")
    posterior_samples: int = Field(1000, ge=10, le=100_000, description="posterior draws per subject")
    predictive_draws: int = Field(20, ge=1, le=1000, description="posterior draws per subject simulated for "
                                                                 "the posterior-predictive check")
    max_invalid_fraction: float = Field(0.01, ge=0.0, le=1.0,
                                        description="largest share of failed (non-finite) simulations tolerated")
    seed: int = Field(0, ge=0, le=2**31 - 1)
    training: TrainingSpec = Field(default_factory=TrainingSpec)
    check: CheckSpec = Field(default_factory=CheckSpec)

    @field_validator("agent")
    @classmethod
    def _no_subject_count(cls, value: TDAgentSpec) -> TDAgentSpec:
        if value.subjects is not None:
            raise ValueError(f"agent.subjects={value.subjects} has no meaning in a fit; the budget is `simulations`")
        return value

    @field_validator("parameters")
    @classmethod
    def _distinct_parameters(cls, value: list[str]) -> list[str]:
        if len(set(value)) != len(value):
            raise ValueError(f"parameters={value} name a parameter twice")
        return value

    @field_validator("measures")
    @classmethod
    def _distinct_measures(cls, value: list[str]) -> list[str]:
        if len(set(value)) != len(value):
            raise ValueError(f"measures={value} name a measure twice")
        return value

    @model_validator(mode="after")
    def _known_parameters(self) -> FitSpec:
        problems: list[tuple[str, str]] = []
        allowed = fittable_parameters(self.agent.name)
        for i, name in enumerate(self.parameters):
            if name not in allowed:
                problems.append((f"parameters.{i}", f"parameter {name!r} cannot be fitted with agent "
                                 f"{self.agent.name!r}; choose from the traits and the agent's parameters that "
                                 f"vary between subjects: {sorted(allowed)}"))
            elif name in self.agent.params:
                problems.append((f"parameters.{i}", f"parameter {name!r} is both fitted and fixed in agent.params; "
                                                    "give it one place"))
        try:
            self.protocol()  # the calendar's references (baclofen sessions) resolve
        except ValidationError as err:
            for e in err.errors(include_url=False):
                ctx = e.get("ctx") or {}
                problems += ctx.get("problems", []) or [(".".join(map(str, e["loc"])), e["msg"])]
        if problems:
            raise located_error(problems)
        return self

    # ---- derived views ------------------------------------------------------------------------
    def free(self) -> list[FreeParameter]:
        """The free parameters with their priors, in spec order."""
        return [free_parameter(name, self.agent.name) for name in self.parameters]

    def protocol(self) -> StudySpec:
        """The protocol as a one-condition study (calendar, environment, agent, baclofen)."""
        return StudySpec(name=self.name, subjects=1, environment=self.environment, agents={"td": self.agent},
                         calendar=self.calendar, baclofen=self.baclofen)

    def phases(self) -> list[str]:
        """Phase of each calendar session."""
        return [e.phase for e in self.calendar for _ in range(e.days)]

    def estimator_identity(self) -> dict[str, Any]:
        """What determines the trained estimator (besides the model's code)."""
        keep = ("environment", "agent", "calendar", "baclofen", "parameters", "measures", "simulations",
                "batch_subjects", "max_invalid_fraction", "seed", "training")
        return {k: v for k, v in self.model_dump(mode="json").items() if k in keep}

    def estimator_digest(self, model_digest: str) -> str:
        """Digest of the estimator's identity and the model's source."""
        text = json.dumps({"spec": self.estimator_identity(), "model": model_digest}, sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    def dump(self) -> dict[str, Any]:
        """The resolved spec as plain data (defaults filled in)."""
        return self.model_dump(mode="json", exclude_none=True)


class FitSpecError(SpecError):
    """A fit spec that does not validate; `issues` lists every problem found."""

    kind = "fit spec"


def load_fit_spec(path: str | Path) -> FitSpec:
    """Read and validate a fit spec file."""
    return loads_fit_spec(read_spec_file(path, FitSpecError), source=str(Path(path)))


def loads_fit_spec(text: str, *, source: str = "<fit spec>") -> FitSpec:
    """Validate fit spec text (see `load_fit_spec`)."""
    data, lines = parse_spec_text(text, source, FitSpecError)
    try:
        return FitSpec.model_validate(data)
    except ValidationError as err:
        raise FitSpecError(source, validation_issues(err, lines)) from None
