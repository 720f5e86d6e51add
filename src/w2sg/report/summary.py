"""Aggregate experiment records over seeds, per (task, pair, method, budget, supervisor): seed means of the
accuracies and the pooled PGR of the means over ALL seeds with its hierarchical bootstrap CI (seeds, then test
groups; `w2sg.metrics.pooled`). No PGR statistic is computed over a subset of seeds chosen by their gap."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping

import numpy as np

from w2sg.metrics import seed_summary
from w2sg.metrics.pooled import N_BOOT, ROLES, Outcomes, fmt_pooled_parts, pooled_pgr, seed_means
from w2sg.store import distinct, version_key, with_task_versions

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


def stable(record: dict, pgr_key: str) -> bool:
    """True when the record's PGR `pgr_key` is defined and not flagged unstable (its gap CI is above 0 and
    its CI bounded). A per-experiment flag: never a rule for which seeds an aggregate keeps."""
    return record.get(pgr_key) is not None and not record.get(PGR_KEYS[pgr_key])


def _stats(row: dict, key: str, values: list) -> None:
    s = seed_summary(values)
    for stat in STATS:
        row[f"{key}_{stat}"] = s.get(stat)
    row[f"{key}_n"] = s.get("n")


def _group_value(record: dict, key: str):
    return version_key(record)[1] if key == "task_fingerprint" else record.get(key, "")


def outcomes_of(record: dict, outcomes: Mapping[str, Mapping] | None = None) -> Outcomes | None:
    """A record's stored test outcomes: `record['test_outcomes']` (`ResultsStore.records(outcomes=True)`) or
    `outcomes[record['hash']]`; None when it has none (stored before outcomes were kept, or hand-made)."""
    a = record.get("test_outcomes")
    if a is None and outcomes is not None:
        a = outcomes.get(record.get("hash"))
    if a is None:
        return None
    return a if isinstance(a, Outcomes) else Outcomes.from_arrays(a)


def pooled_keys(rows: list[dict], metric: str, outcomes: Mapping[str, Mapping] | None = None,
                n_boot: int = N_BOOT, seed: int = 0) -> dict:
    """The pooled PGR keys of one cell's rows (one per seed) on `metric` ('acc', 'auroc' or 'q_acc'), plus
    the mean of the per-seed PGRs where defined (`pgr_<m>_seed_mean`) and how many seeds have none
    (`pgr_<m>_n_undefined`)."""
    points = np.array([[np.nan if r.get(f"{role}_{metric}") is None else float(r[f"{role}_{metric}"])
                        for role in ROLES] for r in rows], dtype=np.float64)
    outs = [outcomes_of(r, outcomes) if metric in POOLED_METRICS else None for r in rows]
    out = pooled_pgr(seed_means(points, outs, metric, n_boot=n_boot, seed=seed), metric).keys()
    per_seed = [float(r[f"pgr_{metric}"]) for r in rows if r.get(f"pgr_{metric}") is not None]
    out[f"pgr_{metric}_seed_mean"] = float(np.mean(per_seed)) if per_seed else None
    out[f"pgr_{metric}_n_undefined"] = len(rows) - len(per_seed)
    return out


def summarize(records: list[dict], outcomes: Mapping[str, Mapping] | None = None, n_boot: int = N_BOOT,
              seed: int = 0) -> list[dict]:
    """One row per (task, task_fingerprint, weak, strong, mode, method, budget, variant, locked) over all its
    seeds.

    Each experiment counts once (records with the same store `hash` are one, `store.distinct`), and versions of a
    task's data are separate rows whose `task` names the version when the records have several
    (`task@abc123`, `store.with_task_versions`). Accuracy means (mean, sd, t-CI) are over all rows. PGR, per
    metric m in acc, auroc, q_acc: `pgr_<m>_pooled` = (mean student − mean weak) / (mean ceiling − mean weak)
    over all seeds with a hierarchical bootstrap CI (seeds, then whole test groups where the records' test
    outcomes are stored: `pgr_<m>_ci_levels`), `gap_<m>_pooled` with its CI, `pgr_<m>_resolved` (the mean
    gap's CI excludes 0: only then is the pooled PGR a number to quote), `pgr_<m>_seed_mean` (the mean of the
    per-seed PGRs where defined) and `pgr_<m>_n_undefined`; `n_seeds`, `n_undefined` (acc).
    `outcomes`: test outcomes by hash (`ResultsStore.outcomes()`), unless the records carry them.
    """
    records, _ = with_task_versions(distinct(records))
    groups: dict[tuple, list[dict]] = defaultdict(list)
    for r in records:
        groups[tuple(_group_value(r, k) for k in GROUP_KEYS)].append(r)
    out = []
    for key, rows in sorted(groups.items(), key=lambda kv: tuple(str(x) for x in kv[0])):
        rows = sorted(rows, key=lambda r: r["seed"])
        row = dict(zip(GROUP_KEYS, key, strict=True))
        row["seeds"] = [r["seed"] for r in rows]
        row["n_seeds"] = len(rows)
        for m in MEAN_KEYS:
            _stats(row, m, [r.get(m) for r in rows])
        for m in ("acc", "auroc", "q_acc"):
            if any(r.get(f"{role}_{m}") is not None for r in rows for role in ROLES):
                row |= pooled_keys(rows, m, outcomes, n_boot, seed)
        row["majority_acc_mean"] = seed_summary([r.get("majority_acc") for r in rows])["mean"]
        row["n_weak_below_majority"] = sum(bool(r.get("weak_below_majority")) for r in rows)
        row["n_ceiling_below_majority"] = sum(bool(r.get("ceiling_below_majority")) for r in rows)
        row["n_unstable"] = sum(bool(r.get("unstable")) for r in rows)
        row["n_undefined"] = sum(r.get("pgr_acc") is None for r in rows)
        row["oracle"] = any(bool(r.get("oracle")) for r in rows)
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


def fmt_pgr(record: dict, metric: str = "acc") -> str:
    """One experiment's PGR with its CI, or 'undefined (reason)' — never a bare number when unstable. A missing
    CI end of a defined PGR is unbounded (too many resamples without a positive gap) and reads -inf / +inf."""
    v = record.get(f"pgr_{metric}")
    if v is None:
        return f"undefined ({record.get(f'pgr_{metric}_reason') or 'no gap'})"
    lo, hi = record.get(f"pgr_{metric}_ci_low"), record.get(f"pgr_{metric}_ci_high")
    s = f"{v:.2f} [{'-inf' if lo is None else fmt(lo, 2)}, {'+inf' if hi is None else fmt(hi, 2)}]"
    unstable = record.get("unstable") if metric == "acc" else record.get(f"unstable_{metric}")
    return s + (" unstable" if unstable else "")
