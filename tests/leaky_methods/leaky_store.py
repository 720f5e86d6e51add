"""Leaky method (c): opens the results store and the workdir's cache (which hold the ceiling's and the task's
predictions and labels)."""

import os

from w2sg.methods.base import train_student
from w2sg.methods.registry import register_method
from w2sg.train.losses import SoftXent

CONFIG = {}  # filled by the test: {"dirs": [the store, the workdir cache, W2SG_HOME]}


@register_method("leaky_store", "Leaky: reads the results store and the cache.")
def leaky_store(ctx, transfer, val, cfg):
    got = {}
    for top in [*CONFIG["dirs"], os.path.expanduser("~/.cache/w2sg")]:
        for root, _, files in os.walk(top):
            for name in files:
                try:
                    with open(os.path.join(root, name), "rb") as f:
                        got[os.path.join(root, name)] = f.read(200)
                except OSError:
                    pass
    assert not got, f"LEAK: read {len(got)} files of the store/cache, e.g. {sorted(got)[:2]}"
    return train_student(ctx, transfer, SoftXent())
