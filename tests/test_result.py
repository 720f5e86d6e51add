"""The typed experiment result: flat record -> ExperimentResult -> flat record loses nothing, and the accessors
read the same numbers as the flat keys. Records are built the way the pipeline builds them: `metrics.evaluate`
and `metrics.supervisor_metrics` on synthetic predictions, plus hand-written training / split / run keys and
the store's columns."""

from __future__ import annotations

import dataclasses
import json
import random

import numpy as np
import pytest

from w2sg.metrics import evaluate, supervisor_metrics
from w2sg.report.summary import stable as summary_stable
from w2sg.result import PGR_METRICS, ExperimentResult, RoleScores, StepTraining, as_result

from .conftest import budget_grid, grid_records


def synthetic_scores(n_questions: int = 60, seed: int = 0) -> dict:
    """`evaluate` + `supervisor_metrics` on 4-choice questions (so every per-question key is a number)."""
    rng = np.random.default_rng(seed)
    n = 4 * n_questions
    y = np.zeros(n, dtype=int)
    y[rng.integers(0, 4, n_questions) + 4 * np.arange(n_questions)] = 1
    groups = np.repeat([f"q{i}" for i in range(n_questions)], 4)

    def model(noise: float) -> np.ndarray:
        return np.clip(0.5 + 0.3 * (2 * y - 1) + rng.normal(0, noise, n), 0, 1)

    weak, ceiling, student, supervisor = model(0.45), model(0.2), model(0.3), model(0.35)
    ty = rng.integers(0, 2, 80)
    rec = evaluate(y, weak, ceiling, student, ty, rng.random(80), rng.random(80), rng.random(80), n_boot=200,
                   seed=seed, test_groups=groups)
    return rec | supervisor_metrics(y, supervisor, test_groups=groups, weak_test=weak, ceiling_test=ceiling,
                                    student_test=student, n_boot=200, seed=seed)


def training_block() -> dict:
    """The keys of `pipeline.training_record`, split stats, cache / truncation flags and the store's columns."""
    out = {"budget": "steps=256", "budget_kind": "steps", "budget_steps": 256, "solver": "lbfgs",
           "student_selected_step": None, "oracle": False, "supervisor": "minilm", "supervisor_kind": "model",
           "supervisor_errors": None, "supervisor_error_rate": None, "locked": None, "locked_acc": None,
           "locked_acc_trigger": None, "student_acc_trigger": None}
    for i, step in enumerate(("weak", "ceiling", "student")):
        out |= {f"l2_{step}": 10.0 ** -i, f"grad_norm_{step}": 1e-6 * (i + 1), f"steps_{step}": 12 + i}
    for name, n in (("weak_train", 400), ("transfer", 80), ("val", 100), ("test", 240)):
        out |= {f"n_{name}": n, f"pos_frac_{name}": 0.25}
    out |= {"cached_weak": True, "cached_ceiling": False, "cached_student": False, "truncated_weak": 0,
            "truncated_strong": 3, "time_splits": 0.02, "time_weak": 1.5, "time_ceiling": 2.25,
            "time_student": 0.5, "time_evaluate": 0.125}
    # the theory keys of `pipeline.theory.theory_record` (squared-loss misfit terms, expansion on T)
    out |= {f"sq_{t}_{s}": 0.01 * i for i, (t, s) in enumerate(
        (t, s) for s in ("transfer", "test") for t in ("misfit", "weak_err", "student_err", "slack", "slack_ceiling"))}
    out |= {"expansion_test": 0.7, "correction_test": 0.4, "correction_diff_test": 0.1,
            "correction_diff_test_ci_low": -0.05, "correction_diff_test_ci_high": 0.25}
    out |= {"hash": "abc123", "task": "sciq", "weak": "minilm", "strong": "mpnet", "method": "naive", "mode": "frozen",
            "status": "ok", "error": None, "created_at": 1.7e9, "variant": "", "task_fingerprint": "0123456789abcdef",
            "versions": {"python": "3.11"},
            "debate": {"protocol": "debate", "policy": "embed", "members": 4, "judge_acc": {"blind": [0.5, 0.4, 0.6]},
                       "liar_win": {"debate": [0.3, 0.2, 0.4, 100]}},
            "spec": {"task": "sciq", "weak": "minilm", "strong": "mpnet", "seed": 0, "train": {"mode": "frozen"}}}
    return out


@pytest.fixture(scope="module")
def record() -> dict:
    r = synthetic_scores() | training_block()
    assert r["weak_q_acc"] is not None and r["pgr_q_acc_frac_undefined"] is not None  # realistic: all filled
    return r


def test_every_key_of_a_full_record_is_modelled_and_comes_back(record):
    res = ExperimentResult.from_record(record)
    # ~125 keys, each has its place; only the fields kept so that records from before the deception rename read
    legacy = {"deception_score_ci_low", "deception_score_ci_high", "deception_score_known", "deception_gap"}
    # test_outcomes: only on records loaded with their outcomes (`ResultsStore.records(outcomes=True)`)
    assert res.extra == {} and res.missing == frozenset(legacy | {"test_outcomes"})
    back = res.to_record()
    assert back == record
    assert json.dumps(back, sort_keys=True) == json.dumps(record, sort_keys=True)  # types too (int vs float)
    assert len(record) > 120


def test_evaluate_alone_round_trips_without_adding_keys():
    r = synthetic_scores(seed=3)
    res = ExperimentResult.from_record(r)
    assert res.extra == {}
    assert res.to_record() == r and set(res.to_record()) == set(r)
    assert {"task", "budget", "l2_student", "spec"} <= res.missing  # absent, so left out again
    assert res.spec == {} and res.training.step("student") == StepTraining()


@pytest.mark.parametrize("seed", range(20))
def test_any_record_round_trips(record, seed):
    """Random subsets of the keys, unknown keys, odd values (strings, NaN, nested) and absent vs None."""
    rng = random.Random(seed)
    r = {k: v for k, v in record.items() if rng.random() < 0.6}
    r |= {f"new_key_{i}": rng.choice([None, 1, 2.5, "x", [1, 2], {"a": 1}, float("nan")]) for i in range(3)}
    for k in rng.sample(sorted(r), 5):
        r[k] = rng.choice([None, "not a number", 7, True])
    r["time_new_step"] = 0.5  # a new timing joins the run info
    res = ExperimentResult.from_record(r)
    assert res.to_record() == r
    assert res.run.seconds["new_step"] == 0.5
    assert {k for k in r if k.startswith("new_key_")} <= set(res.extra)


def test_values_are_kept_as_stored(record):
    r = dict(record, steps_student=12, l2_weak=None, weak_acc=1)
    r.pop("l2_ceiling")
    back = ExperimentResult.from_record(r).to_record()
    assert type(back["steps_student"]) is int and type(back["weak_acc"]) is int
    assert "l2_weak" in back and back["l2_weak"] is None and "l2_ceiling" not in back


@pytest.mark.parametrize("records", [grid_records, budget_grid], ids=["report_grid", "budget_grid"])
def test_report_fixtures_round_trip(records):
    for r in records():
        assert ExperimentResult.from_record(r).to_record() == r


def test_accessors_read_the_flat_keys(record):
    res = ExperimentResult.from_record(record)
    for role in ("weak", "ceiling", "student"):
        for metric in ("acc", "auroc", "q_acc"):
            assert res.score(role, metric) == record[f"{role}_{metric}"]
            assert res.score_ci(role, metric) == (record[f"{role}_{metric}_ci_low"], record[f"{role}_{metric}_ci_high"])
        assert res.score(role, "ece") == record[f"{role}_ece"]
        assert res.score(role, "logloss_test") == record[f"{role}_logloss_test"]
    assert res.score("student", "accuracy") == record["student_acc"]
    assert res.score("supervisor", "acc") == record["supervisor_acc"]
    assert res.score("weak", "below_majority") is record["weak_below_majority"]
    for m in PGR_METRICS:
        p = res.pgr(m)
        flag = "unstable" if m == "acc" else f"unstable_{m}"
        assert (p.value, p.ci_low, p.ci_high, p.gap, p.unstable) == (
            record[f"pgr_{m}"], record[f"pgr_{m}_ci_low"], record[f"pgr_{m}_ci_high"], record[f"gap_{m}"], record[flag])
        assert p.stable == res.stable(m) == summary_stable(record, f"pgr_{m}")
    assert res.agreement().weak_wrong == record["agree_transfer_weak_wrong"]
    assert res.agreement("test", "ceiling").all == record["ceiling_agree_test_all"]
    assert res.diagnostics.misfit_transfer == record["misfit_transfer"]
    assert res.evaluation.n_questions == 60 and res.splits["test"].n == 240 == record["n_test"]
    assert res.training.budget.steps == 256 and res.training.budget.kind == "steps"
    assert res.training.step("ceiling").l2 == 0.1
    assert res.run.cached == {"weak": True, "ceiling": False, "student": False}
    assert res.run.truncated == {"weak": 0, "strong": 3}
    assert res.pair == ("minilm", "mpnet") and res.spec["train"] == {"mode": "frozen"}


def test_stability_on_the_report_grid_matches_the_summary():
    for r in grid_records():
        res = as_result(r)
        assert res.stable("acc") == summary_stable(r, "pgr_acc")
        assert res.pgr().defined == (r["pgr_acc"] is not None)


def test_absent_parts_and_bad_names():
    res = ExperimentResult.from_record({"task": "t", "weak_acc": 0.7})
    assert res.score("weak") == 0.7 and res.score("student") is None
    assert res.score("supervisor", "acc") is None and "supervisor" not in res.scores
    assert res.pgr("q_acc").value is None and not res.stable("acc")
    assert res.to_record() == {"task": "t", "weak_acc": 0.7}
    with pytest.raises(ValueError, match="unknown role"):
        res.score("teacher")
    with pytest.raises(ValueError, match="no score"):
        res.score("supervisor", "ece")
    with pytest.raises(ValueError, match="no PGR"):
        res.pgr("f1")
    with pytest.raises(ValueError):
        res.agreement("val")


def test_edited_results_flatten(record):
    res = ExperimentResult.from_record(record)
    student = dataclasses.replace(res.scores["student"], acc=0.99)
    edited = dataclasses.replace(res, scores={**res.scores, "student": student}, extra={"note": "x"})
    out = edited.to_record()
    assert out["student_acc"] == 0.99 and out["note"] == "x"
    assert {k: v for k, v in out.items() if k not in ("student_acc", "note")} == \
        {k: v for k, v in record.items() if k != "student_acc"}
    built = ExperimentResult(task="t", scores={"weak": RoleScores("weak", acc=0.5)}).to_record()
    assert built["task"] == "t" and built["weak_acc"] == 0.5 and built["weak_err_transfer"] is None
    assert "ceiling_err_transfer" not in built  # only the keys evaluate writes for each role


def test_the_supervisor_gain_and_the_pgr_against_the_supervisor_are_read_typed(record):
    res = ExperimentResult.from_record(record)
    gain = res.score("supervisor", "gain")
    assert gain == pytest.approx(record["supervisor_acc"] - record["weak_acc"])
    assert res.score("supervisor", "gain_ci_low") <= gain <= res.score("supervisor", "gain_ci_high")
    assert res.debate.protocol == "debate" and res.debate.judge_acc["blind"] == (0.5, 0.4, 0.6)
    assert res.debate.liar_win["debate"] == (0.3, 0.2, 0.4)
    assert ExperimentResult.from_record({"task": "x"}).debate.protocol is None
