"""Generated sections of `docs/model.md`: parameter tables, phase presets and derived quantities.

The tables are written from the code (`ModelParams` field metadata, `INDIVIDUAL_TRAITS`,
`SessionSettings` and `PHASES`), between marker comments such as::

    <!-- BEGIN GENERATED: parameters -->
    ...
    <!-- END GENERATED: parameters -->

so the documentation cannot drift from the model. Run ``python -m rlcraving.docs`` to rewrite
the sections in place, or ``python -m rlcraving.docs --check`` to fail if they are out of date.
"""

from __future__ import annotations

import dataclasses
import inspect
import math
import re
from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import numpy as np
import typer

from rlcraving.files import atomic_write_text
from rlcraving.params import INDIVIDUAL_TRAITS, ModelParams
from rlcraving.pharmacology import BaclofenModel, OralTID
from rlcraving.protocol import PHASES, SessionSettings

MODEL_MD = Path(__file__).resolve().parent.parent / "docs" / "model.md"
#: Words in a parameter's source text that say how its value was set (first match wins).
BASES = ("calibrated", "assumed", "chosen")
_Z90 = 1.2815515655446004  # standard normal quantile of 0.9


def _number(value: float) -> str:
    return f"{value:g}"


def _cell(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def basis(source: str) -> str:
    """How a value was set, read from its source text: calibrated, assumed, chosen, or cited."""
    lowered = source.lower()
    return next((word for word in BASES if word in lowered), "cited")


def field_basis(f: dataclasses.Field) -> str:
    """A field's basis: its ``basis`` metadata if it has one, else read from its source text."""
    return str(f.metadata.get("basis") or basis(f.metadata["source"]))


def parameter_groups(cls: type = ModelParams) -> list[tuple[str, list[dataclasses.Field]]]:
    """Fields of `cls` (`ModelParams`) grouped under the ``# --- heading ---`` comments of their class."""
    fields = {f.name: f for f in dataclasses.fields(cls)}
    groups: list[tuple[str, list[dataclasses.Field]]] = [("other", [])]
    for line in inspect.getsource(cls).splitlines():
        heading = re.match(r"\s*# -+ (.+?) -*$", line)
        name = re.match(r"\s*(\w+): float = ", line)
        if heading:
            groups.append((heading.group(1).strip(), []))
        elif name and name.group(1) in fields:
            groups[-1][1].append(fields.pop(name.group(1)))
    groups[0][1].extend(fields.values())  # any field the source scan missed
    return [(title, members) for title, members in groups if members]


def parameters_table(cls: type = ModelParams) -> str:
    """Every field of `cls` (`ModelParams`, or the world's `OutpatientParams`): default, unit,
    allowed range, basis and source."""
    defaults = cls()
    lines = []
    for title, members in parameter_groups(cls):
        if title != "other" or len(parameter_groups(cls)) > 1:
            lines += [f"#### {title[0].upper()}{title[1:]}", ""]
        lines += ["| parameter | default | unit | range | basis | source |", "|---|---|---|---|---|---|"]
        for f in members:
            lo, hi = f.metadata["range"]
            lines.append(f"| `{f.name}` | {_number(getattr(defaults, f.name))} | {_cell(f.metadata['unit']) or '-'} "
                         f"| [{_number(lo)}, {_number(hi)}] | {field_basis(f)} "
                         f"| {_cell(f.metadata['source'])} |")
        lines.append("")
    return "\n".join(lines).rstrip()


def traits_table() -> str:
    """Per-subject multipliers: log-normal spread, the 10-90% range it gives, what it scales."""
    lines = ["| trait | log-normal sigma | 10-90% of subjects | scales | source |", "|---|---|---|---|---|"]
    for name, (sigma, scales, source) in INDIVIDUAL_TRAITS.items():
        lo, hi = math.exp(-_Z90 * sigma), math.exp(_Z90 * sigma)
        lines.append(f"| `{name}` | {_number(sigma)} | x{lo:.2f} - x{hi:.2f} | {_cell(scales)} | {_cell(source)} |")
    return "\n".join(lines)


def parameters_section() -> str:
    return "\n".join(["### Model constants (`ModelParams`)", "", parameters_table(), "",
                      "### Individual differences (`INDIVIDUAL_TRAITS`)", "", traits_table()])


def phases_section() -> str:
    """Session settings: defaults, then each phase's preset (only the settings it changes)."""
    defaults = SessionSettings()
    lines = ["| setting | default |", "|---|---|"]
    for f in dataclasses.fields(SessionSettings):
        lines.append(f"| `{f.name}` | {getattr(defaults, f.name)!r} |")
    lines += ["", "| phase | preset (settings that differ from the defaults) |", "|---|---|"]
    for phase, preset in PHASES.items():
        changed = {k: v for k, v in preset.items() if getattr(defaults, k) != v}
        text = ", ".join(f"`{k}={v!r}`" for k, v in changed.items()) or "(the defaults)"
        lines.append(f"| `{phase}` | {text} |")
    return "\n".join(lines)


def derived_section() -> str:
    """Quantities that follow from the defaults: micro-constants, times to peak, levels, gains."""
    p = ModelParams()
    k10 = p.baclofen_cl_l_per_h / p.baclofen_v_l
    k21 = p.baclofen_alpha_per_h * p.baclofen_beta_per_h / k10
    k12 = p.baclofen_alpha_per_h + p.baclofen_beta_per_h - k10 - k21
    model = BaclofenModel(p, "oral")
    t = np.arange(0.0, 24.0, 0.01)
    single = model.propagate(np.array([20.0, 0.0, 0.0]), t)[:, 1]
    rat = BaclofenModel(p, "ip")
    rat_single = rat.propagate(np.array([3.0, 0.0, 0.0]), t)[:, 1]
    rows = [
        ("k10 = (CL/F) / (V/F)", k10, "1/h"),
        ("k21 = alpha beta / k10", k21, "1/h"),
        ("k12 = alpha + beta - k10 - k21", k12, "1/h"),
        ("terminal half-life ln2 / beta", math.log(2.0) / p.baclofen_beta_per_h, "h"),
        ("distribution half-life ln2 / alpha", math.log(2.0) / p.baclofen_alpha_per_h, "h"),
        ("oral time to peak after one dose", t[np.argmax(single)], "h"),
        ("rat i.p. time to peak after one dose", t[np.argmax(rat_single)], "h"),
    ]
    for mg_per_day in (15.0, 30.0, 60.0, 80.0):
        state = model.steady_state(OralTID(mg_per_day), 0.0)
        effects, _ = model.run(state, OralTID(mg_per_day), 0.0, 0.05, 480)
        conc, gain = effects[:, 0], effects[:, 1]
        rows.append((f"{mg_per_day:g} mg/day TID: steady-state level min / mean / max",
                     f"{conc.min():.3f} / {conc.mean():.3f} / {conc.max():.3f}", "mg/L"))
        rows.append((f"{mg_per_day:g} mg/day TID: dopamine gain min / mean / max",
                     f"{gain.min():.3f} / {gain.mean():.3f} / {gain.max():.3f}", ""))
    tr, td = p.incubation_rise_days, p.incubation_decay_days
    peak_day = math.log(td / tr) * tr * td / (td - tr)
    bateman: Callable[[float], float] = lambda d: math.exp(-d / td) - math.exp(-d / tr)  # noqa: E731
    rows += [
        ("occupancy after one unit dose from zero", SessionSettings().unit_dose_mg_per_kg
         / (SessionSettings().unit_dose_mg_per_kg + p.cocaine_k50_mg_per_kg), ""),
        ("steps in the post-infusion timeout", round(p.timeout_s / p.dt_s), "steps"),
        ("incubation peak", peak_day, "days"),
        ("incubation at 1 / 180 days, fraction of peak",
         f"{bateman(1.0) / bateman(peak_day):.3f} / {bateman(180.0) / bateman(peak_day):.3f}", ""),
    ]
    lines = ["| quantity | value | unit |", "|---|---|---|"]
    for name, value, unit in rows:
        text = f"{value:.4g}" if isinstance(value, float) else str(value)
        lines.append(f"| {name} | {text} | {unit or '-'} |")
    return "\n".join(lines)


SECTIONS: dict[str, Callable[[], str]] = {
    "parameters": parameters_section,
    "phases": phases_section,
    "derived": derived_section,
}


def update(text: str) -> str:
    """`text` with every generated section rewritten; raises ValueError if a marker is missing."""
    for name, render in SECTIONS.items():
        begin, end = f"<!-- BEGIN GENERATED: {name} -->", f"<!-- END GENERATED: {name} -->"
        start, stop = text.find(begin), text.find(end)
        if start < 0 or stop < start:
            raise ValueError(f"docs section {name!r} needs the markers {begin!r} ... {end!r} in this order")
        text = text[: start + len(begin)] + "\n" + render() + "\n" + text[stop:]
    return text


def main(check: Annotated[bool, typer.Option("--check", help="fail if out of date; change nothing")] = False,
         path: Annotated[Path, typer.Option(help="the Markdown file to update")] = MODEL_MD) -> None:
    """Regenerate the generated sections of docs/model.md from the code."""
    text = path.read_text(encoding="utf-8")
    new = update(text)
    if check:
        if new != text:
            typer.echo(f"{path} is out of date: run `python -m rlcraving.docs`", err=True)
            raise typer.Exit(1)
        typer.echo(f"{path} is up to date")
        return
    if new != text:
        atomic_write_text(path, new)
    typer.echo(f"{path}: {'updated' if new != text else 'already up to date'}")


if __name__ == "__main__":
    typer.run(main)
