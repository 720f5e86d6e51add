"""`w2sg run` (a sweep with one value per axis, printed as tables) and `w2sg sweep` (a grid from YAML)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated, Any

import typer
import yaml
from rich.markup import escape
from rich.table import Table

from w2sg.cli.common import (
    DataDir,
    RichProgress,
    WorkDir,
    app,
    check_dir_option,
    console,
    out,
    parse_l2,
    parse_seeds,
    user_errors,
)
from w2sg.cli.tables import print_table
from w2sg.result import as_result

# `w2sg run` flags are shorthands for spec paths (anything else: --set path=value)
FLAG_PATHS = {
    "task": "tasks", "weak": "weak", "strong": "strong", "seeds": "seeds", "method": "methods",
    "budget": "budgets", "balance_test": "balance_test", "mode": "train.mode", "epochs": "train.epochs",
    "lr": "train.lr", "batch_size": "train.batch_size", "micro_batch_size": "train.micro_batch_size",
    "max_length": "train.max_length", "device": "train.device", "solver": "train.solver", "l2": "train.l2",
    "n_weak_train": "splits.n_weak_train", "n_transfer": "splits.n_transfer", "n_val": "splits.n_val",
    "n_test": "splits.n_test", "n_extra": "splits.n_extra", "balance": "splits.balance",
    "n_pool": "splits.n_pool",
}
LIST_AXES = {"tasks", "weak", "strong", "seeds", "methods", "budgets"}
ALIASES = {"task": "tasks", "method": "methods", "seed": "seeds", "budget": "budgets"}


def set_path(d: dict, path: str, value: Any) -> None:
    """Set a dotted spec path in a sweep dict. A list axis given one value becomes a one-element list; a path
    into `weak` (e.g. weak.error_rate) sets that option of every supervisor mapping."""
    keys = path.split(".")
    keys[0] = ALIASES.get(keys[0], keys[0])
    if keys[0] in LIST_AXES and len(keys) == 1:
        d[keys[0]] = value if isinstance(value, list) else [value]
        return
    if keys[0] == "weak":
        maps = [w for w in d.get("weak", []) if isinstance(w, dict)]
        if not maps:
            raise ValueError(f"--set {path}: the weak supervisor is a model alias; give a mapping first, e.g. "
                             "--set 'weak={kind: synthetic}'")
        for w in maps:
            set_path(w, ".".join(keys[1:]), value)
        return
    for k in keys[:-1]:
        if not isinstance(d.get(k, {}), dict):
            raise ValueError(f"--set {path}: '{k}' is not a section of the spec")
        d = d.setdefault(k, {})
    d[keys[-1]] = value


def parse_set(item: str) -> tuple[str, Any]:
    """'train.lr=1e-4' -> ('train.lr', 0.0001); values are YAML ('[0, 1]', '{kind: synthetic}', 'true')."""
    path, sep, raw = item.partition("=")
    if not sep or not path.strip():
        raise ValueError(f"--set '{item}': use path=value, e.g. --set train.lr=1e-4 or --set splits.n_val=0")
    try:
        value = yaml.safe_load(raw)
    except yaml.YAMLError as e:
        raise ValueError(f"--set '{item}': the value is not valid YAML: {e}") from None
    if isinstance(value, str) and _is_number(raw):
        value = float(raw)  # YAML reads 1e-4 as a string
    return path.strip(), value


def _is_number(s: str) -> bool:
    try:
        float(s)
        return True
    except ValueError:
        return False


def fit_default_splits(spec, data):
    """Default split sizes shrunk to fit a task whose pool is too small for them (e.g. hh_rlhf's 2,312 pairs
    for 3,200 default rows): every size scaled by the same factor, leaving 5% slack for whole groups. Returns
    (spec, note or None); only used when the user chose no split size."""
    sp = spec.splits
    sizes = {"n_weak_train": sp.n_weak_train, "n_transfer": sp.n_transfer, "n_val": sp.n_val,
             "n_extra": sp.n_extra} | ({} if data.test else {"n_test": sp.n_test})
    needed, available = sum(sizes.values()), len(data.pool)
    if needed <= available:
        return spec, None
    f = 0.95 * available / needed
    new = {k: max(2 if k != "n_val" and k != "n_extra" else 0, int(v * f)) for k, v in sizes.items()}
    note = (f"task '{data.name}' has {available} pool rows, fewer than the default split sizes need ({needed}); "
            "using " + ", ".join(f"{k}={v}" for k, v in new.items()) + " (choose with --n-weak-train, "
            "--n-transfer, --n-val, --n-test)")
    return spec.model_copy(update={"splits": sp.model_copy(update=new)}), note


def run_dict(config: Path | None, flags: dict[str, Any], sets: list[str]) -> dict[str, Any]:
    """The sweep `w2sg run` runs, as a dict: defaults (methods naive and confidence), then the YAML, then the
    flags, then every --set (later wins). `"splits" in` it says whether the user gave any split size."""
    from w2sg.config_io import read_yaml_mapping

    d: dict[str, Any] = {"name": "run", "methods": ["naive", "confidence"]}
    if config:
        for k, v in read_yaml_mapping(config).items():
            set_path(d, k, v) if k in ALIASES or k in LIST_AXES else d.__setitem__(k, v)
    for name, value in flags.items():
        if value is not None:
            set_path(d, FLAG_PATHS[name], value)
    for item in sets:
        set_path(d, *parse_set(item))
    return d


FLAG_NAMES = {"method": "-m", "budget": "-b"}  # the rest: --name-with-dashes


def run_sources(config: Path | None, flags: dict[str, Any], sets: list[str]):
    """Where each spec path of `run_dict` got its value, in the order applied (later overrides earlier): the
    YAML file's keys, the flags, the --set paths. Validation errors name the bad field by it."""
    from w2sg.cli.validation import Source, spec_path
    from w2sg.config_io import read_yaml_mapping

    out = [Source(spec_path(k), "config", str(config)) for k in (read_yaml_mapping(config) if config else {})]
    out += [Source(spec_path(FLAG_PATHS[n]), "flag", FLAG_NAMES.get(n, "--" + n.replace("_", "-")))
            for n, v in flags.items() if v is not None]
    return out + [Source(spec_path(item.partition("=")[0].strip()), "set") for item in sets]


def run_spec(config: Path | None, flags: dict[str, Any], sets: list[str], d: dict | None = None):
    """The validated SweepSpec of `run_dict` (pass `d` when it is already built); a validation error names
    each bad field by the flag, --set path or YAML key it came from (`cli.validation.SpecError`)."""
    from pydantic import ValidationError

    from w2sg.cli.validation import SpecError
    from w2sg.sweep import SweepSpec

    d = run_dict(config, flags, sets) if d is None else d
    try:
        return SweepSpec.model_validate(d)
    except ValidationError as e:
        raise SpecError(e, run_sources(config, flags, sets)) from None


@app.command()
def run(
    config: Annotated[Path | None, typer.Option("--config", "-c", help="YAML run spec (flags override it)")] = None,
    task: Annotated[str | None, typer.Option(help="task name or a task YAML (default sst2)")] = None,
    weak: Annotated[str | None, typer.Option(help="weak model alias/path/Hub id (default minilm); other "
                    "supervisors: --set 'weak={kind: synthetic, error_rate: 0.2}'")] = None,
    strong: Annotated[str | None, typer.Option(help="strong model (default mpnet)")] = None,
    method: Annotated[list[str] | None, typer.Option("--method", "-m",
                      help="W2S method(s), repeat or comma-separate (default naive,confidence); a chain: "
                      "generative_finetune+naive")] = None,
    seeds: Annotated[str | None, typer.Option(help="comma-separated seeds in 0..2**31-1 (default 0,1,2)")] = None,
    mode: Annotated[str | None, typer.Option(help="frozen | full | lora (default frozen)")] = None,
    n_weak_train: Annotated[int | None, typer.Option(help="|A| rows")] = None,
    n_transfer: Annotated[int | None, typer.Option(help="|B| rows")] = None,
    n_val: Annotated[int | None, typer.Option(help="|V| rows")] = None,
    n_test: Annotated[int | None, typer.Option(help="|T| rows (capped by the task's test file)")] = None,
    n_extra: Annotated[int | None, typer.Option(help="fresh weak-labelled rows (chain supervisors)")] = None,
    balance: Annotated[bool | None, typer.Option("--balance/--no-balance", help="balance classes")] = None,
    n_pool: Annotated[int | None, typer.Option(help="seeds re-split one fixed subset of this many rows (features "
                      "computed once for all seeds)")] = None,
    epochs: Annotated[float | None, typer.Option()] = None,
    lr: Annotated[float | None, typer.Option()] = None,
    batch_size: Annotated[int | None, typer.Option()] = None,
    micro_batch_size: Annotated[int | None, typer.Option(help="gradient accumulation micro-batch")] = None,
    max_length: Annotated[int | None, typer.Option(help="tokens; longer texts are truncated and counted")] = None,
    device: Annotated[str | None, typer.Option(help="auto | cpu | cuda | cuda:N | mps")] = None,
    solver: Annotated[str | None, typer.Option(help="frozen heads: lbfgs (to convergence, default) | sgd")] = None,
    l2: Annotated[str | None, typer.Option(help="frozen heads: L2 strength, or 'cv' (default: chosen by CV on "
                                           "the weak model's / ceiling's ground-truth rows)")] = None,
    budget: Annotated[list[str] | None, typer.Option("--budget", "-b", help="student training budget(s), repeat: "
                      "full (default: converged) | steps=N | early_stop | early_stop_oracle (ORACLE)")] = None,
    balance_test: Annotated[bool | None, typer.Option("--balance-test/--no-balance-test",
                            help="class-balanced accuracy on T (default on)")] = None,
    set_: Annotated[list[str] | None, typer.Option("--set", help="override any spec field: dotted.path=value "
                    "(YAML value), repeatable, e.g. --set train.cv_folds=3 --set 'weak={kind: synthetic}'")] = None,
    workdir: WorkDir = Path("w2sg-runs"),
    data_dir: DataDir = None,
    report: Annotated[Path | None, typer.Option(help="report directory (default WORKDIR/report)")] = None,
    force: Annotated[bool, typer.Option(help="recompute the experiments' supervisor, ceiling and student even if "
                                        "stored or cached (frozen features are reused)")] = False,
):
    """Run experiments (every method x budget x seed) and print the table; writes a Markdown report with a PNG.
    A run is a sweep with one task, supervisor and strong model."""
    with user_errors():
        check_dir_option(workdir, "--workdir")
        check_dir_option(report or workdir / "report", "--report")
        flags = {"task": task, "weak": weak, "strong": strong, "mode": mode, "n_weak_train": n_weak_train,
                 "n_transfer": n_transfer, "n_val": n_val, "n_test": n_test, "n_extra": n_extra,
                 "balance": balance, "n_pool": n_pool, "epochs": epochs, "lr": lr, "batch_size": batch_size,
                 "micro_batch_size": micro_batch_size, "max_length": max_length, "device": device,
                 "solver": solver, "l2": parse_l2(l2), "balance_test": balance_test,
                 "method": [m for item in method for m in item.split(",") if m.strip()] if method else None,
                 "seeds": parse_seeds(seeds) if seeds is not None else None,
                 "budget": [b for item in budget for b in item.split(";") if b.strip()] if budget else None}
        d = run_dict(config, flags, set_ or [])
        _run(run_spec(config, flags, set_ or [], d), workdir, data_dir, report, force, fit_splits="splits" not in d,
             sources=run_sources(config, flags, set_ or []))


def _run(spec, workdir: Path, data_dir, report_dir, force: bool, fit_splits: bool = False, sources=None) -> None:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    from w2sg.cli.validation import expand_named
    from w2sg.config import weak_label
    from w2sg.pipeline import Pipeline
    from w2sg.report.markdown import write_report
    from w2sg.sweep.grid import check_models

    t0 = time.perf_counter()
    check_devices(spec)
    loaded = {}
    if fit_splits and len(spec.tasks) == 1:  # default sizes on a small task: shrink them, and say so
        from w2sg.tasks import load_task

        loaded = {spec.tasks[0]: load_task(spec.tasks[0], data_dir)}
        spec, note = fit_default_splits(spec, loaded[spec.tasks[0]])
        if note:
            console.print(f"[yellow]note[/]: {escape(note)}", highlight=False)
    exps = expand_named(spec, sources)  # checks every cell before any work: supervisor, method, mode, ...
    for warning in check_models(spec, exps):  # models resolve (Hub reachable), --max-length fits: before any work
        console.print(f"[yellow]warning[/]: {escape(warning)}", highlight=False)
    tasks, weaks = ", ".join(spec.tasks), ", ".join(weak_label(w) for w in spec.weak)
    console.print("[bold]w2sg run[/]: " + escape(f"{tasks}, {weaks} → {', '.join(spec.strong)}, {spec.train.mode} "
                  f"mode, methods {', '.join(m.label for m in spec.methods)}, seeds {spec.seeds} "
                  f"({len(exps)} experiments)"))
    records = []
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                  console=console, transient=True) as bars:
        pipe = Pipeline(workdir, data_dir, progress=RichProgress(bars),
                        log=lambda s: console.print(s, markup=False, highlight=False))
        pipe.res.tasks.update(loaded)
        for name in spec.tasks:  # loaded once here, reused by the pipeline: what loading dropped, up front
            data = pipe.res.task(name)
            for note in data.notes:
                console.print(f"[yellow]note[/]: {escape(data.name)}: {escape(note)}", highlight=False)
        overall = bars.add_task("experiments", total=len(exps))
        for e in exps:
            console.print(f"[cyan]{escape(f'{e.task} {e.weak_label}→{e.strong} {e.method.label}')} seed={e.seed}[/]")
            records.append(pipe.run(e, force=force))
            bars.advance(overall)
    elapsed = time.perf_counter() - t0
    outcomes = pipe.store.outcomes(as_result(r).hash for r in records)  # the pooled CIs resample their test groups
    print_table(records, outcomes)
    md = write_report(records, report_dir or workdir / "report", outcomes=outcomes,
                      title=f"w2sg: {tasks}, {weaks} → {', '.join(spec.strong)} ({spec.train.mode})")
    console.print(escape(f"report: {md}  (figure: {md.parent / 'accuracy.png'})"))
    console.print(escape(f"results store: {workdir / 'results.sqlite'}  ·  wall time {elapsed:.1f}s"))


def check_devices(spec, fail: bool = True) -> None:
    """Where a run starts (not in spec validation: specs stay loadable on machines without a GPU): the devices
    the spec asks for (train.device and a train.device grid axis) exist here. `fail=False` only warns."""
    wanted = sorted({d for d in [spec.train.device, *spec.grid.get("train.device", [])]
                     if isinstance(d, str) and (d.startswith("cuda") or d == "mps")})
    if not wanted:
        return
    import torch

    for d in wanted:
        problem = None
        if d.startswith("cuda"):
            n = torch.cuda.device_count() if torch.cuda.is_available() else 0
            index = int(d.partition(":")[2] or 0) if d.partition(":")[2].isdigit() else 0
            if not torch.cuda.is_available():
                problem = "CUDA requested but torch.cuda.is_available() is False; use --device cpu or auto"
            elif index >= n:
                problem = (f"this machine has {n} CUDA device(s) (cuda:0..cuda:{n - 1}); use one of them, cuda "
                           "or auto")
        elif not (getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()):
            problem = "MPS requested but torch.backends.mps.is_available() is False; use --device cpu or auto"
        if problem:
            if fail:
                raise ValueError(f"--device {d} (train.device): {problem}")
            console.print(f"[yellow]warning[/]: --device {escape(d)} (train.device): {escape(problem)}; a run "
                          "on this machine would stop here", highlight=False)


@app.command()
def sweep(
    grid: Annotated[Path, typer.Argument(help="sweep YAML: tasks, weak, strong, methods, seeds, grid, ...")],
    dry_run: Annotated[bool, typer.Option("--dry-run", help="list what is cached / to compute, with a cost "
                                          "estimate, and exit")] = False,
    executor: Annotated[str, typer.Option(help="local | processes | ray")] = "local",
    workers: Annotated[int, typer.Option(min=1, help="worker processes (local/processes) or Ray task slots "
                                         "(at least 1)")] = 1,
    address: Annotated[str | None, typer.Option(help="Ray cluster address (default: start a local one)")] = None,
    logger: Annotated[list[str] | None, typer.Option(help="also log to wandb and/or mlflow")] = None,
    workdir: WorkDir = Path("w2sg-runs"),
    data_dir: DataDir = None,
    report: Annotated[bool, typer.Option("--report/--no-report", help="write the HTML report at the end")] = True,
):
    """Run a grid of experiments; completed cells are skipped, failed cells are recorded and the sweep goes on."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    from w2sg.cli.validation import expand_named, load_sweep
    from w2sg.loggers import make_loggers
    from w2sg.sweep import dry_run as plan_dry_run
    from w2sg.sweep import run_sweep
    from w2sg.sweep.grid import check_models

    with user_errors():
        check_dir_option(workdir, "--workdir")
        if report:
            check_dir_option(Path(workdir) / "report", "--workdir")
        spec, sources = load_sweep(grid)
        check_devices(spec, fail=not dry_run)
        loggers = [] if dry_run else make_loggers(logger)
        # every cell is checked (supervisor, method options), models resolve (Hub reachable), max_length fits:
        # before any work
        for warning in check_models(spec, expand_named(spec, sources)):
            console.print(f"[yellow]warning[/]: {escape(warning)}", highlight=False)
        if dry_run:
            rows = plan_dry_run(spec, workdir, data_dir)
            t = Table(title=f"sweep '{spec.name}': {len(rows)} cells (dry run)")
            for c in ["cell", "state", "weak", "ceiling", "student", "new feature texts", "est. s"]:
                t.add_column(c)
            for r in rows:
                t.add_row(escape(r["cell"]), "done" if r["done"] else "to compute",
                          *("cached" if r[f"{k}_cached"] else "-" for k in ("weak", "ceiling", "student")),
                          str(r["new_feature_texts"]), f"{r['est_seconds']:.0f}")
            out.print(t)
            todo = [r for r in rows if not r["done"]]
            out.print(f"{len(rows) - len(todo)} done, {len(todo)} to compute; rough cost "
                      f"{sum(r['est_seconds'] for r in todo) / 60:.1f} min on this machine")
            return
        counts = {"done": 0, "failed": 0}
        with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                      console=console) as bars:
            bar: dict = {}

            def on_event(kind: str, info: dict):
                if kind == "plan":
                    bar["cells"] = bars.add_task(f"cells ({info['skipped']} cached)", total=info["cells"],
                                                 completed=info["skipped"])
                    bar["jobs"] = bars.add_task("jobs", total=info["jobs"])
                    return
                bars.advance(bar["jobs"])
                if kind == "cell":
                    counts["failed" if info["error"] else "done"] += 1
                    bars.advance(bar["cells"])
                    bars.update(bar["cells"], description=f"cells (done {counts['done']}, failed {counts['failed']})")
                if info.get("error"):
                    console.print(f"[red]failed[/] {escape(str(info['label']))}: {escape(str(info['error']))}",
                                  highlight=False)

            rep = run_sweep(spec, workdir, data_dir, executor=executor, workers=workers, address=address,
                            on_event=on_event, loggers=loggers)
        console.print(f"sweep '{escape(spec.name)}': {rep.cells} cells, {rep.skipped} already done, "
                      f"{rep.computed} computed, "
                      f"{rep.failed} failed in {rep.seconds:.1f}s ({executor}, {workers} worker(s))")
        if report:
            from w2sg.store import ResultsStore

            write_html(ResultsStore(Path(workdir) / "results.sqlite").records(outcomes=True), Path(workdir) / "report",
                        f"w2sg sweep: {spec.name}")
        if rep.failed:
            raise typer.Exit(1)


def write_html(records: list[dict], out_dir: Path, title: str) -> None:
    try:
        from w2sg.report.html import write_html_report
    except ImportError:  # pragma: no cover
        from w2sg.report.markdown import write_report

        console.print(f"report: {escape(str(write_report(records, out_dir, title)))}")
        return
    html, md = write_html_report(records, out_dir, title)
    console.print(escape(f"report: {html} and {md}"))
