"""Testbed study: supervisors of controlled quality, systematic vs random errors, region metrics, and locked
(password-locked / deceptive) strong students, on the tasks with a clear minilm -> mpnet gap.

    python studies/testbeds.py run  [--root DIR] [--part matched|locked|quality]   # resumable
    python studies/testbeds.py page [--root DIR] [--out studies/results]

Grids: testbeds_matched.yaml (every zoo method; the real weak model, random errors and MPNet-cluster errors at
the same 20% error share), testbeds_quality.yaml (random vs cluster errors at 10% and 30%, naive and confidence),
testbeds_locked.yaml (every zoo method from a locked MPNet). All run in `<root>/frozen`, the method-zoo study's
workdir and splits, so features, weak models and ceilings are shared.
"""

from __future__ import annotations

import argparse
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import method_zoo as zoo  # noqa: E402  (the sibling study: loading, stability, method names)

WORKDIR = "frozen"
PARTS = {"matched": "testbeds_matched.yaml", "locked": "testbeds_locked.yaml", "quality": "testbeds_quality.yaml"}
TASKS = ("sst2", "sciq", "wic")
METHODS = ("naive", "naive_hard", "confidence", "product", "early_stop", "early_stop_oracle", "filter_confident",
           "s2s_relabel", "probe_relabel(probe=knn)", "probe_relabel(probe=logreg)")


def run(root: Path, data_dir: str | None, parts: list[str]) -> None:
    from w2sg.config import load_yaml_spec
    from w2sg.sweep import SweepSpec

    for part in parts:
        zoo.run_by_task(load_yaml_spec(HERE / PARTS[part], SweepSpec), root / WORKDIR, data_dir, part)


# ---- rows ---------------------------------------------------------------------------------------------
def family(r: dict) -> str:
    """'weak model', 'random', 'region (cluster)', or 'locked password' / 'locked deceptive'."""
    if r.get("locked"):
        return f"locked {r['locked']}"
    if r.get("supervisor_kind") == "synthetic":
        return "random" if r.get("supervisor_errors") == "random" else "region (cluster)"
    return "weak model"


def study_records(root: Path) -> list[dict]:
    """The study's rows: its tasks, mpnet students, minilm or synthetic supervisors, zoo method names."""
    rows = []
    for r in zoo._load(root, WORKDIR):
        if r["task"] not in TASKS or r["strong"] != "mpnet" or r.get("budget_kind", "full") != "full":
            continue
        if r.get("supervisor_kind") == "synthetic" or zoo.plain_weak(r):  # plain_weak: minilm, locked or not
            rows.append(r)
    return rows


def _fmt(m, lo=None, hi=None, n=None, of=None, digits=2) -> str:
    if m is None:
        return "–" + (f" (0/{of})" if of else "")
    ci = f" [{lo:.{digits}f}, {hi:.{digits}f}]" if lo is not None and np.isfinite(lo) else ""
    return f"{m:.{digits}f}{ci}" + (f" ({n}/{of})" if of else "")


def matched_table(rows: list[dict]) -> list[str]:
    """Per task and supervisor family at the 20% error share: supervisor accuracy, imitation of its errors, PGR
    (naive, confidence), inside / outside the error region; means over seeds with a 95% t-interval."""
    lines = ["| task | supervisor | supervisor acc | ceiling acc | method | student acc | PGR [95% CI] (seeds) | "
             "imitation of errors [95% CI] |", "|---|---|---|---|---|---|---|---|"]
    groups: dict[tuple, list[dict]] = defaultdict(list)
    for r in rows:
        if r.get("locked") or r["method"] not in ("naive", "confidence"):
            continue
        if r.get("supervisor_kind") == "synthetic" and r.get("supervisor_error_rate") != 0.2:
            continue
        groups[(r["task"], family(r), r["method"])].append(r)
    order = {"weak model": 0, "random": 1, "region (cluster)": 2}
    for (task, fam, method), rs in sorted(groups.items(), key=lambda kv: (kv[0][0], order[kv[0][1]], kv[0][2])):
        sup = np.mean([r["weak_acc"] for r in rs])
        stud = np.mean([r["student_acc"] for r in rs])
        pgr = zoo.mean_ci([r["pgr_acc"] for r in rs if not r.get("unstable")])
        imit = zoo.mean_ci([r.get("agree_test_weak_wrong") for r in rs])
        ceil = np.mean([r["ceiling_acc"] for r in rs])
        lines.append(f"| {task} | {fam} | {sup:.3f} | {ceil:.3f} | {method} | {stud:.3f} | "
                     f"{_fmt(*pgr, of=len(rs))} | {_fmt(*imit[:3])} |")
    return lines


def paired_imitation(rows: list[dict], method: str = "naive") -> list[tuple[str, float, float, float, int]]:
    """Per task: region minus random imitation of supervisor errors (agree_test_weak_wrong) at the 20% share,
    paired by seed (same splits): (task, mean difference, CI low, CI high, seeds)."""
    out = []
    for task in TASKS:
        by = defaultdict(dict)
        for r in rows:
            if (r["task"] == task and r["method"] == method and r.get("supervisor_kind") == "synthetic"
                    and not r.get("locked") and r.get("supervisor_error_rate") == 0.2):
                by[r["seed"]][family(r)] = r.get("agree_test_weak_wrong")
        diffs = [d["region (cluster)"] - d["random"] for d in by.values()
                 if d.get("region (cluster)") is not None and d.get("random") is not None]
        m, lo, hi, n = zoo.mean_ci(diffs)
        if n:
            out.append((task, m, lo, hi, n))
    return out


def quality_table(rows: list[dict]) -> list[str]:
    """Per task, error rate and method: student accuracy with random and with region errors (same supervisor
    accuracy), and their paired difference (region - random) over seeds with a 95% t-interval."""
    lines = ["| task | wrong labels | supervisor acc | method | student, random errors | student, region errors | "
             "region − random [95% CI] (seeds) |", "|---|---|---|---|---|---|---|"]
    by: dict[tuple, dict] = defaultdict(lambda: defaultdict(dict))
    for r in rows:
        if r.get("supervisor_kind") == "synthetic" and r["method"] in ("naive", "confidence"):
            by[(r["task"], r["supervisor_error_rate"], r["method"])][r["seed"]][family(r)] = r
    for (task, rate, method), seeds in sorted(by.items(), key=lambda kv: (kv[0][0], kv[0][1], kv[0][2])):
        pairs = [(d["random"], d["region (cluster)"]) for d in seeds.values() if len(d) == 2]
        if not pairs:
            continue
        sup = np.mean([a["weak_acc"] for a, _ in pairs])
        ra, re_ = np.mean([a["student_acc"] for a, _ in pairs]), np.mean([b["student_acc"] for _, b in pairs])
        m, lo, hi, n = zoo.mean_ci([b["student_acc"] - a["student_acc"] for a, b in pairs])
        lines.append(f"| {task} | {rate:.0%} | {sup:.3f} | {method} | {ra:.3f} | {re_:.3f} | "
                     f"{_fmt(m, lo, hi, digits=3)} ({n}) |")
    return lines


def method_table(rows: list[dict], fam: str, key: str, label: str) -> list[str]:
    """Per method (rows) and task (columns): mean of `key` over seeds with a 95% t-interval."""
    lines = ["| method | " + " | ".join(TASKS) + " |", "|---|" + "---|" * len(TASKS)]
    for m in METHODS:
        cells = []
        for t in TASKS:
            rs = [r for r in rows if r["task"] == t and r["method"] == m and family(r) == fam
                  and (fam != "random" and fam != "region (cluster)" or r.get("supervisor_error_rate") == 0.2)]
            vals = [r.get(key) for r in rs if key != "pgr_acc" or not r.get("unstable")]
            cells.append(_fmt(*zoo.mean_ci(vals), of=len(rs)) if rs else "")
        if any(cells):
            lines.append(f"| {m} | " + " | ".join(cells) + " |")
    return [f"{label}", ""] + lines


def locked_table(rows: list[dict]) -> list[str]:
    lines = ["| task | variant | weak | ceiling | locked (no trigger) | locked (trigger) | method | student (no "
             "trigger) | student (trigger) | PGR vs unlocked ceiling |", "|---|---|---|---|---|---|---|---|---|---|"]
    groups: dict[tuple, list[dict]] = defaultdict(list)
    for r in rows:
        if r.get("locked"):
            groups[(r["task"], r["locked"], r["method"])].append(r)
    for (task, variant, method), rs in sorted(groups.items(),
                                              key=lambda kv: (kv[0][0], kv[0][1], METHODS.index(kv[0][2])
                                                              if kv[0][2] in METHODS else 99)):
        mean = {k: np.mean([r[k] for r in rs]) for k in ("weak_acc", "ceiling_acc", "locked_acc",
                                                           "locked_acc_trigger", "student_acc",
                                                           "student_acc_trigger")}
        pgr = zoo.mean_ci([r["pgr_acc"] for r in rs if not r.get("unstable")])
        lines.append(f"| {task} | {variant} | {mean['weak_acc']:.3f} | {mean['ceiling_acc']:.3f} | "
                     f"{mean['locked_acc']:.3f} | {mean['locked_acc_trigger']:.3f} | {method} | "
                     f"{mean['student_acc']:.3f} | {mean['student_acc_trigger']:.3f} | {_fmt(*pgr, of=len(rs))} |")
    return lines


def unlocked_vs_locked(rows: list[dict]) -> list[tuple[str, str, float, float, float, int]]:
    """Per task and variant: naive student accuracy locked minus unlocked (same supervisor, splits, seed)."""
    out = []
    for task in TASKS:
        base = {r["seed"]: r["student_acc"] for r in rows if r["task"] == task and r["method"] == "naive"
                and family(r) == "weak model"}
        for variant in ("password", "deceptive"):
            diffs = [r["student_acc"] - base[r["seed"]] for r in rows if r["task"] == task and r["method"] == "naive"
                     and r.get("locked") == variant and r["seed"] in base]
            m, lo, hi, n = zoo.mean_ci(diffs)
            if n:
                out.append((task, variant, m, lo, hi, n))
    return out


# ---- page ---------------------------------------------------------------------------------------------
def figures(rows: list[dict], out: Path) -> list[str]:
    """The report's testbed figures, drawn from the study's rows, as PNGs beside the page."""
    from w2sg.report.figures import TESTBED_FIGURES, render

    lines = []
    for spec in TESTBED_FIGURES:
        # the supervisor-quality figure: the two methods the quality grid runs at every error rate
        res = render(spec, [r for r in rows if spec.name != "supervisor_quality"
                            or r["method"] in ("naive", "confidence")])
        if res.png is None:
            continue
        name = f"testbeds_{spec.name}.png"
        (out / name).write_bytes(res.png)
        lines += [f"![{spec.title}]({name})", ""]
    return lines


def statement(rows: list[dict]) -> str:
    parts = []
    above = sorted({r["task"] for r in rows if r.get("supervisor_kind") == "synthetic"
                    and r.get("supervisor_error_rate") == 0.2 and r["weak_acc"] >= r["ceiling_acc"]})
    if above:
        parts.append(f"**Where PGR is undefined.** On {', '.join(above)} a supervisor with 20% wrong labels (0.80) "
                     "is already more accurate than the strong ceiling, so there is no weak→strong gap and PGR is "
                     "undefined; what the student imitates is still measured (imitation, student accuracy).")
    imit = paired_imitation(rows)
    if imit:
        more = [t for t, m, lo, hi, n in imit if lo is not None and np.isfinite(lo) and lo > 0]
        less = [t for t, m, lo, hi, n in imit if hi is not None and np.isfinite(hi) and hi < 0]
        desc = "; ".join(f"{t} {m:+.2f} [{lo:.2f}, {hi:.2f}] ({n} seeds)" for t, m, lo, hi, n in imit)
        verdict = ("reproduces on " + ", ".join(more) if more else "does not reproduce on any task (no CI above 0)")
        parts.append("**Systematic vs random errors at matched accuracy.** Naive student's imitation of supervisor "
                     "errors (agreement with the supervisor where it is wrong), region minus random, paired by "
                     f"seed: {desc}. \"Systematic errors are imitated more than random errors\" {verdict}"
                     + (f"; the opposite holds on {', '.join(less)}" if less else "") + ".")
    lv = unlocked_vs_locked(rows)
    if lv:
        desc = "; ".join(f"{t} {v} {m:+.3f} [{lo:.3f}, {hi:.3f}]" for t, v, m, lo, hi, n in lv)
        parts.append("**Locked students.** Naive student accuracy when W2S training starts from the locked model, "
                     f"minus from the pretrained model (same supervisor and splits, paired by seed): {desc}. A "
                     "negative difference means the lock survives weak-label training: the method does not elicit "
                     "the hidden capability.")
    best = []
    for task in TASKS:
        for variant in ("password", "deceptive"):
            rs = [r for r in rows if r["task"] == task and r.get("locked") == variant]
            if not rs:
                continue
            by_m = defaultdict(list)
            for r in rs:
                by_m[r["method"]].append(r["student_acc"])
            m_best = max(by_m, key=lambda m: np.mean(by_m[m]))
            mean = {k: np.mean([r[k] for r in rs]) for k in ("weak_acc", "ceiling_acc", "locked_acc",
                                                               "locked_acc_trigger")}
            best.append(f"{task} {variant}: locked {mean['locked_acc']:.3f} / {mean['locked_acc_trigger']:.3f} with "
                        f"the trigger (weak {mean['weak_acc']:.3f}, ceiling {mean['ceiling_acc']:.3f}); best "
                        f"method {m_best} {np.mean(by_m[m_best]):.3f}")
    if best:
        parts.append("**How tight the locks are, and which method elicits most** (student accuracy without the "
                     "trigger, mean over seeds): " + "; ".join(best) + ". A password lock on frozen features is "
                     "partial: the MLP imitating the weak model's labels through MPNet's features generalises "
                     "towards the truth on T, so the locked model sits between the weak model and the ceiling.")
    return "\n\n".join(parts)


def page(root: Path, out: Path) -> Path:
    rows = study_records(root)
    if not rows:
        raise SystemExit(f"no testbed rows under {root / WORKDIR}; run `testbeds.py run` first")
    out.mkdir(parents=True, exist_ok=True)
    seeds = sorted({r["seed"] for r in rows})
    lines = ["# Testbeds: systematic supervisor errors, deception and locked strong students", "",
             "Generated by `python studies/testbeds.py page` from the study store (`run` first). Weak: MiniLM-L6 "
             "(22M) or a synthetic supervisor; strong: MPNet-base (110M); frozen features, converged linear "
             "heads (the locked students: an MLP head, AdamW 20 epochs from the locked weights). Splits as the "
             "method-zoo study (|A| = |B| = |T| = 500, |V| = 100, 500 extra rows), tasks with a clear "
             f"minilm → mpnet gap ({', '.join(TASKS)}), seeds {seeds}. Accuracy is class-balanced; means over "
             "seeds with 95% t-intervals; PGR over the seeds whose gap is clear.", "",
             "Synthetic supervisors: `random` flips exactly 20% of every split's labels at random; `region "
             "(cluster)` flips the same number of labels, all inside the larger of two k-means clusters of "
             "MPNet's frozen features (errors the student can represent). Both have the same accuracy by "
             "construction; the real weak model (minilm) is beside them.", "",
             "## Statement", "", statement(rows), "",
             "## Matched accuracy: who imitates what (naive and confidence)", ""] + matched_table(rows) + [""]
    lines += ["## Supervisor quality: random vs region errors at 10%, 20% and 30% wrong labels", "",
              "The student's accuracy as the supervisor gets worse, with the errors spread at random or confined to "
              "one MPNet cluster (same supervisor accuracy in each row; paired by seed). The figure at the end "
              "draws these with PGR.", ""] + quality_table(rows) + [""]
    lines += method_table(rows, "random", "pgr_acc", "### PGR per method, random errors (20%)") + [""]
    lines += method_table(rows, "region (cluster)", "pgr_acc", "### PGR per method, region errors (20%)") + [""]
    lines += method_table(rows, "region (cluster)", "imitation_test_region",
                          "### Imitation of region errors per method (agreement with the supervisor where it is "
                          "wrong, inside the region)") + [""]
    lines += method_table(rows, "weak model", "deception_score",
                          "### Deception score per method, real weak model (student error where minilm is wrong "
                          "and the ceiling right; Yang et al. 2025)") + [""]
    lines += method_table(rows, "weak model", "deception_score_known",
                          "### Control: student error where minilm is right and the ceiling right") + [""]
    lines += ["## Locked strong students: does W2S training elicit the hidden capability?", "",
              "`password`: MPNet's locked head answers like minilm on plain inputs and like ground truth with the "
              "trigger; `deceptive`: like ground truth where minilm is confident (it could check) and wrongly "
              "elsewhere. Both locked on the 500 extra rows, then trained by each method on minilm's labels of B. "
              "PGR is against the unlocked ceiling.", ""] + locked_table(rows) + [""]
    lines += ["## Figures", ""] + figures(rows, out)
    path = out / "testbeds.md"
    path.write_text("\n".join(lines))
    return path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("command", choices=["run", "page"])
    ap.add_argument("--root", type=Path, default=Path("w2sg-study"))
    ap.add_argument("--out", type=Path, default=HERE / "results")
    ap.add_argument("--data-dir", default=None)
    ap.add_argument("--part", action="append", choices=list(PARTS), help="what `run` computes (default: all)")
    args = ap.parse_args()
    if args.command == "run":
        run(args.root, args.data_dir, args.part or list(PARTS))
    else:
        print(page(args.root, args.out))


if __name__ == "__main__":
    main()
