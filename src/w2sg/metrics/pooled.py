"""PGR over seeds without selection: the pooled PGR of the seed means, with a hierarchical bootstrap CI that
resamples seeds, then whole test groups (a question's answers, a prompt's pairs) inside each seed's test set.

    pooled PGR = (mean_s student_s − mean_s weak_s) / (mean_s ceiling_s − mean_s weak_s)   over ALL seeds s

Each seed's test outcomes (`Outcomes`: labels, group codes and each role's P(y=1) on T) are kept in the results
store beside its record. A bootstrap replicate draws the seeds with replacement and, for every distinct test set
among them, one resample of its groups (seeds that share T share that resample, so a common T's noise is not
averaged away); each drawn seed is scored on its resampled T and the seed means give the replicate's scores.
The same replicate draws serve every role and every method of a cell, so differences between methods are
paired. The pooled PGR is reported when the mean gap's 95% CI excludes 0 ("resolved"); it is never averaged
over a subset of seeds chosen by their own gap.
"""

from __future__ import annotations

import hashlib
import math
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from w2sg.metrics._inputs import THRESHOLD
from w2sg.metrics.resample import auroc_boot, percentile_ci, resample_counts

ROLES = ("weak", "ceiling", "student")
METRICS = {"acc": "accuracy", "auroc": "auroc"}
N_BOOT = 1000


@dataclass(frozen=True)
class Outcomes:
    """One experiment's test set T as the aggregates need it: labels, group codes 0..G-1 (rows of one question
    share one), each role's P(y=1), the identity of T (`test_key`: the hash of its row ids) and whether accuracy
    is class-balanced."""

    labels: np.ndarray
    groups: np.ndarray
    probs: Mapping[str, np.ndarray]
    test_key: str
    balanced: bool = True

    @property
    def n_groups(self) -> int:
        return int(self.groups.max()) + 1 if self.groups.size else 0

    def to_arrays(self) -> dict[str, np.ndarray]:
        """Plain arrays for the store (npz, no pickle)."""
        return {"labels": self.labels.astype(np.int8), "groups": self.groups.astype(np.int32),
                "test_key": np.array(self.test_key), "balanced": np.array(bool(self.balanced)),
                **{f"p_{k}": np.asarray(v, dtype=np.float32) for k, v in self.probs.items()}}

    @classmethod
    def from_arrays(cls, a: Mapping[str, np.ndarray]) -> Outcomes:
        return cls(np.asarray(a["labels"]).astype(np.int64), np.asarray(a["groups"]).astype(np.int64),
                   {k[2:]: np.asarray(v, dtype=np.float64) for k, v in a.items() if k.startswith("p_")},
                   str(np.asarray(a["test_key"])), bool(np.asarray(a["balanced"])))

    @classmethod
    def build(cls, labels: Any, group_ids: Sequence[str] | None, probs: Mapping[str, Any], row_ids: Sequence[str],
              balanced: bool = True) -> Outcomes:
        """From T's labels, group ids (None: every row its own group), row ids and each role's P(y=1)."""
        y = np.asarray(labels).astype(np.int64)
        ids = list(group_ids) if group_ids is not None else list(row_ids)
        codes = np.unique(np.asarray(ids, dtype=object).astype(str), return_inverse=True)[1].astype(np.int64)
        key = hashlib.sha256("\x1f".join(map(str, row_ids)).encode()).hexdigest()[:16]
        return cls(y, codes, {k: np.asarray(v, dtype=np.float64) for k, v in probs.items()}, key, balanced)


def _rng(seed: int, *parts: str) -> np.random.Generator:
    h = hashlib.sha256("\x1f".join([str(seed), *parts]).encode()).digest()
    return np.random.default_rng(int.from_bytes(h[:8], "little"))


def _scores(o: Outcomes, gcounts: np.ndarray, metric: str, roles: Sequence[str]) -> np.ndarray:
    """(len(roles), n_boot) scores of each role on T resampled by whole groups (`gcounts`: (n_boot, G))."""
    if METRICS[metric] == "accuracy":  # per-group hit and class counts, then one product: no row-level matrix
        y = o.labels == 1
        cols = [y, ~y] + [((np.asarray(o.probs[r]) > THRESHOLD) == y) & side for r in roles for side in (y, ~y)]
        stats = np.stack([np.bincount(o.groups, weights=c.astype(np.float64), minlength=o.n_groups)
                          for c in cols], axis=1)
        c = gcounts.astype(np.float64) @ stats  # (n_boot, 2 + 2 * roles)
        n_pos, n_neg = c[:, 0], c[:, 1]
        out = []
        with np.errstate(invalid="ignore", divide="ignore"):
            for i in range(len(roles)):
                hit_pos, hit_neg = c[:, 2 + 2 * i], c[:, 3 + 2 * i]
                if o.balanced:
                    rp, rn = hit_pos / n_pos, hit_neg / n_neg
                    acc = np.where(n_pos > 0, np.where(n_neg > 0, 0.5 * (rp + rn), rp),
                                   np.where(n_neg > 0, rn, math.nan))
                else:
                    acc = (hit_pos + hit_neg) / (n_pos + n_neg)
                out.append(acc)
        return np.stack(out)
    counts = gcounts[:, o.groups]
    return np.stack([auroc_boot(o.probs[r], o.labels, counts) for r in roles])


@dataclass
class SeedMeans:
    """Point seed means of each role's score and their hierarchical bootstrap replicates (seeds, then groups)."""

    roles: tuple[str, ...]
    point: np.ndarray  # (roles,)
    boot: np.ndarray  # (roles, n_boot)
    n_seeds: int
    levels: str  # "seeds+groups", or "seeds" when some seed has no stored outcomes
    per_seed: np.ndarray = field(default_factory=lambda: np.empty((0, 0)))  # (seeds, roles) point scores

    def role(self, name: str) -> tuple[float, np.ndarray]:
        i = self.roles.index(name)
        return float(self.point[i]), self.boot[i]


def seed_means(points: np.ndarray, outcomes: Sequence[Outcomes | None], metric: str = "acc",
               roles: Sequence[str] = ROLES, n_boot: int = N_BOOT, seed: int = 0) -> SeedMeans:
    """Seed means of `points` ((seeds, roles) point scores, NaN where undefined) with replicates that resample
    seeds and, when every seed has `outcomes`, whole test groups within each (else seeds only)."""
    points = np.asarray(points, dtype=np.float64).reshape(len(outcomes), len(roles))
    k = len(outcomes)
    with np.errstate(invalid="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # a role without any score: its mean is NaN
        point = np.nanmean(points, axis=0) if k else np.full(len(roles), math.nan)
    if k == 0:
        return SeedMeans(tuple(roles), point, np.full((len(roles), n_boot), math.nan), 0, "seeds", points)
    draws = resample_counts(k, n_boot, _rng(seed, "seeds", str(k)))  # (n_boot, k) multiplicities
    if all(o is not None for o in outcomes):
        per: dict[str, np.ndarray] = {}
        scores = np.empty((k, len(roles), n_boot))
        for i, o in enumerate(outcomes):
            if o.test_key not in per:
                per[o.test_key] = resample_counts(o.n_groups, n_boot, _rng(seed, "groups", o.test_key))
            scores[i] = _scores(o, per[o.test_key], metric, roles)
        levels = "seeds+groups"
    else:
        scores = np.repeat(points[:, :, None], n_boot, axis=2)
        levels = "seeds"
    w = draws.T[:, None, :].astype(np.float64)  # (k, 1, n_boot)
    with np.errstate(invalid="ignore", divide="ignore"):
        ok = np.isfinite(scores)
        boot = (np.where(ok, scores, 0.0) * w).sum(axis=0) / (ok * w).sum(axis=0)
    return SeedMeans(tuple(roles), point, boot, k, levels, points)


def ratio_ci(num: np.ndarray, den: np.ndarray) -> tuple[float | None, float | None, float]:
    """95% percentile CI of num/den over replicates where a replicate with den <= 0 (or undefined) counts as
    -inf for the lower end and +inf for the upper (so a CI with too many of them is unbounded: None);
    also returns the share of such replicates."""
    with np.errstate(invalid="ignore", divide="ignore"):
        ok = np.isfinite(num) & np.isfinite(den) & (den > 0)
        r = num / np.where(ok, den, 1.0)
    if not ok.size:
        return None, None, math.nan
    lo = float(np.percentile(np.where(ok, r, -np.inf), 2.5, method="lower"))
    hi = float(np.percentile(np.where(ok, r, np.inf), 97.5, method="higher"))
    return (lo if math.isfinite(lo) else None), (hi if math.isfinite(hi) else None), float(1 - ok.mean())


@dataclass
class PooledPGR:
    """The pooled PGR of one cell (task, pair, method, budget, supervisor) over all its seeds."""

    metric: str
    value: float | None  # None: mean gap <= 0
    ci_low: float | None  # None: unbounded, or undefined
    ci_high: float | None
    gap: float
    gap_ci_low: float
    gap_ci_high: float
    resolved: bool  # the mean gap's 95% CI excludes 0: only then is `value` printed as a number
    weak: float
    ceiling: float
    student: float
    n_seeds: int
    frac_undefined: float  # replicates without a positive mean gap
    levels: str

    def keys(self) -> dict[str, Any]:
        """Flat keys: pgr_<m>_pooled (+ _ci_low/_ci_high), gap_<m>_pooled (+ CI), pgr_<m>_resolved, ..."""
        m = self.metric
        return {f"pgr_{m}_pooled": self.value, f"pgr_{m}_pooled_ci_low": self.ci_low,
                f"pgr_{m}_pooled_ci_high": self.ci_high, f"gap_{m}_pooled": self.gap,
                f"gap_{m}_pooled_ci_low": self.gap_ci_low, f"gap_{m}_pooled_ci_high": self.gap_ci_high,
                f"pgr_{m}_resolved": self.resolved, f"pgr_{m}_ci_levels": self.levels}


def pooled_pgr(means: SeedMeans, metric: str = "acc") -> PooledPGR:
    """The pooled PGR and its CI from seed means (`seed_means` with roles weak, ceiling, student)."""
    w, bw = means.role("weak")
    c, bc = means.role("ceiling")
    s, bs = means.role("student")
    gap = c - w
    glo, ghi = percentile_ci(bc - bw)
    value = (s - w) / gap if math.isfinite(gap) and gap > 0 and math.isfinite(s) else None
    lo, hi, frac = ratio_ci(bs - bw, bc - bw)
    if value is None:
        lo = hi = None
    resolved = value is not None and math.isfinite(glo) and glo > 0
    return PooledPGR(metric, value, lo, hi, gap, glo, ghi, resolved, w, c, s, means.n_seeds, frac, means.levels)


def fmt_pooled_parts(value: float | None, lo: float | None, hi: float | None, resolved: bool, gap: float | None,
                     gap_lo: float | None, gap_hi: float | None, digits: int = 2) -> str:
    """'0.41 [0.20, 0.63]' when the mean gap is resolved, else 'gap not resolved (gap 0.004 [-0.010, 0.020])', with
    ': ceiling below weak' added when the whole gap CI lies below 0 (no PGR either: there is no gap to recover)."""
    def f(x, d=digits):
        return "n/a" if x is None or x != x else f"{x:.{d}f}"

    if resolved and value is not None:
        return f"{f(value)} [{'-inf' if lo is None else f(lo)}, {'+inf' if hi is None else f(hi)}]"
    if gap is None or gap != gap:
        return "undefined (no scores)"
    why = ": ceiling below weak" if gap_hi is not None and gap_hi == gap_hi and gap_hi < 0 else ""
    return f"gap not resolved (gap {f(gap, 3)} [{f(gap_lo, 3)}, {f(gap_hi, 3)}]{why})"
