"""The YAML task spec shared by user and built-in tasks: kinds, sources (files/data dir/Hub), hooks, layout."""

from __future__ import annotations

import ast
import sys
import types
from importlib import resources
from pathlib import Path

import pytest

from w2sg.tasks import KINDS, get_task, list_tasks, load_task, load_yaml_task_spec, task_summary
from w2sg.tasks.hooks import READERS, ROW_HOOKS, template_regex

REPO = Path(__file__).resolve().parents[1]
TASKS = REPO / "src" / "w2sg" / "tasks"
EXAMPLES = REPO / "examples"


def _write(root: Path, rel: str, text: str) -> Path:
    p = root / rel
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(text, encoding="utf-8")
    return p


def test_every_builtin_is_one_packaged_yaml_with_one_template():
    folder = resources.files("w2sg.tasks").joinpath("builtin")
    names = sorted(e.name for e in folder.iterdir() if e.name.endswith(".yaml"))
    data_tasks = [n for n in list_tasks() if get_task(n).kind != "steps"]  # steps built-ins are generated
    assert names == [f"{n}.yaml" for n in data_tasks]
    for name in data_tasks:
        spec = load_yaml_task_spec(TASKS / "builtin" / f"{name}.yaml")
        assert spec.name == name and spec.kind in KINDS
        if spec.derive is not None:  # rows from another built-in: no source or mapping of its own
            assert spec.kind == "pairwise" and spec.derive.pairwise_from in list_tasks()
            continue
        assert (spec.chosen and spec.rejected) if spec.kind == "pairwise" else spec.text
        assert spec.files is not None and spec.files.root == "data_dir" and spec.hub is not None
        assert spec.hook in (None, *ROW_HOOKS) and (spec.files.reader in (None, *READERS))


def test_examples_keep_their_kinds():
    assert get_task(str(EXAMPLES / "custom_task" / "reviews.yaml")).kind == "binary"
    assert get_task(str(EXAMPLES / "custom_task" / "quiz.yaml")).kind == "multiple_choice"
    assert get_task(str(EXAMPLES / "pairwise_task" / "pairs.yaml")).kind == "pairwise"
    assert task_summary(str(EXAMPLES / "custom_task" / "quiz.yaml"))["kind"] == "multiple_choice"


def test_task_summary_says_the_kind_of_every_builtin(tmp_path):
    for name in list_tasks():
        assert task_summary(name, tmp_path)["kind"] == get_task(name).kind


def test_label_map_null_drops_rows_and_csv_options(tmp_path):
    _write(tmp_path, "d.tsv", 'a "quoted\tneg\nplain\tneutral\nnice\tpos\n')
    _write(tmp_path, "s.yaml", "name: s\nfiles: {pool: d.tsv, csv: {header: false, columns: [t, y], quoting: none}}\n"
                               "text: '{t}'\nlabel: y\nlabel_map: {pos: 1, neg: 0, neutral: null}\n")
    data = load_task(str(tmp_path / "s.yaml"))
    assert [(r.id, r.text, r.label) for r in data.pool] == [("s/d.tsv/1/0", 'a "quoted', 0), ("s/d.tsv/3/0", "nice", 1)]


def test_multiple_choice_with_one_row_per_candidate_needs_a_group(tmp_path):
    _write(tmp_path, "d.jsonl", '{"q": "a", "c": "x", "ok": 1}\n{"q": "a", "c": "y", "ok": 0}\n')
    _write(tmp_path, "s.yaml", "name: s\nkind: multiple_choice\nfiles: {pool: d.jsonl}\ntext: '{q} {c}'\nlabel: ok\n")
    with pytest.raises(ValueError, match="group"):
        get_task(str(tmp_path / "s.yaml"))
    _write(tmp_path, "s.yaml", "name: s\nkind: multiple_choice\nfiles: {pool: d.jsonl}\ntext: '{q} {c}'\nlabel: ok\n"
                               "group: 'question {q}'\n")
    data = load_task(str(tmp_path / "s.yaml"))
    assert get_task(str(tmp_path / "s.yaml")).kind == "multiple_choice"
    assert {r.group for r in data.pool} == {"question a"}


def test_correct_may_be_per_answer_flags(tmp_path):
    _write(tmp_path, "d.jsonl", '{"q": "a", "opts": ["x", "y", "z"], "ok": [0, 1, 1]}\n')
    _write(tmp_path, "s.yaml", "name: s\nfiles: {pool: d.jsonl}\ntext: '{q} {answer}'\nanswers: opts\ncorrect: ok\n")
    assert [(r.text, r.label) for r in load_task(str(tmp_path / "s.yaml")).pool] == [
        ("a x", 0), ("a y", 1), ("a z", 1)]


@pytest.mark.parametrize("body,msg", [
    ("hook: nope\n", "unknown hook"),
    ("files: {pool: d.xml, reader: nope}\n", "unknown reader"),
    ("files: {pool: d.jsonl}\nhub: {id: a/b}\n", "files.root: data_dir"),
    ("kind: ranking\n", "kind"),
])
def test_bad_sources_and_hooks_are_named(tmp_path, body, msg):
    base = "name: x\ntext: '{t}'\nlabel: l\n"
    if "files" not in body:
        base += "files: {pool: d.jsonl}\n"
    _write(tmp_path, "bad.yaml", base + body)
    with pytest.raises(ValueError, match=msg):
        get_task(str(tmp_path / "bad.yaml"))


def test_a_user_task_in_the_data_dir_with_a_hub_fallback(tmp_path, monkeypatch):
    spec = _write(tmp_path, "spec/t.yaml", "name: mine\nfiles: {root: data_dir, pool: mine/a.jsonl}\n"
                                           "hub: {id: me/mine, splits: {pool: train}}\ntext: '{t}'\nlabel: l\n")
    _write(tmp_path, "data/mine/a.jsonl", '{"t": "x", "l": 1}\n{"t": "y", "l": 0}\n')
    task = get_task(str(spec))
    assert not task.standalone and task.files == ("mine/a.jsonl",) and task.hub_id == "me/mine"
    assert [r.text for r in load_task(str(spec), tmp_path / "data").pool] == ["x", "y"]
    fake = {"train": [{"t": "h1", "l": 0}, {"t": "unlabelled", "l": -1}, {"t": "h2", "l": 1}]}
    monkeypatch.setitem(sys.modules, "datasets", types.SimpleNamespace(load_dataset=lambda *a, **k: fake))
    pool, test = task.hub(fake)
    assert [(r.id, r.text) for r in pool] == [("mine/hub:train/0/0", "h1"), ("mine/hub:train/2/0", "h2")]
    assert test is None


def test_template_regex_inverts_a_template():
    t = "Word: {word}. Sentence 1: {sentence1} Sentence 2: {sentence2}"
    text = "Word: bank. Sentence 1: The bank. Sentence 2: A river bank ."
    m = template_regex(t).fullmatch(text)
    assert m and t.format(**m.groupdict()) == text


# --- layout: no import cycle inside w2sg.tasks (function-level imports included), small modules ----------


def _task_imports(path: Path) -> set[str]:
    out = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("w2sg.tasks"):
            out |= {node.module} if node.module != "w2sg.tasks" else {f"w2sg.tasks.{a.name}" for a in node.names}
        elif isinstance(node, ast.Import):
            out |= {a.name for a in node.names if a.name.startswith("w2sg.tasks")}
    return out


def test_tasks_import_graph_is_acyclic_and_modules_are_small():
    modules = {f"w2sg.tasks.{p.stem}": p for p in TASKS.glob("*.py") if p.stem != "__init__"}
    graph = {m: _task_imports(p) & set(modules) for m, p in modules.items()}
    done: set[str] = set()

    def visit(m: str, path: tuple[str, ...]) -> None:
        assert m not in path, "import cycle: " + " -> ".join((*path, m))
        if m not in done:
            for n in graph[m]:
                visit(n, (*path, m))
            done.add(m)

    for m in graph:
        visit(m, ())
    assert not graph["w2sg.tasks.registry"] - {"w2sg.tasks.schema"}  # the registry knows no YAML, no loaders
    for p in TASKS.glob("*.py"):
        assert len(p.read_text().splitlines()) <= 400, p.name
