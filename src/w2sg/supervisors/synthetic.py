"""The `synthetic` supervisor: labels made from ground truth by a controlled error process.

Four processes (`errors`): uniform random errors, class-conditional errors, errors confined to a region of
rows (supervisors/error_regions.py) and a real weak model degraded to a target accuracy. Every count is exact
(round(rate * n) rows per split, chosen with a seeded generator per split), so two processes given the same
`error_rate` have the same accuracy on every split (the matched-accuracy comparison of random vs region errors).

Systematic errors that a student can imitate: `errors: region, region_flip: all` makes the supervisor wrong on
every row of its region, on every split, T included: its labels are a deterministic function of the input
(truth flipped where the rule holds), so its labels on T are the same rule applied to T and a student's
agreement with them there is imitation of the rule. With a `nearest` cluster region the region is sized by
`error_rate` (the ball around a cluster's centre holding that share of all rows of B, V, T and extra
together). The ball's share of each split varies with the split's distribution (e.g. SST-2's test sentences are
longer than its training phrases). `errors: random` may name the same `region` to mark it (region_test /
region_transfer) without placing errors there: the control that a student trained on random errors is measured
on the same rows; with `match_region: true` it gets, in every split, as many wrong labels (at random) as the
region has rows there, so its accuracy equals the rule supervisor's exactly on every split, T included.

Supervisor quality relative to the task: `error_rate: midpoint` (with `model`, the weak model) sets the error
rate to 1 - (weak accuracy + ceiling accuracy) / 2, both measured on the held-out rows V and extra (the weak
model trained on A, the ceiling -- the experiment's strong model -- on B, both with ground truth, which the
supervisor may read): a supervisor halfway between the weak model and the ceiling, so PGR is defined.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from pydantic import Field, field_validator, model_serializer, model_validator

from w2sg.config import content_hash
from w2sg.spec_checks import number_or_word
from w2sg.supervisors.base import ROLES, Supervision, SupervisionContext, SupervisorConfig
from w2sg.supervisors.error_regions import Region, region_masks, split_rows
from w2sg.supervisors.model import weak_fit_key
from w2sg.supervisors.registry import register_supervisor

Errors = Literal["random", "class_conditional", "region", "degrade"]
USES = {"random": ("error_rate", "confidence", "region", "match_region", "model", "midpoint_on"),
        "class_conditional": ("flip_pos", "flip_neg", "confidence"),
        "region": ("region", "error_rate", "region_error_rate", "region_flip", "confidence", "model", "midpoint_on"),
        "degrade": ("model", "accuracy")}


class SyntheticConfig(SupervisorConfig):
    errors: Errors = Field("random", description="the error process: random, class_conditional, region, degrade")
    error_rate: float | Literal["midpoint"] = Field(
        0.2, description="random, region: the share of each split's rows whose label is wrong (exactly "
        "round(error_rate * n) rows); 'midpoint' (with model): 1 - (weak acc + ceiling acc) / 2 on V and extra")
    confidence: float = Field(1.0, gt=0.5, le=1, description="P the supervisor gives its (possibly wrong) label; "
                              "1.0 = hard labels (not for degrade)")
    flip_pos: float | None = Field(None, ge=0, le=1, description="class_conditional: P(label wrong | y=1)")
    flip_neg: float | None = Field(None, ge=0, le=1, description="class_conditional: P(label wrong | y=0)")
    region: Region | None = Field(None, description="region: where the errors go; one of keyword, length, field, "
                                  "cluster, weak_wrong (random: a region marked for comparison, no errors placed)")
    region_error_rate: float | None = Field(None, ge=0, le=1, description="region: the share of the region's "
                                            "rows whose label is wrong (instead of error_rate)")
    region_flip: Literal["random", "all"] = Field("random", description="region: 'random' -- the wrong rows are "
                                                  "drawn inside the region; 'all' -- every row of a nearest-cluster "
                                                  "region (sized by error_rate) is wrong: a deterministic rule")
    midpoint_on: Literal["held_out", "test"] = Field(
        "held_out", description="error_rate midpoint: where the weak model's and the ceiling's accuracies are "
        "measured: held_out (V and the extra rows) or test (T: the supervisor's T accuracy, its PGR floor, is "
        "then halfway between theirs)")
    match_region: bool = Field(False, description="random with a region: as many wrong labels per split as the "
                               "region has rows there (the rule supervisor's count), placed at random")
    model: str | None = Field(None, min_length=1, description="degrade, error_rate midpoint: the weak model "
                              "(alias or path), trained on A")
    accuracy: float | None = Field(None, ge=0, le=1, description="degrade: the target (plain) accuracy per split")

    @model_serializer(mode="wrap")
    def _drop_new_defaults(self, handler):
        d = handler(self)
        if isinstance(d, dict):  # supervisors from before these options existed keep their keys
            if d.get("region_flip") == "random":
                del d["region_flip"]
            if d.get("match_region") is False:
                del d["match_region"]
            if d.get("midpoint_on") == "held_out":
                del d["midpoint_on"]
        return d

    @field_validator("error_rate", mode="before")
    @classmethod
    def _rate(cls, v):
        return number_or_word(v, "error_rate", ("midpoint",), most=1.0)

    @model_validator(mode="after")
    def _options_of_errors(self) -> SyntheticConfig:
        given = self.model_fields_set - {"errors"}
        unused = sorted(given - set(USES[self.errors]))
        if unused:
            raise ValueError(f"errors: {self.errors} does not use {', '.join(unused)}; its options: "
                             f"{', '.join(USES[self.errors])}")
        midpoint = self.error_rate == "midpoint"
        if "midpoint_on" in given and not midpoint:
            raise ValueError("midpoint_on is used only with error_rate: midpoint")
        if self.errors != "degrade" and midpoint != (self.model is not None):
            raise ValueError("error_rate: midpoint needs `model` (the weak model, trained on A: the supervisor's "
                             "accuracy is halfway between its accuracy and the ceiling's), and `model` is used only "
                             "with error_rate: midpoint (or errors: degrade)")
        nearest = self.region is not None and self.region.cluster is not None and self.region.cluster.nearest
        if nearest and self.region_error_rate is not None:
            raise ValueError("a cluster region with nearest: true is sized by error_rate (the share of all rows "
                             "it holds); give error_rate, not region_error_rate")
        if self.region_flip == "all" and not nearest:
            raise ValueError("region_flip: all needs a region {cluster: {model, k, index, nearest: true}} (sized by "
                             "error_rate, so the accuracy matches errors: random); to flip every row of a keyword, "
                             "length, field or weak_wrong region give region_error_rate: 1.0 (its size is the rule's "
                             "own)")
        if self.match_region and self.region is None:
            raise ValueError("match_region: true needs `region` (the rows whose count per split the random errors "
                             "match)")
        if self.errors == "region" and nearest and self.region_flip != "all":
            raise ValueError("a nearest-cluster region holds exactly error_rate of all rows, i.e. the wrong ones: "
                             "set region_flip: all (every row of it wrong)")
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
    out = cfg.region.models() if cfg.region is not None else []
    return out + [cfg.model] if cfg.error_rate == "midpoint" and cfg.model not in out else out


def _ceiling_fit_key(ctx: SupervisionContext) -> str:
    """The cache key of the experiment's strong model trained on B with ground truth, as the supervisor fits it
    for error_rate: midpoint (its own entry: the pipeline's ceiling step keeps its own)."""
    train = ctx.train.model_copy(update={"student_l2": "cv"})  # the student's l2 setting is not the ceiling's
    return content_hash("supervisor-ceiling", ctx.split_key, ctx.identity(ctx.spec.strong), train, ctx.seed)


def _key(cfg: SyntheticConfig, ctx: SupervisionContext) -> str:
    deps = ([weak_fit_key(ctx, cfg.model)] if cfg.errors == "degrade"
            else cfg.region.key_parts(ctx) if cfg.region is not None else [])
    if cfg.error_rate == "midpoint" and cfg.errors != "degrade":
        deps = [*deps, weak_fit_key(ctx, cfg.model), _ceiling_fit_key(ctx)]
    return content_hash("synthetic-v2", ctx.split_key, cfg, ctx.seed, deps)


def _record(cfg: SyntheticConfig, meta: dict) -> dict:
    """The record's error process and overall error rate (for the supervisor-quality figure): the rate only
    where one rate describes every split (random errors, or region errors sized by error_rate); 'midpoint' is
    the rate the supervisor resolved (its step's meta)."""
    overall = cfg.errors == "random" or (cfg.errors == "region" and cfg.region_error_rate is None)
    rate = meta.get("error_rate") if cfg.error_rate == "midpoint" else cfg.error_rate
    return {"supervisor_errors": cfg.errors, "supervisor_error_rate": rate if overall else None}


def _midpoint_rate(cfg: SyntheticConfig, ctx: SupervisionContext, y: dict[str, np.ndarray]) -> tuple[float, dict]:
    """1 - (weak accuracy + ceiling accuracy) / 2 on V and the extra rows (rows neither model trained on), or on
    T (`midpoint_on: test`): the weak model `cfg.model` trained on A and the experiment's strong model trained
    on B, both with ground truth (plain accuracy)."""
    held = ["test"] if cfg.midpoint_on == "test" else [r for r in ("val", "extra") if len(y[r])]
    if not held:
        raise ValueError("error_rate: midpoint measures the weak model and the ceiling on rows neither trained on "
                         "(V and the extra rows); set splits.n_val (--n-val) or splits.n_extra (--n-extra) > 0")
    weak, _ = ctx.fit(cfg.model, ctx.splits.weak_train, ctx.seed, weak_fit_key(ctx, cfg.model))
    ceiling, _ = ctx.fit(ctx.spec.strong, ctx.splits.transfer, ctx.seed, _ceiling_fit_key(ctx))
    truth = np.concatenate([y[r] for r in held])

    def acc(p: dict) -> float:
        return float(((np.concatenate([np.asarray(p[r]) for r in held]) > 0.5) == truth).mean())

    weak_acc, ceiling_acc = acc(weak), acc(ceiling)
    rate = round(1 - (weak_acc + ceiling_acc) / 2, 4)
    return rate, {"midpoint": {"weak_acc": round(weak_acc, 4), "ceiling_acc": round(ceiling_acc, 4),
                               "n_rows": len(truth), "rows": "+".join(held)}}


def _rng(ctx: SupervisionContext, role: str) -> np.random.Generator:
    return np.random.default_rng([ctx.seed, 2024, ROLES.index(role)])


def _pick(rng: np.random.Generator, candidates: np.ndarray, m: int) -> np.ndarray:
    """A mask of exactly `m` rows drawn at random from the `candidates` mask."""
    out = np.zeros(len(candidates), dtype=bool)
    out[rng.choice(np.flatnonzero(candidates), m, replace=False)] = True
    return out


def _share(x: np.ndarray) -> float | None:
    return round(float(x.mean()), 4) if len(x) else None


def _region_counts(cfg: SyntheticConfig, rate: float, masks: dict[str, np.ndarray],
                   n: dict[str, int]) -> dict[str, int]:
    """How many rows of each split get a wrong label; a region too small for `error_rate` is an error."""
    if cfg.region_error_rate is not None:
        return {r: round(cfg.region_error_rate * int(masks[r].sum())) for r in ROLES}
    need = {r: round(rate * n[r]) for r in ROLES}
    short = [r for r in ROLES if need[r] > masks[r].sum()]
    if short:
        sizes = ", ".join(f"{r}: {int(masks[r].sum())} of {n[r]} rows" for r in ROLES if n[r])
        most = min(np.floor(masks[r].sum() / n[r] * 1e4) / 1e4 for r in ROLES if n[r])
        raise ValueError(f"region {cfg.region.describe()} is too small for error_rate={rate}: "
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
drawn from the seed. errors: random (default) -- `error_rate` (0.2) of each split's rows get the wrong label
(a `region` given here is only marked, for comparison); class_conditional -- `flip_pos` = P(wrong | y=1),
`flip_neg` = P(wrong | y=0), exact per class; region -- errors only inside `region`, ONE of {keyword: WORD or
[WORDS]} (whole word, case-insensitive), {length: [lo, hi]} (words, hi exclusive or null), {field: {NAME:
VALUE}} (rows' meta, a YAML task's `meta: [NAME]`), {cluster: {model, k, index}} (k-means on the model's frozen
features of B, V, T, extra, seeded; index 0 = the largest cluster; `nearest: true`: the ball around its centre
holding error_rate of all rows), {weak_wrong: MODEL} (rows that MODEL, trained on A, gets wrong); with
`error_rate` (a share of the split placed inside the region: the same accuracy as random errors; a region too
small is an error) or `region_error_rate` (a share of the region's rows); `region_flip: all` with a nearest
cluster: every row of the region wrong (a deterministic rule, the same on T); random with `match_region`:
as many random errors per split as the region has rows there; region_test/region_transfer mark the region;
degrade -- `model` trained on A, a random subset of the rows it gets right turned to 1 - P so that its plain
accuracy on each split is `accuracy` (splits already at or below it are left, noted in the meta).
`error_rate: midpoint` with `model` (the weak model): 1 - (weak acc + ceiling acc) / 2 on V and the extra rows,
a supervisor halfway between the weak model and the ceiling. `confidence` (1.0): P given to the supervisor's
label (not for degrade).""", SyntheticConfig, key=_key, models=_models, record=_record)
def synthetic(cfg: SyntheticConfig, ctx: SupervisionContext) -> Supervision:
    rows = split_rows(ctx)
    y = {role: np.array([r.label for r in rows[role]], dtype=bool) for role in ROLES}
    n = {role: len(y[role]) for role in ROLES}
    if cfg.errors == "degrade":
        return _degrade(cfg, ctx, y)
    meta: dict = {"errors": cfg.errors}
    rate = cfg.error_rate
    if rate == "midpoint":
        rate, info = _midpoint_rate(cfg, ctx, y)
        meta.update(info)
    if cfg.errors != "class_conditional":
        meta["error_rate"] = rate
    masks = None
    if cfg.region is not None:
        masks, info = region_masks(cfg.region, ctx, share=rate)
        meta.update(region=cfg.region.describe(), region_size={r: int(masks[r].sum()) for r in ROLES}, **info)
    wrong: dict[str, np.ndarray] = {}
    if cfg.errors == "random":
        count = {r: int(masks[r].sum()) if cfg.match_region else round(rate * n[r]) for r in ROLES}
        wrong = {r: _pick(_rng(ctx, r), np.ones(n[r], bool), count[r]) for r in ROLES}
    elif cfg.errors == "class_conditional":
        fp, fn = cfg.flip_pos or 0.0, cfg.flip_neg or 0.0
        for r in ROLES:
            rng = _rng(ctx, r)
            wrong[r] = (_pick(rng, y[r], round(fp * int(y[r].sum())))
                        | _pick(rng, ~y[r], round(fn * int((~y[r]).sum()))))
    elif cfg.region_flip == "all":  # a rule: wrong exactly on the region, on every split
        wrong = {r: masks[r].copy() for r in ROLES}
    else:
        counts = _region_counts(cfg, rate, masks, n)
        wrong = {r: _pick(_rng(ctx, r), masks[r], counts[r]) for r in ROLES}
    if masks is not None:
        meta["error_share_in_region"] = {r: _share(wrong[r][masks[r]]) for r in ROLES}
    p: dict[str, np.ndarray] = {}
    for r in ROLES:
        p[r] = np.where(y[r] ^ wrong[r], cfg.confidence, 1 - cfg.confidence).astype(np.float32)
    if masks is not None:
        p["region_test"] = masks["test"].astype(np.float32)
        p["region_transfer"] = masks["transfer"].astype(np.float32)
    meta.update(error_share={r: _share(wrong[r]) for r in ROLES}, n_wrong={r: int(wrong[r].sum()) for r in ROLES})
    if cfg.errors == "class_conditional":
        meta["error_share_by_class"] = {r: {"pos": _share(wrong[r][y[r]]), "neg": _share(wrong[r][~y[r]])}
                                        for r in ROLES}
    meta.setdefault("n_truncated", 0)
    return Supervision(p, meta)
