"""Metrics for weak-to-strong experiments: accuracy, AUROC, PGR with paired bootstrap CIs, agreement split
by weak-right / weak-wrong, misfit (Charikar et al. 2024), calibration and summaries over seeds.

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


def accuracy(probs: Any, labels: Any) -> float:
    """Accuracy of hard predictions (threshold 0.5); NaN on an empty set."""
    p, y = _as_probs(probs), _as_labels(labels)
    _same_length(probs=p, labels=y)
    return float(np.mean((p > THRESHOLD) == y)) if len(y) else math.nan


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


def misfit(student: Any, weak: Any) -> float:
    """Misfit d(student, weak) of Charikar et al. 2024 (squared loss)."""
    return sq_error(student, weak)


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


# ---------------------------------------------------------------- vectorised bootstrap


def resample_counts(n: int, n_boot: int, rng: np.random.Generator | int) -> np.ndarray:
    """(n_boot, n) multiplicities of each example in each with-replacement resample of n examples."""
    rng = np.random.default_rng(rng)
    idx = rng.integers(0, n, size=(n_boot, n)) + (np.arange(n_boot) * n)[:, None]
    return np.bincount(idx.ravel(), minlength=n_boot * n).reshape(n_boot, n)


def accuracy_boot(probs: np.ndarray, labels: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Accuracy in each resample given its (n_boot, n) count matrix."""
    correct = ((np.asarray(probs) > THRESHOLD) == np.asarray(labels)).astype(np.float64)
    total = counts.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return counts @ correct / total


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
                     metrics: Sequence[str] = METRICS) -> dict[str, np.ndarray]:
    """Paired bootstrap: every model is scored on the SAME resampled indices; metric -> (n_models, n_boot)."""
    y = _as_labels(labels)
    ps = [_as_probs(m, f"models[{i}]") for i, m in enumerate(models)]
    _same_length(labels=y, **{f"models[{i}]": p for i, p in enumerate(ps)})
    fns = {"accuracy": accuracy_boot, "auroc": auroc_boot}
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
    """PGR with its paired bootstrap CI, the gap (ceiling - weak) with its CI, and why not to trust it."""

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


def _pgr_from_scores(point: Sequence[float], boot: np.ndarray, metric: str, n_boot: int) -> PGRResult:
    """Build a PGRResult from point scores (weak, ceiling, student) and their (3, n_boot) paired resamples."""
    w, c, s = (float(v) for v in point)
    bw, bc, bs = boot
    bgap = bc - bw
    ok = np.isfinite(bgap) & np.isfinite(bs) & (bgap > 0)
    frac_undefined = float(1.0 - ok.mean()) if ok.size else math.nan
    gap_lo, gap_hi = _ci(bgap)
    value = pgr(w, c, s)
    ci_low = ci_high = None
    reason = None
    if not all(math.isfinite(v) for v in (w, c, s)):
        reason = f"{metric} undefined on the test set (only one class present?)"
    elif value is None:
        reason = f"ceiling {metric} {c:.3f} <= weak {w:.3f}: no gap to recover"
    else:
        if ok.any():
            ci_low, ci_high = _ci((bs[ok] - bw[ok]) / bgap[ok])
        if not math.isfinite(gap_lo):
            reason = f"gap {c - w:.3f}: no bootstrap resample has a defined {metric}, CI unknown"
        elif gap_lo <= 0:
            reason = f"gap {c - w:.3f} within noise (95% CI {gap_lo:.3f}..{gap_hi:.3f})"
    unstable = value is None or not gap_lo > 0
    return PGRResult(value, ci_low, ci_high, c - w, gap_lo, gap_hi, unstable, reason, n_boot, frac_undefined,
                     metric, w, c, s)


def pgr_with_ci(labels: Any, weak: Any, ceiling: Any, student: Any, metric: str = "accuracy",
                n_boot: int = 1000, seed: int = 0) -> PGRResult:
    """PGR on `metric` with a 95% paired bootstrap percentile CI over test examples.

    Paired: each resample uses the same test indices for weak, ceiling and student. The PGR CI is taken over
    the resamples whose gap (ceiling - weak) is > 0; `frac_undefined` is the share of resamples without a
    positive gap. `value` is None when the point-estimate gap is <= 0 (PGR undefined, never a number);
    `unstable` is True when PGR is undefined or the gap's 95% CI reaches 0 (gap_ci_low <= 0).
    """
    if metric not in METRICS:
        raise ValueError(f"metric {metric!r} unknown; use one of {METRICS}")
    point_fn = accuracy if metric == "accuracy" else auroc
    point = [point_fn(p, labels) for p in (weak, ceiling, student)]
    boot = paired_bootstrap(labels, [weak, ceiling, student], n_boot, seed, metrics=(metric,))[metric]
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


def evaluate(test_labels: Any, weak_test: Any, ceiling_test: Any, student_test: Any,
             transfer_labels: Any = None, weak_transfer: Any = None, student_transfer: Any = None,
             ceiling_transfer: Any = None, n_boot: int = 1000, seed: int = 0) -> dict[str, Any]:
    """All metrics of one experiment as a flat, JSON-safe dict (NaN -> None; keys present even when None)."""
    y = _as_labels(test_labels, "test_labels")
    models = {"weak": _as_probs(weak_test, "weak_test"), "ceiling": _as_probs(ceiling_test, "ceiling_test"),
              "student": _as_probs(student_test, "student_test")}
    n = _same_length(test_labels=y, **{f"{k}_test": v for k, v in models.items()})
    boot = paired_bootstrap(y, list(models.values()), n_boot, seed)
    out: dict[str, Any] = {"n_test": n, "n_boot": n_boot, "seed": seed}
    for metric, short, fn in (("accuracy", "acc", accuracy), ("auroc", "auroc", auroc)):
        point = [fn(p, y) for p in models.values()]
        for i, name in enumerate(models):
            out[f"{name}_{short}"] = point[i]
            out[f"{name}_{short}_ci_low"], out[f"{name}_{short}_ci_high"] = _ci(boot[metric][i])
        r = _pgr_from_scores(point, boot[metric], metric, n_boot)
        out |= {f"pgr_{short}": r.value, f"pgr_{short}_ci_low": r.ci_low, f"pgr_{short}_ci_high": r.ci_high,
                f"gap_{short}": r.gap, f"gap_{short}_ci_low": r.gap_ci_low,
                f"gap_{short}_ci_high": r.gap_ci_high, f"pgr_{short}_reason": r.reason,
                f"pgr_{short}_frac_undefined": r.frac_undefined}
        out["unstable" if short == "acc" else "unstable_auroc"] = r.unstable
    for name, p in models.items():
        out[f"{name}_ece"] = ece(p, y)
    w, s, c = models["weak"], models["student"], models["ceiling"]
    out |= _agreement_keys("agree_test", s, w, y)
    out |= _agreement_keys("ceiling_agree_test", c, w, y)  # control: weak/strong errors correlate anyway
    out |= {"misfit_test": misfit(s, w), "weak_sq_err_test": sq_error(w, y),
            "student_sq_err_test": sq_error(s, y), "ceiling_sq_err_test": sq_error(c, y)}

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
            "weak_sq_err_transfer": None if st is None else sq_error(wt, ty),
            "student_sq_err_transfer": None if st is None else sq_error(st, ty)}
    return {k: _json_safe(v) for k, v in out.items()}


def supervisor_metrics(test_labels: Any, supervisor_test: Any) -> dict[str, Any]:
    """Accuracy and AUROC on T of the supervisor a method built itself (e.g. a weak ensemble). PGR keeps the
    single weak model as its floor; these numbers say how much better the method's own supervisor was."""
    y = _as_labels(test_labels, "test_labels")
    p = _as_probs(supervisor_test, "supervisor_test")
    _same_length(test_labels=y, supervisor_test=p)
    return {k: _json_safe(v) for k, v in {"supervisor_acc": accuracy(p, y), "supervisor_auroc": auroc(p, y)}.items()}
