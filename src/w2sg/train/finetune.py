"""The finetuning learner: full finetuning or LoRA of a backbone plus a head, on texts or comparisons.

Texts: a two-logit classification head. Comparisons: a scalar reward head r on the same backbone; both texts
of each comparison go through one batched forward pass and give the two-class logits [r(b), r(a)], so every
loss applies unchanged (soft CE is then the Bradley-Terry loss) and P(a > b) = sigma(r(a) - r(b)).
"""

from __future__ import annotations

import numpy as np
import torch

from w2sg.config import BudgetSpec, TrainSpec
from w2sg.items import item_texts, kind_of
from w2sg.models.classifier import RewardClassifier, TextClassifier, apply_lora, hidden_size_of
from w2sg.prompts import apply_template, template_for
from w2sg.train.batching import PairedTexts, TokenizedTexts, tokenize
from w2sg.train.budget import Budgeted, Selection, check_kind
from w2sg.train.featurizer import Backbone, Progress, no_progress
from w2sg.train.loop import TrainResult, predict, resolve_device, train
from w2sg.train.losses import Loss


class FinetuneLearner(Budgeted):
    """Full finetuning or LoRA of backbone + head on token ids, for `train.epochs` or the student's budget.

    A comparison is one row of the logical batch (`train.batch_size` comparisons, two texts each)."""

    def __init__(self, backbone: Backbone, spec: TrainSpec, device: torch.device | None = None,
                 progress: Progress = no_progress, budget: BudgetSpec | None = None,
                 selection: Selection | None = None):
        self.backbone = backbone
        self.spec = spec
        self.budget = budget or BudgetSpec()
        self.selection = selection
        self.info: dict = {}
        self.device = device or resolve_device(spec.device)
        self.progress = progress
        self.model: TextClassifier | RewardClassifier | None = None
        self.kind: str | None = None  # 'text' or 'comparison': what the model was fitted on
        self.result: TrainResult | None = None

    def _rows(self, items) -> tuple[str, TokenizedTexts | PairedTexts]:
        items = list(items)
        kind = kind_of(items)
        _, tok, pooling = self.backbone.get()
        # a decoder reads each text (each side of a comparison) inside train.prompt's template, as frozen features do
        template = template_for(self.spec.prompt, kind)[1] if pooling == "last" else None
        rows = tokenize(tok, apply_template(template, item_texts(items)), self.spec.max_length)
        return kind, PairedTexts(rows) if kind == "comparison" else rows

    def fit(self, items, targets, loss: Loss, seed: int, on_eval=None, eval_every: int = 0,
            groups=None) -> TrainResult:
        torch.manual_seed(seed)
        backbone, _, pooling = self.backbone.fresh()
        if self.spec.mode == "lora":
            backbone = apply_lora(backbone, self.spec.lora_r, self.spec.lora_alpha)
        kind, rows = self._rows(items)
        model_cls = RewardClassifier if kind == "comparison" else TextClassifier
        self.model, self.kind = model_cls(backbone, hidden_size_of(backbone), pooling), kind
        on_eval, eval_every, finish = self.selecting(on_eval, eval_every, len(rows))
        steps = self.trajectory_steps(len(rows))
        advance = self.progress("train", steps)
        self.result = train(self.model, rows, torch.as_tensor(np.asarray(targets)), loss, self.spec, seed,
                            device=self.device, on_step=lambda s, t, lo: advance(1), on_eval=on_eval,
                            eval_every=eval_every, total_steps=steps)
        finish()
        self.info = {"solver": "adamw", "steps": self.result.steps}
        if kind == "comparison":
            self.info["items"] = "comparison"
        return self.result

    def predict(self, items) -> np.ndarray:
        """P(y=1) of each text, or P(a > b) = sigma(r(a) - r(b)) of each comparison."""
        items = list(items)
        fitted = self.kind if self.model is not None else None
        check_kind(fitted, kind_of(items) if items else fitted)
        kind, rows = self._rows(items)  # each comparison is two texts: half as many per inference batch
        batch = self.spec.eval_batch_size if kind == "text" else max(1, self.spec.eval_batch_size // 2)
        return predict(self.model, rows, batch, self.device)
