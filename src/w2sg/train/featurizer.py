"""Backbones (loaded once) and frozen features of texts, computed once per text and cached on disk."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import torch

from w2sg.cache import FeatureStore
from w2sg.config import content_hash
from w2sg.items import item_texts, kind_of
from w2sg.models.classifier import TextClassifier, hidden_size_of, load_backbone
from w2sg.train.batching import sorted_inference_batches, tokenize
from w2sg.train.loop import autocast_for, resolve_device

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


def item_features(featurizer: Callable[[list[str]], torch.Tensor], items) -> tuple[str, torch.Tensor]:
    """(kind, features) of items: a text's features, or a comparison's feature difference phi(a) - phi(b)
    (float32, so that swapping a and b negates it exactly). Both texts of a comparison go through the
    featurizer's cache like any other text."""
    items = list(items)
    kind = kind_of(items)
    if kind == "text":
        return kind, featurizer(items)
    both = featurizer(item_texts(items))
    return kind, (both[0::2] - both[1::2]).contiguous()
