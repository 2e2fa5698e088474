"""A phenomenon as a unit: the paper's numbers and criterion beside the protocol that tests it.

A `Phenomenon` carries what is fixed before any simulation runs: the paper, the effect it
reports, the paper's own size (with the figure or table it comes from) and the criterion, with
its tolerance, that the model's effect must meet. Its `protocol` runs simulated cohorts and
returns a `Measurement`; calling the unit gives the `Finding` the report shows. Units register
themselves in `PHENOMENA` (report order) with `register`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import pandas as pd


@dataclass(frozen=True)
class Config:
    """How big and which seed."""

    n_subjects: int = 200
    seed: int = 0
    agent: str = "q_learning"
    sb3: bool = True


@dataclass
class Measurement:
    """What a protocol measured: the headline estimate, the verdicts and the per-subject data.

    `estimate` is (value, 95% CI low, 95% CI high); `size` is None where the unit has no size
    criterion; `n_subjects` overrides the configured cohort size (units with their own); `y_label`
    names what each of `rows`' values is (the figure's y-axis: a bar is its group's mean per subject).
    """

    measure: str
    estimate: tuple[float, float, float]
    direction: bool
    size: bool | None
    detail: str
    rows: pd.DataFrame
    n_subjects: int | None = None
    y_label: str = field(kw_only=True)


@dataclass(frozen=True)
class Phenomenon:
    """One published phenomenon: paper, the paper's size, the criterion, and its protocol.

    `calibrated_on` names the `ModelParams` fields whose defaults were set on this phenomenon,
    so that the row checks the calibration rather than predicting.
    """

    key: str
    title: str
    paper: str
    paper_effect: str
    paper_size: str
    criterion: str
    protocol: Callable[[Config], Measurement]
    calibrated_on: tuple[str, ...] = ()
    sb3: bool = False

    def __call__(self, cfg: Config) -> Finding:
        m = self.protocol(cfg)
        value, lo, hi = m.estimate
        return Finding(self.key, self.title, self.paper, self.paper_effect, m.measure, float(value), float(lo),
                       float(hi), bool(m.direction), None if m.size is None else bool(m.size), m.detail,
                       m.n_subjects or cfg.n_subjects, cfg.seed, paper_size=self.paper_size,
                       criterion=self.criterion, rows=m.rows, y_label=m.y_label)


@dataclass
class Finding:
    """One phenomenon: the paper's effect beside the model's."""

    key: str
    title: str
    paper: str
    paper_effect: str
    measure: str
    value: float
    ci_low: float
    ci_high: float
    direction_agrees: bool
    size_agrees: bool | None
    detail: str
    n_subjects: int
    seed: int
    seconds: float = 0.0
    figure: str | None = None
    paper_size: str = ""
    criterion: str = ""
    rows: pd.DataFrame = field(default_factory=pd.DataFrame, repr=False)
    y_label: str = "value"

    @property
    def verdict(self) -> str:
        if not self.direction_agrees:
            return "fails"
        return "agrees" if self.size_agrees in (True, None) else "direction only"


#: Registered phenomena by key, in report order.
PHENOMENA: dict[str, Phenomenon] = {}


def register(unit: Phenomenon) -> Phenomenon:
    """Add `unit` to `PHENOMENA` (its key must be new)."""
    if unit.key in PHENOMENA:
        raise ValueError(f"phenomenon {unit.key!r} is registered twice")
    PHENOMENA[unit.key] = unit
    return unit
