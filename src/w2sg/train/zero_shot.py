"""Zero-shot elicitation: what a causal LM answers to the task's question, with no labels and no training.

Each text is read inside a task prompt that ends with "Answer:" (`w2sg.prompts`; `prompt` resolves as
`train.prompt` does, "none" excepted: a bare text asks nothing). At the last real token of the prompted text the
model's next-token logits of the two answer words give

    P(yes) = softmax(l_yes, l_no)[0] = sigma(lo),   lo = l_yes - l_no (the yes-log-odds).

Only the two logits count; the share of the next-token probability the model puts on either answer is recorded
(`answer_mass`), not used. An answer word is read as " Yes" (with the space that follows "Answer:") when that is
one token of the model's tokenizer, else as "Yes" (likewise "No"); a tokenizer with neither as one token is an
error naming the model. A comparison (pairwise task) gets P(a > b) = sigma(lo(a) - lo(b)) from its two prompted
sides, so swapping a and b gives exactly 1 - P (float32).

Inputs longer than max_length tokens lose their beginning (left truncation keeps the question and "Answer:").
Batches are right-padded and each row is read at its last real token (the attention mask), so padding changes
nothing. With a cache root, each text's (lo, log answer mass) is stored once per (model identity, template,
max_length) in a `FeatureStore` (a 2-column "feature"): a text is never run through the model twice.

Used by the `zero_shot` supervisor (a weak LM's answers are the weak labels) and the `zero_shot` method (the
strong LM's own answers: elicitation without supervision, beside PGR).
"""

from __future__ import annotations

import json
from collections import OrderedDict
from pathlib import Path
from typing import Annotated

import numpy as np
import torch
from pydantic import AfterValidator, Field

from w2sg.cache import FeatureStore
from w2sg.config import content_hash
from w2sg.items import Item, item_texts, kind_of
from w2sg.models.classifier import last_token, pooling_for
from w2sg.prompts import apply_template, check_prompt, template_for
from w2sg.train.batching import sorted_inference_batches, tokenize
from w2sg.train.featurizer import Backbone, Progress, no_progress
from w2sg.train.loop import autocast_for, resolve_device

NEEDS_DECODER = "zero-shot elicitation needs a causal LM (a decoder rung such as smollm2-135m or qwen2.5-coder-0.5b)"
ANSWERS = ("Yes", "No")
KEEP_LOADED = 2  # causal LMs kept in memory per process (the weak and the strong one of a sweep)
_LOADED: OrderedDict[tuple, tuple] = OrderedDict()


def check_zero_shot_prompt(prompt: str) -> str:
    """`prompt` if it asks a question ('auto', a template name or a template with '{text}'); else ValueError."""
    check_prompt(prompt)
    if prompt == "none":
        raise ValueError("prompt 'none' reads the bare text, which asks no question: zero-shot elicitation needs "
                         "a template ending in 'Answer:' ('auto', a template name or a template with '{text}')")
    return prompt


# the `prompt` option of the zero_shot method and supervisor: checked by check_zero_shot_prompt
ZeroShotPrompt = Annotated[str, AfterValidator(check_zero_shot_prompt), Field(
    description="the question each text is read in, as train.prompt: 'auto' (the task's template, else the "
    "generic one of the item kind), a template name or a template with '{text}' ending in 'Answer:'; not 'none'")]


def resolve_template(prompt: str, kind: str = "text", task: str | None = None) -> tuple[str, str]:
    """(name, template) that a zero-shot `prompt` means for items of `kind` ('text' | 'comparison')."""
    check_zero_shot_prompt(prompt)
    return template_for(prompt, kind, task)


def decoder_problem(model: str) -> str | None:
    """Why `model` cannot answer zero-shot, from what is known without loading it (the zoo's recipe, a local
    config.json); None when it looks like a decoder or cannot be told yet (a Hub id: checked when loaded)."""
    from w2sg.models.zoo import CLASSIC, MODELS

    key = model.strip().lower()
    if key in CLASSIC:
        return f"model '{model}' is a classic rung without a language model: {NEEDS_DECODER}"
    if key in MODELS:
        arch = MODELS[key].arch
        return None if arch == "decoder" else f"model '{model}' is an {arch}: {NEEDS_DECODER}"
    try:
        model_type = json.loads((Path(model).expanduser() / "config.json").read_text(encoding="utf-8"))["model_type"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return None if pooling_for(str(model_type)) == "last" else \
        f"model '{model}' is an encoder ({model_type}): {NEEDS_DECODER}"


def answer_tokens(tokenizer, name: str) -> tuple[tuple[int, int], tuple[str, str]]:
    """((yes_id, no_id), (yes_word, no_word)): per answer, " Word" if it is one token, else "Word"."""
    ids, words = [], []
    for word in ANSWERS:
        for variant in (" " + word, word):
            toks = tokenizer(variant, add_special_tokens=False)["input_ids"]
            if len(toks) == 1 and toks[0] != tokenizer.unk_token_id:
                ids.append(int(toks[0]))
                words.append(variant)
                break
        else:
            raise ValueError(f"model '{name}': neither {' ' + word!r} nor {word!r} is a single token of its "
                             "tokenizer, so its next-token logits cannot answer yes/no; zero-shot elicitation "
                             "needs a tokenizer with ' Yes'/' No' (or 'Yes'/'No') as single tokens")
    if ids[0] == ids[1]:
        raise ValueError(f"model '{name}': its tokenizer gives {words[0]!r} and {words[1]!r} the same token id")
    return (ids[0], ids[1]), (words[0], words[1])


def load_causal_lm(path: str, arch: str = "auto", name: str | None = None):
    """(model in eval mode, tokenizer with a pad token, answer ids, answer words) of a causal-LM checkpoint;
    ValueError for an encoder, a checkpoint without its LM head or a tokenizer without the answer tokens."""
    from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer

    name = name or path
    model_type = "" if arch == "classic" else getattr(AutoConfig.from_pretrained(path), "model_type", "")
    if arch == "classic" or pooling_for(model_type, arch) != "last":
        raise ValueError(f"{NEEDS_DECODER}; model '{name}' is an encoder ({model_type or arch})")
    tok = AutoTokenizer.from_pretrained(path)
    ids, words = answer_tokens(tok, name)  # before the weights: fail fast
    try:
        model, info = AutoModelForCausalLM.from_pretrained(path, dtype=torch.float32, output_loading_info=True)
    except ValueError as e:
        raise ValueError(f"{NEEDS_DECODER}; model '{name}' ({model_type}) has no causal-LM class: {e}") from None
    head = model.get_output_embeddings()
    prefixes = tuple(f"{n}." for n, m in model.named_modules() if head is not None and m is head)
    missing = sorted(k for k in info.get("missing_keys", ()) if k.startswith(prefixes))
    if missing:
        raise ValueError(f"model '{name}': its checkpoint has no LM head weights ({', '.join(missing)}), so its "
                         f"answers would be random; {NEEDS_DECODER} saved with its LM head")
    if tok.pad_token_id is None:
        tok.pad_token = tok.eos_token
    return model.eval(), tok, ids, words


def _loaded(path: str, arch: str, name: str, device: torch.device):
    """load_causal_lm, memoised per process (the KEEP_LOADED most recent models), on `device`."""
    key = (path, arch, str(device))
    if key not in _LOADED:
        model, tok, ids, words = load_causal_lm(path, arch, name)
        _LOADED[key] = (model.to(device), tok, ids, words)
        while len(_LOADED) > KEEP_LOADED:
            _LOADED.popitem(last=False)
    _LOADED.move_to_end(key)
    return _LOADED[key]


def next_token_logits(model, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
    """The logits (rows x vocab) of the token after each row's last real token (right or left padding).

    Only those positions reach the output projection: a pre-hook on it keeps the last real token's hidden
    state, so no (rows x length x vocab) tensor is built, and whatever the model does after the projection
    (logit scaling or soft-capping) still applies. A model that bypasses its output module gets the full
    logits, read at the same positions."""
    rows = torch.arange(input_ids.shape[0], device=input_ids.device)
    positions = torch.arange(attention_mask.shape[1], device=attention_mask.device).expand_as(attention_mask)
    last = torch.where(attention_mask.bool(), positions, -1).max(dim=1).values.clamp_min(0)
    picked = []

    def keep_last(module, args):
        h = args[0]
        if h.dim() == 3 and h.shape[:2] == input_ids.shape:
            picked.append(True)
            return (last_token(h, attention_mask).unsqueeze(1), *args[1:])
        return None

    head = model.get_output_embeddings()
    handle = head.register_forward_pre_hook(keep_last) if head is not None else None
    try:
        logits = model(input_ids=input_ids, attention_mask=attention_mask, use_cache=False).logits
    finally:
        if handle is not None:
            handle.remove()
    if picked:
        return logits[:, -1]
    if logits.shape[1] != input_ids.shape[1]:
        raise RuntimeError(f"{type(model).__name__} returned logits for {logits.shape[1]} of {input_ids.shape[1]} "
                           "positions, so the last real token's cannot be read")
    return logits[rows, last]


def stable_sigmoid(x: np.ndarray) -> np.ndarray:
    """sigma(x) in float32 with sigma(-x) == 1 - sigma(x) exactly (1 - s is exact for s in [0.5, 1])."""
    x = np.asarray(x, dtype=np.float32)
    s = (1.0 / (1.0 + np.exp(-np.abs(x.astype(np.float64))))).astype(np.float32)
    return np.where(x >= 0, s, np.float32(1.0) - s).astype(np.float32)


class ZeroShotLM:
    """A pretrained causal LM as a yes/no classifier of items; loaded only when a text is not cached yet.

    `source` is a model directory (or Hub id) or a `Backbone` (its `path` is read: a backbone adapted in memory
    is not). `identity` names the model in cache keys (default: its zoo identity); `task` picks the template of
    prompt "auto" (`prompts.TASK_TEMPLATES`)."""

    def __init__(self, source: str | Path | Backbone, *, arch: str = "auto", identity: str | None = None,
                 cache_root: str | Path | None = None, max_length: int = 256, batch_size: int = 64,
                 device: torch.device | str | None = None, task: str | None = None, name: str | None = None,
                 progress: Progress = no_progress):
        self.path, self.arch = (source.path, source.arch) if isinstance(source, Backbone) else (str(source), arch)
        self.name = name or self.path
        self._identity = identity
        self.cache_root = cache_root
        self.max_length, self.batch_size = max_length, batch_size
        self.device = device if isinstance(device, torch.device) else resolve_device(device or "auto")
        self.task = task
        self.progress = progress
        self._stores: dict[str, FeatureStore] = {}
        self._words: tuple[str, str] | None = None
        self._tokenizer = None
        self.n_computed = 0  # texts run through the model by this scorer
        self._mass = [0.0, 0]  # sum and count of the answer mass of the items predicted

    @property
    def identity(self) -> str:
        if self._identity is None:
            from w2sg.models.zoo import resolve

            self._identity = resolve(self.path).identity
        return self._identity

    def template(self, prompt: str, kind: str = "text") -> tuple[str, str]:
        """(name, template) that `prompt` means for items of `kind` under this scorer's task."""
        return resolve_template(prompt, kind, self.task)

    def tokenizer(self):
        if self._tokenizer is None:
            from transformers import AutoTokenizer

            self._tokenizer = AutoTokenizer.from_pretrained(self.path)
        return self._tokenizer

    @property
    def answer_words(self) -> tuple[str, str]:
        if self._words is None:
            self._words = answer_tokens(self.tokenizer(), self.name)[1]
        return self._words

    @property
    def answer_mass(self) -> float | None:
        """Mean P(" Yes") + P(" No") under the full next-token distribution, over the items predicted so far."""
        return float(f"{self._mass[0] / self._mass[1]:.4g}") if self._mass[1] else None

    def count_truncated(self, texts: list[str], template: str) -> int:
        # verbose=False: no "Token indices sequence length is longer than ..." warning: they are truncated
        ids = self.tokenizer()(apply_template(template, list(texts)), add_special_tokens=True, truncation=False,
                               verbose=False)["input_ids"]
        return sum(len(x) > self.max_length for x in ids)

    def _compute(self, texts: list[str], template: str) -> np.ndarray:
        model, tok, (yes, no), _ = _loaded(self.path, self.arch, self.name, self.device)
        rows = tokenize(tok, apply_template(template, texts), self.max_length)  # left truncation
        out = np.empty((len(rows), 2), dtype=np.float32)
        with torch.inference_mode():
            for idx in sorted_inference_batches(rows.lengths, self.batch_size):
                batch = {k: v.to(self.device) for k, v in rows.collate(idx).items()}
                with autocast_for(self.device):
                    logits = next_token_logits(model, batch["input_ids"], batch["attention_mask"]).float()
                pair = logits[:, [yes, no]]
                mass = torch.logsumexp(pair, -1) - torch.logsumexp(logits, -1)
                out[idx] = torch.stack([pair[:, 0] - pair[:, 1], mass], -1).cpu().numpy()
        self.n_computed += len(texts)
        return out

    def scores(self, texts: list[str], template: str) -> np.ndarray:
        """(rows x 2) float32: each text's yes-log-odds lo and log answer mass, through the cache if any."""
        texts = list(texts)
        if not texts:
            return np.zeros((0, 2), dtype=np.float32)
        if self.cache_root is None:
            return self._compute(texts, template)
        key = content_hash("zero-shot", self.identity, template, self.max_length, "left", ANSWERS)
        store = self._stores.setdefault(key, FeatureStore(self.cache_root, key))
        missing = len(store.missing(texts))
        advance = self.progress("zero-shot", missing) if missing else None
        out, _ = store.get(texts, lambda part: self._compute(part, template), on_chunk=advance)
        return np.ascontiguousarray(out, dtype=np.float32)

    def answer(self, items: list[Item], prompt: str = "auto") -> tuple[np.ndarray, np.ndarray]:
        """(P(item positive), answer mass per item): P(yes) of a text, P(a > b) = sigma(lo(a) - lo(b)) of a
        comparison (its mass: the mean of its two sides')."""
        items = list(items)
        kind = kind_of(items)
        _, template = self.template(prompt, kind)
        both = self.scores(items if kind == "text" else item_texts(items), template)
        mass = np.exp(both[:, 1].astype(np.float64))
        self._mass = [self._mass[0] + float(mass.sum()), self._mass[1] + len(mass)]
        if kind == "text":
            return stable_sigmoid(both[:, 0]), mass
        return stable_sigmoid(both[0::2, 0] - both[1::2, 0]), (mass[0::2] + mass[1::2]) / 2

    def predict(self, items: list[Item], prompt: str = "auto") -> np.ndarray:
        """P(item positive) (see `answer`)."""
        return self.answer(items, prompt)[0]


def zero_shot_p(model_dir_or_backbone: str | Path | Backbone, texts: list[Item], template: str = "auto",
                max_length: int = 256, batch_size: int = 64, device: torch.device | str | None = None, *,
                cache_root: str | Path | None = None, identity: str | None = None,
                task: str | None = None) -> np.ndarray:
    """P(yes) of each text (P(a > b) of each comparison) under a causal LM, zero-shot (see the module doc).
    `template`: 'auto', a template name or a template with '{text}'."""
    lm = ZeroShotLM(model_dir_or_backbone, identity=identity, cache_root=cache_root, max_length=max_length,
                    batch_size=batch_size, device=device, task=task)
    return lm.predict(list(texts), template)
