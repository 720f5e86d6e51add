"""The accuracy figure of `report.md`: bars of weak, ceiling and each method's student accuracy (mean over seeds,
95% CI), one panel per (task, weak, strong, mode), drawn from `summary.summarize` rows with pyplot (Agg)."""

from __future__ import annotations

import math
from collections import defaultdict
from pathlib import Path

from w2sg.outputs import write_atomic
from w2sg.report.aggregate import Records
from w2sg.report.escape import plain_text
from w2sg.report.summary import fmt, summarize
from w2sg.result import Budget


def _ci(row: dict, metric: str) -> tuple[float, float]:
    """Error bar half-widths (below, above) of a seed mean: t-based 95% CI over seeds, 0 if one seed."""
    mean, lo, hi = row.get(f"{metric}_mean"), row.get(f"{metric}_ci_low"), row.get(f"{metric}_ci_high")
    if mean is None or lo is None or hi is None or lo != lo:
        return 0.0, 0.0
    return mean - lo, hi - mean


STUDENT_COLORS = ("#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#bcbd22")


@plain_text
def accuracy_figure(records: Records, path: Path) -> Path:
    """Bars of weak, ceiling and each method's student accuracy (mean over seeds, 95% CI), one panel per
    (task, weak, strong, mode)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = summarize(records)
    panels: dict[tuple, list[dict]] = defaultdict(list)
    for r in rows:
        panels[(r["task"], r["weak"], r["strong"], r["mode"])].append(r)
    n = max(1, len(panels))
    panel_w = max(5.0, 1.1 * (2 + max((len(v) for v in panels.values()), default=1)))
    ncols = max(1, min(n, int(20 // panel_w)))
    nrows = math.ceil(n / ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(panel_w * ncols, 4.2 * nrows), squeeze=False)
    for ax in list(axes.flat)[len(panels):]:
        ax.set_visible(False)
    for ax, ((task, weak, strong, mode), methods) in zip(axes.flat, sorted(panels.items()), strict=False):
        methods = sorted(methods, key=lambda m: (str(m["method"]), Budget.parse(m.get("budget")).sort_key()))
        first = methods[0]
        budgets = len({str(m.get("budget")) for m in methods}) > 1
        labels = [f"weak\n{weak}", f"ceiling\n{strong}"] + [
            f"student\n{m['method']}" + (f"\n{Budget.parse(m.get('budget')).short_text()}" if budgets else "")
            for m in methods]
        means = [first["weak_acc_mean"], first["ceiling_acc_mean"]] + [m["student_acc_mean"] for m in methods]
        means = [v if v is not None and v == v else 0.0 for v in means]  # a missing accuracy draws no bar
        errs = [_ci(first, "weak_acc"), _ci(first, "ceiling_acc")] + [_ci(m, "student_acc") for m in methods]
        names = sorted({str(m["method"]) for m in methods})
        colors = ["#9e9e9e", "#1f77b4"] + [STUDENT_COLORS[names.index(str(m["method"])) % len(STUDENT_COLORS)]
                                           for m in methods]
        hatches = [None, None] + ["///" if "oracle" in str(m.get("budget")) else None for m in methods]
        x = range(len(labels))
        ax.bar(x, means, yerr=list(zip(*errs, strict=True)), capsize=4, color=colors, hatch=hatches,
               edgecolor="white")
        for xi, m in zip(x, means, strict=True):
            ax.text(xi, m + 0.005, fmt(m), ha="center", va="bottom", fontsize=8)
        ax.set_xticks(list(x), labels, fontsize=7 if budgets else 8)
        lo = min(v for v in means if v > 0) if any(v > 0 for v in means) else 0.0
        ax.set_ylim(max(0.0, lo - 0.1), min(1.0, max(means) + 0.06))
        ax.set_ylabel("test accuracy")
        ax.set_title(f"{task}: {weak} → {strong} ({mode}, {len(first['seeds'])} seeds)", fontsize=9)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(path, lambda tmp: fig.savefig(tmp, dpi=130, format="png"))
    plt.close(fig)
    return path
