"""Backbones (loaded once) and frozen features of texts, computed once per text and cached on disk.

A decoder may read each text inside a task prompt and from a chosen layer (`train.prompt`, `train.layer`; see
`w2sg.prompts`): its features are then the hidden state of that layer at the last token of the prompted
text, cached under a key that names the template and the layer. Encoders ignore both options.

On a `steps` task (`know_steps`), a causal decoder read at the last token without a template reads every step
of a solution from one forward pass over the solution (`w2sg.train.step_features`); the features and their
keys are those of the per-text pass.

A long feature pass prints a progress line (texts done, texts/s, ETA) about every 30 s when stderr is not a
terminal (a log file, a notebook, a batch job), where no progress bar is drawn (`Heartbeat`).
"""

from __future__ import annotations

import sys
import time
import warnings
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

import numpy as np
import torch

from w2sg.cache import FeatureStore
from w2sg.config import content_hash
from w2sg.items import Steps, item_texts, kind_of
from w2sg.models.classifier import (
    ENCODER_MODEL_TYPES,
    TextClassifier,
    hidden_size_of,
    layer_last_token,
    load_backbone,
    num_layers_of,
    pooling_for,
)
from w2sg.prompts import KINDS, apply_template, resolve_layer, template_for
from w2sg.train.batching import sorted_inference_batches, tokenize
from w2sg.train.loop import autocast_for, resolve_device
from w2sg.train.step_features import StepIndex, align, causal, read_steps

Progress = Callable[[str, int], Callable[[int], None]]  # (description, total) -> advance(n)


def no_progress(desc: str, total: int) -> Callable[[int], None]:
    return lambda n=1: None


HEARTBEAT_SECONDS = 30.0


def _now() -> float:
    return time.monotonic()


def _duration(seconds: float) -> str:
    s = int(round(seconds))
    return f"{s // 3600}h{s % 3600 // 60:02d}m" if s >= 3600 else f"{s // 60}m{s % 60:02d}s" if s >= 60 else f"{s}s"


class Heartbeat:
    """A progress line on `stream` (default stderr) about every `every` seconds of a pass over `total` texts,
    with the rate and an ETA, and a last line when the pass ends after one was printed; silent when the stream
    is a terminal (a progress bar may be drawn there) and for passes shorter than `every`."""

    def __init__(self, label: str, total: int, stream: TextIO | None = None, every: float = HEARTBEAT_SECONDS,
                 clock: Callable[[], float] | None = None):
        self.label, self.total, self.every = label, total, every
        self.stream = sys.stderr if stream is None else stream
        self.clock = clock or _now
        isatty = getattr(self.stream, "isatty", None)
        self.on = total > 0 and not (isatty is not None and isatty())
        self.t0 = self.last = self.clock()
        self.done, self.printed = 0, False

    def advance(self, n: int) -> None:
        if not self.on:
            return
        self.done += n
        now = self.clock()
        if now - self.last < self.every or self.done >= self.total:
            return
        self.last, rate = now, self.done / max(now - self.t0, 1e-9)
        eta = _duration((self.total - self.done) / rate)
        self._say(f"{self.done}/{self.total} texts, {rate:.1f} texts/s, ETA {eta}")

    def finish(self) -> None:
        if self.on and self.printed:
            took = self.clock() - self.t0
            self._say(f"{self.done} texts in {_duration(took)} ({self.done / max(took, 1e-9):.1f} texts/s)")

    def _say(self, text: str) -> None:
        self.printed = True
        print(f"{self.label}: {text}", file=self.stream, flush=True)


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
        # verbose=False: no "Token indices sequence length is longer than ..." warning: they are truncated
        ids = self.tokenizer()(list(texts), add_special_tokens=True, truncation=False, verbose=False)["input_ids"]
        return sum(len(x) > max_length for x in ids)

    def config(self):
        """The model's HF config (cheap: read from config.json unless the model is loaded already)."""
        if self._loaded is not None:
            return self._loaded[0].config
        from transformers import AutoConfig

        return AutoConfig.from_pretrained(self.path)

    def pooling(self) -> str:
        """'mean' (encoders) or 'last' (decoders), without loading the weights."""
        if self._loaded is not None:
            return self._loaded[2]
        return pooling_for(getattr(self.config(), "model_type", ""), self.arch)

    def fresh(self):
        """A new copy of the pretrained backbone for finetuning (the cached one stays pristine)."""
        import copy

        backbone, tok, pooling = self.get()
        return copy.deepcopy(backbone), tok, pooling


class Featurizer:
    """Frozen features of a model, computed once per text and cached on disk: the pooled last hidden state, or
    for a decoder given a `prompt` or `layer` (see `w2sg.prompts`) the hidden state of that layer at the
    last token of the prompted text. The template may depend on the item kind ('text', or 'comparison' for the
    two texts of a comparison), so each kind has its own store when a template is in use."""

    def __init__(self, backbone: Backbone, identity: str, cache_root, max_length: int, batch_size: int = 64,
                 device: torch.device | None = None, progress: Progress = no_progress, prompt: str = "none",
                 layer: int | str = "last", task: str | None = None):
        self.backbone = backbone
        self.identity = identity
        self.cache_root = cache_root
        self.max_length = max_length
        self.batch_size = batch_size
        self.device = device or resolve_device()
        self.progress = progress
        self.prompt, self.layer = prompt, layer
        # what a decoder reads: the template per kind and the hidden_states index (None: plain features)
        self.templates: dict[str, tuple[str, str | None]] = dict.fromkeys(KINDS, ("none", None))
        self.layer_index: int | None = None
        self.read_layer: int | None = None  # index into hidden_states; None = last_hidden_state
        if prompt != "none" or layer != "last":  # defaults: nothing read from the model, keys as before
            self._decoder_reading(prompt, layer, task)
        self._stores: dict[str, FeatureStore] = {}
        self.key = self.key_for("text")
        self.store = self.store_for("text")
        self.n_computed = 0
        self._beat: Heartbeat | None = None  # the pass in progress (`__call__`), advanced per batch
        # steps of solutions (`know_steps`): prefixes read from one pass over their solution's full text
        self.steps = StepIndex()
        self._steps_sources: set = set()
        self._steps_checked: bool | None = None  # one read compared with the per-text pass: None = not yet
        self.n_step_passes = 0  # forward passes over full texts of solutions
        self.n_step_reads = 0  # prefix features read from them (n_step_reads - n_step_passes passes saved)

    def _decoder_reading(self, prompt: str, layer: int | str, task: str | None) -> None:
        if self.backbone.pooling() != "last":
            return  # encoders: mean pooling of the last layer, the bare text
        n = num_layers_of(self.backbone.config())
        if n is None:
            raise ValueError(f"train.layer: cannot find the number of layers in the config of {self.backbone.path}")
        self.layer_index = resolve_layer(layer, n)
        self.read_layer = None if self.layer_index == n else self.layer_index
        self.templates = {kind: template_for(prompt, kind, task) for kind in KINDS}

    @property
    def plain(self) -> bool:
        """True when the features are the model's default ones (no template, the last layer)."""
        return self.read_layer is None and all(t is None for _, t in self.templates.values())

    def key_for(self, kind: str = "text") -> str:
        if self.plain:
            return content_hash("features", self.identity, self.max_length, "left")
        reading = {"template": self.templates[kind][1], "layer": self.layer_index}
        return content_hash("features", self.identity, self.max_length, "left", reading)

    def store_for(self, kind: str = "text") -> FeatureStore:
        key = self.key_for(kind)
        if key not in self._stores:
            self._stores[key] = FeatureStore(self.cache_root, key)
        return self._stores[key]

    def know_steps(self, steps: Iterable[Steps], source: object = None) -> int:
        """Register solutions cut into steps: each prefix a later call asks for is read from one forward pass
        over its solution's full text where that gives the per-text feature (see `w2sg.train.step_features`).
        `source` (e.g. a task's fingerprint) registered once: a second call with it does nothing. Returns how
        many (prefix, solution) pairs were new."""
        if source is not None:
            if source in self._steps_sources:
                return 0
            self._steps_sources.add(source)
        return self.steps.add(steps)

    def _steps_apply(self, kind: str) -> bool:
        """Whether prefixes can be read from their solution's pass: a causal decoder read at the last token of
        the bare text (a template wraps each text: a prefix is no longer a prefix of the wrapped full text)."""
        if not len(self.steps) or kind != "text" or self.templates[kind][1] is not None:
            return False
        if self._steps_checked is False or self.backbone.pooling() != "last":
            return False
        return getattr(self.backbone.config(), "model_type", "") not in ENCODER_MODEL_TYPES

    def _step_features(self, todo: list[str], kind: str) -> dict[str, np.ndarray]:
        """Features of the registered prefixes among `todo`, read from one pass per solution; the rest (and
        prefixes whose tokens do not line up) are left to the per-text pass."""
        backbone, tok, _ = self.backbone.get()
        reads = align(tok, self.steps.plan(todo), self.max_length)
        if not reads.fulls:
            return {}
        model = backbone.to(self.device).eval()
        if self._steps_checked is None:  # once, in float32: the earliest read before its solution's end is causal
            early = [(pos, i) for i, r in enumerate(reads.reads) for _, pos in r if pos < len(reads.ids[i]) - 1]
            if early:
                pos, i = min(early)
                self._steps_checked = causal(model, reads.ids[i], pos, self.read_layer, self.device)
                if not self._steps_checked:
                    warnings.warn(f"{self.backbone.path}: the feature of a step read from its solution's pass "
                                  "differs from the step's own (not a causal decoder?): every step is read "
                                  "alone", stacklevel=3)
                    return {}
        out = read_steps(model, reads, int(tok.pad_token_id), self.read_layer, self.batch_size, self.device,
                         advance=self._beat.advance if self._beat is not None else None)
        self.n_step_passes += len(reads.fulls)
        self.n_step_reads += reads.n_reads
        return out

    def __call__(self, texts: list[str], kind: str = "text") -> torch.Tensor:
        """Features of `texts`; `kind` 'comparison' for the texts of comparisons (prompt + response)."""
        store = self.store_for(kind)
        todo = store.missing(texts)
        missing = len(todo)
        advance = self.progress("features", missing) if missing else None
        self._beat = Heartbeat(f"features of {Path(str(self.backbone.path)).name}", missing)
        try:
            stepped = self._step_features(todo, kind) if todo and self._steps_apply(kind) else {}
            embed = (lambda batch: self._embed_or_read(batch, kind, stepped)) if stepped \
                else (lambda batch: self._embed(batch, kind))
            feats, n_new = store.get(texts, embed, on_chunk=advance)
            self._beat.finish()
        finally:
            self._beat = None
        self.n_computed += n_new
        return torch.from_numpy(np.ascontiguousarray(feats))

    def _embed_or_read(self, texts: list[str], kind: str, read: dict[str, np.ndarray]) -> np.ndarray:
        """Features of `texts`: those in `read` (read from their solution's pass), the others embedded."""
        rest = [t for t in texts if t not in read]
        done = dict(zip(rest, self._embed(rest, kind), strict=True)) if rest else {}
        return np.stack([read[t] if t in read else done[t] for t in texts])

    def _embed(self, texts: list[str], kind: str = "text") -> np.ndarray:
        backbone, tok, pooling = self.backbone.get()
        if self.plain:
            model = TextClassifier(backbone, hidden_size_of(backbone), pooling).to(self.device).eval()
            features = model.features
        else:
            texts = apply_template(self.templates[kind][1], texts)
            model = backbone.to(self.device).eval()
            features = lambda **b: layer_last_token(model, b["input_ids"], b["attention_mask"],  # noqa: E731
                                                    self.read_layer)
        rows = tokenize(tok, texts, self.max_length)  # left truncation keeps the prompt's question at the end
        out = np.empty((len(rows), hidden_size_of(backbone)), dtype=np.float32)
        with torch.inference_mode():
            for idx in sorted_inference_batches(rows.lengths, self.batch_size):
                batch = {k: v.to(self.device) for k, v in rows.collate(idx).items()}
                with autocast_for(self.device):
                    out[idx] = features(**batch).float().cpu().numpy()
                if self._beat is not None:
                    self._beat.advance(len(idx))
        return out


def item_features(featurizer: Callable[[list[str]], torch.Tensor], items) -> tuple[str, torch.Tensor]:
    """(kind, features) of items: a text's features, or a comparison's feature difference phi(a) - phi(b)
    (float32, so that swapping a and b negates it exactly). Both texts of a comparison go through the
    featurizer's cache like any other text."""
    items = list(items)
    kind = kind_of(items)
    if kind == "text":
        return kind, featurizer(items)
    both = featurizer(item_texts(items), kind="comparison") if isinstance(featurizer, Featurizer) \
        else featurizer(item_texts(items))
    return kind, (both[0::2] - both[1::2]).contiguous()
