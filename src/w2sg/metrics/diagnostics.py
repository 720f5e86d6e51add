"""Diagnostics of what the student learnt from its weak supervisor: agreement split by weak right / weak
wrong, the Bernoulli KL, and the misfit with its bound err(student) <= err(weak) - misfit.

The bound (Charikar, Pabbaraju & Shiragur 2024, "Quantifying the gain in weak-to-strong generalization",
NeurIPS, arXiv:2405.15116, for the squared loss; Mulgund & Pabbaraju 2025, "Relating misfit to gain in
weak-to-strong generalization beyond the squared loss", arXiv:2501.19105, for Bregman divergences and so the
cross-entropy): when the strong class is convex, contains the truth f*, and the student is the projection
of the weak labels onto it, then on the rows it was fitted on

    err(f_sw) <= err(f_w) - misfit(f_sw, f_w).

For a cross-entropy student the terms are Bernoulli KLs with the *model first*: err(g) = E KL(g || f*),
misfit = E KL(f_w || f_sw) (see `misfit`). The cross-entropy of a model against the labels, E KL(y || g), is
the other direction and is not a term of the bound. The bound promises nothing on held-out rows (T).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from w2sg.metrics._inputs import THRESHOLD, as_labels, as_probs, probs_in_unit, same_length

_KL_EPS = 1e-7  # KL clips the model probability to [eps, 1 - eps] so that it stays finite


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
    q, m = probs_in_unit(p_ref, "p_ref"), probs_in_unit(p, "p")
    same_length(p_ref=q, p=m)
    return float(_kl_rows(q, m).mean()) if len(q) else math.nan


def misfit(student: Any, weak: Any) -> float:
    """The misfit of the bound: mean KL(weak || student), on the rows the student was fitted on.

    The student minimises the cross-entropy on the weak P(y=1), i.e. E KL(f_w || f) up to a constant. With
    A = softplus, the log-partition of the Bernoulli in logit space, KL(p_b || p_a) = D_A(theta_a, theta_b),
    so fitting f_sw = argmin_f E KL(f_w || f) over a convex class of logits (e.g. linear heads on fixed
    features; an L2 penalty = a norm ball, also convex) is a Bregman projection of f_w in the first argument.
    For any f* in that class the generalised Pythagorean inequality of Bregman projections gives

        D_A(theta*, theta_w) >= D_A(theta*, theta_sw) + D_A(theta_sw, theta_w),
        i.e.  E KL(f_w || f*) >= E KL(f_sw || f*) + E KL(f_w || f_sw),

    err(student) <= err(weak) - misfit with err(g) = E KL(g || f*): the model comes first in the error terms.
    Equality holds for an unconstrained linear class (no penalty). With hard 0/1 ground truth the class is not
    realisable and the inequality is only a diagnostic; `misfit_bound` returns its slack.
    """
    return kl(weak, student)


def misfit_bound(truth_p1: Any, weak_p1: Any, student_p1: Any) -> dict[str, float]:
    """The terms of err(student) <= err(weak) - misfit (see `misfit`): weak_err = mean KL(weak || truth),
    student_err = mean KL(student || truth), misfit = mean KL(weak || student) and slack = weak_err - misfit -
    student_err (>= 0 when the inequality holds).

    truth may be soft (a model in the class: then the bound can be checked) or hard 0/1 labels; truth is clipped
    to [1e-7, 1 - 1e-7], so against hard labels err(g) = 16.1 x the mean probability g puts on the wrong class
    minus g's mean entropy, and the slack depends on that clip: a diagnostic, not a check of the bound.
    """
    t = probs_in_unit(truth_p1, "truth_p1")
    w, s = probs_in_unit(weak_p1, "weak_p1"), probs_in_unit(student_p1, "student_p1")
    n = same_length(truth_p1=t, weak_p1=w, student_p1=s)
    if n == 0:
        return {"weak_err": math.nan, "student_err": math.nan, "misfit": math.nan, "slack": math.nan}
    weak_err, student_err = float(_kl_rows(w, t).mean()), float(_kl_rows(s, t).mean())
    fit = float(_kl_rows(w, s).mean())
    return {"weak_err": weak_err, "student_err": student_err, "misfit": fit,
            "slack": weak_err - fit - student_err}


def misfit_record(labels: Any | None, weak: Any | None, student: Any | None,
                  ceiling: Any | None = None) -> dict[str, float | None]:
    """The record's keys of the bound on the transfer set B, where the student was fitted (all None without B):

    misfit_transfer        mean KL(weak || student)
    weak_err_transfer      mean KL(weak || labels)       the bound's error terms, model first, against B's
    student_err_transfer   mean KL(student || labels)    hard labels (clipped; see `misfit_bound`)
    misfit_slack_transfer  weak_err - misfit - student_err against the labels: a diagnostic (hard labels are
                           not in any class of linear heads)
    misfit_slack_ceiling_transfer  the same slack with the ceiling's P(y=1) on B in place of the truth. The
                           ceiling is a linear head on the student's features, fitted to B's truth: a truth
                           inside the class, so the slack is >= 0 when the student is the projection of the weak
                           labels (naive soft CE, converged) and the ceiling lies in the student's norm ball
                           (||w_ceiling|| <= ||w_student||; always without a penalty); < 0 says one of these
                           fails. None without the ceiling's predictions.
    """
    keys = ("misfit_transfer", "weak_err_transfer", "student_err_transfer", "misfit_slack_transfer",
            "misfit_slack_ceiling_transfer")
    if labels is None or weak is None or student is None:
        return dict.fromkeys(keys)
    b = misfit_bound(labels, weak, student)
    slack_ceiling = None if ceiling is None else misfit_bound(ceiling, weak, student)["slack"]
    return dict(zip(keys, (b["misfit"], b["weak_err"], b["student_err"], b["slack"], slack_ceiling), strict=True))


def agreement(student_probs: Any, weak_probs: Any, labels: Any) -> dict[str, float]:
    """Share of examples where student and weak hard predictions agree: all, weak right, weak wrong."""
    s, w = as_probs(student_probs, "student_probs"), as_probs(weak_probs, "weak_probs")
    y = as_labels(labels)
    same_length(student_probs=s, weak_probs=w, labels=y)
    same = (s > THRESHOLD) == (w > THRESHOLD)
    weak_right = (w > THRESHOLD) == y

    def share(mask: np.ndarray) -> float:
        return float(same[mask].mean()) if mask.any() else math.nan

    everything = np.ones_like(same)
    return {"all": share(everything), "weak_right": share(weak_right), "weak_wrong": share(~weak_right)}

