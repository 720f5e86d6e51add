"""Where the offline task data lives: --data-dir, then $W2SG_DATA_DIR, then ../shared/data; None = the Hub."""

from __future__ import annotations

import os
from pathlib import Path

from w2sg.tasks.rows import DataNotFoundError

ENV_VAR = "W2SG_DATA_DIR"


def _repo_root() -> Path:
    # src/w2sg/tasks/datadir.py -> parents[3] is the repository root
    return Path(__file__).resolve().parents[3]


def candidate_dirs() -> list[tuple[str, Path]]:
    """The automatic fallbacks, in order, as (origin, path); used for lookup and for error messages."""
    return [
        ("../shared/data relative to the working directory", Path.cwd() / ".." / "shared" / "data"),
        ("../shared/data beside the repository", _repo_root() / ".." / "shared" / "data"),
    ]


def resolve_data_dir_with_origin(explicit: str | Path | None = None) -> tuple[Path | None, str]:
    """Like resolve_data_dir, also saying where the directory came from (for messages)."""
    if explicit is not None and str(explicit) != "":
        p = Path(explicit).expanduser()
        if not p.is_dir():
            raise DataNotFoundError(f"--data-dir '{explicit}' does not exist or is not a directory")
        return p.resolve(), "--data-dir"
    env = os.environ.get(ENV_VAR)
    if env:
        p = Path(env).expanduser()
        if not p.is_dir():
            raise DataNotFoundError(
                f"{ENV_VAR}='{env}' does not exist or is not a directory; fix it or unset it"
            )
        return p.resolve(), ENV_VAR
    for origin, p in candidate_dirs():
        if p.is_dir():
            return p.resolve(), origin
    return None, "Hugging Face Hub (no local data directory found)"


def resolve_data_dir(explicit: str | Path | None = None) -> Path | None:
    """The data directory to read tasks from, or None to load them from the Hugging Face Hub.

    Order: `explicit` (the --data-dir value; error if missing), $W2SG_DATA_DIR (error if set but missing),
    ../shared/data from the working directory, ../shared/data beside the repository, else None.
    """
    return resolve_data_dir_with_origin(explicit)[0]


def describe_search() -> str:
    """One line listing what resolve_data_dir looked at, for 'not found' messages."""
    env = os.environ.get(ENV_VAR)
    looked = [f"${ENV_VAR} ({'=' + env if env else 'unset'})"]
    looked += [str(p.resolve()) for _, p in candidate_dirs()]
    return "looked in: " + ", ".join(looked)
