"""Tasks: the registry, offline/Hub loaders, YAML task specs and group-aware splits."""

from w2sg.tasks.datadir import ENV_VAR, resolve_data_dir
from w2sg.tasks.registry import (
    TaskDef,
    UnknownTaskError,
    get_task,
    list_tasks,
    load_task,
    register_task,
    task_summary,
)
from w2sg.tasks.rows import DataNotFoundError, MalformedRowError
from w2sg.tasks.schema import Example, Pair, Splits, TaskData
from w2sg.tasks.splits import SingleClassSplitError, make_splits
from w2sg.tasks.yaml_task import YamlTaskSpec, load_yaml_task_spec, task_from_yaml

__all__ = [
    "ENV_VAR", "DataNotFoundError", "Example", "MalformedRowError", "Pair", "SingleClassSplitError", "Splits",
    "TaskData", "TaskDef", "UnknownTaskError", "YamlTaskSpec", "get_task", "list_tasks", "load_task",
    "load_yaml_task_spec", "make_splits", "register_task", "resolve_data_dir", "task_from_yaml",
    "task_summary",
]
