"""The `model` supervisor: a weak model trained on A with ground truth (the paper's weak supervisor)."""

from __future__ import annotations

from pydantic import Field

from w2sg.config import content_hash
from w2sg.supervisors.base import Supervision, SupervisionContext, SupervisorConfig
from w2sg.supervisors.registry import register_supervisor


class ModelConfig(SupervisorConfig):
    model: str = Field(description="a zoo alias, a local model directory or a Hub id")


def weak_fit_key(ctx: SupervisionContext, model: str) -> str:
    """The cache key of `model` trained on A with ground truth under the experiment's seed and TrainSpec."""
    return content_hash("weak", ctx.split_key, ctx.identity(model), ctx.train, ctx.seed)


def fit_weak_model(ctx: SupervisionContext, model: str) -> Supervision:
    p, meta = ctx.fit(model, ctx.splits.weak_train, ctx.seed, weak_fit_key(ctx, model))
    return Supervision(p, {"model": model, **meta})


@register_supervisor("model", """
A weak model trained on A with ground truth (its l2 chosen by CV on A); its P(y=1) on B, V and the extra
rows are the weak labels and its predictions on T the PGR floor. Shorthand: `weak: minilm` (an alias, path or
Hub id) means `weak: {kind: model, model: minilm}`. Option: model.""", ModelConfig,
                     key=lambda cfg, ctx: weak_fit_key(ctx, cfg.model), models=lambda cfg, spec: [cfg.model])
def model(cfg: ModelConfig, ctx: SupervisionContext) -> Supervision:
    return fit_weak_model(ctx, cfg.model)
