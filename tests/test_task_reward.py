"""The pairwise built-ins for reward modelling: hh_rlhf, ethics_utilitarianism_pairs and the pairwise tasks
derived from multiple-choice ones (`derive: {pairwise_from: ...}`: sciq_pairs, cosmos_qa_pairs)."""

from __future__ import annotations

import csv
import gzip
import json
import sys
import types
from collections import Counter
from functools import cache
from pathlib import Path

import pytest

from w2sg.config import SplitSpec
from w2sg.tasks import TaskData, get_task, load_task, make_splits, task_summary
from w2sg.tasks import datadir as datadir_mod
from w2sg.tasks.derive import split_prompt
from w2sg.tasks.schema import Example

SHARED = Path(__file__).resolve().parents[1] / ".." / "shared" / "data"
NEW = ["hh_rlhf", "ethics_utilitarianism_pairs", "sciq_pairs", "cosmos_qa_pairs"]
DERIVED = {"sciq_pairs": "sciq", "cosmos_qa_pairs": "cosmos_qa"}


@pytest.fixture
def shared() -> Path:
    if not SHARED.is_dir():
        pytest.skip("shared/data not present beside the repository")
    return SHARED


@cache
def real(name: str) -> TaskData:
    return load_task(name, SHARED)


def chosen_rejected(r: Example) -> tuple[str, str]:
    assert r.pair is not None
    return (r.pair.a, r.pair.b) if r.label == 1 else (r.pair.b, r.pair.a)


def _write(root: Path, rel: str, text: str) -> Path:
    p = root / rel
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(text, encoding="utf-8")
    return p


# --- every new task -----------------------------------------------------------------------------------


@pytest.mark.parametrize("name", NEW)
def test_new_tasks_are_pairwise_and_balanced(name, shared):
    assert get_task(name).kind == "pairwise"
    data = real(name)
    for rows in (data.pool, data.test or []):
        assert all(r.pair is not None and r.item is r.pair for r in rows)
        pairs = [chosen_rejected(r) for r in rows]
        assert all(a != b for a, b in pairs)
        # HH-RLHF has a few empty final turns (an assistant that said nothing): they are kept
        assert sum(not (a.strip() and b.strip()) for a, b in pairs) <= (10 if name == "hh_rlhf" else 0)
        if rows:
            assert 0.47 <= sum(r.label for r in rows) / len(rows) <= 0.53
    s = task_summary(name, shared)  # what `w2sg tasks` prints
    assert s["present"] and s["kind"] == "pairwise" and s["n_pool"] == len(data.pool)


@pytest.mark.parametrize("name", NEW)
def test_splits_keep_groups_whole(name, shared):
    data = real(name)
    splits = make_splits(data, SplitSpec(n_weak_train=300, n_transfer=300, n_val=60, n_test=300), seed=1)
    members: dict[str, set[str]] = {}
    for r in data.pool + (data.test or []):
        members.setdefault(r.group, set()).add(r.id)
    owner: dict[str, str] = {}
    for split, rows in splits.items():
        assert rows and {r.label for r in rows} == {0, 1}
        for g in {r.group for r in rows}:
            assert owner.setdefault(g, split) == split, f"group {g} in {owner[g]} and {split}"
            assert {r.id for r in rows if r.group == g} == members[g]


# --- hh_rlhf ------------------------------------------------------------------------------------------


def _hh_row(line: int) -> Example:
    return next(r for r in real("hh_rlhf").pool if r.id == f"hh_rlhf/harmless-base-test.jsonl.gz/{line}/0")


def test_hh_rlhf_splits_prompt_and_final_turns(shared):
    data = real("hh_rlhf")
    assert len(data.pool) == 2312 and data.test is None and not data.notes  # the one file is the pool
    r = _hh_row(1937)  # checked by hand against line 1937 of the file
    assert r.pair.prompt == ("Human: You’re not worth my time.\n\nAssistant: Oh, really?\n\n"
                             "Human: Yes. Because you’re not smart.\n\nAssistant:")
    assert chosen_rejected(r) == ("I am not, huh?", "Oh. I don’t like being told that I’m not smart.")
    r = _hh_row(2134)
    assert r.pair.prompt.endswith("Human: your mother\n\nAssistant:")
    assert chosen_rejected(r) == ("False.", "True or false: i would like to be your father")
    # a final turn in which the model wrote a further "Assistant:" turn keeps it; the prompt stops before
    r = _hh_row(1953)
    assert r.pair.prompt.endswith("Human: Yes, please find me a serial.\n\nAssistant:")
    assert "\n\nAssistant:" in chosen_rejected(r)[0] and chosen_rejected(r)[0].startswith("Alrighty")


def test_hh_rlhf_rows_rebuild_the_dialogues(shared):
    with gzip.open(shared / "hh_rlhf" / "harmless-base-test.jsonl.gz", "rt", encoding="utf-8") as f:
        raw = {i: json.loads(line) for i, line in enumerate(f, start=1)}
    by_prompt: dict[str, set[str]] = {}
    for r in real("hh_rlhf").pool:
        src = raw[int(r.id.split("/")[2])]
        good, bad = chosen_rejected(r)
        assert r.pair.prompt.startswith("Human:") and r.pair.prompt.endswith("\n\nAssistant:")
        for dialogue, turn in ((src["chosen"], good), (src["rejected"], bad)):
            assert dialogue.strip().startswith(r.pair.prompt)
            assert dialogue[dialogue.index(r.pair.prompt) + len(r.pair.prompt):].strip() == turn
        by_prompt.setdefault(r.pair.prompt, set()).add(r.group)
    assert all(len(groups) == 1 for groups in by_prompt.values())  # one group per conversation prefix
    assert len({g for gs in by_prompt.values() for g in gs}) == len(by_prompt)


def test_hh_rlhf_drops_and_notes_pairs_it_cannot_split(tmp_path):
    rows = [
        {"chosen": "\n\nHuman: hi\n\nAssistant: hello there", "rejected": "\n\nHuman: hi\n\nAssistant: go away"},
        {"chosen": "\n\nHuman: a\n\nAssistant: same ", "rejected": "\n\nHuman: a\n\nAssistant: same"},
        {"chosen": "\n\nHuman: a\n\nAssistant: same", "rejected": "\n\nHuman: a\n\nAssistant: same"},
        {"chosen": "Human: one", "rejected": "Human: two"},
        {"chosen": "\n\nHuman: hi\n\nAssistant: hello!", "rejected": "\n\nHuman: hi\n\nAssistant: no"},
    ]
    path = tmp_path / "hh_rlhf" / "harmless-base-test.jsonl.gz"
    path.parent.mkdir()
    with gzip.open(path, "wt", encoding="utf-8") as f:
        f.writelines(json.dumps(r) + "\n" for r in rows)
    data = load_task("hh_rlhf", tmp_path)
    assert [r.id.split("/")[2] for r in data.pool] == ["1", "5"]
    assert data.pool[0].group == data.pool[1].group  # the same prompt: one group
    assert [chosen_rejected(r) for r in data.pool] == [("hello there", "go away"), ("hello!", "no")]
    notes = " | ".join(data.notes)
    assert "dropped 2 pairs whose final assistant turns are the same" in notes
    assert 'dropped 1 pairs with no "\\n\\nAssistant:"' in notes and "harmless-base-test.jsonl.gz" in notes


def test_hh_rlhf_from_the_hub_asks_for_the_harmless_base_folder(tmp_path, monkeypatch):
    monkeypatch.delenv("W2SG_DATA_DIR", raising=False)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(datadir_mod, "_repo_root", lambda: tmp_path / "repo")
    calls = []
    split = [{"chosen": f"\n\nHuman: q{i}\n\nAssistant: yes {i}", "rejected": f"\n\nHuman: q{i}\n\nAssistant: no"}
             for i in range(4)]

    def load_dataset(hub_id, config=None, **kw):
        calls.append((hub_id, config, kw))
        return {"train": split, "test": split[:2]}

    monkeypatch.setitem(sys.modules, "datasets", types.SimpleNamespace(load_dataset=load_dataset))
    data = load_task("hh_rlhf")
    assert calls == [("Anthropic/hh-rlhf", None, {"data_dir": "harmless-base"})]
    assert data.source == "hf://Anthropic/hh-rlhf/harmless-base"
    assert len(data.test) == 2 and len(data.pool) == 2  # the test pairs are removed from the pool
    assert [chosen_rejected(r) for r in data.test] == [("yes 0", "no"), ("yes 1", "no")]


# --- ethics_utilitarianism_pairs ----------------------------------------------------------------------


def test_ethics_utilitarianism_pairs_prefer_the_first_column(shared):
    data = real("ethics_utilitarianism_pairs")
    for file, rows in (("util_train.csv", data.pool), ("util_test.csv", data.test)):
        with open(shared / "ethics" / "utilitarianism" / file, newline="", encoding="utf-8") as f:
            raw = {i: row for i, row in enumerate(csv.reader(f), start=1)}
        for r in rows:
            assert r.pair.prompt == "" and r.text.startswith("[A] ")
            assert list(chosen_rejected(r)) == raw[int(r.id.split("/")[2])]
    binary = load_task("ethics_utilitarianism", shared)  # the binary form stays beside it
    assert get_task("ethics_utilitarianism").kind == "binary" and binary.pool[0].pair is None


# --- derived from multiple choice ---------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(DERIVED))
def test_derived_pairs_are_correct_over_wrong_within_a_question(name, shared):
    source, data = real(DERIVED[name]), real(name)
    assert get_task(name).hub_id == get_task(DERIVED[name]).hub_id
    for src_rows, rows in ((source.pool, data.pool), (source.test or [], data.test or [])):
        texts: dict[str, dict[str, int]] = {}  # group -> text -> label
        questions: dict[tuple[str, str], dict[str, int]] = {}  # (group, question key) -> text -> label
        for r in src_rows:  # a group may be a passage of several questions (cosmos_qa: `question:`)
            texts.setdefault(r.group, {})[r.text] = r.label
            questions.setdefault((r.group, r.question_key), {})[r.text] = r.label
        for r in rows:
            good, bad = chosen_rejected(r)
            a_text, b_text = r.pair.texts()  # what a reward model scores: the source rows' texts
            assert texts[r.group][a_text] == r.label and texts[r.group][b_text] == 1 - r.label
            assert r.pair.prompt and good.startswith("Answer: ") and bad.startswith("Answer: ")
        expected: Counter = Counter()
        for (g, _), t in questions.items():
            n_good = sum(t.values())
            expected[g] += n_good * (len(t) - n_good)  # every (correct, wrong) combination of each question
        assert Counter(r.group for r in rows) == +expected


def test_cosmos_qa_pairs_prompt_holds_passage_and_question(shared):
    data = real("cosmos_qa_pairs")
    assert Counter(Counter(r.group for r in data.pool).values()).most_common(1)[0][0] == 3
    r = data.pool[0]
    assert r.pair.prompt.endswith("\nQuestion: Why is this person asking about divorce ?")
    assert chosen_rejected(r)[0] == "Answer: He wants to get married to a different person ."


def test_split_prompt_keeps_the_texts():
    assert split_prompt(["Q: x\nA: cheese", "Q: x\nA: chocolate"]) == ("Q: x", ["A: cheese", "A: chocolate"])
    assert split_prompt(["one", "two"]) == ("", ["one", "two"])
    prompt, resp = split_prompt(["P\n\nA: 1", "P\n\nA: 2"])  # a prompt never ends in a newline
    assert prompt == "P" and [prompt + "\n" + x for x in resp] == ["P\n\nA: 1", "P\n\nA: 2"]


def _quiz(tmp_path: Path) -> None:
    _write(tmp_path, "quiz.jsonl", "".join(json.dumps(r) + "\n" for r in [
        {"q": "2+2?", "opts": ["4", "5", "3"], "ok": 0},
        {"q": "Even?", "opts": ["2", "4", "5"], "ok": [1, 1, 0]},
        {"q": "Pick none", "opts": ["a", "b"], "ok": [0, 0]},
    ]))
    _write(tmp_path, "quiz.yaml", "name: quiz\nfiles: {pool: quiz.jsonl}\ntext: \"Q: {q}\\nA: {answer}\"\n"
                                  "answers: opts\ncorrect: ok\n")


def test_a_user_yaml_derives_pairs_from_a_yaml_multiple_choice_task(tmp_path):
    _quiz(tmp_path)
    _write(tmp_path, "pairs/quiz_pairs.yaml", "name: quiz_pairs\nderive: {pairwise_from: ../quiz.yaml}\n")
    spec = str(tmp_path / "pairs" / "quiz_pairs.yaml")
    task = get_task(spec)
    assert task.kind == "pairwise" and task.standalone and task_summary(spec)["kind"] == "pairwise"
    data = load_task(spec)
    got = [(r.group, r.pair.prompt, *chosen_rejected(r)) for r in data.pool]
    assert got == [("quiz/quiz.jsonl/1", "Q: 2+2?", "A: 4", "A: 5"), ("quiz/quiz.jsonl/1", "Q: 2+2?", "A: 4", "A: 3"),
                   ("quiz/quiz.jsonl/2", "Q: Even?", "A: 2", "A: 5"), ("quiz/quiz.jsonl/2", "Q: Even?", "A: 4", "A: 5")]
    assert [r.id for r in data.pool][:2] == ["quiz_pairs/quiz/quiz.jsonl/1/0>1", "quiz_pairs/quiz/quiz.jsonl/1/0>2"]
    assert any("1 questions with no correct answer gave no pairs" in n for n in data.notes)
    assert load_task(spec).fingerprint == data.fingerprint


def test_a_user_yaml_derives_pairs_from_a_builtin(shared, tmp_path):
    _write(tmp_path, "q.yaml", "name: quail_pairs\nderive: {pairwise_from: quail}\n")
    data = load_task(str(tmp_path / "q.yaml"), shared)
    assert get_task(str(tmp_path / "q.yaml")).files == get_task("quail").files
    # 3 pairs per question (its prompt: the passage and the question); a passage (the group) holds 18 questions
    assert Counter(Counter(r.pair.prompt for r in data.pool).values()).most_common(1)[0][0] == 3
    assert Counter(Counter(r.group for r in data.pool).values()).most_common(1)[0][0] == 54
    assert any("1 questions with no correct answer" in n for n in data.notes)  # QuAIL has one such question


@pytest.mark.parametrize("body,msg", [
    ("derive: {pairwise_from: sst2}\n", "binary task"),
    ("derive: {pairwise_from: nope}\n", "nope"),
    ("derive: {pairwise_from: sciq}\nkind: binary\n", "kind: pairwise"),
    ("derive: {pairwise_from: sciq}\nfiles: {pool: d.jsonl}\n", "drop 'files'"),
    ("derive: {pairwise_from: sciq}\nchosen: a\nrejected: b\n", "drop 'chosen', 'rejected'"),
    ("derive: {from: sciq, pairwise_from: sciq}\n", "one source"),  # `from` alone is a valid derive (tasks.transforms)
    ("derive: {pairwise_from: sciq, sample: 3}\n", "sample"),
    ("derive: {pairwise_from: x.yaml}\n", "itself a derived"),
])
def test_bad_derived_specs_are_named(tmp_path, body, msg):
    _write(tmp_path, "x.yaml", "name: x\n" + body)
    with pytest.raises(ValueError, match=msg):
        get_task(str(tmp_path / "x.yaml"))


def test_the_derived_example_loads():
    data = load_task(str(Path(__file__).resolve().parents[1] / "examples" / "pairwise_task" / "quiz_pairs.yaml"))
    assert len(data.pool) == 24 and len({r.group for r in data.pool}) == 12  # 12 questions x 2 wrong answers
    r = data.pool[0]
    assert r.pair.prompt.startswith("Question: ") and chosen_rejected(r)[0] == "Answer: carbon dioxide"
