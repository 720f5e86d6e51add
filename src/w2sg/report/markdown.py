"""A Markdown report with one PNG: weak / ceiling / student accuracy per method with 95% CI bars."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from pathlib import Path

from w2sg.report.summary import fmt, fmt_mean_sd, fmt_pgr, summarize


def _ci(row: dict, metric: str) -> tuple[float, float]:
    """Error bar half-widths (below, above) of a seed mean: t-based 95% CI over seeds, 0 if one seed."""
    mean, lo, hi = row.get(f"{metric}_mean"), row.get(f"{metric}_ci_low"), row.get(f"{metric}_ci_high")
    if mean is None or lo is None or hi is None or lo != lo:
        return 0.0, 0.0
    return mean - lo, hi - mean


def accuracy_figure(records: list[dict], path: Path) -> Path:
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
    fig, axes = plt.subplots(1, n, figsize=(max(5.0, 1.3 * (2 + max(len(v) for v in panels.values()))) * n
                                            if panels else 5, 4.2), squeeze=False)
    for ax, ((task, weak, strong, mode), methods) in zip(axes[0], sorted(panels.items()), strict=False):
        first = methods[0]
        labels = [f"weak\n{weak}", f"ceiling\n{strong}"] + [f"student\n{m['method']}" for m in methods]
        means = [first["weak_acc_mean"], first["ceiling_acc_mean"]] + [m["student_acc_mean"] for m in methods]
        errs = [_ci(first, "weak_acc"), _ci(first, "ceiling_acc")] + [_ci(m, "student_acc") for m in methods]
        colors = ["#9e9e9e", "#1f77b4"] + ["#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b"][: len(methods)]
        x = range(len(labels))
        ax.bar(x, means, yerr=list(zip(*errs, strict=True)), capsize=4, color=colors[: len(labels)])
        for xi, m in zip(x, means, strict=True):
            ax.text(xi, m + 0.005, fmt(m), ha="center", va="bottom", fontsize=8)
        ax.set_xticks(list(x), labels, fontsize=8)
        lo = min(v for v in means if v is not None)
        ax.set_ylim(max(0.0, lo - 0.1), min(1.0, max(means) + 0.06))
        ax.set_ylabel("test accuracy")
        ax.set_title(f"{task}: {weak} → {strong} ({mode}, {len(first['seeds'])} seeds)", fontsize=9)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=130)
    plt.close(fig)
    return path


def write_report(records: list[dict], out_dir: str | Path, title: str = "w2sg report") -> Path:
    """Write `report.md` and `accuracy.png` into out_dir; returns the Markdown path."""
    from w2sg.store import with_variant_labels

    records = with_variant_labels(records)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    png = accuracy_figure(records, out_dir / "accuracy.png")
    rows = summarize(records)
    lines = [f"# {title}", "", f"Generated {dt.datetime.now().isoformat(timespec='seconds')} from "
             f"{len(records)} experiments.", "",
             "PGR = (student − weak) / (ceiling − weak), on test accuracy and AUROC. Per-experiment CIs are 95% "
             "paired bootstrap intervals over test examples; aggregates are mean ± sd over seeds. "
             "`unstable` marks a gap (ceiling − weak) whose CI includes 0; PGR is undefined when "
             "ceiling ≤ weak.", "", f"![accuracy per method]({png.name})", "", "## Summary over seeds", "",
             "| task | weak → strong | mode | method | seeds | weak acc | ceiling acc | student acc | "
             "PGR (acc) | PGR (AUROC) | unstable |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(
            f"| {r['task']} | {r['weak']} → {r['strong']} | {r['mode']} | {r['method']} | {len(r['seeds'])} | "
            f"{fmt_mean_sd(r, 'weak_acc')} | {fmt_mean_sd(r, 'ceiling_acc')} | {fmt_mean_sd(r, 'student_acc')} | "
            f"{fmt_mean_sd(r, 'pgr_acc', 2)} | {fmt_mean_sd(r, 'pgr_auroc', 2)} | "
            f"{r['n_unstable']}/{len(r['seeds'])} |"
        )
    lines += ["", "## Every experiment", "",
              "| task | weak → strong | method | seed | weak acc | ceiling acc | student acc | PGR acc [95% CI] | "
              "PGR AUROC [95% CI] | agree (weak wrong) | ceiling agree (weak wrong) |",
              "|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in records:
        lines.append(
            f"| {r['task']} | {r['weak']} → {r['strong']} | {r['method']} | {r['seed']} | {fmt(r.get('weak_acc'))} | "
            f"{fmt(r.get('ceiling_acc'))} | {fmt(r.get('student_acc'))} | {fmt_pgr(r, 'acc')} | "
            f"{fmt_pgr(r, 'auroc')} | {fmt(r.get('agree_transfer_weak_wrong'))} | "
            f"{fmt(r.get('ceiling_agree_transfer_weak_wrong'))} |"
        )
    lines += ["", "Agreement columns: share of transfer examples the weak model got wrong on which the student "
              "(or, as a control, the ground-truth ceiling) predicts the same wrong label (imitation of weak "
              "errors)."]
    md = out_dir / "report.md"
    md.write_text("\n".join(lines) + "\n")
    return md
