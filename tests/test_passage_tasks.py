"""Passage items (issue 24): YAML tasks declare `context:` (the evidence, split out as `Example.passage`) and name
the question key apart from the split group (`question:`), so a passage's questions stay in one split while
per-question accuracy is scored per question (its CI resampling whole passages)."""

from __future__ import annotations

import dataclasses
import json
from collections import Counter, defaultdict

import numpy as np
import pytest
from typer.testing import CliRunner

from w2sg.cli import app
from w2sg.config import SplitSpec
from w2sg.items import Passage
from w2sg.metrics import evaluate, per_question_correct, supervisor_metrics
from w2sg.pipeline import Pipeline
from w2sg.tasks import get_task, load_task, make_splits
from w2sg.tasks.rows import fingerprint
from w2sg.tasks.schema import Example

from .conftest import SHARED_DATA, tiny_spec

N_PASSAGES, N_QUESTIONS = 120, 3  # per passage; each question has two candidates, one correct
RIGHT, WRONG = ["great", "wonderful", "superb", "delightful"], ["awful", "boring", "dreadful", "dull"]


def _write_reading_task(folder, question: bool = True, name: str = "reading"):
    """A multiple-choice reading task: N_PASSAGES passages, N_QUESTIONS questions each, grouped by passage."""
    with open(folder / "reading.jsonl", "w") as f:
        for p in range(N_PASSAGES):
            passage = f"the movie plot {p} was quite really the film. the actors {p} felt fine."
            for q in range(N_QUESTIONS):
                good, bad = RIGHT[(p + q) % 4], WRONG[(p * q) % 4]
                answers, correct = ([good, bad], 0) if (p + q) % 2 == 0 else ([bad, good], 1)
                f.write(json.dumps({"passage_id": f"p{p}", "qid": f"p{p}q{q}", "passage": passage,
                                    "question": f"how was scene {q} ?", "answers": answers,
                                    "correct": correct}) + "\n")
    spec = folder / f"{name}.yaml"
    spec.write_text(
        f"name: {name}\nkind: multiple_choice\nfiles: {{pool: reading.jsonl}}\n"
        "text: \"{passage}\\nQuestion: {question}\\nAnswer: {answer}\"\nanswers: answers\ncorrect: correct\n"
        "group: passage_id\ncontext: passage\n" + ("question: qid\n" if question else ""))
    return spec


# ---- loading: passages, question keys, splits ------------------------------------------------------------------------


def test_several_questions_per_passage_keep_the_passage_in_one_split(tmp_path):
    data = load_task(str(_write_reading_task(tmp_path)))
    assert len(data.pool) == N_PASSAGES * N_QUESTIONS * 2 and not data.notes
    r = data.pool[0]
    assert r.group == "p0" and r.question == "p0q0" and r.question_key == "p0q0"
    assert r.passage == Passage("the movie plot 0 was quite really the film. the actors 0 felt fine.",
                                "how was scene 0 ?", "great", ("awful",))
    assert r.passage.claim == "how was scene 0 ?\nAnswer: great"
    assert data.pool[1].passage.answer == "awful" and data.pool[1].passage.alternatives == ("great",)
    per_question = defaultdict(list)
    for row in data.pool:
        per_question[row.question_key].append(row.label)
    assert len(per_question) == N_PASSAGES * N_QUESTIONS and all(sorted(v) == [0, 1] for v in per_question.values())
    splits = make_splits(data, SplitSpec(n_weak_train=120, n_transfer=120, n_val=30, n_test=120), seed=3)
    where = defaultdict(set)
    for split, rows in splits.items():
        for row in rows:
            where[row.group].add(split)
    assert len(where) > 40 and all(len(s) == 1 for s in where.values())  # no passage straddles two splits


def test_without_question_key_the_check_note_fires(tmp_path):
    data = load_task(str(_write_reading_task(tmp_path, question=False)))
    (note,) = data.notes
    assert f"{N_PASSAGES} of {N_PASSAGES} questions do not have exactly one correct answer" in note
    assert f"{N_PASSAGES} groups hold several correct answers (up to {N_QUESTIONS})" in note
    assert "per-question scores need `question:`" in note
    assert all(r.question is None for r in data.pool)


def test_a_few_repeated_questions_get_no_question_hint(tmp_path):
    """A question repeated with another correct answer (sciq has 21 in 12,597) is not a passage of questions."""
    rows = [{"q": f"question {i}", "answers": ["yes", "no"], "correct": i % 2} for i in range(40)]
    rows.append({"q": "question 0", "answers": ["no", "maybe"], "correct": 0})  # question 0: a second answer
    (tmp_path / "mc.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    (tmp_path / "mc.yaml").write_text("name: mc\nfiles: {pool: mc.jsonl}\ntext: '{q} {answer}'\nanswers: answers\n"
                                      "correct: correct\ngroup: q\n")
    (note,) = [n for n in load_task(str(tmp_path / "mc.yaml")).notes if "exactly one correct answer" in n]
    assert "1 with several" in note and "question:" not in note


def test_binary_and_per_candidate_passages(tmp_path):
    rows = [{"sid": f"s{i // 4}", "sentence": f"sentence {i // 4}.", "question": f"q{i // 2}", "answer": f"a{i}",
             "label": i % 2} for i in range(16)]
    (tmp_path / "b.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    base = "files: {pool: b.jsonl}\ntext: '{sentence} {question} {answer}'\nlabel: label\ngroup: sid\n"
    (tmp_path / "yesno.yaml").write_text("name: yesno\n" + base + "context: sentence\nclaim: '{question}?'\n")
    (tmp_path / "cand.yaml").write_text("name: cand\n" + base + "context: sentence\nanswer: answer\n"
                                        "question: '{sid}/{question}'\n")
    yesno, cand = (load_task(str(tmp_path / f"{n}.yaml")).pool for n in ("yesno", "cand"))
    assert yesno[0].passage == Passage("sentence 0.", "q0?", "yes", ("no",)) and yesno[0].question is None
    assert cand[3].passage == Passage("sentence 0.", "q1", "a3", ()) and cand[3].question == "s0/q1"
    assert cand[3].group == "s0" and cand[3].text == yesno[3].text


@pytest.mark.parametrize("extra,message", [
    ("question: qid\n", "without 'group'"),
    ("claim: '{question}'\n", "declare 'context'"),
    ("answer: qid\n", "declare 'context'"),
    ("context: passage\nanswer: qid\n", "proposes each of them"),
])
def test_passage_fields_are_checked(tmp_path, extra, message):
    (tmp_path / "t.yaml").write_text("name: t\nfiles: {pool: x.jsonl}\ntext: '{passage} {answer}'\n"
                                     "answers: answers\ncorrect: correct\n" + extra)
    with pytest.raises(ValueError, match=message):
        get_task(str(tmp_path / "t.yaml"))


def test_passage_fields_fit_the_kind(tmp_path):
    (tmp_path / "pc.yaml").write_text("name: pc\nkind: multiple_choice\nfiles: {pool: x.jsonl}\ntext: '{t}'\n"
                                      "label: label\ngroup: q\ncontext: passage\n")
    with pytest.raises(ValueError, match="needs 'answer'"):
        get_task(str(tmp_path / "pc.yaml"))
    (tmp_path / "pw.yaml").write_text("name: pw\nkind: pairwise\nfiles: {pool: x.jsonl}\nchosen: a\nrejected: b\n"
                                      "context: passage\n")
    with pytest.raises(ValueError, match="binary and multiple_choice"):
        get_task(str(tmp_path / "pw.yaml"))
    (tmp_path / "d.yaml").write_text("name: d\nderive: {from: sst2}\ncontext: passage\n")
    with pytest.raises(ValueError, match="drop 'context'"):
        get_task(str(tmp_path / "d.yaml"))


def test_default_claim_needs_a_question_field(tmp_path):
    (tmp_path / "x.jsonl").write_text(json.dumps({"passage": "p.", "query": "is it", "label": 1}) + "\n")
    (tmp_path / "t.yaml").write_text("name: t\nfiles: {pool: x.jsonl}\ntext: '{passage} {query}'\nlabel: label\n"
                                     "context: passage\n")
    with pytest.raises(ValueError, match="no field 'question'.*declare 'claim:'"):
        load_task(str(tmp_path / "t.yaml"))


def test_pairs_derived_from_a_passage_task_pair_within_each_question(tmp_path):
    _write_reading_task(tmp_path)
    (tmp_path / "pairs.yaml").write_text("name: reading_pairs\nderive: {pairwise_from: reading.yaml}\n")
    pairs = load_task(str(tmp_path / "pairs.yaml")).pool
    assert len(pairs) == N_PASSAGES * N_QUESTIONS  # one correct x one wrong candidate per question
    assert Counter(r.group for r in pairs) == {f"p{p}": N_QUESTIONS for p in range(N_PASSAGES)}
    # the prompt (the candidates' shared prefix) is the passage and one question: pairs never mix questions
    assert all(r.pair.prompt.endswith(" ?") and "\nQuestion: how was scene" in r.pair.prompt for r in pairs)
    assert len({r.pair.prompt for r in pairs}) == N_PASSAGES * N_QUESTIONS


# ---- fingerprint: the question key is hashed, the passage is not -----------------------------------------------------


def test_fingerprint_hashes_the_question_key_but_not_the_passage():
    rows = [Example(f"r{i}", f"g{i // 2}", f"text {i}", i % 2) for i in range(6)]
    with_passage = [dataclasses.replace(r, passage=Passage(f"ctx {r.group}", "q", "yes", ("no",))) for r in rows]
    other_passage = [dataclasses.replace(r, passage=Passage("another context", "q2", "no")) for r in rows]
    fp = fingerprint(rows, None)
    assert fingerprint(with_passage, None) == fingerprint(other_passage, None) == fp
    with_question = [dataclasses.replace(r, question=f"q{i}") for i, r in enumerate(rows)]
    assert fingerprint(with_question, None) != fp
    assert fingerprint([dataclasses.replace(r, question="q0") for r in rows], None) != fingerprint(with_question, None)
    assert fp == "a2b928659d43a177"  # rows without a question key hash exactly as before question keys existed


# ---- scoring per question, resampling whole passages ---------------------------------------------------------------


def _reading_scores(n_passages: int = 40, n_questions: int = 4, seed: int = 0):
    """Rows of n_passages x n_questions two-candidate questions; the model is right on all questions of a passage
    or on none (passage difficulty), so questions of one passage are not independent."""
    rng = np.random.default_rng(seed)
    labels, groups, questions, probs = [], [], [], []
    for p in range(n_passages):
        right = rng.random() < 0.6
        for q in range(n_questions):
            for lab in (1, 0):
                labels.append(lab)
                groups.append(f"p{p}")
                questions.append(f"p{p}q{q}")
                probs.append(0.8 if (lab == 1) == right else 0.2)
    return np.array(labels), groups, questions, np.array(probs)


def test_q_acc_is_scored_over_questions_and_its_ci_resamples_passages():
    y, groups, questions, p = _reading_scores()
    weak, ceiling = np.clip(p + 0.05, 0, 1), np.clip(p + 0.1 * (2 * y - 1), 0, 1)
    rec = evaluate(y, weak, ceiling, p, test_groups=groups, test_questions=questions, n_boot=400)
    expected = per_question_correct(p, y, questions)
    assert len(expected) == rec["n_questions"] == 160 and rec["n_test_groups"] == 40
    assert rec["student_q_acc"] == pytest.approx(expected.mean())
    # without question keys a passage (4 correct answers) is no question: no per-question score at all
    plain = evaluate(y, weak, ceiling, p, test_groups=groups, n_boot=400)
    assert plain["student_q_acc"] is None and plain["n_questions"] == 0
    assert {k: v for k, v in plain.items() if "q_acc" not in k and k not in ("n_questions", "q_coverage")} == \
        {k: v for k, v in rec.items() if "q_acc" not in k and k not in ("n_questions", "q_coverage")}
    # questions of one passage move together: resampling passages gives a CI about twice as wide (sqrt 4) as
    # resampling the 160 questions as if independent (the keys as groups: every question its own unit)
    iid = evaluate(y, weak, ceiling, p, test_groups=questions, n_boot=400)
    assert iid["student_q_acc"] == pytest.approx(rec["student_q_acc"])
    width = rec["student_q_acc_ci_high"] - rec["student_q_acc_ci_low"]
    assert width > 1.5 * (iid["student_q_acc_ci_high"] - iid["student_q_acc_ci_low"])
    assert supervisor_metrics(y, p, test_groups=groups, test_questions=questions)["supervisor_q_acc"] == \
        pytest.approx(expected.mean())
    assert supervisor_metrics(y, p, test_groups=groups)["supervisor_q_acc"] is None


def test_question_keys_equal_to_groups_change_nothing():
    y, groups, questions, p = _reading_scores(n_passages=60, n_questions=1)
    weak, ceiling = np.clip(p + 0.05, 0, 1), np.clip(p + 0.1 * (2 * y - 1), 0, 1)
    plain = evaluate(y, weak, ceiling, p, test_groups=groups, n_boot=300)
    assert plain["n_questions"] == 60
    assert evaluate(y, weak, ceiling, p, test_groups=groups, test_questions=None, n_boot=300) == plain


def test_the_pipeline_scores_a_passage_task_per_question(tmp_path, tiny_encoder):
    spec_path = _write_reading_task(tmp_path)
    pipe = Pipeline(tmp_path / "runs")
    spec = tiny_spec(spec_path, tiny_encoder, tiny_encoder)
    rec = pipe.run(spec)
    test = pipe.res.splits(spec).test
    keys = [r.question_key for r in test]
    assert rec["n_questions"] == len(set(keys)) == len(test) // 2 and rec["n_test_groups"] == len(test) // 6
    student = pipe.cache.load("student", pipe.keys(spec)["student"])[0]["test"]
    labels = np.array([r.label for r in test])
    assert rec["student_q_acc"] == pytest.approx(per_question_correct(student, labels, keys).mean())


# ---- the built-in reading tasks on the real data ---------------------------------------------------------------------


def _need_data(task: str) -> None:
    if not (SHARED_DATA / task).is_dir():
        pytest.skip(f"needs ../shared/data/{task}")


def test_quail_rows_have_passages_and_one_correct_answer_per_question():
    _need_data("quail")
    data = load_task("quail", SHARED_DATA)
    assert all(r.passage is not None and len(r.passage.context.split()) > 100 for r in data.pool)
    groups = {r.group for r in data.pool}
    assert 100 <= len(groups) <= 200  # passages (120 in the dev file), not questions
    assert len({r.passage.context for r in data.pool}) >= len(groups) - 2  # a passage is its group
    per_question = defaultdict(list)
    for r in data.pool:
        per_question[r.question_key].append(r)
    assert len(per_question) > 2000
    one = [q for q, rows in per_question.items() if sum(r.label for r in rows) == 1]
    assert len(one) >= len(per_question) - 2  # loading drops two rows whose text occurs with both labels
    for rows in per_question.values():  # one passage and claim per question; each row's alternatives: the others
        assert len({r.group for r in rows}) == 1 and len({r.passage.question for r in rows}) == 1
        assert all({x.passage.answer for x in rows} <= {r.passage.answer, *r.passage.alternatives} for r in rows)
        assert all(len(r.passage.alternatives) == 3 for r in rows)  # (a few questions repeat a candidate)


def test_boolq_gains_a_passage_and_keeps_its_fingerprint():
    _need_data("boolq")
    data = load_task("boolq", SHARED_DATA)
    assert data.fingerprint == "ece889aae3a9c7aa"  # as pinned in test_task_fingerprints: no cached result moves
    r = data.pool[0]
    assert r.passage.answer == "yes" and r.passage.alternatives == ("no",) and r.passage.question.endswith("?")
    assert r.text.startswith(f"Passage: {r.passage.context}") and r.question is None


def test_sciq_declares_no_context():
    assert all(r.passage is None for r in get_task("sciq").load_hub(
        {s: [{"question": "Q?", "correct_answer": "a", "distractor1": "b", "distractor2": "c", "distractor3": "d",
              "support": "S."}] for s in ("train", "test")})[0])


def test_task_listing_is_unaffected():
    _need_data("quail")
    res = CliRunner().invoke(app, ["tasks", "--data-dir", str(SHARED_DATA)], env={"COLUMNS": "250"})
    assert res.exit_code == 0
    for name in ("quail", "cosmos_qa", "boolq", "mc_taco", "sciq"):
        assert name in res.output
