"""Every figure that draws a PGR over seeds draws the pooled PGR of ALL the seeds of its cell (issue 22, DESIGN rule
8): (mean student − mean weak) / (mean ceiling − mean weak), never a mean or median over the seeds whose own gap is
positive, stable or defined. Each figure gets a cell whose seeds include one with ceiling < weak: the drawn value
must be the all-seeds formula, which differs from every gap-selected statistic, so dropping that seed fails.
With stored test outcomes the CI resamples seeds and then test groups ("seeds+groups")."""

from __future__ import annotations

import re

import numpy as np
import pytest

from w2sg.metrics.pooled import Outcomes
from w2sg.report.aggregate import methods_compared_data, pgr_heatmap_data
from w2sg.report.budget import budget_points
from w2sg.report.figures import methods_compared, pgr_heatmap, pgr_vs_budget_figure, supervisor_quality
from w2sg.report.html import write_html_report
from w2sg.report.testbeds import supervisor_quality_data

from .conftest import PNG_MAGIC

# (weak, ceiling, student) accuracy per seed; seed 2 has ceiling < weak (its own PGR undefined)
SEEDS = ((0.60, 0.90, 0.72), (0.60, 0.80, 0.70), (0.60, 0.55, 0.62), (0.60, 0.85, 0.70), (0.60, 0.80, 0.70))
N_ROWS = 200  # test rows per seed, in groups of two


def pooled(seeds) -> float:
    w, c, s = np.mean(seeds, axis=0)
    return float((s - w) / (c - w))


ALL = pooled(SEEDS)  # 0.4889
POSITIVE_GAP = pooled([t for t in SEEDS if t[1] > t[0]])  # 0.4421: what dropping seed 2 by its gap gives
DEFINED_MEAN = float(np.mean([(s - w) / (c - w) for w, c, s in SEEDS if c > w]))  # 0.45


def outcomes(seed: int, accs: tuple[float, float, float]) -> dict:
    """Stored test outcomes whose plain accuracies are exactly `accs` (rows right at random places)."""
    rng = np.random.default_rng(seed)
    y = np.tile([0, 1], N_ROWS // 2)
    probs = {}
    for role, acc in zip(("weak", "ceiling", "student"), accs, strict=True):
        right = np.zeros(N_ROWS, bool)
        right[rng.permutation(N_ROWS)[: round(acc * N_ROWS)]] = True
        probs[role] = np.where(right == (y == 1), 0.9, 0.1)
    groups = [f"q{i // 2}" for i in range(N_ROWS)]
    return Outcomes.build(y, groups, probs, [f"{seed}-{i}" for i in range(N_ROWS)], balanced=False).to_arrays()


def record(seed: int, accs: tuple[float, float, float], with_outcomes: bool = False, **kw) -> dict:
    w, c, s = accs
    value = (s - w) / (c - w) if c > w else None
    r = {"hash": f"h{seed}-{sorted(kw.items())}", "task": "t", "mode": "frozen", "weak": "w", "strong": "s",
         "method": "naive", "seed": seed, "weak_acc": w, "ceiling_acc": c, "student_acc": s, "weak_auroc": w,
         "ceiling_auroc": c, "student_auroc": s, "gap_acc": c - w, "pgr_acc": value, "pgr_auroc": value,
         "unstable": value is None or c - w < 0.25, "unstable_auroc": value is None, "budget": "converged", **kw}
    if with_outcomes:
        r["test_outcomes"] = outcomes(seed, accs)
    return r


def cell(with_outcomes: bool = False, **kw) -> list[dict]:
    return [record(i, accs, with_outcomes, **kw) for i, accs in enumerate(SEEDS)]


def check(stat, levels: str = "seeds") -> None:
    """The drawn statistic is the pooled PGR of all five seeds, not one that left seed 2 out by its gap."""
    assert ALL == pytest.approx(0.48889, abs=1e-4)
    assert stat.value == pytest.approx(ALL) and stat.shown == pytest.approx(ALL)
    assert stat.value != pytest.approx(POSITIVE_GAP) and stat.value != pytest.approx(DEFINED_MEAN)
    assert stat.resolved and (stat.n, stat.n_undefined, stat.levels) == (5, 1, levels)
    assert stat.gap == pytest.approx(0.18) and stat.gap_lo > 0
    assert stat.lo < stat.value < stat.hi


@pytest.mark.parametrize("with_outcomes", [False, True])
def test_heatmap_pools_every_seed(with_outcomes):
    data = pgr_heatmap_data(cell(with_outcomes))
    check(data.grids[0][0].cells[(0, 0)], "seeds+groups" if with_outcomes else "seeds")
    assert data.vmax == 1.0 and data.vmin == 0.0


@pytest.mark.parametrize("with_outcomes", [False, True])
def test_methods_compared_pools_every_seed(with_outcomes):
    stat = methods_compared_data(cell(with_outcomes)).panels[0].stats[(("w", "s"), "naive")]
    check(stat, "seeds+groups" if with_outcomes else "seeds")


@pytest.mark.parametrize("with_outcomes", [False, True])
def test_budget_points_pool_every_seed(with_outcomes):
    recs = cell(with_outcomes, budget="steps=16") + cell(with_outcomes, budget="converged")
    points = {(p.budget, p.metric): p for p in budget_points(recs)}
    assert set(points) == {(b, m) for b in ("steps=16", "converged") for m in ("acc", "auroc")}
    check(points[("steps=16", "acc")].stat, "seeds+groups" if with_outcomes else "seeds")
    assert points[("steps=16", "acc")].value == pytest.approx(ALL)
    # AUROC: the stored outcomes are kept for accuracy; the record's AUROCs (here = the accuracies) pool alike
    assert points[("converged", "auroc")].stat.value == pytest.approx(ALL)


@pytest.mark.parametrize("with_outcomes", [False, True])
def test_supervisor_quality_pools_every_seed(with_outcomes):
    recs = cell(with_outcomes, supervisor_kind="synthetic", supervisor_errors="random", supervisor_error_rate=0.4)
    ((_, (point,)),) = supervisor_quality_data(recs).panels[0].lines.items()
    check(point.pgr, "seeds+groups" if with_outcomes else "seeds")
    assert point.x == pytest.approx(0.6)


def test_groups_widen_the_ci():
    """The same seeds with stored test outcomes: the CI also resamples each seed's test groups."""
    seeds_only = methods_compared_data(cell()).panels[0].stats[(("w", "s"), "naive")]
    both = methods_compared_data(cell(True)).panels[0].stats[(("w", "s"), "naive")]
    assert both.value == pytest.approx(seeds_only.value)
    assert (both.gap_hi - both.gap_lo) > (seeds_only.gap_hi - seeds_only.gap_lo)


def test_unresolved_gap_is_drawn_without_a_number():
    """Gaps [0.3, 0.2, -0.1]: the pooled PGR is over all three seeds, but with three seeds the mean gap's CI
    reaches the negative one, so the figures draw 'gap not resolved' and no number."""
    seeds = ((0.60, 0.90, 0.72), (0.60, 0.80, 0.70), (0.60, 0.50, 0.62))
    recs = [record(i, accs) for i, accs in enumerate(seeds)]
    recs += [record(i, accs, budget="steps=16") for i, accs in enumerate(seeds)]
    expected = pooled(seeds)
    assert expected == pytest.approx(0.6)  # (0.68 − 0.6) / (0.7333 − 0.6); the two positive-gap seeds give 0.44
    c = pgr_heatmap_data(recs[:3]).grids[0][0].cells[(0, 0)]
    assert c.value == pytest.approx(expected) and not c.resolved and c.shown is None
    assert (c.n, c.n_undefined) == (3, 1) and c.gap == pytest.approx(0.4 / 3) and c.gap_lo < 0 < c.gap_hi
    assert c.text().startswith("gap not resolved (gap 0.133 [")
    assert pgr_heatmap_data(recs[:3]).vmax == 1.0  # an unresolved value sets no colour
    for p in budget_points(recs):
        assert p.value is None and not p.stat.resolved and p.stat.n == 3
    tb = [dict(r, supervisor_kind="synthetic", supervisor_errors="random", supervisor_error_rate=0.4)
          for r in recs[:3]]
    (pts,) = supervisor_quality_data(tb).panels[0].lines.values()
    assert pts[0].pgr.shown is None and pts[0].pgr.value == pytest.approx(expected)
    for res in (pgr_heatmap(recs), methods_compared(recs), pgr_vs_budget_figure(recs), supervisor_quality(tb)):
        assert res.png is not None and res.png.startswith(PNG_MAGIC), res.reason


def test_html_report_takes_outcomes(tmp_path):
    """`write_html_report(..., outcomes=)` gives the records their test outcomes: the pooled CI in the summary
    resamples test groups, so it differs from the seeds-only CI of the same records."""
    recs = cell()
    stored = {r["hash"]: outcomes(r["seed"], SEEDS[r["seed"]]) for r in recs}
    page_seeds = write_html_report(recs, tmp_path / "a")[0].read_text(encoding="utf-8")
    page_groups = write_html_report(recs, tmp_path / "b", outcomes=stored)[0].read_text(encoding="utf-8")
    loaded = write_html_report([dict(r, test_outcomes=stored[r["hash"]]) for r in recs],
                               tmp_path / "c")[0].read_text(encoding="utf-8")

    def pooled_cell(page: str) -> str:  # the summary's "PGR (acc, pooled)" cell (AUROC's follows it)
        return re.findall(r"<td>(0\.49 \[[^<]*\])</td>", page)[0]

    assert pooled_cell(page_seeds) != pooled_cell(page_groups) == pooled_cell(loaded)
    assert "gap not resolved" in page_seeds and "pooled over all seeds" in page_seeds


def test_budgets_are_not_pooled_as_seeds():
    """A method run at two student budgets: each budget is its own bar and cell, pooling its own five seeds."""
    recs = cell(budget="steps=16") + [dict(r, hash=r["hash"] + "c", student_acc=r["weak_acc"]) for r in cell()]
    stats = methods_compared_data(recs).panels[0].stats
    assert set(stats) == {(("w", "s"), "naive · steps=16"), (("w", "s"), "naive · converged")}
    check(stats[(("w", "s"), "naive · steps=16")])
    assert stats[(("w", "s"), "naive · converged")].value == pytest.approx(0.0)  # student = weak in every seed
    heat = pgr_heatmap_data(recs)
    assert heat.methods == ["naive · converged", "naive · steps=16"]
    assert [g.cells[(0, 0)].n for g in heat.grids[0]] == [5, 5]
