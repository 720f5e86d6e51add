"""What the report figures draw, computed from flat result records: pure functions, no matplotlib.

Each `*_data` function takes records (flat dicts as `ResultsStore.records()` returns them, or
`ExperimentResult`s) and returns the tidy data of one figure: panels, the points, seed means with CIs and
groupings it draws, in drawing order. `w2sg.report.draw` draws them; `w2sg.report.figures` does both.

Conventions shared by all figures: one panel per (task, mode); models are ordered by capability (mean weak
accuracy for weak models, mean ceiling accuracy for strong ones); accuracy means come with the t-based 95% CI of
`metrics.seed_summary`. A PGR over seeds is always the *pooled* PGR of ALL the seeds of a cell, (mean student −
mean weak) / (mean ceiling − mean weak), with its hierarchical bootstrap CI (seeds, then whole test groups of
the records' stored test outcomes; seeds only without them) (`PooledStat`, `pooled_stat`): it is drawn as a
number only when the mean gap's 95% CI excludes 0, else as "gap not resolved", and no seed is ever left out by
its own gap, sign or CI. Per experiment (`pgr_vs_gap_data`), an experiment is *unstable* when the 95% bootstrap
CI of its gap (ceiling − weak) includes 0, and its PGR is *undefined* when ceiling ≤ weak; both are drawn.
Every function counts experiments, not records (`results_of`: one per store hash), and a task whose data changed
(several `task_fingerprint`s) has one panel per version, titled `task@<fingerprint>`.
"""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from w2sg.metrics import seed_summary
from w2sg.metrics.pooled import N_BOOT, PooledPGR, fmt_pooled_parts
from w2sg.result import ExperimentResult, as_results, finite
from w2sg.store import distinct, task_versions, version_key

Panel = tuple[str, str]  # (task, mode)
Pair = tuple[str, str]  # (weak, strong)
Records = Iterable[dict | ExperimentResult]


# ---------------------------------------------------------------- shared


def mean(values: Iterable[Any]) -> float | None:
    """Mean of the finite values, None without one."""
    vals = [v for v in (finite(x) for x in values) if v is not None]
    return float(np.mean(vals)) if vals else None


def seed_stats(values: Sequence[Any]) -> tuple[float | None, float | None, float | None, int]:
    """(mean, ci_low, ci_high, n) over seeds with the t-based 95% CI of `seed_summary` (CI None if n < 2)."""
    s = seed_summary([finite(v) for v in values])
    return finite(s["mean"]), finite(s["ci_low"]), finite(s["ci_high"]), int(s["n"])


def pooled_of(results: Sequence[ExperimentResult], metric: str = "acc", n_boot: int = N_BOOT) -> PooledPGR:
    """The pooled PGR over ALL of `results` (one cell's seeds): (mean student − mean weak) / (mean ceiling −
    mean weak) with its hierarchical bootstrap CI (seeds, then the test groups of the stored outcomes a record
    carries as `test_outcomes`; seeds only without them). Quote `value` only when `resolved`."""
    from w2sg.metrics.pooled import Outcomes, pooled_pgr, seed_means

    def f(x):
        return np.nan if finite(x) is None else float(x)

    rows = sorted(results, key=lambda r: (r.seed is None, r.seed))
    points = np.array([[f(r.score(role, metric)) for role in ("weak", "ceiling", "student")] for r in rows])
    outs = [(r.test_outcomes if isinstance(r.test_outcomes, Outcomes) else Outcomes.from_arrays(r.test_outcomes))
            if metric != "q_acc" and r.test_outcomes is not None else None for r in rows]
    return pooled_pgr(seed_means(points.reshape(len(rows), 3), outs, metric, n_boot=n_boot), metric)


POOLED_NOTE = "pooled over all seeds; CI over seeds and test groups"
NOT_RESOLVED = "gap not resolved"


@dataclass(frozen=True)
class PooledStat:
    """The pooled PGR of one cell over ALL its seeds as a figure draws it (`pooled_stat`): a number only when
    `resolved` (the mean gap's 95% CI excludes 0), else "gap not resolved" with the gap and its CI."""

    value: float | None  # (mean student − mean weak) / (mean ceiling − mean weak); None: mean gap <= 0 or no scores
    lo: float | None  # 95% CI (seeds, then test groups); None: unbounded or undefined
    hi: float | None
    resolved: bool
    gap: float | None  # mean ceiling − mean weak over all seeds, with its CI
    gap_lo: float | None
    gap_hi: float | None
    n: int  # seeds pooled: every seed of the cell
    n_undefined: int  # seeds whose own PGR is undefined (counted, never dropped)
    levels: str  # what the CI resamples: "seeds+groups", or "seeds" when a seed has no stored test outcomes

    @property
    def shown(self) -> float | None:
        """The value a figure may draw as a number: the pooled PGR when resolved, else None."""
        return self.value if self.resolved else None

    def text(self, digits: int = 2) -> str:
        """'0.41 [0.20, 0.63]', or 'gap not resolved (gap 0.004 [-0.010, 0.020])'."""
        return fmt_pooled_parts(self.value, self.lo, self.hi, self.resolved, self.gap, self.gap_lo, self.gap_hi,
                                digits)


def pooled_stat(results: Sequence[ExperimentResult], metric: str = "acc", n_boot: int = N_BOOT) -> PooledStat:
    """`pooled_of(results, metric)` as a `PooledStat` (finite numbers or None), with the number of seeds whose
    own PGR is undefined."""
    p = pooled_of(results, metric, n_boot)
    return PooledStat(finite(p.value), finite(p.ci_low), finite(p.ci_high), bool(p.resolved), finite(p.gap),
                      finite(p.gap_ci_low), finite(p.gap_ci_high), int(p.n_seeds),
                      sum(not r.pgr(metric).defined for r in results), str(p.levels))


def results_of(records: Records) -> list[ExperimentResult]:
    """The distinct experiments of `records` as results: one per store `hash` (a record passed twice is one
    seed, not two), and, when a task has results from several versions of its data (`task_fingerprint`), their
    task labelled by version (`task@abc123`, `store.task_versions`) so that no panel pools them as seeds."""
    results = distinct(as_results(records))
    labels, _ = task_versions(results)
    return [r if (label := labels[version_key(r)]) == r.task else dataclasses.replace(r, task=label)
            for r in results]


def per_budget(results: Sequence[ExperimentResult]) -> list[ExperimentResult]:
    """`results` with the method named `method · budget` for every method run at several student budgets, so that
    a figure pooling seeds never pools a method's budgets as if they were seeds (one budget: unchanged)."""
    budgets: dict[str, set[str]] = defaultdict(set)
    for r in results:
        budgets[str(r.method)].add(str(r.training.budget.label))
    return [dataclasses.replace(r, method=f"{r.method} · {r.training.budget.label}") if len(budgets[str(r.method)]) > 1
            else r for r in results]


def group(results: Iterable[ExperimentResult], key: Callable[[ExperimentResult], tuple]) -> dict[tuple, list]:
    """Results by `key` (a tuple of strings), sorted by key, each list in input order."""
    out: dict[tuple, list[ExperimentResult]] = defaultdict(list)
    for r in results:
        out[key(r)].append(r)
    return dict(sorted(out.items()))


def panels(results: Iterable[ExperimentResult]) -> dict[Panel, list[ExperimentResult]]:
    return group(results, lambda r: (str(r.task), str(r.mode)))


def pairs_of(results: Iterable[ExperimentResult]) -> dict[Pair, list[ExperimentResult]]:
    return group(results, lambda r: (str(r.weak), str(r.strong)))


def panel_title(key: Panel) -> str:
    task, mode = key
    return task if mode in ("None", "") else f"{task} · {mode}"


def pair_label(weak: str, strong: str) -> str:
    return f"{weak}→{strong}"


def order(results: Sequence[ExperimentResult], role: str) -> list[str]:
    """Model names in `role` ('weak' or 'strong') ordered by mean accuracy in that role, then by name."""
    by: dict[str, list[Any]] = defaultdict(list)
    for r in results:
        if role == "weak":
            by[str(r.weak)].append(r.score("weak", "acc"))
        else:
            by[str(r.strong)].append(r.score("ceiling", "acc"))
    means = {m: mean(v) for m, v in by.items()}
    return sorted(by, key=lambda m: (means[m] is None, means[m] if means[m] is not None else 0.0, m))


def methods(results: Iterable[ExperimentResult]) -> list[str]:
    return sorted({str(r.method) for r in results})


def ordered_pairs(results: Sequence[ExperimentResult]) -> list[tuple[Pair, list[ExperimentResult]]]:
    """The weak → strong pairs of a panel, weak models by capability first, then strong ones."""
    weaks, strongs = order(results, "weak"), order(results, "strong")
    return sorted(pairs_of(results).items(), key=lambda kv: (weaks.index(kv[0][0]), strongs.index(kv[0][1])))


# ---------------------------------------------------------------- (a) student vs ceiling


@dataclass(frozen=True)
class CeilingPanel:
    key: Panel
    strong_x: dict[str, float | None]  # strong model -> mean ceiling accuracy, by capability
    weak_level: dict[str, float | None]  # weak model in this panel -> its mean accuracy, by capability
    lines: dict[tuple[str, str], list[tuple[float, float]]]  # (weak, method) -> (ceiling acc, student acc)


@dataclass(frozen=True)
class StudentVsCeiling:
    weaks: list[str]
    methods: list[str]
    panels: list[CeilingPanel]


def student_vs_ceiling_data(records: Records) -> StudentVsCeiling:
    """Per panel, weak model and method: the student's mean accuracy against the ceiling's mean accuracy of each
    strong model (sorted by x), and each weak model's mean accuracy; only records with both accuracies."""
    rows = [r for r in results_of(records)
            if finite(r.score("student", "acc")) is not None and finite(r.score("ceiling", "acc")) is not None]
    weaks, meths = order(rows, "weak"), methods(rows)
    out = []
    for key, prs in panels(rows).items():
        strong_x = {s: mean(r.score("ceiling", "acc") for r in prs if str(r.strong) == s)
                    for s in order(prs, "strong")}
        weak_level, lines = {}, {}
        for w in [w for w in weaks if any(str(r.weak) == w for r in prs)]:
            wr = [r for r in prs if str(r.weak) == w]
            weak_level[w] = mean(r.score("weak", "acc") for r in wr)
            for m in meths:
                pts = []
                for s, x in strong_x.items():
                    y = mean(r.score("student", "acc") for r in wr if str(r.strong) == s and str(r.method) == m)
                    if y is not None and x is not None:
                        pts.append((x, y))
                if pts:
                    lines[(w, m)] = sorted(pts)
        out.append(CeilingPanel(key, strong_x, weak_level, lines))
    return StudentVsCeiling(weaks, meths, out)


# ---------------------------------------------------------------- (b) PGR heatmap


HeatCell = PooledStat  # a heatmap cell: the pooled PGR (accuracy) of its seeds


@dataclass(frozen=True)
class HeatGrid:
    panel: Panel
    method: str
    weaks: list[str]  # rows, by capability
    strongs: list[str]  # columns, by capability
    cells: dict[tuple[int, int], HeatCell]  # (row, column) -> cell; absent = not run


@dataclass(frozen=True)
class Heatmap:
    panels: list[Panel]
    methods: list[str]
    grids: list[list[HeatGrid]]  # [panel][method]
    vmin: float  # colour scale: [min(0, resolved values), max(1, resolved values)]
    vmax: float


def heat_cell(results: Sequence[ExperimentResult]) -> HeatCell:
    """The pooled PGR (accuracy) over all the cell's seeds with its CI (`pooled_stat`)."""
    return pooled_stat(results, "acc")


def pgr_heatmap_data(records: Records) -> Heatmap:
    """The pooled PGR (accuracy) over all seeds per weak × strong cell, per panel and method (`method · budget`
    for a method run at several budgets: `per_budget`); the colour scale spans the values drawn as numbers
    (cells whose mean gap is resolved)."""
    rows = per_budget([r for r in results_of(records) if r.weak is not None and r.strong is not None])
    meths = methods(rows)
    keys, grids = [], []
    for pk, prs in panels(rows).items():
        weaks, strongs = order(prs, "weak"), order(prs, "strong")
        keys.append(pk)
        grids.append([HeatGrid(pk, m, weaks, strongs, {(weaks.index(w), strongs.index(s)): heat_cell(rs) for (w, s), rs
                                                       in pairs_of([r for r in prs if str(r.method) == m]).items()})
                      for m in meths])
    shown = [c.shown for row in grids for g in row for c in g.cells.values() if c.shown is not None]
    return Heatmap(keys, meths, grids, min([0.0, *shown]), max([1.0, *shown]))


# ---------------------------------------------------------------- (c) PGR vs gap


@dataclass(frozen=True)
class GapPoint:
    method: str
    gap: float  # ceiling − weak accuracy
    gap_lo: float | None
    gap_hi: float | None
    pgr: float | None  # None: undefined (ceiling ≤ weak)
    pgr_lo: float | None
    pgr_hi: float | None
    unstable: bool


@dataclass(frozen=True)
class PgrVsGap:
    methods: list[str]
    panels: list[tuple[Panel, list[GapPoint]]]


def pgr_vs_gap_data(records: Records) -> PgrVsGap:
    """One point per experiment with a gap: PGR (accuracy) and gap with their bootstrap CIs, in record order."""
    rows = [r for r in results_of(records) if finite(r.pgr("acc").gap) is not None]
    out = []
    for key, prs in panels(rows).items():
        pts = []
        for r in prs:
            p = r.pgr("acc")
            pts.append(GapPoint(str(r.method), finite(p.gap), finite(p.gap_ci_low), finite(p.gap_ci_high),
                                finite(p.value), finite(p.ci_low), finite(p.ci_high), bool(p.unstable)))
        out.append((key, pts))
    return PgrVsGap(methods(rows), out)


# ---------------------------------------------------------------- (d) methods compared


MethodStat = PooledStat  # a bar of the methods figure: the pooled PGR (accuracy) of a (pair, method)


@dataclass(frozen=True)
class PairPanel:
    key: Panel
    pairs: list[Pair]  # by capability of the weak, then the strong model
    stats: dict[tuple[Pair, str], MethodStat]  # (pair, method) -> statistic; absent = not run


@dataclass(frozen=True)
class MethodsCompared:
    methods: list[str]
    panels: list[PairPanel]


def method_stat(results: Sequence[ExperimentResult]) -> MethodStat:
    """The pooled PGR (accuracy) over all the seeds of a (pair, method) with its CI (`pooled_stat`)."""
    return pooled_stat(results, "acc")


def methods_compared_data(records: Records) -> MethodsCompared:
    """Per panel, weak → strong pair and method (`method · budget` for a method run at several budgets): the
    pooled PGR (accuracy) over all seeds (records with a method)."""
    rows = per_budget([r for r in results_of(records) if r.method is not None])
    meths = methods(rows)
    out = []
    for key, prs in panels(rows).items():
        pairs = ordered_pairs(prs)
        stats = {(pair, m): method_stat(rs) for pair, prs2 in pairs for m in meths
                 if (rs := [r for r in prs2 if str(r.method) == m])}
        out.append(PairPanel(key, [pair for pair, _ in pairs], stats))
    return MethodsCompared(meths, out)


# ---------------------------------------------------------------- (e) agreement

AGREEMENT_SIDES = ("weak_right", "weak_wrong")


@dataclass(frozen=True)
class AgreementPanel:
    key: Panel
    pairs: list[Pair]
    # (side, pair, method) -> (mean, ci_low, ci_high, n); method None = the ceiling control
    bars: dict[tuple[str, Pair, str | None], tuple[float, float | None, float | None, int]]


@dataclass(frozen=True)
class AgreementData:
    split: str | None  # transfer, else test; None: no record has agreement metrics
    methods: list[str]
    panels: list[AgreementPanel]


def agreement_split(results: Sequence[ExperimentResult]) -> str | None:
    """'transfer' when any record has transfer agreement, else 'test' when any has test agreement, else None."""
    for split in ("transfer", "test"):
        if any(finite(r.agreement(split).weak_wrong) is not None or finite(r.agreement(split).weak_right)
               is not None for r in results):
            return split
    return None


def agreement_data(records: Records) -> AgreementData:
    """Agreement of each method's student with the weak model where the weak label was right / wrong, per pair,
    and the ceiling's agreement with the weak model (one value per seed) as a control; seed means with CIs."""
    results = results_of(records)
    split = agreement_split(results)
    if split is None:
        return AgreementData(None, [], [])
    rows = [r for r in results if r.method is not None]
    meths = methods(rows)
    out = []
    for key, prs in panels(rows).items():
        pairs = ordered_pairs(prs)
        bars = {}
        for side in AGREEMENT_SIDES:
            for pair, prs2 in pairs:
                for m in [*meths, None]:
                    if m is None:  # the ceiling does not depend on the method: one value per seed
                        per_seed: dict[Any, float] = {}
                        for r in prs2:
                            v = finite(getattr(r.agreement(split, "ceiling"), side))
                            if v is not None:
                                per_seed.setdefault(r.seed, v)
                        vals = list(per_seed.values())
                    else:
                        vals = [getattr(r.agreement(split), side) for r in prs2 if str(r.method) == m]
                    stats = seed_stats(vals)
                    if stats[0] is not None:
                        bars[(side, pair, m)] = stats
        out.append(AgreementPanel(key, [pair for pair, _ in pairs], bars))
    return AgreementData(split, meths, out)
