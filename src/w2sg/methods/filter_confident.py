"""Confident-label filtering: the student trains on the transfer rows whose weak labels are most confident."""

from __future__ import annotations

import math

import numpy as np
from pydantic import Field

from w2sg.methods.base import MethodConfig, train_student
from w2sg.methods.registry import register_method
from w2sg.train.losses import SoftXent


class FilterConfig(MethodConfig):
    q: float = Field(0.5, gt=0, le=1, description="fraction of transfer rows kept, most confident first")


def confident_rows(weak_p1: np.ndarray, q: float, seed: int = 0) -> np.ndarray:
    """Indices (ascending) of the ceil(q * n) rows with the largest weak confidence |p - 0.5|; rows of equal
    confidence are ordered at random (seeded), so that hard labels, whose confidences all tie, keep a random
    subset rather than the first rows in file order."""
    weak_p1 = np.asarray(weak_p1, dtype=np.float64)
    n_keep = max(2, math.ceil(q * len(weak_p1)))
    tie_break = np.random.default_rng([seed, 8147]).random(len(weak_p1))
    return np.sort(np.lexsort((tie_break, -np.abs(weak_p1 - 0.5)))[:n_keep])


@register_method("filter_confident", """
Confident-label filtering (as in the Anthropic automated-w2s-research baselines): train naively on soft weak
labels of only the transfer rows whose weak confidence |p_weak - 0.5| is in the top fraction q (default 0.5);
rows of equal confidence are kept at random (seeded by the experiment's seed): with hard labels every row ties,
so the method is then naive training on a random q of B.""",
                 FilterConfig)
def filter_confident(ctx, transfer, val, cfg: FilterConfig):
    kept = transfer.subset(confident_rows(transfer.weak_p1, cfg.q, seed=ctx.seed))
    return train_student(ctx, kept, SoftXent())
