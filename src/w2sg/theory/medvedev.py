"""Medvedev, Lyu, Yu, Arora, Li & Srebro (ICML 2025, arXiv:2503.02877): weak-to-strong generalization in random
feature networks, and its limits.

Assumptions: teacher and student are two-layer networks with a random, fixed bottom layer and a trained top
layer (random features); the small teacher is trained on the population; the large student is trained by
gradient descent on the teacher's outputs under the squared loss. Predictions: (1) the student can beat the
teacher, and this gain needs early stopping (trained to convergence, the student only reproduces its teacher);
(2) limits, for general feature spaces and learning rules: the student's loss L_st can go to 0 only if the
teacher's L_te does, at best as a power of it (L_st = O~(L_te^1.49) for ReLU features, O~(L_te^2) for linear),
and a teacher barely better than chance cannot be boosted to small error.

`power_fit` estimates the exponent of L_st against L_te on stored runs (a log-log least-squares slope with a
bootstrap over tasks); the early-stopping check is a seed-paired comparison of stored runs
(`metrics.across_tasks.two_level_ci`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from w2sg.metrics.resample import percentile_ci


def _slope(x: np.ndarray, y: np.ndarray) -> float:
    if len(x) < 2 or np.ptp(x) == 0:
        return math.nan
    return float(np.polyfit(x, y, 1)[0])


def power_fit(teacher_loss: Sequence[float], student_loss: Sequence[float], tasks: Sequence[str],
              n_boot: int = 2000, seed: int = 0) -> dict[str, float | int | None]:
    """The exponent g of student_loss ~ teacher_loss^g: the slope of log student_loss on log teacher_loss over
    the points with both > 0, with a 95% CI that resamples tasks (a drawn task brings all its points)."""
    t, s = np.asarray(teacher_loss, dtype=np.float64), np.asarray(student_loss, dtype=np.float64)
    g = np.asarray(tasks)
    ok = (t > 0) & (s > 0) & np.isfinite(t) & np.isfinite(s)
    lt, ls, g = np.log(t[ok]), np.log(s[ok]), g[ok]
    slope = _slope(lt, ls)
    names = np.unique(g)
    if len(names) < 2:
        return {"exponent": slope, "ci_low": None, "ci_high": None, "n": int(ok.sum()), "n_tasks": len(names)}
    members = [np.flatnonzero(g == n) for n in names]
    rng = np.random.default_rng(seed)
    reps = np.array([_slope(lt[idx], ls[idx]) for idx in
                     (np.concatenate([members[i] for i in rng.integers(0, len(names), len(names))])
                      for _ in range(n_boot))])
    lo, hi = percentile_ci(reps)
    return {"exponent": slope, "ci_low": lo, "ci_high": hi, "n": int(ok.sum()), "n_tasks": len(names)}
