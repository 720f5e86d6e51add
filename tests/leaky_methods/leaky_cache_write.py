"""Leaky method (g): writes into the parent's cache (poisoning a cached feature file, adding its own)."""

import os

from w2sg.methods.base import train_student
from w2sg.methods.registry import register_method
from w2sg.train.losses import SoftXent

CONFIG = {}  # filled by the test: {"cache_dir": the parent's cache dir, "existing": a file in it}


@register_method("leaky_cache_write", "Leaky: writes into the parent's cache directory.")
def leaky_cache_write(ctx, transfer, val, cfg):
    got = []
    try:
        os.makedirs(CONFIG["cache_dir"], exist_ok=True)
        with open(os.path.join(CONFIG["cache_dir"], "poisoned.npy"), "wb") as f:
            f.write(b"poison")
        got.append("poisoned.npy")
    except OSError:
        pass
    try:
        with open(CONFIG["existing"], "wb") as f:
            f.write(b"overwritten")
        got.append(CONFIG["existing"])
    except OSError:
        pass
    assert not got, f"LEAK: wrote {got} into the parent's cache"
    return train_student(ctx, transfer, SoftXent())
