"""The method-zoo study: every method on the offline ladder, and its results page.

    python studies/method_zoo/study.py run    [--root DIR] [--parts frozen,long,budget,...]   # resumes
    python studies/method_zoo/study.py ladder [--root DIR]     # each rung's converged probe per task (seed-0 splits)
    python studies/method_zoo/study.py page   [--root DIR] [--out studies/method_zoo]

`run` executes the grids of this folder, one task at a time (frozen.yaml: every built-in task x every method x
5 seeds in frozen-feature mode; frozen_bootstrap.yaml and frozen_generative.yaml: bootstrapping and generative
finetuning on subsets, same workdir and splits; finetune.yaml: the CPU finetuning study) and appends each
invocation's wall time to DIR/timings.json.
`page` reads the results stores only and writes README.md here (tables, headline, comparison) and figures;
`zoo_name` names its rows: a method of the plain minilm supervisor by its label, one of a supervisor built on
minilm (ensemble, chain) by the supervisor and the method. Rows stored before the supervisor redesign are read
once migrated (`w2sg store migrate -w DIR/frozen`).
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import statistics
import time
from collections import defaultdict
from pathlib import Path

import numpy as np

from w2sg.result import as_result, as_results
from w2sg.study import (
    admitted_tasks,
    full_budget,
    load_grid,
    load_records,
    lock_variant,
    method_order,
    read_timings,
    run_by_task,
    task_stability,
    weak_spec,
)
from w2sg.study import (
    plain_weak as plain_model,
)

HERE = Path(__file__).resolve().parent
STUDIES = HERE.parent  # the studies run from here: YAML tasks are keyed relative to it (tasks/x.yaml)
PARTS = {"frozen": ("frozen.yaml", "frozen"), "long": ("frozen_long.yaml", "frozen"),
         "budget": ("frozen_budget.yaml", "frozen"), "budget_long": ("frozen_budget_long.yaml", "frozen"),
         "ensemble": ("frozen_ensemble.yaml", "frozen"), "ensemble_long": ("frozen_long_ensemble.yaml", "frozen"),
         "bootstrap": ("frozen_bootstrap.yaml", "frozen"), "generative": ("frozen_generative.yaml", "frozen"),
         "finetune": ("finetune.yaml", "finetune"), "finetune_bootstrap": ("finetune_bootstrap.yaml", "finetune")}
BASELINE = "naive"
ZOO_WEAK, ZOO_STRONG = "minilm", "mpnet"
ENSEMBLE_DEFAULTS = {"members": 5, "bagging": True, "models": []}  # shown in the name only when they differ


# ---- which rows the page shows, and under which name -------------------------------------------------
def plain_weak(record) -> bool:
    """Whether the weak labels and the PGR floor come from the plain weak model (minilm): the rows that give a task's
    weak, ceiling and gap."""
    return plain_model(record, ZOO_WEAK)


def _short_model(alias: str) -> str:
    return re.sub(r"-\d+(\.\d+)?[mb]$", "", alias)  # smollm2-135m -> smollm2


def _bootstrap(rungs: list[str]) -> str:
    return "bootstrap(" + ",".join(_short_model(r) for r in rungs) + ")"


def zoo_name(record) -> str | None:
    """The method as the zoo page names it, or None when the row is not part of the page (another weak or strong
    model, another supervisor kind, a locked student):

    - plain minilm supervisor: the method's label;
    - chain supervisor on minilm: `bootstrap(smollm2)` with naive (bootstrapping: the weak model labels a slice
      for the rung, whose labels train the student; the floor stays minilm), `bootstrap(smollm2)→<method>` else;
    - ensemble supervisor on minilm: `ensemble→<method>` (non-default options in parentheses). Its PGR floor is the
      ensemble, so it is not the retired `weak_ensemble` method (floor: the single weak model), which keeps its name."""
    res = as_result(record)
    if res.strong != ZOO_STRONG or lock_variant(res):  # locked students: the testbeds study
        return None
    method, sup = str(res.method), weak_spec(res)
    if plain_weak(res):
        return method
    if not isinstance(sup, dict) or sup.get("model") != ZOO_WEAK:
        return None
    if sup.get("kind") == "chain":
        name = _bootstrap(list(sup.get("rungs") or []))
        return name if method == BASELINE else f"{name}→{method}"
    if sup.get("kind") == "ensemble":
        opts = {k: v for k, v in sup.items() if k not in ("kind", "model") and ENSEMBLE_DEFAULTS.get(k, v) != v}
        opts = ",".join(f"{k}={v}" for k, v in sorted(opts.items()))
        return "ensemble" + (f"({opts})" if opts else "") + f"→{method}"
    return None


def zoo_tasks() -> set[str]:
    """The tasks of the zoo's grids (the frozen and finetuning parts)."""
    return {t for grid, _ in PARTS.values() for t in load_grid(HERE / grid, STUDIES).tasks}


def zoo_records(records: list[dict]) -> list[dict]:
    """The rows of the page, as copies whose `method` is `zoo_name`'s name."""
    return [dict(r, method=name) for r in records if (name := zoo_name(r)) is not None]


# ---- running ------------------------------------------------------------------------------------------
def run(root: Path, parts: list[str], data_dir: str | None) -> None:
    root.mkdir(parents=True, exist_ok=True)
    for part in parts:
        grid, workdir = PARTS[part]
        run_by_task(load_grid(HERE / grid, STUDIES), root / workdir, data_dir, part, root / "timings.json",
                    base_dir=STUDIES)


LADDER_RUNGS = ("minilm", "mpnet", "smollm2-135m", "gemma3-270m")
LADDER_GRIDS = ("frozen.yaml", "frozen_long.yaml")


def ladder(root: Path, data_dir: str | None, rungs: tuple[str, ...] = LADDER_RUNGS, seed: int = 0) -> Path:
    """Each rung's converged probe (ground truth of B, l2 by CV) on every task's T (seed 0 splits of the grids):
    balanced accuracy, AUROC and per-question accuracy against the majority baseline. Resumes per (task, rung)."""
    from w2sg.config import ExperimentSpec
    from w2sg.metrics import accuracy, auroc, majority_accuracy, per_question_correct, question_coverage
    from w2sg.models.zoo import is_present
    from w2sg.pipeline import Pipeline

    out = root / "ladder.json"
    table = json.loads(out.read_text()) if out.exists() else {}
    pipe = Pipeline(root / "frozen", data_dir)
    for grid in LADDER_GRIDS:
        sweep = load_grid(HERE / grid, STUDIES)
        for task in sweep.tasks:
            for rung in rungs:
                key = f"{task}/{rung}"
                if key in table or not is_present(rung):
                    continue
                t0 = time.perf_counter()
                spec = ExperimentSpec(task=task, weak=sweep.weak[0], strong=rung, seed=seed, splits=sweep.splits,
                                      train=sweep.train)
                probe = pipe.ceiling_step(spec)["test"]
                test = pipe.splits(spec).test
                y = np.array([r.label for r in test])
                groups = [r.group for r in test]
                n_q, coverage = question_coverage(y, groups)
                table[key] = {
                    "task": task, "rung": rung, "n_test": len(y), "pos_frac": float(y.mean()),
                    "majority_acc": majority_accuracy(y), "acc": accuracy(probe, y),
                    "balanced_acc": accuracy(probe, y, balanced=True), "auroc": auroc(probe, y),
                    "q_acc": (float(per_question_correct(probe, y, groups).mean())
                              if n_q and coverage >= 0.5 else None), "n_questions": n_q,
                    "seconds": round(time.perf_counter() - t0, 1)}
                out.write_text(json.dumps(table, indent=1))
                print(f"ladder {key}: {table[key]['balanced_acc']:.3f} ({table[key]['seconds']}s)", flush=True)
    return out


# ---- statistics ---------------------------------------------------------------------------------------
def _mean(xs):
    xs = [x for x in xs if x is not None]
    return statistics.fmean(xs) if xs else None


def headline(records: list[dict], stability: dict[str, dict], metric: str = "acc") -> list[dict]:
    """Per method: the median over the admitted tasks (the plain weak model's mean gap resolved: the same tasks
    for every method) of the pooled PGR, with a CI over tasks, seeds and test groups; and the paired comparison
    with naive per task (better / not resolved / worse by the seed-paired student difference)."""
    from w2sg.report.compare import across_task_records, compare_records

    results = as_results(records)
    methods = sorted({res.method for res in results}, key=method_order)
    admitted = admitted_tasks(stability)
    rows = []
    for m in methods:
        res = across_task_records(records, m, metric, admit=admitted)
        vs = None
        if m != BASELINE:
            vs, _ = compare_records([r for r, res in zip(records, results, strict=True) if res.task in admitted], m,
                                    BASELINE, metric)
        counts = {v: sum(t.verdict == f"{m} better" if v == "better" else t.verdict == f"{BASELINE} better"
                         if v == "worse" else t.verdict == "not resolved" for t in vs.tasks) for v in
                  ("better", "not resolved", "worse")} if vs else None
        rows.append({"method": m, "median": res.value, "ci_low": res.ci_low, "ci_high": res.ci_high,
                     "n_tasks": len(res.tasks), "left_out": res.left_out, "vs_naive": counts,
                     "vs_naive_overall": None if vs is None else (vs.diff_pgr_mean, *vs.diff_pgr_ci, vs.verdict),
                     "oracle": any(res.training.oracle for res in results if res.method == m)}
        )
    return rows


# ---- page ---------------------------------------------------------------------------------------------
def _f(x, d=2):
    return "–" if x is None else f"{x:.{d}f}"


def _task_table(records, metric) -> list[str]:
    """Per task and method: the pooled PGR over all seeds with its CI (seeds, then test groups), printed when the
    task's mean gap on this metric is resolved. The weak, ceiling and gap columns are on the same metric."""
    from w2sg.report.summary import fmt_pooled, summarize

    rows = {(r["task"], r["method"]): r for r in summarize(records)}
    methods = sorted({m for _, m in rows}, key=method_order)
    short = {m: m.replace("probe_relabel(probe=", "probe_").rstrip(")") if m.startswith("probe_relabel") else m
             for m in methods}
    lines = ["| task | seeds | weak | ceiling | mean gap [95% CI] | " + " | ".join(short[m] for m in methods) + " |",
             "|---" * (5 + len(methods)) + "|"]
    for task in sorted({t for t, _ in rows}):
        base = rows.get((task, BASELINE)) or next(v for (t, _), v in rows.items() if t == task)
        if base.get(f"gap_{metric}_pooled") is None:
            continue
        cells = [(fmt_pooled(rows[(task, m)], metric) if (task, m) in rows else "–") for m in methods]
        cells = [c if not c.startswith("gap not resolved") else "n.r." for c in cells]
        flag = "" if base.get(f"pgr_{metric}_resolved") else " (gap not resolved)"
        lines.append(f"| {task}{flag} | {base['n_seeds']} | {_f(base[f'weak_{metric}_mean'], 3)} | "
                     f"{_f(base[f'ceiling_{metric}_mean'], 3)} | {_f(base[f'gap_{metric}_pooled'], 3)} "
                     f"[{_f(base[f'gap_{metric}_pooled_ci_low'], 3)}, {_f(base[f'gap_{metric}_pooled_ci_high'], 3)}] | "
                     + " | ".join(cells) + " |")
    return lines


def _probe_table(root: Path, records: list[dict]) -> list[str]:
    """Per task: the majority baseline and each rung's converged probe (seed 0 splits, probe on B's ground truth),
    plus the study's weak (minilm on A) and ceiling (mpnet on B) over all seeds."""
    path = root / "ladder.json"
    ladder = json.loads(path.read_text()) if path.exists() else {}
    rungs = [r for r in LADDER_RUNGS if any(v["rung"] == r for v in ladder.values())]
    per_seed = defaultdict(dict)
    for res in as_results(records):
        per_seed[res.task].setdefault(res.seed, res)
    head = ["task", "T: pos. share", "majority acc"] + [f"{r} bal. acc / AUROC" for r in rungs] + [
        "study weak minilm (A)", "study ceiling mpnet (B)", "per-question acc minilm / mpnet"]
    lines = ["| " + " | ".join(head) + " |", "|---" * len(head) + "|"]
    for task in sorted(set(per_seed) | {v["task"] for v in ladder.values()}):
        cells = []
        for rung in rungs:
            v = ladder.get(f"{task}/{rung}")
            cells.append("–" if v is None else f"{v['balanced_acc']:.3f} / {v['auroc']:.3f}"
                         + (" ⚠" if v["balanced_acc"] <= 0.5 + 1e-9 else ""))
        rows = list(per_seed.get(task, {}).values())
        pos = _mean([r.evaluation.test_pos_frac for r in rows])
        if pos is None:
            v = next((v for v in ladder.values() if v["task"] == task), None)
            pos = v["pos_frac"] if v else None
        raw_majority = None if pos is None else max(pos, 1 - pos)
        q = [_mean([r.score(role, "q_acc") for r in rows]) for role in ("weak", "ceiling")]
        lines.append(f"| {task} | {_f(pos)} | {_f(raw_majority, 3)} raw, 0.500 balanced | "
                     + "".join(c + " | " for c in cells)
                     + f"{_f(_mean([r.score('weak') for r in rows]), 3)} / "
                       f"{_f(_mean([r.score('weak', 'auroc') for r in rows]), 3)}"
                     + f" | {_f(_mean([r.score('ceiling') for r in rows]), 3)} / "
                       f"{_f(_mean([r.score('ceiling', 'auroc') for r in rows]), 3)}"
                     + (f" | {_f(q[0], 3)} / {_f(q[1], 3)} |" if q[0] is not None else " | – |"))
    return lines


def _budget_table(records: list[dict]) -> list[str]:
    """Naive pooled PGR (accuracy) per task at each student budget, over all seeds (n.r.: gap not resolved)."""
    from w2sg.report.budget import budget_order_key
    from w2sg.report.summary import fmt_pooled, summarize

    naive = [r for r in records if as_result(r).method == BASELINE]
    order = {as_result(r).training.budget.label: budget_order_key(r) for r in naive}
    budgets = sorted(order, key=order.__getitem__)
    if len(budgets) < 2:
        return []
    rows = {(r["task"], r["budget"]): r for r in summarize(naive)}
    lines = ["| task | " + " | ".join(b.replace("(auroc,steps=1024)", "") for b in budgets) + " |",
             "|---" * (1 + len(budgets)) + "|"]
    for task in sorted({as_result(r).task for r in naive}):
        cells = [("n.r." if (c := fmt_pooled(rows[(task, b)])).startswith("gap not") else c)
                 if (task, b) in rows else "–" for b in budgets]
        lines.append(f"| {task} | " + " | ".join(cells) + " |")
    return lines


def _ci_text(lo, hi) -> str:
    """'[lo, hi]' with an unbounded end (None: too many resamples without a positive gap) as -inf / +inf."""
    return f"[{'-inf' if lo is None else _f(lo)}, {'+inf' if hi is None else _f(hi)}]"


def _headline_table(rows_acc, rows_auroc) -> list[str]:
    auroc = {r["method"]: r for r in rows_auroc}

    def ci(r):
        return (f"{_f(r.get('median'))} [{'-inf' if r.get('ci_low') is None else _f(r['ci_low'])}, "
                f"{'+inf' if r.get('ci_high') is None else _f(r['ci_high'])}]") if r.get("median") is not None else "–"

    lines = ["| method | median PGR (acc) [95% CI] | tasks | vs naive per task: better / n.r. / worse | "
             "mean Δ PGR vs naive [95% CI] | median PGR (AUROC) [95% CI] |", "|---|---|---|---|---|---|"]
    for r in rows_acc:
        a = auroc.get(r["method"], {})
        name = r["method"] + (" (ORACLE)" if r["oracle"] else "")
        vs, ov = r["vs_naive"], r["vs_naive_overall"]
        lines.append(f"| {name} | {ci(r)} | {r['n_tasks']} | "
                     + (f"{vs['better']} / {vs['not resolved']} / {vs['worse']}" if vs else "–") + " | "
                     + (f"{_f(ov[0])} {_ci_text(ov[1], ov[2])} ({ov[3]})" if ov and ov[0] is not None else "–")
                     + f" | {ci(a)} |")
    return lines


def _kind(record: dict) -> str:
    sup = weak_spec(record)
    return sup.get("kind", "?") if isinstance(sup, dict) else "model"


def _supervisor_notes(records: list[dict], plain: list[dict]) -> list[str]:
    """What the rows of the ensemble and chain supervisors are, with their supervisors' test accuracy; nothing when
    the page has no such rows."""
    single = {(r.task, r.seed): r.score("weak") for r in as_results(plain)}
    results = as_results(records)
    lines = []
    ens = [r for r in results if _kind(r) == "ensemble"]
    if ens:
        pairs = [(r.score("weak"), single[(r.task, r.seed)]) for r in ens if (r.task, r.seed) in single]
        names = ", ".join(sorted({r.method for r in ens}, key=method_order))
        lines += [f"{names}: the weak labels come from the ensemble supervisor (bagged minilm members). Unlike the "
                  "old `weak_ensemble` rows, the PGR floor of these rows is the ensemble's own test accuracy, not the "
                  "single minilm's (the weak / ceiling / gap columns of the tables are the single minilm's)."
                  + (f" Ensemble vs the single weak model (test accuracy, mean over {len(pairs)} experiments): "
                     f"{_f(_mean([e for e, _ in pairs]), 3)} vs {_f(_mean([w for _, w in pairs]), 3)}."
                     if pairs else ""), ""]
    boot = [r for r in results if r.method.startswith("bootstrap(")]
    if boot:
        pairs = [(r.score("supervisor"), r.score("weak")) for r in boot if r.score("supervisor") is not None]
        names = ", ".join(sorted({r.method for r in boot}, key=method_order))
        lines += [f"{names}: bootstrapping (the chain supervisor, formerly the `bootstrap` method): minilm labels a "
                  "fresh slice for the intermediate rung(s), the last of which labels B for the student; the PGR "
                  "floor stays the single minilm."
                  + (f" Last rung vs the single weak model (test accuracy, mean over {len(pairs)} experiments): "
                     f"{_f(_mean([s for s, _ in pairs]), 3)} vs {_f(_mean([w for _, w in pairs]), 3)}."
                     if pairs else ""), ""]
    return lines


# The page before issue 22 (stable-seed means, student L2 = the ceiling's, i.i.d. test bootstrap), quoted so that
# "What changed" can set old and new side by side: headline medians over its 3 "stable" tasks (sciq, sst2, wic)
# and the per-task seed means of naive and confidence (k/5 seeds kept).
OLD_HEADLINE = {"naive": ("0.20 [-0.05, 0.83]", "0/3"), "naive_hard": ("0.19 [-0.06, 0.79]", "1/3"),
                "confidence": ("0.47 [0.09, 0.89]", "3/3"), "product": ("0.03 [-0.17, 0.92]", "2/3"),
                "early_stop": ("0.33 [-0.02, 0.93]", "3/3"), "early_stop_oracle": ("0.29 [0.02, 0.94]", "3/3"),
                "filter_confident": ("0.14 [-0.05, 0.89]", "1/3"), "s2s_relabel": ("0.13 [-0.11, 0.84]", "2/3"),
                "probe_relabel(probe=knn)": ("-0.04 [-0.92, 0.60]", "0/3"),
                "probe_relabel(probe=logreg)": ("0.22 [-0.08, 0.75]", "1/3")}
OLD_TASKS = {("sst2", "naive"): "0.80 ± 0.09 (5/5)", ("sst2", "confidence"): "0.85 ± 0.15 (5/5)",
             ("sciq", "naive"): "0.01 ± 0.16 (5/5)", ("sciq", "confidence"): "0.14 ± 0.17 (5/5)",
             ("wic", "naive"): "0.20 ± 0.48 (3/5)", ("wic", "confidence"): "0.47 ± 0.19 (3/5)",
             ("twitter_sentiment", "naive"): "0.01 (1/5)", ("twitter_sentiment", "confidence"): "-0.27 (1/5)",
             ("ethics_justice", "naive"): "-0.18 ± 0.25 (2/5)", ("ethics_justice", "confidence"): "0.26 ± 0.08 (2/5)"}
OLD_ADMITTED = ["sciq", "sst2", "wic"]


def what_changed(records: list[dict], rows_acc: list[dict], stability: dict[str, dict]) -> list[str]:
    """Old (pre-issue-22) and new numbers side by side, and the conclusions that flipped or lost support."""
    from w2sg.report.summary import fmt_pooled, summarize

    cells = {(r["task"], r["method"]): r for r in summarize(records)}
    admitted = admitted_tasks(stability)
    lines = ["## What changed (issue 22: aggregates that select nothing)", "",
             "Before: per task, PGR was the mean over the seeds whose own gap CI excluded 0 (selection on PGR's "
             "denominator), the student's L2 was the ceiling's (tuned on B's ground truth), test CIs resampled rows "
             "i.i.d. (the answers of one sciq question as independent rows), and a task entered the headline when "
             "most of its seeds were 'stable'. Now: the pooled PGR over all seeds with a CI over seeds and test "
             "groups, the student's L2 by CV on B's weak labels, and tasks admitted by their mean gap over all seeds. "
             f"Admitted tasks: before {', '.join(OLD_ADMITTED)}; now {', '.join(admitted) or 'none'}.", "",
             "| task | method | before (mean over kept seeds) | now (pooled over all seeds) | student acc (all seeds) |"
             " weak acc |", "|---|---|---|---|---|---|"]
    for (task, method), old in OLD_TASKS.items():
        row = cells.get((task, method))
        if row is None:
            lines.append(f"| {task} | {method} | {old} | not rerun | – | – |")
            continue
        lines.append(f"| {task} | {method} | {old} | {fmt_pooled(row)} | {_f(row['student_acc_mean'], 3)} | "
                     f"{_f(row['weak_acc_mean'], 3)} |")
    lines += ["", "| method | headline before (3 tasks) | beat naive before | headline now "
              f"({len(admitted)} tasks) | vs naive now: better / n.r. / worse |", "|---|---|---|---|---|"]
    for r in rows_acc:
        old = OLD_HEADLINE.get(r["method"])
        if old is None:
            continue
        now = (f"{_f(r['median'])} [{'-inf' if r['ci_low'] is None else _f(r['ci_low'])}, "
               f"{'+inf' if r['ci_high'] is None else _f(r['ci_high'])}]") if r["median"] is not None else "–"
        vs = r["vs_naive"]
        lines.append(f"| {r['method']} | {old[0]} | {old[1]} | {now} | "
                     + (f"{vs['better']} / {vs['not resolved']} / {vs['worse']}" if vs else "–") + " |")
    wic = cells.get(("wic", "naive"))
    if wic is not None:
        lines += ["", f"- **wic, naive**: before, +0.20 over 3 of 5 seeds, read as \"students beat their "
                  f"supervisors on wic\"; over all 5 seeds the student ({_f(wic['student_acc_mean'], 3)}) "
                  f"against the weak model ({_f(wic['weak_acc_mean'], 3)}) gives {fmt_pooled(wic)}."]
    conf = next((r for r in rows_acc if r["method"] == "confidence"), None)
    if conf and conf["vs_naive"]:
        v = conf["vs_naive"]
        lines += [f"- **Confidence vs naive**: before \"beats naive on 3/3 stable tasks\" (seed means, no paired "
                  f"test); now, paired by seed on the {len(admitted)} admitted tasks: better on {v['better']}, not "
                  f"resolved on {v['not resolved']}, worse on {v['worse']}"
                  + (f"; mean Δ PGR {_f(conf['vs_naive_overall'][0])} {_ci_text(*conf['vs_naive_overall'][1:3])} "
                     f"({conf['vs_naive_overall'][3]})"
                     if conf["vs_naive_overall"] and conf["vs_naive_overall"][0] is not None else "") + "."]
    grid = ["sst2", "twitter_sentiment", "sciq", "mc_taco", "ethics_deontology", "ethics_justice", "ethics_virtue",
            "ethics_utilitarianism", "wic", "boolq"]
    missing = [t for t in grid if t not in stability]
    if missing:
        lines += [f"- **Not rerun in this version** (the 2-core session ran out of time): {', '.join(missing)}, and "
                  "the `long` (ethics_commonsense, cosmos_qa, quail), ensemble, budget, bootstrap, generative and "
                  "finetune parts; their old numbers are not carried over. Rerun: `python studies/method_zoo/study.py "
                  "run --root w2sg-study --parts frozen,long,ensemble,budget`."]
    lines += ["- The hand-written comparison at the end of this page (`studies/method_zoo/comparison.md`) quotes the "
              "numbers from before this change; where they differ, the tables above hold.", ""]
    return lines


def headline_figure(rows_acc, rows_auroc, path: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(11, 0.45 * len(rows_acc) + 1.5), sharey=True)
    for ax, rows, name in ((axes[0], rows_acc, "accuracy"), (axes[1], rows_auroc, "AUROC")):
        ys = np.arange(len(rows))[::-1]
        for y, r in zip(ys, rows, strict=True):
            if r["median"] is None:
                continue
            lo = r["ci_low"] if r["ci_low"] is not None else ax.get_xlim()[0]
            hi = r["ci_high"] if r["ci_high"] is not None else ax.get_xlim()[1]
            ax.errorbar(r["median"], y, xerr=[[r["median"] - lo], [hi - r["median"]]],
                        fmt="o", color="tab:red" if r["oracle"] else "tab:blue", capsize=3)
        ax.axvline(0, color="grey", lw=0.8)
        ax.axvline(1, color="grey", lw=0.8, ls="--")
        ax.set_yticks(ys, [r["method"] + (" (oracle)" if r["oracle"] else "") + f"  [{r['n_tasks']} tasks]"
                           for r in rows])
        ax.set_xlabel(f"median over admitted tasks of the pooled PGR ({name}); 95% CI: tasks, seeds, test groups")
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


HOW_TO_READ = (
    "**How to read the numbers.** Frozen heads are the converged optimum of their convex problem "
    "(L-BFGS). The L2 strength of the weak model and of the ceiling is chosen by 5-fold CV on their own "
    "ground-truth rows; the student's by the same CV on B's *weak* labels (no ground truth of B or V "
    "reaches it; `student_l2_source` in every row), the grid extended by decades while the optimum sits at "
    "its edge. Accuracy on T is class-balanced (the majority baseline is 0.5). "
    "**PGR over seeds is pooled over all seeds**: (mean student − mean weak) / (mean ceiling − mean weak), "
    "with a 95% CI that resamples seeds and then whole test groups (a question's answers together); it is "
    "printed only when the mean gap's CI excludes 0 ('n.r.': gap not resolved). No seed is left out by its "
    "gap. **Across tasks** the rule, stated before any PGR is looked at: a task enters when the plain weak "
    "model's mean gap over all its seeds is resolved (the same tasks for every method); the CI resamples "
    "tasks, then seeds, then test groups. Method comparisons with naive are paired by seed (same splits, "
    "weak model and ceiling). By construction naive, naive_hard and product coincide when the weak labels "
    "are hard (0/1); here the weak labels are soft (minilm's probabilities), so they differ.")
MODES = (("frozen", "Frozen-feature mode (linear probes)"), ("finetune", "Full finetuning (CPU)"))
CMD = "python studies/method_zoo/study.py"


def _header(root: Path) -> list[str]:
    """Title, how to regenerate, the wall time of each part."""
    lines = [f"# w2sg method-zoo study (generated by `{CMD} page`)", "",
             f"Regenerate: `{CMD} run --root w2sg-study && {CMD} ladder --root w2sg-study && {CMD} page --root "
             "w2sg-study`. Every number below is computed from the results stores under the study root.", ""]
    spent = defaultdict(float)
    for t in read_timings(root / "timings.json"):
        if t["part"] in PARTS:  # the other studies that share the workdir log their own parts
            spent[t["part"]] += t["seconds"]
    if spent:
        lines += ["Wall time (sum of the invocations that computed it, 2-core CPU): "
                  + ", ".join(f"{p} {s / 60:.1f} min" for p, s in spent.items()), ""]
    return lines


def _probe_section(root: Path, plain: list[dict]) -> list[str]:
    return ["### Where is there a weak→strong gap at all? Converged probes against the majority baseline", "",
            "Ladder columns: each rung's converged probe trained on B's ground truth (seed-0 splits, "
            "`method_zoo/study.py ladder`), balanced accuracy / AUROC on T (⚠: no better than the majority "
            "class). Study columns: the weak model (minilm on A) and the ceiling (mpnet on B), mean "
            "over seeds, balanced accuracy / AUROC.", "", *_probe_table(root, plain), ""]


def _headline_section(rows_acc, rows_auroc, out: Path, workdir: str, title: str) -> list[str]:
    fig = out / f"headline_{workdir}.png"
    headline_figure(rows_acc, rows_auroc, fig, f"{title}: minilm → mpnet")
    return ["### Headline: median over admitted tasks of the pooled PGR", "",
            "Per task the PGR is pooled over all seeds; the CI resamples tasks, then seeds, then test groups. "
            "'vs naive per task' counts the admitted tasks where the method's student beats naive's, is not "
            "resolved, or is worse (95% CI of the seed-paired difference, seeds and test groups resampled); "
            "'mean Δ PGR vs naive' is its mean over those tasks with the three-level CI (`w2sg compare`).", "",
            *_headline_table(rows_acc, rows_auroc), "", f"![headline]({fig.name})", ""]


def _task_sections(records: list[dict]) -> list[str]:
    lines = []
    for metric, name in (("acc", "balanced accuracy"), ("auroc", "AUROC"),
                         ("q_acc", "per-question accuracy, multiple-choice tasks; CI over seeds only")):
        if not any(as_result(r).score("student", metric) is not None for r in records):
            continue
        lines += [f"### PGR ({name}) per task: pooled over all seeds [95% CI]", "",
                  f"Weak, ceiling and gap on {name}; n.r.: the mean gap's CI reaches 0.", ""]
        lines += _task_table(records, metric) + [""]
    return lines


def _budget_section(every: list[dict], out: Path, workdir: str) -> list[str]:
    from w2sg.report.figures import pgr_vs_budget

    budget_lines = _budget_table(every)
    if not budget_lines:
        return []
    lines = ["### PGR against the student's training budget (naive)", "",
             "Pooled PGR (balanced accuracy) over all seeds [95% CI]. `steps=N`: N AdamW steps (lr 1e-3, batch "
             "32; 16 steps = one epoch); `converged`: the optimum; `early_stop`: the checkpoint of a "
             "1024-step trajectory that best matches V's weak labels; `early_stop_oracle`: the same scored "
             "on V's ground truth (ORACLE, an upper bound no real user has).", "", *budget_lines, ""]
    shown = [r for r in every if as_result(r).method == BASELINE]
    png = pgr_vs_budget(shown, out / f"{workdir}_pgr_vs_budget.png")
    if png:
        lines += [f"![PGR vs budget]({Path(png).name})", "", *_legend_note(shown)]
    return lines


def _legend_note(records: list[dict]) -> list[str]:
    """What a figure's variant tags (`naive [v1]`) stand for, computed from the rows the figure drew."""
    from w2sg.report.variants import variants_of

    note = variants_of(as_results(records)).note
    return [f"Legend tags: {note}", ""] if note else []


def _report_section(every: list[dict], root: Path, out: Path, workdir: str, title: str) -> list[str]:
    """The full HTML report (every experiment, every figure) stays beside the store (it is ~10 MB); three of its
    figures are copied beside the page."""
    from w2sg.report.html import write_html_report

    html, _ = write_html_report(every, root / workdir / "report", title=f"method zoo: {title}")
    lines = []
    for name in ("methods_compared", "pgr_vs_gap", "agreement"):
        src = html.parent / f"fig_{name}.png"
        if src.exists():
            shutil.copyfile(src, out / f"{workdir}_{name}.png")
            lines += [f"![{name}]({workdir}_{name}.png)", ""]
    return lines + _legend_note(every) + [
        f"Full report (every experiment, all standard figures): `<root>/{workdir}/report/report.html` under the "
        "study root (not committed).", ""]


def _weak_ensemble_note(records: list[dict]) -> list[str]:
    """The retired weak_ensemble method's supervisor against the single weak model, where its rows are stored."""
    ens = [r for r in as_results(records) if r.method.startswith("weak_ensemble") and r.score("supervisor") is not None]
    if not ens:
        return []
    return [f"Weak ensemble supervisor vs the single weak model (test accuracy, mean over {len(ens)} experiments): "
            f"{_f(_mean([r.score('supervisor') for r in ens]), 3)} vs {_f(_mean([r.score('weak') for r in ens]), 3)}.",
            ""]


def mode_section(root: Path, out: Path, workdir: str, title: str, tasks: set[str]) -> tuple[list[str], list[str]]:
    """One workdir's section (frozen or finetune), and for frozen the "What changed" lines; ([], []) without
    rows of the plain minilm -> mpnet pair."""
    # minilm (or a supervisor built on it) -> mpnet, on the zoo's own tasks (other studies share the workdir)
    every = [r for r in zoo_records(load_records(root, workdir)) if as_result(r).task in tasks]
    records = [r for r in every if full_budget(r)]  # the default budget
    plain = [r for r in records if plain_weak(r)]  # a task's weak, ceiling and gap come from these only
    if not plain:
        return [], []
    naive_rows = [r for r in plain if as_result(r).method == BASELINE] or plain
    stability = task_stability(naive_rows)  # the admission rule: the plain weak model's mean gap, all seeds
    rows_acc = headline(records, stability, "acc")
    rows_auroc = headline(records, task_stability(naive_rows, "auroc"), "auroc")
    stable_tasks = admitted_tasks(stability)
    changed = what_changed(records, rows_acc, stability) if workdir == "frozen" else []
    first = as_result(plain[0])
    seeds = sorted({as_result(r).seed for r in records})
    spec, budget = first.spec, "?" if "budget" in first.missing else first.training.budget.label
    lines = [f"## {title}", "",
             f"weak minilm → strong mpnet; seeds {seeds}; splits {spec['splits']}; train {spec['train']}; "
             f"student budget '{budget}'; {len(records)} experiments"
             + (f" (+ {len(every) - len(records)} at other budgets)" if len(every) > len(records) else "")
             + ".", "",
             f"Admitted tasks (the mean ceiling − weak gap over all seeds has a 95% CI above 0, CI over seeds "
             f"and test groups; the headline uses these): {', '.join(stable_tasks) or 'none'}. "
             f"Gap not resolved: {', '.join(sorted(set(stability) - set(stable_tasks))) or 'none'}.", ""]
    if workdir == "frozen":
        lines += _probe_section(root, plain)
    lines += _headline_section(rows_acc, rows_auroc, out, workdir, title)
    lines += _task_sections(records)
    lines += _budget_section(every, out, workdir)
    lines += _weak_ensemble_note(records)
    lines += _supervisor_notes(records, plain)
    lines += _report_section(every, root, out, workdir, title)
    return lines, changed


def page(root: Path, out: Path) -> Path:
    out.mkdir(parents=True, exist_ok=True)
    tasks = zoo_tasks()
    changed: list[str] = []  # "What changed", from the frozen part's rows: placed before the sections
    sections: list[str] = []
    for workdir, title in MODES:
        lines, what = mode_section(root, out, workdir, title, tasks)
        sections += lines
        changed = what if workdir == "frozen" else changed
    comparison = HERE / "comparison.md"
    lines = [*_header(root), *changed, HOW_TO_READ, "", *sections]
    if comparison.exists():
        lines += [comparison.read_text()]
    md = out / "README.md"
    md.write_text("\n".join(lines) + "\n")
    return md


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("command", choices=["run", "ladder", "page"])
    ap.add_argument("--root", type=Path, default=Path("w2sg-study"), help="where the study's workdirs live")
    ap.add_argument("--parts", default="frozen,long,ensemble,ensemble_long,budget,budget_long,bootstrap,generative,"
                                       "finetune,finetune_bootstrap")
    ap.add_argument("--data-dir", default=None)
    ap.add_argument("--out", type=Path, default=HERE)
    args = ap.parse_args()
    if args.command == "run":
        run(args.root, [p for p in args.parts.split(",") if p], args.data_dir)
    elif args.command == "ladder":
        print(ladder(args.root, args.data_dir))
    else:
        print(page(args.root, args.out))


if __name__ == "__main__":
    main()
