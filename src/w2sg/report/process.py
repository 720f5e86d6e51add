"""The process-supervision table: one row per experiment of a step-labelled task (`metrics.process`), so that a
weak step labeller and a weak outcome labeller on the same problems and strong model read side by side.

Rows are sorted by problem set (the task without a trailing `_outcome` and without its version tag, so
`chains` and `chains_outcome` are one set), supervisor, strong model, method, variant, budget and seed, and only
then by granularity (step before outcome): a step task's row sits right above its outcome task's. Each row has
the supervisor's labelling budget on B (judgments), best-of-N accuracy and trace error of the weak model, the
ceiling and the student in one cell each ('weak / ceiling / student [the student's 95% CI]'), and the PGR of both
as every per-experiment table prints PGR (`summary.fmt_pgr`: 'unstable' where the gap's CI reaches 0,
'undefined (reason)' where there is no gap). The caption names the best-of-N references of T (a random
candidate, an oracle that finds a correct one when there is one). Records without process metrics are left out;
none at all: no table. Pure text cells (the writers escape them), used by `w2sg run` / `w2sg results` and the
Markdown report.
"""

from __future__ import annotations

import re

from w2sg.report.aggregate import Records, results_of
from w2sg.report.summary import fmt, fmt_pgr
from w2sg.report.variants import variants_of
from w2sg.result import ExperimentResult
from w2sg.result_parts import Estimate

Table = tuple[list[str], list[list[str]]]  # (header, rows)

TITLE = "process supervision"
GRANULARITY_ORDER = {"step": 0, "outcome": 1}
NOTE = ("best-of-N: per problem of T, the candidate solution the model scores highest (a step task: the minimum "
        "of its steps' P), and the share of problems whose chosen final answer is right. trace error: among "
        "problems whose chosen answer is right, the share whose chosen solution has a wrong step (Uesato et al. "
        "2022). judgments on B: the supervisor's labels on the transfer split (a step label and an outcome label "
        "are one judgment each). PGR = (student − weak) / (ceiling − weak), on trace error computed on 1 − trace "
        "error, with a 95% CI over problems; 'unstable' where the gap's CI reaches 0, 'undefined' where there is "
        "no gap to recover.")


def has_process(result: ExperimentResult) -> bool:
    """The result records process metrics (a step-labelled task)."""
    return result.process.present and result.process.granularity is not None


def problem_set(task: str) -> str:
    """The problems a task's records are scored on: its name without a version tag (`@abc123`) and without a
    trailing `_outcome`, so that a step task and its outcome task share one."""
    return re.sub(r"[_-]outcome$", "", str(task).split("@", 1)[0])


def _sort_key(r: ExperimentResult, variant_tag: str) -> tuple:
    g = r.process.granularity
    return (problem_set(r.task), str(r.weak), str(r.strong), str(r.method), variant_tag,
            r.training.budget.sort_key(), r.seed if isinstance(r.seed, int) else 0,
            GRANULARITY_ORDER.get(str(g), len(GRANULARITY_ORDER)), str(g), str(r.task))


def _with_ci(e: Estimate) -> str:
    if e.value is None:
        return "n/a"
    return f"{fmt(e.value)} [{fmt(e.ci_low)}, {fmt(e.ci_high)}]"


def _three(p, metric: str) -> str:
    """'weak / ceiling / student [CI]' of one process metric."""
    return (f"{fmt(p.score('weak', metric).value)} / {fmt(p.score('ceiling', metric).value)} / "
            f"{_with_ci(p.score('student', metric))}")


def _judgments(r: ExperimentResult) -> str:
    p = r.process
    if p.judgments_transfer is None:
        return "n/a"
    other = p.judgments_granularity and p.judgments_granularity != p.granularity
    return str(p.judgments_transfer) + (f" ({p.judgments_granularity})" if other else "")


def process_results(records: Records) -> list[ExperimentResult]:
    """The distinct results of `records` that have process metrics, in the table's order."""
    results = [r for r in results_of(records) if has_process(r)]
    variants = variants_of(results)
    return sorted(results, key=lambda r: _sort_key(r, variants.tag(r.variant)))


def process_table(records: Records) -> Table | None:
    """(header, rows) of the process-supervision table, or None when no record has process metrics. A variant
    column (its tag) when the rows have several variants, a budget column when they have several budgets."""
    results = process_results(records)
    if not results:
        return None
    variants = variants_of(results)
    budgets = len({str(r.training.budget.label) for r in results}) > 1
    header = ["task", "granularity", "weak→strong", "method", *(["variant"] if variants.several else []),
              *(["budget"] if budgets else []), "seed", "judgments on B",
              "best-of-N weak / ceiling / student [95% CI]", "trace error weak / ceiling / student [95% CI]",
              "PGR best-of-N [95% CI]", "PGR trace error [95% CI]"]
    rows = []
    for r in results:
        p = r.process
        rows.append([str(r.task), str(p.granularity), f"{r.weak}→{r.strong}", str(r.method),
                     *([variants.tag(r.variant)] if variants.several else []),
                     *([r.training.budget.table_text()] if budgets else []), str(r.seed), _judgments(r),
                     _three(p, "bon_acc"), _three(p, "trace_error"), fmt_pgr(r, "bon_acc"),
                     fmt_pgr(r, "trace_error")])
    return header, rows


def references(records: Records) -> str:
    """The best-of-N references of T, once per distinct value: 'chains, chains_outcome (100 problems, 8
    candidates each): random candidate 0.412 [0.380, 0.445], oracle 0.970 [0.930, 1.000]'; '' without process
    records."""
    by_refs: dict[tuple, list[str]] = {}
    for r in process_results(records):
        p = r.process
        per = (f", {p.n_solutions_test / p.n_problems_test:.3g} candidates each"
               if p.n_solutions_test and p.n_problems_test else "")
        size = f" ({p.n_problems_test} problems{per})" if p.n_problems_test else ""
        key = (size, _with_ci(p.bon_random), _with_ci(p.bon_oracle))
        names = by_refs.setdefault(key, [])
        if str(r.task) not in names:
            names.append(str(r.task))
    return "; ".join(f"{', '.join(names)}{size}: random candidate {rand}, oracle {oracle}"
                     for (size, rand, oracle), names in by_refs.items())


def caption(records: Records) -> str:
    """The table's caption: what the columns mean, then the references of T."""
    refs = references(records)
    return NOTE + (f" Best-of-N references on T (bon_random: a candidate drawn at random; bon_oracle: a correct "
                   f"candidate whenever there is one): {refs}." if refs else "")
