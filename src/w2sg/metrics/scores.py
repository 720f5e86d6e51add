"""Scores of one model on a labelled set: (class-balanced) accuracy, the majority baseline, AUROC, squared
error, calibration (ECE), and per-question accuracy on multiple-choice tasks.

A hard prediction is 1 iff P(y=1) > 0.5 (ties go to 0, like argmax over [p0, p1])."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from w2sg.metrics._inputs import THRESHOLD, as_groups, as_labels, as_probs, same_length
from w2sg.metrics.resample import accuracy_boot, auroc_boot


def hard_labels(probs: Any) -> np.ndarray:
    """Hard 0/1 predictions: 1 iff P(y=1) > 0.5."""
    return (as_probs(probs) > THRESHOLD).astype(np.int64)


def accuracy(probs: Any, labels: Any, balanced: bool = False) -> float:
    """Accuracy of hard predictions (threshold 0.5); NaN on an empty set.

    balanced=True: the class-balanced accuracy, the mean of the per-class recalls over the classes present
    (= accuracy on the set reweighted so that both classes weigh the same; with one class, its recall).
    """
    p, y = as_probs(probs), as_labels(labels)
    same_length(probs=p, labels=y)
    return float(accuracy_boot(p, y, np.ones((1, len(y)), dtype=np.int64), balanced)[0])


def majority_accuracy(labels: Any, balanced: bool = False) -> float:
    """Accuracy of always answering the majority class of `labels` (0.5 balanced with both classes present,
    max(pos_frac, 1 - pos_frac) unbalanced); NaN on an empty set."""
    y = as_labels(labels)
    if len(y) == 0:
        return math.nan
    constant = np.full(len(y), 1.0 if y.mean() > 0.5 else 0.0)
    return accuracy(constant, y, balanced)


def auroc(probs: Any, labels: Any) -> float:
    """ROC AUC (ties count 1/2, as in sklearn); NaN when only one class is present."""
    p, y = as_probs(probs), as_labels(labels)
    same_length(probs=p, labels=y)
    return float(auroc_boot(p, y, np.ones((1, len(y)), dtype=np.int64))[0])


def sq_error(pred: Any, target: Any) -> float:
    """Mean squared distance d(pred, target) = mean((pred - target)^2)."""
    a, b = np.asarray(pred, dtype=np.float64), np.asarray(target, dtype=np.float64)
    if a.shape != b.shape:
        raise ValueError(f"sq_error: shapes differ, pred {a.shape} vs target {b.shape}")
    return float(np.mean((a - b) ** 2)) if a.size else math.nan


def ece(probs: Any, labels: Any, n_bins: int = 10) -> float:
    """Expected calibration error of P(y=1) with equal-width bins; NaN on an empty set."""
    p, y = as_probs(probs), as_labels(labels)
    n = same_length(probs=p, labels=y)
    if n == 0:
        return math.nan
    bins = np.minimum((p * n_bins).astype(np.int64), n_bins - 1)
    observed = np.bincount(bins, weights=y, minlength=n_bins)
    predicted = np.bincount(bins, weights=p, minlength=n_bins)
    gap = np.abs(observed - predicted)
    return float(gap.sum() / n)



# ---------------------------------------------------------------- per-question accuracy


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
    y, g = as_labels(labels), as_groups(groups)
    n = same_length(labels=y, groups=g)
    if n == 0:
        return 0, math.nan
    inv, question = _questions(y, g)
    return int(question.sum()), float(question[inv].mean())


def question_first_rows(labels: Any, groups: Any) -> np.ndarray:
    """The index of the first row of each multiple-choice question (group with >= 2 rows and exactly one positive
    row), in sorted group order: the order of `per_question_correct`."""
    y, g = as_labels(labels), as_groups(groups)
    same_length(labels=y, groups=g)
    if len(y) == 0:
        return np.zeros(0, dtype=np.int64)
    inv, question = _questions(y, g)
    return np.unique(inv, return_index=True)[1][question]


def per_question_correct(probs: Any, labels: Any, groups: Any) -> np.ndarray:
    """Bool per multiple-choice question (group with >= 2 rows and exactly one positive row; other groups are
    left out), in sorted group order: True iff the positive row has the highest P(y=1) of its group.

    Ties: a question counts as right only when the positive row is the unique maximum; if another row ties
    with it at the top, the question counts as wrong.
    """
    p, y, g = as_probs(probs), as_labels(labels), as_groups(groups)
    same_length(probs=p, labels=y, groups=g)
    if len(y) == 0:
        return np.zeros(0, dtype=bool)
    inv, question = _questions(y, g)
    top = np.full(len(question), -np.inf)
    np.maximum.at(top, inv, p)
    at_top = p == top[inv]
    n_top = np.bincount(inv, weights=at_top, minlength=len(question))
    pos_top = np.bincount(inv, weights=at_top & (y == 1), minlength=len(question))
    return ((pos_top == 1) & (n_top == 1))[question]

