"""Task registry, loaders (offline data, fake Hub), YAML tasks, data-dir resolution and error messages."""

from __future__ import annotations

import json
import shutil
import sys
import types
from collections import Counter
from functools import cache
from pathlib import Path

import pytest

from w2sg.tasks import (
    DataNotFoundError,
    MalformedRowError,
    TaskData,
    UnknownTaskError,
    get_task,
    list_tasks,
    load_task,
    resolve_data_dir,
    task_summary,
)
from w2sg.tasks import datadir as datadir_mod
from w2sg.tasks.rows import finalize
from w2sg.tasks.schema import Example

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO / ".." / "shared" / "data"
EXAMPLES = REPO / "examples" / "custom_task"

# name: (pool rows, pool positive fraction, test rows or None, test positive fraction), as measured after
# dedup; README.md gives the raw counts (e.g. sst2 67,349 / 55% pos) and the tests allow 3% / 0.03 slack.
EXPECTED = {
    "sst2": (66973, 0.557, 872, 0.509),
    "sciq": (25283, 0.499, 2000, 0.500),
    "boolq": (3270, 0.622, None, None),
    "cosmos_qa": (10769, 0.274, None, None),
    "quail": (8643, 0.250, None, None),
    "mc_taco": (9442, 0.339, 3782, 0.325),
    "ethics_justice": (21781, 0.543, 2704, 0.501),
    "ethics_deontology": (17603, 0.536, 3596, 0.497),
    "ethics_virtue": (24993, 0.097, 4975, 0.200),
    "ethics_utilitarianism": (13654, 0.499, 4807, 0.495),
    "ethics_commonsense": (3885, 0.467, 3964, 0.527),
    "wic": (5228, 0.500, 200, 0.495),
    "twitter_sentiment": (6347, 0.374, 1131, 0.724),
    "hh_rlhf": (2312, 0.502, None, None),
    "ethics_utilitarianism_pairs": (13577, 0.510, 4802, 0.506),
    "sciq_pairs": (12714, 0.497, 1000, 0.521),
    "cosmos_qa_pairs": (8872, 0.496, None, None),
}
MULTIPLE_CHOICE = {"cosmos_qa": 4, "quail": 4, "sciq": 2}  # the built-ins of kind multiple_choice
PAIRWISE = {"hh_rlhf", "ethics_utilitarianism_pairs", "sciq_pairs", "cosmos_qa_pairs"}  # ... of kind pairwise


def need_shared() -> None:
    if not SHARED.is_dir():
        pytest.skip("shared/data not present beside the repository")


@cache
def real(name: str) -> TaskData:
    return load_task(name, SHARED)


def pos_frac(rows: list[Example]) -> float:
    return sum(r.label for r in rows) / len(rows)


GENERATED = {"chains", "chains_outcome", "chains_hard", "chains_hard_outcome"}  # tasks/chains.py, no data files


def test_registry_lists_the_builtins():
    assert set(EXPECTED) | GENERATED == set(list_tasks())
    for name in sorted(GENERATED):
        t = get_task(name)
        assert t.kind == "steps" and t.standalone and t.local and not t.files and t.hub_id is None
    for name in sorted(set(list_tasks()) - GENERATED):
        t = get_task(name)
        assert t.description and t.hub_id and t.local and t.hub and not t.standalone
        assert t.kind == ("multiple_choice" if name in MULTIPLE_CHOICE else "pairwise" if name in PAIRWISE
                          else "binary")
        assert t.origin == f"w2sg/tasks/builtin/{name}.yaml"


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_builtin_task_loads_with_plausible_counts(name):
    need_shared()
    data = real(name)
    n_pool, p_pool, n_test, p_test = EXPECTED[name]
    assert abs(len(data.pool) - n_pool) <= 0.03 * n_pool
    assert abs(pos_frac(data.pool) - p_pool) < 0.03
    if n_test is None:
        assert data.test is None
    else:
        assert abs(len(data.test) - n_test) <= 0.03 * n_test and abs(pos_frac(data.test) - p_test) < 0.03
    rows = data.pool + (data.test or [])
    assert len({r.id for r in rows}) == len(rows)
    assert all(r.label in (0, 1) and r.text.strip() and r.group for r in rows)
    assert len(data.fingerprint) == 16 and data.source
    pool_texts = {r.text for r in data.pool}
    assert len(pool_texts) == len(data.pool)
    assert not pool_texts & {r.text for r in data.test or []}


@pytest.mark.parametrize("name", sorted(MULTIPLE_CHOICE))
def test_multiple_choice_rows_share_a_group(name):
    need_shared()
    sizes = Counter(r.question_key for r in real(name).pool)  # a question: its key (quail: a passage holds many)
    # after dedup most questions keep all their rows; merged repeats of one question may hold more
    assert Counter(sizes.values()).most_common(1)[0][0] == MULTIPLE_CHOICE[name]


def test_text_templates_follow_source_md():
    need_shared()
    assert real("boolq").pool[0].text.startswith("Passage: ") and "\nQuestion: " in real("boolq").pool[0].text
    assert real("boolq").pool[0].text.endswith("?")
    assert real("sciq").pool[0].text.startswith("Question: ") and "\nAnswer: " in real("sciq").pool[0].text
    virtue = real("ethics_virtue").pool[0].text
    assert "\nTrait: " in virtue and "[SEP]" not in virtue
    util = real("ethics_utilitarianism").pool
    assert all(r.text.startswith("Scenario A: ") and "\nScenario B: " in r.text for r in util[:50])
    assert 0.45 < pos_frac(util) < 0.55  # the seeded coin
    assert real("mc_taco").pool[0].text.count("\n") == 2
    assert real("sst2").pool[0].text == "hide new secretions from the parental units"


def test_fingerprint_is_stable_and_tracks_data(tmp_path):
    need_shared()
    assert load_task("wic", SHARED).fingerprint == real("wic").fingerprint
    (tmp_path / "wic").mkdir()
    shutil.copy(SHARED / "wic" / "test.jsonl", tmp_path / "wic" / "test.jsonl")
    lines = (SHARED / "wic" / "train.jsonl").read_text().splitlines()
    row = json.loads(lines[5])
    row["label"] = 1 - row["label"]
    lines[5] = json.dumps(row)
    (tmp_path / "wic" / "train.jsonl").write_text("\n".join(lines) + "\n")
    assert load_task("wic", tmp_path).fingerprint != real("wic").fingerprint


def test_finalize_drops_duplicates_conflicts_and_test_overlap():
    ex = [Example(str(i), str(i), t, lab) for i, (t, lab) in enumerate(
        [("a", 1), ("a  ", 1), ("b", 1), ("b", 0), ("c", 0), ("d", 1), ("e", 0)])]
    test = [Example("t0", "t0", "d", 1), Example("t1", "t1", "f", 0)]
    data = finalize("toy", ex, test, "memory")
    assert [r.text for r in data.pool] == ["a", "c", "e"]
    notes = " | ".join(data.notes)
    assert "1 rows repeating" in notes and "2 rows whose text occurs with both labels" in notes
    assert "1 rows whose text or group also occurs in test" in notes
    assert finalize("toy", ex, test, "memory").fingerprint == data.fingerprint
    assert finalize("toy", ex[:-1], test, "memory").fingerprint != data.fingerprint


def _write(root: Path, rel: str, text: str) -> Path:
    p = root / rel
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(text, encoding="utf-8")
    return p


@pytest.mark.parametrize("task,files,bad_file,line,reason", [
    ("sst2", {"sst2/train.tsv": "sentence\tlabel\ngood\t1\nbad\t7\n",
              "sst2/dev.tsv": "sentence\tlabel\nx\t1\n"},
     "train.tsv", 3, "bad label"),
    ("mc_taco", {"mc_taco/test_9442.tsv": "s\tq\ta\tyes\tc\ns\tq\tb\tno\tc\n",
                 "mc_taco/dev_3783.tsv": "s\tq\n"},
     "dev_3783.tsv", 1, "columns"),
    ("wic", {"wic/train.jsonl": '{"label": 1, "text": "a"}\n{"label": 0, "text": \n',
             "wic/test.jsonl": '{"label": 1, "text": "b"}\n'}, "train.jsonl", 2, "bad JSON"),
    ("boolq", {"boolq/boolq_validation.json":
               '[\n {"question": "q", "answer": true, "passage": "p"},\n'
               ' {"question": "r", "passage": "p"}\n]\n'},
     "boolq_validation.json", 3, "missing field 'answer'"),
    ("ethics_justice", {"ethics/justice/justice_train.csv": 'label,scenario\n1,"ok"\n0,"fine"\n2,"x"\n',
                        "ethics/justice/justice_test.csv": "label,scenario\n1,y\n"},
     "justice_train.csv", 4, "bad label"),
    ("twitter_sentiment", {"twitter_sentiment/test_text.txt": "a\nb\n",
                           "twitter_sentiment/test_labels.txt": "0\n5\n",
                           "twitter_sentiment/val_text.txt": "c\n",
                           "twitter_sentiment/val_labels.txt": "2\n"},
     "test_labels.txt", 2, "bad label"),
])
def test_malformed_row_names_file_and_line(tmp_path, task, files, bad_file, line, reason):
    for rel, text in files.items():
        _write(tmp_path, rel, text)
    with pytest.raises(MalformedRowError) as e:
        load_task(task, tmp_path)
    assert bad_file in str(e.value) and f"line {line}" in str(e.value) and reason in str(e.value)
    assert e.value.line == line and isinstance(e.value, ValueError)


def test_multiline_csv_record_reports_its_first_line(tmp_path):
    _write(tmp_path, "ethics/justice/justice_train.csv", 'label,scenario\n1,"two\nlines"\nx,"bad"\n')
    _write(tmp_path, "ethics/justice/justice_test.csv", "label,scenario\n1,y\n")
    with pytest.raises(MalformedRowError, match="line 4"):
        load_task("ethics_justice", tmp_path)


def test_unknown_task_lists_known_tasks_and_yaml():
    with pytest.raises(UnknownTaskError) as e:
        get_task("sst3")
    msg = str(e.value)
    assert "'sst3'" in msg and "sst2" in msg and "ethics_virtue" in msg and "YAML" in msg
    assert isinstance(e.value, ValueError)


def test_missing_data_says_where_it_looked_and_how_to_point(tmp_path):
    with pytest.raises(DataNotFoundError) as e:
        load_task("sst2", tmp_path)
    msg = str(e.value)
    assert str(tmp_path) in msg and "sst2/train.tsv" in msg and "--data-dir" in msg and "W2SG_DATA_DIR" in msg
    assert isinstance(e.value, FileNotFoundError)
    summary = task_summary("sst2", tmp_path)
    assert summary["present"] is False and summary["hub_id"] == "stanfordnlp/sst2"
    assert "missing" in summary["error"]


@pytest.fixture
def no_local_data(tmp_path, monkeypatch):
    """No --data-dir, no env var, no ../shared/data anywhere: resolve_data_dir gives None (the Hub)."""
    monkeypatch.delenv("W2SG_DATA_DIR", raising=False)
    (tmp_path / "cwd").mkdir()
    monkeypatch.chdir(tmp_path / "cwd")
    monkeypatch.setattr(datadir_mod, "_repo_root", lambda: tmp_path / "repo")
    assert resolve_data_dir(None) is None
    return tmp_path


def test_hub_without_datasets_package(no_local_data, monkeypatch):
    monkeypatch.setitem(sys.modules, "datasets", None)  # makes `import datasets` fail
    with pytest.raises(DataNotFoundError) as e:
        load_task("sst2")
    assert "datasets" in str(e.value) and "--data-dir" in str(e.value) and "W2SG_DATA_DIR" in str(e.value)
    assert task_summary("sst2")["present"] is False


def test_hub_unreachable(no_local_data, monkeypatch):
    def load_dataset(*a, **k):
        raise ConnectionError("offline")

    monkeypatch.setitem(sys.modules, "datasets", types.SimpleNamespace(load_dataset=load_dataset))
    with pytest.raises(DataNotFoundError, match="Hugging Face Hub.*offline"):
        load_task("boolq")


def test_hub_formatters_with_a_fake_hub(no_local_data, monkeypatch):
    fake = {
        ("stanfordnlp/sst2", None): {
            "train": [{"sentence": "great ", "label": 1}, {"sentence": "bad", "label": 0}],
            "validation": [{"sentence": "ok", "label": 1}, {"sentence": "no", "label": 0}],
            "test": [{"sentence": "unlabelled", "label": -1}],
        },
        ("allenai/sciq", None): {s: [{"question": f"Q{i}{s}", "correct_answer": "a", "distractor1": "b",
                                      "distractor2": "c", "distractor3": "d", "support": ""}
                                     for i in range(3)] for s in ("train", "test")},
        ("cardiffnlp/tweet_eval", "sentiment"): {s: [{"text": f"{s}{i}", "label": i % 3} for i in range(6)]
                                                 for s in ("train", "test")},
    }
    calls = []

    def load_dataset(hub_id, config=None):
        calls.append((hub_id, config))
        return fake[(hub_id, config)]

    monkeypatch.setitem(sys.modules, "datasets", types.SimpleNamespace(load_dataset=load_dataset))
    sst2 = load_task("sst2")
    assert [(r.text, r.label) for r in sst2.pool] == [("great", 1), ("bad", 0)] and len(sst2.test) == 2
    assert sst2.source.startswith("hf://stanfordnlp/sst2")
    sciq = load_task("sciq")
    assert len(sciq.pool) == 6 and pos_frac(sciq.pool) == 0.5 and len({r.group for r in sciq.pool}) == 3
    tweets = load_task("twitter_sentiment")
    assert len(tweets.pool) == 4 and pos_frac(tweets.pool) == 0.5  # neutral dropped
    assert calls[-1] == ("cardiffnlp/tweet_eval", "sentiment")


def test_data_dir_resolution_order(tmp_path, monkeypatch):
    explicit, env = tmp_path / "explicit", tmp_path / "env"
    cwd_data, repo_data = tmp_path / "a" / "shared" / "data", tmp_path / "b" / "shared" / "data"
    for p in (explicit, env, cwd_data, repo_data, tmp_path / "a" / "work", tmp_path / "b" / "repo"):
        p.mkdir(parents=True)
    monkeypatch.setattr(datadir_mod, "_repo_root", lambda: tmp_path / "b" / "repo")
    monkeypatch.chdir(tmp_path / "a" / "work")
    monkeypatch.setenv("W2SG_DATA_DIR", str(env))
    assert resolve_data_dir(explicit) == explicit.resolve()
    assert resolve_data_dir(None) == env.resolve()
    monkeypatch.delenv("W2SG_DATA_DIR")
    assert resolve_data_dir(None) == cwd_data.resolve()
    shutil.rmtree(cwd_data)
    assert resolve_data_dir(None) == repo_data.resolve()
    shutil.rmtree(repo_data)
    assert resolve_data_dir(None) is None
    with pytest.raises(DataNotFoundError, match="--data-dir"):
        resolve_data_dir(tmp_path / "nope")
    monkeypatch.setenv("W2SG_DATA_DIR", str(tmp_path / "gone"))
    with pytest.raises(DataNotFoundError, match="W2SG_DATA_DIR"):
        resolve_data_dir(None)


def test_task_summary_of_a_present_task():
    need_shared()
    s = task_summary("wic", SHARED)
    assert s["present"] and s["n_pool"] == 5228 and s["n_test"] == 200 and s["hub_id"] == "aps/super_glue"
    assert abs(s["pos_frac_pool"] - 0.5) < 0.01


# --- YAML tasks ---------------------------------------------------------------------------------------


def test_yaml_binary_example_round_trip():
    data = load_task(str(EXAMPLES / "reviews.yaml"))
    assert data.name == "my_reviews" and len(data.pool) == 30 and len(data.test) == 10
    assert pos_frac(data.pool) == 0.5 and pos_frac(data.test) == 0.5
    first = data.pool[0]
    assert first.text == "Review: Lovely kettle\nBoils fast and looks great on the counter."
    assert first.label == 1
    assert len({r.group for r in data.pool}) == 30
    assert get_task(str(EXAMPLES / "reviews.yaml")).standalone


def test_yaml_multiple_choice_example_round_trip():
    data = load_task(str(EXAMPLES / "quiz.yaml"))
    assert len(data.pool) == 36 and data.test is None
    groups = Counter(r.group for r in data.pool)
    assert len(groups) == 12 and set(groups.values()) == {3}
    assert all(sum(r.label for r in data.pool if r.group == g) == 1 for g in groups)
    assert "Answer: carbon dioxide" in next(r.text for r in data.pool if r.label == 1)


def test_yaml_multiple_choice_from_csv_columns_and_yes_no_labels(tmp_path):
    _write(tmp_path, "mc.csv", "q,a0,a1,a2,ok\nWhy?,x,y,z,2\nHow?,u,v,w,0\n")
    _write(tmp_path, "mc.yaml", 'name: mc\nfiles: {pool: mc.csv}\ntext: "{q} {answer}"\n'
                                "answers: [a0, a1, a2]\ncorrect: ok\n")
    data = load_task(str(tmp_path / "mc.yaml"))
    assert [(r.text, r.label) for r in data.pool][:3] == [("Why? x", 0), ("Why? y", 0), ("Why? z", 1)]
    assert len({r.group for r in data.pool}) == 2
    _write(tmp_path, "yn.tsv", "t\tanswer\nfoo\tyes\nbar\tNo\n")
    _write(tmp_path, "yn.yaml", "name: yn\nfiles: {pool: yn.tsv}\ntext: '{t}'\nlabel: answer\n"
                                "label_map: {yes: 1, no: 0}\n")
    assert [r.label for r in load_task(str(tmp_path / "yn.yaml")).pool] == [1, 0]


@pytest.mark.parametrize("body,field", [
    ("name: x\nfiles: {pool: d.jsonl}\ntext: '{t}'\n", "label"),
    ("name: x\nfiles: {pool: d.jsonl}\ntext: '{t}'\nlabel: l\ncolour: red\n", "colour"),
    ("name: x\ntext: '{t}'\nlabel: l\n", "files"),
    ("name: x\nfiles: {pool: d.jsonl}\ntext: '{t}'\nanswers: [a, b]\ncorrect: c\n", "{answer}"),
    ("name: x\nfiles: {pool: d.jsonl}\ntext: '{t}'\nlabel: l\nlabel_map: {a: 2}\n", "label_map"),
])
def test_yaml_bad_spec_names_file_and_field(tmp_path, body, field):
    _write(tmp_path, "bad.yaml", body)
    with pytest.raises(ValueError) as e:
        get_task(str(tmp_path / "bad.yaml"))
    assert "bad.yaml" in str(e.value) and field in str(e.value)


def test_yaml_row_missing_field_names_file_and_line(tmp_path):
    _write(tmp_path, "d.jsonl", '{"t": "a", "l": 1}\n\n{"t": "b"}\n')
    _write(tmp_path, "s.yml", "name: x\nfiles: {pool: d.jsonl}\ntext: '{t}'\nlabel: l\n")
    with pytest.raises(MalformedRowError) as e:
        load_task(str(tmp_path / "s.yml"))
    assert "d.jsonl" in str(e.value) and "line 3" in str(e.value) and "'l'" in str(e.value)
    _write(tmp_path, "d.jsonl", '{"t": "a", "l": 1}\n{"x": "b", "l": 0}\n')
    with pytest.raises(MalformedRowError, match="line 2.*template"):
        load_task(str(tmp_path / "s.yml"))


def test_yaml_missing_data_file(tmp_path):
    _write(tmp_path, "s.yaml", "name: x\nfiles: {pool: nowhere.jsonl}\ntext: '{t}'\nlabel: l\n")
    with pytest.raises(DataNotFoundError, match="nowhere.jsonl"):
        load_task(str(tmp_path / "s.yaml"))


def test_yaml_pairwise_loads(tmp_path):
    _write(tmp_path, "d.jsonl", "".join(json.dumps({"q": f"q{i}", "good": f"long answer {i}", "bad": f"no {i}"}) + "\n"
                                        for i in range(4)))
    _write(tmp_path, "p.yaml", "name: p\nkind: pairwise\nfiles: {pool: d.jsonl}\nprompt: q\n"
                               "chosen: good\nrejected: bad\n")
    assert get_task(str(tmp_path / "p.yaml")).kind == "pairwise"
    data = load_task(str(tmp_path / "p.yaml"))
    assert len(data.pool) == 4 and all(r.pair is not None and r.item is r.pair for r in data.pool)
    for i, r in enumerate(data.pool):
        chosen = r.pair.a if r.label == 1 else r.pair.b
        assert r.pair.prompt == f"q{i}" and chosen == f"long answer {i}"
