"""The standard weak-to-strong figures, drawn from flat result records (`ResultsStore.records()`) as PNG bytes.

Every figure function takes a list of records and returns a `FigureResult(png, reason)`: `png` is the PNG
file as bytes, or None when there is nothing to draw, and then `reason` says why. Each is two steps: the
aggregation in `w2sg.report.aggregate` / `w2sg.report.budget` (pure: records -> the points, seed means, CIs and
groupings the figure draws; no matplotlib) and the drawing in `w2sg.report.draw` / `w2sg.report.draw_budget`
(matplotlib `Figure` objects with the Agg renderer, never pyplot). `FIGURES` lists them in report order with
a title and a caption; `OPTIONAL_FIGURES` (PGR vs the student's training budget, `pgr_vs_budget`) are drawn
only when the records have something to show (a method run at two or more budgets).

Conventions shared by all figures: one panel per (task, mode); models are ordered by capability (mean weak
accuracy for weak models, mean ceiling accuracy for strong ones). A PGR over seeds is the pooled PGR of ALL the
seeds of a cell, (mean student − mean weak) / (mean ceiling − mean weak), with a 95% CI that resamples seeds and
then whole test groups (the records' stored test outcomes: load them with `ResultsStore.records(outcomes=True)`;
without them the CI resamples seeds only); it is drawn as a number only when the mean gap's CI excludes 0, else
as "gap not resolved". No seed is ever left out by its own gap. Per experiment (PGR vs gap), an experiment is
*unstable* when the 95% bootstrap CI of its gap includes 0 (hollow) and its PGR *undefined* when ceiling ≤ weak (×).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

from w2sg.outputs import write_bytes
from w2sg.report.aggregate import (
    agreement_data,
    methods_compared_data,
    pgr_heatmap_data,
    pgr_vs_gap_data,
    student_vs_ceiling_data,
)
from w2sg.report.budget import (
    BUDGET_KINDS,
    BUDGET_METRICS,
    BudgetPoint,
    budget_kind,
    budget_points,
    budget_sort_key,
    budget_steps,
)
from w2sg.report.draw import (
    COLORS,
    DPI,
    LINESTYLES,
    MARKERS,
    NOT_RESOLVED_LABEL,
    UNDEFINED_LABEL,
    UNSTABLE_HATCH,
    UNSTABLE_LABEL,
    draw_agreement,
    draw_methods_compared,
    draw_pgr_heatmap,
    draw_pgr_vs_gap,
    draw_student_vs_ceiling,
)
from w2sg.report.draw_budget import draw_pgr_vs_budget
from w2sg.report.draw_testbeds import draw_locked, draw_region_heatmap, draw_supervisor_quality
from w2sg.report.testbeds import locked_data, region_heatmap_data, supervisor_quality_data

__all__ = [  # budget_* and the drawing constants are re-exported: other modules import them from here
    "BUDGET_CAPTION", "BUDGET_FIGURE", "BUDGET_KINDS", "BUDGET_METRICS", "COLORS", "DPI", "DRAWING_FAILED",
    "FIGURES", "LINESTYLES", "MARKERS", "NOT_RESOLVED_LABEL", "OPTIONAL_FIGURES", "UNDEFINED_LABEL", "UNSTABLE_HATCH",
    "UNSTABLE_LABEL", "BudgetPoint", "FigureResult", "FigureSpec", "agreement", "budget_kind", "budget_points",
    "budget_sort_key", "budget_steps", "methods_compared", "pgr_heatmap", "pgr_vs_budget",
    "pgr_vs_budget_figure", "pgr_vs_gap", "render", "render_all", "student_vs_ceiling",
    "TESTBED_FIGURES", "locked_elicitation", "region_heatmap", "render_testbeds", "supervisor_quality",
]

DRAWING_FAILED = "drawing failed"


class FigureResult(NamedTuple):
    """PNG bytes of a figure, or None with the reason nothing was drawn."""

    png: bytes | None
    reason: str | None = None


class FigureSpec(NamedTuple):
    """A figure of the report: file stem, title, caption (what it shows) and the function that draws it."""

    name: str
    title: str
    caption: str
    render: Callable[[list[dict]], FigureResult]


# ---------------------------------------------------------------- the figures: aggregate, then draw


def student_vs_ceiling(records: list[dict]) -> FigureResult:
    """Burns et al.'s main figure: student accuracy (y) against the strong ceiling accuracy (x), one colour per
    weak model, one line style per method, the weak model's own accuracy as a dashed line of its colour, and
    the diagonal y = x where the student matches the ceiling (PGR = 1). Means over seeds."""
    data = student_vs_ceiling_data(records)
    if not data.panels:
        return FigureResult(None, "no record has both student_acc and ceiling_acc")
    return FigureResult(draw_student_vs_ceiling(data))


def pgr_heatmap(records: list[dict]) -> FigureResult:
    """The pooled PGR (accuracy) over all seeds in a weak × strong grid, one panel per (task, mode) and method;
    cells are annotated with the PGR, its 95% CI and the number of seeds; hatched grey "gap not resolved" (no
    number) where the mean gap's CI includes 0; "not run" where no experiment exists."""
    data = pgr_heatmap_data(records)
    if not data.panels:
        return FigureResult(None, "no records with weak and strong models")
    return FigureResult(draw_pgr_heatmap(data))


def pgr_vs_gap(records: list[dict]) -> FigureResult:
    """PGR (accuracy) against the capability gap (ceiling − weak accuracy), one point per experiment with its
    95% bootstrap CIs on both axes; colour = method; unstable points hollow grey; experiments with an
    undefined PGR are drawn as × on the bottom edge at their gap."""
    data = pgr_vs_gap_data(records)
    if not data.panels:
        return FigureResult(None, "no record has gap_acc (ceiling − weak accuracy)")
    return FigureResult(draw_pgr_vs_gap(data))


def methods_compared(records: list[dict]) -> FigureResult:
    """The pooled PGR (accuracy) over all seeds of each method for every weak→strong pair, one panel per (task,
    mode), with its 95% CI (seeds, then test groups) and the number of seeds; an empty hatched bar "gap not
    resolved" where the mean gap's CI includes 0."""
    data = methods_compared_data(records)
    if not data.panels:
        return FigureResult(None, "no records with a method")
    return FigureResult(draw_methods_compared(data))


def agreement(records: list[dict]) -> FigureResult:
    """Agreement of the student with its weak supervisor on transfer examples the weak model labelled right
    (left) and wrong (right; high = imitation of weak errors), per weak→strong pair and method, with the
    ceiling model's agreement with the weak model as a control; mean over seeds, t-based 95% CI. Falls back
    to the test split when no record has transfer agreement."""
    data = agreement_data(records)
    if data.split is None:
        return FigureResult(None, "no record has agreement metrics (agree_transfer_* / agree_test_*)")
    return FigureResult(draw_agreement(data))


# ---------------------------------------------------------------- (f) PGR vs the student's training budget

BUDGET_CAPTION = (
    "Budget = the student's training budget; the weak model and the ceiling are always trained to their "
    "CV-tuned optimum, only the student is budgeted. A PGR that exists only at small budgets is an artefact of "
    "under-training. Left part of each panel: exactly N optimiser steps (log axis); right of the dashed "
    "separator: 'converged' (frozen heads solved to convergence) or 'epochs=…' (the whole finetuning run), "
    "then early stopping with the checkpoint chosen on the weak labels of V, then ORACLE early stopping (star, "
    "red band) chosen on V's ground truth, an analysis bound and not a method. y: the PGR pooled over all seeds "
    "of the point, (mean student − mean weak) / (mean ceiling − mean weak), with a 95% CI over seeds and test "
    "groups; no seed is left out by its gap. A point whose mean gap's CI includes 0 is 'gap not resolved': a × "
    "on the bottom edge, no PGR, and it breaks its line. Solid/filled = accuracy PGR, dashed/hollow = AUROC PGR. "
    "Only methods run at two or more budgets are drawn."
)


def pgr_vs_budget_figure(records: list[dict]) -> FigureResult:
    """PGR (accuracy solid, AUROC dashed) against the student's training budget, one panel per (task, mode)
    with a shared y axis: step budgets on a log axis, then the converged / full-run budget and the early
    stopping budgets (weak-label and ORACLE) as categorical slots on the right. See `BUDGET_CAPTION`."""
    points = budget_points(records)
    if not points:
        return FigureResult(None, "no method was run at two or more training budgets of the student")
    return FigureResult(draw_pgr_vs_budget(points))


def pgr_vs_budget(records: list[dict], path: str | Path) -> Path | None:
    """Write the PGR-vs-budget figure (`pgr_vs_budget_figure`) as a PNG to `path` and return the path; do
    nothing and return None when no method of any task was run at two or more budgets."""
    res = pgr_vs_budget_figure(records)
    if res.png is None:
        return None
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_bytes(path, res.png)
    return path


BUDGET_FIGURE = FigureSpec("pgr_vs_budget", "PGR vs the student's training budget", BUDGET_CAPTION,
                           pgr_vs_budget_figure)
# Figures drawn only when they have something to show (a note about a missing one would be noise).
OPTIONAL_FIGURES: tuple[FigureSpec, ...] = (BUDGET_FIGURE,)


FIGURES: tuple[FigureSpec, ...] = (
    FigureSpec("student_vs_ceiling", "Student vs strong ceiling accuracy",
               "Test accuracy of the weak-to-strong student (y) against the accuracy of the strong model trained "
               "on ground truth (x, its ceiling; strong model names on the top axis). One colour per weak model; "
               "its own accuracy is the dashed line of that colour; one line style per method. Points on the "
               "diagonal recover the whole gap (PGR 1), points on the dashed line none (PGR 0). Means over seeds.",
               student_vs_ceiling),
    FigureSpec("pgr_heatmap", "PGR heatmap: weak × strong",
               "PGR (accuracy) per weak (rows) × strong (columns) pair, one panel per task and method, pooled over "
               "all seeds: (mean student − mean weak) / (mean ceiling − mean weak), with its 95% CI over seeds and "
               "test groups; n = seeds pooled (none is left out by its gap; 'undef.' counts seeds without a PGR "
               "of their own). Hatched grey cells read 'gap not resolved': the mean gap's CI includes 0, so no "
               "PGR is given.",
               pgr_heatmap),
    FigureSpec("pgr_vs_gap", "PGR vs capability gap",
               "One point per experiment: PGR (accuracy) against the gap ceiling − weak accuracy, both with 95% "
               "paired bootstrap CIs (error bars may run past the axes when the gap is small). Hollow grey "
               "points are unstable (the gap's CI includes 0); × on the bottom edge marks an undefined PGR.",
               pgr_vs_gap),
    FigureSpec("methods_compared", "Methods compared",
               "PGR (accuracy) of each method for every weak → strong pair, pooled over all seeds: (mean student "
               "− mean weak) / (mean ceiling − mean weak), with its 95% CI over seeds and test groups; n above a "
               "bar = seeds pooled (none is left out by its gap). An empty hatched bar reads 'gap not resolved': "
               "the mean gap's CI includes 0, so no PGR is given.",
               methods_compared),
    FigureSpec("agreement", "Student–supervisor agreement",
               "Share of transfer examples on which the student predicts the weak supervisor's label, split by "
               "whether the weak label was right (left) or wrong (right). High agreement where the weak model is "
               "wrong means the student imitates weak errors. The hatched grey bar is the control: agreement of "
               "the ceiling model (trained on ground truth) with the weak model. Means over seeds, t-based 95% CI.",
               agreement),
)


# ---------------------------------------------------------------- the Testbeds section (w2sg.report.testbeds)


def supervisor_quality(records: list[dict]) -> FigureResult:
    """Synthetic supervisors: the pooled PGR (95% CI) and student accuracy against the supervisor's accuracy on T,
    one line per (error kind, method); y = x in the accuracy panel. Random against systematic errors."""
    data = supervisor_quality_data(records)
    if not data.panels:
        return FigureResult(None, "no experiment with a synthetic supervisor")
    return FigureResult(draw_supervisor_quality(data))


def region_heatmap(records: list[dict]) -> FigureResult:
    """The student's mean accuracy in each region of T (weak right / wrong × ceiling right / wrong) per method,
    one panel per (task, supervisor family)."""
    panels = region_heatmap_data(records)
    if not panels:
        return FigureResult(None, "no record has region accuracies (student_acc_wr_sr, ...)")
    return FigureResult(draw_region_heatmap(panels))


def locked_elicitation(records: list[dict]) -> FigureResult:
    """Locked strong students: the student's accuracy without / with the trigger per method against the weak
    supervisor, the ceiling and the locked model without / with the trigger; one panel per locked variant."""
    panels = locked_data(records)
    if not panels:
        return FigureResult(None, "no experiment with a locked strong student")
    return FigureResult(draw_locked(panels))


TESTBED_FIGURES: tuple[FigureSpec, ...] = (
    FigureSpec("supervisor_quality", "Supervisor quality",
               "Synthetic supervisors: PGR (left, pooled over all seeds, (mean student − mean weak) / (mean ceiling "
               "− mean weak), with its 95% CI over seeds and test groups; × on the bottom edge: gap not resolved, "
               "no PGR) and the student's accuracy on T (right, mean over seeds) against the supervisor's accuracy "
               "on T. Colour = the "
               "kind of the supervisor's errors (random flips against systematic ones such as a region of the "
               "input space), line style = method; one point per error rate. Right: on the diagonal the student "
               "only matches its supervisor; the dashed line is the ceiling.",
               supervisor_quality),
    FigureSpec("region_heatmap", "Region heatmap",
               "The student's accuracy in the four regions of T split by whether the supervisor (weak) and the "
               "ceiling (strong, trained on ground truth) are right: mean over experiments (their number in "
               "brackets), one panel per task and supervisor family (all error rates pooled); n = mean size of "
               "the region per experiment. Weak ✗ strong ✓ is where the student could beat its supervisor; low "
               "accuracy there is imitation (student_err_weak_blind = 1 − it).",
               region_heatmap),
    FigureSpec("locked_elicitation", "Locked-model elicitation",
               "Strong students that start locked (their capability hidden behind a trigger): accuracy on T of "
               "the student after weak-to-strong training without (solid) and with (dotted) the trigger, mean over "
               "seeds with a t-based 95% CI, against the mean accuracy of the weak supervisor, the ceiling and the "
               "locked model before training without / with the trigger (lines). One panel per locked variant.",
               locked_elicitation),
)


def render_testbeds(records: list[dict]) -> list[tuple[FigureSpec, FigureResult]]:
    """The figures of `TESTBED_FIGURES` that were drawn (or whose drawing failed); those with nothing to draw are
    left out without a word."""
    out = [(spec, render(spec, records)) for spec in TESTBED_FIGURES]
    return [(s, r) for s, r in out if r.png is not None or (r.reason or "").startswith(DRAWING_FAILED)]


def render(spec: FigureSpec, records: list[dict]) -> FigureResult:
    """`spec.render(records)`; a drawing that raises is returned as None with the error as its reason."""
    try:
        return spec.render(records)
    except Exception as e:  # one broken figure must not cost the whole report
        return FigureResult(None, f"{DRAWING_FAILED}: {type(e).__name__}: {e}")


def render_all(records: list[dict]) -> list[tuple[FigureSpec, FigureResult]]:
    """Every figure of `FIGURES` (a missing one with its reason), then those of `OPTIONAL_FIGURES` that were
    drawn (or whose drawing failed); a figure whose drawing raises is returned as None with the error."""
    out = [(spec, render(spec, records)) for spec in FIGURES]
    for spec in OPTIONAL_FIGURES:
        res = render(spec, records)
        if res.png is not None or (res.reason or "").startswith(DRAWING_FAILED):
            out.append((spec, res))
    return out
