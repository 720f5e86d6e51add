"""The frozen learner: a linear head on a featurizer's cached features (linear-probe W2S).

Texts: a logistic regression on standardised features, with an intercept. Comparisons: a linear reward model
r(x) = w . phi(x) on the features of prompt+a and prompt+b, P(a > b) = sigma(w . (phi(a) - phi(b))): a
logistic regression on feature differences with no intercept and scale-only standardisation (no centring),
so predicting the swapped comparison gives exactly 1 - P.

The squared-loss student (`fit_squared`, texts only): least squares of a linear f(x) = w . x + b on the same
standardised features, in closed form (`convex.solve_ridge`), predicting P(y=1) = clip(f(x), 0, 1).
"""

from __future__ import annotations

import time

import numpy as np
import torch

from w2sg.config import BudgetSpec, TrainSpec
from w2sg.items import kind_of
from w2sg.models.classifier import FeatureClassifier
from w2sg.train.batching import FeatureRows
from w2sg.train.budget import Budgeted, Selection, check_kind
from w2sg.train.convex import choose_l2, choose_ridge_l2, head_objective, solve_head, solve_ridge, standardise
from w2sg.train.featurizer import Featurizer, item_features
from w2sg.train.loop import TrainResult, predict, train
from w2sg.train.losses import Loss

LBFGS_ROUNDS = 10  # fixed-point rounds for losses whose targets depend on the student's own predictions


class FrozenLearner(Budgeted):
    """A linear head on a featurizer's cached features (linear-probe W2S), on texts or comparisons.

    Default (solver lbfgs, budget full): the convex problem solved to convergence, with `l2` given or
    chosen by cross-validation on the (ground-truth) training rows. Otherwise (solver sgd, a step budget,
    early stopping, or a method that evaluates along training) the AdamW loop with the same L2 penalty.
    """

    def __init__(self, featurizer: Featurizer, spec: TrainSpec, l2: float | str | None = None,
                 budget: BudgetSpec | None = None, selection: Selection | None = None):
        self.featurizer = featurizer
        self.spec = spec
        self.l2 = spec.l2 if l2 is None else l2
        self.budget = budget or BudgetSpec()
        self.selection = selection
        self.model: FeatureClassifier | None = None
        self.kind: str | None = None  # 'text' or 'comparison': what the head was fitted on
        self.result: TrainResult | None = None
        self.info: dict = {}  # l2 chosen, solver, gradient norm, steps: recorded by the pipeline
        self.linear: tuple[np.ndarray, np.ndarray, np.ndarray, float] | None = None  # fit_squared: mean, std, w, b

    def fit(self, items, targets, loss: Loss, seed: int, on_eval=None, eval_every: int = 0,
            groups=None) -> TrainResult:
        t0 = time.perf_counter()
        self.linear = None
        kind, x = item_features(self.featurizer, items)
        intercept = kind == "text"
        x64 = x.numpy().astype(np.float64)
        targets = np.asarray(targets, dtype=np.float64)
        l2, self.info = self.l2, {}
        if l2 == "cv":
            l2, cv = choose_l2(x64, targets, folds=self.spec.cv_folds, groups=groups, seed=seed,
                               fit_intercept=intercept)
            self.info["cv"] = cv
            self.info["l2_at_edge"] = cv["at_edge"]  # the CV's choice is still an end of its extended grid
        self.info["l2"] = float(l2)
        if not intercept:
            self.info["items"] = "comparison"
        mean, std = standardise(x64, center=intercept)
        self.model = FeatureClassifier(x.shape[1], torch.from_numpy(mean).float(), torch.from_numpy(std).float(),
                                       bias=intercept)
        self.kind = kind
        on_eval, eval_every, finish = self.selecting(on_eval, eval_every, len(x64))
        if self.spec.solver == "lbfgs" and self.budget.kind == "full" and on_eval is None:
            self._solve((x64 - mean) / std, targets, loss, float(l2), intercept)
            self.result = TrainResult(steps=self.info["iterations"], seconds=time.perf_counter() - t0,
                                      examples=len(x64))
            return self.result
        torch.manual_seed(seed)
        total = self.trajectory_steps(len(x64))
        self.result = train(self.model, FeatureRows(x), torch.as_tensor(targets), loss, self.spec, seed,
                            device=torch.device("cpu"), on_eval=on_eval, eval_every=eval_every,
                            total_steps=total, l2=float(l2), weight_decay=0.0)
        finish()
        self.info.update(solver="sgd", steps=self.result.steps,
                         grad_norm=self._grad_norm((x64 - mean) / std, targets, loss, float(l2), intercept))
        return self.result

    def fit_squared(self, items, targets, seed: int, groups=None) -> TrainResult:
        """The squared-loss student (Charikar, Pabbaraju & Shiragur 2024): f(x) = w . x + b on the standardised
        features (as `fit`), minimising mean_i (f(x_i) - t_i)^2 + (l2/2)||w||^2 (bias unpenalised), solved in
        closed form in float64 (`convex.solve_ridge`); l2 'cv' is chosen by the held-out squared error
        (`convex.choose_ridge_l2`). The class {linear f, ||w|| <= r} is convex, so the fit is the (squared-loss)
        projection of the targets onto it.

        `predict` returns P(y=1) = clip(f(x), 0, 1); `predict_raw` the unclipped f. Clipping keeps the bound's
        inequality: for any target y in [0, 1], |clip(f) - y| <= |f - y| (clipping moves f towards [0, 1],
        never past y), so the clipped student is no farther from the truth or the weak labels than f.

        Texts only, solver lbfgs, budget full, no early stopping: anything else is a ValueError."""
        t0 = time.perf_counter()
        if self.spec.solver != "lbfgs" or self.budget.kind != "full" or self.selection is not None:
            raise ValueError("loss 'squared' is solved in closed form: it needs train.solver 'lbfgs' and budget "
                             f"'full' (got solver {self.spec.solver!r}, budget {self.budget.kind!r}); use those "
                             "or loss 'ce'")
        kind, x = item_features(self.featurizer, items)
        if kind != "text":
            raise ValueError("loss 'squared' fits texts only (a comparison's reward model has no squared-loss "
                             "form here); use loss 'ce' on pairwise tasks")
        x64 = x.numpy().astype(np.float64)
        targets = np.asarray(targets, dtype=np.float64)
        l2, self.info = self.l2, {"loss": "squared"}
        if l2 == "cv":
            l2, cv = choose_ridge_l2(x64, targets, folds=self.spec.cv_folds, groups=groups, seed=seed)
            self.info["cv"] = cv
            self.info["l2_at_edge"] = cv["at_edge"]
        self.info["l2"] = float(l2)
        mean, std = standardise(x64)
        sol = solve_ridge((x64 - mean) / std, targets, float(l2))
        self.model, self.kind, self.linear = None, kind, (mean, std, sol.w, sol.b)
        self.info.update(solver="least_squares", grad_norm=sol.grad_norm, objective=sol.loss,
                         converged=sol.converged, rank=sol.info["rank"])
        self.result = TrainResult(steps=0, seconds=time.perf_counter() - t0, examples=len(x64))
        return self.result

    def predict_raw(self, items) -> np.ndarray:
        """The squared-loss student's unclipped f(x) = w . x + b (float64) of each text (`fit_squared`)."""
        if self.linear is None:
            raise RuntimeError("predict_raw() needs a squared-loss fit (fit_squared); a cross-entropy head "
                               "predicts probabilities only")
        items = list(items)
        check_kind(self.kind, kind_of(items) if items else self.kind)
        _, x = item_features(self.featurizer, items)
        mean, std, w, b = self.linear
        return ((x.numpy().astype(np.float64) - mean) / std) @ w + b

    def _solve(self, xs: np.ndarray, targets: np.ndarray, loss: Loss, l2: float, intercept: bool = True) -> None:
        """L-BFGS to convergence on sum_i weight_i * CE_i / N + (l2/2)||w||^2, the loop's per-row loss over the
        whole training set. A loss whose targets or weights depend on the student's own predictions
        (confidence, product, confidence window) is solved in LBFGS_ROUNDS fixed-point rounds, round r seeing
        step_frac r / rounds and the whole training set as its logical batch, each round warm-started."""
        if not loss.soft_ce_rows:
            raise ValueError(f"{type(loss).__name__} defines its own per-row loss; the frozen L-BFGS solver solves "
                             "(weighted) soft cross-entropy only: use train.solver 'sgd'")
        rounds = LBFGS_ROUNDS if loss.self_training else 1
        weak = torch.as_tensor(targets, dtype=torch.float32)
        sol, iterations = None, 0
        for r in range(rounds):
            logits = torch.zeros(len(targets), 2, dtype=torch.float32)
            if sol is not None:
                logits[:, 1] = torch.from_numpy(xs @ sol.w + sol.b).float()
            t, weights = self._prepared(loss, logits, weak, r / rounds)
            sol = solve_head(xs, t, l2, init=None if sol is None else (sol.w, sol.b), weights=weights,
                             fit_intercept=intercept)
            iterations += sol.iterations
        with torch.no_grad():
            self.model.head.weight.zero_()
            self.model.head.weight[1] = torch.from_numpy(sol.w).float()
            if self.model.head.bias is not None:
                self.model.head.bias.zero_()
                self.model.head.bias[1] = float(sol.b)
        self.info.update(solver="lbfgs", iterations=iterations, rounds=rounds, grad_norm=sol.grad_norm,
                         objective=sol.loss, converged=sol.converged)

    @staticmethod
    def _prepared(loss: Loss, logits: torch.Tensor, weak: torch.Tensor, step_frac: float):
        """The batch stage over the whole training set, as the solver takes it: P(y=1) targets and the
        per-row weights over N (None: the plain mean)."""
        t, w = loss.prepare(logits, weak, step_frac)
        weights = None if w is None else w.double().numpy() / len(t)
        return t[:, 1].double().numpy(), weights

    def _grad_norm(self, xs, targets, loss: Loss, l2: float, intercept: bool = True) -> float | None:
        """Gradient norm of the convex objective at the SGD solution (fixed-target soft-CE losses only)."""
        if loss.self_training or not loss.soft_ce_rows:
            return None
        w2 = self.model.head.weight.detach().double().numpy()
        theta = w2[1] - w2[0]
        if intercept:
            b2 = self.model.head.bias.detach().double().numpy()
            theta = np.r_[theta, b2[1] - b2[0]]
        t, weights = self._prepared(loss, torch.zeros(len(targets), 2), torch.as_tensor(targets).float(), 1.0)
        return float(np.linalg.norm(head_objective(theta, xs, t, l2, weights, intercept)[1]))

    def predict(self, items) -> np.ndarray:
        """P(y=1) of each text, or P(a > b) of each comparison."""
        if self.linear is not None:  # the squared-loss student: its f clipped to [0, 1]
            return np.clip(self.predict_raw(items), 0.0, 1.0).astype(np.float32)
        items = list(items)
        fitted = self.kind if self.model is not None else None
        check_kind(fitted, kind_of(items) if items else fitted)
        _, x = item_features(self.featurizer, items)
        return predict(self.model, FeatureRows(x), batch_size=4096, device=torch.device("cpu"))
