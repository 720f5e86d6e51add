"""Frozen features of every step of a solution from one forward pass of a causal decoder.

A `steps` task has one row per (solution, step): the row's text is the problem and the solution's first k steps,
a string prefix of the solution's full text. In a causal decoder the hidden state at a position depends only on
the tokens up to it, so the feature of every prefix (the hidden state at its last token) can be read from one
forward pass over the full text, instead of one pass per prefix: n steps cost one pass, not n.

The read is exact only where the prefix's own token ids (as the per-text pass tokenizes it, special tokens
included) are the first ids of the full text's: a tokenizer that merges across the step boundary, appends a
special token (EOS) at the end, or a full text longer than max_length (left truncation shifts every position)
break that, and such a prefix goes through the ordinary per-text pass. Nothing here is part of a cache key: a
feature read this way is the per-text feature, up to floating-point noise of a different batch.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

import numpy as np
import torch

from w2sg.items import Steps
from w2sg.train.batching import TokenizedTexts, sorted_inference_batches
from w2sg.train.loop import autocast_for


class StepIndex:
    """Which texts are prefixes of which solutions: prefix text -> the full texts of the solutions it begins
    (several when solutions share their first steps; any of them gives the same feature)."""

    def __init__(self) -> None:
        self._fulls: dict[str, list[str]] = {}

    def add(self, steps: Iterable[Steps]) -> int:
        """Register every prefix of each solution; returns how many (prefix, solution) pairs were new."""
        n = 0
        for s in steps:
            full = s.full
            for p in s.prefixes():
                fulls = self._fulls.setdefault(p, [])
                if full not in fulls:
                    fulls.append(full)
                    n += 1
        return n

    def __len__(self) -> int:
        return len(self._fulls)

    def __contains__(self, text: object) -> bool:
        return text in self._fulls

    def plan(self, texts: Iterable[str]) -> dict[str, list[str]]:
        """The registered `texts` grouped by the full text to read them from (full -> prefixes), with few full
        texts: the longest prefixes choose first (their longest solution), and a shorter prefix reuses a
        solution already chosen when it begins it."""
        chosen: dict[str, list[str]] = {}
        for t in sorted({t for t in texts if t in self._fulls}, key=len, reverse=True):
            fulls = self._fulls[t]
            full = next((f for f in fulls if f in chosen), None) or max(fulls, key=len)
            chosen.setdefault(full, []).append(t)
        return chosen


@dataclass
class StepReads:
    """Full texts to run (their token ids) and, per full text, the (prefix, position of its last token) to
    read; `fallback` holds the prefixes whose tokens do not line up with their full text's."""

    fulls: list[str]
    ids: list[list[int]]
    reads: list[list[tuple[str, int]]]
    fallback: list[str]

    @property
    def n_reads(self) -> int:
        return sum(len(r) for r in self.reads)


def _ids(tokenizer, texts: list[str]) -> list[list[int]]:
    if not texts:
        return []
    # as `batching.tokenize` does (special tokens included), untruncated: a longer text is a fallback here
    return [list(x) for x in tokenizer(list(texts), add_special_tokens=True, truncation=False,
                                       verbose=False)["input_ids"]]


def align(tokenizer, plan: dict[str, list[str]], max_length: int) -> StepReads:
    """Where each planned prefix ends in its full text's tokens: position len(prefix ids) - 1 when the prefix's
    ids are the first ids of the full text's and the full text fits max_length; otherwise a fallback."""
    fulls = list(plan)
    full_ids = _ids(tokenizer, fulls)
    prefixes = [p for f in fulls for p in plan[f]]
    prefix_ids = iter(_ids(tokenizer, prefixes))
    out = StepReads([], [], [], [])
    for full, fids in zip(fulls, full_ids, strict=True):
        reads = []
        for p in plan[full]:
            pids = next(prefix_ids)
            if len(fids) <= max_length and 0 < len(pids) <= len(fids) and fids[: len(pids)] == pids:
                reads.append((p, len(pids) - 1))
            else:
                out.fallback.append(p)
        if reads:
            out.fulls.append(full)
            out.ids.append(fids)
            out.reads.append(reads)
    return out


def read_steps(model: torch.nn.Module, reads: StepReads, pad_id: int, layer: int | None, batch_size: int,
               device: torch.device, advance: Callable[[int], None] | None = None) -> dict[str, np.ndarray]:
    """One forward pass per full text (length-sorted batches, right padding, as the per-text pass): the hidden
    state of `layer` (None: last_hidden_state) at each read position, by prefix text."""
    rows = TokenizedTexts(input_ids=reads.ids, pad_id=pad_id)
    out: dict[str, np.ndarray] = {}
    with torch.inference_mode():
        for idx in sorted_inference_batches(rows.lengths, batch_size):
            batch = {k: v.to(device) for k, v in rows.collate(idx).items()}
            with autocast_for(device):
                if layer is None:
                    hidden = model(**batch).last_hidden_state
                else:
                    hidden = model(**batch, output_hidden_states=True).hidden_states[layer]
            which = [(row, text, pos) for row, i in enumerate(idx) for text, pos in reads.reads[i]]
            r = torch.tensor([w[0] for w in which], device=hidden.device)
            c = torch.tensor([w[2] for w in which], device=hidden.device)
            feats = hidden[r, c].float().cpu().numpy()
            out.update((w[1], feats[j]) for j, w in enumerate(which))
            if advance is not None:
                advance(len(which))
    return out


def _hidden(model: torch.nn.Module, ids: list[int], layer: int | None, device: torch.device) -> torch.Tensor:
    x = torch.tensor([ids], device=device)
    out = model(input_ids=x, attention_mask=torch.ones_like(x), output_hidden_states=layer is not None)
    return (out.last_hidden_state if layer is None else out.hidden_states[layer])[0]


def causal(model: torch.nn.Module, ids: list[int], pos: int, layer: int | None, device: torch.device,
           rtol: float = 1e-3) -> bool:
    """Whether the hidden state at `pos` of a pass over `ids` is that of a pass over ids[:pos + 1] alone (each
    text alone, float32, no autocast: only rounding differs, ~1e-6). A bidirectional model, whose state at `pos`
    depends on the tokens after it, differs by far more (0.2% to 0.7% even for a tiny random BERT)."""
    with torch.inference_mode():
        a = _hidden(model, ids, layer, device)[pos].float().cpu().numpy()
        b = _hidden(model, ids[: pos + 1], layer, device)[pos].float().cpu().numpy()
    return bool(np.linalg.norm(a - b) <= rtol * np.linalg.norm(b) + 1e-6)


__all__ = ["StepIndex", "StepReads", "align", "causal", "read_steps"]
