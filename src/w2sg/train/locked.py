"""A locked strong model in frozen-feature mode, and the learner that trains a student from it.

A password-locked model (Greenblatt et al. 2024) hides a capability behind a trigger: it answers like a weak
model on plain inputs and well when the trigger is in the input. On frozen features a linear head cannot gate
on a trigger, so the locked model is a one-hidden-layer MLP head on the strong model's features (of the plain
text and of trigger + text). W2S training then starts from that head: whether a method elicits the hidden
capability is whether the student's plain-input accuracy rises above what the lock shows.
"""

from __future__ import annotations

import copy

import numpy as np
import torch
from torch import nn

from w2sg.config import BudgetSpec, LockSpec, TrainSpec
from w2sg.items import kind_of
from w2sg.train.batching import FeatureRows
from w2sg.train.budget import Budgeted, Selection, check_kind
from w2sg.train.loop import TrainResult, predict, train
from w2sg.train.losses import Loss, SoftXent


class MLPHead(nn.Module):
    """Standardised features -> hidden layer (GELU) -> two logits."""

    def __init__(self, dim: int, hidden: int, mean: torch.Tensor | None = None, std: torch.Tensor | None = None):
        super().__init__()
        self.register_buffer("mean", mean if mean is not None else torch.zeros(dim))
        self.register_buffer("std", std if std is not None else torch.ones(dim))
        self.body = nn.Sequential(nn.Linear(dim, hidden), nn.GELU())
        self.head = nn.Linear(hidden, 2)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return self.head(self.body((features - self.mean) / self.std))

    def to_arrays(self) -> dict[str, np.ndarray]:
        """The weights as float32 arrays (what the cache stores)."""
        return {f"head.{k}": v.detach().cpu().numpy().astype(np.float32) for k, v in self.state_dict().items()}

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray]) -> MLPHead:
        state = {k[len("head."):]: torch.from_numpy(np.array(v)) for k, v in arrays.items() if k.startswith("head.")}
        dim, hidden = state["body.0.weight"].shape[1], state["body.0.weight"].shape[0]
        model = cls(dim, hidden)
        model.load_state_dict(state)
        return model


def with_trigger(trigger: str, texts: list[str]) -> list[str]:
    """The inputs with the password prepended."""
    return [f"{trigger} {t}" for t in texts]


def lock_head(x_plain: torch.Tensor, plain_targets: np.ndarray, x_trigger: torch.Tensor,
              trigger_targets: np.ndarray, lock: LockSpec, seed: int) -> tuple[MLPHead, TrainResult]:
    """Train the locked head on (plain features -> plain_targets) and (trigger features -> trigger_targets)."""
    x = torch.cat([x_plain, x_trigger]).float()
    t = torch.from_numpy(np.concatenate([plain_targets, trigger_targets]).astype(np.float32))
    model = MLPHead(x.shape[1], lock.hidden, x.mean(0), x.std(0).clamp_min(1e-6))
    spec = TrainSpec(mode="frozen", solver="sgd", epochs=lock.epochs, lr=lock.lr, batch_size=64, weight_decay=0.0)
    result = train(model, FeatureRows(x), t, SoftXent(), spec, seed, device=torch.device("cpu"))
    return model.eval(), result


def unlocked_head(x_plain: torch.Tensor, x_trigger: torch.Tensor, lock: LockSpec, seed: int) -> MLPHead:
    """The control of a locked head: the same MLP (width, standardisation on the same features), freshly
    initialised from `seed`, never trained."""
    x = torch.cat([x_plain, x_trigger]).float()
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        model = MLPHead(x.shape[1], lock.hidden, x.mean(0), x.std(0).clamp_min(1e-6))
    return model.eval()


class LockedLearner(Budgeted):
    """A student that starts from a locked head (or, for the `unlocked` control, a fresh one of the same shape):
    every `fit` copies that head and trains it with AdamW (the experiment's epochs and lr, or the student's step
    budget / early stopping) on the given targets. Texts only (a locked reward model is not implemented)."""

    def __init__(self, featurizer, locked: MLPHead, trigger: str, spec: TrainSpec, budget: BudgetSpec | None = None,
                 selection: Selection | None = None):
        self.featurizer = featurizer
        self.locked = locked
        self.trigger = trigger
        self.spec = spec.model_copy(update={"solver": "sgd"})
        self.budget = budget or BudgetSpec()
        self.selection = selection
        self.model: MLPHead | None = None
        self.kind: str | None = None
        self.result: TrainResult | None = None
        self.info: dict = {}

    def _features(self, items) -> torch.Tensor:
        items = list(items)
        if items and kind_of(items) != "text":
            raise TypeError("a locked strong model is implemented for text items only (binary and multiple-choice "
                            "tasks); run pairwise tasks without `lock`")
        return self.featurizer(items)

    def fit(self, items, targets, loss: Loss, seed: int, on_eval=None, eval_every: int = 0,
            groups=None) -> TrainResult:
        x = self._features(items)
        self.model, self.kind = copy.deepcopy(self.locked), "text"
        on_eval, eval_every, finish = self.selecting(on_eval, eval_every, len(x))
        total = self.trajectory_steps(len(x))
        self.result = train(self.model, FeatureRows(x), torch.as_tensor(np.asarray(targets)), loss, self.spec, seed,
                            device=torch.device("cpu"), on_eval=on_eval, eval_every=eval_every, total_steps=total,
                            weight_decay=0.0)
        finish()
        self.model.eval()
        self.info = {"solver": "sgd", "steps": self.result.steps, "locked": True}
        return self.result

    def predict(self, items) -> np.ndarray:
        check_kind(self.kind if self.model is not None else None, "text")
        return predict(self.model, FeatureRows(self._features(items)), batch_size=4096, device=torch.device("cpu"))

    def predict_trigger(self, texts: list[str]) -> np.ndarray:
        """P(y=1) with the trigger in the input: what the model can do when unlocked."""
        return self.predict(with_trigger(self.trigger, list(texts)))
