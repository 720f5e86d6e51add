"""Extractive debate's evidence: a passage's sentences, quotes by index, and the four protocols.

A debater's move is a choice of sentences of the passage, by index: a quote is checked against the passage
(`Transcript.quote`), so it can never be forged or invented. One side argues that the row's candidate answer is
right ("pro"), the other that it is wrong ("con"). The protocols say what the judge reads beside the question
and the candidate (Irving et al. 2018; Michael et al. 2023; Khan et al. 2024; Kenton et al. 2024):

- `blind`: nothing (question + answer only: how much the judge knows without evidence);
- `consultancy`: one side's quotes only, the side drawn at random per row (half the time it argues the wrong
  answer);
- `debate`: both sides, alternating turns (who opens drawn at random per row), no sentence quoted twice;
- `full`: every sentence of the passage (the judge's own ceiling: its reading budget lifted).

`turns` turns per side, `quotes` sentences per turn. Which side lies (argues against ground truth) is known
only from the label, after the fact: the liar's win rate is computed by `liar_wins`, never by a debater.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

PROTOCOLS = ("blind", "consultancy", "debate", "full")
PRO, CON = 1, -1
_SPLIT = re.compile(r"(?<=[.!?])[\"')\]]*\s+|\n+")


def sentences(context: str) -> list[str]:
    """The passage split into sentences (after . ! ? and at line breaks), blank pieces dropped; a passage with
    no break is one sentence. Deterministic: the indices debaters quote refer to this list."""
    parts = [p.strip() for p in _SPLIT.split(context or "")]
    return [p for p in parts if p]


@dataclass
class Transcript:
    """The quotes of one row's exchange: sentence indices per side, in the order they were quoted."""

    n_sentences: int
    pro: list[int] = field(default_factory=list)
    con: list[int] = field(default_factory=list)

    def quote(self, side: int, index: object) -> None:
        """Add sentence `index` to `side`'s quotes; an index outside the passage, a sentence already quoted or
        anything but an index (e.g. a text) is refused: quotes cannot be forged."""
        if isinstance(index, bool) or not isinstance(index, (int, np.integer)):
            raise TypeError(f"a quote is a sentence index of the passage, got {type(index).__name__} {index!r}")
        i = int(index)
        if not 0 <= i < self.n_sentences:
            raise ValueError(f"sentence {i} is not in the passage (it has {self.n_sentences} sentences)")
        if i in self.pro or i in self.con:
            raise ValueError(f"sentence {i} was already quoted: no sentence twice")
        (self.pro if side == PRO else self.con).append(i)

    @property
    def used(self) -> set[int]:
        return set(self.pro) | set(self.con)

    def as_lists(self) -> list[list[int]]:
        return [list(self.pro), list(self.con)]


# a debater: (row index, side, transcript so far, how many to quote) -> sentence indices, best first
Debater = Callable[[int, int, Transcript, int], Sequence[int]]


def exchange(n_sentences: Sequence[int], protocol: str, debater: Debater | None, turns: int, quotes: int,
             seed: int) -> tuple[list[Transcript], np.ndarray]:
    """Each row's transcript under `protocol`, and the side that speaks per row (consultancy: the consultant's
    side; debate: the side that opens; blind / full: 0). Sides are drawn from `seed` per row; `debater` is asked
    for each turn's quotes and every one is checked (`Transcript.quote`)."""
    if protocol not in PROTOCOLS:
        raise ValueError(f"unknown protocol {protocol!r}; known: {', '.join(PROTOCOLS)}")
    if debater is None and protocol in ("consultancy", "debate"):
        raise ValueError(f"protocol {protocol} needs a debater")
    rng = np.random.default_rng([seed, 2417])
    first = np.where(rng.random(len(n_sentences)) < 0.5, PRO, CON)
    out = []
    for row, n in enumerate(n_sentences):
        t = Transcript(int(n))
        if protocol == "full":
            t.pro = list(range(int(n)))
        elif protocol in ("consultancy", "debate"):
            order = [first[row]] if protocol == "consultancy" else [first[row], -first[row]]
            for _ in range(turns):
                for side in order:
                    room = int(n) - len(t.used)
                    if room <= 0:
                        break
                    picks = list(debater(row, int(side), t, min(quotes, room)))[:min(quotes, room)]
                    for i in picks:
                        t.quote(int(side), i)
        out.append(t)
    speaker = first if protocol in ("consultancy", "debate") else np.zeros(len(n_sentences), dtype=int)
    return out, speaker


def believed(judge_p: np.ndarray, questions: Sequence[str] | None = None) -> np.ndarray:
    """Per row, whether the judge accepts its candidate: P > 0.5, or, when `questions` groups the candidates of
    multiple-choice questions, whether the candidate has the highest P of its question (the judge's answer; a
    row-wise threshold says little when a question has one right candidate in four)."""
    p = np.asarray(judge_p, dtype=np.float64)
    if questions is None:
        return p > 0.5
    _, q = np.unique(np.asarray(questions), return_inverse=True)
    best = np.full(q.max() + 1 if q.size else 0, -np.inf)
    np.maximum.at(best, q, p)
    first = np.zeros(len(p), dtype=bool)  # ties: the first candidate of the question with the top P
    seen: set[int] = set()
    for i in range(len(p)):
        if p[i] == best[q[i]] and q[i] not in seen:
            first[i] = True
            seen.add(int(q[i]))
    return first


def liar_wins(accepted: np.ndarray, labels: np.ndarray, protocol: str, speaker: np.ndarray) -> np.ndarray | None:
    """Per row: 1.0 when the side arguing against ground truth convinced the judge (`accepted`: the judge accepts
    the row's candidate, `believed`), 0.0 when it did not, NaN when no liar spoke (consultancy with an honest
    consultant); None for protocols without sides (blind, full). In debate one side always lies, so the liar
    wins exactly where the judge errs."""
    if protocol not in ("consultancy", "debate"):
        return None
    y = np.asarray(labels).astype(int)
    liar_side = np.where(y == 1, CON, PRO)
    verdict = np.where(np.asarray(accepted, dtype=bool), PRO, CON)
    won = (verdict == liar_side).astype(float)
    if protocol == "consultancy":
        won[np.asarray(speaker) != liar_side] = np.nan
    return won
