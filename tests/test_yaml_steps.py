"""YAML `kind: steps` tasks: the generated form is the chain generator of the same knobs, the user-data form gives
each solution's prefix rows (labels, groups, meta) from its records, and every bad input says what to fix."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from w2sg.config import SplitSpec
from w2sg.tasks import get_task, load_task, load_yaml_task_spec, make_splits
from w2sg.tasks.catalog import task_summary
from w2sg.tasks.chains import ChainSpec, generate
from w2sg.tasks.rows import MalformedRowError, finalize

REPO = Path(__file__).resolve().parents[1]
EXAMPLE = REPO / "examples" / "steps_task"
SMALL = "{lengths: [2, 4], test_lengths: [5, 6], digits: [1, 2], ops: [add, mul], rho: 0.2, slip: 0.4, " \
        "candidates: 4, problems: 25, test_problems: 8, seed: 5}"


def _write(root: Path, name: str, text: str) -> Path:
    p = root / name
    p.write_text(text, encoding="utf-8")
    return p


def _rows(data):
    return [(r.id, r.group, r.text, r.label, r.meta, r.steps) for r in data.pool + (data.test or [])]


# ---------------------------------------------------------------- the generated form


@pytest.mark.parametrize("labels", ["step", "outcome"])
def test_generated_form_is_the_generator_of_the_same_knobs(tmp_path, labels):
    spec = _write(tmp_path, "c.yaml", f"name: c\nkind: steps\ngenerate: {SMALL}\nlabels: {labels}\n")
    data = load_task(str(spec))
    pool, test = generate(ChainSpec(lengths=(2, 4), test_lengths=(5, 6), digits=(1, 2), ops=("add", "mul"), rho=0.2,
                                    slip=0.4, candidates=4, problems=25, test_problems=8, seed=5, labels=labels))
    want = finalize("c", pool, test, "generated")
    assert data.fingerprint == want.fingerprint and _rows(data) == _rows(want)
    assert {r.meta_dict["labels"] for r in data.pool} == {labels} and data.source == "generated"
    task = get_task(str(spec))
    assert task.kind == "steps" and "lengths 2-4, test lengths 5-6" in task.description and "ops add/mul" in \
        task.description


def test_generate_alone_is_chainspecs_defaults_and_a_range_may_be_one_number(tmp_path):
    alone = _write(tmp_path, "a.yaml", "name: chains\ngenerate:\n")  # no kind: `generate` makes it a steps task
    assert load_yaml_task_spec(alone).kind == "steps"
    assert load_task(str(alone)).fingerprint == load_task("chains").fingerprint
    outcome = _write(tmp_path, "o.yaml", "name: chains_outcome\nkind: steps\ngenerate: {}\nlabels: outcome\n")
    assert load_task(str(outcome)).fingerprint == load_task("chains_outcome").fingerprint
    one = _write(tmp_path, "d.yaml", "name: d\nkind: steps\ngenerate: {digits: 2, problems: 5, test_problems: 2}\n")
    want = finalize("d", *generate(ChainSpec(digits=(2, 2), problems=5, test_problems=2)), "generated")
    assert load_task(str(one)).fingerprint == want.fingerprint


def test_the_generated_example_loads(tmp_path):
    task = get_task(str(EXAMPLE / "chains.yaml"))
    assert task.kind == "steps" and task.standalone and task.files == ()
    assert "rho 0.2, slip 0.4, 8 candidates, 400+100 problems" in task.description


# ---------------------------------------------------------------- user data


def _expected(record: dict) -> list[int]:
    """The step rows' labels of a record of the example: 1 while every rating so far is >= 0."""
    out, ok = [], True
    for rating in record["ratings"]:
        ok = ok and rating >= 0
        out.append(int(ok))
    return out


def test_the_user_data_example_gives_each_solutions_prefix_rows():
    records = [json.loads(line) for line in (EXAMPLE / "solutions.jsonl").read_text().splitlines()]
    data = load_task(str(EXAMPLE / "solutions.yaml"))
    assert len(records) == 12 and len({r["problem_id"] for r in records}) == 4
    assert len(data.pool) == sum(len(r["steps"]) for r in records) and data.test is None and not data.notes
    by_id = {r.id: r for r in data.pool}
    for rec in records:
        solution = f"my_word_problems/solutions.jsonl/{rec['sid']}"
        labels = _expected(rec)
        first = labels.index(0) + 1 if 0 in labels else 0
        for k, label in enumerate(labels, 1):
            row = by_id[f"{solution}-k{k}"]
            header = f"Problem: {rec['question']}\nSolution {rec['sid']}:"
            assert row.text == "\n".join([header, *rec["steps"][:k]]) == row.steps.text
            assert row.steps.steps == tuple(rec["steps"]) and row.steps.upto == k and row.steps.solution == solution
            assert row.label == label and row.group == rec["problem_id"]
            assert row.meta_dict == {"labels": "step", "solution": solution, "n_steps": str(len(rec["steps"])),
                                     "outcome": str(rec["answer_correct"]), "trace": str(int(all(labels))),
                                     "first_error": str(first), "step": str(k),
                                     "error": "none" if label else "error", "topic": rec["topic"]}
    # a neutral rating (0) counts as right; the answer-right, trace-wrong solutions are there
    assert [r.label for r in data.pool if r.meta_dict["solution"].endswith("apples-c")] == [1, 0, 0, 0]
    assert {r.meta_dict["solution"].rsplit("/", 1)[1] for r in data.pool
            if r.meta_dict["outcome"] == "1" and r.meta_dict["trace"] == "0"} == {"apples-c", "shirts-c"}
    assert get_task(str(EXAMPLE / "solutions.yaml")).kind == "steps"
    assert task_summary(str(EXAMPLE / "solutions.yaml"))["n_groups"] == 4


def test_outcome_labels_give_one_row_per_solution(tmp_path):
    (tmp_path / "solutions.jsonl").write_text((EXAMPLE / "solutions.jsonl").read_text())
    spec = (EXAMPLE / "solutions.yaml").read_text().replace("labels: step ", "labels: outcome ")
    data = load_task(str(_write(tmp_path, "solutions.yaml", spec)))
    records = {json.loads(x)["sid"]: json.loads(x) for x in (EXAMPLE / "solutions.jsonl").read_text().splitlines()}
    assert len(data.pool) == 12
    for r in data.pool:
        rec = records[r.id.rsplit("/", 1)[1]]
        assert r.label == rec["answer_correct"] and r.meta_dict["labels"] == "outcome"
        assert r.steps.upto == r.steps.n_steps == len(rec["steps"]) and r.meta_dict["step"] == str(len(rec["steps"]))


def test_csv_cells_binary_labels_a_test_file_and_whole_groups_in_splits(tmp_path):
    lines = ["pid,q,steps,ok,right"]
    for p in range(24):
        for c in range(3):
            wrong = (p + c) % 3 == 0
            steps = json.dumps([f"{p} + {c} = {p + c + (1 if wrong else 0)}", "done"]).replace('"', '""')
            labels = "[0, 1]" if wrong else "[true, true]"
            lines.append(f'p{p},"Q{p}, candidate {c}","{steps}","{labels}",{int(not wrong)}')
    _write(tmp_path, "train.csv", "\n".join(lines[:55]) + "\n")
    _write(tmp_path, "test.csv", "\n".join([lines[0], *lines[55:]]) + "\n")
    spec = _write(tmp_path, "s.yaml", "name: s\nkind: steps\nfiles: {pool: train.csv, test: test.csv}\n"
                                      "problem: '{q}'\nsteps: steps\nstep_labels: ok\noutcome: right\ngroup: pid\n")
    data = load_task(str(spec))
    assert len(data.pool) == 54 * 2 and len(data.test) == 18 * 2
    first = data.pool[0]
    assert first.id == "s/train.csv/2-k1" and first.text == "Q0, candidate 0\n0 + 0 = 1" and first.label == 0
    assert [r.label for r in data.pool[2:4]] == [1, 1] and data.pool[1].label == 0  # after a wrong step, 0
    splits = make_splits(data, SplitSpec(n_weak_train=20, n_transfer=20, n_val=6, n_test=10), seed=0)
    where = {}
    for name, rows in splits.items():
        for r in rows:
            assert where.setdefault(r.group, name) == name  # a problem's candidates never straddle two splits


def test_repeated_prefixes_are_noted(tmp_path):
    _write(tmp_path, "d.jsonl", '{"g": "a", "q": "Q", "s": ["x", "y"], "l": [1, 1], "o": 1}\n'
                                '{"g": "a", "q": "Q", "s": ["x", "z"], "l": [1, 0], "o": 0}\n')
    spec = _write(tmp_path, "s.yaml", "name: s\nfiles: {pool: d.jsonl}\nproblem: q\nsteps: s\nstep_labels: l\n"
                                      "outcome: o\ngroup: g\n")
    assert load_yaml_task_spec(spec).kind == "steps"  # `steps` without a kind: a steps task
    data = load_task(str(spec))
    assert len(data.pool) == 3 and any("1 rows repeat the text of another solution's rows" in n for n in data.notes)


def test_existing_specs_hash_as_before():
    spec = load_yaml_task_spec(REPO / "examples" / "custom_task" / "quiz.yaml")
    assert not {"generate", "labels", "problem", "steps", "step_labels", "step_scale", "outcome", "id"} & \
        set(spec.model_dump())


# ---------------------------------------------------------------- bad input

GOOD = {"g": "a", "q": "Q", "s": ["x", "y"], "l": [1, 0], "o": 0}
MAPPING = "problem: q\nsteps: s\nstep_labels: l\noutcome: o\ngroup: g\n"


def _user(tmp_path: Path, records: list[dict], extra: str = "", mapping: str = MAPPING):
    _write(tmp_path, "d.jsonl", "".join(json.dumps(r) + "\n" for r in records))
    return load_task(str(_write(tmp_path, "s.yaml", f"name: s\nkind: steps\nfiles: {{pool: d.jsonl}}\n{mapping}"
                                                    f"{extra}")))


@pytest.mark.parametrize("record,extra,message", [
    ({**GOOD, "l": [1]}, "", r"d.jsonl, line 2: field 's' holds 2 steps but field 'l' 1 labels: give one label per"),
    ({**GOOD, "s": []}, "", r"line 2: field 's' is an empty list: a solution needs at least one step"),
    ({**GOOD, "s": "x\ny"}, "", r"line 2: field 's' holds a string of 3 characters: expected a list"),
    ({**GOOD, "s": ["x", ""]}, "", r"line 2: step 2 of field 's' is an empty string"),
    ({k: v for k, v in GOOD.items() if k != "l"}, "", r"line 2: missing field 'l'"),
    ({**GOOD, "l": [1, -1]}, "", r"step 2's label in field 'l' is a number: expected 0/1 or true/false\. -1 is a "
                                 r"PRM800K rating: declare step_scale: prm800k"),
    ({**GOOD, "l": [1, 2]}, "step_scale: prm800k\n", r"step 2's label in field 'l' is a number: with step_scale: "
                                                     r"prm800k a label is a rating -1, 0 or 1"),
    ({**GOOD, "l": [1, True]}, "step_scale: prm800k\n", r"step 2's label .* is a boolean"),
    ({**GOOD, "o": "maybe"}, "", r"line 2: field 'o' \(the outcome\) holds a string of 5 characters"),
    ({**GOOD, "l": "[1, "}, "", r"line 2: field 'l' is not a JSON list"),
    (GOOD, "id: q\n", r"line 2: solution id 'Q' \(field 'q'\) repeats the one of line 1"),
])
def test_bad_records_name_the_file_line_and_fix(tmp_path, record, extra, message):
    with pytest.raises(MalformedRowError, match=message):
        _user(tmp_path, [GOOD, record], extra)


@pytest.mark.parametrize("spec,message", [
    ("kind: steps\ngenerate: {}\nfiles: {pool: d.jsonl}\n", r"'generate' makes arithmetic chains, with their "
                                                                 r"problems and labels: drop 'files'"),
    (f"kind: steps\ngenerate: {{}}\n{MAPPING}", r"drop 'group', 'problem', 'steps', 'step_labels', 'outcome'"),
    ("kind: binary\nfiles: {pool: d.jsonl}\ntext: '{q}'\nlabel: o\nsteps: s\n", r"'steps' describe step-labelled "
                                                                                r"solutions: set kind: steps \(this "
                                                                                r"task is binary\)"),
    ("kind: multiple_choice\nfiles: {pool: d.jsonl}\ntext: '{q} {answer}'\nanswers: s\ncorrect: o\nlabels: step\n",
     r"'labels' describe step-labelled solutions: set kind: steps"),
    (f"kind: steps\nfiles: {{pool: d.jsonl}}\n{MAPPING}labels: steps\n", r"field 'labels': Input should be 'step' "
                                                                         r"or 'outcome'"),
    (f"kind: steps\nfiles: {{pool: d.jsonl}}\n{MAPPING}step_scale: likert\n", r"field 'step_scale': Input should be "
                                                                              r"'binary' or 'prm800k'"),
    ("kind: steps\nfiles: {pool: d.jsonl}\nproblem: q\nsteps: s\nstep_labels: l\noutcome: o\n",
     r"a steps task from files needs 'group': .*'group' the problem"),
    ("kind: steps\n", r"a steps task needs 'generate' \(arithmetic chains.*or 'files'"),
    (f"kind: steps\nfiles: {{pool: d.jsonl}}\n{MAPPING}text: '{{q}}'\n", r"a steps task does not use 'text'"),
    (f"kind: steps\nfiles: {{pool: d.jsonl}}\n{MAPPING}meta: [outcome]\n", r"meta 'outcome': a steps row's meta "
                                                                           r"already has these names"),
    ("kind: steps\nfiles: {pool: d.jsonl}\nproblem: q\nsteps: '{s}'\nstep_labels: l\noutcome: o\ngroup: g\n",
     r"'steps' names a field of the records"),
    ("kind: steps\ngenerate: {ops: [add, div]}\n", r"field 'generate': Value error, chains: ops \['div'\] unknown"),
    ("kind: steps\ngenerate: {rho: 0.7, slip: 0.5}\n", r"rho=0.7 and slip=0.5 must be shares that sum to at most 1"),
    ("kind: steps\ngenerate: {lengths: [2, 30]}\n", r"lengths=2-30 is not a range within 1-12 steps"),
    ("kind: steps\ngenerate: {seed: null}\n", r"generate.seed is null: give a value or leave it out"),
    ("kind: steps\ngenerate: {problms: 3}\n", r"field 'generate.problms': Extra inputs are not permitted"),
    ("kind: steps\ngenerate: {}\ntransform: {cipher: {}}\n", r"'transform' rewrites a task's texts"),
    ("derive: {from: chains}\nlabels: outcome\n", r"a derived task takes its rows from 'chains': drop 'labels'"),
    ("kind: steps\nfiles: {pool: d.jsonl}\nproblem: '{0}'\nsteps: s\nstep_labels: l\noutcome: o\ngroup: g\n",
     r"field 'problem': .*\{0\} is a positional placeholder"),
    (f"kind: steps\nfiles: {{pool: d.jsonl}}\nhub: {{id: x/y}}\n{MAPPING}", r"set files.root: data_dir"),
])
def test_bad_specs_say_what_to_fix(tmp_path, spec, message):
    _write(tmp_path, "d.jsonl", json.dumps(GOOD) + "\n")
    with pytest.raises(ValueError, match=message):
        get_task(str(_write(tmp_path, "s.yaml", f"name: s\n{spec}")))


def test_a_transform_of_a_derived_steps_task_is_refused(tmp_path):
    spec = _write(tmp_path, "s.yaml", "name: s\nderive: {from: chains}\ntransform: {cipher: {}}\n")
    with pytest.raises(ValueError, match=r"the steps task 's' has rows that carry their steps too"):
        get_task(str(spec))


# ---------------------------------------------------------------- the recipe


def test_the_contributing_recipe_loads(tmp_path):
    text = (REPO / "CONTRIBUTING.md").read_text()
    section = text[text.index("### A steps task (process supervision)"):text.index("## Where things live")]
    generated, user = re.findall(r"```yaml\n(.*?)```", section, re.S)
    (tmp_path / "solutions.jsonl").write_text((EXAMPLE / "solutions.jsonl").read_text())
    g = get_task(str(_write(tmp_path, "g.yaml", generated)))
    assert g.kind == "steps" and "lengths 2-4, test lengths 6-8" in g.description
    data = load_task(str(_write(tmp_path, "u.yaml", user)))
    assert len(data.pool) == 37 and len({r.group for r in data.pool}) == 4


def test_w2sg_tasks_lists_a_spec_by_path():
    from typer.testing import CliRunner

    from w2sg.cli import app

    res = CliRunner().invoke(app, ["tasks", str(EXAMPLE / "solutions.yaml")], env={"COLUMNS": "250"})
    assert res.exit_code == 0, res.output
    row = next(line for line in res.output.splitlines() if "solutions.yaml" in line)
    assert "steps" in row and " 37 " in row and " 4 " in row and "chains" not in res.output


def test_hub_records_are_solutions_too(tmp_path):
    spec = _write(tmp_path, "s.yaml", f"name: s\nkind: steps\nhub: {{id: me/solutions}}\n{MAPPING}labels: outcome\n")
    pool, test = get_task(str(spec)).load_hub({"train": [GOOD, {**GOOD, "g": "b", "l": [1, 1], "o": 1}]})
    assert test is None and [(r.id, r.group, r.label, r.meta_dict["trace"]) for r in pool] == [
        ("s/hub:train/0", "a", 0, "0"), ("s/hub:train/1", "b", 1, "1")]
