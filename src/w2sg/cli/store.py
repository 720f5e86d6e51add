"""`w2sg store migrate`: bring a results store's old rows to the current shape, once (`w2sg.migrate`)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from w2sg.cli.common import WorkDir, app, console, out, user_errors

store_app = typer.Typer(add_completion=False, no_args_is_help=True, help="Maintain a results store.")
app.add_typer(store_app, name="store")


@store_app.command()
def migrate(
    workdir: WorkDir = Path("w2sg-runs"),
    dry_run: Annotated[bool, typer.Option("--dry-run", help="only say what would change")] = False,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="one line per changed row")] = False,
):
    """Rewrite rows stored before the supervisor redesign in the shape the pipeline writes now (idempotent; all
    rows in one transaction; numbers, hashes and test outcomes kept). A store it does not understand is refused."""
    from w2sg.migrate import migrate_store

    with user_errors():
        report = migrate_store(workdir / "results.sqlite", dry_run=dry_run)
    if verbose:
        for c in report.changes:
            out.print(escape(c.line()), highlight=False)
    console.print(escape(report.summary()), highlight=False)
