"""Reading the store: `w2sg results` and `w2sg report`."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from w2sg.cli.common import WorkDir, _fail, _user_errors, app, console
from w2sg.cli.run import _print_table, _write_html


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
