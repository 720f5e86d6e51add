"""What every W2S method sees: a weak-labelled transfer set (no ground truth) and a way to make students."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
from pydantic import BaseModel, ConfigDict

from w2sg.train.losses import Loss


@dataclass(frozen=True)
class WeakLabelled:
    """The student's training data: texts and the weak supervisor's P(y=1). It has no ground-truth field.

    It only accepts plain strings, so a labelled `Example` (which carries ground truth) cannot be passed
    in by mistake.
    """

    ids: tuple[str, ...]
    texts: tuple[str, ...]
    weak_p1: np.ndarray = field(repr=False)
    groups: tuple[str, ...] | None = None  # question ids: rows of one question share one (not ground truth)

    def __post_init__(self):
        if len(self.ids) != len(self.texts) or len(self.texts) != len(self.weak_p1):
            raise ValueError(
                f"WeakLabelled: {len(self.ids)} ids, {len(self.texts)} texts, {len(self.weak_p1)} weak labels"
            )
        if self.groups is not None and len(self.groups) != len(self.texts):
            raise ValueError(f"WeakLabelled: {len(self.groups)} groups for {len(self.texts)} texts")
        for i, t in enumerate(self.texts):
            if not isinstance(t, str):
                raise TypeError(f"WeakLabelled.texts[{i}] must be a string, got {type(t).__name__}: pass texts "
                                "only, never labelled examples (ground truth must not reach the student)")
        w = np.asarray(self.weak_p1, dtype=np.float32)
        if w.ndim != 1 or (w.size and (np.nanmin(w) < 0 or np.nanmax(w) > 1 or np.isnan(w).any())):
            raise ValueError("WeakLabelled.weak_p1 must be a 1-d array of probabilities in [0, 1]")
        object.__setattr__(self, "weak_p1", w)

    def __len__(self) -> int:
        return len(self.texts)

    def subset(self, idx) -> WeakLabelled:
        idx = np.asarray(idx, dtype=np.int64)
        groups = None if self.groups is None else tuple(self.groups[i] for i in idx)
        return WeakLabelled(tuple(self.ids[i] for i in idx), tuple(self.texts[i] for i in idx), self.weak_p1[idx],
                            groups)


@dataclass(frozen=True)
class WeakMember:
    """Predictions of one extra weak supervisor: weak labels of B, V and the extra rows, and its P(y=1) on the
    test texts (predictions only; the pipeline scores a method's supervisor on T, the method cannot)."""

    transfer: WeakLabelled
    val: WeakLabelled
    extra: WeakLabelled | None
    test_p1: np.ndarray = field(repr=False)


class Learner(Protocol):
    """A model that can be fitted on texts with targets and then predicts P(y=1) on texts."""

    def fit(self, texts: list[str], targets: np.ndarray, loss: Loss, seed: int,
            on_eval: Callable | None = None, eval_every: int = 0) -> Any: ...

    def predict(self, texts: list[str]) -> np.ndarray: ...


@dataclass
class StudentContext:
    """Everything a method may use: a factory of fresh strong students, the seed and the training budget,
    frozen features of the *pretrained* strong model, and — for explicitly named oracle methods only — the
    ground truth of the validation split V."""

    new_student: Callable[[], Learner]
    seed: int
    mode: str
    train: Any = None  # the TrainSpec every student uses
    strong_features: Callable[[list[str]], np.ndarray] | None = None
    oracle_val_labels: np.ndarray | None = None  # None unless Method.oracle
    new_learner: Callable[[str], Learner] | None = None  # a fresh learner of any model (intermediate rungs)
    extra: WeakLabelled | None = None  # fresh weak-labelled transfer rows (splits.n_extra), e.g. bootstrapping
    # another weak supervisor trained on A with ground truth by the pipeline (the method sees predictions only):
    # weak_member(model, member, bagging) -> WeakMember; member 0 without bagging is that model's plain weak fit
    weak_member: Callable[[str, int, bool], WeakMember] | None = None
    weak_model: str = ""  # the experiment's weak model (alias or path)
    strong_backbone: Any = None  # the pretrained strong Backbone (path, tokenizer, pooling)
    learner_on: Callable[[Any, str], Learner] | None = None  # a learner on an adapted backbone; str = its tag
    supervisor_test: np.ndarray | None = None  # set by methods that build their own supervisor (P(y=1) on T)


class MethodConfig(BaseModel):
    """Base of every method's options: strict, so a typo in an option is an error."""

    model_config = ConfigDict(extra="forbid", frozen=True)


@dataclass(frozen=True)
class Method:
    name: str
    description: str
    config_cls: type[MethodConfig]
    fn: Callable[[StudentContext, WeakLabelled, WeakLabelled, MethodConfig], Learner]
    modes: tuple[str, ...] = ("frozen", "full", "lora")
    oracle: bool = False  # uses ground truth of V for selection: an analysis baseline, recorded as such
    precheck: Callable[[MethodConfig, Any], str | None] | None = None  # why a spec cannot run it, or None
