"""Aggregate experiment records over seeds: mean +- sd of accuracies and PGR, per (task, pair, method)."""

from __future__ import annotations

from collections import defaultdict

from w2sg.metrics import seed_summary

GROUP_KEYS = ("task", "weak", "strong", "mode", "method", "variant")


def summarize(records: list[dict]) -> list[dict]:
    """One row per (task, weak, strong, mode, method) with seed statistics of the headline metrics."""
    groups: dict[tuple, list[dict]] = defaultdict(list)
    for r in records:
        groups[tuple(r.get(k, "") for k in GROUP_KEYS)].append(r)
    out = []
    for key, rows in sorted(groups.items(), key=lambda kv: tuple(str(x) for x in kv[0])):
        row = dict(zip(GROUP_KEYS, key, strict=True))
        row["seeds"] = sorted(r["seed"] for r in rows)
        for m in ("weak_acc", "ceiling_acc", "student_acc", "pgr_acc", "pgr_auroc", "weak_auroc",
                  "ceiling_auroc", "student_auroc", "agree_transfer_weak_wrong"):
            s = seed_summary([r.get(m) for r in rows])
            for stat in ("mean", "sd", "ci_low", "ci_high"):
                row[f"{m}_{stat}"] = s.get(stat)
            row[f"{m}_n"] = s.get("n")
        row["n_unstable"] = sum(bool(r.get("unstable")) for r in rows)
        row["n_undefined"] = sum(r.get("pgr_acc") is None for r in rows)
        out.append(row)
    return out


def fmt(x: float | None, digits: int = 3) -> str:
    return "n/a" if x is None or x != x else f"{x:.{digits}f}"


def fmt_mean_sd(row: dict, metric: str, digits: int = 3) -> str:
    mean, sd = row.get(f"{metric}_mean"), row.get(f"{metric}_sd")
    if mean is None or mean != mean:
        return "undefined"
    if sd is None or sd != sd:
        return fmt(mean, digits)
    return f"{mean:.{digits}f} ± {sd:.{digits}f}"


def fmt_pgr(record: dict, metric: str = "acc") -> str:
    """One experiment's PGR with its CI, or 'undefined (reason)' — never a bare number when unstable."""
    v = record.get(f"pgr_{metric}")
    if v is None:
        return f"undefined ({record.get(f'pgr_{metric}_reason') or 'no gap'})"
    lo, hi = record.get(f"pgr_{metric}_ci_low"), record.get(f"pgr_{metric}_ci_high")
    s = f"{v:.2f} [{fmt(lo, 2)}, {fmt(hi, 2)}]"
    unstable = record.get("unstable") if metric == "acc" else record.get("unstable_auroc")
    return s + (" unstable" if unstable else "")
