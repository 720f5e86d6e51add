"""How a task is named in a spec, a record and the experiment hash (imports nothing of w2sg: w2sg.config uses it)."""

from __future__ import annotations

from pathlib import Path

__all__ = ["is_task_file", "task_key", "task_name"]


def is_task_file(name: str) -> bool:
    """A task given as a YAML spec's path (rather than a registered task's name)."""
    return str(name).lower().endswith((".yaml", ".yml"))


def task_key(name: str) -> str:
    """A registered task: its name as given. A YAML spec that exists: its resolved path, relative to the working
    directory when the file lies inside it, else absolute; so `t.yaml`, `./t.yaml` and its absolute path are one
    task (and `tasks/x.yaml`, run from the folder above, keeps its key). Any other path is kept as given (loading
    it names the problem)."""
    if not is_task_file(name):
        return name
    path = Path(name)
    if not path.is_file():
        return name
    resolved, cwd = path.resolve(), Path.cwd().resolve()
    return resolved.relative_to(cwd).as_posix() if resolved.is_relative_to(cwd) else str(resolved)


def task_name(key: str) -> str:
    """How records and tables name the task of `key`: a registered task's name as given; a YAML spec's `name:`
    (its path is kept in the spec, the experiment hash and the record's `task_path`). A file that cannot be
    read, or that has no name, keeps its path."""
    if not is_task_file(key):
        return key
    try:
        import yaml

        name = yaml.safe_load(Path(key).read_text(encoding="utf-8")).get("name")
    except (OSError, UnicodeDecodeError, AttributeError, ValueError, yaml.YAMLError):
        return key
    return name.strip() if isinstance(name, str) and name.strip() else key
