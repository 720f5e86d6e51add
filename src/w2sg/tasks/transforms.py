"""Task transforms (YAML `transform:`): keep a task's texts' structure, take away what pretraining knows.

- `cipher: {seed: S[, fraction: F]}`: a consistent word cipher. A word is a run of letters/digits (`\\w+`);
  whitespace and punctuation are kept as they are. Every word type (case-insensitive) maps to an invented,
  pronounceable token (consonant-vowel syllables, about as long as the word), unique per type and never a word
  of the task, drawn from random.Random(S) over the task's whole vocabulary (pool and test, sorted), so one map serves
  every row and split and the same seed gives the same map. Case is kept (Word -> Token, WORD -> TOKEN).
  Labels are unchanged; pairwise rows have their prompt and both responses ciphered. With `fraction` F < 1 only
  round(F x the number of word types) types, drawn with the same seed, are ciphered and the rest are kept: a
  graded novelty between the represented task (F -> 0) and the fully ciphered one (F = 1).
- `rule: {kind: word_parity}` (label 1 = an even number of whitespace-separated words) or
  `rule: {kind: contains, word: W}` (label 1 = the text holds the word W, or one of a list, case-insensitive):
  labels replaced by an arbitrary rule on the text, binary tasks only. The rule reads the original text
  (before any cipher; both rules are invariant under the cipher, `contains` then names W's token).

Rows keep their ids, groups and meta; the task's fingerprint follows the new texts and labels.
"""

from __future__ import annotations

import dataclasses
import random
import re
from collections.abc import Iterable

from w2sg.items import Passage
from w2sg.tasks.registry import Rows, TaskDef
from w2sg.tasks.rows import pair_example
from w2sg.tasks.schema import Example
from w2sg.tasks.spec import CipherSpec, RuleSpec, TransformSpec

__all__ = ["apply_cipher", "apply_rule", "build_cipher", "cipher_text", "rule_label", "transform_rows",
           "transformed_task"]

WORD = re.compile(r"\w+")
CONSONANTS = "bdfgklmnprstvz"
VOWELS = "aeiou"


def _texts(r: Example) -> list[str]:
    """The texts a row's item is made of: its text, or a comparison's prompt and responses (and a reading row's
    passage fields, which a cipher must hide as well)."""
    out = [r.text] if r.pair is None else [r.pair.prompt, r.pair.a, r.pair.b]
    if r.passage is not None:
        out += [r.passage.context, r.passage.question, r.passage.answer, *r.passage.alternatives]
    return out


def build_cipher(texts: Iterable[str], seed: int, fraction: float | None = None) -> dict[str, str]:
    """lower-cased word type -> its token: a bijection from the texts' vocabulary (or a share `fraction` of it,
    drawn with the seed) to invented tokens that are not themselves words of the texts; a pure function of the
    vocabulary, the seed and the fraction. Word types left out of the map keep their words."""
    vocab = sorted({w.lower() for t in texts for w in WORD.findall(t)})
    taken = set(vocab)
    rng = random.Random(seed)
    chosen = vocab if fraction is None or fraction >= 1 else sorted(rng.sample(vocab, round(fraction * len(vocab))))
    out: dict[str, str] = {}
    for word in chosen:
        n, tries = max(1, min(4, (len(word) + 1) // 2)), 0
        while True:
            token = "".join(rng.choice(CONSONANTS) + rng.choice(VOWELS) for _ in range(n))
            if token not in taken:
                break
            tries += 1
            if tries % 20 == 0:  # this length is crowded: one syllable more
                n += 1
        taken.add(token)
        out[word] = token
    return out


def _cased(word: str, token: str) -> str:
    if len(word) > 1 and word.isupper():
        return token.upper()
    return token.capitalize() if word[:1].isupper() else token


def cipher_text(text: str, cipher: dict[str, str]) -> str:
    """`text` with each word replaced by its token (whitespace and punctuation unchanged)."""
    return WORD.sub(lambda m: _cased(m.group(), cipher[m.group().lower()]) if m.group().lower() in cipher
                    else m.group(), text)


def _cipher_passage(p: Passage | None, cipher: dict[str, str]) -> Passage | None:
    if p is None:
        return None
    return Passage(cipher_text(p.context, cipher), cipher_text(p.question, cipher), cipher_text(p.answer, cipher),
                   tuple(cipher_text(a, cipher) for a in p.alternatives))


def _cipher_row(r: Example, cipher: dict[str, str]) -> Example:
    if r.pair is None:
        return dataclasses.replace(r, text=cipher_text(r.text, cipher), passage=_cipher_passage(r.passage, cipher))
    p = r.pair
    a, b = cipher_text(p.a, cipher), cipher_text(p.b, cipher)
    chosen, rejected = (a, b) if r.label == 1 else (b, a)
    new = pair_example(r.id, r.group, cipher_text(p.prompt, cipher), chosen, rejected)
    assert new.label == r.label  # the order of a and b is a function of the id
    return dataclasses.replace(new, meta=r.meta)


def apply_cipher(pool: list[Example], test: list[Example] | None, spec: CipherSpec) -> tuple[Rows, int]:
    """(the rows ciphered with one map built over pool and test, the number of word types)."""
    cipher = build_cipher((t for r in [*pool, *(test or [])] for t in _texts(r)), spec.seed, spec.fraction)
    return ([_cipher_row(r, cipher) for r in pool],
            [_cipher_row(r, cipher) for r in test] if test is not None else None), len(cipher)


def rule_label(text: str, spec: RuleSpec) -> int:
    """The label the rule gives `text`."""
    if spec.kind == "word_parity":
        return int(len(text.split()) % 2 == 0)
    words = {w.lower() for w in WORD.findall(text)}
    return int(any(w in words for w in spec.words))


def apply_rule(rows: list[Example], spec: RuleSpec) -> list[Example]:
    if any(r.pair is not None for r in rows):
        raise ValueError("transform.rule sets the labels of texts; it does not apply to pairwise rows")
    return [dataclasses.replace(r, label=rule_label(r.text, spec)) for r in rows]


def _pos(rows: list[Example]) -> str:
    return f"{sum(r.label for r in rows) / len(rows):.1%}" if rows else "n/a"


def transform_rows(pool: list[Example], test: list[Example] | None, spec: TransformSpec,
                   notes: list[str] | None = None) -> Rows:
    """The rows after the spec's transforms: the rule first (on the original text), then the cipher."""
    if spec.rule is not None:
        pool, test = apply_rule(pool, spec.rule), (apply_rule(test, spec.rule) if test is not None else None)
        if notes is not None:
            notes.append(f"transform rule {spec.rule.kind}: positives pool {_pos(pool)}"
                         + (f", test {_pos(test)}" if test is not None else ""))
    if spec.cipher is not None:
        (pool, test), n = apply_cipher(pool, test, spec.cipher)
        if notes is not None:
            share = "" if spec.cipher.fraction is None else f", fraction {spec.cipher.fraction:g}"
            notes.append(f"transform cipher (seed {spec.cipher.seed}{share}): {n} word types replaced")
    return pool, test


def transformed_task(task: TaskDef, spec: TransformSpec, origin: str) -> TaskDef:
    """`task` with its loaders' rows transformed (same sources and files)."""
    if spec.rule is not None and task.kind != "binary":
        raise ValueError(f"task spec '{origin}': transform.rule sets the labels of a binary task's texts; "
                         f"'{task.name}' is a {task.kind} task")
    local = hub = None
    if task.local is not None:
        def local(root, notes: list[str] | None = None) -> Rows:
            return transform_rows(*task.load_local(root, notes), spec, notes)
    if task.hub is not None:
        def hub(ds, notes: list[str] | None = None) -> Rows:
            return transform_rows(*task.load_hub(ds, notes), spec, notes)
    what = " + ".join(k for k in ("rule", "cipher") if getattr(spec, k) is not None)
    return dataclasses.replace(task, local=local, hub=hub, takes_notes=True,
                               description=f"{task.description} [transform: {what}]")
