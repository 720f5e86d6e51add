"""Lang, Sontag & Vijayaraghavan (NeurIPS 2024, arXiv:2405.16043): pseudolabel correction and coverage expansion.

Assumptions of the bounds: the student class is robust (its prediction cannot change within a point's
neighbourhood without paying error) and the data expand: within each true class, the set where the teacher is
wrong (or abstains) has neighbourhoods that reach far into the set where it is right, so that a student fitting
the teacher's right labels is pulled to the right label on its wrong points as well. The bound on the student's
error on the teacher-wrong set shrinks as the expansion grows. The paper checks expansion statistically from
finite data.

Here the neighbourhoods are the k nearest neighbours in the strong model's representation (cosine, on T), within
the point's true class, and the expansion of a point is the share of those neighbours the weak model labels
right (`local_expansion`). The predictions checked (`correction_summary`): (1) pseudolabel correction: the
student is right more often on weak-wrong points of high expansion than on those of low expansion; (2) coverage
expansion: on the points the weak model is least sure of (abstains), the same holds for the share of neighbours
where it is confident and right. Ground truth of T enters these analyses only, never a student's choice.
"""

from __future__ import annotations

import math

import numpy as np

from w2sg.metrics.resample import group_codes, percentile_ci


def knn(features, k: int, same=None, block: int = 1024) -> np.ndarray:
    """(n, k) indices of each row's k nearest other rows by cosine similarity of centred features; with `same`
    (a label per row), only among rows with the same label (fewer when the label has fewer rows: -1 pads).
    Similarities are computed `block` rows at a time, so memory grows as block x n, not n x n."""
    x = np.asarray(features, dtype=np.float64)
    x = x - x.mean(0)
    x /= np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)
    lab = None if same is None else np.asarray(same)
    n = len(x)
    k = min(k, n - 1)
    out = np.empty((n, max(k, 0)), dtype=np.int64)
    for start in range(0, n, block):
        rows = np.arange(start, min(start + block, n))
        sim = x[rows] @ x.T
        sim[np.arange(len(rows)), rows] = -np.inf
        if lab is not None:
            sim[lab[rows][:, None] != lab[None, :]] = -np.inf
        idx = np.argsort(-sim, axis=1, kind="stable")[:, :k]
        out[rows] = np.where(np.take_along_axis(sim, idx, 1) > -np.inf, idx, -1)
    return out


def local_expansion(features, truth, good, k: int = 10) -> np.ndarray:
    """Per row: the share of its k nearest same-class neighbours (strong features) that lie in `good` (a boolean
    per row, e.g. the weak model is right there); NaN for a row without neighbours."""
    good = np.asarray(good, dtype=bool)
    idx = knn(features, k, same=np.asarray(truth))
    valid = idx >= 0
    hits = np.where(valid, good[np.maximum(idx, 0)], False).sum(1)
    n = valid.sum(1)
    return np.where(n > 0, hits / np.maximum(n, 1), np.nan)


def _split_rate(right: np.ndarray, score: np.ndarray, rows: np.ndarray, counts=None) -> tuple[float, float]:
    """Student accuracy on `rows` above and at-or-below the median of `score` (weighted by bootstrap counts)."""
    w = np.ones(len(right)) if counts is None else counts
    s = score[rows]
    med = np.median(s)
    hi, lo = rows[s > med], rows[s <= med]

    def rate(r):
        tot = w[r].sum()
        return float((w[r] * right[r]).sum() / tot) if tot > 0 else math.nan

    return rate(hi), rate(lo)


def correction_summary(features, truth, weak, student, k: int = 10, abstain: float = 0.2, groups=None,
                       n_boot: int = 1000, seed: int = 0) -> dict[str, float | int | None]:
    """Pseudolabel correction and coverage expansion on T (module docstring). Keys:
    expansion, correction: mean local expansion of the weak-wrong points and the student's accuracy there;
    correction_high / _low: the student's accuracy on weak-wrong points above / at-or-below their median expansion,
    correction_diff (high - low) with a 95% CI that resamples whole test groups (`groups`);
    abstain_*: the same on the `abstain` share of T where the weak model is least confident, expansion counted
    toward confident-and-right neighbours: abstain_student_acc, abstain_weak_acc, abstain_diff (+ CI). A value
    that is undefined (e.g. every weak-wrong row has the same expansion, so none lies above the median) is None."""
    y = np.asarray(truth).astype(int)
    w = np.asarray(weak, dtype=np.float64)
    s = np.asarray(student, dtype=np.float64)
    weak_right, student_right = (w > 0.5) == y, ((s > 0.5) == y).astype(float)
    wrong = np.flatnonzero(~weak_right)
    conf = np.abs(w - 0.5)
    n_abs = max(int(round(abstain * len(y))), 1)
    order = np.argsort(conf, kind="stable")
    abst = np.sort(order[:n_abs])
    confident_right = weak_right.copy()
    confident_right[abst] = False
    exp_wrong = local_expansion(features, y, weak_right, k)
    exp_abs = local_expansion(features, y, confident_right, k)
    out: dict[str, float | int | None] = {
        "k": k, "n_weak_wrong": int(len(wrong)), "n_abstain": int(n_abs),
        "expansion": float(np.nanmean(exp_wrong[wrong])) if len(wrong) else None,
        "correction": float(student_right[wrong].mean()) if len(wrong) else None,
        "abstain_expansion": float(np.nanmean(exp_abs[abst])),
        "abstain_student_acc": float(student_right[abst].mean()),
        "abstain_weak_acc": float(weak_right[abst].mean())}
    codes = group_codes(groups, len(y))
    codes = np.arange(len(y)) if codes is None else codes
    n_groups = int(codes.max()) + 1 if len(codes) else 0
    rng = np.random.default_rng(seed)
    for name, rows, score in (("correction", wrong, exp_wrong), ("abstain", abst, exp_abs)):
        if len(rows) < 4:
            out |= {f"{name}_high": None, f"{name}_low": None, f"{name}_diff": None,
                    f"{name}_diff_ci_low": None, f"{name}_diff_ci_high": None}
            continue
        hi, lo = _split_rate(student_right, score, rows)
        reps = []
        for _ in range(n_boot):
            counts = np.bincount(rng.integers(0, n_groups, n_groups), minlength=n_groups)[codes].astype(float)
            h, lw = _split_rate(student_right, score, rows, counts)
            if math.isfinite(h) and math.isfinite(lw):
                reps.append(h - lw)
        c_lo, c_hi = percentile_ci(np.asarray(reps)) if reps else (math.nan, math.nan)
        out |= {f"{name}_high": hi, f"{name}_low": lo, f"{name}_diff": hi - lo,
                f"{name}_diff_ci_low": c_lo, f"{name}_diff_ci_high": c_hi}
    # undefined (no weak-wrong row above the median expansion, e.g. all in one cluster): None, not NaN
    return {k: None if isinstance(v, float) and not math.isfinite(v) else v for k, v in out.items()}
