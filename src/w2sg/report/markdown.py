"""A Markdown report with a PNG of weak / ceiling / student accuracy per method with 95% CI bars, the PGR vs
student budget figure when the records have two or more budgets of a method, the Testbeds section (figures and
tables, `w2sg.report.html.testbed_section`) when the records hold testbed rows, and the report tables (with the
process-supervision table, `w2sg.report.process`, when the records have process metrics)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from w2sg.outputs import write_text
from w2sg.report.aggregate import Records, results_of
from w2sg.report.draw_accuracy import accuracy_figure
from w2sg.report.escape import md_text
from w2sg.report.figures import BUDGET_FIGURE, pgr_vs_budget
from w2sg.report.html import testbed_section, testbeds_markdown, with_outcomes
from w2sg.report.process import caption as process_caption
from w2sg.report.process import process_table
from w2sg.report.scope import covers
from w2sg.report.tables import TABLE_NOTE, balance_note, experiment_table, markdown_table, summary_table, variant_note
from w2sg.report.variants import with_variant_tags
from w2sg.store import distinct, task_versions

__all__ = ["accuracy_figure", "write_report"]


def write_report(records: Records, out_dir: str | Path, title: str = "w2sg report",
                 outcomes: dict | None = None) -> Path:
    """Write `report.md` and `accuracy.png` (and `pgr_vs_budget.png` when a method was run at two or more
    student budgets, and the Testbeds figures `fig_<name>.png` when the records hold testbed rows) into
    out_dir; returns the Markdown path. Links in the report are relative to it. Each experiment counts once
    (by store hash); a task with several versions of its data is shown per version
    (`task@abc123`) under a warning. `outcomes`: stored test outcomes by hash (`ResultsStore.outcomes`), so the
    pooled PGR's CI resamples test groups too (records may carry them as `test_outcomes` instead)."""
    records = list(records)
    version_warnings = task_versions(distinct(records))[1]  # before results_of labels the versions
    results = with_outcomes(results_of(records), outcomes)
    drawn = with_variant_tags(results)  # figures group by method: several variants are told apart by a tag
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    png = accuracy_figure(drawn, out_dir / "accuracy.png")
    budget_png = out_dir / "pgr_vs_budget.png"
    budget_png.unlink(missing_ok=True)  # never leave a stale figure from an earlier report
    try:
        budget_drawn, budget_error = pgr_vs_budget(drawn, budget_png), None
    except Exception as e:  # the figure must not cost the whole report
        budget_drawn, budget_error = None, f"{type(e).__name__}: {e}"
    n_oracle = sum(bool(r.training.oracle) for r in results)
    lines = [f"# {md_text(title)}", "", f"Generated {dt.datetime.now().isoformat(timespec='seconds')} from "
             f"{len(results)} experiments." + (f" {n_oracle} are ORACLE (selected or supervised with ground "
                                               "truth: bounds, not methods)." if n_oracle else ""), "",
             md_text(covers(results)), "",
             "PGR = (student − weak) / (ceiling − weak), on test accuracy and AUROC (and per question for "
             "multiple-choice tasks). Per-experiment CIs are 95% paired bootstrap intervals over test groups "
             "(a question's answers resampled together); over seeds, accuracies are mean ± sd and PGR is pooled "
             "over all seeds, (mean student − mean weak) / (mean ceiling − mean weak), with a 95% CI that resamples "
             "seeds and then test groups, printed only when the mean gap's CI excludes 0. `unstable` marks an "
             "experiment whose gap (ceiling − weak) CI includes 0; PGR is undefined when ceiling ≤ weak. "
             + balance_note(results), "",
             *[line for w in version_warnings for line in (f"> **Warning**: {md_text(w)}", "")],
             f"![accuracy per method]({png.name})", ""]
    if budget_drawn is not None:
        lines += ["## PGR vs the student's training budget", "", f"![{BUDGET_FIGURE.title}]({budget_drawn.name})", "",
                  BUDGET_FIGURE.caption, ""]
    elif budget_error:
        lines += [f"_PGR vs budget figure not drawn: {md_text(budget_error)}._", ""]
    lines += testbeds_markdown(testbed_section(drawn), out_dir)
    summary_header, summary = summary_table(results)
    experiment_header, experiments = experiment_table(results)
    variants = variant_note(results)
    lines += ["## Summary over seeds", "", TABLE_NOTE + (f" {md_text(variants)}" if variants else ""), "",
              *markdown_table(summary_header, summary), "",
              "## Every experiment", "", *markdown_table(experiment_header, experiments), "",
              "Agreement columns: share of transfer examples the weak model got right / wrong on which the student "
              "(or, as a control, the ground-truth ceiling) predicts the weak model's label (on wrong ones: "
              "imitation of weak errors)."]
    process = process_table(results)
    if process is not None:  # step-labelled tasks: best-of-N and trace error, step and outcome rows side by side
        lines += ["", "## Process supervision", "", md_text(process_caption(results)), "",
                  *markdown_table(*process)]
    md = out_dir / "report.md"
    write_text(md, "\n".join(lines) + "\n")
    return md
