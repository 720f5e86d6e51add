"""The chain generator: seeded, every label checked by an independent evaluation of the written text."""

from __future__ import annotations

import re
from collections import Counter

import pytest

from w2sg.tasks.catalog import get_task, load_task
from w2sg.tasks.chains import ChainSpec, generate, labelled_rows, step_correct

WORDS = {"Add": "+", "Subtract": "-", "Multiply by": "*"}


def _independent_labels(text: str) -> tuple[list[bool], bool]:
    """(is each written line a right step, is the final answer right), read from the row's text alone."""
    head, _, body = text.partition("\nSolution ")
    problem = head.removeprefix("Problem: ")
    start = int(re.match(r"Start with (\d+)\.", problem)[1])
    ops = [(WORDS[w], int(n)) for w, n in re.findall(r"(Add|Subtract|Multiply by) (\d+)\.", problem)]
    lines = body.split("\n")[1:]
    value = start
    for sym, b in ops:
        value = eval(f"{value} {sym} {b}")  # noqa: S307  (digits and one operator, from our own regex)
    right, prev = [], start
    for (sym, b), line in zip(ops, lines, strict=False):
        a, s, b2, c = re.fullmatch(r"(-?\d+) ([+\-*]) (-?\d+) = (-?\d+)", line).groups()
        right.append(int(a) == prev and s == sym and int(b2) == b and eval(f"{a} {s} {b2}") == int(c))  # noqa: S307
        prev = int(c)
    return right, prev == value


@pytest.fixture(scope="module")
def step_rows():
    return generate(ChainSpec(problems=60, test_problems=20, seed=3))


def test_same_spec_same_rows_and_another_seed_differs():
    a, b = generate(ChainSpec(problems=20, test_problems=5)), generate(ChainSpec(problems=20, test_problems=5))
    assert [(r.id, r.text, r.label, r.meta) for r in a[0] + a[1]] == [(r.id, r.text, r.label, r.meta)
                                                                      for r in b[0] + b[1]]
    c = generate(ChainSpec(problems=20, test_problems=5, seed=1))
    assert [r.text for r in c[0]] != [r.text for r in a[0]]
    assert load_task("chains").fingerprint == load_task("chains").fingerprint


def test_every_step_label_matches_exact_evaluation_of_the_text(step_rows):
    pool, test = step_rows
    kinds = Counter()
    for r in pool + test:
        right, answer = _independent_labels(r.steps.full)
        k = r.steps.upto
        m = r.meta_dict
        assert r.label == int(all(right[:k])), r.text
        assert m["outcome"] == str(int(answer)) and m["trace"] == str(int(all(right)))
        first = next((i + 1 for i, ok in enumerate(right) if not ok), 0)
        assert m["first_error"] == str(first)
        assert (m["error"] == "none") == (r.label == 1)
        assert r.text == r.steps.text and r.steps.full.startswith(r.text)
        if k == r.steps.n_steps:
            kinds[("compensating" if answer and not all(right) else "slip" if not answer else "correct")] += 1
    # all three kinds occur; a compensating solution has the right answer and a wrong trace
    assert kinds["compensating"] > 10 and kinds["slip"] > 50 and kinds["correct"] > 50


def test_compensating_errors_come_in_both_forms(step_rows):
    pool, _ = step_rows
    arith = copy = 0
    for r in pool:
        m = r.meta_dict
        if r.steps.upto != r.steps.n_steps or not (m["outcome"] == "1" and m["trace"] == "0"):
            continue
        lines = r.steps.steps
        # the restoring line: either wrong arithmetic, or its left operand is not the line above's result
        for prev, line in zip(lines, lines[1:], strict=False):
            a, s, b, c = re.fullmatch(r"(-?\d+) ([+\-*]) (-?\d+) = (-?\d+)", line).groups()
            above = int(prev.rsplit("= ", 1)[1])
            if int(a) != above:
                copy += 1
            elif eval(f"{a} {s} {b}") != int(c):  # noqa: S307
                arith += 1
    assert copy > 0 and arith > 0


def test_outcome_task_has_the_step_tasks_problems_one_row_per_solution():
    steps, _ = generate(ChainSpec(problems=30, test_problems=5))
    outcome, _ = generate(ChainSpec(problems=30, test_problems=5, labels="outcome"))
    assert {r.meta_dict["solution"] for r in steps} == {r.id for r in outcome}
    last = {r.meta_dict["solution"]: r for r in steps if r.steps.upto == r.steps.n_steps}
    for r in outcome:
        assert r.text == last[r.id].text and r.group == last[r.id].group
        assert r.label == int(r.meta_dict["outcome"])
        # a compensating solution: outcome label 1, while its last step's process label is 0
        if r.meta_dict["trace"] == "0" and r.label == 1:
            assert last[r.id].label == 0


def test_easy_to_hard_lengths_and_no_problem_in_two_parts():
    pool, test = generate(ChainSpec(lengths=(2, 4), test_lengths=(6, 8), problems=40, test_problems=10))
    assert {r.steps.n_steps for r in pool} <= {2, 3, 4} and {r.steps.n_steps for r in test} <= {6, 7, 8}
    assert not {r.group for r in pool} & {r.group for r in test}
    problems = lambda rows: {r.text.split("\n")[0] for r in rows}  # noqa: E731
    assert not problems(pool) & problems(test)


def test_error_kind_names_op_and_operand_digits_and_blind_spot_rows_are_label_zero(step_rows):
    pool, _ = step_rows
    mul2 = [r for r in pool if r.meta_dict["error"] == "mul2"]
    assert mul2 and all(r.label == 0 for r in mul2)
    for r in mul2:
        k = int(r.meta_dict["first_error"])
        assert " * " in r.steps.steps[k - 1] and len(r.steps.steps[k - 1].split(" ")[2]) == 2


def test_knobs_are_checked_with_the_fix():
    with pytest.raises(ValueError, match="ops"):
        ChainSpec(ops=("pow",))
    with pytest.raises(ValueError, match="rho"):
        ChainSpec(rho=0.7, slip=0.5)
    with pytest.raises(ValueError, match="lengths"):
        ChainSpec(lengths=(5, 2))


def test_step_correct_checks_chaining_operation_and_arithmetic():
    ops = [("add", 5), ("mul", 3)]
    assert step_correct(7, ops, ["7 + 5 = 12", "12 * 3 = 36"]) == [True, True]
    assert step_correct(7, ops, ["7 + 5 = 13", "13 * 3 = 39"]) == [False, True]  # a slip, then right from it
    assert step_correct(7, ops, ["7 + 5 = 13", "12 * 3 = 36"]) == [False, False]  # unfaithful: ignores line 1
    assert step_correct(7, ops, ["7 + 5 = 12", "12 + 3 = 15"]) == [True, False]  # wrong operation
    # an unreadable line is wrong, and the next cannot chain from it
    assert step_correct(7, ops, ["seven plus five", "12 * 3 = 36"]) == [False, False]


def test_labelled_rows_of_user_data_follow_prefix_and_outcome_rules():
    rows = labelled_rows("Q: 2+2*3?", ["2*3 = 6", "2 + 6 = 9", "so 8"], [True, False, True], True, "q1", "q1-a",
                         "step")
    assert [r.label for r in rows] == [1, 0, 0] and rows[2].meta_dict["first_error"] == "2"
    assert rows[1].meta_dict["error"] == "error" and rows[0].meta_dict["error"] == "none"
    (out,) = labelled_rows("Q", ["a", "b"], [True, False], True, "q1", "q1-a", "outcome")
    assert out.label == 1 and out.meta_dict["trace"] == "0" and out.text == "Q\na\nb"
    with pytest.raises(ValueError, match="step labels"):
        labelled_rows("Q", ["a", "b"], [True], True, "q1", "q1-a", "step")


def test_chain_tasks_are_listed_with_their_knobs():
    for name in ("chains", "chains_outcome", "chains_hard", "chains_hard_outcome"):
        task = get_task(name)
        assert task.kind == "steps" and "lengths" in task.description and "rho" in task.description
    assert "test lengths 6-8" in get_task("chains_hard").description
