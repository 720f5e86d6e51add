"""The `synthetic` supervisor: labels made from ground truth by a controlled error process.

Four processes (`errors`): uniform random errors, class-conditional errors, errors confined to a region of
rows (supervisors/regions.py) and a real weak model degraded to a target accuracy. Every count is exact
(round(rate * n) rows per split, chosen with a seeded generator per split), so two processes given the same
`error_rate` have the same accuracy on every split (the matched-accuracy comparison of random vs region errors).
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from pydantic import Field, model_validator

from w2sg.config import content_hash
from w2sg.supervisors.base import ROLES, Supervision, SupervisionContext, SupervisorConfig
from w2sg.supervisors.model import weak_fit_key
from w2sg.supervisors.regions import Region, region_masks, split_rows
from w2sg.supervisors.registry import register_supervisor

Errors = Literal["random", "class_conditional", "region", "degrade"]
USES = {"random": ("error_rate", "confidence"), "class_conditional": ("flip_pos", "flip_neg", "confidence"),
        "region": ("region", "error_rate", "region_error_rate", "confidence"), "degrade": ("model", "accuracy")}


class SyntheticConfig(SupervisorConfig):
    errors: Errors = Field("random", description="the error process: random, class_conditional, region, degrade")
    error_rate: float = Field(0.2, ge=0, le=1, description="random, region: the share of each split's rows whose "
                              "label is wrong (exactly round(error_rate * n) rows)")
    confidence: float = Field(1.0, gt=0.5, le=1, description="P the supervisor gives its (possibly wrong) label; "
                              "1.0 = hard labels (not for degrade)")
    flip_pos: float | None = Field(None, ge=0, le=1, description="class_conditional: P(label wrong | y=1)")
    flip_neg: float | None = Field(None, ge=0, le=1, description="class_conditional: P(label wrong | y=0)")
    region: Region | None = Field(None, description="region: where the errors go; one of keyword, length, field, "
                                  "cluster, weak_wrong")
    region_error_rate: float | None = Field(None, ge=0, le=1, description="region: the share of the region's "
                                            "rows whose label is wrong (instead of error_rate)")
    model: str | None = Field(None, min_length=1, description="degrade: the weak model (alias or path), "
                              "trained on A")
    accuracy: float | None = Field(None, ge=0, le=1, description="degrade: the target (plain) accuracy per split")

    @model_validator(mode="after")
    def _options_of_errors(self) -> SyntheticConfig:
        given = self.model_fields_set - {"errors"}
        unused = sorted(given - set(USES[self.errors]))
        if unused:
            raise ValueError(f"errors: {self.errors} does not use {', '.join(unused)}; its options: "
                             f"{', '.join(USES[self.errors])}")
        if self.errors == "class_conditional" and self.flip_pos is None and self.flip_neg is None:
            raise ValueError("errors: class_conditional needs flip_pos (P(label wrong | y=1)) and/or flip_neg "
                             "(P(label wrong | y=0)); an option not given is 0")
        if self.errors == "region":
            if self.region is None:
                raise ValueError("errors: region needs `region`: one of {keyword: WORD or [WORDS]}, "
                                 "{length: [lo, hi]}, {field: {NAME: VALUE}}, {cluster: {model: M, k: K, index: I}}, "
                                 "{weak_wrong: MODEL}")
            if len(given & {"error_rate", "region_error_rate"}) != 1:
                raise ValueError("errors: region needs exactly one of error_rate (the share of each split, placed "
                                 "inside the region: the same accuracy as errors: random) or region_error_rate "
                                 "(the share of the region's rows)")
        if self.errors == "degrade" and (self.model is None or self.accuracy is None):
            raise ValueError("errors: degrade needs model (the weak model, trained on A) and accuracy (the target)")
        return self


def _models(cfg: SyntheticConfig, spec) -> list[str]:
    if cfg.errors == "degrade":
        return [cfg.model]
    return cfg.region.models() if cfg.errors == "region" else []


def _key(cfg: SyntheticConfig, ctx: SupervisionContext) -> str:
    deps = ([weak_fit_key(ctx, cfg.model)] if cfg.errors == "degrade"
            else cfg.region.key_parts(ctx) if cfg.errors == "region" else [])
    return content_hash("synthetic-v2", ctx.split_key, cfg, ctx.seed, deps)


def _rng(ctx: SupervisionContext, role: str) -> np.random.Generator:
    return np.random.default_rng([ctx.seed, 2024, ROLES.index(role)])


def _pick(rng: np.random.Generator, candidates: np.ndarray, m: int) -> np.ndarray:
    """A mask of exactly `m` rows drawn at random from the `candidates` mask."""
    out = np.zeros(len(candidates), dtype=bool)
    out[rng.choice(np.flatnonzero(candidates), m, replace=False)] = True
    return out


def _share(x: np.ndarray) -> float | None:
    return round(float(x.mean()), 4) if len(x) else None


def _region_counts(cfg: SyntheticConfig, masks: dict[str, np.ndarray], n: dict[str, int]) -> dict[str, int]:
    """How many rows of each split get a wrong label; a region too small for `error_rate` is an error."""
    if cfg.region_error_rate is not None:
        return {r: round(cfg.region_error_rate * int(masks[r].sum())) for r in ROLES}
    need = {r: round(cfg.error_rate * n[r]) for r in ROLES}
    short = [r for r in ROLES if need[r] > masks[r].sum()]
    if short:
        sizes = ", ".join(f"{r}: {int(masks[r].sum())} of {n[r]} rows" for r in ROLES if n[r])
        most = min(np.floor(masks[r].sum() / n[r] * 1e4) / 1e4 for r in ROLES if n[r])
        raise ValueError(f"region {cfg.region.describe()} is too small for error_rate={cfg.error_rate}: "
                         f"{', '.join(short)} need(s) {', '.join(str(need[r]) for r in short)} wrong labels inside "
                         f"it ({sizes}); this region allows error_rate <= {most:g}, or give region_error_rate "
                         "(a share of the region's rows)")
    return need


def _degrade(cfg: SyntheticConfig, ctx: SupervisionContext, y: dict[str, np.ndarray]) -> Supervision:
    """The weak model's P, with a seeded random subset of the rows it gets right turned to 1 - P."""
    p, fit_meta = ctx.fit(cfg.model, ctx.splits.weak_train, ctx.seed, weak_fit_key(ctx, cfg.model))
    out, before, untouched = {}, {}, []
    for role in ROLES:
        q = np.asarray(p.get(role, np.zeros(0)), dtype=np.float32)
        right = (q > 0.5) == y[role]
        target = round(cfg.accuracy * len(q))
        before[role] = _share(right)
        flip = np.zeros(len(q), dtype=bool)
        if len(q) and right.sum() <= target:
            untouched.append(role)  # already at or below the target: left as it is
        elif len(q):
            movable = right & (q != 0.5)  # 1 - 0.5 is still 0.5: such a row cannot be turned
            flip = _pick(_rng(ctx, role), movable, min(int(right.sum()) - target, int(movable.sum())))
        out[role] = np.where(flip, 1 - q, q).astype(np.float32)
    wrong = {r: (out[r] > 0.5) != y[r] for r in ROLES}
    return Supervision(out, {"errors": "degrade", "model": cfg.model, "accuracy": cfg.accuracy,
                             "accuracy_before": before, "at_or_below_target": untouched,
                             "error_share": {r: _share(wrong[r]) for r in ROLES},
                             "n_wrong": {r: int(wrong[r].sum()) for r in ROLES},
                             "n_truncated": int(fit_meta.get("n_truncated", 0)),
                             **{k: fit_meta[k] for k in ("l2", "grad_norm", "steps") if k in fit_meta}})


@register_supervisor("synthetic", """
A supervisor of controlled quality, made from ground truth by an error process (`errors`); its labels on T
(the same process) are the PGR floor. Counts are exact: round(rate * n) rows of each split (B, V, T, extra),
drawn from the seed. errors: random (default) -- `error_rate` (0.2) of each split's rows get the wrong label;
class_conditional -- `flip_pos` = P(wrong | y=1), `flip_neg` = P(wrong | y=0), exact per class; region -- errors
only inside `region`, ONE of {keyword: WORD or [WORDS]} (whole word, case-insensitive), {length: [lo, hi]}
(words, hi exclusive or null), {field: {NAME: VALUE}} (rows' meta, a YAML task's `meta: [NAME]`), {cluster:
{model, k, index}} (k-means on the model's frozen features of B, V, T, extra, seeded; index 0 = the largest
cluster), {weak_wrong: MODEL} (rows that MODEL, trained on A, gets wrong); with `error_rate` (a share of the
split placed inside the region: the same accuracy as random errors; a region too small is an error) or
`region_error_rate` (a share of the region's rows); region_test/region_transfer mark the region; degrade --
`model` trained on A, a random subset of the rows it gets right turned to 1 - P so that its plain accuracy on
each split is `accuracy` (splits already at or below it are left, noted in the meta). `confidence` (1.0): P
given to the supervisor's label (not for degrade).""", SyntheticConfig, key=_key, models=_models)
def synthetic(cfg: SyntheticConfig, ctx: SupervisionContext) -> Supervision:
    rows = split_rows(ctx)
    y = {role: np.array([r.label for r in rows[role]], dtype=bool) for role in ROLES}
    n = {role: len(y[role]) for role in ROLES}
    if cfg.errors == "degrade":
        return _degrade(cfg, ctx, y)
    meta: dict = {"errors": cfg.errors}
    wrong: dict[str, np.ndarray] = {}
    if cfg.errors == "random":
        wrong = {r: _pick(_rng(ctx, r), np.ones(n[r], bool), round(cfg.error_rate * n[r])) for r in ROLES}
    elif cfg.errors == "class_conditional":
        fp, fn = cfg.flip_pos or 0.0, cfg.flip_neg or 0.0
        for r in ROLES:
            rng = _rng(ctx, r)
            wrong[r] = (_pick(rng, y[r], round(fp * int(y[r].sum())))
                        | _pick(rng, ~y[r], round(fn * int((~y[r]).sum()))))
    else:
        masks, info = region_masks(cfg.region, ctx)
        counts = _region_counts(cfg, masks, n)
        wrong = {r: _pick(_rng(ctx, r), masks[r], counts[r]) for r in ROLES}
        meta.update(region=cfg.region.describe(), region_size={r: int(masks[r].sum()) for r in ROLES},
                    error_share_in_region={r: _share(wrong[r][masks[r]]) for r in ROLES}, **info)
    p: dict[str, np.ndarray] = {}
    for r in ROLES:
        p[r] = np.where(y[r] ^ wrong[r], cfg.confidence, 1 - cfg.confidence).astype(np.float32)
    if cfg.errors == "region":
        p["region_test"] = masks["test"].astype(np.float32)
        p["region_transfer"] = masks["transfer"].astype(np.float32)
    meta.update(error_share={r: _share(wrong[r]) for r in ROLES}, n_wrong={r: int(wrong[r].sum()) for r in ROLES})
    if cfg.errors == "class_conditional":
        meta["error_share_by_class"] = {r: {"pos": _share(wrong[r][y[r]]), "neg": _share(wrong[r][~y[r]])}
                                        for r in ROLES}
    meta.setdefault("n_truncated", 0)
    return Supervision(p, meta)
