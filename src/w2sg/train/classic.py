"""The classic rung (`tfidf` in the model zoo): a bag-of-n-grams TF-IDF vectorizer + logistic regression.

No backbone, no tokenizer, no frozen features: the vectorizer is fitted on the training rows only (word 1-2-grams,
sublinear tf, min_df=2; see `w2sg.models.zoo.CLASSIC`), then scikit-learn's LogisticRegression (L-BFGS, to
convergence) on its features. In the frozen learner's terms it solves

    minimise_w,b  sum_i weight_i * CE(sigma(x_i . w + b), t_i) / N  +  (l2 / 2) ||w||^2,    C = 1 / (l2 N)

(sklearn's C multiplies the summed loss; the bias is not penalised). Soft targets t_i = P(y=1) are honoured
exactly: each row appears twice, with label 1 and sample weight t_i and with label 0 and weight 1 - t_i, whose
summed loss is the soft cross-entropy. With `train.l2: cv` the C of the zoo's grid with the lowest held-out log
loss over group-aware stratified folds of the training rows is chosen (each fold fits its own vectorizer), as
the frozen learner chooses its l2, the grid extended by decades at an edge (C_MIN ... C_MAX; `info["l2_at_edge"]`
when the choice stops at a cap); else C = 1 / (l2 N) from the given l2.

Comparisons: a linear reward r(x) = w . tfidf(prompt + response) with P(a > b) = sigma(w . (phi(a) - phi(b))),
no intercept (so swapping a and b gives 1 - P); the vectorizer is fitted on both texts of every training pair.
"""

from __future__ import annotations

import math
import time

import numpy as np

from w2sg.config import BudgetSpec, TrainSpec
from w2sg.items import item_texts, kind_of
from w2sg.models.zoo import CLASSIC
from w2sg.train.budget import Selection, check_kind
from w2sg.train.convex import stratified_folds
from w2sg.train.loop import TrainResult
from w2sg.train.losses import Loss

CE_ONLY = ("tfidf is a classic learner: it trains with (soft) cross-entropy only; use it as the weak "
           "model/supervisor or with method naive")
CV_PATIENCE = 2  # as the frozen learner's path: stop once the held-out loss has risen this often past its minimum
# CV at the grid's edge extends the zoo's C grid (0.01 ... 1000) by decades down to C_MIN / up to C_MAX
C_MIN = 1e-5
C_MAX = 1e5


def loss_targets(loss: Loss, targets: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """P(y=1) targets and per-row weights of a fixed-target cross-entropy loss (SoftXent, HardXent, ...); a loss
    with its own per-row loss or targets that follow the learner's own predictions (confidence) is refused."""
    targets = np.asarray(targets, dtype=np.float64)
    if not loss.soft_ce_rows or loss.self_training:
        raise ValueError(f"{CE_ONLY} (got the loss {type(loss).__name__})")
    if type(loss).batch_targets is Loss.batch_targets and type(loss).batch_weights is Loss.batch_weights:
        return targets, np.ones(len(targets))  # plain soft CE: the targets as given, in float64
    import torch

    t, w = loss.prepare(torch.zeros(len(targets), 2), torch.as_tensor(targets, dtype=torch.float32), 1.0)
    return t[:, 1].double().numpy(), (np.ones(len(targets)) if w is None else w.double().numpy())


def _vectorizer(params: dict, texts: list[str]):
    from sklearn.feature_extraction.text import TfidfVectorizer

    cfg = {**params["vectorizer"], "ngram_range": tuple(params["vectorizer"]["ngram_range"])}
    vec = TfidfVectorizer(**cfg, dtype=np.float64)
    try:
        vec.fit(texts)
    except ValueError as e:  # e.g. no n-gram occurs in min_df texts
        raise ValueError(f"tfidf: cannot build a vocabulary from {len(texts)} training texts ({e}); it needs "
                         f"more training rows (min_df={cfg['min_df']})") from e
    return vec


def _design(vec, items: list, kind: str):
    """Sparse TF-IDF rows of texts, or phi(prompt + a) - phi(prompt + b) of comparisons."""
    x = vec.transform(item_texts(items)).tocsr()
    return (x[0::2] - x[1::2]).tocsr() if kind == "comparison" else x


def _fit_logreg(x, t: np.ndarray, w: np.ndarray, c: float, intercept: bool, params: dict, model=None):
    """sklearn's LogisticRegression on soft targets: rows doubled (labels 1, 0; weights w t, w (1 - t)).
    `model`: a previous fit to warm-start from (a CV path)."""
    import scipy.sparse as sp
    from sklearn.linear_model import LogisticRegression

    n = x.shape[0]
    if model is None:
        model = LogisticRegression(C=c, fit_intercept=intercept, warm_start=True, **params["logreg"])
    model.set_params(C=c)
    model.fit(sp.vstack([x, x]).tocsr(), np.r_[np.ones(n), np.zeros(n)], sample_weight=np.r_[w * t, w * (1 - t)])
    return model


def _logits(model, x) -> np.ndarray:
    return np.asarray(x @ model.coef_[0] + model.intercept_[0]).ravel()


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * z))  # overflow-free


def _soft_ce(z: np.ndarray, t: np.ndarray) -> np.ndarray:
    return np.logaddexp(0.0, z) - t * z


def _c_of(l2: float, n: int) -> float:
    return float("inf") if l2 == 0 else 1.0 / (float(l2) * n)


def choose_c(items: list, t: np.ndarray, w: np.ndarray, kind: str, params: dict, folds: int,
             groups: np.ndarray | None, seed: int, extend: bool = True) -> tuple[float, dict]:
    """The C with the lowest held-out mean log loss over group-aware stratified folds (ties: the stronger
    penalty), each fold with its own vectorizer; on the zoo's grid, strongest penalty first, warm-started,
    stopping CV_PATIENCE values past the minimum (skipped values: None).

    Edge: when the best C is the grid's smallest (largest), the grid grows by decades below (above) it, down to
    C_MIN = 1e-5 (up to C_MAX = 1e5), while the new end keeps winning; `at_edge` in the info dict is True when
    the choice is still an end of the extended grid (it stopped at a cap), None when nothing was
    cross-validated. Comparisons are first written in one orientation (t >= 0.5), then a random half is swapped
    (t -> 1 - t): every loss is unchanged, stratified folds get both classes, and the folds do not depend on
    how each pair was handed in."""
    grid = sorted(float(c) for c in params["c_grid"])
    if kind == "comparison":
        flip = (np.random.default_rng(seed).random(len(t)) < 0.5) != (t < 0.5)
        items = [x.swapped() if f else x for x, f in zip(items, flip, strict=True)]
        t = np.where(flip, 1.0 - t, t)
    counts = np.bincount((t > 0.5).astype(int), minlength=2)
    if counts.min() < 2:
        return min(grid), {"grid_C": grid, "folds": None, "cv_loss": None, "at_edge": None, "note": f"class counts "
                           f"{counts.tolist()}: too few of one class to cross-validate; C = {min(grid):g}"}
    data = []
    for tr, te in stratified_folds(t, groups, folds, seed):
        vec = _vectorizer(params, item_texts([items[i] for i in tr]))
        data.append((_design(vec, [items[i] for i in tr], kind), t[tr], w[tr],
                     _design(vec, [items[i] for i in te], kind), t[te]))
    models: list = [None] * len(data)

    def held_out(c: float) -> float:
        held = []
        for f, (xtr, ttr, wtr, xte, tte) in enumerate(data):
            models[f] = _fit_logreg(xtr, ttr, wtr, c, kind == "text", params, models[f])
            held.append(float(np.mean(_soft_ce(_logits(models[f], xte), tte))))
        return float(np.mean(held))

    losses = [math.nan] * len(grid)
    best, worse = np.inf, 0
    for j in range(len(grid)):  # strongest penalty (smallest C) first
        losses[j] = held_out(grid[j])
        if losses[j] < best:
            best, worse = losses[j], 0
        else:
            worse += 1
            if worse >= CV_PATIENCE:
                break

    def pick() -> int:
        done = [j for j in range(len(grid)) if np.isfinite(losses[j])]
        return min(done, key=lambda j: (round(losses[j], 12), grid[j]))

    j = pick()
    while extend:
        if j == 0 and grid[0] / 10 >= C_MIN * (1 - 1e-9):
            grid.insert(0, grid[0] / 10)
            losses.insert(0, held_out(grid[0]))
        elif j == len(grid) - 1 and grid[-1] * 10 <= C_MAX * (1 + 1e-9):
            grid.append(grid[-1] * 10)  # warm-started from the weakest penalty's fit (the last)
            losses.append(held_out(grid[-1]))
        else:
            break
        j = pick()
    return grid[j], {"grid_C": grid, "folds": len(data), "at_edge": j in (0, len(grid) - 1),
                     "extended": len(grid) - len(params["c_grid"]),
                     "cv_loss": [round(float(v), 6) if np.isfinite(v) else None for v in losses]}


class TfidfLearner:
    """TF-IDF + logistic regression with FrozenLearner's interface: `fit(items, targets, loss, seed, on_eval=None,
    eval_every=0, groups=None)`, `predict(items)`, `info` (l2 and C chosen, solver, iterations, gradient norm)."""

    name = "tfidf"

    def __init__(self, spec: TrainSpec, l2: float | str | None = None, budget: BudgetSpec | None = None,
                 selection: Selection | None = None, params: dict | None = None):
        self.spec = spec
        self.l2 = spec.l2 if l2 is None else l2
        self.budget = budget or BudgetSpec()
        if self.budget.kind != "full" or selection is not None:
            raise ValueError(f"tfidf trains to convergence: it has no training budget or early stopping (got budget "
                             f"'{self.budget.kind}'); use budget full")
        self.params = params or CLASSIC["tfidf"]
        self.vectorizer = None
        self.model = None
        self.kind: str | None = None  # 'text' or 'comparison': what it was fitted on
        self.result: TrainResult | None = None
        self.info: dict = {}

    def fit(self, items, targets, loss: Loss, seed: int, on_eval=None, eval_every: int = 0,
            groups=None) -> TrainResult:
        if on_eval is not None:
            raise ValueError(f"{CE_ONLY}: it cannot be evaluated along training (no steps)")
        t0 = time.perf_counter()
        items = list(items)
        kind = kind_of(items)
        t, w = loss_targets(loss, targets)
        if len(t) != len(items):
            raise ValueError(f"tfidf: {len(items)} items but {len(t)} targets")
        n, intercept = len(items), kind == "text"
        self.info = {"learner": self.name}
        if self.l2 == "cv":
            c, self.info["cv"] = choose_c(items, t, w, kind, self.params, self.spec.cv_folds,
                                          None if groups is None else np.asarray(groups), seed)
            self.info["l2_at_edge"] = self.info["cv"]["at_edge"]
            l2 = 1.0 / (c * n)
        else:
            l2 = float(self.l2)
            c = _c_of(l2, n)
        self.vectorizer = _vectorizer(self.params, item_texts(items))
        x = _design(self.vectorizer, items, kind)
        self.model = _fit_logreg(x, t, w, c, intercept, self.params)
        self.kind = kind
        iterations = int(np.max(self.model.n_iter_))
        # gradient of sum_i w_i CE_i / N + (l2/2)||w||^2 at the solution (sklearn's objective divided by C N)
        r = w * (_sigmoid(_logits(self.model, x)) - t) / n
        grad = np.r_[x.T @ r + l2 * self.model.coef_[0], [r.sum()] if intercept else []]
        self.info.update(l2=float(l2), C=float(c), solver="lbfgs", iterations=iterations,
                         grad_norm=float(np.linalg.norm(grad)), n_features=len(self.vectorizer.vocabulary_),
                         converged=iterations < self.params["logreg"]["max_iter"])
        if not intercept:
            self.info["items"] = "comparison"
        self.result = TrainResult(steps=iterations, seconds=time.perf_counter() - t0, examples=n)
        return self.result

    def decision(self, items) -> np.ndarray:
        """The logit of each item: x . w + b (texts), or r(a) - r(b) = w . (phi(a) - phi(b)) (comparisons)."""
        items = list(items)
        check_kind(self.kind if self.model is not None else None, kind_of(items) if items else self.kind)
        if not items:
            return np.zeros(0)
        return _logits(self.model, _design(self.vectorizer, items, self.kind))

    def predict(self, items) -> np.ndarray:
        """P(y=1) of each text, or P(a > b) of each comparison."""
        return _sigmoid(self.decision(items)).astype(np.float32)
