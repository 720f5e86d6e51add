"""Aggregate experiment records over seeds: mean +- sd of accuracies and PGR, per (task, pair, method)."""

from __future__ import annotations

from collections import defaultdict

import numpy as np

from w2sg.metrics import seed_summary
from w2sg.store import distinct, version_key, with_task_versions

# task_fingerprint: the content hash of the task's rows; a task whose data changed is another version, never
# pooled with the old one (None: records stored before they carried it, a version of its own)
GROUP_KEYS = ("task", "task_fingerprint", "weak", "strong", "mode", "method", "budget", "variant", "locked")
# accuracy-type means: over every row (seed) of a group
MEAN_KEYS = ("weak_acc", "ceiling_acc", "student_acc", "weak_auroc", "ceiling_auroc", "student_auroc",
             "weak_q_acc", "ceiling_q_acc", "student_q_acc", "agree_transfer_weak_wrong")
# PGR -> the record key of its instability flag: PGR statistics are over stable rows only
PGR_KEYS = {"pgr_acc": "unstable", "pgr_auroc": "unstable_auroc", "pgr_q_acc": "unstable_q_acc"}
STATS = ("mean", "sd", "ci_low", "ci_high")


def stable(record: dict, pgr_key: str) -> bool:
    """True when the record's PGR `pgr_key` is defined and not flagged unstable (its gap CI is above 0 and
    its CI bounded)."""
    return record.get(pgr_key) is not None and not record.get(PGR_KEYS[pgr_key])


def _stats(row: dict, key: str, values: list) -> None:
    s = seed_summary(values)
    for stat in STATS:
        row[f"{key}_{stat}"] = s.get(stat)
    row[f"{key}_n"] = s.get("n")


def _group_value(record: dict, key: str):
    return version_key(record)[1] if key == "task_fingerprint" else record.get(key, "")


def summarize(records: list[dict]) -> list[dict]:
    """One row per (task, task_fingerprint, weak, strong, mode, method, budget, variant) with seed statistics of
    the headline metrics.

    Each experiment counts once (records with the same store `hash` are one, `store.distinct`), and versions of a
    task's data are separate rows whose `task` names the version when the records have several
    (`task@abc123`, `store.with_task_versions`). Accuracy means are over all rows. PGR statistics (`pgr_acc`,
    `pgr_auroc`, `pgr_q_acc`: mean, sd, CI, median, n) are over the stable rows only, so noise (an undefined PGR
    or one whose gap is within noise) is not averaged in; `{pgr}_n_excluded` counts the rows left out.
    """
    records, _ = with_task_versions(distinct(records))
    groups: dict[tuple, list[dict]] = defaultdict(list)
    for r in records:
        groups[tuple(_group_value(r, k) for k in GROUP_KEYS)].append(r)
    out = []
    for key, rows in sorted(groups.items(), key=lambda kv: tuple(str(x) for x in kv[0])):
        row = dict(zip(GROUP_KEYS, key, strict=True))
        row["seeds"] = sorted(r["seed"] for r in rows)
        for m in MEAN_KEYS:
            _stats(row, m, [r.get(m) for r in rows])
        for m in PGR_KEYS:
            kept = [float(r[m]) for r in rows if stable(r, m)]
            _stats(row, m, kept)
            row[f"{m}_median"] = float(np.median(kept)) if kept else None
            row[f"{m}_n_excluded"] = len(rows) - len(kept)
        row["majority_acc_mean"] = seed_summary([r.get("majority_acc") for r in rows])["mean"]
        row["n_weak_below_majority"] = sum(bool(r.get("weak_below_majority")) for r in rows)
        row["n_ceiling_below_majority"] = sum(bool(r.get("ceiling_below_majority")) for r in rows)
        row["n_unstable"] = sum(bool(r.get("unstable")) for r in rows)
        row["n_undefined"] = sum(r.get("pgr_acc") is None for r in rows)
        out.append(row)
    return out


def fmt(x: float | None, digits: int = 3) -> str:
    return "n/a" if x is None or x != x else f"{x:.{digits}f}"


def fmt_mean_sd(row: dict, metric: str, digits: int = 3) -> str:
    """mean ± sd of a summarize() row; for a PGR, '(k/n stable)' is added when unstable rows were left out."""
    mean, sd = row.get(f"{metric}_mean"), row.get(f"{metric}_sd")
    excluded = row.get(f"{metric}_n_excluded") or 0
    note = f" ({row.get(f'{metric}_n') or 0}/{(row.get(f'{metric}_n') or 0) + excluded} stable)" if excluded else ""
    if mean is None or mean != mean:
        return "undefined" + note
    if sd is None or sd != sd:
        return fmt(mean, digits) + note
    return f"{mean:.{digits}f} ± {sd:.{digits}f}" + note


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
