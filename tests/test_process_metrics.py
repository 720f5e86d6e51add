"""Process-supervision metrics (`metrics.process_metrics`) on hand-made step-labelled rows whose answers are
worked out by hand: best-of-N accuracy, trace error, step AUROC, first-error localisation, ties, PGR, the
bootstrap over whole problems; the pipeline's record hook and the typed view (`ExperimentResult.process`)."""

from __future__ import annotations

import json
import random
from fractions import Fraction as F

import numpy as np
import pytest

from w2sg.metrics import PROCESS_METRICS, auroc, evaluate, process_metrics, task_granularity
from w2sg.pipeline.steps import process_record
from w2sg.result import PGR_METRICS, ExperimentResult
from w2sg.result_parts import PROCESS_METRICS as RECORD_PROCESS_METRICS
from w2sg.result_parts import Process
from w2sg.tasks.schema import Example, Splits

# 3 problems x 3 candidate solutions x 3 steps: (name, step labels (prefix correct), outcome correct)
#   "correct": every step right; "slip": a wrong step that propagates to a wrong answer;
#   "comp": a compensating error: a wrong step, yet the right final answer (trace 0, outcome 1)
SOLUTIONS = {
    "p0": [("a", "correct", (1, 1, 1), 1), ("b", "slip", (1, 0, 0), 0), ("c", "comp", (0, 0, 0), 1)],
    "p1": [("a", "correct", (1, 1, 1), 1), ("b", "comp", (1, 0, 0), 1), ("c", "slip", (1, 1, 0), 0)],
    "p2": [("a", "slip", (0, 0, 0), 0), ("b", "slip", (1, 0, 0), 0), ("c", "comp", (1, 1, 0), 1)],
}


def rows(granularity: str = "step", problems: tuple[str, ...] = ("p0", "p1", "p2")) -> list[Example]:
    """The rows of a step task (one per step) or an outcome task (one per solution, at its last step)."""
    out = []
    for prob in problems:
        for sid, kind, steps, outcome in SOLUTIONS[prob]:
            first_error = next((k + 1 for k, lab in enumerate(steps) if not lab), 0)
            ks = range(1, len(steps) + 1) if granularity == "step" else [len(steps)]
            for k in ks:
                label = steps[k - 1] if granularity == "step" else outcome
                meta = {"labels": granularity, "solution": f"{prob}-{sid}", "step": str(k), "n_steps": "3",
                        "outcome": str(outcome), "trace": str(int(first_error == 0)),
                        "first_error": str(first_error), "error": "none" if label else kind}
                out.append(Example(f"{prob}-{sid}-{k}", prob, f"{prob} {sid} {k}", label, meta=tuple(meta.items())))
    return out


def kind_of(r: Example) -> str:
    prob, sid = r.meta_dict["solution"].split("-")
    return next(kind for s, kind, _, _ in SOLUTIONS[prob] if s == sid)


def ceiling_prm(r: Example) -> float:
    """A good PRM: sure of right prefixes, less sure at the first error than after it."""
    k, fe = int(r.meta_dict["step"]), int(r.meta_dict["first_error"])
    return 0.9 if r.label else (0.3 if k == fe else 0.1)


def weak_orm(r: Example) -> float:
    """Rewards a right answer however reached: the compensating solutions highest, every step alike."""
    return {"comp": 0.95, "correct": 0.9, "slip": 0.2}[kind_of(r)]


def student_prm(r: Example) -> float:
    """A PRM fooled once (every step of p1-b, a compensating solution, looks right)."""
    return 0.9 if r.label or r.meta_dict["solution"] == "p1-b" else 0.4


def probs(rs: list[Example], **override) -> dict[str, np.ndarray]:
    fns = {"weak": weak_orm, "ceiling": ceiling_prm, "student": student_prm} | override
    return {role: np.array([fn(r) for r in rs]) for role, fn in fns.items()}


@pytest.fixture(scope="module")
def step_rec() -> dict:
    rs = rows()
    return process_metrics(rs, probs(rs), n_boot=400, seed=0)


def close(x, frac) -> bool:
    return x is not None and abs(x - float(frac)) < 1e-12


def test_best_of_n_trace_error_and_first_error_by_hand(step_rec):
    r = step_rec
    assert r["granularity"] == "step" and r["n_problems_test"] == 3 and r["n_solutions_test"] == 9
    # the ORM picks the compensating solution everywhere: every answer right, every chosen trace wrong
    assert close(r["weak_bon_acc"], 1) and close(r["weak_trace_error"], 1)
    # the PRM: p0-a, p1-a (right, faithful) and p2-c (the latest error, a compensating one)
    assert close(r["ceiling_bon_acc"], 1) and close(r["ceiling_trace_error"], F(1, 3))
    # the student: p0-a; p1-a and p1-b tie at 0.9, the lower id (a, faithful) wins; p2 all tie at 0.4 -> p2-a
    assert close(r["student_bon_acc"], F(2, 3)) and close(r["student_trace_error"], 0)
    # first error: 7 solutions have one; the ORM finds it only at p2-a (its first step), the PRM everywhere,
    # the student everywhere but p1-b (no step below 0.5: a miss)
    assert close(r["weak_first_error_acc"], F(1, 7)) and close(r["ceiling_first_error_acc"], 1)
    assert close(r["student_first_error_acc"], F(6, 7))
    # step AUROC over the 27 step rows (13 positive, 14 negative), worked out by hand
    assert close(r["weak_step_auroc"], F(97, 182)) and close(r["ceiling_step_auroc"], 1)
    assert close(r["student_step_auroc"], F(13, 14))
    assert close(r["bon_oracle"], 1) and close(r["bon_random"], F(5, 9))


def test_pgr_of_each_metric_by_hand(step_rec):
    r = step_rec
    assert close(r["pgr_trace_error"], F(3, 2))  # (0 - 1) / (1/3 - 1)
    assert close(r["gap_trace_error"], F(2, 3))  # weak - ceiling trace error: the ceiling errs less
    assert close(r["pgr_first_error_acc"], F(5, 6))  # (6/7 - 1/7) / (1 - 1/7)
    assert close(r["pgr_step_auroc"], F(72, 85))
    # best-of-N: the ORM already reaches the ceiling, so there is no gap to recover
    assert r["pgr_bon_acc"] is None and "no gap" in r["pgr_bon_acc_reason"] and r["unstable_bon_acc"] is True


def test_cis_contain_the_point_and_the_keys_are_json_safe(step_rec):
    r = step_rec
    json.dumps(r, allow_nan=False)
    for role in ("weak", "ceiling", "student"):
        for m in PROCESS_METRICS:
            lo, v, hi = r[f"{role}_{m}_ci_low"], r[f"{role}_{m}"], r[f"{role}_{m}_ci_high"]
            assert lo is not None and lo <= v + 1e-12 and v <= hi + 1e-12, (role, m)
    assert r["bon_oracle_ci_low"] == r["bon_oracle_ci_high"] == 1  # every problem has a right candidate
    assert r["student_bon_acc_ci_low"] < r["student_bon_acc_ci_high"]  # 3 problems: the CI is wide


def test_one_problem_gives_a_degenerate_ci_so_whole_problems_are_resampled():
    """With one problem every resample is that problem: each CI is the point. A row bootstrap would spread the
    step AUROC and the first-error accuracy (p0 alone: 9 step rows, 2 solutions with an error)."""
    rs = rows(problems=("p0",))
    r = process_metrics(rs, probs(rs), n_boot=200, seed=1)
    for m in ("weak_step_auroc", "student_first_error_acc", "weak_first_error_acc", "student_bon_acc"):
        assert r[f"{m}_ci_low"] == r[m] == r[f"{m}_ci_high"], m
    assert 0 < r["weak_step_auroc"] < 1 and r["weak_first_error_acc"] == 0
    # the row-level bootstrap of the same AUROC is not degenerate
    ev = evaluate([x.label for x in rs], *probs(rs).values(), n_boot=200, seed=1)
    assert ev["weak_auroc_ci_low"] < ev["weak_auroc"] < ev["weak_auroc_ci_high"]


def test_the_resamples_are_evaluates_over_the_same_groups():
    rs = rows()
    p = probs(rs)
    r = process_metrics(rs, p, n_boot=300, seed=4)
    ev = evaluate([x.label for x in rs], p["weak"], p["ceiling"], p["student"], n_boot=300, seed=4,
                  test_groups=[x.group for x in rs])
    for role in ("weak", "ceiling", "student"):
        assert r[f"{role}_step_auroc"] == pytest.approx(ev[f"{role}_auroc"])
        assert r[f"{role}_step_auroc_ci_low"] == pytest.approx(ev[f"{role}_auroc_ci_low"])
        assert r[f"{role}_step_auroc_ci_high"] == pytest.approx(ev[f"{role}_auroc_ci_high"])
    assert r["pgr_step_auroc_ci_low"] == pytest.approx(ev["pgr_auroc_ci_low"])


def test_pgr_cis_are_paired_across_roles():
    """A student equal to the weak model has PGR 0 in every resample, one equal to the ceiling PGR 1: only
    paired resamples give these degenerate CIs."""
    rs = rows()
    for student, expect in ((weak_orm, 0.0), (ceiling_prm, 1.0)):
        r = process_metrics(rs, probs(rs, student=student), n_boot=300, seed=2)
        for m in ("first_error_acc", "step_auroc"):  # every resample has a gap (> 0)
            assert r[f"pgr_{m}"] == pytest.approx(expect), m
            assert r[f"pgr_{m}_ci_low"] == pytest.approx(expect) and r[f"pgr_{m}_ci_high"] == pytest.approx(expect)
        # trace error: resamples drawing only p2 have no gap (both pick a compensating solution): unbounded CI
        assert r["pgr_trace_error"] == pytest.approx(expect) and r["pgr_trace_error_ci_low"] is None
        assert 0 < r["pgr_trace_error_frac_undefined"] < 0.2 and "unbounded" in r["pgr_trace_error_reason"]


def test_ties_go_to_the_lowest_solution_id_whatever_the_row_order():
    rs = rows()
    flat = {role: (lambda r: 0.7) for role in ("weak", "ceiling", "student")}
    r = process_metrics(rs, probs(rs, **flat), n_boot=50, seed=0)
    # every score ties: a is chosen everywhere (right in p0 and p1, wrong in p2; all faithful)
    assert close(r["weak_bon_acc"], F(2, 3)) and close(r["weak_trace_error"], 0)
    # rows in any order: the same choices and, resampling problems by their ids, the same CIs
    shuffled = rs[:]
    random.Random(0).shuffle(shuffled)
    base = process_metrics(rs, probs(rs), n_boot=100, seed=3)
    again = process_metrics(shuffled, probs(shuffled), n_boot=100, seed=3)
    assert again.keys() == base.keys()
    for k, v in base.items():
        assert again[k] == (pytest.approx(v) if isinstance(v, float) else v), k


def test_solution_score_is_the_minimum_over_steps():
    rs = rows(problems=("p0",))
    # a: steps 0.8, 0.8, 0.8 (min 0.8); c: 0.99, 0.99, 0.7 (min 0.7, mean higher than a's): a is chosen
    score = {"p0-a": (0.8, 0.8, 0.8), "p0-b": (0.1, 0.1, 0.1), "p0-c": (0.99, 0.99, 0.7)}
    fn = lambda r: score[r.meta_dict["solution"]][int(r.meta_dict["step"]) - 1]  # noqa: E731
    r = process_metrics(rs, probs(rs, weak=fn), n_boot=10, seed=0)
    assert r["weak_bon_acc"] == 1 and r["weak_trace_error"] == 0  # a: right and faithful (c: unfaithful)


def test_outcome_task_scores_solutions_at_their_row():
    rs = rows("outcome")
    assert len(rs) == 9 and task_granularity(rs) == "outcome"
    orm = {"weak": weak_orm, "ceiling": lambda r: 0.9 if kind_of(r) == "correct" else 0.1,
           "student": lambda r: 0.9 if r.label else 0.1}
    r = process_metrics(rs, probs(rs, **orm), n_boot=100, seed=0)
    assert r["granularity"] == "outcome" and r["n_problems_test"] == 3 and r["n_solutions_test"] == 9
    assert close(r["weak_bon_acc"], 1) and close(r["weak_trace_error"], 1)
    # ceiling: p0-a, p1-a right and faithful; p2 all 0.1 -> p2-a, wrong
    assert close(r["ceiling_bon_acc"], F(2, 3)) and close(r["ceiling_trace_error"], 0)
    # student (a perfect ORM): p0 a/c tie -> a, p1 a/b tie -> a, p2 c (compensating)
    assert close(r["student_bon_acc"], 1) and close(r["student_trace_error"], F(1, 3))
    assert close(r["pgr_trace_error"], F(2, 3))  # (1/3 - 1) / (0 - 1)
    for m in ("step_auroc", "first_error_acc"):  # step task only: present and None
        assert all(r[f"{role}_{m}"] is None for role in ("weak", "ceiling", "student"))
        assert r[f"pgr_{m}"] is None and r[f"{m.join(('weak_', '_ci_low'))}"] is None
    assert set(r) == set(process_metrics(rows(), probs(rows()), n_boot=5))  # the same keys on both kinds


def test_trace_error_is_none_when_no_chosen_answer_is_right():
    rs = rows(problems=("p2",))
    r = process_metrics(rs, probs(rs, weak=lambda r: 0.9 if kind_of(r) == "slip" else 0.1), n_boot=20)
    assert r["weak_bon_acc"] == 0 and r["weak_trace_error"] is None and r["pgr_trace_error"] is None


def test_bad_rows_are_refused():
    rs = rows()
    p = probs(rs)
    with pytest.raises(ValueError, match="labels"):
        process_metrics([Example("x", "g", "t", 1)], {k: [0.5] for k in p})
    mixed = rs[:3] + rows("outcome")[3:]
    with pytest.raises(ValueError, match="labels"):
        process_metrics(mixed, {k: np.full(len(mixed), 0.5) for k in p})
    with pytest.raises(ValueError, match="spans"):
        moved = [Example(r.id, "elsewhere" if r.id == "p0-a-2" else r.group, r.text, r.label, meta=r.meta) for r in rs]
        process_metrics(moved, p)
    with pytest.raises(ValueError, match="same length"):
        process_metrics(rs, p | {"student": p["student"][:-1]})


def test_the_record_hook_adds_keys_on_step_tasks_only():
    rs = rows()
    p = probs(rs)
    arrays = {role: {"test": p[role]} for role in p}
    splits = Splits([], rs[:5], [], rs)
    rec = process_record(splits, arrays["weak"], arrays["ceiling"], arrays["student"], n_boot=50, seed=0)
    assert rec["judgments_transfer"] == 5 and rec["judgments_granularity"] == "step"
    assert rec["weak_trace_error"] == 1 and rec["granularity"] == "step"
    plain = [Example(r.id, r.group, r.text, r.label) for r in rs]
    assert process_record(Splits([], plain, [], plain), *arrays.values(), n_boot=50, seed=0) == {}
    yaml_meta = [Example(r.id, r.group, r.text, r.label, meta=(("labels", "spam"),)) for r in rs]
    assert task_granularity(yaml_meta) is None  # a user field called labels is not a granularity


def test_the_typed_view_reads_and_round_trips_the_keys(step_rec):
    assert RECORD_PROCESS_METRICS == PROCESS_METRICS
    flat = {"task": "chains", "weak_acc": 0.6, "pgr_acc": 0.5} | step_rec | {"judgments_transfer": 40,
                                                                           "judgments_granularity": "step"}
    res = ExperimentResult.from_record(flat)
    assert res.process.present and res.process.granularity == "step" and res.process.judgments_transfer == 40
    assert close(res.process.score("ceiling", "trace_error").value, F(1, 3))
    assert res.process.score("student", "bon_acc").ci == (flat["student_bon_acc_ci_low"],
                                                           flat["student_bon_acc_ci_high"])
    assert res.process.bon_random.value == flat["bon_random"]
    assert close(res.pgr("trace_error").value, F(3, 2)) and res.pgr("trace_error").gap == flat["gap_trace_error"]
    assert not res.pgr("bon_acc").defined
    assert not any(k.startswith(("bon_", "judgments_")) or "trace_error" in k for k in res.extra)
    assert not (Process.keys() & res.extra.keys())
    back = res.to_record()
    assert back == flat and json.dumps(back, sort_keys=True) == json.dumps(flat, sort_keys=True)
    partial = {k: v for k, v in flat.items() if k != "weak_bon_acc"} | {"new_key": 1}
    res = ExperimentResult.from_record(partial)
    assert res.to_record() == partial and "weak_bon_acc" in res.missing and res.extra == {"new_key": 1}
    with pytest.raises(ValueError):
        res.process.score("supervisor", "bon_acc")


def test_records_of_other_tasks_read_as_before():
    flat = {"task": "sciq", "weak_acc": 0.6, "pgr_acc": 0.4}
    res = ExperimentResult.from_record(flat)
    assert not res.process.present and res.process.score("weak", "bon_acc").value is None
    assert not (Process.keys() & res.missing)  # nothing new counted missing
    assert set(res.pgrs) == set(PGR_METRICS) and res.to_record() == flat
    assert res.pgr("bon_acc").value is None


def test_step_auroc_point_is_the_plain_auroc(step_rec):
    rs = rows()
    y = [r.label for r in rs]
    for role, p in probs(rs).items():
        assert step_rec[f"{role}_step_auroc"] == pytest.approx(auroc(p, y))


def test_a_step_at_exactly_one_half_is_flagged_as_the_first_error():
    """P ≤ 0.5 is a predicted error (a hard prediction is 1 iff P > 0.5): p0-b's first error is step 2."""
    rs = rows(problems=("p0",))
    at_half = {"p0-a": (0.9, 0.9, 0.9), "p0-b": (0.9, 0.5, 0.1), "p0-c": (0.5001, 0.5, 0.5)}
    fn = lambda r: at_half[r.meta_dict["solution"]][int(r.meta_dict["step"]) - 1]  # noqa: E731
    r = process_metrics(rs, probs(rs, weak=fn), n_boot=10, seed=0)
    assert r["weak_first_error_acc"] == 0.5  # b found at step 2; c flagged at step 2, its error is step 1
