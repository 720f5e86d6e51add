"""How a task is named in a spec, a record and the experiment hash (imports nothing of w2sg: w2sg.config uses it)."""

from __future__ import annotations

from pathlib import Path

__all__ = ["task_key"]


def task_key(name: str) -> str:
    """A registered task: its name as given. A YAML spec that exists: its resolved path, relative to the working
    directory when the file lies inside it, else absolute; so `t.yaml`, `./t.yaml` and its absolute path are one
    task (and `tasks/x.yaml`, run from the folder above, keeps its key). Any other path is kept as given (loading
    it names the problem)."""
    if not str(name).lower().endswith((".yaml", ".yml")):
        return name
    path = Path(name)
    if not path.is_file():
        return name
    resolved, cwd = path.resolve(), Path.cwd().resolve()
    return resolved.relative_to(cwd).as_posix() if resolved.is_relative_to(cwd) else str(resolved)
