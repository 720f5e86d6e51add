"""The benchmark leaderboard (`w2sg bench`): per method and task the pooled PGR over all seeds with its CI, the
median over tasks with a CI over tasks, seeds and test groups, and the submitted method's paired comparison with
naive and with the best known zoo method across tasks (verdicts); the learn-nothing baselines beside them, which
sit at PGR <= 0 by construction when the weak model is above chance; runs that were marked invalid, with what
they tried; and the count of final-part evaluations per method."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from w2sg.metrics.across_tasks import MIN_TASKS
from w2sg.report.compare import across_task_records, compare_records
from w2sg.report.summary import summarize
from w2sg.result import as_result

BASELINES = ("always_majority", "constant")


def _fmt(v, lo=None, hi=None, d: int = 2) -> str:
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return "–"
    s = f"{v:.{d}f}"
    if lo is not None and hi is not None:
        s += f" [{lo:.{d}f}, {hi:.{d}f}]"
    return s


@dataclass
class Leaderboard:
    suite: str
    part: str
    method: str | None
    tasks: list[str]
    rows: list[dict]  # one per method: name, per-task cell text, median text, its value (for sorting and figure)
    comparisons: list[dict] = field(default_factory=list)
    baseline_check: list[str] = field(default_factory=list)
    invalid: list[str] = field(default_factory=list)
    final_counts: dict[str, int] = field(default_factory=dict)
    best_known: str | None = None
    notes: list[str] = field(default_factory=list)

    def markdown(self) -> list[str]:
        from w2sg.report.tables import markdown_table

        out = [f"**Suite {self.suite}, part {self.part}.** Pooled PGR (balanced accuracy on T) per task over all "
               "seeds with its 95% CI (seeds, then test groups); 'n.r.' where the mean gap's CI reaches 0. The "
               "median over the tasks whose mean gap is resolved, with a CI over tasks, seeds and test groups.", ""]
        header = ["method", *self.tasks, "median over tasks", "final evaluations"]
        out += markdown_table(header, [[r["method"], *[r["cells"].get(t, "–") for t in self.tasks], r["median"],
                                        str(self.final_counts.get(r["method"], 0))] for r in self.rows]) + [""]
        if self.comparisons:
            out += ["**Paired comparisons across tasks** (same splits, weak labels and ceiling; per task the seed-"
                    "paired student difference; across tasks the PGR difference over tasks with a resolved gap, "
                    "hierarchical bootstrap, Wilcoxon and paired t over tasks):", ""]
            out += markdown_table(["comparison", "tasks A better / n.r. / B better", "mean Δ PGR [CI]",
                                   "Wilcoxon p", "paired t p", "verdict"],
                                  [[c["label"], c["counts"], c["diff"], c["wilcoxon"], c["ttest"], c["verdict"]]
                                   for c in self.comparisons]) + [""]
        out += [f"- {line}" for line in self.baseline_check + self.invalid + self.notes]
        return out + [""]


def _cell(row: Mapping) -> str:
    if not row.get("pgr_acc_resolved"):
        return "n.r."
    return _fmt(row.get("pgr_acc_pooled"), row.get("pgr_acc_pooled_ci_low"), row.get("pgr_acc_pooled_ci_high"))


def build(records: Sequence[Mapping], methods: Sequence[str], suite: str, part: str, method: str | None,
          zoo: Sequence[str], final_counts: Mapping[str, int] | None = None, n_boot: int = 1000) -> Leaderboard:
    """The leaderboard of `methods` from bench rows (valid rows score; invalid ones are listed)."""
    rows = [r for r in records if r.get("bench_suite") == suite and r.get("bench_part") == part]
    ok = [r for r in rows if r.get("status", "ok") == "ok"]
    bad = [r for r in rows if r.get("status") == "invalid"]
    summary = summarize(ok, n_boot=n_boot)
    tasks = sorted({s["task"] for s in summary})
    board = []
    medians: dict[str, float] = {}
    for m in methods:
        cells = {s["task"]: _cell(s) for s in summary if s["method"] == m}
        if not cells:
            continue
        at = across_task_records(ok, m, n_boot=n_boot)
        medians[m] = at.value if at.value is not None else -math.inf
        board.append({"method": m, "cells": cells, "median": _fmt(at.value, at.ci_low, at.ci_high),
                      "value": at.value, "ci": (at.ci_low, at.ci_high), "n_tasks": len(at.tasks)})
    known = [m for m in zoo if m in medians and m != method and m not in BASELINES]
    best = max(known, key=lambda m: medians[m]) if known else None
    comparisons = []
    if method is not None and method in medians:  # the submission against naive and the best known method
        pairs = [(method, other) for other in dict.fromkeys(x for x in ("naive", best) if x and x != method)]
    else:  # the zoo alone: every known method against naive
        pairs = [(m, "naive") for m in known if m != "naive" and "naive" in medians]
    for method_a, other in pairs:
        comp, notes = compare_records(ok, method_a, other, n_boot=n_boot)
        counts = [sum(t.verdict == v for t in comp.tasks) for v in (f"{method_a} better", "not resolved",
                                                                     f"{other} better")]
        label = f"{method_a} − {other}" + (" (best known)" if other == best and other != "naive" else "")
        n_adm = len(comp.admitted)  # a task-level CI over fewer than MIN_TASKS tasks carries no verdict
        verdict = comp.verdict if n_adm >= MIN_TASKS else (f"no verdict: {n_adm} task(s) with a resolved gap, fewer "
                                                           f"than {MIN_TASKS} (the CI would read: {comp.verdict})")
        comparisons.append({"label": label, "counts": " / ".join(map(str, counts)),
                            "diff": _fmt(comp.diff_pgr_mean, *comp.diff_pgr_ci),
                            "wilcoxon": _fmt(comp.wilcoxon_p, d=3), "ttest": _fmt(comp.ttest_p, d=3),
                            "verdict": verdict})
        notes_all = [n for n in notes if n]
        if notes_all:
            comparisons[-1]["verdict"] += " — " + "; ".join(notes_all[:2])
    checks = []
    for b in BASELINES:
        for s in summary:
            if (s["method"] == b and s.get("pgr_acc_resolved") and s.get("pgr_acc_pooled") is not None
                    and s["pgr_acc_pooled"] > 1e-9):
                checks.append(f"baseline {b} has PGR {s['pgr_acc_pooled']:.2f} > 0 on {s['task']}: the weak model "
                              "is below chance there, so the cell cannot rank methods")
    if not checks and any(r["method"] in BASELINES for r in board):
        checks.append("the learn-nothing baselines sit at PGR ≤ 0 on every task whose gap is resolved, as they must")
    invalid = []
    for r in bad:
        res = as_result(r)
        tried = r.get("bench_violations") or []
        what = "; ".join(tried[:3]) + (f" (+{len(tried) - 3} more)" if len(tried) > 3 else "")
        invalid.append(f"INVALID {res.method} on {res.task} seed {res.seed}: {what or r.get('error') or 'failed'}")
    return Leaderboard(suite, part, method, tasks, sorted(board, key=lambda r: -medians[r["method"]]), comparisons,
                       checks, invalid, dict(final_counts or {}), best)
