"""Diagnostics of what the student learnt from its weak supervisor: agreement split by weak right / weak
wrong, the Bernoulli KL, and the KL misfit with its bound err(student) <= err(weak) - misfit (Charikar et
al. 2024; Mulgund & Pabbaraju 2025)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from w2sg.metrics._inputs import THRESHOLD, _as_labels, _as_probs, _probs_in_unit, _same_length

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

