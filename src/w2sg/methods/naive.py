"""Naive finetuning on weak labels (Burns et al. 2024): cross-entropy on the weak model's soft or hard labels, or
(frozen mode, `loss: squared`) least squares to them: the squared-loss student of Charikar, Pabbaraju & Shiragur
(2024)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from w2sg.items import kind_of
from w2sg.methods.base import MethodConfig, train_student
from w2sg.methods.registry import register_method
from w2sg.train.losses import HardXent, SoftXent


class NaiveConfig(MethodConfig):
    loss: Literal["ce", "squared"] = Field(
        "ce", description="ce: cross-entropy on the soft weak labels; squared (frozen mode only): least squares of "
        "a linear f(x) on the frozen features to the weak labels, solved in closed form, P(y=1) = clip(f, 0, 1)")


def _precheck(cfg: NaiveConfig, spec) -> str | None:
    """Why `spec` cannot run `loss: squared` (None: it can, or the loss is ce); checked before any work."""
    if cfg.loss != "squared":
        return None
    from w2sg.models.zoo import is_classic

    fix = "or drop the option (loss: ce)"
    if spec.train.mode != "frozen":
        return (f"option loss 'squared' is a linear head on frozen features; set train.mode frozen (got "
                f"{spec.train.mode!r}) {fix}")
    if spec.train.solver != "lbfgs":
        return f"option loss 'squared' is solved in closed form; set train.solver lbfgs (got 'sgd') {fix}"
    if spec.budget.kind != "full":
        return (f"option loss 'squared' is solved to its optimum in closed form; set budget full (got "
                f"{spec.budget.kind!r}) {fix}")
    if is_classic(spec.strong):
        return (f"option loss 'squared' needs frozen features of a pretrained strong model, not the classic rung "
                f"{spec.strong!r}; pick another strong model {fix}")
    if spec.lock is not None:
        return f"option loss 'squared' does not train a locked student's head; drop `lock` {fix}"
    if _pairwise(spec.task):
        return (f"option loss 'squared' fits texts only; task {spec.task!r} is pairwise (comparisons, a reward "
                f"model): use loss ce there")
    return None


def _pairwise(task: str) -> bool:
    """True when `task` is known to be a pairwise (comparison) task; an unknown or unreadable task is left to the
    pipeline's own checks (the method checks its items again before training)."""
    from w2sg.tasks.catalog import get_task

    try:
        return get_task(task).kind == "pairwise"
    except Exception:  # noqa: BLE001 - not this check's error to report
        return False


@register_method("naive", """
Naive finetuning (Burns et al. 2024): train the strong model with cross-entropy on the weak model's
soft labels, L = CE(f(x), p_weak(x)). Option loss: squared (frozen mode only) fits a linear f(x) = w.x + b on
the frozen features by least squares to the weak labels instead, mean (f(x) - p_weak(x))^2 + (l2/2)||w||^2, in
closed form, P(y=1) = clip(f(x), 0, 1): the squared-loss projection of Charikar, Pabbaraju & Shiragur (2024),
its l2 chosen by CV of the squared error on B's weak labels.""", NaiveConfig, precheck=_precheck)
def naive(ctx, transfer, val, cfg: NaiveConfig):
    if cfg.loss == "squared":
        return _squared_student(ctx, transfer)
    return train_student(ctx, transfer, SoftXent())


def _squared_student(ctx, transfer):
    if ctx.mode != "frozen":
        raise ValueError(f"method naive, option loss 'squared': set train.mode frozen (got {ctx.mode!r}) or use "
                         "loss ce")
    if transfer.items and kind_of(transfer.items) != "text":
        raise ValueError("method naive, option loss 'squared' fits texts only, not comparisons: use loss ce on "
                         "pairwise tasks")
    student = ctx.new_student()
    if not hasattr(student, "fit_squared"):
        raise ValueError(f"method naive, option loss 'squared' needs a frozen-feature student; this one is a "
                         f"{type(student).__name__}: use loss ce")
    student.fit_squared(list(transfer.items), transfer.weak_p1, seed=ctx.seed)
    return student


@register_method("naive_hard", """
Naive finetuning on hard weak labels: L = CE(f(x), 1[p_weak(x) > 0.5]).""")
def naive_hard(ctx, transfer, val, cfg):
    return train_student(ctx, transfer, HardXent())
