"""A lab's data for a fit: reading, checking against the protocol, and the per-session counts.

The table is the package's own tidy shape, one row per subject, session and measure:

| column | what |
|---|---|
| ``subject`` | the animal's identifier (text or number) |
| ``group`` | its group (knockout, treatment, sex, ...); or ``condition``, as cohort tables name it; absent: ``all`` |
| ``day`` | calendar session index, 0 for the first session of the spec's calendar |
| ``phase`` | the session's phase, which must be the calendar's for that day |
| ``measure`` | one of `rlcraving.agents.cohort.MEASURES` (``active_presses``, ``infusions``, ...) |
| ``value`` | the count (or amount) in that session, finite and >= 0 |

Every problem is reported with the row (1-based, after the header; for a CSV also its line)
and the column; at most `MAX_PROBLEMS` are listed. Other columns are ignored.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from rlcraving.experiments.spec import MEASURES
from rlcraving.fit.spec import FitSpec

REQUIRED_COLUMNS = ("subject", "day", "phase", "measure", "value")
GROUP_COLUMNS = ("group", "condition")
MAX_PROBLEMS = 20


class DataError(ValueError):
    """Data that do not fit the protocol; `problems` lists every one found (up to `MAX_PROBLEMS`)."""

    def __init__(self, source: str, problems: list[str]):
        self.source, self.problems = source, problems
        shown = "\n".join(f"  {p}" for p in problems[:MAX_PROBLEMS])
        more = f"\n  ... and {len(problems) - MAX_PROBLEMS} more" if len(problems) > MAX_PROBLEMS else ""
        super().__init__(f"{source}: {len(problems)} problem(s) in the data:\n{shown}{more}")


@dataclass
class FitData:
    """Per-subject session counts, checked against a protocol.

    counts: (subjects, sessions, measures), measures in `measures` order.
    """

    subjects: list[str]
    groups: list[str]
    counts: np.ndarray
    measures: tuple[str, ...]
    source: str = ""
    ignored_measures: tuple[str, ...] = field(default=())

    @property
    def group_names(self) -> list[str]:
        """Groups in order of first appearance."""
        return list(dict.fromkeys(self.groups))

    def table(self) -> pd.DataFrame:
        """The counts as a tidy table (subject, group, day, measure, value)."""
        n, days, m = self.counts.shape
        return pd.DataFrame({
            "subject": np.repeat(np.array(self.subjects, dtype=object), days * m),
            "group": np.repeat(np.array(self.groups, dtype=object), days * m),
            "day": np.tile(np.repeat(np.arange(days), m), n),
            "measure": np.tile(np.array(self.measures, dtype=object), n * days),
            "value": self.counts.ravel(),
        })


def read_table(path: str | Path) -> pd.DataFrame:
    """A CSV or Parquet file as a data frame (a clear error if it cannot be read)."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in (".csv", ".parquet", ".pq"):
        raise DataError(str(path), [f"file type {path.suffix!r} is not read; give a .csv or .parquet file"])
    try:
        return pd.read_csv(path) if suffix == ".csv" else pd.read_parquet(path)
    except FileNotFoundError:
        raise DataError(str(path), ["no such file"]) from None
    except (OSError, ValueError, pd.errors.ParserError) as err:
        raise DataError(str(path), [f"cannot be read as {suffix[1:]}: {str(err).splitlines()[0]}"]) from None


def load_data(path: str | Path, spec: FitSpec) -> FitData:
    """Read a data file (CSV or Parquet) and check it against the fit spec's protocol."""
    path = Path(path)
    return check_data(read_table(path), spec, source=str(path), csv=path.suffix.lower() == ".csv")


def check_data(frame: pd.DataFrame, spec: FitSpec, *, source: str = "data", csv: bool = False) -> FitData:
    """The per-subject counts of `frame`, after checking every row against the spec's calendar."""
    where = _Locator(csv)
    missing = [c for c in REQUIRED_COLUMNS if c not in frame.columns]
    if missing:
        raise DataError(source, [f"column(s) {missing} are missing; the table needs {list(REQUIRED_COLUMNS)} "
                                 f"(and optionally 'group'); it has {[str(c) for c in frame.columns]}"])
    if not len(frame):
        raise DataError(source, ["the table has no rows"])
    phases = spec.phases()
    problems: list[str] = []
    group_column = next((c for c in GROUP_COLUMNS if c in frame.columns), None)
    groups = frame[group_column] if group_column else pd.Series("all", index=frame.index)
    subject = frame["subject"]
    for column, values in (("subject", subject), *(((group_column, groups),) if group_column else ())):
        for i in np.flatnonzero(values.isna().to_numpy()):
            problems.append(f"{where(i, column)}: the {column} is missing")
    day = pd.to_numeric(frame["day"], errors="coerce").to_numpy(dtype=float)
    bad_day = ~np.isfinite(day) | (day != np.round(day)) | (day < 0) | (day >= len(phases))
    for i in np.flatnonzero(bad_day):
        problems.append(f"{where(i, 'day')}: day={frame['day'].iloc[i]!r} is not a session of the calendar; "
                        f"the spec's calendar has sessions 0..{len(phases) - 1} ({_calendar_text(spec)})")
    ok_day = ~bad_day
    day_index = np.where(ok_day, day, 0).astype(np.int64)
    expected = np.array(phases, dtype=object)[day_index]
    phase = frame["phase"].astype(str).to_numpy(dtype=object)
    for i in np.flatnonzero(ok_day & (phase != expected)):
        problems.append(f"{where(i, 'phase')}: phase={frame['phase'].iloc[i]!r} but day {day_index[i]} of the "
                        f"spec's calendar is {expected[i]!r}")
    measure = frame["measure"].astype(str).to_numpy(dtype=object)
    known = np.isin(measure, list(MEASURES))
    for i in np.flatnonzero(~known):
        problems.append(f"{where(i, 'measure')}: measure={frame['measure'].iloc[i]!r} is not known; "
                        f"measures: {list(MEASURES)}")
    value = pd.to_numeric(frame["value"], errors="coerce").to_numpy(dtype=float)
    for i in np.flatnonzero(~np.isfinite(value) | (value < 0)):
        problems.append(f"{where(i, 'value')}: value={frame['value'].iloc[i]!r} must be a finite number >= 0")
    subject_text = subject.astype(str).to_numpy(dtype=object)
    group_text = groups.astype(str).to_numpy(dtype=object)
    problems += _group_conflicts(subject_text, group_text, where, group_column)
    used = np.isin(measure, list(spec.measures)) & ok_day
    problems += _duplicates(subject_text, day_index, measure, used, where)
    if problems:
        raise DataError(source, problems)
    names = list(dict.fromkeys(subject_text))
    row_of = {name: k for k, name in enumerate(names)}
    counts = np.full((len(names), len(phases), len(spec.measures)), np.nan)
    m_index = {m: k for k, m in enumerate(spec.measures)}
    rows = np.flatnonzero(used)
    counts[[row_of[s] for s in subject_text[rows]], day_index[rows], [m_index[m] for m in measure[rows]]] = value[rows]
    problems = _missing(counts, names, spec)
    if problems:
        raise DataError(source, problems)
    first_group = {s: g for s, g in zip(subject_text[::-1], group_text[::-1], strict=True)}
    ignored = tuple(sorted(set(measure[known]) - set(spec.measures)))
    return FitData(names, [first_group[s] for s in names], counts, tuple(spec.measures), source, ignored)


class _Locator:
    """Text naming a row and column: 'row 5 (line 6), column day'."""

    def __init__(self, csv: bool):
        self.csv = csv

    def __call__(self, i: int, column: str) -> str:
        line = f" (line {i + 2})" if self.csv else ""
        return f"row {i + 1}{line}, column {column}"


def _calendar_text(spec: FitSpec) -> str:
    start, parts = 0, []
    for e in spec.calendar:
        parts.append(f"{start}..{start + e.days - 1} {e.phase}" if e.days > 1 else f"{start} {e.phase}")
        start += e.days
    return ", ".join(parts)


def _group_conflicts(subject: np.ndarray, group: np.ndarray, where: _Locator, column: str | None) -> list[str]:
    """Rows whose group is not the group most of their subject's rows give."""
    frame = pd.DataFrame({"subject": subject, "group": group})
    usual = frame.groupby("subject", sort=False)["group"].agg(lambda g: g.value_counts().index[0])
    expected = usual.reindex(subject).to_numpy()
    return [f"{where(i, column or 'group')}: subject {subject[i]!r} is in group {group[i]!r} here but in "
            f"{expected[i]!r} in its other rows; a subject belongs to one group"
            for i in np.flatnonzero(group != expected)]


def _duplicates(subject: np.ndarray, day: np.ndarray, measure: np.ndarray, used: np.ndarray,
                where: _Locator) -> list[str]:
    seen: dict[tuple[str, int, str], int] = {}
    out = []
    for i in np.flatnonzero(used):
        key = (subject[i], int(day[i]), measure[i])
        if key in seen:
            out.append(f"{where(i, 'measure')}: subject {key[0]!r}, day {key[1]}, measure {key[2]!r} was already "
                       f"given at row {seen[key] + 1}")
        else:
            seen[key] = i
    return out


def _missing(counts: np.ndarray, names: list[str], spec: FitSpec) -> list[str]:
    """Problems for every (subject, day, measure) with no row."""
    hole = np.isnan(counts)
    if not hole.any():
        return []
    phases = spec.phases()
    days_present = np.flatnonzero(~hole.all(axis=(0, 2)))
    if days_present.size and days_present.max() < len(phases) - 1 and hole[:, days_present.max() + 1:].all():
        return [f"the data end at day {days_present.max()} but the spec's calendar has {len(phases)} sessions "
                f"({_calendar_text(spec)}): the calendar does not match the days"]
    out = []
    for s, d, m in zip(*np.nonzero(hole), strict=True):
        out.append(f"subject {names[s]!r}: no row for day {d} ({phases[d]}), measure {spec.measures[m]!r}; "
                   "every subject needs every session of the calendar for each measure the fit reads")
    return out
