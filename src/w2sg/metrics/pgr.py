"""Performance gap recovered: PGR = (student - weak) / (ceiling - weak), with its paired bootstrap CI, the
gap's CI and the reasons not to trust it (`PGRResult`)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from w2sg.metrics._inputs import json_safe
from w2sg.metrics.resample import METRICS, paired_bootstrap, percentile_ci
from w2sg.metrics.scores import accuracy, auroc


def pgr(weak_score: float, ceiling_score: float, student_score: float) -> float | None:
    """PGR = (student - weak) / (ceiling - weak); None when the gap is <= 0 or a score is not finite."""
    scores = (weak_score, ceiling_score, student_score)
    if any(s is None or not math.isfinite(s) for s in scores) or ceiling_score - weak_score <= 0:
        return None
    return float((student_score - weak_score) / (ceiling_score - weak_score))


@dataclass
class PGRResult:
    """PGR with its paired bootstrap CI, the gap (ceiling - weak) with its CI, and why not to trust it.

    ci_low / ci_high are None when PGR is undefined and may be -inf / +inf when the CI is unbounded (too many
    resamples without a positive gap); `to_dict` writes an infinite end as None.
    """

    value: float | None
    ci_low: float | None
    ci_high: float | None
    gap: float
    gap_ci_low: float
    gap_ci_high: float
    unstable: bool
    reason: str | None
    n_boot: int
    frac_undefined: float
    metric: str = "accuracy"
    weak: float = math.nan
    ceiling: float = math.nan
    student: float = math.nan

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe dict (NaN -> None)."""
        return {k: json_safe(v) for k, v in asdict(self).items()}


def _pgr_ci(pgrs: np.ndarray, ok: np.ndarray) -> tuple[float, float]:
    """95% percentile CI of the per-resample PGR where a resample without one (gap <= 0 or undefined) counts
    as -inf for the lower end and +inf for the upper end; non-interpolating, so an end may be infinite."""
    lo = np.percentile(np.where(ok, pgrs, -np.inf), 2.5, method="lower")
    hi = np.percentile(np.where(ok, pgrs, np.inf), 97.5, method="higher")
    return float(lo), float(hi)


def pgr_from_scores(point: Sequence[float], boot: np.ndarray, metric: str, n_boot: int) -> PGRResult:
    """Build a PGRResult from point scores (weak, ceiling, student) and their (3, n_boot) paired resamples."""
    w, c, s = (float(v) for v in point)
    bw, bc, bs = boot
    bgap = bc - bw
    with np.errstate(invalid="ignore"):
        ok = np.isfinite(bgap) & np.isfinite(bs) & np.isfinite(bw) & (bgap > 0)
        pgrs = (bs - bw) / np.where(ok, bgap, 1.0)
    frac_undefined = float(1.0 - ok.mean()) if ok.size else math.nan
    gap_lo, gap_hi = percentile_ci(bgap)
    value = pgr(w, c, s)
    ci_low = ci_high = None
    reasons: list[str] = []
    if not all(math.isfinite(v) for v in (w, c, s)):
        reasons.append(f"{metric} undefined on the test set (only one class present?)")
    elif value is None:
        reasons.append(f"ceiling {metric} {c:.3f} <= weak {w:.3f}: no gap to recover")
    else:
        if ok.size:
            ci_low, ci_high = _pgr_ci(pgrs, ok)
        if not math.isfinite(gap_lo):
            reasons.append(f"gap {c - w:.3f}: no bootstrap resample has a defined {metric}, CI unknown")
        elif gap_lo <= 0:
            reasons.append(f"gap {c - w:.3f} within noise (95% CI {gap_lo:.3f}..{gap_hi:.3f})")
        if ci_low is not None and not (math.isfinite(ci_low) and math.isfinite(ci_high)):
            why = "ceiling ≤ weak" if np.isfinite(boot).all() else f"ceiling ≤ weak or an undefined {metric}"
            reasons.append(f"PGR CI unbounded: {frac_undefined:.1%} of resamples have {why}")
    unbounded = ci_low is not None and not (math.isfinite(ci_low) and math.isfinite(ci_high))
    unstable = value is None or not gap_lo > 0 or unbounded
    return PGRResult(value, ci_low, ci_high, c - w, gap_lo, gap_hi, unstable, "; ".join(reasons) or None,
                     n_boot, frac_undefined, metric, w, c, s)


def pgr_with_ci(labels: Any, weak: Any, ceiling: Any, student: Any, metric: str = "accuracy",
                n_boot: int = 1000, seed: int = 0, balanced: bool = False,
                groups: Sequence[str] | None = None) -> PGRResult:
    """PGR on `metric` with a 95% paired bootstrap percentile CI over test examples.

    Paired: each resample uses the same test indices for weak, ceiling and student. A resample whose gap
    (ceiling - weak) is <= 0 or undefined has no PGR; it is not dropped but counts as -inf for the lower end
    and +inf for the upper end (lower = 2.5th percentile, upper = 97.5th, non-interpolating), so when more
    than ~2.5% of resamples lack a positive gap an end is infinite (None in `to_dict`) and `reason` says
    "PGR CI unbounded: ...". `frac_undefined` is the share of resamples without a PGR. `value` is None when
    the point-estimate gap is <= 0 (PGR undefined, never a number); `unstable` is True when PGR is undefined,
    the gap's 95% CI reaches 0 (gap_ci_low <= 0) or the PGR CI is unbounded. balanced=True scores accuracy
    class-balanced (ignored for AUROC). groups: a group id per test row; whole groups are resampled.
    """
    if metric not in METRICS:
        raise ValueError(f"metric {metric!r} unknown; use one of {METRICS}")
    if metric == "accuracy":
        point = [accuracy(p, labels, balanced) for p in (weak, ceiling, student)]
    else:
        point = [auroc(p, labels) for p in (weak, ceiling, student)]
    boot = paired_bootstrap(labels, [weak, ceiling, student], n_boot, seed, metrics=(metric,),
                            balanced=balanced, groups=groups)[metric]
    return pgr_from_scores(point, boot, metric, n_boot)

