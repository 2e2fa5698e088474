"""The `rlcraving` command line (also `python -m rlcraving`).

    rlcraving demo                          classroom demo: summary table and figures in ./results/demo
    rlcraving run SPEC                      the spec's base study (its grid ignored)
    rlcraving sweep SPEC --workers 2        every grid point x seed; --grid KEY=V1,V2 adds an axis
    rlcraving check SPEC                    validate a spec and show its plan, run nothing
    rlcraving validate / rlcraving bench    model validation and benchmarks (their own modules)
    rlcraving population --subjects 1000000 the headline study in chunks (processes or Ray), one table
    rlcraving app                           the classroom web app (Streamlit, local, offline)
    rlcraving fit FITSPEC [DATA] [--check]  fit a lab's data (simulation-based inference); check recovery
    rlcraving trial DESIGN --trials 200     a baclofen trial design run many times: effects, power, figure

`--set key.sub=value` overrides any spec key; `--backend ray [--address HOST:PORT]` runs on a Ray
cluster. Finished runs are kept in the output folder, so an interrupted command resumes.
"""

from __future__ import annotations

import collections.abc
import contextlib
import enum
import importlib
import inspect
import json
import os
import re
import shlex
import sys
import time
import types
import typing
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Annotated, Any

import click
import typer
import typer.core

#: Exit status of a command refused for bad input (a spec, an option, an output folder).
EXIT_BAD_INPUT = 2
#: Exit status of an interrupted command (128 + SIGINT).
EXIT_INTERRUPTED = 130
#: Set this environment variable to see the traceback of an unexpected error.
TRACEBACK_VAR = "RLCRAVING_TRACEBACK"


def _fail(message: str, code: int) -> typer.Exit:
    typer.secho(message, err=True, fg=typer.colors.RED)
    return typer.Exit(code)


@contextlib.contextmanager
def user_errors(command: str) -> Iterator[None]:
    """Turn every exception of a command into a short message on stderr and an exit status:
    bad input 2 (spec, option, output folder), interrupt 130, anything else 1 (files that cannot
    be read or written, failed runs, and unexpected errors, whose traceback `TRACEBACK_VAR` shows)."""
    from rlcraving.experiments.loader import SpecError
    from rlcraving.files import OutputFolderError

    try:
        yield
    except (typer.Exit, click.exceptions.ClickException, click.exceptions.Abort):
        raise
    except SpecError as err:
        raise _fail(str(err), EXIT_BAD_INPUT) from None
    except OutputFolderError as err:
        raise _fail(f"rlcraving {command}: {err}", EXIT_BAD_INPUT) from None
    except KeyboardInterrupt:
        raise _fail(f"rlcraving {command}: interrupted", EXIT_INTERRUPTED) from None
    except OSError as err:
        where = f" {err.filename}" if err.filename else ""
        raise _fail(f"rlcraving {command}: cannot read or write{where}: {err.strerror or err}", 1) from None
    except Exception as err:
        if os.environ.get(TRACEBACK_VAR):
            raise
        detail = " ".join(str(err).split()) or "(no message)"
        raise _fail(f"rlcraving {command}: unexpected error: {type(err).__name__}: {detail} "
                    f"(set {TRACEBACK_VAR}=1 for the traceback)", 1) from None


def _script_word(name: str, word: str, kind: Any) -> Any:
    """One command-line word of an experiment script as its parameter's type (int, float, str, JSON dict)."""
    if typing.get_origin(kind) in (typing.Union, types.UnionType):
        kind = next(k for k in typing.get_args(kind) if k is not type(None))    # X | None: an X
    if typing.get_origin(kind) is dict or kind is dict:
        try:
            value = json.loads(word)
        except json.JSONDecodeError:
            value = None
        if not isinstance(value, dict):
            raise ValueError(f"{name}={word!r} is not allowed: a JSON object, e.g. '{{\"gamma\": 0.9}}'")
        return value
    if kind in (int, float):
        try:
            return kind(word)
        except ValueError:
            allowed = "a whole number" if kind is int else "a number"
            raise ValueError(f"{name}={word!r} is not allowed: {allowed}") from None
    return word


def run_script(main: Callable[..., Any], argv: collections.abc.Sequence[str] | None = None) -> Any:
    """Run an experiment script's `main` from its command line, as the `rlcraving` commands run.

    The words are `main`'s parameters in order (a last ``tuple[X, ...]`` parameter takes the rest),
    converted by their type hints; missing ones keep their defaults. A word that does not convert or a
    ValueError of `main`'s own checks ends the script with one line on stderr and exit status 2; an
    interrupt or an unexpected error as in `user_errors`: never a traceback (unless `TRACEBACK_VAR`)."""
    script = Path(sys.argv[0]).name
    words = list(sys.argv[1:] if argv is None else argv)
    params = list(inspect.signature(main).parameters.values())
    hints = typing.get_type_hints(main)
    try:
        with user_errors(script):
            try:
                args: list[Any] = []
                for p in params:
                    if not words:
                        break
                    hint = hints.get(p.name, str)
                    if typing.get_origin(hint) is tuple:
                        args.append(tuple(_script_word(p.name, w, typing.get_args(hint)[0]) for w in words))
                        words = []
                    else:
                        args.append(_script_word(p.name, words.pop(0), hint))
                if words:
                    raise ValueError(f"{len(words)} argument(s) too many ({' '.join(words)}); the script takes "
                                     + " ".join(p.name.upper() for p in params))
                return main(*args)
            except ValueError as err:
                raise _fail(f"{script}: {err}", EXIT_BAD_INPUT) from None
    except typer.Exit as exit_:
        sys.exit(exit_.exit_code)


class _GuardedCommand(typer.core.TyperCommand):
    """A command whose exceptions pass through `user_errors`."""

    def invoke(self, ctx: click.Context) -> Any:
        with user_errors(self.name or "command"):
            return super().invoke(ctx)


class _Typer(typer.Typer):
    """Typer whose commands are all `_GuardedCommand`s: no traceback reaches the user."""

    def command(self, *args: Any, cls: type[typer.core.TyperCommand] | None = None, **kwargs: Any) -> Any:
        return super().command(*args, cls=cls or _GuardedCommand, **kwargs)


app = _Typer(name="rlcraving", help="Reinforcement-learning models of cocaine seeking and baclofen.",
             no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False)


PIPED_WIDTH = 1000   # columns of the printed tables when output is not a terminal
#: The demo's four runs take a few seconds each; starting worker processes (imports, compiled
#: code loaded from cache) costs more than it saves: measured 47 s with 1 worker, 63 s with 2.
DEMO_WORKERS = 1


class BackendChoice(str, enum.Enum):
    """Where runs execute."""

    local = "local"
    ray = "ray"


SpecArg = Annotated[Path, typer.Argument(help="study spec file (YAML), e.g. "
                                               "experiments/baclofen_cue_reinstatement.yaml")]
OutOpt = Annotated[str | None, typer.Option("--out", "-o", help="results folder [default: results/<study name>]")]
SetOpt = Annotated[list[str] | None, typer.Option("--set", "-s", metavar="KEY=VALUE",
                                                  help="override a spec key, e.g. subjects=8 or "
                                                       "environment.kor_knockout=true (repeatable)")]
GridOpt = Annotated[list[str] | None, typer.Option("--grid", "-g", metavar="KEY=V1,V2",
                                                   help="add or replace a grid axis, e.g. "
                                                        "baclofen.regimen.mg_per_kg=0,2.5,5 (repeatable)")]
WorkersOpt = Annotated[int, typer.Option("--workers", "-w", min=1, help="parallel runs (processes or Ray CPUs)")]
BackendOpt = Annotated[BackendChoice, typer.Option("--backend", "-b", help="local processes, or a Ray cluster")]
AddressOpt = Annotated[str | None, typer.Option("--address", help="Ray cluster address (default: start a local one)")]
QuietOpt = Annotated[bool, typer.Option("--quiet", "-q", help="no progress bar or tables")]


def _load(spec: Path | None, sets: list[str] | None, grid: list[str] | None, *, demo: bool = False) -> Any:
    from rlcraving.experiments.loader import load_spec

    if demo:
        from rlcraving.experiments.demo import demo_study
        return demo_study(sets or [])
    return load_spec(spec, sets or [], grid or [])  # type: ignore[arg-type]


def _execute(study: Any, out: str | None, *, workers: int, backend: BackendChoice, address: str | None,
             quiet: bool) -> None:
    from rlcraving.experiments.runner import RunError
    from rlcraving.experiments.study import StudyInterrupted, run_study
    from rlcraving.files import output_folder

    out, created = output_folder(Path("results") / study.spec.name if out is None else out, "--out")
    n_runs = len(study.points) * len(study.spec.seeds)
    if not quiet:
        typer.echo(f"{study.spec.name}: {len(study.points)} condition(s) x {len(study.spec.seeds)} seed(s) = "
                   f"{n_runs} run(s) of {study.spec.subjects} subjects -> {out}"
                   + (f" (new folder{'s' if len(created) > 1 else ''} {', '.join(map(str, created))})"
                      if created else ""))
    start = time.perf_counter()
    try:
        result = run_study(study, out, workers=workers, backend=backend.value, address=address, progress=not quiet)
    except RunError as err:
        raise _fail(str(err), 1) from None
    except StudyInterrupted as err:
        again = shlex.join(["rlcraving", *sys.argv[1:]]) if sys.argv[1:] else "the same command"
        raise _fail(f"{err} (metadata.json records this); resume with: {again} (saved runs are skipped)",
                    EXIT_INTERRUPTED) from None
    if not quiet:
        from rlcraving.experiments.figures import condition_words

        _print_result(result, time.perf_counter() - start, condition_words(study))


def _print_result(result: Any, seconds: float, words: dict[str, str] | None = None) -> None:
    """Print a study's summary table (conditions in `words`: "baclofen 2.5 mg/kg i.p."), its tests
    and where its results and figures are."""
    from rich.console import Console
    from rich.table import Table

    from rlcraving.experiments.results import format_summary

    # In a terminal rich fits its width; into a file or a pipe, lines are never cut or wrapped.
    console = Console() if sys.stdout.isatty() else Console(width=PIPED_WIDTH)
    if len(result.summary):
        has_change = "change_mean" in result.summary
        table = Table(title="outcomes per condition (mean [95% bootstrap CI] over subjects)")
        for name in ("outcome", "condition", "n", "mean [95% CI]", *(["change from baseline"] if has_change else [])):
            table.add_column(name, justify="left" if name in ("outcome", "condition") else "right")
        for row in format_summary(result.summary):
            row[1] = (words or {}).get(row[1], row[1])
            table.add_row(*row)
        console.print(table)
    for line in _test_lines(result.tests):
        console.print(line)
    skipped = result.runs_total - result.runs_executed
    console.print(f"{result.runs_executed} run(s) in {seconds:.0f} s"
                  + (f" ({skipped} already done)" if skipped else "") + f"; results in {result.out}/")
    for path in result.figures:
        console.print(f"  figure: {path}")


def _test_lines(tests: Any) -> list[str]:
    lines = []
    for _, r in tests.iterrows() if len(tests) else ():
        where = ", ".join(f"{k}={r[k]}" for k in tests.columns
                          if k not in _TEST_COLUMNS and isinstance(r[k], (str, int, float, bool)) and r[k] == r[k])
        where = f" ({where})" if where else ""
        if r["test"] == "trend":
            lines.append(f"{r['outcome']}{where}: trend with {r['axis']}: Spearman rho = {r['spearman_rho']:.2f} "
                         f"(p = {r['p_spearman']:.3g}), Jonckheere z = {r['jonckheere_z']:.2f} "
                         f"(p = {r['p_jonckheere']:.3g})")
        else:
            lines.append(f"{r['outcome']}{where}: {r['axis']}={r['level']} vs {r['reference']}: "
                         f"difference {r['difference']:+.2f}, Hedges g = {r['hedges_g']:.2f}, "
                         f"Welch p = {r['p_welch']:.3g}, permutation p = {r['p_permutation']:.3g}")
    return lines


_TEST_COLUMNS = {"outcome", "axis", "test", "level", "reference", "n_reference", "n", "mean_reference", "mean",
                 "difference", "hedges_g", "welch_t", "welch_df", "p_welch", "p_permutation", "spearman_rho",
                 "p_spearman", "jonckheere_j", "jonckheere_z", "p_jonckheere"}


@app.command()
def demo(out: Annotated[str, typer.Option("--out", "-o", help="results folder")] = "results/demo",
         sets: SetOpt = None, workers: WorkersOpt = DEMO_WORKERS,
         backend: BackendOpt = BackendChoice.local, quiet: QuietOpt = False) -> None:
    """Classroom demo: learn, extinguish, relapse under baclofen (one process by default: the demo's
    four runs are too short for more workers to pay for starting)."""
    study = _load(None, sets, None, demo=True)
    if not quiet:
        typer.echo(" ".join(study.spec.description.split()))
    _execute(study, out, workers=workers, backend=backend, address=None, quiet=quiet)


@app.command()
def run(spec: SpecArg, out: OutOpt = None, sets: SetOpt = None, workers: WorkersOpt = 1,
        backend: BackendOpt = BackendChoice.local, address: AddressOpt = None, quiet: QuietOpt = False) -> None:
    """Run a study's base spec: one condition (the grid is ignored; see `sweep`)."""
    study = _load(spec, sets, None)
    if study.spec.grid and not quiet:
        typer.echo(f"note: the grid ({len(study.points)} points) is ignored by `run`; `rlcraving sweep` runs it")
    _execute(study.base_only(), out, workers=workers, backend=backend, address=address, quiet=quiet)


@app.command()
def sweep(spec: SpecArg, out: OutOpt = None, sets: SetOpt = None, grid: GridOpt = None, workers: WorkersOpt = 1,
          backend: BackendOpt = BackendChoice.local, address: AddressOpt = None, quiet: QuietOpt = False) -> None:
    """Run every grid point x seed of a study (resumable: finished runs are skipped)."""
    study = _load(spec, sets, grid)
    if not study.spec.grid:
        typer.secho(f"{spec}: the spec has no grid to sweep; add one (or --grid KEY=V1,V2), or use `rlcraving run`",
                    err=True, fg=typer.colors.RED)
        raise typer.Exit(2)
    _execute(study, out, workers=workers, backend=backend, address=address, quiet=quiet)


@app.command()
def check(spec: SpecArg, sets: SetOpt = None, grid: GridOpt = None) -> None:
    """Validate a spec and print its resolved form and plan; runs and writes nothing."""
    import yaml

    study = _load(spec, sets, grid)
    typer.echo(yaml.safe_dump(study.spec.dump(), sort_keys=False), nl=False)
    typer.echo(f"# {len(study.points)} grid point(s) x {len(study.spec.seeds)} seed(s):")
    for point in study.points:
        typer.echo(f"#   {study.condition(point)}")


@app.command(name="app")
def app_command(port: Annotated[int, typer.Option("--port", "-p", min=1, max=65535,
                                                  help="TCP port to serve on")] = 8501,
                address: Annotated[str, typer.Option("--address", help="network address to listen on "
                                                     "(0.0.0.0: every interface, e.g. for a classroom)")]
                = "127.0.0.1") -> None:
    """Classroom web app: set a dose and a protocol, watch a cohort learn, extinguish and relapse."""
    from rlcraving.app import serve, url

    typer.echo(f"rlcraving app: open {url(address, port)} in a browser (Ctrl+C stops it)")
    serve(address, port)


_PASS_THROUGH = {"allow_extra_args": True, "ignore_unknown_options": True}


def _delegate(module: str, command: str, args: list[str]) -> None:
    """Run `module.main` with the command's remaining arguments parsed from its signature."""
    try:
        mod = importlib.import_module(module)
    except ModuleNotFoundError as err:
        if err.name != module:
            raise
        typer.secho(f"`rlcraving {command}` is not available: module {module} is not part of this installation",
                    err=True, fg=typer.colors.RED)
        raise typer.Exit(2) from None
    main = getattr(mod, "main", None)
    if not callable(main):
        typer.secho(f"`rlcraving {command}` is not available: {module} has no main()", err=True, fg=typer.colors.RED)
        raise typer.Exit(2)
    sub = typer.Typer(add_completion=False, pretty_exceptions_enable=False)
    sub.command(name=command)(_as_command(main))
    try:
        typer.main.get_command(sub).main(args=args, prog_name=f"rlcraving {command}", standalone_mode=True)
    except ValueError as err:  # the module's own check of its arguments
        typer.secho(f"rlcraving {command}: {err}", err=True, fg=typer.colors.RED)
        raise typer.Exit(2) from None


def _docstring_parts(doc: str | None) -> tuple[str, dict[str, str]]:
    """A Google-style docstring's text before its ``Args:`` section, and each argument's help."""
    lines = inspect.cleandoc(doc or "").splitlines()
    if "Args:" not in lines:
        return "\n".join(lines), {}
    at = lines.index("Args:")
    helps: dict[str, str] = {}
    name = None
    for line in lines[at + 1:]:
        match = re.match(r"^\s+(\w+)(?: \(.*?\))?: (.*)$", line)
        if match:
            name = match.group(1)
            helps[name] = match.group(2).strip()
        elif line.startswith((" ", "\t")) and line.strip() and name:
            helps[name] += " " + line.strip()
        elif line.strip():
            break   # the next section (Returns:, ...)
    return "\n".join(lines[:at]).strip(), helps


def _as_command(main: Callable[..., Any]) -> Callable[..., Any]:
    """`main` as a typer command: ``Sequence[X]`` parameters as ``list[X]`` options, each option's
    help from the ``Args:`` section of its docstring."""
    hints = typing.get_type_hints(main)
    summary, helps = _docstring_parts(main.__doc__)
    params = []
    for p in inspect.signature(main).parameters.values():
        hint = hints.get(p.name, p.annotation)
        if typing.get_origin(hint) in (collections.abc.Sequence, tuple) and typing.get_args(hint):
            hint = list[typing.get_args(hint)[0]]  # type: ignore[index]
            p = p.replace(default=list(p.default) if isinstance(p.default, (list, tuple)) else p.default)
        if p.name in helps:
            hint = Annotated[hint, typer.Option(help=helps[p.name])]
        params.append(p.replace(annotation=hint))

    def command(**kwargs: Any) -> Any:
        return main(**kwargs)

    command.__signature__ = inspect.Signature(params)  # type: ignore[attr-defined]
    command.__annotations__ = {p.name: p.annotation for p in params}
    command.__doc__, command.__name__ = summary, getattr(main, "__name__", "main")
    return command


@app.command(context_settings=_PASS_THROUGH, add_help_option=False)
def validate(ctx: typer.Context) -> None:
    """Validation of the model against the published effects (rlcraving.validation; --help for its options)."""
    _delegate("rlcraving.validation", "validate", ctx.args)


@app.command(context_settings=_PASS_THROUGH, add_help_option=False)
def population(ctx: typer.Context) -> None:
    """The headline study for up to millions of subjects, in chunks on processes or Ray, one Parquet table
    (rlcraving.experiments.population; --help for its options)."""
    _delegate("rlcraving.experiments.population", "population", ctx.args)


@app.command(context_settings=_PASS_THROUGH, add_help_option=False)
def bench(ctx: typer.Context) -> None:
    """Performance benchmarks (rlcraving.bench; --help for its options)."""
    _delegate("rlcraving.bench", "bench", ctx.args)


@app.command()
def trial(design_file: Annotated[Path, typer.Argument(metavar="DESIGN", help="trial design (YAML), e.g. "
                                                                         "experiments/shoptaw_2003.yaml")],
          trials: Annotated[int | None, typer.Option("--trials", "-n", min=1, max=100_000,
                                                     help="trials per size [default: the design's `trials`]")] = None,
          scale: Annotated[int | None, typer.Option("--scale", "-k", min=1, max=1000,
                                                    help="times the paper's sample size [default: each of the "
                                                         "design's `scales`]")] = None,
          seed: Annotated[int, typer.Option("--seed", min=0, help="random seed (same seed, same trials)")] = 0,
          out: OutOpt = None, quiet: QuietOpt = False) -> None:
    """Run a baclofen trial design many times: the distribution of effects and the in-silico power
    (a table of per-trial results and the power figure in the output folder)."""
    import pandas as pd

    from rlcraving.files import atomic_write_text, output_folder
    from rlcraving.trials import load_trial, power_figure, run_trials

    if not design_file.is_file():
        raise _fail(f"rlcraving trial: DESIGN={str(design_file)!r} is not a file; give a trial design (YAML), "
                    "e.g. experiments/shoptaw_2003.yaml", EXIT_BAD_INPUT)
    try:
        design = load_trial(design_file)
    except (ValueError, TypeError) as err:
        raise _fail(f"rlcraving trial: {err}", EXIT_BAD_INPUT) from None
    folder, _ = output_folder(Path("results") / design.name if out is None else out, "--out")
    scales = design.scales if scale is None else (scale,)
    results = []
    for k in scales:
        n_trials = design.trials if trials is None else trials
        if not quiet:
            typer.echo(f"{design.name}: {n_trials} trial(s) of {design.n_randomised * k} planned people "
                       f"({design.treatment_weeks} weeks of treatment), seed {seed} ...")
        start = time.perf_counter()
        results.append(run_trials(design, n_trials, scale=k, seed=seed))
        if not quiet:
            for line in _trial_summary(results[-1], time.perf_counter() - start):
                typer.echo(line)
    table = pd.concat([r.trials.assign(scale=r.scale, n_planned=design.n_randomised * r.scale) for r in results],
                      ignore_index=True)
    table_path = folder / f"{design.name}_trials.csv"
    atomic_write_text(table_path, table.to_csv(index=False))
    figure_path = power_figure(results, folder / f"{design.name}_power.png")
    if not quiet:
        typer.echo(f"per-trial results: {table_path}\nfigure: {figure_path}")


def _trial_summary(results: Any, seconds: float) -> list[str]:
    """Lines summarising many trials of one size: mean effect [95% bootstrap CI over trials], the
    trials' spread, the share with GEE p < 0.05 favouring baclofen, and the subgroup by baseline use."""
    import numpy as np

    from rlcraving.stats import bootstrap_ci, finite_mean

    t = results.trials
    effect = t["effect"].to_numpy()
    effect = effect[np.isfinite(effect)]   # a trial with an empty arm has no effect
    head = f"  {len(t)} trial(s), {t['n'].mean():.1f} randomised on average, in {seconds:.0f} s"
    if not effect.size:
        return [head, "  no trial could be analysed: in each, an arm had nobody randomised (raise n_randomised)"]
    lo, hi = bootstrap_ci(effect)
    spread = np.quantile(effect, [0.025, 0.975])
    unit = ("benzoylecgonine-free urines" if results.design.outcome == "negative_urines"
            else "confirmed abstinent weeks")
    fitted = int(t["gee_p"].notna().sum())
    empty = (f" ({len(t) - effect.size} trial(s) with an empty arm left out)" if effect.size < len(t) else "")
    return [
        head,
        f"  baclofen {t['outcome_baclofen'].mean():.2f} vs placebo {t['outcome_placebo'].mean():.2f} {unit} "
        f"per person: effect {effect.mean():+.2f} [95% CI {lo:+.2f}, {hi:+.2f}]; "
        f"trials spread {spread[0]:+.2f} to {spread[1]:+.2f}{empty}",
        f"  GEE p < 0.05 favouring baclofen: {results.power():.0%} of trials"
        + (f" ({len(t) - fitted} GEE fit(s) diverged or could not be made; counted as not significant)"
           if fitted < len(t) else ""),
        f"  subgroup by baseline use: heavier users {finite_mean(t['effect_heavy']):+.2f}, "
        f"lighter {finite_mean(t['effect_light']):+.2f}; interaction p < 0.05 in "
        f"{(t['gee_interaction_p'] < 0.05).mean():.0%} of trials"
        + (f" (not fitted in {missing}: one subgroup only, or a degenerate trial)"
           if (missing := int(t["gee_interaction_p"].isna().sum())) else ""),
    ]


@app.command(name="fit")
def fit_command(spec: Annotated[Path, typer.Argument(help="fit spec (YAML), e.g. experiments/fits/reinstatement.yaml")],
                data: Annotated[Path | None, typer.Argument(help="the data: tidy CSV or Parquet (subject, group, day, "
                                                                  "phase, measure, value)")] = None,
                out: OutOpt = None,
                check: Annotated[bool, typer.Option("--check", help="parameter recovery and calibration on "
                                                                    "simulated subjects")] = False,
                retrain: Annotated[bool, typer.Option("--retrain", help="train the estimator even if a matching "
                                                                        "one is saved")] = False,
                quiet: QuietOpt = False) -> None:
    """Fit the model to a lab's data: per-subject posteriors, group differences, figures, a report."""
    from rlcraving.fit import main

    try:
        main(spec, data, out=out, check_fit=check, retrain=retrain, quiet=quiet)
    except ValueError as err:
        typer.secho(f"rlcraving fit: {err}", err=True, fg=typer.colors.RED)
        raise typer.Exit(2) from None


if __name__ == "__main__":  # pragma: no cover
    app()
