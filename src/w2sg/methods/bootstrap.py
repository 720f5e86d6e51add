"""Bootstrapping (Burns et al. 2024): supervise the strong model through a chain of intermediate rungs."""

from __future__ import annotations

import numpy as np
from pydantic import Field

from w2sg.methods import register_method
from w2sg.methods.base import MethodConfig, StudentContext, WeakLabelled
from w2sg.train.losses import SoftXent


class BootstrapConfig(MethodConfig):
    chain: list[str] = Field(min_length=1, description="intermediate models, weakest first (aliases or paths)")


def _needs_extra(k: int, n_extra: int) -> str | None:
    if n_extra >= 2 * k:
        return None
    return (f"bootstrapping through {k} rung(s) needs fresh transfer rows: set --n-extra (splits.n_extra) to "
            f"at least {2 * k}, e.g. {k} x the transfer size (now {n_extra})")


@register_method("bootstrap", """
Bootstrapping (Burns et al. 2024, sec. 4.3.1): weak -> rung 1 -> ... -> rung k -> strong. Rung i trains on
its own fresh slice of transfer rows labelled by the previous model (rung 1: by the weak model), then labels
the next slice; the last rung labels the transfer set B on which the strong student trains (the ceiling's
rows). The fresh slices are the split's `extra` rows (set splits.n_extra, e.g. k x |B|). Option: chain.""",
                 BootstrapConfig, precheck=lambda cfg, spec: _needs_extra(len(cfg.chain), spec.splits.n_extra))
def bootstrap(ctx: StudentContext, transfer: WeakLabelled, val: WeakLabelled, cfg: BootstrapConfig):
    k = len(cfg.chain)
    problem = _needs_extra(k, 0 if ctx.extra is None else len(ctx.extra))
    if problem:
        raise ValueError(problem)
    slices = np.array_split(np.arange(len(ctx.extra)), k)
    first = ctx.extra.subset(slices[0])
    texts, labels = list(first.texts), first.weak_p1
    for i, rung in enumerate(cfg.chain):
        learner = ctx.new_learner(rung)
        learner.fit(texts, labels, SoftXent(), seed=ctx.seed)
        texts = list(ctx.extra.subset(slices[i + 1]).texts) if i + 1 < k else list(transfer.texts)
        labels = learner.predict(texts)
    student = ctx.new_student()
    student.fit(texts, labels, SoftXent(), seed=ctx.seed)
    return student
