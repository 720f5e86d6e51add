"""Tasks: the registry, offline/Hub loaders, YAML task specs (built-ins included) and group-aware splits.

Import graph inside w2sg.tasks (acyclic, no function-level imports; A -> B: A imports B):
registry -> schema; checks -> schema; rows -> checks, schema; datadir -> rows; hooks -> rows; spec -> hooks;
splits -> checks, schema;
derive -> registry, rows, schema; transforms -> registry, rows, schema, spec;
yaml_task -> checks, derive, transforms, spec, hooks, registry, rows, schema;
catalog -> yaml_task, registry, datadir, rows, schema; keys imports nothing (w2sg.config uses it).
The built-in tasks are YAML specs packaged in builtin/ and registered by catalog on first use.
"""

from w2sg.tasks.catalog import get_task, list_tasks, load_task, task_summary
from w2sg.tasks.datadir import ENV_VAR, resolve_data_dir
from w2sg.tasks.hooks import HookContext, register_reader, register_row_hook
from w2sg.tasks.keys import task_key
from w2sg.tasks.registry import KINDS, TaskDef, UnknownTaskError, register_task
from w2sg.tasks.rows import DataNotFoundError, MalformedRowError
from w2sg.tasks.schema import Example, Splits, TaskData
from w2sg.tasks.spec import YamlTaskSpec, load_yaml_task_spec
from w2sg.tasks.splits import SingleClassSplitError, make_splits
from w2sg.tasks.yaml_task import task_from_spec, task_from_yaml

__all__ = [
    "ENV_VAR", "KINDS", "DataNotFoundError", "Example", "HookContext", "MalformedRowError",
    "SingleClassSplitError", "Splits", "TaskData", "TaskDef", "UnknownTaskError", "YamlTaskSpec", "get_task",
    "list_tasks", "load_task", "load_yaml_task_spec", "make_splits", "register_reader", "register_row_hook",
    "register_task", "resolve_data_dir", "task_from_spec", "task_from_yaml", "task_key", "task_summary",
]
