"""Regions of rows for the `synthetic` supervisor's region errors: which rows of each split its errors go in.

A region is ONE of:
- `keyword`: a word or a list of words; rows whose text holds one as a whole word (case-insensitive; a
  pairwise row's text is its rendering "prompt\\n[A] a\\n[B] b");
- `length`: `[lo, hi]` words (whitespace-separated; lo inclusive, hi exclusive, hi may be null);
- `field`: `{name: value, ...}`: rows whose `Example.meta[name] == value` for every entry (a YAML task's
  `meta: [name]` copies raw fields into the rows);
- `cluster`: `{model, k, index}`: k-means (k clusters, seeded with the experiment seed) on `model`'s frozen
  features of the rows of every supervised split (B, V, T and the extra rows); clusters are numbered by size,
  largest first (ties: the cluster holding the earlier row first), and the region is cluster `index`. With
  `nearest: true` the region is instead the ball around that cluster's centre that holds a given share of all
  those rows (the supervisor's error rate: `share`; with `size_on: test`, that share of T's rows), i.e. every
  row within distance r of the centre: a deterministic rule on a row's features, applied alike to B, V, T and
  the extra rows;
- `weak_wrong`: a model alias: the rows where that model, trained on A with ground truth (the same cached fit
  as the `model` supervisor), predicts the wrong label at threshold 0.5.
"""

from __future__ import annotations

import re
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_serializer, model_validator

from w2sg.supervisors.base import ROLES, SupervisionContext
from w2sg.supervisors.model import weak_fit_key
from w2sg.tasks.schema import Example

KINDS = ("keyword", "length", "field", "cluster", "weak_wrong")


class ClusterRegion(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    model: str = Field(min_length=1, description="the model whose frozen features are clustered")
    k: int = Field(ge=2, le=1000, description="number of k-means clusters")
    index: int = Field(0, ge=0, description="the region's cluster, by size (0 = the largest)")
    nearest: bool = Field(False, description="the region is the ball around the cluster's centre holding the "
                          "supervisor's error rate of all rows (the rows nearest the centre), not the cluster")
    size_on: Literal["all", "test"] = Field("all", description="nearest: the rows whose share the ball holds: all "
                                            "of B, V, T and extra together, or T alone (its radius then applies "
                                            "to every split alike)")

    @model_serializer(mode="wrap")
    def _drop_new_defaults(self, handler):
        d = handler(self)
        if isinstance(d, dict):  # regions from before these options existed keep their keys
            if d.get("nearest") is False:
                del d["nearest"]
            if d.get("size_on") == "all":
                del d["size_on"]
        return d

    @model_validator(mode="after")
    def _index_below_k(self) -> ClusterRegion:
        if self.index >= self.k:
            raise ValueError(f"cluster index {self.index} is out of range for k={self.k} clusters (0..{self.k - 1})")
        if self.size_on != "all" and not self.nearest:
            raise ValueError("cluster size_on sizes a nearest-centre ball: give nearest: true")
        return self


class Region(BaseModel):
    """Exactly one of keyword, length, field, cluster, weak_wrong (see the module docstring)."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    keyword: str | list[str] | None = None
    length: list[int | None] | None = None
    field: dict[str, str] | None = None
    cluster: ClusterRegion | None = None
    weak_wrong: str | None = Field(None, min_length=1)

    @field_validator("keyword")
    @classmethod
    def _keywords(cls, v: str | list[str] | None) -> str | list[str] | None:
        words = [v] if isinstance(v, str) else v
        if words is not None and (not words or any(not w.strip() for w in words)):
            raise ValueError("keyword must be a non-empty word or a non-empty list of non-empty words")
        return v

    @field_validator("length")
    @classmethod
    def _length(cls, v: list[int | None] | None) -> list[int | None] | None:
        if v is None:
            return v
        if len(v) != 2 or v[0] is None or v[0] < 0 or (v[1] is not None and v[1] <= v[0]):
            raise ValueError(f"length must be [lo, hi] words with 0 <= lo < hi (hi exclusive, or null: no upper "
                             f"bound), e.g. [8, null]; got {v}")
        return v

    @field_validator("field", mode="before")
    @classmethod
    def _field_values_as_strings(cls, v: Any) -> Any:
        if isinstance(v, dict):  # meta values are strings: YAML's 2019 or 1.5 means the string
            return {k: str(x) if isinstance(x, int | float) and not isinstance(x, bool) else x for k, x in v.items()}
        return v

    @field_validator("field")
    @classmethod
    def _field_non_empty(cls, v: dict[str, str] | None) -> dict[str, str] | None:
        if v is not None and not v:
            raise ValueError("field must name at least one meta field and its value, e.g. {category: Frequency}")
        return v

    @model_validator(mode="after")
    def _exactly_one(self) -> Region:
        given = [k for k in KINDS if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError(f"a region is exactly one of {', '.join(KINDS)}; got "
                             f"{', '.join(given) if given else 'none'}")
        return self

    @property
    def kind(self) -> str:
        return next(k for k in KINDS if getattr(self, k) is not None)

    def describe(self) -> str:
        value = getattr(self, self.kind)
        return f"{self.kind}={value.model_dump() if isinstance(value, BaseModel) else value}"

    def models(self) -> list[str]:
        """Models whose features (cluster) or weak fit (weak_wrong) the region needs."""
        if self.cluster is not None:
            return [self.cluster.model]
        return [self.weak_wrong] if self.weak_wrong is not None else []

    def key_parts(self, ctx: SupervisionContext) -> list:
        """What the region depends on beyond the rows and the seed, for a supervisor's cache key."""
        if self.cluster is not None:
            return [ctx.identity(self.cluster.model), ctx.train.max_length]
        return [weak_fit_key(ctx, self.weak_wrong)] if self.weak_wrong is not None else []


def split_rows(ctx: SupervisionContext) -> dict[str, list[Example]]:
    s = ctx.splits
    return {"transfer": s.transfer, "val": s.val, "test": s.test, "extra": s.extra}


def _keyword_mask(words: list[str], rows: list[Example]) -> np.ndarray:
    pattern = re.compile(r"(?<!\w)(?:" + "|".join(re.escape(w.strip()) for w in words) + r")(?!\w)", re.IGNORECASE)
    return np.array([bool(pattern.search(r.text)) for r in rows], dtype=bool)


def _length_mask(lo: int, hi: int | None, rows: list[Example]) -> np.ndarray:
    n = np.array([len(r.text.split()) for r in rows], dtype=np.int64)
    return (n >= lo) & ((n < hi) if hi is not None else True)


def _field_mask(want: dict[str, str], rows: dict[str, list[Example]]) -> dict[str, np.ndarray]:
    names = {k for rs in rows.values() for r in rs for k in r.meta_dict}
    missing = sorted(set(want) - names)
    if missing:
        raise ValueError(f"region field: the task's rows carry no meta field {', '.join(map(repr, missing))} "
                         f"({'their meta fields: ' + ', '.join(sorted(names)) if names else 'they carry no meta'}); "
                         "list it under `meta:` in the task's YAML spec")
    return {role: np.array([all(r.meta_dict.get(k) == v for k, v in want.items()) for r in rs], dtype=bool)
            for role, rs in rows.items()}


def _cluster_mask(c: ClusterRegion, ctx: SupervisionContext, rows: dict[str, list[Example]],
                  share: float | None = None) -> tuple[dict, dict]:
    from sklearn.cluster import KMeans

    everything = [r for role in ROLES for r in rows[role]]
    if len(everything) < c.k:
        raise ValueError(f"region cluster: k={c.k} clusters for only {len(everything)} rows")
    x = np.asarray(ctx.features(c.model, [r.item for r in everything]), dtype=np.float64)
    km = KMeans(n_clusters=c.k, random_state=ctx.seed, n_init=10).fit(x)
    labels = km.labels_
    sizes = np.bincount(labels, minlength=c.k)
    first = np.array([np.flatnonzero(labels == j)[0] if sizes[j] else len(labels) for j in range(c.k)])
    order = sorted(range(c.k), key=lambda j: (-sizes[j], first[j]))  # by size, largest first
    inside = labels == order[c.index]
    info: dict = {"cluster_sizes": [int(sizes[j]) for j in order]}
    if c.nearest:
        if share is None:
            raise ValueError("region cluster with nearest: true needs the supervisor's error_rate (the share of "
                             "all rows the ball around the centre holds)")
        dist = np.linalg.norm(x - km.cluster_centers_[order[c.index]], axis=1)
        if c.size_on == "test":  # the radius that holds `share` of T, applied to every row alike
            start = sum(len(rows[role]) for role in ROLES[:ROLES.index("test")])
            d_test = np.sort(dist[start:start + len(rows["test"])])
            m_test = round(share * len(d_test))
            radius = d_test[m_test - 1] if m_test else -np.inf
            ball = dist <= radius
        else:  # the m rows nearest the centre of all rows: dist <= the m-th distance
            m = round(share * len(everything))
            ball = np.zeros(len(everything), dtype=bool)
            ball[np.argsort(dist, kind="stable")[:m]] = True
        m = int(ball.sum())
        info |= {"region_radius": float(dist[ball].max()) if m else 0.0, "region_rows": m,
                 "region_share_in_cluster": round(float(inside[ball].mean()), 4) if m else None}
        inside = ball
    out, start = {}, 0
    for role in ROLES:
        out[role] = inside[start:start + len(rows[role])]
        start += len(rows[role])
    return out, info


def _weak_wrong_mask(model: str, ctx: SupervisionContext, rows: dict[str, list[Example]]) -> tuple[dict, dict]:
    p, fit_meta = ctx.fit(model, ctx.splits.weak_train, ctx.seed, weak_fit_key(ctx, model))
    out = {}
    for role in ROLES:
        y = np.array([r.label for r in rows[role]], dtype=bool)
        out[role] = (np.asarray(p[role]) > 0.5) != y if len(y) else np.zeros(0, dtype=bool)
    return out, {"n_truncated": int(fit_meta.get("n_truncated", 0))}


def region_masks(region: Region, ctx: SupervisionContext,
                 share: float | None = None) -> tuple[dict[str, np.ndarray], dict]:
    """Per split (ROLES): a boolean mask of the rows inside the region; and what the region recorded (a
    cluster's sizes, largest first; a nearest-cluster ball's radius; the texts a weak_wrong model truncated).
    `share`: the share of all rows a `nearest` cluster region holds (the supervisor's error rate)."""
    rows = split_rows(ctx)
    if region.keyword is not None:
        words = [region.keyword] if isinstance(region.keyword, str) else region.keyword
        return {role: _keyword_mask(words, rs) for role, rs in rows.items()}, {}
    if region.length is not None:
        lo, hi = region.length
        return {role: _length_mask(lo, hi, rs) for role, rs in rows.items()}, {}
    if region.field is not None:
        return _field_mask(region.field, rows), {}
    if region.cluster is not None:
        return _cluster_mask(region.cluster, ctx, rows, share)
    return _weak_wrong_mask(region.weak_wrong, ctx, rows)
