"""Cells of records for the cross-task statistics: per (task, pair, budget, supervisor) unit, the seed means of
one method (`method_cells`) or of two methods paired by seed (`compare_records`, behind `w2sg compare`)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping

import numpy as np

from w2sg.metrics.across_tasks import AcrossTasks, Comparison, across_tasks, compare, paired_seed_means
from w2sg.metrics.pooled import N_BOOT, ROLES, SeedMeans, seed_means
from w2sg.report.aggregate import Records, results_of
from w2sg.report.summary import GROUP_KEYS, group_value, outcomes_of
from w2sg.result import ExperimentResult

UNIT_KEYS = tuple(k for k in GROUP_KEYS if k != "method")


def _points(rows: list[ExperimentResult], metric: str) -> np.ndarray:
    return np.array([[np.nan if (v := r.score(role, metric)) is None else float(v) for role in ROLES]
                     for r in rows], dtype=np.float64)


def _units(records: Records, method: str) -> dict[tuple, dict[int, ExperimentResult]]:
    """unit key (task version, weak, strong, mode, budget, variant, locked) -> seed -> the method's result."""
    out: dict[tuple, dict[int, ExperimentResult]] = defaultdict(dict)
    for r in results_of(records):
        if str(r.method) == method:
            out[tuple(group_value(r, k) for k in UNIT_KEYS)][int(r.seed)] = r
    return out


def unit_label(key: tuple, keys: list[tuple]) -> str:
    """The task, plus what tells apart the units of the same task (pair, budget, supervisor, variant) when the
    records hold several of them."""
    parts = dict(zip(UNIT_KEYS, key, strict=True))
    same_task = [k for k in keys if k[0] == key[0]]
    varying = [k for i, k in enumerate(UNIT_KEYS) if k not in ("task", "task_fingerprint")
               and len({kk[i] for kk in same_task}) > 1]
    extra = [f"{parts['weak']}→{parts['strong']}" if k in ("weak", "strong") else str(parts[k]) for k in varying]
    return " · ".join([str(parts["task"]), *dict.fromkeys(extra)])


def method_cells(records: Records, method: str, metric: str = "acc", outcomes: Mapping | None = None,
                 n_boot: int = N_BOOT, seed: int = 0) -> dict[str, SeedMeans]:
    """unit label -> seed means (weak, ceiling, student) of `method` over all its seeds."""
    units = _units(records, method)
    keys = list(units)
    return {unit_label(k, keys): seed_means(_points(rows := [units[k][s] for s in sorted(units[k])], metric),
                                            [outcomes_of(r, outcomes) for r in rows], metric, n_boot=n_boot,
                                            seed=seed)
            for k in keys}


def across_task_records(records: Records, method: str, metric: str = "acc", stat: str = "median",
                        outcomes: Mapping | None = None, n_boot: int = N_BOOT, seed: int = 0,
                        admit: list[str] | None = None) -> AcrossTasks:
    """The median (or mean) over tasks whose mean gap is resolved (or the tasks `admit` names) of `method`'s
    pooled PGR, with the CI over tasks, seeds and test groups."""
    return across_tasks(method_cells(records, method, metric, outcomes, n_boot, seed), stat, n_boot, seed, admit)


def compare_records(records: Records, a: str, b: str, metric: str = "acc", outcomes: Mapping | None = None,
                    n_boot: int = N_BOOT, seed: int = 0) -> tuple[Comparison, list[str]]:
    """Method `a` vs method `b` on every unit where both ran, paired by seed; and notes on seeds or units
    without a partner (left out of the comparison, never imputed)."""
    ua, ub = _units(records, a), _units(records, b)
    notes: list[str] = []
    keys = [k for k in ua if k in ub]
    for k in ua.keys() ^ ub.keys():
        notes.append(f"{unit_label(k, list(ua) + list(ub))}: only {a if k in ua else b} ran; left out")
    per_task = {}
    for k in keys:
        seeds = sorted(ua[k].keys() & ub[k].keys())
        lone = sorted(ua[k].keys() ^ ub[k].keys())
        label = unit_label(k, keys)
        if lone:
            notes.append(f"{label}: seeds {lone} ran one method only; compared on seeds {seeds}")
        if not seeds:
            continue
        ra, rb = [ua[k][s] for s in seeds], [ub[k][s] for s in seeds]
        per_task[label] = paired_seed_means(_points(ra, metric), _points(rb, metric),
                                            [outcomes_of(r, outcomes) for r in ra],
                                            [outcomes_of(r, outcomes) for r in rb], metric, n_boot, seed)
    return compare(a, b, per_task, metric, n_boot, seed), notes
