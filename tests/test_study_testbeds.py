"""The testbed and reward-modelling studies' statistics on hand-made records: which rows count, and the paired
comparisons their statements rest on."""

import importlib.util

import pytest

from .conftest import REPO


def _load(name):
    spec = importlib.util.spec_from_file_location(f"study_{name}", REPO / "studies" / name / "study.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope="module")
def tb():
    return _load("testbeds")


@pytest.fixture(scope="module")
def rm():
    return _load("reward_modelling")


RULE = {"kind": "synthetic", "errors": "region", "error_rate": "midpoint", "model": "minilm",
        "region": {"cluster": {"model": "mpnet", "k": 2, "index": 0, "nearest": True}}, "region_flip": "all"}
RANDOM = {"kind": "synthetic", "errors": "random", "error_rate": "midpoint", "model": "minilm",
          "region": {"cluster": {"model": "mpnet", "k": 2, "index": 0, "nearest": True}}}
OLD_REGION = {"kind": "synthetic", "errors": "region", "error_rate": 0.2,
              "region": {"cluster": {"model": "mpnet", "k": 2, "index": 0}}}


def _row(task, seed, weak, method="naive", locked=None, **kw):
    """A hand-made record: `weak` is the spec's supervisor (an alias or a synthetic mapping)."""
    label = weak if isinstance(weak, str) else "synthetic(" + ",".join(
        f"{k}={v}" for k, v in sorted(weak.items()) if k != "kind") + ")"
    kind = "model" if isinstance(weak, str) else "synthetic"
    return {"hash": f"{task}-{label}-{method}-{locked}-{seed}", "task": task, "seed": seed, "method": method,
            "strong": "mpnet", "weak": label, "supervisor": label, "supervisor_kind": kind, "mode": "frozen",
            "budget": "full", "budget_kind": "full", "locked": locked, "spec": {"weak": weak},
            "weak_acc": 0.8, "ceiling_acc": 0.9, "student_acc": 0.85, "pgr_acc": 0.5, "unstable": False, **kw}


def test_family_names_the_supervisor(tb):
    assert tb.family(_row("sst2", 0, "minilm")) == "weak model"
    assert tb.family(_row("sst2", 0, RANDOM)) == "random"
    assert tb.family(_row("sst2", 0, RULE)) == "rule"
    assert tb.family(_row("sst2", 0, OLD_REGION)) == "region (random flips)"
    assert tb.family(_row("sst2", 0, "minilm", locked="unlocked")) == "locked unlocked"
    assert tb.family(_row("sst2", 0, "smollm2-135m")) is None
    assert tb.quality(_row("sst2", 0, RULE)) == "midpoint" and tb.quality(_row("sst2", 0, OLD_REGION)) == "0.2"


def _matched(seeds=(0, 1, 2)):
    rows = []
    for seed in seeds:
        # the rule student copies the rule on 0.80 + 0.05 s of the ball; the random student errs on 0.10 there
        rows.append(_row("sst2", seed, RULE, imitation_test_region=0.80 + 0.05 * seed,
                         student_err_test_region=0.80 + 0.05 * seed, student_err_test_outside=0.10,
                         student_acc=0.70, weak_acc=0.83, ceiling_acc=0.88))
        rows.append(_row("sst2", seed, RANDOM, imitation_test_region=0.12, student_err_test_region=0.10,
                         student_err_test_outside=0.12, student_acc=0.84, weak_acc=0.83, ceiling_acc=0.88))
        # another method or the old design never enters the naive rule-vs-random pairs
        rows.append(_row("sst2", seed, RULE, method="confidence", imitation_test_region=0.0,
                         student_err_test_region=0.0, student_err_test_outside=0.0))
        rows.append(_row("sst2", seed, OLD_REGION, imitation_test_region=1.0, student_err_test_region=1.0))
    return rows


def test_rule_vs_random_is_paired_by_seed_over_every_seed(tb):
    rows = _matched()
    rows.append(_row("sst2", 3, RULE, imitation_test_region=0.0, student_err_test_region=0.0))  # no partner
    comp = {(t, m): (imit, acc, out) for t, m, imit, acc, out in tb.comparison_rows(rows)}
    (mean, lo, hi, n), acc, outside = comp[("sst2", "naive")]
    assert n == 3 and mean == pytest.approx(0.75) and lo < mean < hi  # (0.70 + 0.75 + 0.80) / 3
    assert acc[0] == pytest.approx(-0.14) and outside[0] == pytest.approx(-0.02)
    text = tb.statement(rows, tb.cells(rows), tb.comparison_rows(rows))
    assert "holds on sst2" in text and "naive_hard" in text  # methods that coincide on hard labels are named
    assert "+0.750" in "\n".join(tb.comparison_table(tb.comparison_rows(rows)))


def test_matched_table_prints_the_pooled_pgr_of_all_seeds(tb):
    rows = [r for r in _matched() if tb.family(r) in ("rule", "random")]
    # one seed of the random supervisor with a negative gap: it is pooled, never dropped
    rows = [dict(r, ceiling_acc=0.80, pgr_acc=None) if tb.family(r) == "random" and r["seed"] == 2 else r
            for r in rows]
    cl = tb.cells(rows)
    row = cl[("sst2", "random", "midpoint", "naive")]
    assert row["n_seeds"] == 3
    pooled = (0.84 - 0.83) / ((0.88 + 0.88 + 0.80) / 3 - 0.83)
    assert row["pgr_acc_pooled"] == pytest.approx(pooled)
    table = "\n".join(tb.matched_table(cl))
    assert "| sst2 | random | naive | 3 | 0.830 |" in table
    assert "| sst2 | rule | naive | 3 | 0.830 | 0.880 | 0.700 |" in table


def test_locked_minus_the_unlocked_control_is_paired_by_seed(tb):
    rows = [_row("sciq", s, "minilm", locked="unlocked", student_acc=0.70 + 0.01 * s, locked_acc=0.5,
                 locked_acc_trigger=0.5, student_acc_trigger=0.7) for s in range(3)]
    rows += [_row("sciq", s, "minilm", locked="password", student_acc=0.60 + 0.01 * s, locked_acc=0.6,
                  locked_acc_trigger=0.7, student_acc_trigger=0.68) for s in range(3)]
    rows += [_row("sciq", s, "minilm", student_acc=0.99) for s in range(3)]  # the linear student: not the control
    lr = {(t, v, m): (n, mean, diff) for t, v, m, n, mean, diff in tb.locked_rows(rows)}
    n, mean, diff = lr[("sciq", "password", "naive")]
    assert n == 3 and diff[0] == pytest.approx(-0.10) and diff[3] == 3
    assert lr[("sciq", "unlocked", "naive")][2][3] == 0
    table = "\n".join(tb.locked_table(tb.locked_rows(rows)))
    assert "| sciq | password | naive | 3 | 0.800 | 0.900 | 0.600 | 0.700 | 0.610 | 0.680 | -0.100 [" in table
    assert "unlocked control" in tb.statement(rows, tb.cells(rows), [])


def test_what_changed_quotes_the_old_numbers_beside_the_new(tb):
    rows = _matched() + [_row("wic", s, "minilm", weak_acc=0.537, student_acc=0.532, ceiling_acc=0.58,
                              deception_score=0.7, deception_score_chance=0.4) for s in range(5)]
    text = "\n".join(tb.what_changed(rows, tb.cells(rows), tb.comparison_rows(rows)))
    assert "+0.20 [-0.99, 1.39]" in text and "student 0.532, weak 0.537 over all 5 seeds" in text
    assert "sst2 naive +0.750" in text and "wic naive: 0.700 (chance 0.400)" in text
    assert "Locked students." in text and "not rerun yet" in text


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
    assert "+0.29" in text  # the pooled difference: (mean generative − mean naive student) / mean gap, all seeds
