"""Shared pieces of the command line: the typer app, consoles, error handling and progress bars."""

from __future__ import annotations

import errno
import os
import sys
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape

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


def quiet_progress_bars() -> None:
    """Turn off the progress bars of transformers and huggingface_hub ("Loading weights: ..."): in a log file
    or a pipe they are thousands of lines. Unless HF_HUB_DISABLE_PROGRESS_BARS is set (either way) by the user."""
    if "HF_HUB_DISABLE_PROGRESS_BARS" in os.environ:
        return
    os.environ["HF_HUB_DISABLE_PROGRESS_BARS"] = "1"  # read when huggingface_hub (so transformers) is imported
    if "huggingface_hub" in sys.modules:
        from huggingface_hub.utils import disable_progress_bars

        disable_progress_bars()
    if "transformers" in sys.modules:
        from transformers.utils import logging as transformers_logging

        transformers_logging.disable_progress_bar()


def _one_line_cache_warnings() -> None:
    """A damaged cache entry (file, damage, where it went) and a logger that failed mid-sweep are reported as one
    line, not Python's two-line form."""
    import warnings

    from w2sg.cache import CacheDamageWarning
    from w2sg.loggers import LoggerWarning

    default = warnings.showwarning

    def show(message, category, filename, lineno, file=None, line=None):
        if issubclass(category, CacheDamageWarning | LoggerWarning):
            from rich.markup import escape

            console.print(f"[yellow]warning[/]: {escape(str(message))}", highlight=False)
        else:
            default(message, category, filename, lineno, file, line)

    warnings.showwarning = show


@app.callback()
def _before_any_command() -> None:
    if not sys.stderr.isatty():
        quiet_progress_bars()
    _one_line_cache_warnings()


def fail(msg: str, code: int = 2):
    console.print(f"[bold red]error:[/] {escape(msg)}")  # escaped: messages quote lists such as [naive]
    raise typer.Exit(code)


def _os_path(e: OSError) -> str | None:
    """The path an OS error is about: its filename, else the innermost frame's `path` (a write that fails on a
    full disk names no file where a writer other than `outputs.write_atomic`, which names its target, fails)."""
    if e.filename is not None:
        return os.fsdecode(e.filename)
    found, tb = None, e.__traceback__
    while tb is not None:
        value = tb.tb_frame.f_locals.get("path")
        if isinstance(value, str | os.PathLike):
            found = value
        tb = tb.tb_next
    return None if found is None else os.fsdecode(found)


OUTPUT_FLAGS = "(--workdir, --report, --out, --output)"


def _os_message(e: OSError) -> str:
    """One line for an OS error, by errno, naming the path and the fix: disk full, no such folder, a file or a
    folder in the way, no permission, a read-only file system, a name too long. An error raised with a message of
    its own (no errno) is that message."""
    if e.errno is None and e.strerror is None:
        return str(e)
    path = _os_path(e)
    where = f"'{path}'" if path else "an output path"
    code, why = e.errno, e.strerror or type(e).__name__
    if code in (errno.ENOSPC, errno.EDQUOT):
        resume = ("; the steps that finished are cached: rerun the same command to resume"
                  if path and "cache" in Path(path).parts else "")
        return f"disk full writing {where} ({why}): free space or use --workdir elsewhere{resume}"
    if code == errno.ENOENT:
        parent = os.path.dirname(path.rstrip(os.sep)) if path else ""
        if parent and not os.path.isdir(parent):
            return f"no such folder: '{parent}' (for '{path}'): create it, or give a path in an existing folder"
        return f"no such file or folder: {where}: check the path"
    if code in (errno.EEXIST, errno.ENOTDIR):
        return (f"cannot write {where}: a file is in the way where a directory is needed ({why}); choose another "
                f"output path {OUTPUT_FLAGS} or move what is in the way")
    if code == errno.EISDIR:
        return (f"cannot write {where}: it is a directory, but a file is needed there ({why}); choose another "
                f"output path {OUTPUT_FLAGS} or move what is in the way")
    if code in (errno.EACCES, errno.EPERM):
        return (f"cannot write {where}: {why}; make it writable, or choose another output path {OUTPUT_FLAGS} "
                "or move what is in the way")
    if code == errno.EROFS:
        return f"cannot write {where}: it is on a read-only file system; use --workdir (or --out, --output) elsewhere"
    if code == errno.ENAMETOOLONG:
        return f"cannot use {where}: the name is too long for this file system ({why}); choose a shorter path"
    name = errno.errorcode.get(code, str(code)) if code is not None else type(e).__name__
    return f"{where}: {why} ({name}); check the path and the disk, or use --workdir elsewhere"


@contextmanager
def user_errors():
    """Known bad-input errors become one clear line and exit code 2, not a traceback."""
    from pydantic import ValidationError

    from w2sg.cli.validation import SpecError, field_lines
    from w2sg.config import OptionsError
    from w2sg.loggers import MissingPackageError
    from w2sg.models.zoo import ModelNotPresentError, UnknownModelError
    from w2sg.tasks import DataNotFoundError, MalformedRowError, UnknownTaskError
    from w2sg.train.loop import NonFiniteLossError

    try:
        yield
    except (ValidationError, OptionsError, SpecError) as e:  # one line per bad field, named as the user typed it
        *lines, last = field_lines(e)
        for line in lines:
            console.print(f"[bold red]error:[/] {escape(line)}")
        fail(last)
    except (UnknownTaskError, UnknownModelError, ModelNotPresentError, DataNotFoundError, MalformedRowError,
            NonFiniteLossError, ValueError, MissingPackageError) as e:
        fail(str(e))
    except OSError as e:  # every OS error by its errno: disk full, no such folder, in the way, no permission
        fail(_os_message(e))
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


def parse_l2(s: str | None) -> float | str | None:
    if s is None or s == "cv":
        return s
    try:
        return float(s)
    except ValueError:
        raise typer.BadParameter(f"--l2 '{s}' is neither a number nor 'cv'") from None


def parse_seeds(s: str) -> list[int]:
    """The --seeds flag: comma-separated integers in 0..2**31-1, at least one."""
    from w2sg.config import MAX_SEED

    parts = [x.strip() for x in s.split(",") if x.strip()]
    if not parts:
        raise ValueError("--seeds is empty; give comma-separated seeds, e.g. --seeds 0,1,2 (or leave the flag out)")
    seeds = []
    for x in parts:
        try:
            seed = int(x)
        except ValueError:
            raise ValueError(f"--seeds '{s}': '{x}' is not an integer; give comma-separated seeds, e.g. "
                             "--seeds 0,1,2") from None
        if not 0 <= seed <= MAX_SEED:
            raise ValueError(f"--seeds: seed {seed} is out of range; seeds must be integers in 0..{MAX_SEED}")
        seeds.append(seed)
    return seeds


def check_dir_option(path: Path | None, flag: str) -> None:
    """An output directory option must not be (or lie under) a file; checked before any work."""
    if path is None:
        return
    if flag != "--workdir":  # a report folder: never the results store, never inside a workdir's cache
        from w2sg.outputs import refuse_protected

        refuse_protected(path, None, flag, "report")
    for p in [path, *path.parents]:
        if p.exists():
            if not p.is_dir():
                inside = "" if p == path else f" ('{p}' is a file)"
                raise ValueError(f"{flag} '{path}' is not a directory{inside}: a file is in the way; give a "
                                 "directory (it is created if missing)")
            return


def _csv_ints(s: str) -> list[int]:
    try:
        return [int(x) for x in s.split(",") if x.strip()]
    except ValueError:
        raise typer.BadParameter(f"'{s}' is not a comma-separated list of integers, e.g. 0,1,2") from None
