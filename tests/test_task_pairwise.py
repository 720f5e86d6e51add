"""Pairwise-preference tasks (kind: pairwise): loading, the per-row order of a pair, dedup, splits."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from w2sg.config import SplitSpec
from w2sg.items import Comparison
from w2sg.tasks import get_task, load_task, make_splits, task_summary
from w2sg.tasks.rows import finalize, fingerprint, pair_example

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "pairwise_task"
SPEC = str(EXAMPLE / "pairs.yaml")


def _source_pairs(name: str) -> dict[tuple[str, int], dict]:
    rows = [json.loads(line) for line in (EXAMPLE / name).read_text().splitlines() if line.strip()]
    return {(name, i): r for i, r in enumerate(rows, start=1)}


def test_example_loads_as_pairwise_with_balanced_labels():
    task = get_task(SPEC)
    assert task.kind == "pairwise" and task.standalone
    data = load_task(SPEC)
    assert len(data.pool) == 240 and len(data.test) == 60 and not data.notes
    for rows in (data.pool, data.test):
        assert all(isinstance(r.pair, Comparison) and r.item == r.pair for r in rows)
        assert 0.4 <= sum(r.label for r in rows) / len(rows) <= 0.6
    assert len({r.group for r in data.pool}) == 40 and set(Counter(r.group for r in data.pool).values()) == {6}
    assert not {r.group for r in data.pool} & {r.group for r in data.test}


def test_label_says_which_side_is_the_chosen_response():
    data = load_task(SPEC)
    source = {**_source_pairs("pairs_train.jsonl"), **_source_pairs("pairs_test.jsonl")}
    for r in data.pool + data.test:
        _, file, line, _ = r.id.split("/")
        src = source[(file, int(line))]
        chosen, rejected = (r.pair.a, r.pair.b) if r.label == 1 else (r.pair.b, r.pair.a)
        assert (r.pair.prompt, chosen, rejected) == (src["prompt"], src["chosen"], src["rejected"])
        assert r.group == src["prompt_id"]
        assert r.text == f"{src['prompt']}\n[A] {r.pair.a}\n[B] {r.pair.b}"
        assert len(chosen) > len(rejected)  # the toy rule: the longer response is preferred


def test_order_is_a_deterministic_function_of_the_id():
    a = load_task(SPEC)
    b = load_task(SPEC)
    assert a.fingerprint == b.fingerprint and [r.pair for r in a.pool] == [r.pair for r in b.pool]
    one, two = pair_example("x/1", "g", "p", "good", "bad"), pair_example("x/1", "g", "p", "good", "bad")
    assert one == two
    labels = {pair_example(f"t/{i}", "g", "p", "good", "bad").label for i in range(20)}
    assert labels == {0, 1}


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_splits_keep_pairs_whole_and_groups_in_one_split(seed):
    data = load_task(SPEC)
    spec = SplitSpec(n_weak_train=60, n_transfer=60, n_val=24, n_test=40)
    splits = make_splits(data, spec, seed)
    by_group: dict[str, set[str]] = {}
    for r in data.pool + data.test:
        by_group.setdefault(r.group, set()).add(r.id)
    owner: dict[str, str] = {}
    originals = {r.id: r for r in data.pool + data.test}
    for name, rows in splits.items():
        assert rows and all(r.pair is not None and r == originals[r.id] for r in rows)
        for g in {r.group for r in rows}:
            assert owner.setdefault(g, name) == name, f"group {g} in {owner[g]} and {name}"
            assert {r.id for r in rows if r.group == g} == by_group[g]  # whole groups
        assert {r.label for r in rows} == {0, 1}
    assert len(splits.weak_train) >= 60 and len(splits.test) >= 40


def test_dedup_treats_both_orders_as_one_comparison():
    rows = [pair_example(f"t/{i}", f"g{i}", "p", c, r) for i, (c, r) in enumerate(
        [("x", "y"), ("x", "y"), ("y", "x"), ("u", "v"), ("v  ", "u"), ("m", "n")])]
    data = finalize("toy", rows, None, "memory")
    # (x, y) twice and its swap (y, x) disagree: all three dropped; (u, v) and (v, u) disagree too
    assert [r.id for r in data.pool] == ["t/5"]
    same = [pair_example("a/0", "g", "p", "x", "y"), pair_example("a/1", "h", "p", "x", "y")]
    assert [r.id for r in finalize("toy", same, None, "memory").pool] == ["a/0"]
    test = [pair_example("b/0", "h", "p", "x", "y")]
    swapped_in_pool = [pair_example("a/0", "g", "p", "x", "y"), pair_example("a/9", "k", "p", "m", "n")]
    assert [r.id for r in finalize("toy", swapped_in_pool, test, "memory").pool] == ["a/9"]


def test_fingerprint_covers_the_comparison():
    r = pair_example("t/0", "g", "p", "good", "bad")
    moved = type(r)(r.id, r.group, r.text, r.label, Comparison("p ", r.pair.a, r.pair.b))
    assert fingerprint([r], None) != fingerprint([moved], None)


def test_prompt_is_optional_and_mappings_may_be_templates(tmp_path):
    (tmp_path / "d.csv").write_text("topic,q,good,bad\nt1,why?,because of x,no\nt2,how?,like this,dunno\n")
    (tmp_path / "p.yaml").write_text(
        "name: p\nkind: pairwise\nfiles: {pool: d.csv}\nprompt: 'Q: {q}'\nchosen: good\nrejected: bad\n"
        "group: topic\n")
    data = load_task(str(tmp_path / "p.yaml"))
    assert [r.pair.prompt for r in data.pool] == ["Q: why?", "Q: how?"] and [r.group for r in data.pool] == ["t1", "t2"]
    (tmp_path / "n.yaml").write_text("name: n\nkind: pairwise\nfiles: {pool: d.csv}\nchosen: good\nrejected: bad\n")
    data = load_task(str(tmp_path / "n.yaml"))
    assert data.pool[0].pair.prompt == "" and data.pool[0].text.startswith("[A] ")
    assert task_summary(str(tmp_path / "n.yaml"))["kind"] == "pairwise"


@pytest.mark.parametrize("extra,msg", [
    ("text: '{q}'\n", "does not use 'text'"),
    ("label: good\n", "does not use 'label'"),
])
def test_pairwise_spec_rejects_text_fields(tmp_path, extra, msg):
    (tmp_path / "p.yaml").write_text("name: p\nkind: pairwise\nfiles: {pool: d.csv}\nchosen: good\n"
                                     "rejected: bad\n" + extra)
    with pytest.raises(ValueError, match=msg):
        get_task(str(tmp_path / "p.yaml"))
    (tmp_path / "q.yaml").write_text("name: p\nkind: pairwise\nfiles: {pool: d.csv}\nchosen: good\n")
    with pytest.raises(ValueError, match="rejected"):
        get_task(str(tmp_path / "q.yaml"))
