"""Reading the store: `w2sg results` and `w2sg report`."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from w2sg.cli.common import WorkDir, _fail, _user_errors, app, console, out
from w2sg.cli.run import _print_table, _write_html

STATUSES = ("ok", "failed", "all")


def _warn(warnings: list[str]) -> None:
    from rich.markup import escape

    for w in warnings:
        console.print(f"[yellow]warning[/]: {escape(w)}", highlight=False)


def _first_line(text: str | None) -> str:
    lines = (text or "").strip().splitlines()
    return lines[0] if lines else "-"


def _print_failed(records: list[dict]) -> None:
    """The failed cells: what they were and the first line of their error (the full traceback is in the store:
    `w2sg results --status failed -f json`)."""
    from rich.table import Table

    t = Table(title=f"failed cells ({len(records)})")
    for c in ["task", "weak→strong", "mode", "method", "seed", "error"]:
        t.add_column(c)
    for r in records:
        t.add_row(str(r["task"]), f"{r['weak']}→{r['strong']}", str(r["mode"]), str(r["method"]), str(r["seed"]),
                  _first_line(r.get("error")))
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
):
    """Print the results store as a table, or export it (json: a list of records)."""
    from w2sg.store import ResultsStore, export, with_task_versions

    with _user_errors():
        if status not in STATUSES:
            raise ValueError(f"--status '{status}': use ok, failed or all")
        if not (workdir / "results.sqlite").exists():
            _fail(f"no results store at {workdir / 'results.sqlite'}; run `w2sg run` first or pass --workdir")
        recs = ResultsStore(workdir / "results.sqlite").records(status=None if status == "all" else status,
                                                                task=task, method=method)
        ok = [r for r in recs if r.get("status") == "ok"]
        failed = [r for r in recs if r.get("status") != "ok"]
        labelled, warnings = with_task_versions(ok)
        _warn(warnings)
        if format == "table":
            if ok or status == "ok":
                _print_table(labelled)
            if failed:
                _print_failed(failed)
            elif status == "failed":
                console.print("no failed cells")
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
    from w2sg.store import ResultsStore, with_task_versions

    if not (workdir / "results.sqlite").exists():
        _fail(f"no results store at {workdir / 'results.sqlite'}; run `w2sg run` first or pass --workdir")
    with _user_errors():  # a damaged store: one line naming it
        recs = ResultsStore(workdir / "results.sqlite").records(task=task, outcomes=True)
    if not recs:
        _fail(f"no results in {workdir / 'results.sqlite'}")
    _warn(with_task_versions(recs)[1])  # the reports label the versions and repeat the warning
    target = out_dir or workdir / "report"
    with _user_errors():  # an output path in the way: one line naming it
        console.print(f"report: {write_report(recs, target)}")
        _write_html(recs, target, "w2sg report")
