"""Learners fit a classifier on texts and predict P(y=1): on cached frozen features, or by finetuning."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import torch

from w2sg.cache import FeatureStore
from w2sg.config import TrainSpec, content_hash
from w2sg.models.classifier import (
    FeatureClassifier,
    TextClassifier,
    apply_lora,
    hidden_size_of,
    load_backbone,
)
from w2sg.train.batching import FeatureRows, TokenizedTexts, sorted_inference_batches, tokenize
from w2sg.train.loop import TrainResult, autocast_for, predict, resolve_device, train
from w2sg.train.losses import Loss

Progress = Callable[[str, int], Callable[[int], None]]  # (description, total) -> advance(n)


def _no_progress(desc: str, total: int) -> Callable[[int], None]:
    return lambda n=1: None


@dataclass
class Backbone:
    """A lazily loaded pretrained backbone + tokenizer for one model (loaded at most once per process)."""

    path: str
    arch: str = "auto"
    _loaded: tuple | None = field(default=None, repr=False)
    _tokenizer: object | None = field(default=None, repr=False)

    @classmethod
    def from_loaded(cls, path: str, arch: str, model, tokenizer, pooling) -> Backbone:
        """A backbone already in memory (e.g. adapted by generative finetuning); `path` is its origin."""
        return cls(path, arch, _loaded=(model, tokenizer, pooling), _tokenizer=tokenizer)

    def get(self):
        if self._loaded is None:
            self._loaded = load_backbone(self.path, self.arch)
            self._tokenizer = self._loaded[1]
        return self._loaded

    def tokenizer(self):
        """The tokenizer alone (cheap: no weights are loaded)."""
        if self._tokenizer is None:
            from transformers import AutoTokenizer

            self._tokenizer = AutoTokenizer.from_pretrained(self.path)
        return self._tokenizer

    def count_truncated(self, texts: list[str], max_length: int) -> int:
        """How many of `texts` are longer than max_length tokens (they get truncated, never dropped)."""
        ids = self.tokenizer()(list(texts), add_special_tokens=True, truncation=False)["input_ids"]
        return sum(len(x) > max_length for x in ids)

    def fresh(self):
        """A new copy of the pretrained backbone for finetuning (the cached one stays pristine)."""
        import copy

        backbone, tok, pooling = self.get()
        return copy.deepcopy(backbone), tok, pooling


class Featurizer:
    """Frozen features (pooled last hidden state) of a model, computed once per text and cached on disk."""

    def __init__(self, backbone: Backbone, identity: str, cache_root, max_length: int, batch_size: int = 64,
                 device: torch.device | None = None, progress: Progress = _no_progress):
        self.backbone = backbone
        self.max_length = max_length
        self.batch_size = batch_size
        self.device = device or resolve_device()
        self.progress = progress
        self.key = content_hash("features", identity, max_length, "left")
        self.store = FeatureStore(cache_root, self.key)
        self.n_computed = 0

    def __call__(self, texts: list[str]) -> torch.Tensor:
        missing = len(self.store.missing(texts))
        advance = self.progress("features", missing) if missing else None
        feats, n_new = self.store.get(texts, self._embed, on_chunk=advance)
        self.n_computed += n_new
        return torch.from_numpy(np.ascontiguousarray(feats))

    def _embed(self, texts: list[str]) -> np.ndarray:
        backbone, tok, pooling = self.backbone.get()
        model = TextClassifier(backbone, hidden_size_of(backbone), pooling).to(self.device).eval()
        rows = tokenize(tok, texts, self.max_length)
        out = np.empty((len(rows), hidden_size_of(backbone)), dtype=np.float32)
        with torch.inference_mode():
            for idx in sorted_inference_batches(rows.lengths, self.batch_size):
                batch = {k: v.to(self.device) for k, v in rows.collate(idx).items()}
                with autocast_for(self.device):
                    out[idx] = model.features(**batch).float().cpu().numpy()
        return out


class FrozenLearner:
    """A linear head trained on a featurizer's cached features (linear-probe W2S)."""

    def __init__(self, featurizer: Featurizer, spec: TrainSpec):
        self.featurizer = featurizer
        self.spec = spec
        self.model: FeatureClassifier | None = None
        self.result: TrainResult | None = None

    def fit(self, texts, targets, loss: Loss, seed: int, on_eval=None, eval_every: int = 0) -> TrainResult:
        x = self.featurizer(list(texts))
        torch.manual_seed(seed)
        self.model = FeatureClassifier.fit_standardizer(x)
        self.result = train(self.model, FeatureRows(x), torch.as_tensor(np.asarray(targets)), loss, self.spec,
                            seed, device=torch.device("cpu"), on_eval=on_eval, eval_every=eval_every)
        return self.result

    def predict(self, texts) -> np.ndarray:
        if self.model is None:
            raise RuntimeError("predict() before fit()")
        return predict(self.model, FeatureRows(self.featurizer(list(texts))), batch_size=4096,
                       device=torch.device("cpu"))


class FinetuneLearner:
    """Full finetuning or LoRA of backbone + head on token ids."""

    def __init__(self, backbone: Backbone, spec: TrainSpec, device: torch.device | None = None,
                 progress: Progress = _no_progress):
        self.backbone = backbone
        self.spec = spec
        self.device = device or resolve_device(spec.device)
        self.progress = progress
        self.model: TextClassifier | None = None
        self.result: TrainResult | None = None

    def _rows(self, texts) -> TokenizedTexts:
        _, tok, _ = self.backbone.get()
        return tokenize(tok, list(texts), self.spec.max_length)

    def fit(self, texts, targets, loss: Loss, seed: int, on_eval=None, eval_every: int = 0) -> TrainResult:
        torch.manual_seed(seed)
        backbone, _, pooling = self.backbone.fresh()
        if self.spec.mode == "lora":
            backbone = apply_lora(backbone, self.spec.lora_r, self.spec.lora_alpha)
        self.model = TextClassifier(backbone, hidden_size_of(backbone), pooling)
        rows = self._rows(texts)
        steps = int(np.ceil(self.spec.resolved_epochs() * np.ceil(len(rows) / self.spec.batch_size)))
        advance = self.progress("train", steps)
        self.result = train(self.model, rows, torch.as_tensor(np.asarray(targets)), loss, self.spec, seed,
                            device=self.device, on_step=lambda s, t, lo: advance(1), on_eval=on_eval,
                            eval_every=eval_every)
        return self.result

    def predict(self, texts) -> np.ndarray:
        if self.model is None:
            raise RuntimeError("predict() before fit()")
        return predict(self.model, self._rows(texts), self.spec.eval_batch_size, self.device)
