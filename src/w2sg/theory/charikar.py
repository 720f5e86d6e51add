"""Charikar, Pabbaraju & Shiragur (NeurIPS 2024, arXiv:2405.15116): the gain of a squared-loss student is at
least its misfit to the weak labels.

Assumptions of the theorem: the strong model is a fixed representation h followed by a class F of functions that
is **convex**; the student f_sw minimises the squared loss to the weak model's soft labels f_w over F (it is the
projection of f_w onto F); the truth f* lies in F (realisability). Then, on the distribution the student was fitted
on,

    E (f_sw - f*)^2  <=  E (f_w - f*)^2  -  E (f_sw - f_w)^2          err_s <= err_w - misfit

with equality when F is a linear subspace (Pythagoras). Without realisability the paper adds error terms that
vanish with the distance of f* from F. Here that case is written as an exact bound by the triangle inequality:
for f_c the projection of f* onto F and eps = E (f_c - f*)^2,

    sqrt(err_s) <= sqrt((sqrt(err_w) + sqrt(eps))^2 - misfit) + sqrt(eps)                  (`nonrealisable_bound`)

which is err_w - misfit at eps = 0. The class of a frozen-feature head with an L2 penalty is {x w + b : ||w|| <= r}
(convex, any r): ridge regression on weak labels is the projection onto the ball whose radius is the fit's own
norm (`project_ball` finds the projection of any target onto that ball). Everything here is a pure function of
predictions and features; the ridge solve is an SVD, independent of the learner in `w2sg.train` (a check of it).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

TOL = 1e-9  # slack below -TOL breaks an inequality that must hold (floating point aside)


def _vec(a, name: str) -> np.ndarray:
    v = np.asarray(a, dtype=np.float64).reshape(-1)
    if not np.all(np.isfinite(v)):
        raise ValueError(f"{name} has non-finite values; pass finite predictions")
    return v


def squared_terms(truth, weak, student) -> dict[str, float]:
    """The bound's terms under the squared loss on one set of rows: weak_err = mean (weak - truth)^2,
    student_err = mean (student - truth)^2, misfit = mean (student - weak)^2, gain = weak_err - student_err and
    slack = gain - misfit (>= 0 where err_s <= err_w - misfit holds). `truth` may be hard labels (then the
    class is not realisable and the inequality is a diagnostic) or an in-class function."""
    t, w, s = _vec(truth, "truth"), _vec(weak, "weak"), _vec(student, "student")
    if not (len(t) == len(w) == len(s)):
        raise ValueError(f"truth, weak and student differ in length ({len(t)}, {len(w)}, {len(s)})")
    if not len(t):
        return dict.fromkeys(("weak_err", "student_err", "misfit", "gain", "slack"), math.nan)
    we, se, mf = float(np.mean((w - t) ** 2)), float(np.mean((s - t) ** 2)), float(np.mean((s - w) ** 2))
    return {"weak_err": we, "student_err": se, "misfit": mf, "gain": we - se, "slack": we - se - mf}


def nonrealisable_bound(weak_err: float, misfit: float, eps: float) -> float:
    """The bound on err_s when the truth is at squared distance eps from the class (module docstring)."""
    inner = (math.sqrt(max(weak_err, 0.0)) + math.sqrt(max(eps, 0.0))) ** 2 - misfit
    return (math.sqrt(max(inner, 0.0)) + math.sqrt(max(eps, 0.0))) ** 2


@dataclass(frozen=True)
class Ball:
    """The class {x w + b : ||w|| <= radius} on centred features (the bias free): its SVD, kept for projections."""

    x_mean: np.ndarray
    u: np.ndarray
    s: np.ndarray
    vt: np.ndarray

    @classmethod
    def of(cls, x) -> Ball:
        x = np.asarray(x, dtype=np.float64)
        mean = x.mean(0)
        u, s, vt = np.linalg.svd(x - mean, full_matrices=False)
        keep = s > s.max(initial=0.0) * 1e-12
        return cls(mean, u[:, keep], s[keep], vt[keep])

    def _coef(self, tc: np.ndarray, lam: float) -> np.ndarray:
        return self.s * (self.u.T @ tc) / (self.s ** 2 + lam)  # w in the right-singular basis

    def ridge(self, target, l2: float) -> tuple[np.ndarray, float]:
        """The ridge fit of `target`: argmin mean (x w + b - t)^2 + (l2/2)||w||^2, as (fitted values, ||w||)."""
        t = _vec(target, "target")
        c = self._coef(t - t.mean(), len(t) * l2 / 2.0)
        return self.u @ (self.s * c) + t.mean(), float(np.linalg.norm(c))

    def project(self, target, radius: float) -> np.ndarray:
        """The projection of `target` onto the ball of `radius` in the empirical mean-squared norm: least squares
        when its (minimum-norm) solution fits in the ball, else the ridge fit whose norm is exactly `radius`
        (bisection on the penalty; the norm falls monotonically as it grows)."""
        t = _vec(target, "target")
        tc = t - t.mean()
        c = self._coef(tc, 0.0)
        if np.linalg.norm(c) <= radius:
            return self.u @ (self.s * c) + t.mean()
        lo, hi = 0.0, float(self.s.max(initial=1.0) ** 2)
        while np.linalg.norm(self._coef(tc, hi)) > radius:
            hi *= 10.0
        for _ in range(200):
            mid = 0.5 * (lo + hi)
            lo, hi = (mid, hi) if np.linalg.norm(self._coef(tc, mid)) > radius else (lo, mid)
        return self.u @ (self.s * self._coef(tc, hi)) + t.mean()


def charikar_check(features, truth, weak, l2: float, student=None) -> dict[str, float]:
    """The theorem on real features, both ways round (all on the rows the student was fitted on, B):

    - the squared-loss student is refitted here by SVD ridge (`Ball.ridge`, l2 as the learner's: mean loss +
      (l2/2)||w||^2 on the features given, e.g. standardised); `student_match` = max |clip(refit) - student| when
      the stored student is given (small: the learner reached the projection);
    - realisable: f_c = the projection of the truth onto the student's own ball (radius = the refit's norm) is a
      truth inside the class; `slack_in_class` = err_w - misfit - err_s against f_c, >= 0 by the theorem;
    - against the hard truth: `eps` = mean (f_c - truth)^2 (how far realisability fails), the terms of
      `squared_terms` and `bound` = `nonrealisable_bound`, with `slack_bound` = bound - err_s (>= 0)."""
    ball = Ball.of(features)
    t, w = _vec(truth, "truth"), _vec(weak, "weak")
    f_sw, radius = ball.ridge(w, l2)
    f_c = ball.project(t, radius)
    inside = squared_terms(f_c, w, f_sw)
    hard = squared_terms(t, w, f_sw)
    eps = float(np.mean((f_c - t) ** 2))
    bound = nonrealisable_bound(hard["weak_err"], hard["misfit"], eps)
    out = {"radius": radius, "slack_in_class": inside["slack"], "gain_in_class": inside["gain"],
           "misfit": hard["misfit"], "weak_err": hard["weak_err"], "student_err": hard["student_err"],
           "gain": hard["gain"], "slack": hard["slack"], "eps": eps, "bound": bound,
           "slack_bound": bound - hard["student_err"]}
    if student is not None:
        out["student_match"] = float(np.max(np.abs(np.clip(f_sw, 0, 1) - _vec(student, "student")), initial=0.0))
    return out


def squared_record(labels, weak, student, ceiling=None, suffix: str = "transfer") -> dict[str, float | None]:
    """Record keys of the squared-loss bound on one split (`sq_<term>_<suffix>`): misfit, weak_err, student_err,
    slack against the hard labels, and `sq_slack_ceiling_<suffix>` against the ceiling's P(y=1) (a function of
    the strong features fitted to the truth; inside the student's class only when the student is squared-loss
    and the ceiling lies in its ball). All None when a prediction is missing."""
    keys = [f"sq_{k}_{suffix}" for k in ("misfit", "weak_err", "student_err", "slack", "slack_ceiling")]
    if labels is None or weak is None or student is None:
        return dict.fromkeys(keys)
    t = squared_terms(labels, weak, student)
    c = None if ceiling is None else squared_terms(ceiling, weak, student)["slack"]
    return dict(zip(keys, (t["misfit"], t["weak_err"], t["student_err"], t["slack"], c), strict=True))
