"""What every W2S method sees: a weak-labelled transfer set (no ground truth) and a way to make students."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
from pydantic import BaseModel, ConfigDict

from w2sg.config import TrainSpec
from w2sg.items import Item, is_item
from w2sg.train.featurizer import Backbone
from w2sg.train.losses import Loss
from w2sg.train.zero_shot import ZeroShotLM


@dataclass(frozen=True)
class WeakLabelled:
    """The student's training data: items (texts, or comparisons for pairwise tasks) and the weak supervisor's
    P(item positive). It has no ground-truth field.

    It only accepts plain items (`str` or `Comparison`), so a labelled `Example` (which carries ground truth)
    cannot be passed in by mistake.
    """

    ids: tuple[str, ...]
    items: tuple[Item, ...]
    weak_p1: np.ndarray = field(repr=False)
    groups: tuple[str, ...] | None = None  # question ids: rows of one question share one (not ground truth)

    def __post_init__(self):
        if len(self.ids) != len(self.items) or len(self.items) != len(self.weak_p1):
            raise ValueError(
                f"WeakLabelled: {len(self.ids)} ids, {len(self.items)} items, {len(self.weak_p1)} weak labels"
            )
        if self.groups is not None and len(self.groups) != len(self.items):
            raise ValueError(f"WeakLabelled: {len(self.groups)} groups for {len(self.items)} items")
        for i, t in enumerate(self.items):
            if not is_item(t):
                raise TypeError(f"WeakLabelled.items[{i}] must be a string or a Comparison, got "
                                f"{type(t).__name__}: pass items only, never labelled examples (ground truth "
                                "must not reach the student)")
        w = np.asarray(self.weak_p1, dtype=np.float32)
        if w.ndim != 1 or (w.size and (np.nanmin(w) < 0 or np.nanmax(w) > 1 or np.isnan(w).any())):
            raise ValueError("WeakLabelled.weak_p1 must be a 1-d array of probabilities in [0, 1]")
        object.__setattr__(self, "weak_p1", w)

    @property
    def texts(self) -> tuple[Item, ...]:
        """The items (named for the binary case, where every item is a text)."""
        return self.items

    def __len__(self) -> int:
        return len(self.items)

    def subset(self, idx) -> WeakLabelled:
        idx = np.asarray(idx, dtype=np.int64)
        groups = None if self.groups is None else tuple(self.groups[i] for i in idx)
        return WeakLabelled(tuple(self.ids[i] for i in idx), tuple(self.items[i] for i in idx), self.weak_p1[idx],
                            groups)


class Learner(Protocol):
    """A model that can be fitted on items with targets and then predicts P(item positive) on items."""

    def fit(self, items: list[Item], targets: np.ndarray, loss: Loss, seed: int,
            on_eval: Callable | None = None, eval_every: int = 0) -> Any: ...

    def predict(self, items: list[Item]) -> np.ndarray: ...


@dataclass(frozen=True)
class StudentContext:
    """Everything a method may use (read-only): a factory of fresh strong students, the seed, the training
    settings, the weak-labelled extra rows, the pretrained strong model (its frozen features, its backbone,
    and learners on an adapted copy of it), and — for explicitly named oracle methods only — the ground truth
    of the validation split V. An adapter stage (e.g. generative finetuning) returns a new context whose
    `new_student` trains on the adapted model; the next stage of the chain receives it."""

    new_student: Callable[[], Learner]
    seed: int
    train: TrainSpec  # the settings every student uses (train.mode: frozen, full or lora)
    extra: WeakLabelled | None = None  # fresh weak-labelled transfer rows (splits.n_extra)
    strong_features: Callable[[list[Item]], np.ndarray] | None = None  # of the *pretrained* strong model
    strong_backbone: Backbone | None = None  # the pretrained strong model (path, tokenizer, pooling)
    learner_on: Callable[[Backbone, str], Learner] | None = None  # a student on an adapted backbone; str: its tag
    oracle_val_labels: np.ndarray | None = None  # None unless Method.oracle
    # the pretrained strong model as a zero-shot yes/no classifier (`train.zero_shot.ZeroShotLM`), bound to the
    # task (prompt "auto") and to the per-text cache; None where there is none (a classic rung, a locked model)
    zero_shot: ZeroShotLM | None = None

    @property
    def mode(self) -> str:
        return self.train.mode


class MethodConfig(BaseModel):
    """Base of every method's options: strict, so a typo in an option is an error."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


@dataclass(frozen=True)
class Method:
    """A registered method. `fn(ctx, transfer, val, cfg)` returns a trained Learner — or, for an `adapter`
    (a stage that changes the strong model, e.g. generative finetuning), a new StudentContext for the next
    stage of the method chain."""

    name: str
    description: str
    config_cls: type[MethodConfig]
    fn: Callable[[StudentContext, WeakLabelled, WeakLabelled, MethodConfig], Any]
    modes: tuple[str, ...] = ("frozen", "full", "lora")
    oracle: bool = False  # uses ground truth of V for selection: an analysis baseline, recorded as such
    precheck: Callable[[MethodConfig, Any], str | None] | None = None  # why a spec cannot run it, or None
    adapter: bool = False  # returns a StudentContext for the next stage instead of a student


def train_student(ctx: StudentContext, transfer: WeakLabelled, loss: Loss):
    """A fresh student from `ctx`, fitted on `transfer`'s weak labels with `loss` and the experiment's seed."""
    student = ctx.new_student()
    student.fit(list(transfer.items), transfer.weak_p1, loss, seed=ctx.seed)
    return student
