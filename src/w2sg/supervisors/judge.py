"""The weak judge of extractive debate: a linear head on what it reads, trained on A's ground truth.

A linear head on the embedding of one concatenated string cannot use quotes well (the passage drowns the claim),
so the judge reads *relations* between the claim (question + candidate answer) and each quoted sentence, in its
own model's frozen features (MiniLM and MPNet are trained for sentence similarity):

    x = [ c,  c * mean(S_pro),  c * mean(S_con),  stats(pro),  stats(con) ]

where c is the claim's unit-norm embedding, S_side the unit-norm embeddings of a side's quotes and
stats = (max cosine to c, mean cosine to c, max share of the answer's words in a quote, max share of the claim's
words (question + answer) in a quote, max share of another candidate's words in a quote, 1 if the side quoted
anything). The word shares let even a weak judge check that a quote states the answer about the question's
subject. Blind reads c alone (the rest is zero); full puts
every sentence on the pro side. The head is the converged L2-regularised logistic regression of frozen mode
(`train/convex.py`), its L2 chosen by group-aware CV on the judge's own training rows (A, ground truth).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from w2sg.items import Passage
from w2sg.supervisors.debaters import words
from w2sg.train.convex import choose_l2, solve_head, standardise

_STOP = frozenset("the a an of to in on and or is are was were be by for with at as it its that this not no "
                  "yes".split())
N_STATS = 6


def content_words(text: str) -> set[str]:
    return {w for w in words(text) if w not in _STOP}


def unit(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    return x / np.maximum(np.linalg.norm(x, axis=-1, keepdims=True), 1e-12)


@dataclass
class Reading:
    """What the judge can read of one row: the claim's and the sentences' unit-norm features, and per sentence
    the share of the answer's, the claim's and the best other candidate's content words it contains."""

    claim: np.ndarray
    sents: np.ndarray
    own_overlap: np.ndarray
    claim_overlap: np.ndarray
    alt_overlap: np.ndarray

    @classmethod
    def of(cls, passage: Passage, sents: list[str], claim_vec: np.ndarray, sent_vecs: np.ndarray) -> Reading:
        own, claim = content_words(passage.answer), content_words(passage.claim)
        alts = [content_words(a) for a in passage.alternatives]
        sw = [content_words(s) for s in sents]

        def share(ws: set[str], s: set[str]) -> float:
            return len(ws & s) / len(ws) if ws else 0.0

        return cls(unit(claim_vec), unit(sent_vecs).reshape(len(sents), -1),
                   np.array([share(own, s) for s in sw]), np.array([share(claim, s) for s in sw]),
                   np.array([max((share(a, s) for a in alts), default=0.0) for s in sw]))

    def features(self, pro: list[int], con: list[int]) -> np.ndarray:
        c = self.claim
        parts = [c]
        stats = []
        for idx in (pro, con):
            if not idx:
                parts.append(np.zeros_like(c))
                stats += [0.0] * N_STATS
                continue
            s = self.sents[idx]
            cos = s @ c
            parts.append(c * s.mean(0))
            stats += [float(cos.max()), float(cos.mean()), float(self.own_overlap[idx].max()),
                      float(self.claim_overlap[idx].max()), float(self.alt_overlap[idx].max()), 1.0]
        return np.concatenate([*parts, np.asarray(stats)])


class JudgeHead:
    """Standardised features -> converged logistic head; L2 by group-aware CV on the training rows."""

    def fit(self, x: np.ndarray, y: np.ndarray, groups: np.ndarray | None, seed: int) -> JudgeHead:
        x = np.asarray(x, dtype=np.float64)
        self.mu, self.sd = standardise(x)
        z = (x - self.mu) / self.sd
        self.l2, self.cv = choose_l2(z, np.asarray(y, dtype=np.float64), groups=groups, seed=seed)
        sol = solve_head(z, np.asarray(y, dtype=np.float64), self.l2)
        self.w, self.b, self.converged = sol.w, sol.b, sol.converged
        return self

    def logit(self, x: np.ndarray) -> np.ndarray:
        z = (np.atleast_2d(np.asarray(x, dtype=np.float64)) - self.mu) / self.sd
        return z @ self.w + self.b

    def predict(self, x: np.ndarray) -> np.ndarray:
        return (1.0 / (1.0 + np.exp(-self.logit(x)))).astype(np.float32)
