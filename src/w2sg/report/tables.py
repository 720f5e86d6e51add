"""The report's tables, written once for Markdown and for HTML: the summary over seeds (one row per
`summary.summarize` group), every experiment, and the writers (`markdown_table`, `html_table`) that every page
(report.md, report.html, report-figures.md, the Testbeds section) uses. Records are read as `ExperimentResult`s.

A table is (header, rows) of plain-text cells; the writers escape them. When the records have several variants
(settings changed from the defaults, `report.variants`) the tables get a `variant` column with short tags and
the caption says what each tag means; one variant shared by every experiment is said once in the caption.
"""

from __future__ import annotations

import html
from collections.abc import Mapping
from typing import Any

from w2sg.report.aggregate import Records, results_of
from w2sg.report.escape import md_text
from w2sg.report.scope import short_hash
from w2sg.report.summary import fmt, fmt_mean_sd, fmt_pgr, fmt_pooled, summarize
from w2sg.report.variants import variants_of
from w2sg.result import Budget, ExperimentResult

Table = tuple[list[str], list[list[str]]]  # (header, rows)

TABLE_NOTE = ("PGR columns of the summary: the pooled PGR over all seeds, (mean student − mean weak) / (mean "
              "ceiling − mean weak), with a 95% CI that resamples seeds and then whole test groups; it is printed "
              "only when the mean gap's CI excludes 0, else 'gap not resolved' with the gap and its CI. No seed is "
              "left out by its gap. 'seed-mean PGR' is the mean of the per-seed PGRs where defined, with the "
              "number of seeds without one. Accuracies are mean ± sd over all seeds. budget: the student's "
              "training budget (converged / epochs=N: trained to the end; steps=N: N optimiser steps; "
              "early_stop: checkpoint chosen on V's weak labels; early_stop_oracle: chosen on V's ground truth, "
              "an ORACLE bound, not a method); the weak model and the ceiling are always trained to their "
              "CV-tuned optimum. majority: accuracy of always predicting the majority class on T; 'weak < "
              "majority k/n' flags groups whose weak model (or ceiling) is below that baseline in k of n seeds.")


def balance_note(records: Records) -> str:
    """Whether the accuracies of these records are class-balanced (`test_balanced`)."""
    flags = [r.evaluation.test_balanced for r in results_of(records)]
    known = [bool(f) for f in flags if f is not None]
    if not flags:
        return "No experiments."
    if not known:
        return "Whether accuracy is class-balanced is not recorded for these experiments."
    if len(known) == len(flags) and all(known):
        return ("Accuracy is class-balanced (the mean of the per-class accuracies on T), so the majority "
                "baseline is 0.5.")
    if len(known) == len(flags) and not any(known):
        return "Accuracy is plain (not class-balanced); the majority baseline is the share of the larger class."
    return (f"Accuracy is class-balanced in {sum(known)} of {len(flags)} experiments (test_balanced); compare "
            "rows with the majority column.")


def variant_note(records: Records) -> str:
    """The sentence naming the records' variant(s) once ('' when every experiment used the default settings)."""
    return variants_of(results_of(records)).note


def per_question(results: list[ExperimentResult]) -> bool:
    return any(r.pgr("q_acc").value is not None for r in results)


def _below_majority(row: Mapping[str, Any]) -> str:
    n = len(row["seeds"])
    flags = [f"{who} < majority {row[f'n_{who}_below_majority']}/{n}" for who in ("weak", "ceiling")
             if row.get(f"n_{who}_below_majority")]
    return "; ".join(flags) if flags else "-"


def summary_table(records: Records) -> Table:
    """(header, rows), one row per summarize() group (task version, weak, strong, mode, method, budget, variant): seed
    means ± sd, the pooled PGR over all seeds (accuracy, AUROC, per-question when any record has it) with its
    hierarchical CI, the seed-mean PGR with its undefined count, the majority baseline with below-majority flags
    and the number of unstable seeds; a variant column (its tag) when the records have several variants."""
    results = results_of(records)
    per_q, variants = per_question(results), variants_of(results)
    header = ["task", "weak → strong", "mode", "method", *(["variant"] if variants.several else []), "budget",
              "seeds", "majority", "weak acc", "ceiling acc", "student acc", "PGR (acc, pooled)",
              "PGR (AUROC, pooled)", *(["PGR (per-question)"] if per_q else []), "seed-mean PGR acc (undefined)",
              "below majority", "unstable"]
    rows = []
    order = ("task", "weak", "strong", "mode", "method")
    for r in sorted(summarize(results), key=lambda r: (tuple(str(r.get(k)) for k in order),
                                                         Budget.parse(r.get("budget")).sort_key(),
                                                         str(r.get("variant")))):
        n = len(r["seeds"])
        rows.append([str(r["task"]), f"{r['weak']} → {r['strong']}", str(r["mode"]), str(r["method"]),
                     *([variants.tag(r.get("variant"))] if variants.several else []),
                     Budget.parse(r.get("budget")).table_text(), str(n), fmt(r.get("majority_acc_mean")),
                     fmt_mean_sd(r, "weak_acc"), fmt_mean_sd(r, "ceiling_acc"), fmt_mean_sd(r, "student_acc"),
                     fmt_pooled(r, "acc"), fmt_pooled(r, "auroc"), *([fmt_pooled(r, "q_acc")] if per_q else []),
                     f"{fmt(r.get('pgr_acc_seed_mean'), 2)} ({r['n_undefined']}/{n})",
                     _below_majority(r), f"{r['n_unstable']}/{n}"])
    return header, rows


def _acc(r: ExperimentResult, who: str) -> str:
    return fmt(r.score(who, "acc")) + (" (< majority)" if r.score(who, "below_majority") else "")


def _gap_text(r: ExperimentResult, metric: str = "acc", digits: int = 3) -> str:
    p = r.pgr(metric)
    if p.gap is None:
        return "n/a"
    return f"{fmt(p.gap, digits)} [{fmt(p.gap_ci_low, digits)}, {fmt(p.gap_ci_high, digits)}]"


def experiment_table(records: Records) -> Table:
    """(header, rows), one row per experiment: PGR with its CI (summary.fmt_pgr) for accuracy, AUROC and, when
    any record has it, per question; the gap with its CI; the majority baseline; agreements; a variant column
    (its tag) when the records have several variants."""
    results = results_of(records)
    per_q, variants = per_question(results), variants_of(results)
    header = ["task", "weak → strong", "mode", "method", *(["variant"] if variants.several else []), "budget",
              "seed", "majority", "weak acc", "ceiling acc", "student acc", "gap acc [95% CI]", "PGR acc [95% CI]",
              "PGR AUROC [95% CI]", *(["PGR per-question [95% CI]"] if per_q else []), "agree (weak right)",
              "agree (weak wrong)", "ceiling agree (weak wrong)", "experiment hash"]
    keyed = sorted(results, key=lambda r: (tuple(str(v) for v in (r.task, r.weak, r.strong, r.mode, r.method)),
                                           r.training.budget.sort_key(), r.seed if isinstance(r.seed, int) else 0))
    rows = [[str(r.task), f"{r.weak} → {r.strong}", str(r.mode), str(r.method),
             *([variants.tag(r.variant)] if variants.several else []), r.training.budget.table_text(), str(r.seed),
             fmt(r.evaluation.majority_acc), _acc(r, "weak"), _acc(r, "ceiling"), fmt(r.score("student", "acc")),
             _gap_text(r), fmt_pgr(r, "acc"), fmt_pgr(r, "auroc"), *([fmt_pgr(r, "q_acc")] if per_q else []),
             fmt(r.agreement("transfer").weak_right), fmt(r.agreement("transfer").weak_wrong),
             fmt(r.agreement("transfer", "ceiling").weak_wrong), short_hash(r)]
            for r in keyed]
    return header, rows


# ---------------------------------------------------------------- the writers


def cell_class(text: str) -> str:
    """The HTML class of a cell: flagged (< majority, unstable, gap not resolved) or undefined."""
    if "< majority" in text:
        return ' class="unstable"'
    if text.startswith("undefined"):
        return ' class="undefined"'
    if text.endswith(" unstable") or text.startswith("gap not resolved"):
        return ' class="unstable"'
    return ""


def html_table(header: list[str], rows: list[list[str]]) -> str:
    """An HTML table in a box of its own that scrolls sideways when the table is wider than the page."""
    if not rows:
        return "<p><em>No experiments.</em></p>"
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = "\n".join("<tr>" + "".join(f"<td{cell_class(c)}>{html.escape(c)}</td>" for c in row) + "</tr>"
                     for row in rows)
    return (f'<div class="table-wrap">\n<table>\n<thead><tr>{head}</tr></thead>\n<tbody>\n{body}\n</tbody>\n</table>\n'
            "</div>")


def markdown_table(header: list[str], rows: list[list[str]]) -> list[str]:
    """The lines of a Markdown table (cells escaped: `escape.md_text`)."""
    if not rows:
        return ["_No experiments._"]
    return (["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
            + ["| " + " | ".join(md_text(c) for c in row) + " |" for row in rows])
