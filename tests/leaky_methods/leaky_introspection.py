"""Leaky method (d): walks the garbage collector's objects and the stack frames of its own process for label
arrays (an array equal to T's labels, labelled rows, a local variable named like labels)."""

import gc
import hashlib
import inspect
import re
import sys

import numpy as np

from w2sg.methods.base import train_student
from w2sg.methods.registry import register_method
from w2sg.train.losses import SoftXent

CONFIG = {}  # filled by the test: {"n": len(T), "sha": sha256 of T's labels as int64}
NAMED = re.compile(r"(^|_)(labels?|y_true|truth)($|_)")


def _is_labels(obj) -> bool:
    if isinstance(obj, np.ndarray) and obj.ndim == 1 and len(obj) == CONFIG["n"] and obj.dtype != object:
        return hashlib.sha256(np.asarray(obj).astype(np.int64).tobytes()).hexdigest() == CONFIG["sha"]
    return type(obj).__name__ == "Example" and hasattr(obj, "label")


@register_method("leaky_introspection", "Leaky: searches gc objects and stack frames for labels.")
def leaky_introspection(ctx, transfer, val, cfg):
    got = [type(o).__name__ for o in gc.get_objects() if _is_labels(o)]
    frames = [f.frame for f in inspect.stack()]
    f = sys._getframe()
    while f is not None:
        frames.append(f)
        f = f.f_back
    try:
        raise RuntimeError
    except RuntimeError as e:
        frames.append(e.__traceback__.tb_frame)
    for frame in frames:
        got += [k for k, v in frame.f_locals.items() if NAMED.search(k) and isinstance(v, np.ndarray | list)]
        got += [k for k, v in frame.f_locals.items() if _is_labels(v)]
    assert not got, f"LEAK: found labels in this process: {sorted(set(got))}"
    return train_student(ctx, transfer, SoftXent())
