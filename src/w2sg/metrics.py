"""Metrics for weak-to-strong experiments: (class-balanced) accuracy, per-question accuracy, AUROC, PGR with
paired bootstrap CIs, agreement split by weak-right / weak-wrong, KL misfit (Charikar et al. 2024; Mulgund &
Pabbaraju 2025), calibration and summaries over seeds.

Numpy only, so that the pipeline and the report can import it cheaply. Probabilities are P(y=1) vectors;
a hard prediction is 1 iff P(y=1) > 0.5 (ties go to 0, like argmax over [p0, p1]).
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

THRESHOLD = 0.5
METRICS = ("accuracy", "auroc")
_CHUNK_CELLS = 2_000_000  # bootstrap count matrices are built this many cells at a time (bounded memory)
_Z975 = 1.959963984540054
_KL_EPS = 1e-7  # KL clips the model probability to [eps, 1 - eps] so that it stays finite
# two-sided 95% Student-t quantiles t_{0.975, df} for df = 1..30; beyond, a Cornish-Fisher expansion
_T975 = (12.7062047, 4.3026527, 3.1824463, 2.7764451, 2.5705818, 2.4469119, 2.3646243, 2.3060041,
         2.2621572, 2.2281389, 2.2009852, 2.1788128, 2.1603687, 2.1447867, 2.1314495, 2.1199053,
         2.1098155, 2.1009220, 2.0930241, 2.0859634, 2.0796138, 2.0738731, 2.0686576, 2.0638986,
         2.0595386, 2.0555294, 2.0518305, 2.0484071, 2.0452296, 2.0422725)


# ---------------------------------------------------------------- input checks


def _as_probs(x: Any, name: str = "probs") -> np.ndarray:
    """Return a finite 1-D float vector of P(y=1); an (n, 2) array is read as [p0, p1]."""
    a = np.asarray(x, dtype=np.float64)
    if a.ndim == 2 and a.shape[1] == 2:
        a = a[:, 1]
    if a.ndim != 1:
        raise ValueError(f"{name}: expected a 1-D vector of P(y=1), got shape {a.shape}")
    if not np.isfinite(a).all():
        raise ValueError(f"{name}: contains NaN or inf; pass finite probabilities")
    return a


def _as_labels(y: Any, name: str = "labels") -> np.ndarray:
    """Return a 1-D int vector of 0/1 labels."""
    a = np.asarray(y)
    if a.ndim != 1:
        raise ValueError(f"{name}: expected a 1-D vector of 0/1 labels, got shape {a.shape}")
    if a.size and not np.isin(a, (0, 1)).all():
        raise ValueError(f"{name}: labels must be 0/1, found values {np.unique(a)[:6].tolist()}")
    return a.astype(np.int64)


def _same_length(**arrays: np.ndarray) -> int:
    lengths = {k: len(v) for k, v in arrays.items()}
    if len(set(lengths.values())) > 1:
        raise ValueError(f"inputs must have the same length, got {lengths}")
    return next(iter(lengths.values()))


def hard_labels(probs: Any) -> np.ndarray:
    """Hard 0/1 predictions: 1 iff P(y=1) > 0.5."""
    return (_as_probs(probs) > THRESHOLD).astype(np.int64)


# ---------------------------------------------------------------- point metrics


def accuracy(probs: Any, labels: Any, balanced: bool = False) -> float:
    """Accuracy of hard predictions (threshold 0.5); NaN on an empty set.

    balanced=True: the class-balanced accuracy, the mean of the per-class recalls over the classes present
    (= accuracy on the set reweighted so that both classes weigh the same; with one class, its recall).
    """
    p, y = _as_probs(probs), _as_labels(labels)
    _same_length(probs=p, labels=y)
    return float(accuracy_boot(p, y, np.ones((1, len(y)), dtype=np.int64), balanced)[0])


def majority_accuracy(labels: Any, balanced: bool = False) -> float:
    """Accuracy of always answering the majority class of `labels` (0.5 balanced with both classes present,
    max(pos_frac, 1 - pos_frac) unbalanced); NaN on an empty set."""
    y = _as_labels(labels)
    if len(y) == 0:
        return math.nan
    constant = np.full(len(y), 1.0 if y.mean() > 0.5 else 0.0)
    return accuracy(constant, y, balanced)


def auroc(probs: Any, labels: Any) -> float:
    """ROC AUC (ties count 1/2, as in sklearn); NaN when only one class is present."""
    p, y = _as_probs(probs), _as_labels(labels)
    _same_length(probs=p, labels=y)
    return float(auroc_boot(p, y, np.ones((1, len(y)), dtype=np.int64))[0])


def sq_error(pred: Any, target: Any) -> float:
    """Mean squared distance d(pred, target) = mean((pred - target)^2)."""
    a, b = np.asarray(pred, dtype=np.float64), np.asarray(target, dtype=np.float64)
    if a.shape != b.shape:
        raise ValueError(f"sq_error: shapes differ, pred {a.shape} vs target {b.shape}")
    return float(np.mean((a - b) ** 2)) if a.size else math.nan


def _probs_in_unit(x: Any, name: str) -> np.ndarray:
    a = _as_probs(x, name)
    if a.size and (a.min() < 0 or a.max() > 1):
        raise ValueError(f"{name}: probabilities must lie in [0, 1], found range [{a.min():.4g}, {a.max():.4g}]")
    return a


def _kl_rows(q: np.ndarray, p: np.ndarray) -> np.ndarray:
    """Row-wise Bernoulli KL(q || p); p clipped to [eps, 1 - eps], q used as is (0 log 0 = 0)."""
    p = np.clip(p, _KL_EPS, 1 - _KL_EPS)
    with np.errstate(divide="ignore", invalid="ignore"):
        pos = np.where(q > 0, q * np.log(q / p), 0.0)
        neg = np.where(q < 1, (1 - q) * np.log((1 - q) / (1 - p)), 0.0)
    return np.maximum(pos + neg, 0.0)


def kl(p_ref: Any, p: Any) -> float:
    """Mean over rows of the Bernoulli KL(p_ref || p) of two P(y=1) vectors; NaN on an empty set.

    p is clipped to [1e-7, 1 - 1e-7] so the KL stays finite; p_ref is used as is (0 log 0 = 0), so with hard
    0/1 labels as p_ref this is the cross-entropy of p.
    """
    q, m = _probs_in_unit(p_ref, "p_ref"), _probs_in_unit(p, "p")
    _same_length(p_ref=q, p=m)
    return float(_kl_rows(q, m).mean()) if len(q) else math.nan


def misfit(student: Any, weak: Any) -> float:
    """Misfit of the student to its soft weak labels in the form of the bound: mean KL(weak || student).

    The student minimises the cross-entropy on the weak P(y=1), i.e. E KL(f_w || f) up to a constant. With
    A = softplus, the log-partition of the Bernoulli in logit space, KL(p_b || p_a) = D_A(theta_a, theta_b),
    so fitting f_sw = argmin_f E KL(f_w || f) over a convex class of logits (e.g. linear heads on fixed
    features) is a Bregman projection of f_w in the first argument. When that class contains the soft ground
    truth f*, the generalised Pythagorean inequality of Bregman projections gives

        E KL(f_w || f*) >= E KL(f_sw || f*) + E KL(f_w || f_sw),

    i.e. err(student) <= err(weak) - misfit, with err(g) = E KL(g || f*) on the rows the student was trained
    on (the transfer set). Charikar et al. 2024 prove the squared-loss version, Mulgund & Pabbaraju 2025 the
    Bregman / cross-entropy version. With hard 0/1 ground truth the class is not realisable and the
    inequality is only a diagnostic; `misfit_bound` returns its slack.
    """
    return kl(weak, student)


def misfit_bound(truth_p1: Any, weak_p1: Any, student_p1: Any) -> dict[str, float]:
    """The terms of err(student) <= err(weak) - misfit (see `misfit`), err(g) = mean KL(g || truth).

    Returns weak_err, student_err, misfit = mean KL(weak || student) and slack = weak_err - misfit -
    student_err (>= 0 when the inequality holds). truth may be soft; it is clipped to [1e-7, 1 - 1e-7].
    """
    t = _probs_in_unit(truth_p1, "truth_p1")
    w, s = _probs_in_unit(weak_p1, "weak_p1"), _probs_in_unit(student_p1, "student_p1")
    n = _same_length(truth_p1=t, weak_p1=w, student_p1=s)
    if n == 0:
        return {"weak_err": math.nan, "student_err": math.nan, "misfit": math.nan, "slack": math.nan}
    weak_err, student_err = float(_kl_rows(w, t).mean()), float(_kl_rows(s, t).mean())
    fit = float(_kl_rows(w, s).mean())
    return {"weak_err": weak_err, "student_err": student_err, "misfit": fit,
            "slack": weak_err - fit - student_err}


def ece(probs: Any, labels: Any, n_bins: int = 10) -> float:
    """Expected calibration error of P(y=1) with equal-width bins; NaN on an empty set."""
    p, y = _as_probs(probs), _as_labels(labels)
    n = _same_length(probs=p, labels=y)
    if n == 0:
        return math.nan
    bins = np.minimum((p * n_bins).astype(np.int64), n_bins - 1)
    observed = np.bincount(bins, weights=y, minlength=n_bins)
    predicted = np.bincount(bins, weights=p, minlength=n_bins)
    gap = np.abs(observed - predicted)
    return float(gap.sum() / n)


def agreement(student_probs: Any, weak_probs: Any, labels: Any) -> dict[str, float]:
    """Share of examples where student and weak hard predictions agree: all, weak right, weak wrong."""
    s, w = _as_probs(student_probs, "student_probs"), _as_probs(weak_probs, "weak_probs")
    y = _as_labels(labels)
    _same_length(student_probs=s, weak_probs=w, labels=y)
    same = (s > THRESHOLD) == (w > THRESHOLD)
    weak_right = (w > THRESHOLD) == y

    def share(mask: np.ndarray) -> float:
        return float(same[mask].mean()) if mask.any() else math.nan

    everything = np.ones_like(same)
    return {"all": share(everything), "weak_right": share(weak_right), "weak_wrong": share(~weak_right)}


# ---------------------------------------------------------------- per-question accuracy


def _as_groups(groups: Any, name: str = "groups") -> np.ndarray:
    """Group id per row (1-D; any values, compared as strings)."""
    g = np.asarray(groups, dtype=object)
    if g.ndim != 1:
        raise ValueError(f"{name}: expected a 1-D sequence of group ids, got shape {g.shape}")
    return g.astype(str)


def _questions(labels: np.ndarray, groups: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(group index per row, per-group mask of the multiple-choice questions: >= 2 rows, exactly one positive)."""
    _, inv = np.unique(groups, return_inverse=True)
    inv = inv.reshape(-1)
    n_groups = int(inv.max()) + 1 if inv.size else 0
    sizes = np.bincount(inv, minlength=n_groups)
    n_pos = np.bincount(inv, weights=labels, minlength=n_groups)
    return inv, (sizes >= 2) & (n_pos == 1)


def question_coverage(labels: Any, groups: Any) -> tuple[int, float]:
    """(number of multiple-choice questions, share of rows in them): a question is a group with >= 2 rows
    and exactly one positive row; NaN share on an empty set."""
    y, g = _as_labels(labels), _as_groups(groups)
    n = _same_length(labels=y, groups=g)
    if n == 0:
        return 0, math.nan
    inv, question = _questions(y, g)
    return int(question.sum()), float(question[inv].mean())


def per_question_correct(probs: Any, labels: Any, groups: Any) -> np.ndarray:
    """Bool per multiple-choice question (group with >= 2 rows and exactly one positive row; other groups are
    left out), in sorted group order: True iff the positive row has the highest P(y=1) of its group.

    Ties: a question counts as right only when the positive row is the unique maximum; if another row ties
    with it at the top, the question counts as wrong.
    """
    p, y, g = _as_probs(probs), _as_labels(labels), _as_groups(groups)
    _same_length(probs=p, labels=y, groups=g)
    if len(y) == 0:
        return np.zeros(0, dtype=bool)
    inv, question = _questions(y, g)
    top = np.full(len(question), -np.inf)
    np.maximum.at(top, inv, p)
    at_top = p == top[inv]
    n_top = np.bincount(inv, weights=at_top, minlength=len(question))
    pos_top = np.bincount(inv, weights=at_top & (y == 1), minlength=len(question))
    return ((pos_top == 1) & (n_top == 1))[question]


# ---------------------------------------------------------------- vectorised bootstrap


def resample_counts(n: int, n_boot: int, rng: np.random.Generator | int) -> np.ndarray:
    """(n_boot, n) multiplicities of each example in each with-replacement resample of n examples."""
    rng = np.random.default_rng(rng)
    idx = rng.integers(0, n, size=(n_boot, n)) + (np.arange(n_boot) * n)[:, None]
    return np.bincount(idx.ravel(), minlength=n_boot * n).reshape(n_boot, n)


def accuracy_boot(probs: np.ndarray, labels: np.ndarray, counts: np.ndarray, balanced: bool = False) -> np.ndarray:
    """Accuracy in each resample given its (n_boot, n) count matrix (class-balanced if `balanced`)."""
    if balanced:
        return balanced_accuracy_boot(probs, labels, counts)
    correct = ((np.asarray(probs) > THRESHOLD) == np.asarray(labels)).astype(np.float64)
    total = counts.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return counts @ correct / total


def balanced_accuracy_boot(probs: np.ndarray, labels: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Class-balanced accuracy in each resample, from that resample's own class counts: the mean of the
    per-class recalls over the classes present in it; NaN for an empty resample."""
    y = np.asarray(labels)
    correct = (np.asarray(probs) > THRESHOLD) == y
    pos = y == 1
    cols = np.stack([correct & pos, pos, correct & ~pos, ~pos], axis=1).astype(np.float64)
    hit_pos, n_pos, hit_neg, n_neg = (counts @ cols).T
    with np.errstate(invalid="ignore", divide="ignore"):
        rec_pos, rec_neg = hit_pos / n_pos, hit_neg / n_neg
    both = 0.5 * (rec_pos + rec_neg)
    return np.where(n_pos > 0, np.where(n_neg > 0, both, rec_pos), np.where(n_neg > 0, rec_neg, math.nan))


def auroc_boot(probs: np.ndarray, labels: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """AUROC in each resample from its count matrix: Mann-Whitney U with ties as 1/2; NaN with one class."""
    probs, labels = np.asarray(probs, dtype=np.float64), np.asarray(labels)
    if probs.size == 0:
        return np.full(counts.shape[0], math.nan)
    order = np.argsort(probs, kind="stable")
    sorted_p = probs[order]
    starts = np.flatnonzero(np.r_[True, sorted_p[1:] != sorted_p[:-1]])  # one group per distinct score
    w = counts[:, order]
    pos = labels[order].astype(bool)
    pos_g = np.add.reduceat(np.where(pos, w, 0), starts, axis=1)
    neg_g = np.add.reduceat(np.where(pos, 0, w), starts, axis=1)
    neg_below = np.cumsum(neg_g, axis=1) - neg_g
    u = (pos_g * (neg_below + 0.5 * neg_g)).sum(axis=1)
    n_pos, n_neg = pos_g.sum(axis=1), neg_g.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where((n_pos > 0) & (n_neg > 0), u / (n_pos * n_neg), math.nan)


def _count_chunks(n: int, n_boot: int, seed: int) -> Iterator[np.ndarray]:
    rng = np.random.default_rng(seed)
    step = max(1, _CHUNK_CELLS // max(n, 1))
    for start in range(0, n_boot, step):
        yield resample_counts(n, min(step, n_boot - start), rng)


def paired_bootstrap(labels: Any, models: Sequence[Any], n_boot: int = 1000, seed: int = 0,
                     metrics: Sequence[str] = METRICS, balanced: bool = False) -> dict[str, np.ndarray]:
    """Paired bootstrap: every model is scored on the SAME resampled indices; metric -> (n_models, n_boot).

    balanced=True: "accuracy" is the class-balanced accuracy of each resample (its own class counts).
    """
    y = _as_labels(labels)
    ps = [_as_probs(m, f"models[{i}]") for i, m in enumerate(models)]
    _same_length(labels=y, **{f"models[{i}]": p for i, p in enumerate(ps)})

    def acc(p: np.ndarray, labels: np.ndarray, counts: np.ndarray) -> np.ndarray:
        return accuracy_boot(p, labels, counts, balanced)

    fns = {"accuracy": acc, "auroc": auroc_boot}
    unknown = [m for m in metrics if m not in fns]
    if unknown:
        raise ValueError(f"unknown metric(s) {unknown}; known: {list(fns)}")
    parts: dict[str, list[np.ndarray]] = {m: [] for m in metrics}
    for counts in _count_chunks(len(y), n_boot, seed):
        for m in metrics:
            parts[m].append(np.stack([fns[m](p, y, counts) for p in ps]))
    return {m: np.concatenate(v, axis=1) if v else np.empty((len(ps), 0)) for m, v in parts.items()}


def _ci(x: np.ndarray) -> tuple[float, float]:
    """95% percentile interval of the finite entries; NaN if there are none."""
    x = x[np.isfinite(x)]
    if x.size == 0:
        return math.nan, math.nan
    lo, hi = np.percentile(x, [2.5, 97.5])
    return float(lo), float(hi)


# ---------------------------------------------------------------- PGR


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
        return {k: _json_safe(v) for k, v in asdict(self).items()}


def _pgr_ci(pgrs: np.ndarray, ok: np.ndarray) -> tuple[float, float]:
    """95% percentile CI of the per-resample PGR where a resample without one (gap <= 0 or undefined) counts
    as -inf for the lower end and +inf for the upper end; non-interpolating, so an end may be infinite."""
    lo = np.percentile(np.where(ok, pgrs, -np.inf), 2.5, method="lower")
    hi = np.percentile(np.where(ok, pgrs, np.inf), 97.5, method="higher")
    return float(lo), float(hi)


def _pgr_from_scores(point: Sequence[float], boot: np.ndarray, metric: str, n_boot: int) -> PGRResult:
    """Build a PGRResult from point scores (weak, ceiling, student) and their (3, n_boot) paired resamples."""
    w, c, s = (float(v) for v in point)
    bw, bc, bs = boot
    bgap = bc - bw
    with np.errstate(invalid="ignore"):
        ok = np.isfinite(bgap) & np.isfinite(bs) & np.isfinite(bw) & (bgap > 0)
        pgrs = (bs - bw) / np.where(ok, bgap, 1.0)
    frac_undefined = float(1.0 - ok.mean()) if ok.size else math.nan
    gap_lo, gap_hi = _ci(bgap)
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
                n_boot: int = 1000, seed: int = 0, balanced: bool = False) -> PGRResult:
    """PGR on `metric` with a 95% paired bootstrap percentile CI over test examples.

    Paired: each resample uses the same test indices for weak, ceiling and student. A resample whose gap
    (ceiling - weak) is <= 0 or undefined has no PGR; it is not dropped but counts as -inf for the lower end
    and +inf for the upper end (lower = 2.5th percentile, upper = 97.5th, non-interpolating), so when more
    than ~2.5% of resamples lack a positive gap an end is infinite (None in `to_dict`) and `reason` says
    "PGR CI unbounded: ...". `frac_undefined` is the share of resamples without a PGR. `value` is None when
    the point-estimate gap is <= 0 (PGR undefined, never a number); `unstable` is True when PGR is undefined,
    the gap's 95% CI reaches 0 (gap_ci_low <= 0) or the PGR CI is unbounded. balanced=True scores accuracy
    class-balanced (ignored for AUROC).
    """
    if metric not in METRICS:
        raise ValueError(f"metric {metric!r} unknown; use one of {METRICS}")
    if metric == "accuracy":
        point = [accuracy(p, labels, balanced) for p in (weak, ceiling, student)]
    else:
        point = [auroc(p, labels) for p in (weak, ceiling, student)]
    boot = paired_bootstrap(labels, [weak, ceiling, student], n_boot, seed, metrics=(metric,),
                            balanced=balanced)[metric]
    return _pgr_from_scores(point, boot, metric, n_boot)


# ---------------------------------------------------------------- over seeds


def _t975(df: int) -> float:
    """Two-sided 95% Student-t quantile."""
    if df <= len(_T975):
        return _T975[df - 1]
    z, v = _Z975, float(df)
    return (z + (z**3 + z) / (4 * v) + (5 * z**5 + 16 * z**3 + 3 * z) / (96 * v**2)
            + (3 * z**7 + 19 * z**5 + 17 * z**3 - 15 * z) / (384 * v**3))


def seed_summary(values: Sequence[float | None]) -> dict[str, float | int]:
    """Mean, sd (ddof=1) and t-based 95% CI over seeds; None/NaN are skipped and counted in n_undefined."""
    vals = [float(v) for v in values if v is not None and math.isfinite(float(v))]
    n = len(vals)
    mean = float(np.mean(vals)) if n else math.nan
    sd = lo = hi = math.nan
    if n >= 2:
        sd = float(np.std(vals, ddof=1))
        half = _t975(n - 1) * sd / math.sqrt(n)
        lo, hi = mean - half, mean + half
    return {"mean": mean, "sd": sd, "n": n, "ci_low": lo, "ci_high": hi, "n_undefined": len(values) - n}


# ---------------------------------------------------------------- one experiment


def _json_safe(v: Any) -> Any:
    """Python scalar with NaN/inf -> None."""
    if isinstance(v, (bool, np.bool_)):
        return bool(v)
    if isinstance(v, (int, np.integer)):
        return int(v)
    if isinstance(v, (float, np.floating)):
        return float(v) if math.isfinite(v) else None
    return v


def _agreement_keys(prefix: str, student: Any | None, weak: Any, labels: Any) -> dict[str, float | None]:
    vals = agreement(student, weak, labels) if student is not None else {}
    return {f"{prefix}_{k}": vals.get(k) for k in ("all", "weak_right", "weak_wrong")}


def _pgr_keys(short: str, r: PGRResult | None) -> dict[str, Any]:
    """The record keys of one PGR (all None when it is not computed)."""
    keys = ("value", "ci_low", "ci_high", "gap", "gap_ci_low", "gap_ci_high", "reason", "frac_undefined")
    vals = dict.fromkeys(keys) if r is None else asdict(r)
    names = {"value": f"pgr_{short}", "gap": f"gap_{short}", "gap_ci_low": f"gap_{short}_ci_low",
             "gap_ci_high": f"gap_{short}_ci_high"}
    out = {names.get(k, f"pgr_{short}_{k}"): vals[k] for k in keys}
    out["unstable" if short == "acc" else f"unstable_{short}"] = None if r is None else r.unstable
    return out


def _question_keys(models: dict[str, np.ndarray], y: np.ndarray, groups: Any | None, n_boot: int,
                   seed: int) -> dict[str, Any]:
    """Per-question accuracy and its PGR when multiple-choice questions cover >= half the rows, else None."""
    out: dict[str, Any] = {"n_questions": 0, "q_coverage": None}
    for name in models:
        out |= {f"{name}_q_acc": None, f"{name}_q_acc_ci_low": None, f"{name}_q_acc_ci_high": None}
    if groups is None:
        return out | _pgr_keys("q_acc", None)
    g = _as_groups(groups, "test_groups")
    _same_length(test_labels=y, test_groups=g)
    n_q, coverage = question_coverage(y, g)
    out["q_coverage"] = coverage
    if not n_q or not coverage >= 0.5:
        return out | _pgr_keys("q_acc", None)
    correct = np.stack([per_question_correct(p, y, g) for p in models.values()]).astype(np.float64)
    point = correct.mean(axis=1)
    boot = np.concatenate([(counts @ correct.T / n_q).T for counts in _count_chunks(n_q, n_boot, seed)]
                          or [np.empty((len(models), 0))], axis=1)
    out["n_questions"] = n_q
    for i, name in enumerate(models):
        out[f"{name}_q_acc"] = point[i]
        out[f"{name}_q_acc_ci_low"], out[f"{name}_q_acc_ci_high"] = _ci(boot[i])
    return out | _pgr_keys("q_acc", _pgr_from_scores(point, boot, "question accuracy", n_boot))


def evaluate(test_labels: Any, weak_test: Any, ceiling_test: Any, student_test: Any,
             transfer_labels: Any = None, weak_transfer: Any = None, student_transfer: Any = None,
             ceiling_transfer: Any = None, n_boot: int = 1000, seed: int = 0, *,
             test_groups: Sequence[str] | None = None, balance_test: bool = True) -> dict[str, Any]:
    """All metrics of one experiment as a flat, JSON-safe dict (NaN/inf -> None; keys present even when None).

    balance_test=True: every accuracy on T (point, bootstrap, gap, PGR, majority baseline) is class-balanced,
    each bootstrap resample from its own class counts. test_groups: group (question) id per test row; when
    groups with >= 2 rows and exactly one positive row cover at least half of T, the task is also scored per
    question (`*_q_acc`, `pgr_q_acc`, bootstrap over questions), else those keys are None.
    """
    y = _as_labels(test_labels, "test_labels")
    models = {"weak": _as_probs(weak_test, "weak_test"), "ceiling": _as_probs(ceiling_test, "ceiling_test"),
              "student": _as_probs(student_test, "student_test")}
    n = _same_length(test_labels=y, **{f"{k}_test": v for k, v in models.items()})
    boot = paired_bootstrap(y, list(models.values()), n_boot, seed, balanced=balance_test)
    out: dict[str, Any] = {"n_test": n, "n_boot": n_boot, "seed": seed, "test_balanced": bool(balance_test),
                           "test_pos_frac": float(y.mean()) if n else math.nan,
                           "majority_acc": majority_accuracy(y, balance_test)}
    for metric, short in (("accuracy", "acc"), ("auroc", "auroc")):
        if metric == "accuracy":
            point = [accuracy(p, y, balance_test) for p in models.values()]
        else:
            point = [auroc(p, y) for p in models.values()]
        for i, name in enumerate(models):
            out[f"{name}_{short}"] = point[i]
            out[f"{name}_{short}_ci_low"], out[f"{name}_{short}_ci_high"] = _ci(boot[metric][i])
        out |= _pgr_keys(short, _pgr_from_scores(point, boot[metric], metric, n_boot))
    for name in ("weak", "ceiling"):
        acc, base = out[f"{name}_acc"], out["majority_acc"]
        out[f"{name}_below_majority"] = (acc < base - 1e-9) if math.isfinite(acc) and math.isfinite(base) else None
    out |= _question_keys(models, y, test_groups, n_boot, seed)
    for name, p in models.items():
        out[f"{name}_ece"] = ece(p, y)
    w, s, c = models["weak"], models["student"], models["ceiling"]
    out |= _agreement_keys("agree_test", s, w, y)
    out |= _agreement_keys("ceiling_agree_test", c, w, y)  # control: weak/strong errors correlate anyway
    out |= {"misfit_test": misfit(s, w), "weak_kl_test": kl(y, w), "student_kl_test": kl(y, s),
            "ceiling_kl_test": kl(y, c)}

    given = {"transfer_labels": transfer_labels, "weak_transfer": weak_transfer,
             "student_transfer": student_transfer}
    missing = [k for k, v in given.items() if v is None]
    if len(missing) not in (0, len(given)) or (ceiling_transfer is not None and missing):
        raise ValueError(f"transfer metrics need transfer_labels, weak_transfer and student_transfer; "
                         f"missing {missing}")
    ty = wt = st = ct = None
    if not missing:
        ty = _as_labels(transfer_labels, "transfer_labels")
        wt, st = _as_probs(weak_transfer, "weak_transfer"), _as_probs(student_transfer, "student_transfer")
        ct = None if ceiling_transfer is None else _as_probs(ceiling_transfer, "ceiling_transfer")
        _same_length(transfer_labels=ty, weak_transfer=wt, student_transfer=st,
                     **({} if ct is None else {"ceiling_transfer": ct}))
    out["n_transfer"] = None if ty is None else len(ty)
    out |= _agreement_keys("agree_transfer", st, wt, ty)
    out |= _agreement_keys("ceiling_agree_transfer", ct, wt, ty)
    out |= {"misfit_transfer": None if st is None else misfit(st, wt),
            "weak_kl_transfer": None if st is None else kl(ty, wt),
            "student_kl_transfer": None if st is None else kl(ty, st)}
    return {k: _json_safe(v) for k, v in out.items()}


def supervisor_metrics(test_labels: Any, supervisor_test: Any, balanced: bool = True,
                       test_groups: Sequence[str] | None = None) -> dict[str, Any]:
    """Accuracy and AUROC on T of the supervisor a method built itself (e.g. a weak ensemble). PGR keeps the
    single weak model as its floor; these numbers say how much better the method's own supervisor was.

    Pass the same `balanced` and `test_groups` as to `evaluate` so that supervisor_acc compares with weak_acc
    and supervisor_q_acc with weak_q_acc (None unless the task is judged per question).
    """
    y = _as_labels(test_labels, "test_labels")
    p = _as_probs(supervisor_test, "supervisor_test")
    _same_length(test_labels=y, supervisor_test=p)
    q_acc = None
    if test_groups is not None:
        g = _as_groups(test_groups, "test_groups")
        _same_length(test_labels=y, test_groups=g)
        n_q, coverage = question_coverage(y, g)
        if n_q and coverage >= 0.5:
            q_acc = float(per_question_correct(p, y, g).mean())
    out = {"supervisor_acc": accuracy(p, y, balanced), "supervisor_auroc": auroc(p, y), "supervisor_q_acc": q_acc}
    return {k: _json_safe(v) for k, v in out.items()}
