"""The `ensemble` supervisor: several weak models trained on A, their P(y=1) averaged."""

from __future__ import annotations

import numpy as np
from pydantic import Field

from w2sg.config import content_hash
from w2sg.supervisors.base import ROLES, Supervision, SupervisionContext, SupervisorConfig
from w2sg.supervisors.model import weak_fit_key
from w2sg.supervisors.registry import register_supervisor


class EnsembleConfig(SupervisorConfig):
    model: str = Field(description="the weak model (alias or path); member 0 is its plain weak fit")
    members: int = Field(5, ge=1, le=32, description="members of `model`: its weak fit plus members - 1 refits "
                         "with other training seeds")
    models: list[str] = Field(default_factory=list, description="further members: other models, each trained "
                              "on A like the weak model")
    bagging: bool = Field(True, description="refits (not member 0) train on a bootstrap resample of A; without "
                          "it, frozen-feature refits differ only by seed and barely differ")


def _member_key(ctx: SupervisionContext, model: str, member: int, bagging: bool) -> str:
    if member == 0:
        return weak_fit_key(ctx, model)
    return content_hash("weak-member", ctx.split_key, ctx.identity(model), ctx.train, ctx.seed, member, bagging)


def _members(cfg: EnsembleConfig) -> list[tuple[str, int]]:
    return [(cfg.model, m) for m in range(cfg.members)] + [(model, 0) for model in cfg.models]


def _key(cfg: EnsembleConfig, ctx: SupervisionContext) -> str:
    return content_hash("ensemble", [_member_key(ctx, m, i, cfg.bagging) for m, i in _members(cfg)])


@register_supervisor("ensemble", """
Weak ensemble (bagged weak teachers, Sang et al. 2024, arXiv 2402.00667; EnsemW2S, Agrawal et al. 2024):
the mean P(y=1) of several weak models trained on A with ground truth — the weak fit of `model`, `members - 1`
refits of it with training seeds seed + 1000 m (on bootstrap resamples of A when `bagging`), and one fit of
each model in `models`. The ensemble's own test predictions are the PGR floor. Each member is cached on its
own, so ensembles of different sizes share members. Options: model, members, models, bagging.""",
                     EnsembleConfig, key=_key, models=lambda cfg, spec: list(dict.fromkeys([cfg.model, *cfg.models])))
def ensemble(cfg: EnsembleConfig, ctx: SupervisionContext) -> Supervision:
    outs, metas = [], []
    for model, member in _members(cfg):
        rows = ctx.splits.weak_train
        if member and cfg.bagging:
            idx = np.random.default_rng([ctx.seed, member, 7]).integers(0, len(rows), len(rows))
            rows = [rows[i] for i in idx]
        p, meta = ctx.fit(model, rows, ctx.seed + 1000 * member, _member_key(ctx, model, member, cfg.bagging))
        outs.append(p)
        metas.append(meta)
    mean = {r: np.mean([o[r] for o in outs], axis=0) for r in ROLES if r in outs[0]}
    return Supervision(mean, {**metas[0], "members": len(outs),
                              "n_truncated": max(int(m.get("n_truncated", 0)) for m in metas)})
