"""The figures' aggregation (`w2sg.report.aggregate`, `w2sg.report.budget`): hand-built records in, the
numbers each figure draws out: seed means with t-based CIs, the pooled PGR of all seeds, orderings, filters."""

from __future__ import annotations

import math
import subprocess
import sys

import pytest

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

from .conftest import grid_records

T975_1 = 12.7062047  # two-sided 95% Student-t quantile with 1 degree of freedom


def rec(method: str = "m", weak: str = "w", strong: str = "s", seed: int = 0, pgr: float | None = 0.5,
        unstable: bool = False, task: str = "t", **kw) -> dict:
    return {"task": task, "mode": "frozen", "weak": weak, "strong": strong, "method": method, "seed": seed,
            "pgr_acc": pgr, "unstable": unstable, **kw}


def acc_rec(method: str = "m", weak: str = "w", strong: str = "s", seed: int = 0, w: float = 0.6, c: float = 0.8,
            s: float = 0.7, **kw) -> dict:
    """A record with its accuracies (AUROCs equal to them) and the per-seed PGR they imply (None if c <= w)."""
    value = (s - w) / (c - w) if c > w else None
    return rec(method, weak, strong, seed, pgr=value, unstable=value is None, weak_acc=w, ceiling_acc=c,
               student_acc=s, weak_auroc=w, ceiling_auroc=c, student_auroc=s, pgr_auroc=value,
               unstable_auroc=value is None, **kw)


def pooled(triples) -> float:
    """(mean student − mean weak) / (mean ceiling − mean weak) over every (w, c, s)."""
    w, c, s = (sum(t[i] for t in triples) / len(triples) for i in range(3))
    return (s - w) / (c - w)


# gaps [0.3, 0.2, -0.1]: per-seed PGRs 0.4, 0.5, undefined
THREE = ((0.6, 0.9, 0.72), (0.6, 0.8, 0.70), (0.6, 0.5, 0.62))


def test_methods_compared_pools_all_seeds():
    records = [acc_rec("a", seed=i, w=w, c=c, s=s) for i, (w, c, s) in enumerate(THREE)]
    records += [acc_rec("b", seed=i, w=0.6, c=0.8 + 0.01 * i, s=0.7 + 0.01 * i) for i in range(4)]
    records += [acc_rec("c", seed=i, w=0.7, c=0.69, s=0.71) for i in range(2)]  # ceiling below weak in every seed
    records += [rec("d", seed=0, pgr=0.5)]  # no accuracies: nothing to pool
    data = methods_compared_data(records)
    assert data.methods == ["a", "b", "c", "d"]
    (panel,) = data.panels
    assert panel.key == ("t", "frozen") and panel.pairs == [("w", "s")]
    a, b, c, d = (panel.stats[(("w", "s"), m)] for m in "abcd")
    # a: (0.68 − 0.6) / (0.7333 − 0.6) = 0.6 over all three seeds (not 0.45, the mean of the defined ones; not
    # 0.44, the pooled PGR of the two seeds with a positive gap); with three seeds the mean gap is not resolved
    assert a.value == pytest.approx(pooled(THREE)) == pytest.approx(0.6)
    assert (a.n, a.n_undefined, a.resolved, a.shown, a.levels) == (3, 1, False, None, "seeds")
    assert a.gap == pytest.approx(0.4 / 3) and a.gap_lo == pytest.approx(-0.1) and a.gap_hi > 0.2
    # b: four seeds, every gap positive: resolved, its CI over seeds around (0.715 − 0.6) / (0.815 − 0.6)
    assert b.value == pytest.approx(0.115 / 0.215) and b.resolved and b.shown == b.value
    assert b.lo <= b.value <= b.hi and (b.n, b.n_undefined) == (4, 0)
    assert b.text() == f"{b.value:.2f} [{b.lo:.2f}, {b.hi:.2f}]"
    # c: mean gap negative: no PGR; d: no scores
    assert (c.value, c.lo, c.hi, c.resolved, c.n, c.n_undefined) == (None, None, None, False, 2, 2)
    assert c.gap == pytest.approx(-0.01)
    assert (d.value, d.resolved, d.gap, d.n) == (None, False, None, 1)


def test_methods_compared_on_the_report_grid():
    data = methods_compared_data(grid_records())
    panel = next(p for p in data.panels if p.key == ("t1", "frozen"))
    assert panel.pairs == [("a", "b"), ("a", "c"), ("b", "b"), ("b", "c")]  # weak by accuracy, then strong
    naive = panel.stats[(("a", "c"), "naive")]  # PGR targets 0.50, 0.55, 0.60 over the three seeds
    assert naive.value == pytest.approx(0.55, abs=0.005) and naive.n == 3 and naive.resolved
    same = panel.stats[(("b", "b"), "naive")]  # b → b: gaps −0.005, 0.006, 0.004 (one seed undefined)
    assert (same.n, same.n_undefined, same.resolved, same.shown) == (3, 1, False, None)
    assert same.gap == pytest.approx(0.005 / 3)


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
    w1s1 = ((0.6, 0.8, 0.70), (0.6, 0.9, 0.66), (0.62, 0.84, 0.8), (0.6, 0.85, 0.75))
    records = [acc_rec(weak="w1", strong="s1", seed=i, w=w, c=c, s=s) for i, (w, c, s) in enumerate(w1s1)]
    records += [acc_rec(weak="w1", strong="s2", seed=i, w=w, c=c, s=s) for i, (w, c, s) in enumerate(THREE)]
    records += [acc_rec(weak="w2", strong="s2", seed=i, w=0.6, c=0.9 + 0.01 * i, s=0.55) for i in range(4)]
    records += [acc_rec(weak=None, strong="s1", s=0.99)]  # no weak model: not in the heatmap
    data = pgr_heatmap_data(records)
    (row,) = data.grids
    (g,) = row
    cells = {(g.weaks[wi], g.strongs[si]): c for (wi, si), c in g.cells.items()}
    a = cells[("w1", "s1")]  # four seeds, gaps resolved: the pooled PGR, not the median 0.55 of 0.5, 0.2, 0.82, 0.6
    assert a.value == pytest.approx(pooled(w1s1)) == pytest.approx(0.1225 / 0.2425)
    assert a.resolved and (a.n, a.n_undefined) == (4, 0) and a.lo <= a.value <= a.hi
    b = cells[("w1", "s2")]  # gaps 0.3, 0.2, −0.1: pooled over all three, its mean gap not resolved
    assert b.value == pytest.approx(0.6) and not b.resolved and b.shown is None and (b.n, b.n_undefined) == (3, 1)
    neg = cells[("w2", "s2")]  # student below weak: a negative pooled PGR sets the colour scale
    assert neg.value == pytest.approx(-0.05 / 0.315) and neg.resolved
    assert ("w2", "s1") not in cells  # not run
    assert (data.vmin, data.vmax) == (pytest.approx(-0.05 / 0.315), 1.0)  # resolved values only: b's 0.6 unused


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


def budget_rec(budget: str, seed: int, w: float = 0.6, c: float = 0.8, s: float = 0.7, method: str = "m",
               **kw) -> dict:
    return acc_rec(method, seed=seed, w=w, c=c, s=s, budget=budget, **kw)


def test_budget_points_pool_all_seeds():
    steps16 = ((0.6, 0.8, 0.64), (0.6, 0.8, 0.68), (0.6, 0.61, 0.65))  # seed 2: gap 0.01, per-seed PGR 5.0
    records = [budget_rec("steps=16", i, w, c, s) for i, (w, c, s) in enumerate(steps16)]
    records += [budget_rec("converged", i, w, c, s) for i, (w, c, s) in enumerate(THREE)]
    records.append(budget_rec("steps=16", 0, method="single"))  # one budget only: not drawn
    points = {(p.budget, p.metric): p for p in budget_points(records)}
    assert set(points) == {(b, m) for b in ("steps=16", "converged") for m in ("acc", "auroc")}
    p = points[("steps=16", "acc")]
    # all three seeds: (0.6567 − 0.6) / (0.7367 − 0.6) = 0.415, not 0.3 (seeds 0, 1) nor 1.87 (mean of the PGRs)
    assert p.stat.value == pytest.approx(pooled(steps16)) == pytest.approx(0.17 / 0.41)
    assert p.value == p.stat.value and p.stat.resolved and (p.stat.n, p.kind, p.steps) == (3, "steps", 16)
    assert p.stat.lo <= p.value <= p.stat.hi
    assert points[("steps=16", "auroc")].stat.value == pytest.approx(p.stat.value)
    q = points[("converged", "acc")]  # gaps 0.3, 0.2, −0.1: the mean gap is not resolved, no value drawn
    assert (q.value, q.stat.resolved, q.stat.n, q.stat.n_undefined, q.kind, q.steps) == (None, False, 3, 1, "full",
                                                                                          None)
    assert q.stat.value == pytest.approx(0.6)
    # the per-experiment `unstable` flag selects nothing: flagging every row changes no point
    flagged = budget_points([dict(r, unstable=True, unstable_auroc=True) for r in records])
    assert flagged == budget_points(records)


def test_budget_series_names_and_kinds():
    records = [budget_rec(b, 0, variant="train.lr=0.1") for b in ("steps=8", "early_stop_oracle(auroc)")]
    records += [dict(r, strong="s2") for r in records]
    series = {p.series for p in budget_points(records)}
    assert series == {"m (w→s)", "m (w→s2)"}  # two pairs: named; one variant: said in the caption, not here
    two = records + [dict(r, variant="", hash=f"default{i}") for i, r in enumerate(records)]
    assert {p.series for p in budget_points(two)} == {f"m [{t}] (w→{s})" for t in ("v1", "default")
                                                      for s in ("s", "s2")}
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
