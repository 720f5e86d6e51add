"""The `synthetic` supervisor: labels made from ground truth by a controlled error process."""

from __future__ import annotations

import numpy as np
from pydantic import Field

from w2sg.config import content_hash
from w2sg.supervisors.base import ROLES, Supervision, SupervisionContext, SupervisorConfig
from w2sg.supervisors.registry import register_supervisor


class SyntheticConfig(SupervisorConfig):
    error_rate: float = Field(0.2, ge=0, le=1, description="probability that a row's label is flipped")
    confidence: float = Field(1.0, gt=0.5, le=1, description="P the supervisor gives its (possibly flipped) "
                              "label; 1.0 = hard labels")


def _key(cfg: SyntheticConfig, ctx: SupervisionContext) -> str:
    return content_hash("synthetic", ctx.split_key, cfg, ctx.seed)


@register_supervisor("synthetic", """
A supervisor of controlled quality (no model): each row's ground-truth label is flipped independently with
probability `error_rate` (uniform random errors), and the supervisor says P = confidence for its label. Its
labels on T (the same process) are the PGR floor, so its test accuracy is about 1 - error_rate. Flips are
drawn per split from the seed. Options: error_rate, confidence.""", SyntheticConfig, key=_key)
def synthetic(cfg: SyntheticConfig, ctx: SupervisionContext) -> Supervision:
    rng = np.random.default_rng([ctx.seed, 2024])
    p, flipped = {}, {}
    rows_of = {"transfer": ctx.splits.transfer, "val": ctx.splits.val, "test": ctx.splits.test,
               "extra": ctx.splits.extra}
    for role in ROLES:
        y = np.array([r.label for r in rows_of[role]], dtype=bool)
        flip = rng.random(len(y)) < cfg.error_rate
        label = y ^ flip
        p[role] = np.where(label, cfg.confidence, 1 - cfg.confidence).astype(np.float32)
        flipped[role] = round(float(flip.mean()), 4) if len(y) else None
    return Supervision(p, {"error_rate": cfg.error_rate, "flipped": flipped, "n_truncated": 0})
