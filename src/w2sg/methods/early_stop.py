"""Early stopping as a method: checkpoint selection on V's weak labels, and its ground-truth oracle baseline.

Thin registrations: the mechanism (`Selection`, `checkpoint_selector`, `fit_with_selection`) is the budget's,
`w2sg.train.budget`, which also runs the same selection for the early-stop budgets under any method.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from pydantic import Field

from w2sg.methods.base import MethodConfig, StudentContext, WeakLabelled
from w2sg.methods.registry import register_method
from w2sg.train.budget import fit_with_selection


class EarlyStopConfig(MethodConfig):
    metric: Literal["accuracy", "auroc"] = Field("auroc", description="selection score on V")
    evals: int = Field(10, ge=1, description="number of evaluations on V spread over training")


def _needs_val(cfg: EarlyStopConfig, spec) -> str | None:
    """Checked before any work: early stopping selects on V, so V must have rows."""
    if spec.splits.n_val == 0:
        return "early stopping needs the weak-labelled validation split V: set --n-val > 0 (splits.n_val)"
    return None


def _early_stop(ctx: StudentContext, transfer: WeakLabelled, val: WeakLabelled, cfg: EarlyStopConfig,
                reference: np.ndarray):
    if len(val) == 0:
        raise ValueError("early stopping needs the weak-labelled validation split V: set --n-val > 0")
    student = ctx.new_student()
    fit_with_selection(student, list(transfer.items), transfer.weak_p1, ctx.seed,
                       student.trajectory_steps(len(transfer)), cfg.evals, cfg.metric, reference, list(val.items))
    return student


@register_method("early_stop", """
Early stopping / checkpoint selection on weak labels only (EleutherAI w2s; Burns et al. sec. 5 use ground
truth instead): train naively on soft weak labels, evaluate on the weak-labelled validation split V `evals`
times, and keep the weights with the best score of the student's predictions against V's hard weak labels
(metric: auroc or accuracy). No ground truth is used.""", EarlyStopConfig, precheck=_needs_val)
def early_stop(ctx, transfer, val, cfg: EarlyStopConfig):
    return _early_stop(ctx, transfer, val, cfg, (val.weak_p1 > 0.5).astype(int))


@register_method("early_stop_oracle", """
ORACLE baseline, for analysis only: the same checkpoint selection as early_stop but scored against V's
GROUND-TRUTH labels (Burns et al.'s "cheating" early stopping). Results record oracle=true.""",
                 EarlyStopConfig, oracle=True, precheck=_needs_val)
def early_stop_oracle(ctx, transfer, val, cfg: EarlyStopConfig):
    if ctx.oracle_val_labels is None:
        raise RuntimeError("early_stop_oracle was called without oracle labels")
    return _early_stop(ctx, transfer, val, cfg, ctx.oracle_val_labels)
