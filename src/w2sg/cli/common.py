"""Shared pieces of the command line: the typer app, consoles, error handling and progress bars."""

from __future__ import annotations

import sys
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

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
