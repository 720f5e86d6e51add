"""Hostile or careless task files (issue 28, items 7 and 8): data a task cannot use gets a note naming the lines, or
an error naming the rows; task files stay in their folder; templates are plain field names; messages never print
the data; one YAML spec given three ways is one task."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from w2sg.cli import app
from w2sg.config import ExperimentSpec, SplitSpec
from w2sg.tasks import MalformedRowError, get_task, load_task, make_splits

runner = CliRunner()
SECRET = "TOPSECRET"  # planted in data files: no message may print it


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def _jsonl(path: Path, rows: list[dict]) -> Path:
    return _write(path, "".join(json.dumps(r) + "\n" for r in rows))


def _binary(tmp_path: Path, labels: list, extra: str = "") -> str:
    _jsonl(tmp_path / "d.jsonl", [{"t": f"text {i}", "y": y} for i, y in enumerate(labels)])
    return str(_write(tmp_path / "t.yaml", f"name: t\nfiles: {{pool: d.jsonl}}\ntext: '{{t}}'\nlabel: y\n{extra}"))


def _run(tmp_path: Path, task: str, encoder: Path) -> tuple[int, str]:
    """`w2sg run` on `task` with tiny models: (exit code, output)."""
    res = runner.invoke(app, ["run", "--task", task, "--weak", str(encoder), "--strong", str(encoder),
                              "--n-weak-train", "4", "--n-transfer", "4", "--n-val", "2", "--n-test", "4",
                              "--seeds", "0", "-m", "naive", "--workdir", str(tmp_path / "wd")],
                        env={"COLUMNS": "2000"})
    return res.exit_code, res.output


def _one_line_error(code: int, out: str) -> str:
    assert code == 2, out
    assert "Traceback" not in out, out
    assert out.count("error:") == 1, out
    return out[out.index("error:"):].replace("\n", "")  # the one message, unwrapped (the console wraps it)


# --- item 7: data checks ----------------------------------------------------------------------------------------

def test_multiple_choice_questions_without_exactly_one_correct_answer_get_a_note(tmp_path):
    flags = [[0, 1, 0], [0, 0, 0], [1, 1, 0], [1, 0, 0], [0, 0, 1]]  # line 2: none correct, line 3: two
    _jsonl(tmp_path / "q.jsonl", [{"q": f"question {i}", "opts": ["x", "y", "z"], "ok": f}
                                  for i, f in enumerate(flags)])
    spec = _write(tmp_path / "q.yaml", "name: q\nfiles: {pool: q.jsonl}\ntext: '{q} {answer}'\nanswers: opts\n"
                                       "correct: ok\n")
    notes = [n for n in load_task(str(spec)).notes if "q.jsonl" in n]
    assert len(notes) == 1, load_task(str(spec)).notes
    assert "2 of 5 questions do not have exactly one correct answer (1 with none, 1 with several)" in notes[0]
    assert "(lines 2, 3)" in notes[0]


def test_pairs_with_identical_responses_get_a_note(tmp_path):
    rows = [{"p": f"prompt {i}", "c": f"good {i}", "r": f"bad {i}"} for i in range(4)]
    rows[2]["r"] = " good  2"  # the same text, whitespace aside
    _jsonl(tmp_path / "p.jsonl", rows)
    spec = _write(tmp_path / "p.yaml", "name: p\nkind: pairwise\nfiles: {pool: p.jsonl}\nprompt: p\nchosen: c\n"
                                       "rejected: r\n")
    notes = [n for n in load_task(str(spec)).notes if "p.jsonl" in n]
    assert notes and "1 of 4 pairs have the same text as 'c' and 'r' (lines 3)" in notes[0], notes


def test_a_pairwise_task_whose_every_pair_is_identical_is_an_error(tmp_path, tiny_encoder):
    _jsonl(tmp_path / "p.jsonl", [{"p": f"prompt {i}", "c": f"answer {i}"} for i in range(40)])
    spec = _write(tmp_path / "p.yaml", "name: p\nkind: pairwise\nfiles: {pool: p.jsonl}\nprompt: p\nchosen: c\n"
                                       "rejected: c\n")
    line = _one_line_error(*_run(tmp_path, str(spec), tiny_encoder))
    assert "p.jsonl" in line and "all 40 pairs" in line and "'c'" in line


@pytest.mark.parametrize("file,body,suggest", [
    ("d.jsonl", "".join(json.dumps({"t": f"x{i}", "y": float(i % 2)}) + "\n" for i in range(6)),
     '{"0.0": 0, "1.0": 1}'),
    ("d.csv", "t,y\n" + "".join(f"x{i},{i % 2}.00\n" for i in range(6)), '{"0.00": 0, "1.00": 1}'),
])
def test_float_labels_are_refused_with_the_label_map_that_reads_them(tmp_path, file, body, suggest):
    _write(tmp_path / file, body)
    spec = _write(tmp_path / "t.yaml", f"name: t\nfiles: {{pool: {file}}}\ntext: '{{t}}'\nlabel: y\n")
    with pytest.raises(MalformedRowError) as e:
        load_task(str(spec))
    assert f"label_map: {suggest}" in str(e.value) and "field 'y'" in str(e.value)
    _write(spec, spec.read_text() + f"label_map: {suggest}\n")  # the suggestion, as written, works
    assert [r.label for r in load_task(str(spec)).pool] == [i % 2 for i in range(6)]


def test_a_one_class_task_is_an_error_not_advice_to_change_the_seed(tmp_path, tiny_encoder):
    spec = _binary(tmp_path, [1] * 40)
    with pytest.raises(ValueError, match="all 40 rows of its pool are of class 1"):
        make_splits(load_task(spec), SplitSpec(n_weak_train=4, n_transfer=4, n_val=2, n_test=4), seed=0)
    line = _one_line_error(*_run(tmp_path, spec, tiny_encoder))
    assert "both classes" in line and "seed" not in line


# --- item 8: task files stay in their folder; templates are field names; no data in messages --------------------

def test_files_outside_the_spec_folder_are_refused(tmp_path, tiny_encoder):
    _write(tmp_path / "outside.csv", f"{SECRET}_a,{SECRET}_b\n1,2\n")
    spec = _write(tmp_path / "a" / "b" / "t.yaml", "name: t\nfiles: {pool: ../../outside.csv}\ntext: '{t}'\n"
                                                   "label: y\n")
    with pytest.raises(ValueError, match=r"files\.pool '\.\./\.\./outside\.csv' leaves the spec's folder"):
        get_task(str(spec))
    line = _one_line_error(*_run(tmp_path, str(spec), tiny_encoder))
    assert "absolute path" in line and SECRET not in line


def test_files_outside_the_data_dir_are_refused(tmp_path):
    spec = _write(tmp_path / "t.yaml", "name: t\nfiles: {root: data_dir, pool: sst2/../../x.tsv}\ntext: '{t}'\n"
                                       "label: y\n")
    with pytest.raises(ValueError, match=r"files\.pool .* leaves the data directory"):
        get_task(str(spec))
    spec = _write(tmp_path / "t.yaml", "name: t\nfiles: {pool: d.jsonl, also: [../x.txt]}\ntext: '{t}'\nlabel: y\n")
    with pytest.raises(ValueError, match=r"files\.also\[0\]"):
        get_task(str(spec))


def test_an_absolute_path_and_a_path_inside_the_folder_still_read(tmp_path):
    _jsonl(tmp_path / "data" / "d.jsonl", [{"t": "a", "y": 0}, {"t": "b", "y": 1}])
    inside = _write(tmp_path / "t.yaml", "name: t\nfiles: {pool: data/./d.jsonl}\ntext: '{t}'\nlabel: y\n")
    elsewhere = _write(tmp_path / "s" / "t.yaml", f"name: t\nfiles: {{pool: {tmp_path / 'data' / 'd.jsonl'}}}\n"
                                                  "text: '{t}'\nlabel: y\n")
    assert [r.text for r in load_task(str(inside)).pool] == [r.text for r in load_task(str(elsewhere)).pool]


def test_a_template_error_does_not_print_the_header_row(tmp_path):
    _write(tmp_path / "d.csv", f"{SECRET}_a,y\nx,0\n")
    spec = _write(tmp_path / "t.yaml", "name: t\nfiles: {pool: d.csv}\ntext: '{t}'\nlabel: y\n")
    with pytest.raises(MalformedRowError) as e:
        load_task(str(spec))
    assert "d.csv, line 2" in str(e.value) and "'t'" in str(e.value) and SECRET not in str(e.value)


@pytest.mark.parametrize("template,what", [
    ("{t:>2000000000}", "format spec"),
    ("{t.__class__.__mro__}", "attribute or index lookup"),
    ("{t[0]}", "attribute or index lookup"),
    ("{t!r}", "conversion"),
    ("{0}", "positional"),
    ("{}", "positional"),
])
def test_templates_are_plain_field_names(tmp_path, template, what):
    _jsonl(tmp_path / "d.jsonl", [{"t": "a", "y": 0}, {"t": "b", "y": 1}])
    spec = _write(tmp_path / "t.yaml", f"name: t\nfiles: {{pool: d.jsonl}}\ntext: '{template}'\nlabel: y\n")
    with pytest.raises(ValueError, match=what):
        get_task(str(spec))


@pytest.mark.parametrize("rows,extra", [
    ([{"t": "a", "y": SECRET}, {"t": "b", "y": 1}], ""),  # a label that is not 0/1
    ([{"t": "a", "y": SECRET}, {"t": "b", "y": "pos"}], "label_map: {pos: 1, neg: 0}\n"),  # not in label_map
])
def test_a_bad_label_is_named_by_its_field_not_its_value(tmp_path, rows, extra):
    _jsonl(tmp_path / "d.jsonl", rows)
    spec = _write(tmp_path / "t.yaml", f"name: t\nfiles: {{pool: d.jsonl}}\ntext: '{{t}}'\nlabel: y\n{extra}")
    with pytest.raises(MalformedRowError) as e:
        load_task(str(spec))
    assert "d.jsonl, line 1" in str(e.value) and "'y'" in str(e.value) and SECRET not in str(e.value)


def test_bad_correct_flags_are_named_by_their_field_not_their_values(tmp_path):
    _jsonl(tmp_path / "q.jsonl", [{"q": "a", "opts": ["x", "y"], "ok": [SECRET, 1]}])
    spec = _write(tmp_path / "q.yaml", "name: q\nfiles: {pool: q.jsonl}\ntext: '{q} {answer}'\nanswers: opts\n"
                                       "correct: ok\n")
    with pytest.raises(MalformedRowError) as e:
        load_task(str(spec))
    assert "field 'ok'" in str(e.value) and SECRET not in str(e.value)


def test_one_yaml_spec_given_three_ways_is_one_task(tmp_path, monkeypatch):
    _jsonl(tmp_path / "d.jsonl", [{"t": "a", "y": 0}, {"t": "b", "y": 1}])
    _write(tmp_path / "tasks" / "t.yaml", f"name: t\nfiles: {{pool: {tmp_path / 'd.jsonl'}}}\ntext: '{{t}}'\n"
                                          "label: y\n")
    monkeypatch.chdir(tmp_path)
    specs = [ExperimentSpec(task=t) for t in ("tasks/t.yaml", "./tasks/t.yaml", str(tmp_path / "tasks" / "t.yaml"),
                                              "tasks/../tasks/t.yaml")]
    assert {s.task for s in specs} == {"tasks/t.yaml"}  # the key a study run from its folder has always had
    assert len({s.hash() for s in specs}) == 1
    monkeypatch.chdir(tmp_path / "tasks")
    assert ExperimentSpec(task="t.yaml").task == ExperimentSpec(task="../tasks/t.yaml").task == "t.yaml"
    (tmp_path / "elsewhere").mkdir()
    monkeypatch.chdir(tmp_path / "elsewhere")  # outside the working directory: the absolute resolved path
    absolute = str((tmp_path / "tasks" / "t.yaml").resolve())
    assert ExperimentSpec(task="../tasks/t.yaml").task == ExperimentSpec(task="../tasks/./t.yaml").task == absolute
    # built-in names and paths that are not files are kept as given (built-in hashes unchanged)
    assert ExperimentSpec(task="sst2").task == "sst2" and ExperimentSpec(task="./nowhere.yaml").task == "./nowhere.yaml"
