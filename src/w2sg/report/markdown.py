"""A Markdown report with a PNG of weak / ceiling / student accuracy per method with 95% CI bars, the PGR vs
student budget figure when the records have two or more budgets of a method, the Testbeds section (figures and
tables, `w2sg.report.html.testbed_section`) when the records hold testbed rows, and the report tables."""

from __future__ import annotations

import datetime as dt
import math
from collections import defaultdict
from pathlib import Path

from w2sg.outputs import write_atomic, write_text
from w2sg.report.escape import md_text, plain_text
from w2sg.report.figures import budget_sort_key
from w2sg.report.scope import covers
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
    panel_w = max(5.0, 1.1 * (2 + max((len(v) for v in panels.values()), default=1)))
    ncols = max(1, min(n, int(20 // panel_w)))
    nrows = math.ceil(n / ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(panel_w * ncols, 4.2 * nrows), squeeze=False)
    for ax in list(axes.flat)[len(panels):]:
        ax.set_visible(False)
    for ax, ((task, weak, strong, mode), methods) in zip(axes.flat, sorted(panels.items()), strict=False):
        methods = sorted(methods, key=lambda m: (str(m["method"]), budget_sort_key(m.get("budget"))))
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


def write_report(records: list[dict], out_dir: str | Path, title: str = "w2sg report",
                 outcomes: dict | None = None) -> Path:
    """Write `report.md` and `accuracy.png` (and `pgr_vs_budget.png` when a method was run at two or more
    student budgets, and the Testbeds figures `fig_<name>.png` when the records hold testbed rows) into
    out_dir; returns the Markdown path. Links in the report are relative to it. Each experiment counts once
    (by store hash); a task with several versions of its data is shown per version
    (`task@abc123`) under a warning. `outcomes`: stored test outcomes by hash (`ResultsStore.outcomes`), so the
    pooled PGR's CI resamples test groups too (records may carry them as `test_outcomes` instead)."""
    from w2sg.report.figures import BUDGET_FIGURE, pgr_vs_budget
    from w2sg.report.html import (
        TABLE_NOTE,
        _md_table,
        balance_note,
        experiment_table,
        summary_table,
        testbed_section,
        testbeds_markdown,
    )
    from w2sg.store import distinct, with_task_versions, with_variant_labels

    if outcomes:
        records = [{**r, "test_outcomes": outcomes[r["hash"]]} if r.get("hash") in outcomes else r for r in records]
    records, version_warnings = with_task_versions(with_variant_labels(distinct(records)))
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    png = accuracy_figure(records, out_dir / "accuracy.png")
    budget_png = out_dir / "pgr_vs_budget.png"
    budget_png.unlink(missing_ok=True)  # never leave a stale figure from an earlier report
    try:
        drawn, budget_error = pgr_vs_budget(records, budget_png), None
    except Exception as e:  # the figure must not cost the whole report
        drawn, budget_error = None, f"{type(e).__name__}: {e}"
    n_oracle = sum(bool(r.get("oracle")) for r in records)
    lines = [f"# {md_text(title)}", "", f"Generated {dt.datetime.now().isoformat(timespec='seconds')} from "
             f"{len(records)} experiments." + (f" {n_oracle} are ORACLE (selected or supervised with ground "
                                               "truth: bounds, not methods)." if n_oracle else ""), "",
             md_text(covers(records)), "",
             "PGR = (student − weak) / (ceiling − weak), on test accuracy and AUROC (and per question for "
             "multiple-choice tasks). Per-experiment CIs are 95% paired bootstrap intervals over test groups "
             "(a question's answers resampled together); over seeds, accuracies are mean ± sd and PGR is pooled "
             "over all seeds, (mean student − mean weak) / (mean ceiling − mean weak), with a 95% CI that resamples "
             "seeds and then test groups, printed only when the mean gap's CI excludes 0. `unstable` marks an "
             "experiment whose gap (ceiling − weak) CI includes 0; PGR is undefined when ceiling ≤ weak. "
             + balance_note(records), "",
             *[line for w in version_warnings for line in (f"> **Warning**: {md_text(w)}", "")],
             f"![accuracy per method]({png.name})", ""]
    if drawn is not None:
        lines += ["## PGR vs the student's training budget", "", f"![{BUDGET_FIGURE.title}]({drawn.name})", "",
                  BUDGET_FIGURE.caption, ""]
    elif budget_error:
        lines += [f"_PGR vs budget figure not drawn: {md_text(budget_error)}._", ""]
    lines += testbeds_markdown(testbed_section(records), out_dir)
    summary_header, summary = summary_table(records)
    experiment_header, experiments = experiment_table(records)
    lines += ["## Summary over seeds", "", TABLE_NOTE, "", *_md_table(summary_header, summary), "",
              "## Every experiment", "", *_md_table(experiment_header, experiments), "",
              "Agreement columns: share of transfer examples the weak model got right / wrong on which the student "
              "(or, as a control, the ground-truth ceiling) predicts the weak model's label (on wrong ones: "
              "imitation of weak errors)."]
    md = out_dir / "report.md"
    write_text(md, "\n".join(lines) + "\n")
    return md
