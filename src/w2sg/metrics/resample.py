"""The vectorised paired bootstrap over test examples: resample count matrices, accuracy / balanced
accuracy / AUROC of every resample at once, and 95% percentile intervals."""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np

from w2sg.metrics._inputs import THRESHOLD, as_labels, as_probs, same_length

METRICS = ("accuracy", "auroc")
_CHUNK_CELLS = 2_000_000  # bootstrap count matrices are built this many cells at a time (bounded memory)


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


def count_chunks(n: int, n_boot: int, seed: int, groups: Any = None) -> Iterator[np.ndarray]:
    """(chunk, n) count matrices of the bootstrap resamples of n rows, a bounded number of cells at a time.

    groups: a group id per row; when some group has several rows, whole groups are resampled (cluster
    bootstrap: a row's count is its group's), else rows i.i.d."""
    codes = group_codes(groups, n)
    rng = np.random.default_rng(seed)
    units = n if codes is None else int(codes.max()) + 1
    step = max(1, _CHUNK_CELLS // max(n, 1))
    for start in range(0, n_boot, step):
        counts = resample_counts(units, min(step, n_boot - start), rng)
        yield counts if codes is None else counts[:, codes]


def group_codes(groups: Any, n: int) -> np.ndarray | None:
    """Codes 0..G-1 of the rows' groups, or None when there are no groups or every row is its own group (the
    i.i.d. bootstrap is then the cluster bootstrap)."""
    if groups is None:
        return None
    g = np.asarray(list(groups), dtype=object).astype(str)
    if len(g) != n:
        raise ValueError(f"groups: {len(g)} group ids for {n} rows")
    uniq, codes = np.unique(g, return_inverse=True)
    return None if len(uniq) == n else codes.astype(np.int64)


def paired_bootstrap(labels: Any, models: Sequence[Any], n_boot: int = 1000, seed: int = 0,
                     metrics: Sequence[str] = METRICS, balanced: bool = False,
                     groups: Sequence[str] | None = None) -> dict[str, np.ndarray]:
    """Paired bootstrap: every model is scored on the SAME resampled indices; metric -> (n_models, n_boot).

    balanced=True: "accuracy" is the class-balanced accuracy of each resample (its own class counts).
    groups: a group (question) id per row: whole groups are resampled (the rows of one question are not
    independent), so every CI built on it is a cluster-bootstrap CI.
    """
    y = as_labels(labels)
    ps = [as_probs(m, f"models[{i}]") for i, m in enumerate(models)]
    same_length(labels=y, **{f"models[{i}]": p for i, p in enumerate(ps)})

    def acc(p: np.ndarray, labels: np.ndarray, counts: np.ndarray) -> np.ndarray:
        return accuracy_boot(p, labels, counts, balanced)

    fns = {"accuracy": acc, "auroc": auroc_boot}
    unknown = [m for m in metrics if m not in fns]
    if unknown:
        raise ValueError(f"unknown metric(s) {unknown}; known: {list(fns)}")
    parts: dict[str, list[np.ndarray]] = {m: [] for m in metrics}
    for counts in count_chunks(len(y), n_boot, seed, groups):
        for m in metrics:
            parts[m].append(np.stack([fns[m](p, y, counts) for p in ps]))
    return {m: np.concatenate(v, axis=1) if v else np.empty((len(ps), 0)) for m, v in parts.items()}


def percentile_ci(x: np.ndarray) -> tuple[float, float]:
    """95% percentile interval of the finite entries; NaN if there are none."""
    x = x[np.isfinite(x)]
    if x.size == 0:
        return math.nan, math.nan
    lo, hi = np.percentile(x, [2.5, 97.5])
    return float(lo), float(hi)



def mean_ci(values: Any, groups: Sequence[str] | None = None, n_boot: int = 1000,
            seed: int = 0) -> tuple[float, float, float, int]:
    """(mean, 95% CI low, high, n) of the finite entries of `values` (NaN marks a row that does not count, e.g.
    an honest consultant when counting the liar's wins); the CI resamples whole groups when `groups` is given
    (cluster bootstrap) and is NaN with fewer than two counted rows."""
    v = np.asarray(values, dtype=np.float64)
    ok = np.isfinite(v)
    n = int(ok.sum())
    if n == 0:
        return math.nan, math.nan, math.nan, 0
    w = np.where(ok, v, 0.0)
    if n < 2:
        return float(w.sum()), math.nan, math.nan, n
    boots = []
    for counts in count_chunks(len(v), n_boot, seed, groups):
        k = counts * ok
        with np.errstate(invalid="ignore", divide="ignore"):
            boots.append((k * w).sum(axis=1) / k.sum(axis=1))
    lo, hi = percentile_ci(np.concatenate(boots))
    return float(w.sum() / n), lo, hi, n
