"""Mulgund & Pabbaraju (2025, arXiv:2501.19105): the misfit-gain inequality for Bregman divergences, so for a
cross-entropy student.

Assumptions: the loss is a Bregman divergence D (for binary cross-entropy on logits, D is the Bernoulli KL); the
strong class F is convex in the divergence's natural (logit) coordinates; the student is the Bregman projection
of the weak model onto F, f_sw = argmin_f E KL(f_w || f) (what minimising soft cross-entropy on the weak labels
does); the truth f* lies in F. Then, in the theorem's direction (the model first in the error terms),

    E KL(f_sw || f*)  <=  E KL(f_w || f*)  -  E KL(f_w || f_sw)          err_s <= err_w - misfit

(`metrics.diagnostics.misfit` derives it from the generalised Pythagorean inequality). For a non-convex class
the paper takes the student as a convex combination of k strong models and pays an extra O(sqrt(c/k)) for c
classes (`ensemble_term`, the rate without its constant). The cross-entropy against hard labels, E KL(y || f),
is the other direction and no term of the theorem.
"""

from __future__ import annotations

import math

from w2sg.metrics.diagnostics import misfit_bound


def kl_terms(truth, weak, student) -> dict[str, float]:
    """The theorem's terms on one set of rows, model first: weak_err = E KL(weak || truth), student_err =
    E KL(student || truth), misfit = E KL(weak || student), gain = weak_err - student_err, slack = gain - misfit
    (>= 0 where the inequality holds). Truth may be hard labels (clipped to [1e-7, 1 - 1e-7]: a diagnostic) or
    an in-class function (then a check)."""
    b = misfit_bound(truth, weak, student)
    return b | {"gain": b["weak_err"] - b["student_err"]}


def ensemble_term(classes: int, k: int) -> float:
    """sqrt(c / k): the rate of the extra error of a k-component convex combination on c classes, without the
    theorem's constant (so a scale to compare with the misfit, not a bound)."""
    if classes < 2 or k < 1:
        raise ValueError(f"ensemble_term needs classes >= 2 and k >= 1, got classes={classes}, k={k}")
    return math.sqrt(classes / k)
