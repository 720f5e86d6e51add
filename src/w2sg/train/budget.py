"""What the frozen and the finetuning learner share: the student's budget and early stopping."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from w2sg.config import BudgetSpec, TrainSpec


@dataclass
class Selection:
    """Early stopping: score the student's predictions on V's items against `reference` labels."""

    texts: list  # V's items (texts or comparisons)
    reference: np.ndarray  # V's hard weak labels, or V's ground truth for the oracle budget
    metric: str = "auroc"
    evals: int = 10


def check_kind(fitted: str | None, kind: str) -> None:
    """A learner predicts on the kind of items it was fitted on."""
    if fitted is None:
        raise RuntimeError("predict() before fit()")
    if kind != fitted:
        raise TypeError(f"this learner was fitted on {fitted} items; it cannot predict on {kind} items")


class _Budgeted:
    """What the frozen and the finetuning learner share: the student's budget and early stopping."""

    budget: BudgetSpec
    selection: Selection | None
    spec: TrainSpec

    def _epoch_steps(self, n: int) -> int:
        return max(1, int(np.ceil(self.spec.resolved_epochs() * np.ceil(n / self.spec.batch_size))))

    def _trajectory(self, n: int) -> int:
        """Steps of the SGD trajectory this budget trains for."""
        return self.budget.steps or self._epoch_steps(n)

    def trajectory_steps(self, n: int) -> int:
        """Optimizer steps a fit on n rows runs along when a method evaluates during training."""
        return self._trajectory(n)

    def _selecting(self, on_eval, eval_every: int, n: int):
        """(on_eval, eval_every, finish) with the budget's checkpoint selection, or the caller's own."""
        if not self.budget.kind.startswith("early_stop"):
            return on_eval, eval_every, lambda: None
        if on_eval is not None:
            raise ValueError(f"budget '{self.budget.kind}' selects checkpoints itself; a method that selects its "
                             "own (early_stop, early_stop_oracle) needs budget 'full' or 'steps=N'")
        if self.selection is None or not len(self.selection.texts):
            raise ValueError(f"budget '{self.budget.kind}' needs the validation split V: set --n-val > 0")
        from w2sg.train.selection import checkpoint_selector

        on_eval, finish = checkpoint_selector(self, self.selection)
        return on_eval, max(1, self._trajectory(n) // self.selection.evals), finish
