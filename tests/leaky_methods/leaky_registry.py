"""Leaky method (b): imports w2sg and loads the task's labelled rows through the task registry."""

from w2sg.methods.base import train_student
from w2sg.methods.registry import register_method
from w2sg.train.losses import SoftXent

CONFIG = {}  # filled by the test: {"task": name, "data_dir": the parent's data directory}


@register_method("leaky_registry", "Leaky: loads the task (with its labels) through w2sg's registry.")
def leaky_registry(ctx, transfer, val, cfg):
    got = []
    try:
        from w2sg.tasks.catalog import load_task

        data = load_task(CONFIG["task"], CONFIG["data_dir"])
        got = [r.label for r in (data.test or data.pool)]
    except Exception:  # noqa: BLE001 - a leak is what it obtained, not how it failed
        pass
    assert not got, f"LEAK: loaded {len(got)} labelled rows of {CONFIG['task']}"
    return train_student(ctx, transfer, SoftXent())
