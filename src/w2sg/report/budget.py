"""The student's training budget in the report: budget kinds, the order of budget labels in tables, and the
points of the PGR-vs-budget figure (pure, no matplotlib; `w2sg.report.draw_budget` draws them)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from typing import Any, NamedTuple

from w2sg.report.aggregate import PooledStat, Records, group, pair_label, panels, pooled_stat, results_of
from w2sg.report.variants import with_variant_tags
from w2sg.result import BUDGET_KINDS, Budget, ExperimentResult, as_result

__all__ = ["BUDGET_KINDS", "BUDGET_METRICS", "SLOT_ORDER", "BudgetPoint", "budget_kind", "budget_of",
           "budget_order_key", "budget_points", "budget_sort_key", "budget_steps", "series_name"]

SLOT_ORDER = {"full": 0, "early_stop": 1, "early_stop_oracle": 2}  # categorical slots right of the step axis
BUDGET_METRICS = ("acc", "auroc")  # solid / dashed


class BudgetPoint(NamedTuple):
    """One plotted point of `pgr_vs_budget`: the pooled PGR over ALL the seeds of one (panel, series, budget)
    with its CI (seeds, then test groups), drawn as a number only when the mean gap is resolved."""

    panel: tuple[str, str]  # (task, mode)
    series: str  # method (with the weak → strong pair when there is more than one)
    budget: str  # the record's label: 'steps=256', 'converged', 'early_stop(auroc,epochs=20)', ...
    kind: str  # full | steps | early_stop | early_stop_oracle
    steps: int | None  # the step budget of kind 'steps'
    metric: str  # 'acc' or 'auroc'
    stat: PooledStat  # the pooled PGR of every seed (n = stat.n)

    @property
    def value(self) -> float | None:
        """The pooled PGR when its mean gap is resolved (drawn as a point), else None ("gap not resolved")."""
        return self.stat.shown

    @property
    def oracle(self) -> bool:
        return self.kind == "early_stop_oracle"


def budget_of(record: Mapping[str, Any] | ExperimentResult) -> Budget:
    """The typed budget of a flat record or a result (`ExperimentResult.training.budget`)."""
    return as_result(record).training.budget


def budget_kind(record: Mapping[str, Any] | ExperimentResult) -> str | None:
    """The budget kind of a record (`budget_kind`, else inferred from the `budget` label); None without one."""
    return budget_of(record).kind


def budget_steps(record: Mapping[str, Any] | ExperimentResult) -> int | None:
    """The step count of a 'steps' budget (`budget_steps`, else parsed from a 'steps=N' label); else None."""
    b = budget_of(record)
    return b.steps if b.kind in ("steps", None) or b.recorded_steps is not None else None


def budget_sort_key(label: Any) -> tuple:
    """Order of budget labels in tables: step budgets by N, then converged / epochs=N, early stopping, ORACLE
    early stopping; a missing budget first."""
    return Budget.parse(label).sort_key()


def budget_order_key(result: Mapping[str, Any] | ExperimentResult) -> tuple:
    """The order of the method-zoo study's budget columns: step budgets by N, then 'converged', then early
    stopping on weak labels, then everything else (epochs=N, ORACLE early stopping); the same order as
    `studies/method_zoo._budget_order` on the labels the pipeline writes."""
    b = budget_of(result)
    if b.kind == "steps" and b.steps is not None:
        return (0, b.steps)
    return (1 if b.label == "converged" else 2 if b.kind == "early_stop" else 3, 0)


def series_name(r: ExperimentResult, with_pair: bool) -> str:
    """The method (with its variant's tag when `with_variant_tags` gave it one) and, when the records have
    several, its weak → strong pair."""
    m = str(r.method)
    return f"{m} ({pair_label(str(r.weak), str(r.strong))})" if with_pair else m


def budget_points(records: Records) -> list[BudgetPoint]:
    """The points `pgr_vs_budget` draws: per (task, mode) panel, per method run at >= 2 budgets there, per
    budget and PGR metric (accuracy, AUROC): the pooled PGR over all the seeds of that budget, (mean student −
    mean weak) / (mean ceiling − mean weak), with its hierarchical bootstrap CI (`aggregate.pooled_stat`); no
    seed is left out by its gap."""
    rows = with_variant_tags([r for r in results_of(records)
                              if budget_kind(r) is not None and (budget_kind(r) != "steps" or budget_steps(r))])
    with_pair = len({(str(r.weak), str(r.strong)) for r in rows}) > 1
    out = []
    for panel, prs in panels(rows).items():
        series: dict[str, list[ExperimentResult]] = defaultdict(list)
        for r in prs:
            series[series_name(r, with_pair)].append(r)
        for name, srs in sorted(series.items()):
            by_budget = group(srs, lambda r: (str(r.training.budget.label),))
            if len(by_budget) < 2:
                continue
            for (label,), brs in by_budget.items():
                kind, steps = budget_kind(brs[0]), budget_steps(brs[0])
                for metric in BUDGET_METRICS:
                    out.append(BudgetPoint(panel, name, label, kind, steps if kind == "steps" else None, metric,
                                           pooled_stat(brs, metric)))
    return out
