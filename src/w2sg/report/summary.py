"""Aggregate experiment records over seeds, per (task, pair, method, budget, supervisor): seed means of the
accuracies and the pooled PGR of the means over ALL seeds with its hierarchical bootstrap CI (seeds, then test
groups; `w2sg.metrics.pooled`). No PGR statistic is computed over a subset of seeds chosen by their gap."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping

import numpy as np

from w2sg.metrics import seed_summary
from w2sg.metrics.pooled import N_BOOT, ROLES, Outcomes, fmt_pooled_parts, pooled_pgr, seed_means
from w2sg.report.aggregate import Records, results_of
from w2sg.result import ExperimentResult, as_result, as_results
from w2sg.store import version_key

# task_fingerprint: the content hash of the task's rows; a task whose data changed is another version, never
# pooled with the old one (None: records stored before they carried it, a version of its own)
GROUP_KEYS = ("task", "task_fingerprint", "weak", "strong", "mode", "method", "budget", "variant", "locked")
# accuracy-type means: over every row (seed) of a group
MEAN_KEYS = ("weak_acc", "ceiling_acc", "student_acc", "weak_auroc", "ceiling_auroc", "student_auroc",
             "weak_q_acc", "ceiling_q_acc", "student_q_acc", "agree_transfer_weak_wrong")
# PGR -> the record key of its per-experiment instability flag (gap CI reaches 0)
PGR_KEYS = {"pgr_acc": "unstable", "pgr_auroc": "unstable_auroc", "pgr_q_acc": "unstable_q_acc"}
POOLED_METRICS = ("acc", "auroc")  # pooled with the bootstrap over seeds and test groups (q_acc: seeds only)
STATS = ("mean", "sd", "ci_low", "ci_high")
# a group key -> its value in a result, as a flat record holds it under that key
_GROUP_FIELDS = {"task": lambda r: r.task, "task_fingerprint": lambda r: version_key(r)[1],
                 "weak": lambda r: r.weak, "strong": lambda r: r.strong, "mode": lambda r: r.mode,
                 "method": lambda r: r.method, "budget": lambda r: r.training.budget.label,
                 "variant": lambda r: r.variant, "locked": lambda r: r.lock.variant}


def mean_value(result: ExperimentResult, key: str):
    """The value of one of `MEAN_KEYS` in a result: '<role>_<metric>' or agree_transfer_weak_wrong."""
    if key == "agree_transfer_weak_wrong":
        return result.agreement("transfer").weak_wrong
    role, _, metric = key.partition("_")
    return result.score(role, metric)


def stable(record: Mapping | ExperimentResult, pgr_key: str) -> bool:
    """True when the record's PGR `pgr_key` is defined and not flagged unstable (its gap CI is above 0 and
    its CI bounded). A per-experiment flag: never a rule for which seeds an aggregate keeps."""
    p = as_result(record).pgr(pgr_key.removeprefix("pgr_"))
    return p.value is not None and not p.unstable


def _stats(row: dict, key: str, values: list) -> None:
    s = seed_summary(values)
    for stat in STATS:
        row[f"{key}_{stat}"] = s.get(stat)
    row[f"{key}_n"] = s.get("n")


def group_value(result: ExperimentResult, key: str):
    """The value of the group key `key` (`GROUP_KEYS`) of a result; '' when its record has no such key."""
    if key != "task_fingerprint" and not result.has("budget" if key == "budget" else key):
        return ""
    return _GROUP_FIELDS[key](result)


def outcomes_of(record: Mapping | ExperimentResult, outcomes: Mapping[str, Mapping] | None = None) -> Outcomes | None:
    """A record's stored test outcomes: its `test_outcomes` (`ResultsStore.records(outcomes=True)`) or
    `outcomes[<its hash>]`; None when it has none (stored before outcomes were kept, or hand-made)."""
    res = as_result(record)
    a = res.test_outcomes
    if a is None and outcomes is not None:
        a = outcomes.get(res.hash)
    if a is None:
        return None
    return a if isinstance(a, Outcomes) else Outcomes.from_arrays(a)


def pooled_keys(rows: Records, metric: str, outcomes: Mapping[str, Mapping] | None = None,
                n_boot: int = N_BOOT, seed: int = 0) -> dict:
    """The pooled PGR keys of one cell's rows (one per seed) on `metric` ('acc', 'auroc' or 'q_acc'), plus
    the mean of the per-seed PGRs where defined (`pgr_<m>_seed_mean`) and how many seeds have none
    (`pgr_<m>_n_undefined`)."""
    rows = as_results(rows)
    points = np.array([[np.nan if (v := r.score(role, metric)) is None else float(v) for role in ROLES]
                       for r in rows], dtype=np.float64)
    outs = [outcomes_of(r, outcomes) if metric in POOLED_METRICS else None for r in rows]
    out = pooled_pgr(seed_means(points, outs, metric, n_boot=n_boot, seed=seed), metric).keys()
    per_seed = [float(v) for r in rows if (v := r.pgr(metric).value) is not None]
    out[f"pgr_{metric}_seed_mean"] = float(np.mean(per_seed)) if per_seed else None
    out[f"pgr_{metric}_n_undefined"] = len(rows) - len(per_seed)
    return out


def summarize(records: Records, outcomes: Mapping[str, Mapping] | None = None, n_boot: int = N_BOOT,
              seed: int = 0) -> list[dict]:
    """One row per (task, task_fingerprint, weak, strong, mode, method, budget, variant, locked) over all its
    seeds.

    Each experiment counts once (records with the same store `hash` are one, `store.distinct`), and versions of a
    task's data are separate rows whose `task` names the version when the records have several
    (`task@abc123`, `store.task_versions`). Accuracy means (mean, sd, t-CI) are over all rows. PGR, per
    metric m in acc, auroc, q_acc: `pgr_<m>_pooled` = (mean student − mean weak) / (mean ceiling − mean weak)
    over all seeds with a hierarchical bootstrap CI (seeds, then whole test groups where the records' test
    outcomes are stored: `pgr_<m>_ci_levels`), `gap_<m>_pooled` with its CI, `pgr_<m>_resolved` (the mean
    gap's CI excludes 0: only then is the pooled PGR a number to quote), `pgr_<m>_seed_mean` (the mean of the
    per-seed PGRs where defined) and `pgr_<m>_n_undefined`; `n_seeds`, `n_undefined` (acc).
    Records are flat dicts or `ExperimentResult`s; `outcomes`: test outcomes by hash (`ResultsStore.outcomes()`),
    unless the records carry them.
    """
    groups: dict[tuple, list[ExperimentResult]] = defaultdict(list)
    for r in results_of(records):
        groups[tuple(group_value(r, k) for k in GROUP_KEYS)].append(r)
    out = []
    for key, rows in sorted(groups.items(), key=lambda kv: tuple(str(x) for x in kv[0])):
        rows = sorted(rows, key=lambda r: r.seed)
        row = dict(zip(GROUP_KEYS, key, strict=True))
        row["seeds"] = [r.seed for r in rows]
        row["n_seeds"] = len(rows)
        for m in MEAN_KEYS:
            _stats(row, m, [mean_value(r, m) for r in rows])
        for m in ("acc", "auroc", "q_acc"):
            if any(r.score(role, m) is not None for r in rows for role in ROLES):
                row |= pooled_keys(rows, m, outcomes, n_boot, seed)
        row["majority_acc_mean"] = seed_summary([r.evaluation.majority_acc for r in rows])["mean"]
        row["n_weak_below_majority"] = sum(bool(r.score("weak", "below_majority")) for r in rows)
        row["n_ceiling_below_majority"] = sum(bool(r.score("ceiling", "below_majority")) for r in rows)
        row["n_unstable"] = sum(bool(r.pgr("acc").unstable) for r in rows)
        row["n_undefined"] = sum(r.pgr("acc").value is None for r in rows)
        row["oracle"] = any(bool(r.training.oracle) for r in rows)
        out.append(row)
    return out


def fmt(x: float | None, digits: int = 3) -> str:
    return "n/a" if x is None or x != x else f"{x:.{digits}f}"


def fmt_mean_sd(row: dict, metric: str, digits: int = 3) -> str:
    """mean ± sd of a summarize() row's accuracy-type metric over all its seeds."""
    mean, sd = row.get(f"{metric}_mean"), row.get(f"{metric}_sd")
    if mean is None or mean != mean:
        return "n/a"
    if sd is None or sd != sd:
        return fmt(mean, digits)
    return f"{mean:.{digits}f} ± {sd:.{digits}f}"


def fmt_pooled(row: dict, metric: str = "acc", digits: int = 2) -> str:
    """A summarize() row's pooled PGR: '0.41 [0.20, 0.63]' when the mean gap over all seeds is resolved, else
    'gap not resolved (gap 0.004 [-0.010, 0.020])'; an unbounded CI end reads -inf / +inf."""
    m = metric.removeprefix("pgr_")
    return fmt_pooled_parts(row.get(f"pgr_{m}_pooled"), row.get(f"pgr_{m}_pooled_ci_low"),
                            row.get(f"pgr_{m}_pooled_ci_high"), bool(row.get(f"pgr_{m}_resolved")),
                            row.get(f"gap_{m}_pooled"), row.get(f"gap_{m}_pooled_ci_low"),
                            row.get(f"gap_{m}_pooled_ci_high"), digits)


def fmt_pgr(record: Mapping | ExperimentResult, metric: str = "acc") -> str:
    """One experiment's PGR with its CI, or 'undefined (reason)' — never a bare number when unstable. A missing
    CI end of a defined PGR is unbounded (too many resamples without a positive gap) and reads -inf / +inf."""
    p = as_result(record).pgr(metric)
    v = p.value
    if v is None:
        return f"undefined ({p.reason or 'no gap'})"
    lo, hi = p.ci_low, p.ci_high
    s = f"{v:.2f} [{'-inf' if lo is None else fmt(lo, 2)}, {'+inf' if hi is None else fmt(hi, 2)}]"
    return s + (" unstable" if p.unstable else "")
