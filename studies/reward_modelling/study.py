"""Reward-modelling study: weak-to-strong on pairwise preferences, beside the same tasks' classification PGR.

    python studies/reward_modelling/study.py run  [--root DIR]     # resumable; reuses the method zoo's cache
    python studies/reward_modelling/study.py page [--root DIR] [--out studies/reward_modelling]

Grid: `reward_modelling.yaml` in this folder (minilm -> mpnet, frozen features, Bradley-Terry reward models:
a linear reward on the features of prompt + response, P(a > b) = sigmoid(r_a - r_b), both orders of every test
pair scored). It runs in `<root>/frozen`, the workdir of the method-zoo study, with the same split sizes and max
lengths, so the classification rows of the counterpart tasks (sciq, cosmos_qa, ethics_utilitarianism) come from
that study (its grids in studies/method_zoo/) and the derived pairwise tasks reuse its cached features where the
texts are the same.

Every aggregate on the page is over ALL seeds of a cell (`w2sg.report.summary.summarize`: the pooled PGR of the
seed means with its hierarchical bootstrap CI, printed only when the mean gap's CI excludes 0); across tasks, the
tasks admitted are those whose mean gap over all seeds is resolved (`w2sg.metrics.across_tasks`), and method
differences are seed-paired (`w2sg.report.compare.compare_records`). No PGR is averaged over seeds or tasks chosen
by their own gap.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from pathlib import Path

from w2sg.result import as_result, as_results
from w2sg.study import (
    append_timing,
    full_budget,
    load_grid,
    load_records,
    lock_variant,
    method_order,
    plain_weak,
    read_timings,
    run_by_task,
    unit_task,
)

HERE = Path(__file__).resolve().parent
STUDIES = HERE.parent  # grids are named relative to it: the counterparts' cells are the method zoo's

WORKDIR = "frozen"
FINETUNE_WORKDIR = "finetune_rm"
# pairwise task -> its classification counterpart in the method-zoo study (None: no counterpart)
COUNTERPART = {"hh_rlhf": None, "sciq_pairs": "sciq", "cosmos_qa_pairs": "cosmos_qa",
               "ethics_utilitarianism_pairs": "ethics_utilitarianism"}
METHODS = ("naive", "naive_hard", "confidence", "early_stop", "filter_confident")
BASELINE = "naive"
WEAK = "minilm"  # the plain weak model: its rows give each task's weak, ceiling and gap
GENERATIVE = "generative_finetune+naive"
# part -> (grid, workdir, restriction of the grid: tasks, methods, seeds; None = the grid's own)
PARTS = {
    # Bradley-Terry reward models, frozen features
    "frozen": [("reward_modelling/reward_modelling.yaml", WORKDIR, None),
               ("reward_modelling/reward_modelling_long.yaml", WORKDIR, None)],
    # the counterparts' classification cells of the method-zoo grids (same splits: the zoo's rows are reused)
    "counterparts": [("method_zoo/frozen.yaml", WORKDIR, {"tasks": ["sciq", "ethics_utilitarianism"],
                                                          "methods": METHODS}),
                     ("method_zoo/frozen_long.yaml", WORKDIR, {"tasks": ["cosmos_qa"], "methods": METHODS})],
    # generative finetuning of the strong model before naive W2S training, as reward model and as classifier
    "generative": [("reward_modelling/reward_modelling_generative.yaml", WORKDIR, None),
                   ("method_zoo/frozen_generative.yaml", WORKDIR, {"tasks": ["sciq"], "seeds": [0, 1, 2]})],
    # full finetuning on the small rungs (slow on CPU)
    "finetune": [("reward_modelling/reward_modelling_finetune.yaml", FINETUNE_WORKDIR, None)],
}
CMD = "python studies/reward_modelling/study.py"
TIMINGS = "reward_modelling_timings.json"  # under the study root: wall time per part

# The page before issue 22 (`git show 723b496:studies/results/reward_modelling.md`): PGR means over the seeds whose
# own gap CI excluded 0 ("stable"), with (stable seeds, seeds) and t-intervals over those seeds; the student's l2
# was the ceiling's (chosen by CV on B's ground truth).
OLD_COMMIT = "723b496"
# (task, method) -> (mean PGR over stable seeds, CI low, CI high, stable seeds, seeds); None: no stable seed
OLD_PAIRWISE = {
    **{("sciq_pairs", m): v for m, v in {
        "naive": (0.56, 0.27, 0.84, 3, 3), "naive_hard": (0.44, 0.28, 0.59, 3, 3),
        "confidence": (0.73, 0.49, 0.98, 3, 3), "early_stop": (0.74, -0.12, 1.60, 3, 3),
        "filter_confident": (0.95, 0.20, 1.70, 3, 3)}.items()},
    **{("ethics_utilitarianism_pairs", m): (v, None, None, 1, 3) for m, v in {
        "naive": 0.54, "naive_hard": 0.30, "confidence": 0.38, "early_stop": 0.42, "filter_confident": 0.60}.items()},
    **{(t, m): (None, None, None, 0, 3) for t in ("hh_rlhf", "cosmos_qa_pairs") for m in METHODS},
}
# task -> (weak, ceiling, mean gap, seeds with a clear gap, seeds)
OLD_GAPS = {"sciq_pairs": (0.854, 0.922, 0.068, 3, 3), "ethics_utilitarianism_pairs": (0.682, 0.725, 0.043, 1, 3),
            "hh_rlhf": (0.553, 0.552, -0.001, 0, 3), "cosmos_qa_pairs": (0.630, 0.630, 0.000, 0, 3)}
# (classification task, method) -> (row-accuracy PGR, per-question PGR), each (mean, lo, hi) over 5 stable seeds
OLD_CLASSIFIER = {("sciq", m): v for m, v in {
    "naive": ((0.01, -0.19, 0.22), (0.62, 0.43, 0.82)), "naive_hard": ((0.03, -0.15, 0.20), (0.50, 0.15, 0.86)),
    "confidence": ((0.14, -0.08, 0.35), (0.57, 0.44, 0.70)), "early_stop": ((0.03, -0.17, 0.23), (0.62, 0.45, 0.79)),
    "filter_confident": ((-0.00, -0.11, 0.11), (0.53, 0.34, 0.72))}.items()}
OLD_STATEMENT = ("In 1 of 1 task pair(s) with a clear gap in both forms, the naive reward model recovers less of the "
                 "gap than the naive classifier judged per question (classification − reward-modelling PGR +0.07: "
                 "0.62 vs 0.56); the CIs overlap, so \"reward modelling recovers less of the gap\" is neither "
                 "supported nor refuted.")
# single-seed rows of the parts not rerun since: (part, what the old page printed)
OLD_SINGLE_SEED = {
    "finetune": "seed 0, |A| = |B| = |T| = 200: sciq_pairs naive 0.40 [-1.60, 1.29], confidence 1.20 [0.44, 3.12]; "
                "sciq naive 0.57 [0.12, 1.13] (per question 0.56 [0.10, 1.00]), confidence -0.97 [-2.75, -0.34]; "
                "hh_rlhf with its weak model at the majority baseline (naive 0.41, confidence 1.57, both unbounded "
                "CIs, gap not resolved)",
    "generative": "seed 1 only: sciq_pairs naive 0.46 vs generative 0.38 (−0.08); sciq classifier naive −0.94 vs "
                  "generative −0.25 (+0.69)",
}


# ---- running ------------------------------------------------------------------------------------------
def run(root: Path, data_dir: str | None, parts: list[str]) -> None:
    from w2sg.config import MethodSpec

    for part in parts:
        t0 = time.perf_counter()
        for grid, workdir, only in PARTS[part]:
            sweep = load_grid(STUDIES / grid, STUDIES)
            if only:
                update = dict(only)
                if "methods" in update:  # keep the grid's method specs (options included) of the named methods
                    update["methods"] = [m for m in sweep.methods
                                         if isinstance(m, MethodSpec) and m.label in only["methods"]]
                sweep = sweep.model_copy(update=update)
            run_by_task(sweep, root / workdir, data_dir, part, base_dir=STUDIES)
        append_timing(root / TIMINGS, {"part": part, "seconds": round(time.perf_counter() - t0, 1),
                                       "at": time.strftime("%F %T")})


# ---- rows ---------------------------------------------------------------------------------------------
def study_rows(records: list[dict]) -> tuple[list[dict], list[dict]]:
    """(pairwise rows, classification rows of the counterparts): plain minilm -> mpnet, the study's methods, the
    default (converged) budget."""
    keep = [r for r, res in zip(records, as_results(records), strict=True)
            if res.strong == "mpnet" and not lock_variant(res) and plain_weak(res, WEAK) and res.method in METHODS
            and full_budget(res)]  # the budget study's naive rows are another axis
    pairwise = [r for r in keep if as_result(r).task in COUNTERPART]
    cls = [r for r in keep if as_result(r).task in {c for c in COUNTERPART.values() if c}]
    return pairwise, cls


def cells(rows: list[dict]) -> dict[tuple[str, str], dict]:
    """(task, method) -> its summarize() row over all seeds (one grid per task: the tasks' variants differ only
    between the grids' tasks)."""
    from w2sg.report.summary import summarize

    out: dict[tuple[str, str], dict] = {}
    for row in summarize(rows):
        key = (row["task"], row["method"])
        if key in out:
            raise ValueError(f"{key}: rows of two grids (variants {out[key]['variant']!r} and {row['variant']!r}); "
                             "the page expects one grid per task")
        out[key] = row
    return out


# ---- formatting ---------------------------------------------------------------------------------------
def _f(x, d: int = 2) -> str:
    return "–" if x is None or x != x else f"{x:.{d}f}"


def _ci(v, lo, hi, d: int = 2, sign: bool = False) -> str:
    """'v [lo, hi]'; a missing CI end is unbounded (-inf / +inf)."""
    if v is None or v != v:
        return "–"

    def num(x):
        return f"{x:+.{d}f}" if sign else f"{x:.{d}f}"

    lo_s = "-inf" if lo is None else "n/a" if lo != lo else num(lo)
    hi_s = "+inf" if hi is None else "n/a" if hi != hi else num(hi)
    return f"{num(v)} [{lo_s}, {hi_s}]"


def gap_cell(row: dict, metric: str = "acc") -> str:
    return _ci(row.get(f"gap_{metric}_pooled"), row.get(f"gap_{metric}_pooled_ci_low"),
               row.get(f"gap_{metric}_pooled_ci_high"), 3)


def pooled_cell(row: dict | None, metric: str = "acc") -> str:
    """fmt_pooled of a summarize() row; '–' when the cell was not run."""
    from w2sg.report.summary import fmt_pooled

    return "– (not run)" if row is None else fmt_pooled(row, metric)


def seed_mean_cell(row: dict, metric: str = "acc") -> str:
    """The mean of the per-seed PGRs where defined, with how many seeds have none; flagged when the mean gap over
    all seeds is not resolved (then it is no number to quote)."""
    v, n_undef = row.get(f"pgr_{metric}_seed_mean"), row.get(f"pgr_{metric}_n_undefined", 0)
    flag = "" if row.get(f"pgr_{metric}_resolved") else " ⚠ gap not resolved"
    return f"{_f(v)} ({n_undef}/{row['n_seeds']} undefined){flag}"


def resolved(row: dict | None, metric: str = "acc") -> bool:
    return bool(row and row.get(f"pgr_{metric}_resolved"))


def _ci_of(row: dict, metric: str) -> tuple[float | None, float | None, float | None]:
    return row.get(f"pgr_{metric}_pooled"), row.get(f"pgr_{metric}_pooled_ci_low"), \
        row.get(f"pgr_{metric}_pooled_ci_high")


# ---- sections -----------------------------------------------------------------------------------------
def pairwise_table(pw: dict[tuple[str, str], dict]) -> list[str]:
    """Per pairwise task and method: seed means of weak, ceiling and student, the mean gap with its CI, the pooled
    PGR (accuracy and AUROC), and the mean of the per-seed PGRs with the count undefined."""
    lines = ["| task | method | seeds | weak | ceiling | student | mean gap [95% CI] | PGR pooled [95% CI] | "
             "PGR AUROC pooled [95% CI] | mean of per-seed PGRs (undefined) |", "|---" * 10 + "|"]
    for (task, method), row in sorted(pw.items(), key=lambda kv: (kv[0][0], method_order(kv[0][1]))):
        lines.append(f"| {task} | {method} | {row['n_seeds']} | {_f(row['weak_acc_mean'], 3)} | "
                     f"{_f(row['ceiling_acc_mean'], 3)} | {_f(row['student_acc_mean'], 3)} | {gap_cell(row)} | "
                     f"{pooled_cell(row)} | {pooled_cell(row, 'auroc')} | {seed_mean_cell(row)} |")
    return lines


def across_table(pairwise: list[dict]) -> tuple[list[str], list[str], dict[str, str]]:
    """Per method: the median over the admitted tasks of the pooled PGR with its three-level CI (tasks, seeds, test
    groups); the admitted tasks and the left-out ones with why."""
    from w2sg.report.compare import across_task_records

    lines = ["| method | median pooled PGR over admitted tasks [95% CI] | tasks admitted |", "|---|---|---|"]
    admitted, left = [], {}
    for m in METHODS:
        if not any(as_result(r).method == m for r in pairwise):
            continue
        a = across_task_records(pairwise, m)
        admitted, left = [unit_task(t) for t in a.tasks], {unit_task(t): why for t, why in a.left_out.items()}
        lines.append(f"| {m} | {_ci(a.value, a.ci_low, a.ci_high) if a.value is not None else 'no task admitted'} | "
                     f"{len(a.tasks)}: {', '.join(admitted) or 'none'} |")
    return lines, admitted, left


def compare_table(rows: list[dict], methods: list[str], baseline: str = BASELINE,
                  label: Callable[[str], str] = lambda m: m) -> list[str]:
    """Each method against `baseline`, paired by seed, per task and overall: student accuracy difference and PGR
    difference (gap-resolved tasks only) with their CIs (seeds, then test groups; tasks on top overall) and the
    verdict."""
    from w2sg.report.compare import compare_records

    lines = ["| method − " + baseline + " | task | seeds | Δ student acc [95% CI] | Δ PGR [95% CI] | verdict |",
             "|---|---|---|---|---|---|"]
    notes: list[str] = []
    for m in methods:
        comp, why = compare_records(rows, m, baseline)
        notes += why
        for t in comp.tasks:
            dp = _ci(t.diff_pgr, *t.diff_pgr_ci, sign=True) if t.gap_resolved else "gap not resolved"
            verdict = t.verdict.replace("A better", f"{m} better").replace("B better", f"{baseline} better")
            lines.append(f"| {label(m)} | {unit_task(t.task)} | {t.n_seeds} | "
                         f"{_ci(t.diff_student, *t.diff_student_ci, 3, True)} | {dp} | {verdict} |")
        if len(comp.tasks) > 1:
            p = "" if comp.wilcoxon_p is None else f"; Wilcoxon p {comp.wilcoxon_p:.2f}"
            lines.append(f"| {label(m)} | **over tasks** (Δ PGR over {len(comp.admitted)} admitted{p}) | – | "
                         f"{_ci(comp.diff_student_mean, *comp.diff_student_ci, 3, True)} | "
                         f"{_ci(comp.diff_pgr_mean, *comp.diff_pgr_ci, sign=True)} | {comp.verdict} |")
    return lines + ([""] + [f"- {n}" for n in notes] if notes else [])


def side_by_side(pw: dict, cl: dict) -> list[str]:
    """Per task pair and method: the pooled PGR as reward model vs as classifier (row accuracy and per question)."""
    lines = ["| pairwise task | classification task | method | PGR, reward model [95% CI] | PGR, classifier: row "
             "accuracy [95% CI] | PGR, classifier: per-question accuracy [95% CI, seeds only] |",
             "|---|---|---|---|---|---|"]
    for task, counterpart in COUNTERPART.items():
        for m in METHODS:
            a, b = pw.get((task, m)), cl.get((counterpart, m)) if counterpart else None
            if a is None and b is None:
                continue
            if counterpart is None:
                q = "–"
            elif b is None:
                q = "– (not run)"
            else:
                q = pooled_cell(b, "q_acc") if b.get("gap_q_acc_pooled") is not None else "– (no per-question acc)"
            lines.append(f"| {task} | {counterpart or '–'} | {m} | {pooled_cell(a)} | "
                         f"{pooled_cell(b) if counterpart else '–'} | {q} |")
    return lines


def rm_vs_classifier(pw: dict, cl: dict, method: str = BASELINE) -> list[tuple[str, str, str, float]]:
    """For each task pair where both forms have a resolved mean gap (the classifier judged per question where it
    has that, else by row): (task, text, reading, classifier PGR), reading 'lower' / 'higher' / 'overlap' from the
    two CIs."""
    out = []
    for task, counterpart in COUNTERPART.items():
        a, b = pw.get((task, method)), cl.get((counterpart, method)) if counterpart else None
        if b is None or not resolved(a):
            continue
        metric = "q_acc" if b.get("gap_q_acc_pooled") is not None else "acc"
        if not resolved(b, metric):
            continue
        (va, la, ha), (vb, lb, hb) = _ci_of(a, "acc"), _ci_of(b, metric)
        if ha is not None and lb is not None and ha < lb:
            reading = "lower"
        elif la is not None and hb is not None and la > hb:
            reading = "higher"
        else:
            reading = "overlap"
        out.append((task, f"{task}: reward model {_ci(va, la, ha)} vs classifier "
                    f"{'per question ' if metric == 'q_acc' else ''}{_ci(vb, lb, hb)}", reading, vb))
    return out


def what_changed(pw: dict, cl: dict, comparisons: list[tuple], finetune: bool, generative: bool,
                 l2_notes: dict[str, str] | None = None) -> list[str]:
    """Each number and conclusion of the page before issue 22 (commit OLD_COMMIT) against this page's; `l2_notes`:
    task -> the students' and ceilings' l2 (`l2_notes`)."""
    l2_notes = l2_notes or {}
    def old_cell(v):
        mean, lo, hi, k, n = v
        if mean is None:
            return f"– ({k}/{n} seeds)"
        return (f"{mean:.2f}" + (f" [{lo:.2f}, {hi:.2f}]" if lo is not None else "") + f" ({k}/{n} seeds)")

    def status(old, row):
        mean, lo, hi, k, n = old
        if row is None:
            return "not rerun"
        new, nlo, nhi = _ci_of(row, "acc")
        if not resolved(row):
            return ("lost support: the mean gap over all seeds is not resolved" + (
                f" (the old number averaged the {k} of {n} seeds selected by their own gap)" if k < n else "")
                    if mean is not None else "still no resolved gap")
        if mean is None:
            return "new: the mean gap over all seeds is resolved"
        moved = f"; point estimate {new - mean:+.2f}"
        if (mean > 0) != (new > 0):
            return "flipped sign" + moved
        if lo is not None and lo > 0 and (nlo is None or nlo <= 0):
            return "lost support: its CI now reaches 0" + moved
        if (lo is None or lo <= 0) and nlo is not None and nlo > 0:
            return "gained support: its CI now excludes 0" + moved
        return "same reading (CI on the same side of 0)" + moved

    lines = ["## What changed (issue 22)", "",
             f"The page before issue 22 (`git show {OLD_COMMIT}:studies/results/reward_modelling.md`) averaged each "
             "cell's PGR over the seeds whose own gap CI excluded 0 (\"stable\" seeds, t-intervals over them), i.e. "
             "it selected seeds on PGR's denominator, and its students took the ceiling's l2 (chosen by CV on B's "
             "ground truth). This page: the pooled PGR of the means over all seeds with a CI over seeds then test "
             "groups, printed only where the mean gap is resolved, and the student's l2 by CV on B's weak labels "
             "(`student_l2_source`), so every student number differs from the old run as well.", "",
             "| task | method | old PGR (stable seeds only) | new pooled PGR (all seeds) | what happened |",
             "|---|---|---|---|---|"]
    for (task, m), old in sorted(OLD_PAIRWISE.items(), key=lambda kv: (kv[0][0], method_order(kv[0][1]))):
        row = pw.get((task, m))
        lines.append(f"| {task} | {m} | {old_cell(old)} | {pooled_cell(row)} | {status(old, row)} |")
    full = sorted({t for (t, _), v in OLD_PAIRWISE.items()
                   if v[3] == v[4] and v[0] is not None and (t, BASELINE) in pw})
    for task in full:
        row = pw[(task, BASELINE)]
        lines += ["", f"{task}: the old page kept all {OLD_PAIRWISE[(task, BASELINE)][4]} seeds too, so its moves are "
                  "not the aggregation's (naive's mean of per-seed PGRs is "
                  f"{_f(row.get('pgr_acc_seed_mean'))} beside the pooled {_f(row.get('pgr_acc_pooled'))}), and weak "
                  "and ceiling are unchanged: they come from the student's side, its l2 (which also sets its step and "
                  "early-stop budgets)" + (f": {l2_notes[task]}" if task in l2_notes else "") + "."]
    lines += ["", "Gaps (pairwise accuracy), old (mean over seeds; seeds with a clear gap) vs new (mean over all "
              "seeds with its hierarchical CI):", ""]
    for task, (w, c, g, k, n) in OLD_GAPS.items():
        row = pw.get((task, BASELINE))
        new = ("not rerun" if row is None else f"weak {_f(row['weak_acc_mean'], 3)}, ceiling "
               f"{_f(row['ceiling_acc_mean'], 3)}, gap {gap_cell(row)} "
               f"({'resolved' if resolved(row) else 'not resolved'})")
        lines.append(f"- {task}: old weak {w:.3f}, ceiling {c:.3f}, gap {g:.3f} ({k}/{n} seeds clear) → new {new}.")
    lines += ["", "Classifier counterparts (method-zoo rows, 5 seeds), old PGR over stable seeds (row accuracy; per "
              "question) vs new pooled over all seeds:", ""]
    for (task, m), (acc, q) in OLD_CLASSIFIER.items():
        row = cl.get((task, m))
        if row is None:
            new = "not in this store yet"
        else:
            new = f"{pooled_cell(row)}; " + (pooled_cell(row, "q_acc") if row.get("gap_q_acc_pooled") is not None
                                             else "no per-question accuracy in this store")
        lines.append(f"- {task} {m}: old {acc[0]:.2f} [{acc[1]:.2f}, {acc[2]:.2f}]; {q[0]:.2f} [{q[1]:.2f}, "
                     f"{q[2]:.2f}] → new {new}.")
    naive = [c for c in comparisons if c[0] == "sciq_pairs"]
    if naive:
        rm_v, cl_v = pw[("sciq_pairs", BASELINE)]["pgr_acc_pooled"], naive[0][3]
        point = (f" The point estimates moved: classification − reward-modelling PGR was +0.07 (0.62 vs 0.56), now "
                 f"{cl_v - rm_v:+.2f} ({cl_v:.2f} vs {rm_v:.2f})"
                 + (", so the direction the old sentence described (the reward model recovering less) has flipped "
                    "in the point estimates, though neither direction is resolved." if cl_v < rm_v else "."))
        now = (f"{naive[0][1]}: the CIs " + {"overlap": "overlap, so the old reading (neither supported nor refuted) "
                                             "stands.", "lower": "do not overlap: the reward model recovers less "
                                             "(the old reading changed).", "higher": "do not overlap: the reward "
                                             "model recovers more (the old reading flipped)."}[naive[0][2]] + point)
    else:
        now = ("not testable: a form has no resolved mean gap or the classifier rows are not in this store, so the "
               "old statement has lost its support.")
    lines += ["", f"Conclusion \"reward model vs classifier\": old — {OLD_STATEMENT} New — {now}"]
    for part, old in OLD_SINGLE_SEED.items():
        if finetune if part == "finetune" else generative:
            lines += ["", f"{part.capitalize()} part: rerun only as far as its section above shows (the rest: "
                      f"`{CMD} run --part {part}`); the old page printed {old}, with the ceiling's l2 for its "
                      "students."]
        else:
            lines += ["", f"{part.capitalize()} part: not rerun since issue 22 (`{CMD} "
                      f"run --part {part}`); the old page printed {old}. Those students used the ceiling's l2 (an "
                      "oracle choice) and single seeds, so they support no conclusion here."]
    return lines + [""]


def l2_notes(pairwise: list[dict]) -> dict[str, str]:
    """Per task: the student's l2 (and where it came from) beside the ceiling's, which the old students used."""
    out = {}
    results = as_results(pairwise)
    for task in sorted({r.task for r in results}):
        kept = [(rec, r) for rec, r in zip(pairwise, results, strict=True)
                if r.task == task and r.training.step("student").l2 is not None]
        rows = [r for _, r in kept]
        if not rows:
            continue
        src = sorted({str(rec.get("student_l2_source")) for rec, _ in kept})  # no typed accessor
        stud = sorted({float(r.training.step("student").l2) for r in rows})
        ceil = sorted({float(r.training.step("ceiling").l2) for r in rows if r.training.step("ceiling").l2 is not None})
        out[task] = (f"now {'/'.join(src)}: {', '.join(f'{x:.3g}' for x in stud)}; the ceiling's, which the old "
                     f"students took: {', '.join(f'{x:.3g}' for x in ceil)}")
    return out


def generative_rows(records: list[dict]) -> list[dict]:
    return [r for r in records if plain_weak(r, WEAK) and as_result(r).method == GENERATIVE]


def generative_section(records: list[dict]) -> list[str]:
    """Per task: naive vs generative_finetune+naive on the same seeds (same weak model, ceiling and splits): seed
    means, the pooled PGR of each, and their seed-paired difference (`compare_records`)."""
    from w2sg.report.compare import compare_records
    from w2sg.report.summary import summarize

    gen = generative_rows(records)
    if not gen:
        return []

    def same(r):  # the generative row's naive partner: same task, seed, splits and training settings
        res = as_result(r)
        spec = res.spec or {}
        return res.task, res.seed, repr(spec.get("splits")), repr(spec.get("train"))

    naive = {same(r): r for r in records if plain_weak(r, WEAK) and as_result(r).method == BASELINE and full_budget(r)}
    lines = ["## Generative finetuning before W2S training (frozen features)", "",
             "MPNet adapted with its masked-LM objective (1 epoch, lr 5e-5) on the unlabelled student-side texts (B "
             "and V: prompts + responses, or question + answer rows), then a linear head trained naively on the weak "
             "labels; the ceiling stays the unadapted model (Burns et al. sec. 5.2.2 adapted theirs too). Paired "
             "with the plain naive student of the same seed and splits; PGRs pooled over the paired seeds only (so "
             "the naive column can differ from the table above). Note: the mpnet checkpoint in the model cache has "
             "no masked-LM head (transformers' load report lists every `lm_head.*` weight as newly initialised), so "
             "the adaptation trains a random LM head along with the encoder.", "",
             "| task | kind | seeds | weak | ceiling | naive student | generative student | PGR naive [95% CI] | "
             "PGR generative [95% CI] | generative − naive: Δ student acc [95% CI] | Δ PGR [95% CI] | verdict |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for task in sorted({as_result(r).task for r in gen}):
        pairs = [(naive[same(r)], r) for r in gen if as_result(r).task == task and same(r) in naive]
        if not pairs:
            continue
        rows = [dict(r, method=BASELINE if r is a else GENERATIVE, variant="") for a, g in pairs for r in (a, g)]
        s = {row["method"]: row for row in summarize(rows)}
        comp, _ = compare_records(rows, GENERATIVE, BASELINE)
        t = comp.tasks[0]
        dp = _ci(t.diff_pgr, *t.diff_pgr_ci, sign=True) if t.gap_resolved else "gap not resolved"
        kind = "reward model" if task in COUNTERPART else "classifier"
        verdict = t.verdict.replace(GENERATIVE, "generative")
        lines.append(f"| {task} | {kind} | {len(pairs)} | {_f(s[GENERATIVE]['weak_acc_mean'], 3)} | "
                     f"{_f(s[GENERATIVE]['ceiling_acc_mean'], 3)} | {_f(s[BASELINE]['student_acc_mean'], 3)} | "
                     f"{_f(s[GENERATIVE]['student_acc_mean'], 3)} | {pooled_cell(s[BASELINE])} | "
                     f"{pooled_cell(s[GENERATIVE])} | {_ci(t.diff_student, *t.diff_student_ci, 3, True)} | {dp} | "
                     f"{verdict} |")
    return lines + [""]


def finetune_section(root: Path) -> list[str]:
    """Per seed: the finetuned reward model and the finetuned classifier on the same texts, each experiment's PGR
    with its bootstrap CI over test groups (one seed: no aggregate over seeds)."""
    from w2sg.report.summary import fmt_pgr

    records = [r for r in load_records(root, FINETUNE_WORKDIR) if plain_weak(r, WEAK)]
    if not records:
        return []
    lines = ["## Finetuned (full finetuning on CPU, small sizes)", "",
             "minilm → mpnet, full finetuning (4 epochs at lr 1e-4, batch 16, max length 128), |A| = |B| = |T| = 200 "
             "rows or pairs, |V| = 50. One row per experiment; PGR with its bootstrap 95% CI over test groups "
             "(per-question for the classifier where defined), flagged unstable when the experiment's gap CI "
             "reaches 0.", "",
             "| task | method | seed | weak | ceiling | student | PGR [95% CI] | PGR per question [95% CI] |",
             "|---|---|---|---|---|---|---|---|"]
    flat = set()
    for r in sorted(records, key=lambda r: (as_result(r).task, method_order(as_result(r).method), as_result(r).seed)):
        res = as_result(r)
        q = fmt_pgr(r, "q_acc") if res.score("weak", "q_acc") is not None else "–"
        at_majority = res.score("weak") <= (res.evaluation.majority_acc or 0.5) + 0.01
        if at_majority:
            flat.add(res.task)
        lines.append(f"| {res.task} | {res.method} | {res.seed} | {res.score('weak'):.3f}"
                     f"{' ⚠ majority' if at_majority else ''} | {res.score('ceiling'):.3f} | "
                     f"{res.score('student'):.3f} | {fmt_pgr(r)} | {q} |")
    if flat:
        lines += ["", f"⚠ {', '.join(sorted(flat))}: the finetuned weak model sits at the majority (chance) "
                  "baseline (it learned nothing on 200 rows), so these rows are not a weak-to-strong result."]
    return lines + [""]


def statement(pw: dict, admitted: list[str], left: dict[str, str], comparisons: list[tuple]) -> str:
    parts = [f"Rule, fixed before any PGR is read: a task enters the cross-task statistics when its mean gap "
             f"(ceiling − weak) over all seeds has a 95% CI above 0. Admitted: {', '.join(admitted) or 'none'}."]
    if left:
        parts.append("No resolved weak→strong gap as reward models (so no PGR to quote): "
                     + "; ".join(f"{t}: {why}" for t, why in sorted(left.items())) + ".")
        hh = pw.get(("hh_rlhf", BASELINE))
        if "hh_rlhf" in left and hh is not None:
            parts.append(f"For hh_rlhf (weak {_f(hh['weak_acc_mean'], 3)}, ceiling {_f(hh['ceiling_acc_mean'], 3)}) "
                         "the reward-modelling result of Burns et al. is not reproduced at this scale: there is no "
                         "gap to recover.")
    if not comparisons:
        parts.append("No task pair has a resolved mean gap in both forms (or the classification rows are not in this "
                     "store), so whether reward modelling recovers less of the gap than classification cannot be "
                     "tested here.")
    else:
        lower = [c for c in comparisons if c[2] == "lower"]
        parts.append("Naive reward model vs naive classifier on the same texts, pooled PGRs: "
                     + "; ".join(c[1] for c in comparisons) + ". "
                     + (f"The reward model recovers less of the gap on {', '.join(c[0] for c in lower)} (the CIs do "
                        "not overlap). " if lower else "")
                     + ("Elsewhere the CIs overlap, so " if lower else "The CIs overlap, so ")
                     + "\"reward modelling recovers less of the gap\" (Burns et al.: ~10-20% naive vs ~50% for NLP "
                       "classification) is neither supported nor refuted there — one frozen-feature model pair, 3 "
                       "seeds (overlapping CIs do not show that the two are equal).")
    return " ".join(parts)


def _timing_line(root: Path) -> list[str]:
    path = root / TIMINGS
    if not path.exists():
        return []
    spent: dict[str, float] = {}
    for e in read_timings(path):
        spent[e["part"]] = spent.get(e["part"], 0.0) + e["seconds"]
    return ["Wall time of `run` (2-core CPU shared with other jobs): "
            + ", ".join(f"{p} {s / 60:.0f} min" for p, s in spent.items()) + ".", ""]


def page(root: Path, out: Path) -> Path:
    records = load_records(root, WORKDIR)
    pairwise, cls = study_rows(records)
    if not pairwise:
        raise SystemExit(f"no reward-modelling rows under {root / WORKDIR}; run `reward_modelling/study.py run` first")
    pw, cl = cells(pairwise), cells(cls)
    seeds = sorted({r.seed for r in as_results(pairwise)})
    finetune = finetune_section(root)
    gen = generative_section(records)
    levels = sorted({row.get("pgr_acc_ci_levels") for row in pw.values()} - {None})
    lines = ["# Reward modelling: weak-to-strong on pairwise preferences", "",
             f"Generated by `{CMD} page --root w2sg-study` from the study store (`run` "
             "first). Weak supervisor: MiniLM-L6 (22M) reward model trained on A's ground-truth preferences; strong: "
             "MPNet-base (110M); frozen features, linear Bradley–Terry reward heads (P(a ≻ b) = σ(r_a − r_b), no "
             "bias, solved to convergence by L-BFGS; weak and ceiling l2 by group-aware CV on their own ground "
             "truth, the student's by CV on B's weak labels), both orders of every test pair scored. Metric: "
             "pairwise accuracy (class-balanced over the two orientations). "
             f"Seeds {seeds}; sizes |A| = |B| = |T| = 500 pairs, |V| = 100.", "",
             *_timing_line(root),
             "**How to read the numbers.** Every PGR is the pooled PGR of a cell's seed means over all its seeds, "
             "(mean student − mean weak) / (mean ceiling − mean weak), with a 95% bootstrap CI that resamples seeds, "
             f"then whole test groups (a prompt's pairs) inside each seed (levels: {', '.join(levels) or '–'}). It "
             "is printed only when the mean gap's CI excludes 0; otherwise the cell reads \"gap not resolved\" with "
             "the gap and its CI. Beside it, the mean of the per-seed PGRs where defined, with how many seeds have "
             "none. No seed and no task is left out by its own gap. Weak labels are soft P(a ≻ b), so naive and "
             "naive_hard differ here and filter_confident has no ties.", "",
             "Scope: frozen features for every task"
             + ("; full finetuning on the smallest pair (below)." if finetune else
                f". Finetuned reward models (`{CMD} run --part finetune`) are not in this "
                "store.")
             + (" Generative finetuning before W2S training: below." if gen else
                " Generative finetuning before W2S training (`run --part generative`) is not in this store."), "",
             "## Pairwise tasks: gap and pooled PGR per method", ""]
    lines += pairwise_table(pw) + [""]
    across, admitted, left = across_table(pairwise)
    lines += ["## Across tasks", "",
              "Tasks admitted by the rule stated before reading any PGR: the mean gap (ceiling − weak) over all seeds "
              "has a 95% CI above 0. The CI of the median resamples tasks, then seeds, then test groups.", ""]
    lines += across + [""]
    if left:
        lines += ["Left out: " + "; ".join(f"{t} ({why})" for t, why in sorted(left.items())) + ".", ""]
    lines += ["## Methods against naive (seed-paired)", "",
              "Per task, method − naive on the same seeds (same splits, weak model and ceiling): the difference of "
              "the mean student accuracies and of the pooled PGRs (on gap-resolved tasks), CIs over seeds then test "
              "groups with the same draws for both methods; the verdict reads the student-accuracy CI per task and "
              "the PGR-difference CI over admitted tasks overall.", ""]
    lines += compare_table(pairwise, [m for m in METHODS if m != BASELINE
                                      and any(as_result(r).method == m for r in pairwise)]) + [""]
    lines += ["## The same texts as reward modelling and as classification", "",
              "Classification rows come from the method-zoo study (same split sizes, same models, 5 seeds, the "
              "converged budget, same store). A classifier judges each (question, answer) row alone; its "
              "per-question accuracy (the highest-scoring candidate is its answer) is the judgement a preference "
              "asks for, so the comparison uses it where the task has one (its pooled CI resamples seeds only: "
              "per-question accuracy keeps no test outcomes).", ""]
    lines += side_by_side(pw, cl) + [""]
    missing = sorted({c for t, c in COUNTERPART.items() if c and not any(k[0] == c for k in cl)})
    if missing:
        lines += [f"Not in this store: the classification rows of {', '.join(missing)} (`{CMD} run --part "
                  "counterparts`, or the method-zoo run, computes them).", ""]
    comparisons = rm_vs_classifier(pw, cl)
    lines += finetune + gen
    lines += ["## Statement", "", statement(pw, admitted, left, comparisons), ""]
    lines += what_changed(pw, cl, comparisons, bool(finetune), bool(gen), l2_notes(pairwise))
    out.mkdir(parents=True, exist_ok=True)
    path = out / "README.md"
    path.write_text("\n".join(lines))
    return path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("command", choices=["run", "page"])
    ap.add_argument("--root", type=Path, default=Path("w2sg-study"))
    ap.add_argument("--out", type=Path, default=HERE)
    ap.add_argument("--data-dir", default=None)
    ap.add_argument("--part", action="append", choices=list(PARTS),
                    help="what `run` computes (repeatable; default: frozen, counterparts, generative; "
                    "finetune is slow on CPU)")
    args = ap.parse_args()
    if args.command == "run":
        run(args.root, args.data_dir, args.part or ["frozen", "counterparts", "generative"])
    else:
        print(page(args.root, args.out))


if __name__ == "__main__":
    main()
