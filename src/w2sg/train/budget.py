"""The student's budget, the one home of early stopping: how long the student trains (`config.BudgetSpec`) and
how a checkpoint is selected along its trajectory on V.

- `Budgeted`: what every budgeted learner (frozen, finetuning, locked) shares: the steps of its trajectory and
  the early stopping of an early-stop budget (`early_stop`, `early_stop_oracle`);
- `Selection` (V's items and the labels they are scored against), `checkpoint_selector` (score on V, keep the
  best weights) and `fit_with_selection` (a fit with it, for the methods that select their own checkpoint:
  `methods/early_stop.py`);
- `check_budget`: a budget a method chain can run under, checked before any work.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass

import numpy as np

from w2sg.config import BudgetSpec, TrainSpec
from w2sg.metrics import accuracy, auroc


@dataclass
class Selection:
    """Early stopping: score the student's predictions on V's items against `reference` labels."""

    texts: list  # V's items (texts or comparisons)
    reference: np.ndarray  # V's hard weak labels, or V's ground truth for the oracle budget
    metric: str = "auroc"
    evals: int = 10


def score_fn(metric: str, reference):
    """Score predictions against reference labels (hard 0/1); an undefined score (one class) is -inf."""
    fn = accuracy if metric == "accuracy" else auroc

    def score(p) -> float:
        s = fn(p, reference)
        return -math.inf if s != s else s

    return score


def checkpoint_selector(learner, selection: Selection):
    """(on_eval, finish): on_eval(step, model) scores `learner.predict(V)`; finish() restores the best weights
    (the earliest best wins ties) and records the selection in `learner.selection_result`."""
    score = score_fn(selection.metric, selection.reference)
    best = {"score": -math.inf, "step": 0, "state": None, "history": []}

    def on_eval(step, model):
        s = score(learner.predict(selection.texts))
        best["history"].append((step, s))
        if s > best["score"]:
            best.update(score=s, step=step, state=copy.deepcopy(model.state_dict()))

    def finish():
        if best["state"] is not None:
            learner.model.load_state_dict(best["state"])
        learner.selection_result = {k: best[k] for k in ("score", "step", "history")}

    return on_eval, finish


def fit_with_selection(student, texts: list, targets: np.ndarray, seed: int, total_steps: int, evals: int,
                       score_metric: str, reference: np.ndarray, val_texts: list) -> dict:
    """Fit `student` on soft targets, score its predictions on V every total_steps/evals steps, restore the best
    weights; returns the selection (`score`, `step`, `history`)."""
    from w2sg.train.losses import SoftXent

    on_eval, finish = checkpoint_selector(student, Selection(val_texts, reference, score_metric, evals))
    student.fit(texts, targets, SoftXent(), seed=seed, on_eval=on_eval, eval_every=max(1, total_steps // evals))
    finish()
    return student.selection_result


def check_budget(budget: BudgetSpec | None, method: str, n_val: int) -> None:
    """Before any work: an early-stop budget needs V, and a method that selects its own checkpoint (`early_stop*`)
    runs under budget 'full' or 'steps=N' only. Errors name the fix."""
    if budget is None or not budget.early_stop:
        return
    if method.startswith("early_stop"):
        raise ValueError(f"method '{method}' selects its own checkpoint; use it with budget 'full' (or "
                         f"'steps=N'), or use method 'naive' with budget '{budget.kind}'")
    if n_val == 0:
        raise ValueError(f"budget '{budget.kind}' needs the validation split V: set --n-val > 0")


def check_kind(fitted: str | None, kind: str) -> None:
    """A learner predicts on the kind of items it was fitted on."""
    if fitted is None:
        raise RuntimeError("predict() before fit()")
    if kind != fitted:
        raise TypeError(f"this learner was fitted on {fitted} items; it cannot predict on {kind} items")


class Budgeted:
    """What the frozen, the finetuning and the locked learner share: the student's budget and early stopping."""

    budget: BudgetSpec
    selection: Selection | None
    spec: TrainSpec

    def epoch_steps(self, n: int) -> int:
        """Optimizer steps of `train.epochs` passes over n rows."""
        return max(1, int(np.ceil(self.spec.resolved_epochs() * np.ceil(n / self.spec.batch_size))))

    def trajectory_steps(self, n: int) -> int:
        """Steps of the SGD trajectory a fit on n rows runs under this budget: `budget.steps` (kind steps, or an
        early-stop trajectory's length), else `train.epochs` passes; evaluations on V are spread over it."""
        return self.budget.steps or self.epoch_steps(n)

    def selecting(self, on_eval, eval_every: int, n: int):
        """(on_eval, eval_every, finish) with the budget's checkpoint selection, or the caller's own."""
        if not self.budget.early_stop:
            return on_eval, eval_every, lambda: None
        if on_eval is not None:
            raise ValueError(f"budget '{self.budget.kind}' selects checkpoints itself; a method that selects its "
                             "own (early_stop, early_stop_oracle) needs budget 'full' or 'steps=N'")
        if self.selection is None or not len(self.selection.texts):
            raise ValueError(f"budget '{self.budget.kind}' needs the validation split V: set --n-val > 0")
        on_eval, finish = checkpoint_selector(self, self.selection)
        return on_eval, max(1, self.trajectory_steps(n) // self.selection.evals), finish
