"""The tables `w2sg run` and `w2sg results` print: one row per experiment, then one per cell over its seeds.
Records are read as `ExperimentResult`s; the variant (settings changed from the defaults) is said once."""

from __future__ import annotations

from typing import Any

from rich.markup import escape
from rich.table import Table

from w2sg.cli.common import console, out
from w2sg.result import ExperimentResult


def _l2_pair(r: ExperimentResult) -> str:
    w, c = r.training.step("weak").l2, r.training.step("ceiling").l2
    return "-" if w is None and c is None else f"{w:.2g}/{c:.2g}" if None not in (w, c) else f"{w}/{c}"


def _method_cell(method: Any, locked: Any) -> str:
    return str(method) + (f" · locked {locked}" if locked else "")


def print_table(records: list, outcomes: dict | None = None) -> None:
    """The run table (one row per experiment), then `print_summary`. Records are flat dicts or results; the
    variant (settings changed from the defaults, e.g. split sizes shrunk to fit a small task) is said once in
    the title, or as a short tag in a column of its own when the experiments have several."""
    from w2sg.report.aggregate import results_of
    from w2sg.report.summary import fmt, fmt_pgr
    from w2sg.report.variants import variants_of
    from w2sg.store import distinct, retired_notes, task_versions

    warnings = task_versions(distinct(records))[1]  # a changed task's rows are shown apart, never pooled
    results = results_of(records)
    for note in [*warnings, *retired_notes([{"method": r.method} for r in results])]:
        console.print(f"[yellow]note[/]: {escape(note)}", highlight=False)
    variants = variants_of(results)

    balanced = all(r.evaluation.test_balanced for r in results)
    title = "experiments" + (" (accuracy class-balanced on T)" if balanced else "")
    if variants.note:
        title += "\n" + variants.note
    t = Table(title=escape(title), show_lines=False)
    per_q = any(r.pgr("q_acc").value is not None for r in results)
    locked = any(r.locked for r in results)  # locked students: accuracy without / with the trigger
    for c in ["task", "weak→strong", "method", *(["variant"] if variants.several else []), "budget", "seed",
              "l2 weak/ceil", "majority", "weak", "ceiling", "student", "PGR acc [95% CI]", "PGR AUROC [95% CI]",
              *(["PGR per-question"] if per_q else []), *(["locked / +trigger", "student +trigger"] if locked else [])]:
        t.add_column(c)
    for r in results:
        flags = "".join(f" ({w} < majority)" for w in ("weak", "ceiling") if r.score(w, "below_majority"))
        t.add_row(escape(str(r.task)), escape(f"{r.weak}→{r.strong}"), escape(_method_cell(r.method, r.locked)),
                  *([escape(variants.tag(r.variant))] if variants.several else []),
                  escape(str(r.training.budget.label)), str(r.seed),
                  _l2_pair(r), fmt(r.evaluation.majority_acc), fmt(r.score("weak", "acc")),
                  fmt(r.score("ceiling", "acc")) + flags, fmt(r.score("student", "acc")), fmt_pgr(r, "acc"),
                  fmt_pgr(r, "auroc"), *([fmt_pgr(r, "q_acc")] if per_q else []),
                  *([f"{fmt(r.lock.acc)} / {fmt(r.lock.acc_trigger)}", fmt(r.lock.student_acc_trigger)]
                    if locked else []))
    out.print(t)
    print_summary(results, outcomes)
    print_process(results)


def print_summary(records: list, outcomes: dict | None = None) -> None:
    """The per-cell table over all seeds: seed means ± sd and the pooled PGR with its hierarchical CI; a variant
    column (its tag) when the experiments have several variants."""
    from w2sg.report.aggregate import results_of
    from w2sg.report.summary import fmt, fmt_mean_sd, fmt_pooled, summarize
    from w2sg.report.variants import variants_of

    results = results_of(records)
    variants = variants_of(results)
    s = Table(title="over all seeds: mean ± sd; PGR = (mean student − mean weak) / (mean ceiling − mean weak), "
                    "95% CI over seeds and test groups")
    for c in ["task", "weak→strong", "mode", "method", *(["variant"] if variants.several else []), "budget",
              "seeds", "weak acc", "ceiling acc", "student acc", "PGR acc (pooled)", "PGR AUROC (pooled)",
              "seed-mean PGR acc (undefined)"]:
        s.add_column(c)
    for row in summarize(results, outcomes):
        cell = {k: row.get(k) for k in ("task", "weak", "strong", "mode", "method", "locked", "budget", "variant")}
        s.add_row(escape(str(cell["task"])), escape(f"{cell['weak']}→{cell['strong']}"), str(cell["mode"]),
                  escape(_method_cell(cell["method"], cell["locked"]) + (" [ORACLE]" if row.get("oracle") else "")),
                  *([escape(variants.tag(cell["variant"]))] if variants.several else []), escape(str(cell["budget"])),
                  str(row.get("n_seeds")), fmt_mean_sd(row, "weak_acc"), fmt_mean_sd(row, "ceiling_acc"),
                  fmt_mean_sd(row, "student_acc"), fmt_pooled(row, "acc"), fmt_pooled(row, "auroc"),
                  f"{fmt(row.get('pgr_acc_seed_mean'), 2)} ({row.get('pgr_acc_n_undefined', 0)})")
    out.print(s)


def print_process(records: list) -> None:
    """The process-supervision table (`report.process`: best-of-N accuracy, trace error and their PGR per
    experiment, a step task's rows beside its outcome task's) when any record has process metrics; else nothing."""
    from w2sg.report.process import TITLE, caption, process_table

    table = process_table(records)
    if table is None:
        return
    header, rows = table
    t = Table(title=TITLE, caption=escape(caption(records)), caption_justify="left")
    for i, c in enumerate(header):  # weak / ceiling / student cells never wrap: narrower columns wrap first
        whole = "weak / ceiling / student" in c
        t.add_column(escape(c), width=max(len(row[i]) for row in rows) if whole else None)
    for row in rows:
        t.add_row(*(escape(c) for c in row))
    out.print(t)
