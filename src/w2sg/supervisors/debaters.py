"""Debater policies of extractive debate: which sentences a side quotes.

Every policy but `random` and `adversarial` scores each sentence's *support* for the row's candidate answer
over the question's other candidates,

    support(s) = f(s, question + answer) - max_alt f(s, question + alt)

(with no other candidates, e.g. one plausibility judgement per candidate: f(s, question + answer) minus its mean
over the passage). The pro side quotes the unused sentences of highest support, the con side those of lowest.
`f` is the policy's relevance:

- `bm25`: BM25 (`rank_bm25.BM25Okapi` over the passage's sentences) of the question + answer words;
- `embed`: cosine of the sentence and the question + answer in a ladder model's frozen features;
- `lm`: a decoder's yes-log-odds that the answer is right given the sentence and the question (the zero-shot
  verifier of `train/zero_shot.py`, cached per text) - the issue's log p(answer | question, sentence) read as
  a yes/no verdict, so the same cached scorer serves every decoder of the ladder;
- `random`: independent uniform scores per side (a baseline: quotes carry no argument);
- `adversarial`: no fixed score: each quote is the unused sentence that moves a given judge most towards its
  side (`supervisors/judge.py`), i.e. how manipulable that judge is.

`temperature` > 0 adds Gumbel noise of that scale to the per-row standardised scores, so that debates with
different seeds differ (the members of a debate ensemble); 0 is greedy.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

import numpy as np

from w2sg.items import Passage
from w2sg.supervisors.evidence import PRO, Debater, Transcript

POLICIES = ("random", "bm25", "embed", "lm", "adversarial")
LM_TEMPLATE = "{text}\nIs this answer correct? Answer:"
_WORD = re.compile(r"[a-z0-9]+")


def words(text: str) -> list[str]:
    """Lower-cased word tokens (letters and digits)."""
    return _WORD.findall(text.lower())


def support_from(own: np.ndarray, alts: Sequence[np.ndarray]) -> np.ndarray:
    """support = own - max over alternatives (elementwise), or own minus its mean without alternatives."""
    own = np.asarray(own, dtype=np.float64)
    if len(alts):
        return own - np.max(np.stack([np.asarray(a, dtype=np.float64) for a in alts]), axis=0)
    return own - (own.mean() if own.size else 0.0)


def bm25_support(passage: Passage, sents: list[str]) -> np.ndarray:
    """BM25 support of each sentence for the candidate over the question's other candidates."""
    from rank_bm25 import BM25Okapi

    if not sents:
        return np.zeros(0)
    bm = BM25Okapi([words(s) or [""] for s in sents])

    def rel(answer: str) -> np.ndarray:
        return np.asarray(bm.get_scores(words(f"{passage.question} {answer}")), dtype=np.float64)

    return support_from(rel(passage.answer), [rel(a) for a in passage.alternatives])


def embed_support(passage: Passage, sent_vecs: np.ndarray, embed: Callable[[list[str]], np.ndarray]) -> np.ndarray:
    """Cosine support: `sent_vecs` are the sentences' unit-norm features, `embed(texts)` gives unit-norm features
    of texts (question + answer)."""
    queries = [f"{passage.question}\n{a}" for a in (passage.answer, *passage.alternatives)]
    q = embed(queries)
    rel = sent_vecs @ q.T  # (sentences, 1 + alternatives)
    return support_from(rel[:, 0], [rel[:, j] for j in range(1, q.shape[0])])


def lm_texts(passage: Passage, sents: list[str]) -> list[list[str]]:
    """The verifier's texts: per candidate (this row's answer first, then the others), one per sentence."""
    return [[f"{s}\nQuestion: {passage.question}\nAnswer: {a}" for s in sents]
            for a in (passage.answer, *passage.alternatives)]


def lm_support(passage: Passage, sents: list[str], log_odds: Callable[[list[str]], np.ndarray]) -> np.ndarray:
    """Verifier support: `log_odds(texts)` is the decoder's yes-log-odds of each text (cached per text)."""
    per = [np.asarray(log_odds(texts), dtype=np.float64) for texts in lm_texts(passage, sents)]
    return support_from(per[0], per[1:])


def standardised(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    sd = x.std() if x.size > 1 else 0.0
    return (x - x.mean()) / sd if sd > 1e-12 else x - (x.mean() if x.size else 0.0)


def ranked(scores: Sequence[tuple[np.ndarray, np.ndarray]], temperature: float, seed: int) -> Debater:
    """A debater that quotes, per row, the unused sentences with the highest (pro) or lowest (con) score, after
    Gumbel noise of scale `temperature` on the row's standardised scores. `scores[row]` = (pro's, con's): one
    support vector for both sides (con negates it) or, for `random`, two independent vectors."""

    def pick(row: int, side: int, t: Transcript, k: int) -> list[int]:
        pro, con = scores[row]
        s = standardised(pro if side == PRO else con) * (1.0 if side == PRO else -1.0)
        if temperature > 0:
            rng = np.random.default_rng([seed, row, len(t.pro), len(t.con), 1 if side == PRO else 2])
            s = s + temperature * rng.gumbel(size=s.shape)
        used = t.used
        order = [int(i) for i in np.argsort(-s, kind="stable") if int(i) not in used]
        return order[:k]

    return pick


def random_scores(n_sentences: Sequence[int], seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """Independent uniform scores per row and side; con's are negated so that `ranked` draws it uniformly too."""
    rng = np.random.default_rng([seed, 91])
    return [(rng.random(n), -rng.random(n)) for n in n_sentences]


def adversarial(belief: Callable[[int, list[int], list[int]], float]) -> Debater:
    """A debater that, quote by quote, takes the unused sentence that moves the judge most towards its side:
    `belief(row, pro, con)` is the judge's logit that the candidate is right given those quotes; it is tried with
    each unused sentence added to the side's quotes."""

    def pick(row: int, side: int, t: Transcript, k: int) -> list[int]:
        pro, con = list(t.pro), list(t.con)
        out: list[int] = []
        for _ in range(k):
            free = [i for i in range(t.n_sentences) if i not in t.used and i not in out]
            if not free:
                break
            logits = _try_each(belief, row, pro, con, side, free)
            best = free[int(np.argmax(logits) if side == PRO else np.argmin(logits))]
            out.append(best)
            (pro if side == PRO else con).append(best)
        return out

    return pick


def _try_each(belief, row: int, pro: list[int], con: list[int], side: int, free: list[int]) -> np.ndarray:
    return np.asarray([belief(row, pro + [i], con) if side == PRO else belief(row, pro, con + [i]) for i in free],
                      dtype=np.float64).ravel()
