"""The `chain` supervisor: bootstrapping (Burns et al. 2024, sec. 4.3.1) through intermediate rungs."""

from __future__ import annotations

import numpy as np
from pydantic import Field

from w2sg.config import content_hash
from w2sg.supervisors.base import Supervision, SupervisionContext, SupervisorConfig
from w2sg.supervisors.model import weak_fit_key
from w2sg.supervisors.registry import register_supervisor


class ChainConfig(SupervisorConfig):
    model: str = Field(description="the weak model the chain starts from (alias or path)")
    rungs: list[str] = Field(min_length=1, description="intermediate models, weakest first")


def _precheck(cfg: ChainConfig, spec) -> str | None:
    k, n_extra = len(cfg.rungs), spec.splits.n_extra
    if n_extra >= 2 * k:
        return None
    return (f"bootstrapping through {k} rung(s) needs fresh transfer rows: set --n-extra (splits.n_extra) to "
            f"at least {2 * k}, e.g. {k} x the transfer size (now {n_extra})")


def _key(cfg: ChainConfig, ctx: SupervisionContext) -> str:
    return content_hash("chain", weak_fit_key(ctx, cfg.model), [ctx.identity(r) for r in cfg.rungs], ctx.train,
                        ctx.seed)


@register_supervisor("chain", """
Bootstrapping (Burns et al. 2024, sec. 4.3.1): weak -> rung 1 -> ... -> rung k -> strong student. The weak
model (trained on A) labels a fresh slice of the extra rows; rung 1 trains on it and labels the next slice,
and so on; the last rung labels B, V and the extra rows, from which the student learns. The PGR floor stays
the weak model's test predictions (the paper's comparison with naive finetuning from the same weak model);
the last rung's own test scores are recorded as supervisor_*. Needs splits.n_extra >= 2 k (k slices).
Options: model, rungs.""", ChainConfig, key=_key, precheck=_precheck,
                     models=lambda cfg, spec: list(dict.fromkeys([cfg.model, *cfg.rungs])))
def chain(cfg: ChainConfig, ctx: SupervisionContext) -> Supervision:
    base, meta = ctx.fit(cfg.model, ctx.splits.weak_train, ctx.seed, weak_fit_key(ctx, cfg.model))
    extra = ctx.splits.extra
    if len(extra) < 2 * len(cfg.rungs):
        raise ValueError(f"bootstrapping through {len(cfg.rungs)} rung(s) got only {len(extra)} extra rows; set "
                         f"splits.n_extra >= {2 * len(cfg.rungs)} (the task may have too few rows)")
    slices = np.array_split(np.arange(len(extra)), len(cfg.rungs))
    items = [extra[i].item for i in slices[0]]
    labels = base["extra"][slices[0]]
    for i, rung in enumerate(cfg.rungs):
        learner = ctx.fit_on(rung, items, labels, ctx.seed)
        if i + 1 < len(cfg.rungs):
            items = [extra[j].item for j in slices[i + 1]]
            labels = learner.predict(items)
    s = ctx.splits
    p = {"transfer": learner.predict([r.item for r in s.transfer]),
         "val": learner.predict([r.item for r in s.val]) if s.val else np.zeros(0, np.float32),
         "extra": learner.predict([r.item for r in extra]), "test": base["test"],
         "labeller_test": learner.predict([r.item for r in s.test])}
    return Supervision(p, {**meta, "rungs": list(cfg.rungs)})
