"""Testbed study: systematic (rule) vs random supervisor errors at matched accuracy, supervisor quality set
relative to the task, the deception score, and locked (password-locked / deceptive) strong students beside an
unlocked control, on tasks with a minilm -> mpnet gap.

    python studies/testbeds/study.py run  [--root DIR] [--data-dir D] [--part matched|locked|quality] [--task T]
                                    [--method M]   # resumable; --task / --method: a subset of the grids
    python studies/testbeds/study.py page [--root DIR] [--out studies/testbeds]

Grids: testbeds_matched.yaml (a rule supervisor, wrong on every row of an MPNet-cluster ball, and a random one
with the same number of wrong labels, both at the midpoint between minilm and the ceiling), testbeds_quality.yaml
(the same two at 10/20/30% wrong labels), testbeds_locked.yaml (password / deceptive locks and the unlocked
control). All run in `<root>/frozen`, the method-zoo study's workdir and splits, so features, weak models,
ceilings and the plain-minilm rows are shared. Every PGR on the page is the pooled PGR over ALL seeds of a cell
(`w2sg.report.summary.summarize`); seed-paired differences use every seed with both rows (t-interval).
"""

from __future__ import annotations

import argparse
from collections import defaultdict
from pathlib import Path

import numpy as np

from w2sg.metrics.across_tasks import mean_ci
from w2sg.result import as_result, as_results
from w2sg.study import full_budget, load_grid, load_records, lock_variant, plain_weak, run_by_task, weak_spec

HERE = Path(__file__).resolve().parent
STUDIES = HERE.parent  # the studies run from here: YAML tasks are keyed relative to it

WORKDIR = "frozen"
PARTS = {"matched": "testbeds_matched.yaml", "locked": "testbeds_locked.yaml", "quality": "testbeds_quality.yaml"}
TASKS = ("sst2", "twitter_sentiment", "sciq", "wic")
FAMILIES = ("weak model", "random", "rule", "region (random flips)")


def grid(part: str):
    return load_grid(HERE / PARTS[part], STUDIES)


def run(root: Path, data_dir: str | None, parts: list[str], tasks: list[str] | None = None,
        methods: list[str] | None = None) -> None:
    """Run the grids (resumable); `tasks` / `methods` (labels) restrict them to a subset."""
    for part in parts:
        sweep = grid(part)
        if tasks:
            sweep = sweep.model_copy(update={"tasks": [t for t in sweep.tasks if t in tasks]})
        if methods:
            sweep = sweep.model_copy(update={"methods": [m for m in sweep.methods if m.label in methods]})
        run_by_task(sweep, root / WORKDIR, data_dir, f"testbeds-{part}", root / "timings.json", base_dir=STUDIES)


def supervisors() -> set[str]:
    """The labels of the synthetic supervisors the grids define (every error rate of a grid axis): the only
    synthetic rows the page reads, a rule fixed before looking at results."""
    from w2sg.config import weak_label
    from w2sg.sweep import expand

    return {weak_label(spec.weak) for part in ("matched", "quality") for spec in expand(grid(part))
            if not isinstance(spec.weak, str)}


# ---- rows ---------------------------------------------------------------------------------------------
def family(r: dict) -> str | None:
    """'weak model' (plain minilm), 'random', 'rule' (every row of a region wrong), 'region (random flips)' (the
    old design: errors drawn inside a region), 'locked <variant>'; None for rows the page does not show."""
    res = as_result(r)
    if lock_variant(res):
        return f"locked {lock_variant(res)}"
    sup = weak_spec(res)
    if res.supervisor_kind == "synthetic" and isinstance(sup, dict):
        if sup.get("errors", "random") == "random":
            return "random"
        if sup.get("errors") == "region":
            return "rule" if sup.get("region_flip") == "all" else "region (random flips)"
        return None
    return "weak model" if plain_weak(res, "minilm") else None


def quality(r: dict) -> str:
    """A synthetic supervisor's error rate as given: 'midpoint' or the number; '' otherwise."""
    sup = weak_spec(r)
    return str(sup.get("error_rate", 0.2)) if isinstance(sup, dict) and sup.get("kind") == "synthetic" else ""


def study_records(root: Path) -> list[dict]:
    """The study's rows: its tasks, mpnet students, full budget, a family the page shows (with test outcomes);
    synthetic rows only of the supervisors the grids define."""
    sups = supervisors()
    records = load_records(root, WORKDIR)
    return [r for r, res in zip(records, as_results(records), strict=True)
            if res.task in TASKS and res.strong == "mpnet" and full_budget(res)
            and family(r) is not None and (res.supervisor_kind != "synthetic" or res.weak in sups)]


def _f(x, d: int = 3) -> str:
    return "–" if x is None or not np.isfinite(x) else f"{x:.{d}f}"


def _ci(m, lo, hi, n=None, d: int = 3, sign: bool = True) -> str:
    if m is None:
        return "– (no seeds)"
    fmt = f"{{:{'+' if sign else ''}.{d}f}}"
    ci = f" [{lo:.{d}f}, {hi:.{d}f}]" if lo is not None and np.isfinite(lo) else ""
    return fmt.format(m) + ci + (f" ({n} seeds)" if n is not None else "")


def cells(rows: list[dict]) -> dict[tuple, dict]:
    """(task, family, quality, method) -> its summarize() row over all seeds, plus the seed means of the
    imitation keys (the same seeds)."""
    from w2sg.report.summary import summarize

    by: dict[tuple, list[dict]] = defaultdict(list)
    for r in rows:
        by[(r["task"], family(r), quality(r), r["method"])].append(r)
    out = {}
    for key, rs in by.items():
        row = max(summarize(rs), key=lambda x: x["n_seeds"])  # one row; a changed task's old rows never pool
        for k in ("student_err_test_region", "student_err_test_outside", "imitation_test_region",
                  "imitation_transfer_region", "deception_score", "deception_score_chance",
                  "student_err_weak_blind", "student_err_weak_sees"):
            row[k] = mean_ci([r.get(k) for r in rs])
        out[key] = row
    return out


def paired(rows: list[dict], task: str, method: str, a: tuple[str, str, str], b: tuple[str, str, str],
           q: str = "midpoint") -> tuple:
    """Seed-paired difference a − b over every seed that has both rows: a, b = (family, quality, key); quality
    'any' matches the weak model (no quality). (mean, low, high, n) with a t-interval."""
    by: dict[int, dict] = defaultdict(dict)
    for r in rows:
        if r["task"] == task and r["method"] == method:
            by[r["seed"]][(family(r), quality(r))] = r
    diffs = []
    for d in by.values():
        ra, rb = d.get((a[0], a[1])), d.get((b[0], b[1]))
        if ra is not None and rb is not None and ra.get(a[2]) is not None and rb.get(b[2]) is not None:
            diffs.append(ra[a[2]] - rb[b[2]])
    return mean_ci(diffs)


# ---- tables -------------------------------------------------------------------------------------------
def matched_table(cl: dict, q: str = "midpoint") -> list[str]:
    """Per task, supervisor and method at error rate `q`: accuracies (means over all seeds), pooled PGR, and the
    student's error on the region's rows of T (for the rule: agreement with the rule's labels there)."""
    from w2sg.report.summary import fmt_pooled

    lines = ["| task | supervisor | method | seeds | supervisor acc | ceiling acc | student acc | PGR, pooled over all "
             "seeds [95% CI] | student wrong on region rows of T | student wrong elsewhere on T | agreement with "
             "the supervisor's errors on B (region) |", "|---|---|---|---|---|---|---|---|---|---|---|"]
    order = {f: i for i, f in enumerate(FAMILIES)}
    keys = sorted((k for k in cl if k[2] in (q, "") and k[1] in order),
                  key=lambda k: (TASKS.index(k[0]), order[k[1]], k[3]))
    for task, fam, _, method in keys:
        if fam == "weak model" and not any(k[0] == task and k[1] != "weak model" and k[3] == method for k in keys):
            continue  # weak-model rows only beside a synthetic pair of the same task and method
        row = cl[(task, fam, _, method)]
        region = row["student_err_test_region"]
        lines.append(f"| {task} | {fam} | {method} | {row['n_seeds']} | {_f(row['weak_acc_mean'])} | "
                     f"{_f(row['ceiling_acc_mean'])} | {_f(row['student_acc_mean'])} | {fmt_pooled(row, 'acc')} | "
                     f"{_ci(*region[:3], sign=False) if region[3] else 'n/a'} | "
                     f"{_ci(*row['student_err_test_outside'][:3], sign=False) if region[3] else 'n/a'} | "
                     f"{_f(row['imitation_transfer_region'][0])} |")
    return lines


def comparison_rows(rows: list[dict], q: str = "midpoint") -> list[tuple[str, str, tuple, tuple, tuple]]:
    """Per task and method with both supervisors: (task, method, imitation of the rule on T − the random-error
    student's error on the same rows, student accuracy rule − random, student error outside rule − random)."""
    out = []
    for task in TASKS:
        for method in sorted({r["method"] for r in rows if r["task"] == task}):
            imit = paired(rows, task, method, ("rule", q, "imitation_test_region"),
                          ("random", q, "student_err_test_region"))
            if not imit[3]:
                continue
            acc = paired(rows, task, method, ("rule", q, "student_acc"), ("random", q, "student_acc"))
            outside = paired(rows, task, method, ("rule", q, "student_err_test_outside"),
                             ("random", q, "student_err_test_outside"))
            out.append((task, method, imit, acc, outside))
    return out


def comparison_table(comp) -> list[str]:
    lines = ["| task | method | imitation: rule − random on the region's rows of T [95% CI] (seeds) | student acc: "
             "rule − random | student error outside the region: rule − random |", "|---|---|---|---|---|"]
    for task, method, imit, acc, outside in comp:
        lines.append(f"| {task} | {method} | {_ci(*imit)} | {_ci(*acc[:3])} | {_ci(*outside[:3])} |")
    return lines


def deception_table(cl: dict) -> list[str]:
    """The real weak model's rows: Yang et al.'s deception score beside its chance level, and the student's
    error rates where minilm is wrong / right and the ceiling right (seed means, 95% t-intervals)."""
    lines = ["| task | method | seeds | deception score (Yang et al.) | chance level | student wrong where weak ✗ "
             "ceiling ✓ | student wrong where weak ✓ ceiling ✓ |", "|---|---|---|---|---|---|---|"]
    for (task, fam, _, method), row in sorted(cl.items(), key=lambda kv: (TASKS.index(kv[0][0]), kv[0][3])):
        if fam != "weak model" or method not in ("naive", "confidence"):
            continue
        lines.append(f"| {task} | {method} | {row['n_seeds']} | {_ci(*row['deception_score'][:3], sign=False)} | "
                     f"{_ci(*row['deception_score_chance'][:3], sign=False)} | "
                     f"{_ci(*row['student_err_weak_blind'][:3], sign=False)} | "
                     f"{_ci(*row['student_err_weak_sees'][:3], sign=False)} |")
    return lines


def locked_rows(rows: list[dict]) -> list[tuple]:
    """Per task, variant and method: means of the locked model and the student without / with the trigger, and
    the student's accuracy minus the unlocked control's (same method, seed and splits; t-interval)."""
    out = []
    groups: dict[tuple, list[dict]] = defaultdict(list)
    for r in rows:
        if r.get("locked"):
            groups[(r["task"], r["locked"], r["method"])].append(r)
    for (task, variant, method), rs in sorted(groups.items(), key=lambda kv: (TASKS.index(kv[0][0]), kv[0][1:])):
        mean = {k: float(np.mean([r[k] for r in rs if r.get(k) is not None] or [np.nan]))
                for k in ("weak_acc", "ceiling_acc", "locked_acc", "locked_acc_trigger", "student_acc",
                          "student_acc_trigger")}
        ctrl = {r["seed"]: r["student_acc"] for r in groups.get((task, "unlocked", method), [])}
        diff = mean_ci([r["student_acc"] - ctrl[r["seed"]] for r in rs if r["seed"] in ctrl]) \
            if variant != "unlocked" else (None, None, None, 0)
        out.append((task, variant, method, len(rs), mean, diff))
    return out


def locked_table(lr) -> list[str]:
    lines = ["| task | variant | method | seeds | weak | ceiling | locked (no trigger) | locked (trigger) | student "
             "(no trigger) | student (trigger) | student − unlocked control [95% CI] |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    for task, variant, method, n, m, diff in lr:
        lines.append(f"| {task} | {variant} | {method} | {n} | {_f(m['weak_acc'])} | {_f(m['ceiling_acc'])} | "
                     f"{_f(m['locked_acc'])} | {_f(m['locked_acc_trigger'])} | {_f(m['student_acc'])} | "
                     f"{_f(m['student_acc_trigger'])} | {_ci(*diff[:3]) if diff[3] else '–'} |")
    return lines


# ---- page ---------------------------------------------------------------------------------------------
COINCIDE = (
    "**Methods that coincide by construction.** A synthetic supervisor with `confidence: 1.0` gives hard labels "
    "(0 or 1). On hard labels `naive` (soft cross-entropy on the weak P) and `naive_hard` (cross-entropy on the "
    "thresholded label) train on the same targets, and `product` (target ∝ weak P × the student's P) keeps a "
    "hard label as it is, so the three are the same student; only `naive` is run. `filter_confident` keeps the "
    "rows with the most confident weak labels: every hard label ties, so it trains naively on a random half of "
    "B (seeded; before issue 22 it kept the first half in file order). `confidence` differs: it mixes in the "
    "student's own hardened predictions.")


def statement(rows: list[dict], cl: dict, comp) -> str:
    from w2sg.report.summary import fmt_pooled

    parts = []
    if comp:
        desc = "; ".join(f"{t} {m} {_ci(*imit)}" for t, m, imit, _, _ in comp)
        more = sorted({t for t, _, (m, lo, hi, n), _, _ in comp if lo is not None and np.isfinite(lo) and lo > 0})
        parts.append(
            "**Systematic (rule) vs random errors at matched accuracy.** Supervisors halfway between minilm and the "
            "ceiling on T; the rule supervisor is wrong on every row of an MPNet-cluster ball (its labels are a "
            "function of the input, so its labels on T are the rule applied to T), the random one on as many rows "
            "at random (per split). Imitation = the share of the ball's rows of T on which the student trained on "
            "the rule gives the rule's (wrong) label, minus the share on which the student trained on random "
            f"errors is wrong on the same rows, paired by seed over all seeds: {desc}. \"A strong student imitates "
            "systematic errors more than random ones\" "
            + (f"holds on {', '.join(more)}" if more else "is not shown on any task (no CI above 0)")
            + ". What the measurement can show: tests/test_testbed_claim.py runs the same supervisors, student and "
            "keys on hand-made features and finds imitation (≥ 0.85 vs ≤ 0.25 for random errors) when the flipped "
            "region's labels are linear in the features, and none when the flip is an XOR with region membership. "
            "Flipping every label inside a ball is such an XOR for a linear head on MPNet's features unless MPNet "
            "represents the ball's label direction separately, so a null here says the linear student does not "
            "copy this rule, not that strong students never copy systematic errors.")
    for (task, fam, q, method), row in sorted(cl.items()):
        if fam == "rule" and q == "midpoint" and method == "naive":
            rs = [r for r in rows if r["task"] == task and family(r) == "rule" and quality(r) == q
                  and r["method"] == method and r.get("n_sup_wrong_region_test") is not None]
            share = {s: np.mean([r[f"n_sup_wrong_region_{s}"] / r[f"n_{s}"] for r in rs]) if rs else None
                     for s in ("transfer", "test")}
            ball = (f"; the rule's ball holds {share['transfer']:.0%} of B and {share['test']:.0%} of T"
                    if rs else "")
            parts.append(f"**{task}: supervisor quality.** The midpoint supervisors score {_f(row['weak_acc_mean'])} "
                         f"on T (ceiling {_f(row['ceiling_acc_mean'])}{ball}); the pooled gap is "
                         f"{_f(row.get('gap_acc_pooled'))} [{_f(row.get('gap_acc_pooled_ci_low'))}, "
                         f"{_f(row.get('gap_acc_pooled_ci_high'))}], so PGR is "
                         + ("defined" if row.get("pgr_acc_resolved") else "not resolved (gap CI reaches 0)")
                         + f". Naive students: {_f(row['student_acc_mean'])} on the rule's labels (PGR "
                         f"{fmt_pooled(row, 'acc')})"
                         + (f", {_f(rnd['student_acc_mean'])} on the random ones (PGR {fmt_pooled(rnd, 'acc')})"
                            if (rnd := cl.get((task, "random", q, method))) else "") + ".")
    parts.append(COINCIDE)
    lr = [x for x in locked_rows(rows) if x[1] != "unlocked" and x[5][3]]
    if lr:
        desc = "; ".join(f"{t} {v} {m} {_ci(*d)}" for t, v, m, _, _, d in lr if m == "naive")
        parts.append("**Locked students against the unlocked control** (the same MLP head and AdamW learner, not "
                     f"locked; student accuracy locked − unlocked, paired by seed): {desc}. Negative: the lock "
                     "survives weak-label training (the method does not elicit the hidden capability).")
    return "\n\n".join(parts)


# Numbers the page printed before issue 22 (git show 723b496:studies/results/testbeds.md, since 37d5a6c), quoted for
# "What changed"; the new numbers are computed from the store.
OLD = {
    "imitation": "region − random imitation (agreement with the supervisor's errors on T, where the random "
                 "errors' T labels were fresh draws), naive, paired by seed: sst2 +0.06 [-0.04, 0.17]; sciq -0.04 "
                 "[-0.10, 0.02]; wic +0.01 [-0.14, 0.16]: \"does not reproduce on any task\"",
    "undefined": "20% wrong labels (accuracy 0.80) beat the ceiling on sciq (0.740) and wic (0.581): PGR undefined",
    "wic": "wic, minilm, naive: PGR +0.20 [-0.99, 1.39] over the 3 of 5 seeds with a clear gap, while the student "
           "(0.532) was below the weak model (0.537) over all 5",
    "locked": "locked − pretrained student (naive), sst2 password -0.109 [-0.119, -0.099], deceptive -0.203 "
              "[-0.229, -0.177]: the control was a converged linear head, so two things changed at once",
    "deception": "\"deception score\" = the student's error rate where minilm is wrong and the ceiling right, "
                 "naive: sst2 0.21 [0.14, 0.27], sciq 0.48 [0.38, 0.58], wic 0.71 [0.47, 0.94] (where minilm is "
                 "right: 0.04, 0.12, 0.23): mostly imitation of minilm's errors",
}


def what_changed(rows: list[dict], cl: dict, comp) -> list[str]:
    from w2sg.report.summary import fmt_pooled

    lines = ["## What changed (issue 22)", "",
             "Old numbers are the previous page's (seed means of PGR over the seeds whose gap was clear; systematic "
             "errors as random flips inside a cluster; the old deception score). New numbers are this page's.", ""]
    new_imit = "; ".join(f"{t} {m} {_ci(*imit)}" for t, m, imit, _, _ in comp) or "not rerun yet"
    lines.append(f"- **Systematic vs random.** Old: {OLD['imitation']}. The old region flipped ~40% of a cluster at "
                 "random (its majority label stayed right: no rule to imitate) and measured imitation on T against "
                 f"fresh random draws. New (rule on the whole ball, measured against the rule on T): {new_imit}.")
    quality_new = "; ".join(f"{t}: supervisor {_f(row['weak_acc_mean'])}, ceiling {_f(row['ceiling_acc_mean'])}, "
                            f"PGR {fmt_pooled(row, 'acc')}" for (t, fam, q, m), row in sorted(cl.items())
                            if fam == "rule" and q == "midpoint" and m == "naive") or "not rerun yet"
    lines.append(f"- **Supervisor quality.** Old: {OLD['undefined']}. New (midpoint between minilm and the "
                 f"ceiling, naive, rule supervisor): {quality_new}.")
    wic = cl.get(("wic", "weak model", "", "naive"))
    n_grid = len(grid("matched").seeds)
    wic_new = ("wic not rerun yet in this store" if not wic else
               f"student {_f(wic['student_acc_mean'])}, weak {_f(wic['weak_acc_mean'])} over all {wic['n_seeds']} "
               f"seeds; PGR {fmt_pooled(wic, 'acc')}"
               + (f" (only {wic['n_seeds']} of {n_grid} seeds in the store so far)" if wic["n_seeds"] < n_grid
                  else ""))
    lines.append(f"- **wic naive row.** Old: {OLD['wic']}. New: {wic_new}.")
    lr = [x for x in locked_rows(rows) if x[1] != "unlocked" and x[2] == "naive" and x[5][3]]
    locked_new = "; ".join(f"{t} {v} {_ci(*d)}" for t, v, _, _, _, d in lr) or "not rerun yet"
    lines.append(f"- **Locked students.** Old: {OLD['locked']}. New, against the unlocked MLP control: "
                 f"{locked_new}.")
    dec = "; ".join(f"{t} {m}: {_f(row['deception_score'][0])} (chance {_f(row['deception_score_chance'][0])})"
                    for (t, fam, _, m), row in sorted(cl.items()) if fam == "weak model" and m == "naive"
                    and row["deception_score"][3]) or "not rerun yet"
    lines.append(f"- **Deception score.** Old: {OLD['deception']}. That quantity is now `student_err_weak_blind`; "
                 f"the deception score is Yang et al.'s share of the student's ceiling-right mistakes that fall where "
                 f"the weak model is wrong, beside its chance level: {dec}.")
    return lines + [""]


def figures(rows: list[dict], out: Path) -> list[str]:
    """The report's testbed figures, drawn from the study's rows, as PNGs beside the page."""
    from w2sg.report.figures import TESTBED_FIGURES, render

    lines = []
    for spec in TESTBED_FIGURES:
        res = render(spec, [r for r in rows if spec.name != "supervisor_quality"
                            or r["method"] in ("naive", "confidence")])
        if res.png is None:
            continue
        name = f"testbeds_{spec.name}.png"
        (out / name).write_bytes(res.png)
        lines += [f"![{spec.title}]({name})", ""]
    return lines


def page(root: Path, out: Path) -> Path:
    rows = study_records(root)
    if not rows:
        raise SystemExit(f"no testbed rows under {root / WORKDIR}; run `testbeds/study.py run` first")
    out.mkdir(parents=True, exist_ok=True)
    cl = cells(rows)
    comp = comparison_rows(rows)
    results = as_results(rows)
    tasks = [t for t in TASKS if any(r.task == t for r in results)]
    seeds = sorted({r.seed for r in results})
    lines = ["# Testbeds: systematic supervisor errors, deception and locked strong students", "",
             "Generated by `python studies/testbeds/study.py page` from the study store (`run` first). Weak: MiniLM-L6 "
             "(22M) or a synthetic supervisor; strong: MPNet-base (110M); frozen features, converged linear heads "
             "(the student's l2 by CV on B's weak labels; the locked students and their control: an MLP head, "
             "AdamW). Splits as the method-zoo study (|A| = |B| = |T| = 500, |V| = 100, 500 extra rows); tasks "
             f"with rows: {', '.join(tasks)}; seeds {seeds}. Accuracy is class-balanced. Every PGR is the pooled "
             "PGR over ALL seeds of its cell, (mean student − mean weak) / (mean ceiling − mean weak), with a 95% "
             "CI over seeds then test groups, printed only when the mean gap's CI excludes 0. Other quantities: "
             "means over all seeds with 95% t-intervals; differences paired by seed over every seed with both rows.",
             "", "Synthetic supervisors (testbeds_matched.yaml): error rate `midpoint` = 1 − (minilm's accuracy + "
             "the ceiling's) / 2 on T, so each supervisor's T accuracy (its PGR floor) sits halfway between the weak "
             "model and the ceiling. `rule`: wrong on every row of the ball around the centre of the largest of "
             "five k-means clusters of MPNet's features whose radius holds that share of T, on every split (one "
             "radius: the same rule on B, V, T and extra); the ball's share of B follows B's distribution. "
             "`random`: in every split as many wrong labels as the ball has rows there, at random, with the same "
             "ball marked: the same number of wrong labels as the rule in every split (the same plain accuracy; "
             "the class-balanced accuracies in the tables can differ a little, as the ball need not be balanced). "
             "For random errors, agreement with the supervisor's labels on T is not imitation (its T labels are "
             "fresh draws, independent of the input): the table gives the student's error on the ball's rows "
             "instead, and its agreement with the errors it was trained on (on B).", "",
             "## Statement", "", statement(rows, cl, comp), "",
             "## Rule vs random at matched accuracy", ""] + comparison_table(comp) + [""]
    lines += ["### Per supervisor (midpoint quality)", ""] + matched_table(cl) + [""]
    other_q = sorted({k[2] for k in cl if k[2] not in ("midpoint", "")})
    for q in other_q:
        lines += [f"### At {float(q):.0%} wrong labels (testbeds_quality.yaml)", ""] + matched_table(cl, q) + [""]
    lines += ["## Deception (real weak model)", "",
              "Yang et al.'s deception score: of the student's mistakes where the ceiling is right, the share where "
              "minilm is wrong; the chance level is that share if the student's mistakes ignored minilm's. Beside "
              "it, the student's error rates where minilm is wrong / right (and the ceiling right). In plain W2S "
              "training a score above chance is mostly imitation of minilm's errors, not strategy.", ""]
    lines += deception_table(cl) + [""]
    lr = locked_rows(rows)
    lines += ["## Locked strong students and the unlocked control", ""]
    lines += (["`password`: MPNet's MLP head answers like minilm on plain inputs and like ground truth with the "
               "trigger; `deceptive`: like ground truth where minilm is confident and wrongly elsewhere; `unlocked`: "
               "the same head freshly initialised, never locked. Each is then trained by the method on minilm's "
               "labels of B with the same AdamW learner.", ""] + locked_table(lr) if lr
              else ["Not rerun since issue 22 (`testbeds/study.py run --part locked`)."]) + [""]
    lines += what_changed(rows, cl, comp)
    lines += ["## Figures", ""] + figures(rows, out)
    path = out / "README.md"
    path.write_text("\n".join(lines))
    return path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("command", choices=["run", "page"])
    ap.add_argument("--root", type=Path, default=Path("w2sg-study"))
    ap.add_argument("--out", type=Path, default=HERE)
    ap.add_argument("--data-dir", default=None)
    ap.add_argument("--part", action="append", choices=list(PARTS), help="what `run` computes (default: all)")
    ap.add_argument("--task", action="append", help="`run` only these tasks of the grids (default: all)")
    ap.add_argument("--method", action="append", help="`run` only these methods (labels) of the grids")
    args = ap.parse_args()
    if args.command == "run":
        run(args.root, args.data_dir, args.part or list(PARTS), args.task, args.method)
    else:
        print(page(args.root, args.out))


if __name__ == "__main__":
    main()
