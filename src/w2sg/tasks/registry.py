"""The task registry: what a task is (TaskDef) and the name -> task dict. It knows no YAML and no loaders."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from w2sg.tasks.schema import Example

__all__ = ["KINDS", "HubLoader", "LocalLoader", "Rows", "TaskDef", "TaskKind", "UnknownTaskError", "register_task",
           "registered"]

Rows = tuple[list[Example], list[Example] | None]  # (pool, test or None)
LocalLoader = Callable[[Path], Rows]  # data_dir -> rows (standalone tasks ignore data_dir)
HubLoader = Callable[[Any], Rows]  # datasets.DatasetDict -> rows
TaskKind = Literal["binary", "multiple_choice", "pairwise"]
KINDS: tuple[str, ...] = ("binary", "multiple_choice", "pairwise")


class UnknownTaskError(ValueError):
    """No task of that name is registered (and it is not a path to a YAML spec)."""


@dataclass(frozen=True)
class TaskDef:
    """A task: how to read it from the offline data directory and how to format it from the Hub.

    `kind` says what a row's item is: `binary` (one text, label = is it positive), `multiple_choice` (one
    text per candidate answer, the candidates of a question share a group) or `pairwise` (a Comparison).
    """

    name: str
    description: str
    hub_id: str | None = None
    hub_config: str | None = None
    local: LocalLoader | None = None
    hub: HubLoader | None = None
    kind: str = "binary"
    files: tuple[str, ...] = ()  # paths (relative to the data dir, or absolute) the local loader reads
    standalone: bool = False  # True for tasks whose files are absolute (user YAML): no data dir or Hub involved
    origin: str = ""  # where the task was defined (a YAML file), for messages

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"task '{self.name}': kind {self.kind!r} is not one of {', '.join(KINDS)}")

    def missing_files(self, data_dir: Path | None) -> list[Path]:
        base = Path("/") if self.standalone or data_dir is None else data_dir
        return [base / f for f in self.files if not (base / f).exists()]


_REGISTRY: dict[str, TaskDef] = {}


def register_task(task: TaskDef, *, overwrite: bool = False) -> TaskDef:
    """Add a task to the registry (an existing name is an error unless `overwrite`)."""
    if task.name in _REGISTRY and not overwrite:
        raise ValueError(f"task '{task.name}' is already registered")
    _REGISTRY[task.name] = task
    return task


def registered() -> dict[str, TaskDef]:
    """The registry itself (name -> task); callers that fill it in lazily live in catalog.py."""
    return _REGISTRY
