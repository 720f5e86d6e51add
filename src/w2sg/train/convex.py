"""Frozen mode solves the convex problem it poses: a linear head on fixed features.

    minimise_w,b  mean_i CE(sigma(x_i . w + b), t_i)  +  (l2 / 2) * ||w||^2       (the bias is not penalised)

with soft targets t_i in [0, 1], solved to convergence by full-batch L-BFGS (scipy) in float64:
deterministic, seconds. `sklearn.linear_model.LogisticRegression(C=1 / (l2 * n))` solves the same problem
for hard targets. The L2 strength of the weak model and of the ceiling is chosen by group-aware k-fold
cross-validation on their own ground-truth training rows (`choose_l2`; the student's, by default, on B's weak
labels); a choice at an end of the grid extends it by decades, to L2_MIN = 1e-8 and L2_MAX = 1e4, and a
choice still at an end is flagged `at_edge`.

Without an intercept (`fit_intercept=False`, the reward model of comparisons: x = phi(a) - phi(b)) the logit
is x . w alone and features are scaled but not centred (`standardise(center=False)`), so that negating x
(swapping a and b) turns P into exactly 1 - P.

The squared-loss student (method naive with `loss: squared`) solves ridge regression instead, in closed form
(`solve_ridge`; texts only):

    minimise_w,b  mean_i (x_i . w + b - t_i)^2  +  (l2 / 2) * ||w||^2                 (the bias is not penalised)

i.e. `sklearn.linear_model.Ridge(alpha=l2 * n / 2)`; its l2 is chosen by the same CV with the held-out squared
error (`choose_ridge_l2`).
"""

from __future__ import annotations

import math
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np

L2_GRID = tuple(float(x) for x in np.logspace(-4, 1, 11))  # 1e-4 ... 10 on standardised features
# CV at the grid's edge extends it by decades up to L2_MAX / down to L2_MIN (`choose_l2`; `at_edge` past them)
L2_MAX = 1e4
L2_MIN = 1e-8
GTOL = 1e-6
CV_GTOL = 1e-3  # held-out losses need far less precision than the final fit (same choices as 1e-4, 2x faster)


@dataclass
class HeadSolution:
    """w, b of the optimum, and how well it was reached."""

    w: np.ndarray
    b: float
    l2: float
    loss: float  # the objective at the solution (mean CE + l2/2 ||w||^2)
    grad_norm: float  # Euclidean norm of the objective's gradient at the solution
    iterations: int
    converged: bool
    info: dict = field(default_factory=dict)


def head_objective(theta: np.ndarray, x: np.ndarray, t: np.ndarray, l2: float, weights: np.ndarray | None,
               fit_intercept: bool = True):
    w, b = (theta[:-1], theta[-1]) if fit_intercept else (theta, 0.0)
    z = x @ w + b if fit_intercept else x @ w
    # CE(sigma(z), t) = softplus(z) - t z   (up to the targets' entropy, a constant)
    per_row = np.logaddexp(0.0, z) - t * z
    p = 0.5 * (1.0 + np.tanh(0.5 * z))  # sigma(z), overflow-free
    r = p - t
    if weights is None:
        loss = per_row.mean()
        g_rows = r / len(t)
    else:
        loss = float(weights @ per_row)
        g_rows = weights * r
    loss += 0.5 * l2 * float(w @ w)
    grad = np.empty_like(theta)
    if not fit_intercept:
        grad[:] = x.T @ g_rows + l2 * w
        return float(loss), grad
    grad[:-1] = x.T @ g_rows + l2 * w
    grad[-1] = g_rows.sum()
    return float(loss), grad


def solve_head(x: np.ndarray, targets: np.ndarray, l2: float, init: tuple[np.ndarray, float] | None = None,
               max_iter: int = 2000, weights: np.ndarray | None = None, gtol: float = GTOL,
               fit_intercept: bool = True) -> HeadSolution:
    """The optimum of mean soft CE + (l2/2)||w||^2 for a linear logit on `x` (already standardised).

    `weights` replaces the plain mean by sum_i weights_i * CE_i (per-row loss weights over N, as the loop
    reduces them; used by nothing in the default pipeline). Without an intercept, b = 0 throughout."""
    from scipy.optimize import minimize

    x = np.asarray(x, dtype=np.float64)
    t = np.asarray(targets, dtype=np.float64)
    if x.ndim != 2 or len(x) != len(t):
        raise ValueError(f"solve_head: features {x.shape} and {t.shape} targets do not match")
    if not (np.isfinite(t).all() and t.min(initial=0) >= 0 and t.max(initial=1) <= 1):
        raise ValueError("solve_head: targets must be probabilities in [0, 1]")
    if weights is not None:
        weights = np.asarray(weights, dtype=np.float64)
        if weights.shape != t.shape or not (np.isfinite(weights).all() and weights.min(initial=0) >= 0):
            raise ValueError("solve_head: weights must be one non-negative number per row")
    if not fit_intercept:
        theta0 = np.zeros(x.shape[1]) if init is None else np.array(init[0], dtype=np.float64)
    else:
        theta0 = np.zeros(x.shape[1] + 1)
        if init is not None:
            theta0[:-1], theta0[-1] = init[0], init[1]
        else:  # start at the class rate: the bias alone already fits the prior
            rate = float(np.clip(t.mean(), 1e-4, 1 - 1e-4))
            theta0[-1] = math.log(rate / (1 - rate))
    res = minimize(head_objective, theta0, args=(x, t, l2, weights, fit_intercept), jac=True, method="L-BFGS-B",
                   options={"maxiter": max_iter, "gtol": gtol, "ftol": 1e-15, "maxcor": 30})
    loss, grad = head_objective(res.x, x, t, l2, weights, fit_intercept)
    gnorm = float(np.linalg.norm(grad))
    w, b = (res.x[:-1].copy(), float(res.x[-1])) if fit_intercept else (res.x.copy(), 0.0)
    return HeadSolution(w=w, b=b, l2=l2, loss=loss, grad_norm=gnorm,
                        iterations=int(res.nit), converged=bool(gnorm < 1e-4 or res.success),
                        info={"message": str(res.message)})


class RidgePath:
    """Ridge solutions of one training set for any l2, from one SVD of its centred features.

    With X the centred features, t the centred targets and lam = n * l2 / 2, the normal equations of
    mean (X w + b - t)^2 + (l2/2)||w||^2 read (X^T X + lam I) w = X^T t and b = mean(t) - mean(x) . w; with
    X = U S V^T, w = V diag(s / (s^2 + lam)) U^T t. Singular values at rounding level (below
    max(s) * max(n, d) * eps) are dropped, so l2 = 0 gives the minimum-norm least-squares solution."""

    def __init__(self, x: np.ndarray, targets: np.ndarray):
        x = np.asarray(x, dtype=np.float64)
        t = np.asarray(targets, dtype=np.float64)
        if x.ndim != 2 or len(x) != len(t) or len(t) == 0:
            raise ValueError(f"solve_ridge: features {x.shape} and {t.shape} targets do not match")
        if not (np.isfinite(x).all() and np.isfinite(t).all()):
            raise ValueError("solve_ridge: features and targets must be finite")
        self.x, self.t, self.n = x, t, len(t)
        self.x_mean, self.t_mean = x.mean(0), float(t.mean())
        u, s, vt = np.linalg.svd(x - self.x_mean, full_matrices=False)
        keep = s > s.max(initial=0.0) * max(x.shape) * np.finfo(np.float64).eps
        self.s, self.vt, self.ut = s[keep], vt[keep], u[:, keep].T @ (t - self.t_mean)

    def coef(self, l2: float) -> tuple[np.ndarray, float]:
        """(w, b) of the optimum for `l2` (>= 0)."""
        if not (l2 >= 0 and math.isfinite(l2)):
            raise ValueError(f"solve_ridge: l2 must be a finite number >= 0, got {l2!r}")
        lam = 0.5 * self.n * float(l2)
        w = self.vt.T @ (self.s / (self.s * self.s + lam) * self.ut)
        return w, self.t_mean - float(self.x_mean @ w)

    def solution(self, l2: float) -> HeadSolution:
        w, b = self.coef(l2)
        loss, grad = ridge_objective(np.r_[w, b], self.x, self.t, l2)
        gnorm = float(np.linalg.norm(grad))
        return HeadSolution(w=w, b=b, l2=float(l2), loss=loss, grad_norm=gnorm, iterations=0, converged=True,
                            info={"message": "closed form (SVD)", "rank": len(self.s)})


def ridge_objective(theta: np.ndarray, x: np.ndarray, t: np.ndarray, l2: float) -> tuple[float, np.ndarray]:
    """mean (x . w + b - t)^2 + (l2/2)||w||^2 and its gradient in (w, b) (theta = [w, b])."""
    w, b = theta[:-1], theta[-1]
    r = x @ w + b - t
    grad = np.empty_like(theta)
    grad[:-1] = (2.0 / len(t)) * (x.T @ r) + l2 * w
    grad[-1] = 2.0 * r.mean()
    return float(np.mean(r * r) + 0.5 * l2 * float(w @ w)), grad


def solve_ridge(x: np.ndarray, targets: np.ndarray, l2: float) -> HeadSolution:
    """The exact optimum of mean (x . w + b - t)^2 + (l2/2)||w||^2 on `x` (already standardised), in float64
    (`RidgePath`). Targets may be any finite numbers (the student's are the weak labels, in [0, 1])."""
    return RidgePath(x, targets).solution(l2)


def standardise(x: np.ndarray, center: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Mean and std (floored) of the training features; without centring, zeros and the root mean square
    (which, unlike the std, does not change when rows are negated)."""
    x = np.asarray(x, dtype=np.float64)
    if not center:
        scale = np.sqrt(np.mean(x * x, axis=0)) if len(x) else np.ones(x.shape[1])
        return np.zeros(x.shape[1]), np.maximum(scale, 1e-6)
    return x.mean(0), np.maximum(x.std(0, ddof=1) if len(x) > 1 else np.ones(x.shape[1]), 1e-6)


def balance_orientation(x: np.ndarray, y: np.ndarray, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Negate a random half of the rows (x -> -x, y -> 1 - y). Without an intercept this leaves every loss
    unchanged (CE(sigma(-z), 1 - y) = CE(sigma(z), y)); it only gives stratified folds both classes when all
    comparisons come in one orientation (e.g. chosen always first)."""
    flip = np.random.default_rng(seed).random(len(y)) < 0.5
    return np.where(flip[:, None], -x, x), np.where(flip, 1.0 - y, y)


def stratified_folds(y: np.ndarray, groups: np.ndarray | None, k: int,
                     seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """Stratified, group-aware folds (all rows of one question in one fold)."""
    from sklearn.model_selection import StratifiedGroupKFold, StratifiedKFold

    hard = (np.asarray(y) > 0.5).astype(int)
    k = max(2, min(k, int(np.bincount(hard, minlength=2).min())))
    if groups is not None and len(set(groups)) < len(groups):
        k = min(k, len(set(groups)))
        return list(StratifiedGroupKFold(k, shuffle=True, random_state=seed).split(hard, hard, groups))
    return list(StratifiedKFold(k, shuffle=True, random_state=seed).split(hard, hard))


class _CVPath:
    """The folds of one cross-validation, standardised once, and each fold's last solution (warm starts)."""

    def __init__(self, x: np.ndarray, y: np.ndarray, folds: int, groups: np.ndarray | None, seed: int,
                 fit_intercept: bool):
        self.fit_intercept = fit_intercept
        self.data = []
        for tr, te in stratified_folds(y, groups, folds, seed):
            mean, std = standardise(x[tr], center=fit_intercept)
            self.data.append(((x[tr] - mean) / std, y[tr], (x[te] - mean) / std, y[te]))
        self.inits: list = [None] * len(self.data)

    def _fold(self, f: int, l2: float) -> float:
        xtr, ytr, xte, yte = self.data[f]
        sol = solve_head(xtr, ytr, l2, init=self.inits[f], max_iter=500, gtol=CV_GTOL,
                         fit_intercept=self.fit_intercept)
        self.inits[f] = (sol.w, sol.b)
        z = xte @ sol.w + sol.b if self.fit_intercept else xte @ sol.w
        return float(np.mean(np.logaddexp(0.0, z) - yte * z))

    def loss(self, pool: ThreadPoolExecutor, l2: float) -> float:
        """Held-out mean cross-entropy of `l2`, averaged over the folds (warm-started from the last l2)."""
        n = len(self.data)
        return float(np.mean(list(pool.map(self._fold, range(n), [l2] * n))))

    def pool(self) -> ThreadPoolExecutor:
        # the folds of one l2 in parallel threads (numpy releases the GIL in the products)
        return ThreadPoolExecutor(max_workers=max(1, min(len(self.data), os.cpu_count() or 1)))


class _RidgeCVPath:
    """The folds of a squared-loss cross-validation: each fold standardised with its own training rows, as in
    `_CVPath`, and solved in closed form for every l2 from one SVD (`RidgePath`)."""

    def __init__(self, x: np.ndarray, y: np.ndarray, folds: int, groups: np.ndarray | None, seed: int):
        self.data = []
        for tr, te in stratified_folds(y, groups, folds, seed):
            mean, std = standardise(x[tr])
            self.data.append((RidgePath((x[tr] - mean) / std, y[tr]), (x[te] - mean) / std, y[te]))

    def loss(self, pool, l2: float) -> float:
        """Held-out mean squared error (x . w + b - t)^2 of `l2` on the unclipped outputs (the loss the student
        minimises), averaged over the folds."""
        out = []
        for path, xte, yte in self.data:
            w, b = path.coef(l2)
            out.append(float(np.mean((xte @ w + b - yte) ** 2)))
        return float(np.mean(out))

    def pool(self):
        from contextlib import nullcontext

        return nullcontext()


def _path_losses(path: _CVPath, pool: ThreadPoolExecutor, grid: tuple[float, ...], patience: int) -> np.ndarray:
    order = np.argsort(grid)[::-1]  # strongest penalty first: warm starts along the path
    out = np.full(len(grid), np.nan)
    best, worse = np.inf, 0
    for j in order:
        out[j] = total = path.loss(pool, grid[j])
        if total < best:
            best, worse = total, 0
        else:
            worse += 1
            if worse >= patience:
                break
    return out


def cv_loss(x: np.ndarray, y: np.ndarray, grid: tuple[float, ...] = L2_GRID, folds: int = 5,
            groups: np.ndarray | None = None, seed: int = 0, patience: int = 2,
            fit_intercept: bool = True) -> np.ndarray:
    """Held-out mean cross-entropy of each l2 in `grid`, averaged over group-aware stratified folds.

    Each fold standardises with its own training rows. The path runs from the strongest penalty to the weakest,
    warm-started, and stops once the held-out loss has risen `patience` times in a row past its minimum (the
    weakest penalties are the slowest to solve and, past the minimum, only get worse); skipped values are NaN.
    Without an intercept, features are scaled but not centred."""
    path = _CVPath(np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64), folds, groups, seed,
                   fit_intercept)
    with path.pool() as pool:
        return _path_losses(path, pool, tuple(grid), patience)


def _best(grid: list[float], losses: list[float]) -> int:
    """Index of the lowest finite held-out loss (ties: the stronger penalty)."""
    return min((j for j in range(len(grid)) if np.isfinite(losses[j])), key=lambda j: (round(losses[j], 12), -grid[j]))


def canonical_orientation(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Comparisons written so that y >= 0.5 (x -> -x, y -> 1 - y where y < 0.5): a set of comparisons gives the
    same rows whichever way round each pair was handed in (ties y = 0.5 keep theirs; their loss and label
    are the same either way)."""
    flip = y < 0.5
    return np.where(flip[:, None], -x, x), np.where(flip, 1.0 - y, y)


def choose_l2(x: np.ndarray, y: np.ndarray, grid: tuple[float, ...] = L2_GRID, folds: int = 5,
              groups: np.ndarray | None = None, seed: int = 0, fit_intercept: bool = True,
              extend: bool = True, loss: str = "log") -> tuple[float, dict]:
    """The l2 with the lowest cross-validated log loss on the training rows and their targets (ties: the
    stronger), on `grid`, extended at its edges until the optimum is interior.

    `loss="squared"` (`choose_ridge_l2`, texts only): the same folds, grid and extension for ridge regression
    (`solve_ridge`), scored by the held-out squared error; every value of the grid is computed (closed form,
    no early stop along the path), and the info dict adds `loss: squared`.

    Edge: when the best value is the grid's largest (smallest), the grid grows by decades above (below) it,
    up to L2_MAX = 1e4 (down to L2_MIN = 1e-8), while the new end keeps winning. On standardised features
    l2 = 1e4 leaves (almost) the bias alone, l2 = 1e-8 is (almost) unpenalised. The info dict says
    `at_edge`: True when the chosen l2 is still an end of the extended grid (it stopped at a cap: no signal,
    or separable rows, so the optimum may lie beyond), False when it is interior, None when nothing was
    cross-validated (too few of one class). `extend=False` keeps the grid as given (at_edge: the choice is
    an end of it).

    Without an intercept (comparisons) the rows are first written in one orientation (`canonical_orientation`)
    and then a random half is swapped (`balance_orientation`): the same losses, stratified folds with both
    classes, and folds that do not depend on how each pair was handed in."""
    if loss not in ("log", "squared"):
        raise ValueError(f"choose_l2: loss {loss!r} is not 'log' or 'squared'")
    if loss == "squared" and not fit_intercept:
        raise ValueError("choose_l2: the squared loss (ridge regression) is for texts with an intercept only, "
                         "not comparisons")
    grid = tuple(sorted(float(v) for v in grid))
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    if not fit_intercept:
        x, y = balance_orientation(*canonical_orientation(x, y), seed)
    counts = np.bincount((y > 0.5).astype(int), minlength=2)
    if counts.min() < 2:  # (almost) one class: nothing to cross-validate; the bias alone fits it
        l2 = float(max(grid))
        return l2, {"grid": list(grid), "folds": None, "cv_loss": None, "at_edge": None,
                    "note": f"class counts {counts.tolist()}: too few of one class to cross-validate; l2 = {l2:g}",
                    **({"loss": "squared"} if loss == "squared" else {})}
    if loss == "squared":
        path = _RidgeCVPath(x, y, folds, groups, seed)
    else:
        path = _CVPath(x, y, folds, groups, seed, fit_intercept)
    with path.pool() as pool:
        losses = list(_path_losses(path, pool, grid, patience=2 if loss == "log" else len(grid) + 1))
        values = list(grid)
        best = _best(values, losses)
        while extend:
            if best == len(values) - 1 and values[-1] * 10 <= L2_MAX * (1 + 1e-9):
                values.append(values[-1] * 10)
                losses.append(path.loss(pool, values[-1]))
            elif best == 0 and values[0] / 10 >= L2_MIN * (1 - 1e-9):
                values.insert(0, values[0] / 10)  # warm-started from the weakest penalty's solutions (the last)
                losses.insert(0, path.loss(pool, values[0]))
            else:
                break
            best = _best(values, losses)
    at_edge = best in (0, len(values) - 1)
    return float(values[best]), {"grid": values, "folds": len(path.data), "at_edge": bool(at_edge),
                                 "extended": len(values) - len(grid),
                                 "cv_loss": [round(float(v), 6) if np.isfinite(v) else None for v in losses],
                                 **({"loss": "squared"} if loss == "squared" else {})}


def choose_ridge_l2(x: np.ndarray, y: np.ndarray, grid: tuple[float, ...] = L2_GRID, folds: int = 5,
                    groups: np.ndarray | None = None, seed: int = 0, extend: bool = True) -> tuple[float, dict]:
    """The l2 of the squared-loss student (`solve_ridge`): `choose_l2` with the held-out squared error."""
    return choose_l2(x, y, grid, folds, groups, seed, fit_intercept=True, extend=extend, loss="squared")
