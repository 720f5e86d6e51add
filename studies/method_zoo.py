"""The method-zoo study: every method on the offline ladder, and its results page.

    python studies/method_zoo.py run  [--root DIR] [--parts frozen,generative,finetune]   # resumes
    python studies/method_zoo.py page [--root DIR] [--out studies/results]

`run` executes the sweeps in studies/*.yaml, one task at a time (frozen.yaml: every built-in task x every
method x 5 seeds in frozen-feature mode; frozen_bootstrap.yaml and frozen_generative.yaml: bootstrapping and
generative finetuning on subsets, same workdir and splits; finetune.yaml: the CPU finetuning study) and appends
each invocation's wall time to DIR/timings.json.
`page` reads the results stores only and writes results/README.md (tables, headline, comparison) and figures.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import time
from collections import defaultdict
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
PARTS = {"frozen": ("frozen.yaml", "frozen"), "long": ("frozen_long.yaml", "frozen"),
         "bootstrap": ("frozen_bootstrap.yaml", "frozen"),
         "generative": ("frozen_generative.yaml", "frozen"), "finetune": ("finetune.yaml", "finetune")}
BASELINE = "naive"


# ---- running ------------------------------------------------------------------------------------------
def run(root: Path, parts: list[str], data_dir: str | None) -> None:
    from w2sg.config import load_yaml_spec
    from w2sg.sweep import SweepSpec, run_sweep

    root.mkdir(parents=True, exist_ok=True)
    for part in parts:
        grid, workdir = PARTS[part]
        sweep = load_yaml_spec(HERE / grid, SweepSpec)
        for task in sweep.tasks:  # one task at a time: finished tasks are usable while later ones run
            t0 = time.perf_counter()
            report = run_sweep(sweep.model_copy(update={"tasks": [task]}), root / workdir, data_dir=data_dir,
                               on_event=lambda kind, info: print(kind, info.get("label", ""),
                                                                 info.get("error") or "", flush=True))
            seconds = time.perf_counter() - t0
            _append_timing(root, {"part": part, "task": task, "seconds": round(seconds, 1),
                                  "computed": report.computed, "already_done": report.skipped,
                                  "failed": report.failed, "at": time.strftime("%F %T")})
            print(f"{part} {task}: {seconds:.0f}s ({report.computed} computed, {report.skipped} already done, "
                  f"{report.failed} failed)", flush=True)


def _append_timing(root: Path, entry: dict) -> None:
    path = root / "timings.json"
    entries = json.loads(path.read_text()) if path.exists() else []
    path.write_text(json.dumps(entries + [entry], indent=1))


# ---- statistics ---------------------------------------------------------------------------------------
def _mean(xs):
    xs = [x for x in xs if x is not None]
    return statistics.fmean(xs) if xs else None


def _sd(xs):
    xs = [x for x in xs if x is not None]
    return statistics.stdev(xs) if len(xs) > 1 else None


def by_task_method(records: list[dict]) -> dict[tuple[str, str], list[dict]]:
    groups: dict[tuple[str, str], list[dict]] = defaultdict(list)
    for r in records:
        groups[(r["task"], r["method"])].append(r)
    return groups


def task_stability(records: list[dict]) -> dict[str, dict]:
    """Per task, from the weak model and ceiling (shared by all methods of a seed): the gap over seeds and
    whether it is within noise. A task is stable when most seeds have a gap whose paired-bootstrap CI excludes
    0 (the library's per-experiment `unstable` flag) and the seed-mean gap is positive. (A t-interval over
    3-5 seeds is too wide to be useful here: with 3 seeds, t = 4.3.)"""
    from w2sg.metrics import seed_summary

    per_seed: dict[str, dict[int, dict]] = defaultdict(dict)
    for r in records:
        per_seed[r["task"]].setdefault(r["seed"], r)
    out = {}
    for task, seeds in per_seed.items():
        rows = list(seeds.values())
        gap = seed_summary([r["gap_acc"] for r in rows])
        n_unstable = sum(bool(r["unstable"]) for r in rows)
        out[task] = {"weak": _mean([r["weak_acc"] for r in rows]), "ceiling": _mean([r["ceiling_acc"] for r in rows]),
                     "gap": gap["mean"], "gap_ci": (gap["ci_low"], gap["ci_high"]), "n_seeds": len(rows),
                     "n_unstable": n_unstable,
                     "unstable": bool(gap["mean"] is None or gap["mean"] <= 0 or 2 * n_unstable >= len(rows))}
    return out


def median_ci(per_task: dict[str, list[float]], n_boot: int = 2000, seed: int = 0) -> tuple:
    """Median over tasks of the seed-mean PGR, with a two-level bootstrap CI (tasks, then seeds in a task)."""
    tasks = [t for t, v in per_task.items() if v]
    if not tasks:
        return None, None, None
    point = float(np.median([np.mean(per_task[t]) for t in tasks]))
    rng = np.random.default_rng(seed)
    meds = []
    for _ in range(n_boot):
        picked = rng.choice(len(tasks), len(tasks))
        means = [np.mean(rng.choice(per_task[tasks[i]], len(per_task[tasks[i]]))) for i in picked]
        meds.append(np.median(means))
    lo, hi = np.percentile(meds, [2.5, 97.5])
    return point, float(lo), float(hi)


def headline(records: list[dict], stability: dict[str, dict], metric: str = "pgr_acc") -> list[dict]:
    """Per method: median over stable tasks of the seed-mean PGR (CI), and how often it beats naive."""
    groups = by_task_method(records)
    methods = sorted({m for _, m in groups}, key=_method_order)
    stable = [t for t, s in stability.items() if not s["unstable"]]
    rows = []
    for m in methods:
        per_task = {t: [r[metric] for r in groups.get((t, m), []) if r[metric] is not None] for t in stable}
        point, lo, hi = median_ci(per_task)
        wins = sum(
            1 for t in stable if per_task[t] and groups.get((t, BASELINE))
            and np.mean(per_task[t]) > np.mean([r[metric] for r in groups[(t, BASELINE)] if r[metric] is not None])
        )
        n_tasks = sum(bool(v) for v in per_task.values())
        rows.append({"method": m, "median": point, "ci_low": lo, "ci_high": hi, "n_tasks": n_tasks,
                     "beats_naive": wins, "oracle": any(r.get("oracle") for (_, mm), rs in groups.items()
                                                         if mm == m for r in rs)})
    return rows


def _method_order(m: str) -> tuple:
    order = ["naive", "naive_hard", "confidence", "product", "early_stop", "early_stop_oracle", "filter_confident",
             "s2s_relabel", "probe_relabel", "weak_ensemble", "bootstrap", "generative_finetune"]
    base = m.split("(")[0]
    return (order.index(base) if base in order else len(order), m)


# ---- page ---------------------------------------------------------------------------------------------
def _f(x, d=2):
    return "–" if x is None else f"{x:.{d}f}"


def _load(root: Path, workdir: str) -> list[dict]:
    from w2sg.store import ResultsStore

    path = root / workdir / "results.sqlite"
    return ResultsStore(path).records() if path.exists() else []


def _task_table(records, stability, metric) -> list[str]:
    groups = by_task_method(records)
    methods = sorted({m for _, m in groups}, key=_method_order)
    short = {m: m.replace("probe_relabel(probe=", "probe_").replace("bootstrap(chain=['smollm2-135m'])",
                                                                     "bootstrap(smollm2)").rstrip(")")
             if "probe_relabel" in m else m.replace("bootstrap(chain=['smollm2-135m'])", "bootstrap(smollm2)")
             for m in methods}
    lines = ["| task | weak | ceiling | gap (seeds with a clear gap) | " + " | ".join(short[m] for m in methods) + " |",
             "|---" * (4 + len(methods)) + "|"]
    for task in sorted(stability):
        s = stability[task]
        cells = []
        for m in methods:
            vals = [r[metric] for r in groups.get((task, m), []) if r[metric] is not None]
            cells.append(f"{_f(_mean(vals))} ± {_f(_sd(vals))}" if vals else "–")
        flag = " ⚠ unstable" if s["unstable"] else ""
        lines.append(f"| {task}{flag} | {_f(s['weak'], 3)} | {_f(s['ceiling'], 3)} | {_f(s['gap'], 3)} "
                     f"({s['n_seeds'] - s['n_unstable']}/{s['n_seeds']}) | "
                     + " | ".join(cells) + " |")
    return lines


def _headline_table(rows_acc, rows_auroc) -> list[str]:
    auroc = {r["method"]: r for r in rows_auroc}
    lines = ["| method | median PGR (acc) [95% CI] | beats naive (acc) | median PGR (AUROC) [95% CI] | tasks |",
             "|---|---|---|---|---|"]
    for r in rows_acc:
        a = auroc.get(r["method"], {})
        name = r["method"] + (" (ORACLE)" if r["oracle"] else "")
        lines.append(f"| {name} | {_f(r['median'])} [{_f(r['ci_low'])}, {_f(r['ci_high'])}] | "
                     f"{r['beats_naive']}/{r['n_tasks']} | {_f(a.get('median'))} [{_f(a.get('ci_low'))}, "
                     f"{_f(a.get('ci_high'))}] | {r['n_tasks']} |")
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
            ax.errorbar(r["median"], y, xerr=[[r["median"] - r["ci_low"]], [r["ci_high"] - r["median"]]],
                        fmt="o", color="tab:red" if r["oracle"] else "tab:blue", capsize=3)
        ax.axvline(0, color="grey", lw=0.8)
        ax.axvline(1, color="grey", lw=0.8, ls="--")
        ax.set_yticks(ys, [r["method"] + (" (oracle)" if r["oracle"] else "") + f"  [{r['n_tasks']} tasks]"
                           for r in rows])
        ax.set_xlabel(f"median PGR over stable tasks ({name}), 95% CI")
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def page(root: Path, out: Path) -> Path:
    from w2sg.report.html import write_html_report

    out.mkdir(parents=True, exist_ok=True)
    timings = json.loads((root / "timings.json").read_text()) if (root / "timings.json").exists() else []
    lines = ["# w2sg method-zoo study (generated by `python studies/method_zoo.py page`)", ""]
    lines += [f"Results stores under `{root}`. Regenerate: `python studies/method_zoo.py run && python "
              "studies/method_zoo.py page`. Every number below is computed from the stores.", ""]
    spent = defaultdict(float)
    for t in timings:
        spent[t["part"]] += t["seconds"]
    if spent:
        lines += ["Wall time (sum of the invocations that computed it, 2-core CPU): "
                  + ", ".join(f"{p} {s / 60:.1f} min" for p, s in spent.items()), ""]
    for workdir, title in (("frozen", "Frozen-feature mode (linear probes)"), ("finetune", "Full finetuning (CPU)")):
        records = [r for r in _load(root, workdir) if r["weak"] == "minilm" and r["strong"] == "mpnet"]
        if not records:
            continue
        stability = task_stability(records)
        rows_acc, rows_auroc = headline(records, stability, "pgr_acc"), headline(records, stability, "pgr_auroc")
        stable = sorted(t for t, s in stability.items() if not s["unstable"])
        seeds = sorted({r["seed"] for r in records})
        spec = records[0]["spec"]
        lines += [f"## {title}", "",
                  f"weak minilm → strong mpnet; seeds {seeds}; splits {spec['splits']}; train {spec['train']}; "
                  f"{len(records)} experiments.", "",
                  f"Stable tasks (most seeds have a ceiling − weak gap whose 95% paired-bootstrap CI excludes 0; "
                  f"the headline uses these): {', '.join(stable) or 'none'}. "
                  f"Unstable: {', '.join(sorted(set(stability) - set(stable))) or 'none'}.", "",
                  "### Headline: median PGR across stable tasks", "",
                  "Per task the PGR is the mean over seeds; the CI is a two-level bootstrap (tasks, then seeds). "
                  "'beats naive' counts stable tasks where the method's seed-mean PGR exceeds naive's.", ""]
        lines += _headline_table(rows_acc, rows_auroc) + [""]
        fig = out / f"headline_{workdir}.png"
        headline_figure(rows_acc, rows_auroc, fig, f"{title}: minilm → mpnet")
        lines += [f"![headline]({fig.name})", ""]
        for metric, name in (("pgr_acc", "accuracy"), ("pgr_auroc", "AUROC")):
            lines += [f"### PGR ({name}) per task: mean ± sd over seeds", ""]
            lines += _task_table(records, stability, metric) + [""]
        ens = [r for r in records if r["method"].startswith("weak_ensemble") and r.get("supervisor_acc") is not None]
        if ens:
            lines += [f"Weak ensemble supervisor vs the single weak model (test accuracy, mean over "
                      f"{len(ens)} experiments): {_f(_mean([r['supervisor_acc'] for r in ens]), 3)} vs "
                      f"{_f(_mean([r['weak_acc'] for r in ens]), 3)}.", ""]
        # the full HTML report (every experiment, five figures) stays beside the store: it is ~10 MB
        html, _ = write_html_report(records, root / workdir / "report", title=f"method zoo: {title}")
        for name in ("methods_compared", "pgr_vs_gap", "agreement"):
            src = html.parent / f"fig_{name}.png"
            if src.exists():
                shutil.copyfile(src, out / f"{workdir}_{name}.png")
                lines += [f"![{name}]({workdir}_{name}.png)", ""]
        lines += [f"Full report (every experiment, all five standard figures): `{html}`", ""]
    comparison = HERE / "comparison.md"
    if comparison.exists():
        lines += [comparison.read_text()]
    md = out / "README.md"
    md.write_text("\n".join(lines) + "\n")
    return md


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("command", choices=["run", "page"])
    ap.add_argument("--root", type=Path, default=Path("w2sg-study"), help="where the study's workdirs live")
    ap.add_argument("--parts", default="frozen,generative,long,bootstrap,finetune")
    ap.add_argument("--data-dir", default=None)
    ap.add_argument("--out", type=Path, default=HERE / "results")
    args = ap.parse_args()
    if args.command == "run":
        run(args.root, [p for p in args.parts.split(",") if p], args.data_dir)
    else:
        print(page(args.root, args.out))


if __name__ == "__main__":
    main()
