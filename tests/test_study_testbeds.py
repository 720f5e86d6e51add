"""The testbed and reward-modelling studies' statistics on hand-made records: which rows count, and the paired
comparisons their statements rest on."""

import importlib.util
import sys

import pytest

from .conftest import REPO


def _load(name):
    sys.path.insert(0, str(REPO / "studies"))
    spec = importlib.util.spec_from_file_location(name, REPO / "studies" / f"{name}.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope="module")
def tb():
    return _load("testbeds")


@pytest.fixture(scope="module")
def rm():
    return _load("reward_modelling")


def _row(task, seed, kind, errors=None, rate=None, method="naive", locked=None, **kw):
    return {"task": task, "seed": seed, "method": method, "strong": "mpnet", "weak": "minilm" if kind == "model"
            else f"synthetic({errors})", "supervisor": "minilm" if kind == "model" else f"synthetic({errors})",
            "supervisor_kind": kind, "supervisor_errors": errors, "supervisor_error_rate": rate, "locked": locked,
            "weak_acc": 0.8, "ceiling_acc": 0.9, "student_acc": 0.85, "pgr_acc": 0.5, "unstable": False, **kw}


def test_family_names_the_supervisor(tb):
    assert tb.family(_row("sst2", 0, "model")) == "weak model"
    assert tb.family(_row("sst2", 0, "synthetic", "random", 0.2)) == "random"
    assert tb.family(_row("sst2", 0, "synthetic", "region", 0.2)) == "region (cluster)"
    assert tb.family(_row("sst2", 0, "model", locked="password")) == "locked password"


def test_paired_imitation_pairs_by_seed_at_the_matched_rate(tb):
    rows = []
    for seed, (rand, reg) in enumerate([(0.60, 0.80), (0.50, 0.75), (0.55, 0.70)]):
        rows.append(_row("sst2", seed, "synthetic", "random", 0.2, agree_test_weak_wrong=rand))
        rows.append(_row("sst2", seed, "synthetic", "region", 0.2, agree_test_weak_wrong=reg))
        # other rates and methods do not enter the 20% comparison
        rows.append(_row("sst2", seed, "synthetic", "region", 0.3, agree_test_weak_wrong=0.0))
        rows.append(_row("sst2", seed, "synthetic", "random", 0.2, method="confidence", agree_test_weak_wrong=1.0))
    (task, mean, lo, hi, n), = tb.paired_imitation(rows)
    assert task == "sst2" and n == 3
    assert mean == pytest.approx((0.20 + 0.25 + 0.15) / 3)
    assert lo < mean < hi
    assert "reproduces on sst2" in tb.statement(rows)


def test_locked_minus_unlocked_is_paired_by_seed(tb):
    rows = [_row("wic", s, "model", student_acc=0.70 + 0.01 * s) for s in range(3)]
    rows += [_row("wic", s, "model", locked="password", student_acc=0.60 + 0.01 * s, locked_acc=0.6,
                  locked_acc_trigger=0.7, student_acc_trigger=0.68) for s in range(3)]
    (task, variant, mean, lo, hi, n), = tb.unlocked_vs_locked(rows)
    assert (task, variant, n) == ("wic", "password", 3) and mean == pytest.approx(-0.10)
    table = "\n".join(tb.locked_table(rows))
    assert "| wic | password | 0.800 | 0.900 | 0.600 | 0.700 | naive |" in table


def test_generative_section_pairs_each_seed_with_its_naive_student(rm):
    recs = []
    for seed in range(3):
        base = {"task": "sciq_pairs", "seed": seed, "strong": "mpnet", "weak": "minilm", "supervisor": "minilm",
                "supervisor_kind": "model", "weak_acc": 0.85, "ceiling_acc": 0.92, "unstable": False}
        recs.append({**base, "method": "naive", "student_acc": 0.88, "pgr_acc": 0.4})
        # a naive row of another grid (other splits) on the same task and seed is not the partner
        recs.append({**base, "method": "naive", "student_acc": 0.10, "pgr_acc": -9.0,
                     "spec": {"splits": {"n_transfer": 200}, "train": {}}})
        recs.append({**base, "method": "generative_finetune+naive", "student_acc": 0.90, "pgr_acc": 0.7 + 0.01 * seed})
    text = "\n".join(rm.generative_section(recs))
    assert "| sciq_pairs | reward model | 3 | 0.850 | 0.920 | 0.880 | 0.900 |" in text
    assert "+0.31" in text  # mean paired difference (0.30 + 0.31 + 0.32) / 3
