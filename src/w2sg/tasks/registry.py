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
# data_dir -> rows (standalone tasks ignore data_dir); datasets.DatasetDict -> rows. A task with
# `takes_notes` has loaders that also take `notes=` (a list they append what they dropped to).
LocalLoader = Callable[..., Rows]
HubLoader = Callable[..., Rows]
TaskKind = Literal["binary", "multiple_choice", "pairwise", "steps"]
KINDS: tuple[str, ...] = ("binary", "multiple_choice", "pairwise", "steps")


class UnknownTaskError(ValueError):
    """No task of that name is registered (and it is not a path to a YAML spec)."""


@dataclass(frozen=True)
class TaskDef:
    """A task: how to read it from the offline data directory and how to format it from the Hub.

    `kind` says what a row's item is: `binary` (one text, label = is it positive), `multiple_choice` (one
    text per candidate answer, the candidates of a question share a group), `pairwise` (a Comparison) or
    `steps` (a step-by-step solution cut after one step, `Example.steps`; the candidates of a problem share a
    group).
    """

    name: str
    description: str
    hub_id: str | None = None
    hub_config: str | None = None
    hub_data_dir: str | None = None  # datasets.load_dataset(hub_id, hub_config, data_dir=...) when set
    local: LocalLoader | None = None
    hub: HubLoader | None = None
    kind: str = "binary"
    files: tuple[str, ...] = ()  # paths (relative to the data dir, or absolute) the local loader reads
    standalone: bool = False  # True for tasks whose files are absolute (user YAML): no data dir or Hub involved
    origin: str = ""  # where the task was defined (a YAML file), for messages
    takes_notes: bool = False  # local/hub take `notes=`: a list to append what they dropped to

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"task '{self.name}': kind {self.kind!r} is not one of {', '.join(KINDS)}")

    def load_local(self, data_dir: Path, notes: list[str] | None = None) -> Rows:
        """The rows from the data directory; what the loader dropped is appended to `notes` (if it says)."""
        assert self.local is not None
        return self.local(data_dir, notes=notes) if self.takes_notes else self.local(data_dir)

    def load_hub(self, ds: Any, notes: list[str] | None = None) -> Rows:
        """The rows of a loaded Hub dataset; what the loader dropped is appended to `notes` (if it says)."""
        assert self.hub is not None
        return self.hub(ds, notes=notes) if self.takes_notes else self.hub(ds)

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
