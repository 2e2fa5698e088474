"""docs/model.md: its generated sections match the code, and the generator works."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from rlcraving import docs
from rlcraving.params import INDIVIDUAL_TRAITS, ModelParams
from rlcraving.protocol import PHASES


def test_committed_model_md_is_up_to_date() -> None:
    text = docs.MODEL_MD.read_text(encoding="utf-8")
    assert docs.update(text) == text, "run `python -m rlcraving.docs` and commit docs/model.md"


def test_every_parameter_trait_and_phase_is_documented() -> None:
    text = docs.MODEL_MD.read_text(encoding="utf-8")
    for f in dataclasses.fields(ModelParams):
        assert f"| `{f.name}` |" in text, f.name
    for name in (*INDIVIDUAL_TRAITS, *PHASES):
        assert f"| `{name}` |" in text, name
    assert "## 16. Agents" in text and "docs/agents.md" in text


def test_parameter_rows_carry_default_unit_range_and_source() -> None:
    defaults = ModelParams()
    rows = {line.split("|")[1].strip(" `"): line for line in docs.parameters_table().splitlines()
            if line.startswith("| `")}
    grouped = [f.name for _, members in docs.parameter_groups() for f in members]
    assert sorted(grouped) == sorted(f.name for f in dataclasses.fields(ModelParams)), "each field once"
    for f in dataclasses.fields(ModelParams):
        cells = [c.strip() for c in rows[f.name].split("|")[1:-1]]
        assert float(cells[1]) == pytest.approx(getattr(defaults, f.name), rel=1e-5)
        lo, hi = f.metadata["range"]
        assert cells[3] == f"[{lo:g}, {hi:g}]"
        assert cells[4] == docs.field_basis(f)
        assert f.metadata["source"].replace("|", "\\|") in rows[f.name]


def test_basis_reads_the_source_text() -> None:
    assert docs.basis("calibrated so that ...") == "calibrated"
    assert docs.basis("assumed: of the order of") == "assumed"
    assert docs.basis("Chosen (no published EC50)") == "chosen"
    assert docs.basis("Shaham et al. 2003: 20 s timeout") == "cited"


def test_update_rewrites_only_between_markers() -> None:
    stale = "\n".join(f"intro\n<!-- BEGIN GENERATED: {name} -->\nold table\n<!-- END GENERATED: {name} -->\noutro"
                      for name in docs.SECTIONS)
    fresh = docs.update(stale)
    assert "old table" not in fresh and fresh.count("intro") == len(docs.SECTIONS)
    assert docs.update(fresh) == fresh, "idempotent"


def test_update_refuses_a_file_without_markers() -> None:
    with pytest.raises(ValueError, match="parameters"):
        docs.update("# no markers here\n")


def test_command_line_check_and_write(tmp_path: Path) -> None:
    target = tmp_path / "model.md"
    target.write_text("\n".join(f"<!-- BEGIN GENERATED: {n} -->\n<!-- END GENERATED: {n} -->"
                                for n in docs.SECTIONS), encoding="utf-8")
    app = typer.Typer()
    app.command()(docs.main)
    runner = CliRunner()
    assert runner.invoke(app, ["--check", "--path", str(target)]).exit_code == 1, "stale file must fail"
    assert runner.invoke(app, ["--path", str(target)]).exit_code == 0
    assert runner.invoke(app, ["--check", "--path", str(target)]).exit_code == 0
    assert "`dt_s`" in target.read_text(encoding="utf-8")
