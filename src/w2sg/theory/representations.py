"""Two predictions from the representations alone.

Xue, Li & Mirzasoleiman (2025, arXiv:2502.00620), "Representations shape weak-to-strong generalization".
Assumptions: weak and strong heads are (ridge) regressions on the principal part of their models'
representations; each representation's principal kernel is the projection P onto its top principal directions
over the same inputs. The space of what the strong model can learn and the weak model cannot is the range of
P_s (I - P_w); the student falls short of the strong model's potential by the projection of the labels onto it,
and the label-free version replaces the labels by the operator itself. Prediction: across weak/strong pairs on a
task, the larger P_s (I - P_w), the larger the student's shortfall (ceiling - student), with no label needed.
`kernel_metric` returns the operator norm (the paper's form; it saturates at 1 as soon as the two subspaces'
dimensions add to more than the rows) and the normalised Frobenius norm ||P_s (I - P_w)||_F^2 / rank(P_s), the
mean share of a strong principal direction that the weak principal space misses (our reading, which does not
saturate at these sizes); `label_projection` the labelled form.

Ildiz et al. (ICLR 2025, arXiv:2410.18837), high-dimensional distillation: in ridgeless regression a surrogate
(weak) model's labels can give a student *lower* error than the ground truth at the same sample size n (PGR > 1
is possible), but not a better scaling exponent in n. The first is checked on stored runs (student vs ceiling
trained on the same n rows of B); the second needs an n axis.
"""

from __future__ import annotations

import numpy as np


def principal_basis(features, variance: float = 0.9) -> np.ndarray:
    """(n, k) orthonormal columns: the top left singular vectors of the centred features that together hold
    `variance` of their total variance (the range of the principal kernel on these n inputs)."""
    if not 0 < variance <= 1:
        raise ValueError(f"variance must be in (0, 1], got {variance}")
    x = np.asarray(features, dtype=np.float64)
    u, s, _ = np.linalg.svd(x - x.mean(0), full_matrices=False)
    share = np.cumsum(s ** 2) / max(float(np.sum(s ** 2)), 1e-300)
    k = int(np.searchsorted(share, variance - 1e-12) + 1)
    return u[:, :min(k, u.shape[1])]


def kernel_metric(weak_features, strong_features, variance: float = 0.9) -> dict[str, float | int]:
    """Label-free: ||P_s (I - P_w)|| on the same rows, as operator norm (`op`) and normalised Frobenius norm
    (`frob`, in [0, 1]), with the principal dimensions k_w and k_s."""
    uw, us = principal_basis(weak_features, variance), principal_basis(strong_features, variance)
    if len(uw) != len(us):
        raise ValueError(f"weak and strong features cover different rows ({len(uw)} vs {len(us)})")
    m = us.T - (us.T @ uw) @ uw.T  # U_s^T (I - P_w): same norms as P_s (I - P_w)
    return {"op": float(np.linalg.norm(m, 2)), "frob": float(np.sum(m * m) / us.shape[1]),
            "k_weak": int(uw.shape[1]), "k_strong": int(us.shape[1])}


def label_projection(weak_features, strong_features, labels, variance: float = 0.9) -> float:
    """The labelled form: ||P_s (I - P_w) y||^2 / ||y||^2 with y the centred labels (a share in [0, 1])."""
    uw, us = principal_basis(weak_features, variance), principal_basis(strong_features, variance)
    y = np.asarray(labels, dtype=np.float64)
    y = y - y.mean()
    r = y - uw @ (uw.T @ y)
    p = us @ (us.T @ r)
    return float(p @ p / max(float(y @ y), 1e-300))
