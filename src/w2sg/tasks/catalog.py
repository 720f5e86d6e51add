"""Looking tasks up and loading them: built-ins (packaged YAML), registered tasks, YAML specs by path."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from w2sg.tasks.datadir import ENV_VAR, describe_search, resolve_data_dir_with_origin
from w2sg.tasks.registry import Rows, TaskDef, UnknownTaskError, register_task, registered
from w2sg.tasks.rows import DataNotFoundError, finalize
from w2sg.tasks.schema import Example, TaskData
from w2sg.tasks.yaml_task import builtin_tasks, task_from_yaml

__all__ = ["get_task", "list_tasks", "load_task", "task_summary"]

_builtins_loaded = False


def _ensure_builtins() -> None:
    """Register the packaged built-in specs once (a task registered earlier under the same name stays)."""
    global _builtins_loaded
    if _builtins_loaded:
        return
    from w2sg.tasks.chains import builtin_chain_tasks

    for task in [*builtin_tasks(), *builtin_chain_tasks()]:
        if task.name not in registered():
            register_task(task)
    _builtins_loaded = True


def list_tasks() -> list[str]:
    """Names of all registered tasks, sorted."""
    _ensure_builtins()
    return sorted(registered())


def get_task(name: str) -> TaskDef:
    """A registered task by name, or a YAML spec when `name` ends in .yaml/.yml."""
    if str(name).lower().endswith((".yaml", ".yml")):
        return task_from_yaml(name, lookup=get_task)  # a derived spec may name a built-in as its source
    _ensure_builtins()
    try:
        return registered()[name]
    except KeyError:
        raise UnknownTaskError(
            f"task '{name}' not found; known tasks: {', '.join(sorted(registered()))}. "
            "To define your own, pass the path of a YAML task spec (*.yaml; see examples/custom_task/)."
        ) from None


def _how_to_point() -> str:
    return (f"point to the offline data with --data-dir DIR or {ENV_VAR}=DIR "
            "(DIR = the folder that holds sst2/, boolq/, ...)")


def _load_from_hub(task: TaskDef, notes: list[str]) -> tuple[Rows, str]:
    if task.hub is None or task.hub_id is None:
        raise DataNotFoundError(f"task '{task.name}': no local data directory found ({describe_search()}) "
                                f"and the task has no Hugging Face Hub source; {_how_to_point()}")
    parts = [p for p in (task.hub_config, task.hub_data_dir) if p]
    hub_name = task.hub_id + (f" ({', '.join(parts)})" if parts else "")
    try:
        import datasets
    except ImportError:
        raise DataNotFoundError(
            f"task '{task.name}': no local data directory found ({describe_search()}), and loading "
            f"{hub_name} from the Hugging Face Hub needs the `datasets` package (pip install 'w2sg[hub]'); "
            f"or {_how_to_point()}"
        ) from None
    try:
        extra = {"data_dir": task.hub_data_dir} if task.hub_data_dir else {}
        ds = datasets.load_dataset(task.hub_id, task.hub_config, **extra)
    except Exception as e:  # offline, unknown id, auth, ...: all mean "no data"
        raise DataNotFoundError(
            f"task '{task.name}': no local data directory found ({describe_search()}), and "
            f"{hub_name} could not be loaded from the Hugging Face Hub ({type(e).__name__}: {e}); "
            f"{_how_to_point()}"
        ) from e
    return task.load_hub(ds, notes), f"hf://{task.hub_id}" + "".join(f"/{p}" for p in parts)


def load_task(name: str, data_dir: str | Path | None = None) -> TaskData:
    """Load a task's rows (deduplicated, test texts removed from the pool, fingerprinted)."""
    task = get_task(name)
    notes: list[str] = []  # what the loaders dropped (row hooks, derived tasks)
    if task.standalone:
        assert task.local is not None
        missing = task.missing_files(None)
        if missing:
            raise DataNotFoundError(f"task '{task.name}': data file(s) not found: "
                                    + ", ".join(map(str, missing)))
        (pool, test), source = task.load_local(Path("/"), notes), ", ".join(task.files) or "generated"
    else:
        root, origin = resolve_data_dir_with_origin(data_dir)
        if root is None or task.local is None:
            (pool, test), source = _load_from_hub(task, notes)
        else:
            missing = task.missing_files(root)
            if missing:
                raise DataNotFoundError(
                    f"task '{task.name}': data not found in {root} (from {origin}); missing: "
                    + ", ".join(map(str, missing)) + f"; {_how_to_point()}"
                    + (f", or load {task.hub_id} from the Hub by leaving both unset with no ../shared/data"
                       if task.hub_id else "")
                )
            (pool, test), source = task.load_local(root, notes), str(root)
    return finalize(task.name, pool, test, source, notes)


def _pos_frac(rows: list[Example] | None) -> float | None:
    return round(sum(r.label for r in rows) / len(rows), 4) if rows else None


def task_summary(name: str, data_dir: str | Path | None = None) -> dict[str, Any]:
    """What `w2sg tasks` prints per task: presence, row counts and positive fractions; never downloads."""
    task = get_task(name)
    out: dict[str, Any] = {
        "name": task.name, "description": task.description, "kind": task.kind, "hub_id": task.hub_id,
        "hub_config": task.hub_config, "present": False, "source": None, "n_pool": None, "n_test": None,
        "n_groups": None, "pos_frac_pool": None, "pos_frac_test": None, "notes": [],
        "fingerprint": None, "error": None,
    }
    try:
        root = None if task.standalone else resolve_data_dir_with_origin(data_dir)[0]
    except DataNotFoundError as e:
        out["error"] = str(e)
        return out
    if not task.standalone and (root is None or task.local is None):
        out["error"] = "no local data; would load from the Hub" if task.hub_id else "no local data"
        return out
    if task.missing_files(root):
        out["error"] = "missing: " + ", ".join(map(str, task.missing_files(root)))
        return out
    try:
        data = load_task(name, data_dir)
    except (DataNotFoundError, ValueError) as e:
        out["error"] = str(e)
        return out
    out.update(
        present=True, source=data.source, n_pool=len(data.pool), n_test=len(data.test) if data.test else 0,
        n_groups=len({r.group for r in data.pool}), pos_frac_pool=_pos_frac(data.pool),
        pos_frac_test=_pos_frac(data.test), notes=list(data.notes), fingerprint=data.fingerprint,
    )
    return out
