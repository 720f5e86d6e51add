"""Input checks shared by the metric modules: P(y=1) vectors, 0/1 labels, group ids, equal lengths, and
the JSON-safe scalars of a record. Private: import the public names from `w2sg.metrics`."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

THRESHOLD = 0.5


def as_probs(x: Any, name: str = "probs") -> np.ndarray:
    """Return a finite 1-D float vector of P(y=1); an (n, 2) array is read as [p0, p1]."""
    a = np.asarray(x, dtype=np.float64)
    if a.ndim == 2 and a.shape[1] == 2:
        a = a[:, 1]
    if a.ndim != 1:
        raise ValueError(f"{name}: expected a 1-D vector of P(y=1), got shape {a.shape}")
    if not np.isfinite(a).all():
        raise ValueError(f"{name}: contains NaN or inf; pass finite probabilities")
    return a


def as_labels(y: Any, name: str = "labels") -> np.ndarray:
    """Return a 1-D int vector of 0/1 labels."""
    a = np.asarray(y)
    if a.ndim != 1:
        raise ValueError(f"{name}: expected a 1-D vector of 0/1 labels, got shape {a.shape}")
    if a.size and not np.isin(a, (0, 1)).all():
        raise ValueError(f"{name}: labels must be 0/1, found values {np.unique(a)[:6].tolist()}")
    return a.astype(np.int64)


def same_length(**arrays: np.ndarray) -> int:
    lengths = {k: len(v) for k, v in arrays.items()}
    if len(set(lengths.values())) > 1:
        raise ValueError(f"inputs must have the same length, got {lengths}")
    return next(iter(lengths.values()))


def probs_in_unit(x: Any, name: str) -> np.ndarray:
    a = as_probs(x, name)
    if a.size and (a.min() < 0 or a.max() > 1):
        raise ValueError(f"{name}: probabilities must lie in [0, 1], found range [{a.min():.4g}, {a.max():.4g}]")
    return a


def as_groups(groups: Any, name: str = "groups") -> np.ndarray:
    """Group id per row (1-D; any values, compared as strings)."""
    g = np.asarray(groups, dtype=object)
    if g.ndim != 1:
        raise ValueError(f"{name}: expected a 1-D sequence of group ids, got shape {g.shape}")
    return g.astype(str)


def json_safe(v: Any) -> Any:
    """Python scalar with NaN/inf -> None."""
    if isinstance(v, (bool, np.bool_)):
        return bool(v)
    if isinstance(v, (int, np.integer)):
        return int(v)
    if isinstance(v, (float, np.floating)):
        return float(v) if math.isfinite(v) else None
    return v

