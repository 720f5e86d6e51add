"""Task transforms (tasks/transforms.py): the word cipher and rule labels, through YAML specs."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from w2sg.tasks import get_task, load_task
from w2sg.tasks.transforms import WORD, build_cipher

from .conftest import REPO, SHARED_DATA

POOL = [("The movie was great , really great", 1), ("a dull , dull plot", 0), ("Great acting and a great story", 1),
        ("the story felt bland", 0), ("it was fine", 1), ("NOT good at all", 0)]
TEST = [("a great story , the END", 1), ("bland acting", 0)]


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def _task(tmp_path: Path, transform: str = "", name: str = "t", file: str = "") -> str:
    _write(tmp_path / "pool.jsonl", "".join(json.dumps({"s": s, "y": y}) + "\n" for s, y in POOL))
    _write(tmp_path / "test.jsonl", "".join(json.dumps({"s": s, "y": y}) + "\n" for s, y in TEST))
    body = "files: {pool: pool.jsonl, test: test.jsonl}\ntext: '{s}'\nlabel: y\n"
    return str(_write(tmp_path / f"{file or name}.yaml", f"name: {name}\n{body}{transform}"))


def _word_map(before: list[str], after: list[str]) -> dict[str, str]:
    """lower-cased word -> lower-cased token, asserting that every occurrence maps alike (a function)."""
    out: dict[str, str] = {}
    for b, a in zip(before, after, strict=True):
        assert re.sub(r"\w+", "w", b) == re.sub(r"\w+", "w", a)  # whitespace and punctuation kept
        for w, t in zip(WORD.findall(b), WORD.findall(a), strict=True):
            assert out.setdefault(w.lower(), t.lower()) == t.lower()
    return out


def test_cipher_is_a_consistent_bijection_over_all_splits(tmp_path):
    plain = load_task(_task(tmp_path))
    ciphered = load_task(_task(tmp_path, "transform: {cipher: {seed: 0}}\n", file="c"))
    rows = lambda d: [*d.pool, *d.test]  # noqa: E731
    before, after = rows(plain), rows(ciphered)
    mapping = _word_map([r.text for r in before], [r.text for r in after])
    assert len(set(mapping.values())) == len(mapping)  # injective: a bijection on word types
    assert not set(mapping.values()) & set(mapping)  # no token is a word of the task
    assert {"great", "story", "the", "bland"} <= set(mapping)  # words of both splits, one token each
    assert [(r.id, r.group, r.label) for r in before] == [(r.id, r.group, r.label) for r in after]
    assert after[0].text.split()[0][0].isupper() and after[5].text.split()[0].isupper()  # case kept
    assert ciphered.fingerprint != plain.fingerprint
    assert any("word types" in n for n in ciphered.notes)


def test_cipher_is_deterministic_per_seed_and_differs_across_seeds():
    texts = [s for s, _ in POOL + TEST]
    assert build_cipher(texts, 0) == build_cipher(list(reversed(texts)), 0)
    assert build_cipher(texts, 0) != build_cipher(texts, 1)
    many = build_cipher([f"w{i} x{i}" for i in range(3000)] + list("abcdefghijklmnopqrstuvwxyz"), 7)
    assert len(set(many.values())) == len(many) == 6026


def test_cipher_on_pairwise_rows_ciphers_prompt_and_both_responses(tmp_path):
    _write(tmp_path / "p.jsonl", '{"q": "Which is a fruit?", "c": "an apple", "r": "a rock"}\n'
                                 '{"q": "Which is blue?", "c": "the sky", "r": "an apple"}\n')
    spec = "kind: pairwise\nfiles: {pool: p.jsonl}\nprompt: q\nchosen: c\nrejected: r\n"
    plain = load_task(str(_write(tmp_path / "p.yaml", "name: p\n" + spec)))
    ciphered = load_task(str(_write(tmp_path / "q.yaml", "name: p\n" + spec + "transform: {cipher: {seed: 3}}\n")))
    for a, b in zip(plain.pool, ciphered.pool, strict=True):
        assert (a.id, a.group, a.label) == (b.id, b.group, b.label) and b.pair is not None
        _word_map([a.pair.prompt, a.pair.a, a.pair.b], [b.pair.prompt, b.pair.a, b.pair.b])
        assert "[A]" in b.text and "apple" not in b.text.lower()
    _word_map([t for r in plain.pool for t in (r.pair.prompt, r.pair.a, r.pair.b)],
              [t for r in ciphered.pool for t in (r.pair.prompt, r.pair.a, r.pair.b)])  # across rows


@pytest.mark.parametrize("rule,expect", [
    ("{kind: word_parity}", lambda s: int(len(s.split()) % 2 == 0)),
    ("{kind: contains, word: great}", lambda s: int("great" in s.lower().split())),
    ("{kind: contains, word: [bland, the]}", lambda s: int(bool({"bland", "the"} & set(s.lower().split())))),
])
def test_rule_sets_labels_exactly_as_defined(tmp_path, rule, expect):
    data = load_task(_task(tmp_path, f"transform: {{rule: {rule}}}\n"))
    assert [(r.text, r.label) for r in [*data.pool, *data.test]] == [(s, expect(s)) for s, _ in POOL + TEST]


def test_derive_from_a_task_then_rule_and_cipher(tmp_path):
    source = _task(tmp_path)
    spec = _write(tmp_path / "d.yaml", "name: d\nderive: {from: t.yaml}\n"
                                       "transform: {rule: {kind: word_parity}, cipher: {seed: 1}}\n")
    task, data = get_task(str(spec)), load_task(str(spec))
    assert task.name == "d" and task.kind == "binary"
    plain = load_task(source)
    assert [r.id for r in data.pool] == [r.id for r in plain.pool]
    assert [r.label for r in data.pool] == [int(len(s.split()) % 2 == 0) for s, _ in POOL]  # rule on the text


@pytest.mark.parametrize("body,msg", [
    ("derive: {from: t.yaml}\ntransform: {shuffle: {}}\n", "unknown transform 'shuffle'; known: cipher, rule"),
    ("derive: {from: t.yaml}\ntransform: {rule: {kind: contains}}\n", "needs 'word'"),
    ("derive: {from: t.yaml}\ntransform: {rule: {kind: vowels}}\n", "rule"),
    ("derive: {from: t.yaml, pairwise_from: t.yaml}\n", "one source"),
    ("derive: {from: t.yaml}\nkind: pairwise\n", "binary task"),
    ("derive: {from: p.yaml}\ntransform: {rule: {kind: word_parity}}\n", "pairwise task"),
    ("kind: pairwise\nfiles: {pool: p.jsonl}\nchosen: c\nrejected: r\ntransform: {rule: {kind: word_parity}}\n",
     "binary task"),
])
def test_bad_transforms_are_named(tmp_path, body, msg):
    _task(tmp_path)
    _write(tmp_path / "p.jsonl", '{"c": "yes", "r": "no"}\n')
    _write(tmp_path / "p.yaml", "name: p\nkind: pairwise\nfiles: {pool: p.jsonl}\nchosen: c\nrejected: r\n")
    with pytest.raises(ValueError, match=msg):
        get_task(str(_write(tmp_path / "bad.yaml", "name: bad\n" + body)))


@pytest.mark.skipif(not (SHARED_DATA / "sst2").is_dir(), reason="no shared sst2 data")
def test_sst2_cipher_example_loads_from_the_shared_data():
    example = REPO / "examples" / "custom_task" / "sst2_cipher.yaml"
    ciphered, plain = load_task(str(example), SHARED_DATA), load_task("sst2", SHARED_DATA)
    assert get_task(str(example)).kind == "binary" and ciphered.name == "sst2_cipher"
    assert ciphered.fingerprint != plain.fingerprint
    assert [(r.id, r.group, r.label) for r in ciphered.test] == [(r.id, r.group, r.label) for r in plain.test]
    assert len(ciphered.pool) == len(plain.pool)
    vocab = {w for r in plain.test for w in WORD.findall(r.text.lower())}
    assert not vocab & {w for r in ciphered.test for w in WORD.findall(r.text.lower())}


def test_cipher_fraction_ciphers_that_share_of_word_types_and_keeps_the_rest(tmp_path):
    plain = load_task(_task(tmp_path))
    half = load_task(_task(tmp_path, "transform: {cipher: {seed: 0, fraction: 0.5}}\n", file="h"))
    before, after = [r.text for r in [*plain.pool, *plain.test]], [r.text for r in [*half.pool, *half.test]]
    mapping = _word_map(before, after)
    changed = {w for w, t in mapping.items() if w != t}
    assert len(changed) == round(0.5 * len(mapping))  # exactly that share of the word types
    kept = set(mapping) - changed
    assert not {mapping[w] for w in changed} & set(mapping)  # invented tokens never collide with kept words
    assert len({mapping[w] for w in changed}) == len(changed)
    assert any("fraction 0.5" in n for n in half.notes)
    # fraction 1 is the full cipher; no fraction serialises as before (hashes of existing cipher tasks unchanged)
    texts = [s for s, _ in POOL + TEST]
    assert build_cipher(texts, 0, 1.0) == build_cipher(texts, 0)
    assert set(build_cipher(texts, 0, 0.5)) == changed and kept
    from w2sg.tasks.spec import CipherSpec

    assert CipherSpec(seed=3).model_dump() == {"seed": 3}
    with pytest.raises(ValueError, match="fraction"):
        CipherSpec(seed=0, fraction=0)


def test_a_cipher_hides_a_reading_rows_passage_too():
    from w2sg.items import Passage
    from w2sg.tasks.schema import Example
    from w2sg.tasks.spec import CipherSpec, TransformSpec
    from w2sg.tasks.transforms import transform_rows

    p = Passage("Ann keeps the red key. Bob hides the box.", "What does Ann keep?", "red key", ("box",))
    rows = [Example("r0", "g0", f"{p.context}\n{p.claim}", 1, passage=p, question="q0")]
    (pool, _) = transform_rows(rows, None, TransformSpec(cipher=CipherSpec(seed=0)))
    q = pool[0].passage
    assert q is not None and pool[0].question == "q0"
    for plain, coded in ((p.context, q.context), (p.question, q.question), (p.answer, q.answer),
                         (p.alternatives[0], q.alternatives[0])):
        assert not set(re.findall(r"[a-z]+", plain.lower())) & set(re.findall(r"[a-z]+", coded.lower()))
    assert q.context in pool[0].text  # the row's text and its passage use one cipher
