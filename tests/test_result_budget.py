"""The student's budget as a typed value of the result (`ExperimentResult.training.budget`): parsed once from a
record's budget / budget_kind / budget_steps keys, the record still round-trips, and the report's orders and
labels come from it."""

from __future__ import annotations

import pytest

from w2sg.config import BudgetSpec, TrainSpec
from w2sg.report.budget import budget_kind, budget_order_key, budget_sort_key, budget_steps
from w2sg.result import Budget, ExperimentResult


def _method_zoo_budget_order(b: str) -> tuple:
    """`studies/method_zoo._budget_order` as it was written (on labels): the order budget_order_key keeps."""
    if b.startswith("steps="):
        return (0, int(b.split("=")[1]))
    return (1 if b == "converged" else 2 if b.startswith("early_stop(") else 3, 0)


def _records() -> list[dict]:
    """Budget keys as `pipeline.training_record` writes them, for every kind, frozen and finetuned."""
    out = []
    for mode, solver in (("frozen", "lbfgs"), ("frozen", "sgd"), ("full", "lbfgs")):
        train = TrainSpec(mode=mode, solver=solver)
        for spec in (BudgetSpec(), BudgetSpec(kind="steps", steps=16), BudgetSpec(kind="steps", steps=256),
                     BudgetSpec(kind="early_stop"), BudgetSpec(kind="early_stop", steps=1024, evals=7),
                     BudgetSpec(kind="early_stop_oracle", metric="accuracy"), BudgetSpec(kind="steps", steps=4)):
            out.append({"budget": spec.label(train), "budget_kind": spec.kind, "budget_steps": spec.steps,
                        "spec": {"budget": spec.model_dump(mode="json")}})
    return out


def test_budget_parsed_once_from_the_record_keys():
    b = ExperimentResult.from_record({"budget": "early_stop(auroc,steps=1024)", "budget_kind": "early_stop",
                                      "budget_steps": 1024, "spec": {"budget": {"evals": 7}}}).training.budget
    assert (b.label, b.kind, b.steps, b.metric, b.evals, b.oracle) == (
        "early_stop(auroc,steps=1024)", "early_stop", 1024, "auroc", 7, False)
    b = ExperimentResult.from_record({"budget": "early_stop_oracle(accuracy,epochs=2)"}).training.budget
    assert (b.kind, b.steps, b.metric, b.evals, b.oracle) == ("early_stop_oracle", None, "accuracy", None, True)
    assert b.table_text() == "early_stop_oracle(accuracy,epochs=2) (ORACLE)" and b.short_text() == "ORACLE early stop"
    old = ExperimentResult.from_record({"budget": "steps=64"}).training.budget  # before budget_kind was recorded
    assert (old.kind, old.steps, old.recorded_kind, old.recorded_steps) == ("steps", 64, None, None)
    assert ExperimentResult.from_record({"budget": "epochs=3", "budget_kind": "steps"}).training.budget.kind == "steps"
    none = ExperimentResult.from_record({"task": "t"}).training.budget
    assert none.kind is None and none.table_text() == "-" and none.sort_key() == (-1, 0, "")
    assert Budget.parse("converged").kind == "full" and Budget.parse("").kind is None


@pytest.mark.parametrize("i", range(21))
def test_records_with_budgets_round_trip_exactly(i):
    r = _records()[i] | {"task": "t", "oracle": False}
    res = ExperimentResult.from_record(r)
    assert res.to_record() == r and res.extra == {}
    legacy = {k: v for k, v in r.items() if k not in ("budget_kind", "budget_steps")}
    assert ExperimentResult.from_record(legacy).to_record() == legacy  # absent keys stay absent


def test_budget_order_key_is_the_method_zoo_order():
    recs = _records()
    by_key = sorted(recs, key=budget_order_key)
    by_label = sorted(recs, key=lambda r: _method_zoo_budget_order(r["budget"]))
    assert [budget_order_key(r) for r in by_key] == [_method_zoo_budget_order(r["budget"]) for r in by_label]
    for r in recs:
        assert budget_order_key(r) == _method_zoo_budget_order(r["budget"]), r["budget"]
        assert budget_order_key(ExperimentResult.from_record(r)) == budget_order_key(r)


def test_report_helpers_read_the_typed_budget():
    labels = ["converged", None, "early_stop_oracle(auroc)", "steps=256", "early_stop(auroc)", "steps=16"]
    assert sorted(labels, key=budget_sort_key) == [None, "steps=16", "steps=256", "converged", "early_stop(auroc)",
                                                   "early_stop_oracle(auroc)"]
    assert budget_kind({"budget": "early_stop(acc)"}) == "early_stop" and budget_kind({"budget": None}) is None
    assert budget_steps({"budget": "steps=12"}) == 12 and budget_steps({"budget": "converged"}) is None
    assert budget_steps({"budget": "early_stop(auroc,steps=512)", "budget_steps": 512}) == 512
