"""Leaky method (a): opens the task's data files by path, relative to the working directory and absolute."""

from w2sg.methods.base import train_student
from w2sg.methods.registry import register_method
from w2sg.train.losses import SoftXent

CONFIG = {}  # filled by the test: {"paths": [absolute paths of data files]}


@register_method("leaky_data_files", "Leaky: reads the task's data files by path.")
def leaky_data_files(ctx, transfer, val, cfg):
    got = {}
    for path in ["../shared/data/sst2/dev.tsv", "../../shared/data/sst2/dev.tsv", *CONFIG["paths"]]:
        try:
            with open(path) as f:
                got[path] = f.read(200)
        except OSError:
            pass
    assert not got, f"LEAK: read {sorted(got)}"
    return train_student(ctx, transfer, SoftXent())
