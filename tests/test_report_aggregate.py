"""The figures' aggregation (`w2sg.report.aggregate`, `w2sg.report.budget`): hand-built records in, the
numbers each figure draws out: seed means with t-based CIs, medians, stable-only means, orderings, filters."""

from __future__ import annotations

import math
import subprocess
import sys

import pytest

from tests.test_report_html import grid_records
from w2sg.report.aggregate import (
    agreement_data,
    methods_compared_data,
    order,
    pgr_heatmap_data,
    pgr_vs_gap_data,
    student_vs_ceiling_data,
)
from w2sg.report.budget import budget_kind, budget_points, budget_sort_key
from w2sg.result import as_results

T975_1 = 12.7062047  # two-sided 95% Student-t quantile with 1 degree of freedom


def rec(method: str = "m", weak: str = "w", strong: str = "s", seed: int = 0, pgr: float | None = 0.5,
        unstable: bool = False, task: str = "t", **kw) -> dict:
    return {"task": task, "mode": "frozen", "weak": weak, "strong": strong, "method": method, "seed": seed,
            "pgr_acc": pgr, "unstable": unstable, **kw}


def test_methods_compared_means_cis_and_undefined():
    records = [rec("a", seed=0, pgr=0.2), rec("a", seed=1, pgr=0.4),
               rec("b", seed=0, pgr=0.5, pgr_acc_ci_low=0.3, pgr_acc_ci_high=0.7), rec("b", seed=1, pgr=None),
               rec("c", seed=0, pgr=None, unstable=True), rec("c", seed=1, pgr=None)]
    data = methods_compared_data(records)
    assert data.methods == ["a", "b", "c"]
    (panel,) = data.panels
    assert panel.key == ("t", "frozen") and panel.pairs == [("w", "s")]
    a, b, c = (panel.stats[(("w", "s"), m)] for m in "abc")
    # a: mean 0.3, sd 0.1414, half-width t_{0.975,1} * sd / sqrt(2) = 12.706 * 0.1
    assert a.mean == pytest.approx(0.3)
    assert (a.lo, a.hi) == pytest.approx((0.3 - T975_1 * 0.1, 0.3 + T975_1 * 0.1))
    assert (a.n, a.total, a.unstable) == (2, 2, False)
    # b: one seed defined -> its own bootstrap CI
    assert (b.mean, b.lo, b.hi, b.n, b.total) == (0.5, 0.3, 0.7, 1, 2)
    # c: undefined in every seed, one of them unstable
    assert (c.mean, c.lo, c.hi, c.n, c.total, c.unstable) == (None, None, None, 0, 2, True)


def test_methods_compared_on_the_report_grid():
    data = methods_compared_data(grid_records())
    panel = next(p for p in data.panels if p.key == ("t1", "frozen"))
    assert panel.pairs == [("a", "b"), ("a", "c"), ("b", "b"), ("b", "c")]  # weak by accuracy, then strong
    naive = panel.stats[(("a", "c"), "naive")]  # PGR targets 0.50, 0.55, 0.60 over the three seeds
    assert naive.mean == pytest.approx(0.55) and naive.n == 3 and not naive.unstable
    same = panel.stats[(("b", "b"), "naive")]  # b → b: one seed undefined, the others unstable
    assert same.n == 2 and same.total == 3 and same.unstable


def test_models_ordered_by_capability_not_name():
    records = [rec(weak="zeta", strong="big", weak_acc=0.6, ceiling_acc=0.95),
               rec(weak="alpha", strong="big", weak_acc=0.7, ceiling_acc=0.9),
               rec(weak="zeta", strong="small", weak_acc=0.6, ceiling_acc=0.8),
               rec(weak="mute", strong="small")]  # no accuracy: last
    results = as_results(records)
    assert order(results, "weak") == ["zeta", "alpha", "mute"]
    assert order(results, "strong") == ["small", "big"]  # mean ceiling 0.8 vs (0.95 + 0.9) / 2
    assert methods_compared_data(records).panels[0].pairs == [("zeta", "small"), ("zeta", "big"),
                                                              ("alpha", "big"), ("mute", "small")]


def test_heatmap_cells():
    records = [rec(weak="w1", strong="s1", seed=i, pgr=v, unstable=i == 2) for i, v in enumerate((0.1, 0.5, 0.3))]
    records += [rec(weak="w1", strong="s2", seed=i, pgr=None) for i in range(2)]
    records += [rec(weak="w2", strong="s2", pgr=-0.2)]
    records += [rec(weak=None, strong="s1", pgr=3.0)]  # no weak model: not in the heatmap
    data = pgr_heatmap_data(records)
    (row,) = data.grids
    (g,) = row
    cells = {(g.weaks[wi], g.strongs[si]): c for (wi, si), c in g.cells.items()}
    assert (cells[("w1", "s1")].median, cells[("w1", "s1")].n_def, cells[("w1", "s1")].n) == (0.3, 3, 3)
    assert cells[("w1", "s1")].unstable and not cells[("w2", "s2")].unstable
    assert (cells[("w1", "s2")].median, cells[("w1", "s2")].n_def, cells[("w1", "s2")].n) == (None, 0, 2)
    assert ("w2", "s1") not in cells  # not run
    assert (data.vmin, data.vmax) == (-0.2, 1.0)


def test_pgr_vs_gap_points():
    records = [rec(gap_acc=0.1, gap_acc_ci_low=0.05, gap_acc_ci_high=0.15, pgr=0.4, pgr_acc_ci_low=0.2,
                   pgr_acc_ci_high=0.6),
               rec(gap_acc=-0.01, pgr=None, unstable=True, task="u"),
               rec(pgr=0.9)]  # no gap: left out
    data = pgr_vs_gap_data(records)
    assert [key for key, _ in data.panels] == [("t", "frozen"), ("u", "frozen")]
    (p,), (q,) = (pts for _, pts in data.panels)
    assert (p.gap, p.gap_lo, p.gap_hi, p.pgr, p.pgr_lo, p.pgr_hi, p.unstable) == (0.1, 0.05, 0.15, 0.4, 0.2, 0.6,
                                                                                   False)
    assert (q.gap, q.pgr, q.unstable) == (-0.01, None, True)


def test_agreement_control_counts_each_seed_once():
    records = [rec(m, seed=s, agree_transfer_weak_right=0.9, agree_transfer_weak_wrong=ww,
                   ceiling_agree_transfer_weak_right=0.95, ceiling_agree_transfer_weak_wrong=cw)
               for m, s, ww, cw in (("a", 0, 0.6, 0.2), ("a", 1, 0.8, 0.4), ("b", 0, 0.3, 0.2), ("b", 1, 0.3, 0.4))]
    data = agreement_data(records)
    assert data.split == "transfer" and data.methods == ["a", "b"]
    bars = data.panels[0].bars
    mean, lo, hi, n = bars[("weak_wrong", ("w", "s"), None)]
    assert (mean, n) == (pytest.approx(0.3), 2)  # seeds 0 and 1, not four rows
    assert bars[("weak_wrong", ("w", "s"), "a")][0] == pytest.approx(0.7)
    mean, lo, hi, n = bars[("weak_wrong", ("w", "s"), "b")]
    assert (mean, n) == (pytest.approx(0.3), 2) and (lo, hi) == pytest.approx((0.3, 0.3))  # sd 0
    assert bars[("weak_right", ("w", "s"), None)][0] == pytest.approx(0.95)
    # no transfer agreement: the test split; none at all: nothing to draw
    test_only = [rec(agree_test_weak_wrong=0.5)]
    assert agreement_data(test_only).split == "test"
    assert agreement_data(test_only).panels[0].bars[("weak_wrong", ("w", "s"), "m")][:2] == (0.5, None)
    assert agreement_data([rec()]).split is None


def test_student_vs_ceiling_lines():
    records = [rec(strong=s, seed=seed, weak_acc=0.6 + 0.02 * seed, ceiling_acc=c, student_acc=y + 0.01 * seed)
               for s, c, y in (("s2", 0.9, 0.75), ("s1", 0.8, 0.7)) for seed in (0, 1)]
    records.append(rec(strong="s3", weak_acc=0.6, ceiling_acc=0.99))  # no student accuracy: left out
    data = student_vs_ceiling_data(records)
    assert data.weaks == ["w"] and data.methods == ["m"]
    (p,) = data.panels
    assert list(p.strong_x) == ["s1", "s2"] and p.strong_x["s2"] == pytest.approx(0.9)
    assert p.weak_level == {"w": pytest.approx(0.61)}
    assert p.lines[("w", "m")] == [pytest.approx((0.8, 0.705)), pytest.approx((0.9, 0.755))]


def budget_rec(budget: str, seed: int, pgr: float | None, unstable: bool = False, method: str = "m", **kw) -> dict:
    return rec(method, seed=seed, pgr=pgr, unstable=unstable, budget=budget, pgr_auroc=pgr,
               unstable_auroc=unstable, pgr_acc_ci_low=None if pgr is None else pgr - 0.1,
               pgr_acc_ci_high=None if pgr is None else pgr + 0.1, **kw)


def test_budget_points_use_stable_seeds_only():
    records = [budget_rec("steps=16", 0, 0.2), budget_rec("steps=16", 1, 0.4), budget_rec("steps=16", 2, 9.0, True),
               budget_rec("converged", 0, 0.5), budget_rec("converged", 1, None), budget_rec("converged", 2, 0.1, True),
               budget_rec("steps=16", 0, 0.5, method="single")]  # one budget only: not drawn
    points = {(p.budget, p.metric): p for p in budget_points(records)}
    assert set(points) == {(b, m) for b in ("steps=16", "converged") for m in ("acc", "auroc")}
    p = points[("steps=16", "acc")]
    assert (p.mean, p.n_stable, p.n_total, p.kind, p.steps) == (pytest.approx(0.3), 2, 3, "steps", 16)
    assert (p.lo, p.hi) == pytest.approx((0.3 - T975_1 * 0.1, 0.3 + T975_1 * 0.1))
    q = points[("converged", "acc")]  # one stable seed: its bootstrap CI
    assert (q.mean, q.lo, q.hi, q.n_stable, q.n_total, q.kind, q.steps) == (0.5, 0.4, 0.6, 1, 3, "full", None)
    none = budget_points([dict(r, unstable=True) for r in records[:6]])
    assert all(p.mean is None and p.n_stable == 0 for p in none if p.metric == "acc")


def test_budget_series_names_and_kinds():
    records = [budget_rec(b, 0, 0.5, variant="train.lr=0.1") for b in ("steps=8", "early_stop_oracle(auroc)")]
    records += [dict(r, strong="s2") for r in records]
    series = {p.series for p in budget_points(records)}
    assert series == {"m {train.lr=0.1} (w→s)", "m {train.lr=0.1} (w→s2)"}  # two pairs: named
    assert {p.oracle for p in budget_points(records)} == {True, False}
    assert budget_kind({"budget": "early_stop(acc)"}) == "early_stop"
    assert budget_kind({"budget": "epochs=3", "budget_kind": "steps"}) == "steps"  # the recorded kind wins
    assert budget_kind({"budget": None}) is None


def test_budget_label_order():
    labels = ["converged", "early_stop_oracle(auroc)", "steps=256", None, "early_stop(auroc)", "steps=16"]
    assert sorted(labels, key=budget_sort_key) == [None, "steps=16", "steps=256", "converged", "early_stop(auroc)",
                                                   "early_stop_oracle(auroc)"]


def test_dicts_and_results_aggregate_alike():
    records = grid_records()
    results = as_results(records)
    for fn in (methods_compared_data, pgr_heatmap_data, pgr_vs_gap_data, agreement_data, student_vs_ceiling_data):
        assert fn(records) == fn(results), fn.__name__


def test_empty_input():
    assert methods_compared_data([]).panels == [] and pgr_vs_gap_data([]).panels == []
    assert student_vs_ceiling_data([]).panels == [] and pgr_heatmap_data([]).panels == []
    assert budget_points([]) == [] and agreement_data([]).split is None
    assert math.isclose(pgr_heatmap_data([]).vmax, 1.0)


def test_aggregation_imports_no_matplotlib():
    code = ("import sys, w2sg.report.aggregate, w2sg.report.budget, w2sg.result; "
            "sys.exit('matplotlib' in sys.modules)")
    assert subprocess.run([sys.executable, "-c", code], timeout=60).returncode == 0
