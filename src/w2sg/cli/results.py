"""Reading the store: `w2sg results` and `w2sg report`."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from w2sg.cli.common import WorkDir, app, console, fail, out, user_errors
from w2sg.cli.run import write_html
from w2sg.cli.tables import print_table
from w2sg.result import as_result, as_results
from w2sg.tasks.keys import task_key

STATUSES = ("ok", "failed", "all")


def _warn(warnings: list[str]) -> None:
    from rich.markup import escape

    for w in warnings:
        console.print(f"[yellow]warning[/]: {escape(w)}", highlight=False)


def _first_line(text: str | None) -> str:
    lines = (text or "").strip().splitlines()
    return lines[0] if lines else "-"


def _print_failed(records: list) -> None:
    """The failed cells: what they were and the first line of their error (the full traceback is in the store:
    `w2sg results --status failed -f json`)."""
    from rich.markup import escape
    from rich.table import Table

    t = Table(title=f"failed cells ({len(records)})")
    for c in ["task", "weak→strong", "mode", "method", "seed", "error"]:
        t.add_column(c)
    for r in as_results(records):
        t.add_row(*(escape(str(c)) for c in (r.task, f"{r.weak}→{r.strong}", r.mode, r.method, r.seed,
                                              _first_line(r.error))))
    out.print(t)


@app.command()
def results(
    workdir: WorkDir = Path("w2sg-runs"),
    format: Annotated[str, typer.Option("--format", "-f", help="table | json | csv | parquet")] = "table",
    output: Annotated[Path | None, typer.Option("--output", "-o", help="write to a file")] = None,
    task: Annotated[str | None, typer.Option(help="filter by task")] = None,
    method: Annotated[str | None, typer.Option(help="filter by method")] = None,
    status: Annotated[str, typer.Option(help="ok | failed | all: which cells (failed ones show their error's "
                                              "first line)")] = "ok",
    summary: Annotated[bool, typer.Option("--summary", help="one row per (task, pair, method, budget, supervisor) "
                                          "over all seeds: seed means and the pooled PGR with its CI over seeds "
                                          "and test groups (json/csv: pgr_acc_pooled, ..._ci_low/_ci_high, "
                                          "n_seeds, n_undefined)")] = False,
):
    """Print the results store as a table, or export it (json: a list of records)."""
    from w2sg.outputs import refuse_protected
    from w2sg.store import ResultsStore, export, with_task_versions

    with user_errors():
        if status not in STATUSES:
            raise ValueError(f"--status '{status}': use ok, failed or all")
        if output is not None:  # before any work: never over the store, never into the cache
            refuse_protected(output, workdir, "--output", f"results.{format}")
        if not (workdir / "results.sqlite").exists():
            fail(f"no results store at {workdir / 'results.sqlite'}; run `w2sg run` first or pass --workdir")
        store = ResultsStore(workdir / "results.sqlite")
        if summary:
            return _summary(store, format, output, task and task_key(task), method, workdir)
        recs = store.records(status=None if status == "all" else status, task=task and task_key(task),
                             method=method)
        ok = [r for r in recs if as_result(r).status == "ok"]
        failed = [r for r in recs if as_result(r).status != "ok"]
        labelled, warnings = with_task_versions(ok)
        _warn(warnings)
        if format == "table":
            if ok or status == "ok":
                print_table(labelled)
            if failed:
                _print_failed(failed)
            elif status == "failed":
                console.print("no failed cells")
            return
        text = export(recs, format, output, workdir)
        if text is not None:
            sys.stdout.write(text + ("" if text.endswith("\n") else "\n"))
        else:
            console.print(f"wrote {len(recs)} records to {escape(str(output))}")


def _summary(store, format: str, output: Path | None, task: str | None, method: str | None,
             workdir: Path | None = None) -> None:
    from w2sg.cli.tables import print_summary
    from w2sg.report.summary import summarize
    from w2sg.store import export

    recs = store.records(task=task, method=method, outcomes=True)
    if format == "table":
        print_summary(recs)
        return
    rows = summarize(recs)
    text = export(rows, format, output, workdir)
    if text is not None:
        sys.stdout.write(text + ("" if text.endswith("\n") else "\n"))
    else:
        console.print(f"wrote {len(rows)} summary rows to {escape(str(output))}")


@app.command()
def compare(
    method_a: Annotated[str, typer.Argument(help="a method label as the store names it, e.g. naive")],
    method_b: Annotated[str, typer.Argument(help="the method to compare it with, e.g. confidence")],
    workdir: WorkDir = Path("w2sg-runs"),
    metric: Annotated[str, typer.Option(help="acc | auroc")] = "acc",
    format: Annotated[str, typer.Option("--format", "-f", help="table | json | csv")] = "table",
    n_boot: Annotated[int, typer.Option(min=100, help="bootstrap replicates")] = 1000,
    weak: Annotated[str | None, typer.Option(help="only rows of this supervisor (the store's weak column, e.g. "
                                             "minilm)")] = None,
    strong: Annotated[str | None, typer.Option(help="only rows of this strong model")] = None,
    task: Annotated[list[str] | None, typer.Option("--task", "-t", help="only these tasks (repeatable; default "
                                                   "every task where both methods ran)")] = None,
):
    """Method A vs method B, paired by seed, per task and across tasks: the difference in student score and in
    PGR with 95% CIs (tasks → seeds → test groups), Wilcoxon and paired-t p over tasks, and a verdict."""
    from rich.table import Table

    from w2sg.report.compare import compare_records
    from w2sg.report.summary import fmt
    from w2sg.store import ResultsStore, export, matches_task

    with user_errors():
        if metric not in ("acc", "auroc"):
            raise ValueError(f"--metric '{metric}': use acc or auroc")
        if not (workdir / "results.sqlite").exists():
            fail(f"no results store at {workdir / 'results.sqlite'}; run `w2sg run` first or pass --workdir")
        recs = ResultsStore(workdir / "results.sqlite").records(outcomes=True, weak=weak, strong=strong)
        if task:
            recs = [r for r in recs if matches_task(r, [t for arg in task for t in arg.split(",") if t])]
        known = sorted({str(r.method) for r in as_results(recs)})
        for m in (method_a, method_b):
            if m not in known:
                raise ValueError(f"method '{m}' has no results in {workdir / 'results.sqlite'}; known: "
                                 f"{', '.join(known) or 'none'}")
        result, notes = compare_records(recs, method_a, method_b, metric, n_boot=n_boot)
    _warn(notes)
    if format != "table":
        text = export(result.rows(), format, None)
        sys.stdout.write(text + ("" if text.endswith("\n") else "\n"))
        return

    def ci(lo, hi, d=3):
        return f"[{'-inf' if lo is None else fmt(lo, d)}, {'+inf' if hi is None else fmt(hi, d)}]"

    t = Table(title=f"{method_a} − {method_b} ({metric}), paired by seed; 95% CIs over seeds and test groups")
    for c in ["task", "seeds", f"Δ student {metric}", "Δ PGR", "verdict"]:
        t.add_column(c)
    for r in result.tasks:
        dp = (f"{fmt(r.diff_pgr, 2)} {ci(*r.diff_pgr_ci, d=2)}" if r.gap_resolved else "gap not resolved")
        t.add_row(escape(r.task), str(r.n_seeds), f"{fmt(r.diff_student)} {ci(*r.diff_student_ci)}", dp, r.verdict)
    p = (f"Wilcoxon p {fmt(result.wilcoxon_p)}, paired t p {fmt(result.ttest_p)}" if result.wilcoxon_p is not None
         else "")
    t.add_row("overall", f"{len(result.admitted)}/{len(result.tasks)} tasks",
              f"{fmt(result.diff_student_mean)} {ci(*result.diff_student_ci)}",
              f"{fmt(result.diff_pgr_mean, 2)} {ci(*result.diff_pgr_ci, d=2)}" if result.admitted else "no task",
              f"{result.verdict} {p}".strip())
    out.print(t)
    console.print(f"overall Δ PGR: mean over the {result.rule} ({len(result.admitted)} of {len(result.tasks)}); "
                  "Δ student: mean over every task; CIs resample tasks, then seeds, then test groups")


@app.command("report")
def report_cmd(workdir: WorkDir = Path("w2sg-runs"),
               out_dir: Annotated[Path | None, typer.Option("--out", help="default WORKDIR/report")] = None,
               task: Annotated[str | None, typer.Option(help="only this task")] = None):
    """From the results store alone: report.md + accuracy.png, and one self-contained report.html with the
    standard W2SG figures (student vs ceiling, PGR heatmap, PGR vs gap, methods, agreement)."""
    from w2sg.outputs import refuse_protected
    from w2sg.report.markdown import write_report
    from w2sg.store import ResultsStore, with_task_versions

    if not (workdir / "results.sqlite").exists():
        fail(f"no results store at {workdir / 'results.sqlite'}; run `w2sg run` first or pass --workdir")
    with user_errors():  # a damaged store: one line naming it
        recs = ResultsStore(workdir / "results.sqlite").records(task=task, outcomes=True)
    if not recs:
        fail(f"no results in {workdir / 'results.sqlite'}")
    _warn(with_task_versions(recs)[1])  # the reports label the versions and repeat the warning
    target = out_dir or workdir / "report"
    with user_errors():  # an output path in the way: one line naming it
        refuse_protected(target, workdir, "--out", "report")
        console.print(f"report: {escape(str(write_report(recs, target)))}")
        write_html(recs, target, "w2sg report")
