"""The method-zoo study's statistics: which tasks count, and the median PGR with its CI."""

import importlib.util

import numpy as np
import pytest

from .conftest import REPO


@pytest.fixture(scope="module")
def zoo():
    spec = importlib.util.spec_from_file_location("study_method_zoo", REPO / "studies" / "method_zoo" / "study.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _records(task, gap, pgrs, unstable=False):
    out = []
    for method, values in pgrs.items():
        for seed, v in enumerate(values):
            student = 0.7 + (v if v is not None else 0.0) * gap[seed]
            out.append({"task": task, "method": method, "seed": seed, "weak_acc": 0.7, "ceiling_acc": 0.7 + gap[seed],
                        "student_acc": student, "gap_acc": gap[seed], "unstable": unstable, "pgr_acc": v,
                        "pgr_auroc": v, "oracle": False, "hash": f"{task}-{method}-{seed}"})
    return out


def test_the_headline_admits_tasks_by_the_mean_gap_and_pools_every_seed(zoo):
    recs = (_records("a", [0.10, 0.11, 0.09], {"naive": [0.5, 0.6, 0.4], "confidence": [0.8, 0.9, 0.7]})
            + _records("b", [0.05, 0.06, 0.04], {"naive": [0.2, 0.2, 0.2], "confidence": [0.1, 0.1, 0.1]})
            + _records("c", [0.01, -0.01, 0.0], {"naive": [5.0, -3.0, None], "confidence": [9.0, 9.0, 9.0]},
                       unstable=True))
    for r in recs:  # a seed flagged stable does not admit a task whose mean gap is not resolved
        if r["task"] == "c" and r["seed"] == 0:
            r["unstable"] = False
    stab = zoo.task_stability(recs)
    assert not stab["a"]["unstable"] and not stab["b"]["unstable"] and stab["c"]["unstable"]
    assert stab["a"]["gap"] == pytest.approx(0.1) and stab["c"]["gap"] == pytest.approx(0.0)
    rows = {r["method"]: r for r in zoo.headline(recs, stab)}
    pooled_a = (0.5 * 0.10 + 0.6 * 0.11 + 0.4 * 0.09) / 0.30  # (mean student − mean weak) / mean gap
    assert rows["naive"]["median"] == pytest.approx(np.median([pooled_a, 0.2]))
    assert rows["naive"]["n_tasks"] == 2 and rows["confidence"]["n_tasks"] == 2
    # confidence beats naive on a, loses on b (seed-paired differences, all of one sign)
    assert rows["confidence"]["vs_naive"] == {"better": 1, "not resolved": 0, "worse": 1}
    for r in rows.values():
        assert r["ci_low"] <= r["median"] <= r["ci_high"]
    assert [r["method"] for r in zoo.headline(recs, stab)] == ["naive", "confidence"]


def test_task_tables_pool_all_seeds_and_print_no_number_without_a_gap(zoo):
    recs = (_records("a", [0.10, 0.11, 0.12, -0.02], {"naive": [0.5, 0.6, 0.4, 2.0]})
            + _records("c", [0.01, -0.01, 0.0], {"naive": [5.0, -3.0, None]}))
    lines = "\n".join(zoo._task_table(recs, "acc"))
    pooled = (0.5 * 0.10 + 0.6 * 0.11 + 0.4 * 0.12 + 2.0 * -0.02) / 0.31  # the negative-gap seed counts too
    assert f"{pooled:.2f} [" in lines and "| c (gap not resolved) |" in lines and "n.r." in lines


ENSEMBLE = {"kind": "ensemble", "model": "minilm", "members": 5, "bagging": True, "models": []}
CHAIN = {"kind": "chain", "model": "minilm", "rungs": ["smollm2-135m"]}


def _row(method, weak="minilm", kind="model", strong="mpnet", task="sst2", seed=0, weak_acc=0.6, **extra):
    """A store record as the pipeline writes it (and `w2sg store migrate` rewrites older rows): supervisor_kind, and
    spec.weak as the model alias or the supervisor's mapping (the `weak` column is its label)."""
    label = weak if isinstance(weak, str) else weak["kind"] + "(" + ",".join(
        f"{k}={v}" for k, v in sorted(weak.items()) if k != "kind") + ")"
    out = {"task": task, "seed": seed, "weak": label, "strong": strong, "method": method, "weak_acc": weak_acc,
           "ceiling_acc": 0.8, "gap_acc": 0.8 - weak_acc, "unstable": False, "spec": {"weak": weak}, **extra}
    out["supervisor_kind"] = kind
    return out


@pytest.mark.parametrize(("row", "name"), [
    # the plain minilm supervisor: the method's label (the retired weak_ensemble keeps its own)
    (_row("naive"), "naive"),
    (_row("probe_relabel(probe=knn)"), "probe_relabel(probe=knn)"),
    (_row("weak_ensemble", supervisor_acc=0.62), "weak_ensemble"),
    (_row("generative_finetune+naive"), "generative_finetune+naive"),
    (_row("generative_finetune+confidence"), "generative_finetune+confidence"),
    # supervisors built on minilm: named by the supervisor and the method
    (_row("naive", weak=ENSEMBLE, kind="ensemble"), "ensemble→naive"),
    (_row("confidence", weak=ENSEMBLE, kind="ensemble"), "ensemble→confidence"),
    (_row("naive", weak=dict(ENSEMBLE, members=3, bagging=False), kind="ensemble"),
     "ensemble(bagging=False,members=3)→naive"),
    (_row("naive", weak=CHAIN, kind="chain", supervisor_acc=0.55), "bootstrap(smollm2)"),
    (_row("confidence", weak=CHAIN, kind="chain"), "bootstrap(smollm2)→confidence"),
    # not part of the zoo page
    (_row("naive", strong="gemma3-270m"), None),
    (_row("naive", weak="mpnet"), None),
    (_row("naive", locked="password"), None),
    (_row("naive", weak=dict(ENSEMBLE, model="mpnet"), kind="ensemble"), None),
    (_row("naive", weak=dict(CHAIN, model="mpnet"), kind="chain"), None),
    (_row("naive", weak={"kind": "synthetic", "error_rate": 0.2}, kind="synthetic"), None),
])
def test_zoo_name_names_each_supervisor_and_method(zoo, row, name):
    assert zoo.zoo_name(row) == name


def test_only_plain_minilm_rows_set_the_floor(zoo):
    """The ensemble's floor is the ensemble: its rows must not set a task's weak/ceiling/gap, nor be mistaken for
    the old weak_ensemble rows (whose floor is the single model); chain rows keep minilm's floor, but only plain
    rows count."""
    old = [_row("naive", seed=s) for s in range(3)] + [_row("weak_ensemble", seed=s, supervisor_acc=0.7)
                                                       for s in range(3)]
    new = ([_row("naive", weak=ENSEMBLE, kind="ensemble", seed=s, weak_acc=0.7) for s in range(3)]
           + [_row("naive", weak=CHAIN, kind="chain", seed=s, supervisor_acc=0.5) for s in range(3)]
           + [_row("naive", weak="mpnet", seed=s, weak_acc=0.75) for s in range(3)])
    rows = zoo.zoo_records(new + old)  # the store sorts 'chain(...)' and 'ensemble(...)' before 'minilm'
    assert len(rows) == 12 and {r["method"] for r in rows} == {"naive", "weak_ensemble", "ensemble→naive",
                                                               "bootstrap(smollm2)"}
    assert [zoo.plain_weak(r) for r in rows] == [False] * 6 + [True] * 6
    plain = [r for r in rows if zoo.plain_weak(r)]
    stab = zoo.task_stability(plain)
    assert stab["sst2"]["weak"] == pytest.approx(0.6) and stab["sst2"]["gap"] == pytest.approx(0.2)
    assert zoo.task_stability(rows)["sst2"]["weak"] == pytest.approx(0.7)  # what filtering prevents
    notes = "\n".join(zoo._supervisor_notes(rows, plain))
    assert "ensemble→naive" in notes and "unlike the old `weak_ensemble` rows" in notes.lower()
    assert "0.700 vs 0.600" in notes  # the ensemble's floor against the single minilm, paired by (task, seed)
    assert "bootstrap(smollm2)" in notes and "0.500 vs 0.600" in notes
    assert zoo._supervisor_notes(plain, plain) == []  # old rows only: the page keeps its former text


def test_method_order_places_new_names_beside_the_old(zoo):
    names = ["generative_finetune", "bootstrap(smollm2)", "ensemble→naive", "weak_ensemble", "naive",
             "probe_relabel(probe=knn)", "bootstrap(smollm2)→confidence", "confidence"]
    assert sorted(names, key=zoo.method_order) == [
        "naive", "confidence", "probe_relabel(probe=knn)", "weak_ensemble", "ensemble→naive", "bootstrap(smollm2)",
        "bootstrap(smollm2)→confidence", "generative_finetune"]
