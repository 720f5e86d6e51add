"""The method-zoo study's statistics: which tasks count, and the median PGR with its CI."""

import importlib.util

import numpy as np
import pytest

from .conftest import REPO


@pytest.fixture(scope="module")
def zoo():
    spec = importlib.util.spec_from_file_location("method_zoo", REPO / "studies" / "method_zoo.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _records(task, gap, pgrs, unstable=False):
    out = []
    for method, values in pgrs.items():
        for seed, v in enumerate(values):
            out.append({"task": task, "method": method, "seed": seed, "weak_acc": 0.7, "ceiling_acc": 0.7 + gap[seed],
                        "gap_acc": gap[seed], "unstable": unstable, "pgr_acc": v, "pgr_auroc": v, "oracle": False})
    return out


def test_unstable_tasks_are_left_out_of_the_headline(zoo):
    recs = (_records("a", [0.10, 0.11, 0.09], {"naive": [0.5, 0.6, 0.4], "confidence": [0.8, 0.9, 0.7]})
            + _records("b", [0.05, 0.06, 0.04], {"naive": [0.2, 0.2, 0.2], "confidence": [0.1, 0.1, 0.1]})
            + _records("c", [0.01, -0.01, 0.0], {"naive": [5.0, -3.0, None], "confidence": [9.0, 9.0, 9.0]},
                       unstable=True))
    for r in recs:  # one clear seed out of three does not make a task stable
        if r["task"] == "c" and r["seed"] == 0:
            r["unstable"] = False
    stab = zoo.task_stability(recs)
    assert not stab["a"]["unstable"] and not stab["b"]["unstable"] and stab["c"]["unstable"]
    rows = {r["method"]: r for r in zoo.headline(recs, stab)}
    assert rows["naive"]["median"] == pytest.approx(np.median([0.5, 0.2]))
    assert rows["confidence"]["median"] == pytest.approx(np.median([0.8, 0.1]))
    assert rows["confidence"]["beats_naive"] == 1 and rows["confidence"]["n_tasks"] == 2
    for r in rows.values():
        assert r["ci_low"] <= r["median"] <= r["ci_high"]
    assert [r["method"] for r in zoo.headline(recs, stab)] == ["naive", "confidence"]


def test_median_ci_narrows_with_agreeing_tasks(zoo):
    wide = zoo.median_ci({"a": [0.0, 1.0], "b": [0.2, 0.9], "c": [-0.5, 1.2]})
    tight = zoo.median_ci({"a": [0.5, 0.51], "b": [0.49, 0.5], "c": [0.5, 0.5]})
    assert tight[2] - tight[1] < 0.05 < wide[2] - wide[1]
    assert zoo.median_ci({"a": []}) == (None, None, None)
