"""Scaling study: PGR against the strong model's size for weak supervisors of very different strength, zero-shot
elicitation beside it, and the same texts in represented and novel (ciphered) form.

    python studies/scaling.py run  [--root DIR] [--part main|zero_shot|novel|xl|layers|gpu] [--tasks a,b]  # resumable
    python studies/scaling.py page [--root DIR] [--out studies/results]

Grids (all in `<root>/scaling`, one set of splits: every seed re-splits the same fixed rows of a task,
`splits.n_pool`, so each model's features are computed once for all seeds):
scaling.yaml (weak tfidf / minilm / smollm2 x strong mpnet / smollm2 / gemma3 / qwen-0.5b, naive and confidence,
3 seeds), scaling_zero_shot.yaml (each decoder's zero-shot answers), scaling_novel.yaml (sst2 and sciq beside
their word-cipher forms, tasks/*_cipher.yaml), scaling_xl.yaml (qwen-1.5b on the tasks with a gap; ~1 text/s),
scaling_layers.yaml (each decoder read at its middle layer beside the last), scaling_gpu.yaml (LoRA finetuning
on a GPU, workdir `scaling_gpu`).
Run it from any directory: task YAMLs are read relative to this folder and recorded by that relative path.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import method_zoo as zoo  # noqa: E402  (the sibling study: gap stability, median over tasks, loading)

WORKDIR = "scaling"
GPU_WORKDIR = "scaling_gpu"
PARTS = {"main": "scaling.yaml", "zero_shot": "scaling_zero_shot.yaml", "novel": "scaling_novel.yaml",
         "xl": "scaling_xl.yaml", "layers": "scaling_layers.yaml", "gpu": "scaling_gpu.yaml"}
WEAK = ("tfidf", "minilm", "smollm2-135m")
STRONG = ("mpnet", "smollm2-135m", "gemma3-270m", "qwen2.5-coder-0.5b", "qwen2.5-coder-1.5b")
METHODS = ("naive", "confidence")
NOVEL = {"tasks/sst2_cipher_half.yaml": ("sst2", "half ciphered"), "tasks/sst2_cipher.yaml": ("sst2", "ciphered"),
         "tasks/sciq_cipher_half.yaml": ("sciq", "half ciphered"), "tasks/sciq_cipher.yaml": ("sciq", "ciphered")}
# novel form -> (the represented task, the form's name)


def params(alias: str) -> int:
    from w2sg.models.zoo import MODELS

    return MODELS[alias].params


def grid(part: str):
    """The part's sweep spec (its YAML grid under studies/)."""
    from w2sg.config import load_yaml_spec
    from w2sg.sweep import SweepSpec

    return load_yaml_spec(HERE / PARTS[part], SweepSpec)


def run(root: Path, data_dir: str | None, parts: list[str], only: list[str] | None = None) -> None:
    root = root.resolve()
    data_dir = str(Path(data_dir).resolve()) if data_dir else None
    os.chdir(HERE)  # task YAMLs (tasks/*.yaml) are recorded by their path relative to studies/
    for part in parts:
        sweep = grid(part)
        sweep = sweep.model_copy(update={"tasks": [t for t in sweep.tasks if not only or t in only]})
        zoo.run_by_task(sweep, root / (GPU_WORKDIR if part == "gpu" else WORKDIR), data_dir, part,
                        root / WORKDIR / "study_timings.json")


# ---- rows ---------------------------------------------------------------------------------------------
def study_records(root: Path, part: str = "main", layer: str | None = "last") -> list[dict]:
    """Plain rows of the study: a model (or tfidf) as weak supervisor, a zoo strong model, a full budget, the
    part's splits and the strong model read at `layer` (None: any layer); other probes in the same workdir are
    left out."""
    splits = load_splits(part)
    return [r for r in zoo._load(root, GPU_WORKDIR if part == "gpu" else WORKDIR)
            if isinstance(r.get("weak"), str) and r["weak"] in WEAK and r["strong"] in STRONG
            and r.get("budget_kind", "full") == "full" and not r.get("locked") and r["spec"]["splits"] == splits
            and (layer is None or read_at(r) == layer)]


def read_at(record: dict) -> str:
    """The layer the strong model's features were read at ("last" unless the grid chose another)."""
    return record.get("spec", {}).get("train", {}).get("layer", "last")


def pair_rows(records: list[dict]) -> dict[tuple[str, str, str], list[dict]]:
    """(task, weak, strong) -> rows of the PGR methods."""
    out: dict[tuple[str, str, str], list[dict]] = defaultdict(list)
    for r in records:
        if r["method"] in METHODS:
            out[(r["task"], r["weak"], r["strong"])].append(r)
    return out


# what each accuracy key of a row becomes when the study is read by AUROC (threshold-free)
AUROC_KEYS = {"weak_acc": "weak_auroc", "ceiling_acc": "ceiling_auroc", "student_acc": "student_auroc",
              "gap_acc": "gap_auroc", "pgr_acc": "pgr_auroc", "unstable": "unstable_auroc"}


def by_auroc(records: list[dict]) -> list[dict]:
    """The rows with AUROC in place of balanced accuracy (gap, PGR and the unstable flag too), so every table and
    statement of the page can be read on the ranking; rows without an AUROC gap are left out."""
    return [{**r, **{a: r.get(b) for a, b in AUROC_KEYS.items()}} for r in records if r.get("gap_auroc") is not None]


def pair_stability(pairs: dict) -> dict[tuple[str, str, str], dict]:
    """Per (task, weak, strong): weak and ceiling accuracy, the gap over seeds, and whether it is clear (zoo rule:
    most seeds' paired-bootstrap gap CI excludes 0 and the seed-mean gap is positive)."""
    return {k: zoo.task_stability(rows)[k[0]] for k, rows in pairs.items()}


def pgr_cells(pairs: dict, stab: dict, method: str, metric: str = "pgr_acc") -> dict[tuple, list[float]]:
    """(task, weak, strong) with a clear gap -> the method's per-seed PGR (seeds whose own gap is clear)."""
    from w2sg.report.summary import stable as stable_row

    out = {}
    for k, rows in pairs.items():
        if stab[k]["unstable"]:
            continue
        vals = [r[metric] for r in rows if r["method"] == method and stable_row(r, metric)]
        if vals:
            out[k] = vals
    return out


def _fmt(m, lo=None, hi=None, digits=2) -> str:
    if m is None:
        return "–"
    ci = f" [{lo:.{digits}f}, {hi:.{digits}f}]" if lo is not None and np.isfinite(lo) else ""
    return f"{m:.{digits}f}{ci}"


# ---- statements ---------------------------------------------------------------------------------------
def size_slopes(cells: dict[tuple, list[float]], weak: str) -> list[float]:
    """Per task: least-squares slope of seed-mean PGR against log10(strong params), over the strong models with a
    clear gap from `weak` on that task (tasks with at least two such models)."""
    by_task: dict[str, list[tuple[float, float]]] = defaultdict(list)
    for (task, w, strong), vals in cells.items():
        if w == weak:
            by_task[task].append((np.log10(params(strong)), float(np.mean(vals))))
    out = []
    for pts in by_task.values():
        xs, ys = np.array(pts).T
        if len(set(xs)) >= 2:
            out.append(float(np.polyfit(xs, ys, 1)[0]))
    return out


def confidence_vs_gap(pairs: dict, stab: dict) -> tuple[list[float], list[float], list[str]]:
    """Over (task, weak, strong) with a clear gap: the gap, confidence − naive PGR (seed-paired means), the task."""
    gaps, gains, tasks = [], [], []
    for k, rows in pairs.items():
        if stab[k]["unstable"]:
            continue
        by_seed: dict[int, dict[str, float]] = defaultdict(dict)
        for r in rows:
            if r.get("pgr_acc") is not None and np.isfinite(r["pgr_acc"]):
                by_seed[r["seed"]][r["method"]] = r["pgr_acc"]
        d = [s["confidence"] - s["naive"] for s in by_seed.values() if len(s) == 2]
        if d:
            gaps.append(stab[k]["gap"])
            gains.append(float(np.mean(d)))
            tasks.append(k[0])
    return gaps, gains, tasks


def spearman_ci(x: list[float], y: list[float], groups: list[str] | None = None, n_boot: int = 2000,
                seed: int = 0):
    """Spearman's rho with a bootstrap 95% CI: over cells, or with `groups` over groups (a drawn group brings all
    its cells: cells of one task are not independent); (None, None, None) under 4 cells or 3 groups."""
    from scipy.stats import spearmanr

    x, y = np.asarray(x), np.asarray(y)
    if len(x) < 4 or len(set(x)) < 2 or len(set(y)) < 2:  # too few cells, or a constant input: rho undefined
        return None, None, None
    rho = float(spearmanr(x, y).statistic)
    members = [np.flatnonzero(np.asarray(groups) == g) for g in dict.fromkeys(groups)] if groups else None
    if members is not None and len(members) < 3:
        return rho, None, None
    rng = np.random.default_rng(seed)
    boots = []
    for _ in range(n_boot):
        i = (rng.choice(len(x), len(x)) if members is None
             else np.concatenate([members[j] for j in rng.choice(len(members), len(members))]))
        if len(set(x[i])) > 1 and len(set(y[i])) > 1:
            boots.append(spearmanr(x[i], y[i]).statistic)
    if len(boots) < n_boot // 2:
        return rho, None, None
    lo, hi = np.percentile(boots, [2.5, 97.5])
    return rho, float(lo), float(hi)


def verdict(lo, hi, yes: str, no: str, open_: str) -> str:
    if lo is None or not np.isfinite(lo):
        return open_ + " (too few cells to say)"
    return yes if lo > 0 else no if hi < 0 else open_


# ---- tables -------------------------------------------------------------------------------------------
def ladder_table(pairs: dict, stab: dict) -> tuple[list[str], list[str]]:
    """Per task: each model's probe accuracy on T (weak models as weak, strong models as ceiling; seed means),
    and the pairs with a clear gap. Returns the table and the tasks where some pair has a clear gap."""
    acc: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    clear: dict[str, list[str]] = defaultdict(list)
    ceil = {(t, st) for t, _, st in pairs}  # a rung that is somewhere a strong model shows its ceiling (on B)
    for task, weak, strong in pairs:
        if (task, weak) not in ceil:
            acc[task][weak].append(stab[(task, weak, strong)]["weak"])
        acc[task][strong].append(stab[(task, weak, strong)]["ceiling"])
        if not stab[(task, weak, strong)]["unstable"]:
            clear[task].append(f"{_short(weak)}→{_short(strong)}")
    models = [m for m in ("tfidf", "minilm", *STRONG) if any(m in a for a in acc.values())]
    lines = ["| task | " + " | ".join(_short(m) for m in models) + " | pairs with a clear gap |",
             "|---|" + "---|" * (len(models) + 1)]
    for task in sorted(acc, key=_task_order):
        cells = [f"{np.mean(acc[task][m]):.3f}" if acc[task].get(m) else "–" for m in models]
        lines.append(f"| {task} | " + " | ".join(cells) + f" | {', '.join(clear[task]) or 'none'} |")
    return lines, [t for t in acc if clear[t]]


def pgr_table(pairs: dict, stab: dict) -> list[str]:
    """Per (weak, strong): tasks with a clear gap, median over them of the seed-mean gap, PGR (naive, confidence)
    with the two-level bootstrap CI (tasks, then seeds), mean student accuracy."""
    lines = ["| weak → strong | strong params | tasks with a clear gap | median gap | PGR naive [95% CI] | "
             "PGR confidence [95% CI] |", "|---|---|---|---|---|---|"]
    cells = {m: pgr_cells(pairs, stab, m) for m in METHODS}
    for weak in WEAK:
        for strong in STRONG:
            keys = [k for k in pairs if k[1] == weak and k[2] == strong]
            if not keys:
                continue
            clear = [k for k in keys if not stab[k]["unstable"]]
            gap = np.median([stab[k]["gap"] for k in clear]) if clear else None
            pg = {m: zoo.median_ci({k[0]: cells[m][k] for k in clear if k in cells[m]}) for m in METHODS}
            lines.append(f"| {_short(weak)} → {_short(strong)} | {params(strong) / 1e6:.0f}M | {len(clear)}/"
                         f"{len(keys)} | {_fmt(gap, digits=3)} | {_fmt(*pg['naive'])} | {_fmt(*pg['confidence'])} |")
    return lines


def zero_shot_table(records: list[dict], pairs: dict, stab: dict) -> list[str]:
    """Per task and decoder: zero-shot accuracy and AUROC (no labels), the ceiling's, and the naive student from
    each weak supervisor. The AUROC asks whether the LM ranks the rows right even where its fixed yes/no threshold
    answers one class (accuracy 0.5)."""
    zs: dict[tuple[str, str], list[dict]] = defaultdict(list)
    for r in records:
        if r["method"] == "zero_shot":
            zs[(r["task"], r["strong"])].append(r)
    lines = ["| task | strong | zero-shot acc | zero-shot AUROC | ceiling acc | ceiling AUROC | naive student acc "
             "from tfidf / minilm / smollm2 |", "|---|---|---|---|---|---|---|"]
    def mean(rows: list[dict], key: str) -> str:
        vals = [r[key] for r in rows if r.get(key) is not None]
        return _fmt(np.mean(vals) if vals else None, digits=3)

    for (task, strong), rows in sorted(zs.items(), key=lambda kv: (_task_order(kv[0][0]), params(kv[0][1]))):
        ceil = [stab[k]["ceiling"] for k in pairs if k[0] == task and k[2] == strong]
        stud = []
        for weak in WEAK:
            naive = [r for r in pairs.get((task, weak, strong), []) if r["method"] == "naive"]
            stud.append(mean(naive, "student_acc"))
        lines.append(f"| {task} | {_short(strong)} | {mean(rows, 'student_acc')} | {mean(rows, 'student_auroc')} | "
                     f"{_fmt(np.mean(ceil) if ceil else None, digits=3)} | {mean(rows, 'ceiling_auroc')} | "
                     f"{' / '.join(stud)} |")
    return lines


def novel_table(pairs: dict, stab: dict) -> list[str]:
    """Represented vs novel (half or fully ciphered) forms of the same texts, per weak and strong model."""
    lines = ["| task | weak → strong | form | weak acc | ceiling acc | naive student | PGR naive [95% CI] | "
             "PGR confidence [95% CI] |", "|---|---|---|---|---|---|---|---|"]
    for base in dict.fromkeys(b for b, _ in NOVEL.values()):
        forms = [("represented", base), *((form, t) for t, (b, form) in NOVEL.items() if b == base)]
        for weak in ("tfidf", "minilm"):
            for strong in STRONG:
                if not any((t, weak, strong) in pairs for t in NOVEL):
                    continue
                for form, task in forms:
                    k = (task, weak, strong)
                    if k not in pairs:
                        continue
                    rows, st = pairs[k], stab[k]
                    pg = {m: zoo.mean_ci([r["pgr_acc"] for r in rows if r["method"] == m]) for m in METHODS}
                    stud = np.mean([r["student_acc"] for r in rows if r["method"] == "naive"])
                    flag = "" if not st["unstable"] else " (no clear gap)"
                    lines.append(f"| {base} | {_short(weak)} → {_short(strong)} | {form} | {st['weak']:.3f} | "
                                 f"{st['ceiling']:.3f} | {stud:.3f} | {_fmt(*pg['naive'][:3])}{flag} | "
                                 f"{_fmt(*pg['confidence'][:3])} |")
    return lines


def layer_table(records: list[dict]) -> list[str]:
    """Per task and decoder: the ceiling and the naive student (minilm as weak) read at each layer in `records`
    (the study's rows at any layer), with the seed-paired difference from the last layer (t-interval over seeds)."""
    by: dict[tuple[str, str], dict[str, dict[int, dict]]] = defaultdict(lambda: defaultdict(dict))
    for r in records:
        if r["weak"] == "minilm" and r["method"] == "naive" and r["strong"] in STRONG[1:]:
            by[(r["task"], r["strong"])][f"{read_at(r)} ({r['layer_strong']})"][r["seed"]] = r
    lines = ["| task | strong | layer (index) | ceiling acc | Δ ceiling vs last [95% CI] | naive student acc | "
             "Δ student vs last [95% CI] |", "|---|---|---|---|---|---|---|"]
    for (task, strong), layers in sorted(by.items(), key=lambda kv: (_task_order(kv[0][0]), params(kv[0][1]))):
        last = next((v for k, v in layers.items() if k.startswith("last")), None)
        if last is None or len(layers) < 2:
            continue
        for name, rows in sorted(layers.items(), key=lambda kv: not kv[0].startswith("last")):
            cells = []
            for key in ("ceiling_acc", "student_acc"):
                mean = np.mean([r[key] for r in rows.values()])
                diff = ([rows[s][key] - last[s][key] for s in rows if s in last]
                        if not name.startswith("last") else [])
                cells += [f"{mean:.3f}", _fmt(*zoo.mean_ci(diff)[:3], digits=3) if diff else "–"]
            lines.append(f"| {task} | {_short(strong)} | {name} | " + " | ".join(cells) + " |")
    return lines


def load_splits(part: str) -> dict:
    return grid(part).splits.model_dump()


def _short(alias: str) -> str:
    return {"smollm2-135m": "smollm2", "gemma3-270m": "gemma3", "qwen2.5-coder-0.5b": "qwen-0.5b",
            "qwen2.5-coder-1.5b": "qwen-1.5b"}.get(alias, alias)


def _task_order(task: str) -> tuple:
    tasks = grid("main").tasks
    base = NOVEL.get(task, (task,))[0]
    return (tasks.index(base) if base in tasks else len(tasks), task)


# ---- figure -------------------------------------------------------------------------------------------
def scaling_figure(pairs: dict, stab: dict, path: Path, title: str, metric: str = "balanced accuracy") -> None:
    """PGR (median over tasks with a clear gap, CI) and mean student accuracy against strong-model size."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cells = {m: pgr_cells(pairs, stab, m) for m in METHODS}
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4.2))
    colors = {"tfidf": "tab:gray", "minilm": "tab:blue", "smollm2-135m": "tab:orange"}
    for weak in WEAK:
        for m, style in (("naive", "-o"), ("confidence", "--s")):
            xs, ys, los, his = [], [], [], []
            for strong in STRONG:
                per = {k[0]: v for k, v in cells[m].items() if k[1] == weak and k[2] == strong}
                point, lo, hi = zoo.median_ci(per)
                if point is not None:
                    xs.append(params(strong)), ys.append(point), los.append(point - lo), his.append(hi - point)
            if xs:
                ax1.errorbar(xs, ys, yerr=[los, his], fmt=style, color=colors[weak], capsize=3, alpha=0.85,
                             label=f"{_short(weak)} · {m}")
        xs, ys, err = [], [], []
        for strong in STRONG:
            vals = [np.mean([r["student_acc"] for r in rows if r["method"] == "naive"])
                    for k, rows in pairs.items() if k[1] == weak and k[2] == strong and k[0] not in NOVEL]
            m, lo, hi, n = zoo.mean_ci(vals)
            if n:
                xs.append(params(strong)), ys.append(m), err.append(0.0 if n < 2 else hi - m)
        if xs:
            ax2.errorbar(xs, ys, yerr=err, fmt="-o", color=colors[weak], capsize=3,
                         label=f"naive student from {_short(weak)} (95% t-CI over tasks)")
    xs, ys = [], []
    for strong in STRONG:
        vals = [stab[k]["ceiling"] for k in pairs if k[2] == strong and k[1] == "minilm" and k[0] not in NOVEL]
        if vals:
            xs.append(params(strong)), ys.append(np.mean(vals))
    ax2.plot(xs, ys, ":k", label="ceiling (strong on ground truth)")
    shown = [m for m in STRONG if any(k[2] == m for k in pairs)]
    for ax in (ax1, ax2):
        ax.set_xscale("log")
        ax.set_xticks([params(m) for m in shown], [f"{_short(m)}\n{params(m) / 1e6:.0f}M" for m in shown],
                      fontsize=7)
        ax.minorticks_off()
        ax.set_xlabel("strong model (parameters, log scale)")
        ax.grid(alpha=0.3)
    ax2.set_ylim(0.45, 1.0)  # a t-interval over 2-3 tasks can be wider than the scale: bars are clipped
    ax1.axhline(0, color="k", lw=0.6)
    ax1.set_ylabel("PGR (median over tasks with a clear gap)")
    ax2.set_ylabel(f"{metric} on T (mean over tasks)")
    for ax in (ax1, ax2):
        if ax.get_legend_handles_labels()[0]:  # no pair with a clear gap: nothing to name
            ax.legend(fontsize=7)
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


# ---- page ---------------------------------------------------------------------------------------------
def cost_lines(root: Path) -> list[str]:
    """Wall time per part and task (features of every model included: the sweep computes them first), and per
    part what its whole grid costs (measured where complete, else the mean per-task time so far x its tasks)."""
    path = root / WORKDIR / "study_timings.json"
    entries = json.loads(path.read_text()) if path.exists() else []
    if not entries:
        return ["No timings recorded."]
    per: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    for e in entries:
        per[e["part"]][e["task"]] += e["seconds"]
    lines = ["Wall time on 2 CPU cores (`study_timings.json`; each model's frozen features included, computed once "
             "per text and cached; a task run again when its rows were already stored adds ~0 min):", ""]
    total = 0.0
    for part, tasks in per.items():
        n_all = len(grid(part).tasks)
        ran = {t: v for t, v in tasks.items() if v > 60}  # tasks whose rows were computed here
        whole = sum(tasks.values()) + max(0, n_all - len(tasks)) * (np.mean(list(ran.values())) if ran else 0)
        total += whole if part != "gpu" else 0.0
        est = "" if len(tasks) >= n_all else f"; the whole grid ({n_all} tasks) would be about {whole / 3600:.1f} h"
        lines.append(f"- {part}{' (on the GPU machine)' if part == 'gpu' else ''}: "
                     + ", ".join(f"{t} {v / 60:.0f} min" for t, v in tasks.items())
                     + f" (total {sum(tasks.values()) / 3600:.1f} h{est})")
    lines.append(f"- every CPU part's whole grid together: about {total / 3600:.1f} h on 2 cores")
    return lines


def _chance_note(pairs: dict, stab: dict, below: float = 0.55, metric: str = "balanced accuracy") -> list[str]:
    """Name the (task, weak model) cells whose weak accuracy is near chance: their labels are close to noise, so a
    PGR near 0 there is what a student can do, not a failure to generalise."""
    near = sorted({(t, w, stab[(t, w, st)]["weak"]) for t, w, st in pairs if stab[(t, w, st)]["weak"] < below})
    if not near:
        return []
    return [f"Weak models near chance ({metric} < {below}): "
            + ", ".join(f"{_short(w)} on {t} ({a:.3f})" for t, w, a in near)
            + ". Their labels are close to noise, so their students' PGR near 0 is the expected outcome.", ""]


def gap_and_pgr_sections(pairs: dict, stab: dict, out: Path, figure: str, title: str,
                         metric: str = "balanced accuracy") -> list[str]:
    """The clear-gap count and probe ladder, the PGR-vs-size figure and table, and the two statements."""
    ladder, gap_tasks = ladder_table(pairs, stab)
    main_tasks = {k[0] for k in pairs if k[0] not in NOVEL}
    n_gap = len([t for t in gap_tasks if t in main_tasks])
    n_above = len({k[0] for k in pairs if k[0] in main_tasks and not stab[k]["unstable"] and stab[k]["weak"] >= 0.55})
    cells = {m: pgr_cells(pairs, stab, m) for m in METHODS}
    scaling_figure(pairs, stab, out / figure, title, metric)
    lines = [f"### Which tasks have a clear gap: {n_gap} of {len(main_tasks)} tasks run ({n_above} from a weak "
             f"model above chance, {metric} ≥ 0.55)", "",
             f"Probe {metric} of every rung on T (the ceiling, trained on B's ground truth, for every model that is a "
             "strong model somewhere; tfidf and minilm as weak models trained on A; means over seeds), and the "
             "weak → strong pairs whose gap is clear (most seeds' "
             "paired-bootstrap gap CI excludes 0).", "", *ladder, "",
             "### PGR against strong-model size", "", f"![scaling]({figure})", "",
             "Per weak → strong pair: over the tasks with a clear gap, the median of the seed-mean PGR with a "
             "two-level bootstrap 95% CI (tasks, then seeds).", "", *pgr_table(pairs, stab), "",
             *_chance_note(pairs, stab, metric=metric),
             "### Does PGR grow with the strong model? Does the confidence loss help more with larger gaps?", ""]
    for weak in WEAK:
        for m in METHODS:
            s = zoo.mean_ci(size_slopes(cells[m], weak))
            if s[3]:
                lines.append(f"- {_short(weak)}, {m}: slope of PGR per decade of strong parameters "
                             f"{_fmt(*s[:3])} over {s[3]} task(s) (t-interval over tasks) — " +
                             verdict(s[1], s[2], "PGR grows with the strong model",
                                     "PGR falls as the strong model grows", "not resolved at this scale"))
    above = {k: v for k, v in pairs.items() if stab[k]["weak"] >= 0.55}
    for subset, which in ((pairs, "pairs with a clear gap"),
                          (above, "of them with a weak model above chance (≥ 0.55: large gaps from labels near "
                                  "noise left out)")):
        gaps, gains, tasks = confidence_vs_gap(subset, stab)
        rho = spearman_ci(gaps, gains, tasks)
        lines.append(f"- confidence − naive PGR against the gap, over {len(gaps)} {which} on {len(set(tasks))} "
                     f"tasks: Spearman ρ {_fmt(*rho)} (bootstrap over tasks, each drawn task with all its pairs; "
                     "pairs also share weak models, so even this CI is somewhat optimistic) — " +
                     verdict(rho[1], rho[2], "the confidence loss helps more with larger gaps",
                             "the confidence loss helps less with larger gaps", "not resolved at this scale"))
    return lines


def page(root: Path, out: Path) -> Path:
    any_layer = study_records(root, layer=None)  # one read of the store; the layer section uses every layer
    records = [r for r in any_layer if read_at(r) == "last"]
    pairs = pair_rows(records)
    stab = pair_stability(pairs)
    out.mkdir(parents=True, exist_ok=True)
    lines = ["# Scaling: PGR against the strong model's size, zero-shot elicitation, represented vs novel tasks", "",
             "Generated by `python studies/scaling.py page` from the store that `python studies/scaling.py run` "
             "fills (grids `studies/scaling*.yaml`). Frozen features: a linear probe (L-BFGS to convergence, l2 by "
             "5-fold CV on ground truth) on each model's features; decoders read each text inside the task's "
             "prompt template (`train.prompt: auto`) at the last layer's last token; TF-IDF is word 1-2-gram "
             "TF-IDF + logistic regression. Sizes: A 300, B 300, V 50, T 300 rows, max 128 tokens; the 3 seeds "
             "re-split one fixed 650-row subset of each task and share one fixed T (`splits.n_pool`), so seeds "
             "vary the training rows, not the texts: seed CIs measure training variability, the per-experiment "
             "bootstrap CI on T the test sample. Accuracies are class-balanced on T (0.5 = chance).", ""]
    if not pairs:
        lines.append("No results yet: run `python studies/scaling.py run`.")
    else:
        main = {k: v for k, v in pairs.items() if k[0] not in NOVEL}  # the cipher forms: their own table
        lines += ["## Frozen features (2-core CPU)", "",
                  *gap_and_pgr_sections(main, stab, out, "scaling_pgr_vs_size.png",
                                        "Weak-to-strong scaling, frozen features (2-core CPU)")]
        auroc = pair_rows([r for r in by_auroc(records) if r["task"] not in NOVEL])
        if auroc:
            lines += ["", "## The same rows read by AUROC (threshold-free)", "",
                      "Balanced accuracy reads each probe at its 0.5 threshold. Where the classes are unequal (the "
                      "multiple-choice tasks: cosmos_qa and quail have one correct answer in 4 rows, ethics_virtue one "
                      "fitting trait in 5) a probe "
                      "with little signal puts every row on one side of it and scores exactly 0.5, whatever its "
                      "ranking knows. AUROC reads the ranking: the same experiments, with weak, ceiling, student, gap, "
                      "PGR and the clear-gap rule (the gap's paired-bootstrap CI on T) all on AUROC.", "",
                      *gap_and_pgr_sections(auroc, pair_stability(auroc), out, "scaling_auroc_pgr_vs_size.png",
                                            "Weak-to-strong scaling by AUROC, frozen features (2-core CPU)",
                                            metric="AUROC")]
        zs = zero_shot_table(records, pairs, stab)
        lines += ["", "## Zero-shot elicitation beside PGR", "",
                  "The decoder's own answer to the task's question (P(\" Yes\") vs P(\" No\") after \"Answer:\", "
                  "method `zero_shot`: no labels, no training), the ceiling, and the naive student from each weak "
                  "supervisor (balanced accuracy and AUROC on T, mean over seeds). Accuracy reads the LM's yes/no at "
                  "its own threshold (P(yes) > 0.5), which a small LM often puts on one side of every row: then the "
                  "accuracy is 0.5 and the AUROC says whether its ranking still knows the answer.", "",
                  *(zs if len(zs) > 2 else ["Not run yet: `python studies/scaling.py run --part zero_shot`."]),
                  "", "## Represented vs novel: the same texts with a word cipher", "",
                  "Each word type replaced by an invented token, one map for all splits (`tasks/*_cipher.yaml`, "
                  "`transform: {cipher: ...}`); the half-ciphered form replaces a random half of the word types and "
                  "keeps the rest (`cipher: {fraction: 0.5}`), a graded novelty. The prompt template is the "
                  "represented task's. TF-IDF sees nearly the same features in every form (a word bijection; only "
                  "one-letter words, which its tokenizer drops, become kept invented tokens), so its weak labels "
                  "barely change and a change comes from the strong side; MiniLM, like the strong models, loses what "
                  "pretraining taught it about the ciphered words. A novel row without a clear gap means the strong "
                  "model learned too little from 300 ciphered rows: its accuracy came from what pretraining knows "
                  "about the words.", ""]
        nov = novel_table(pairs, stab)
        lines += nov if len(nov) > 2 else ["Not run yet: `python studies/scaling.py run --part novel`."]
        lay = layer_table(any_layer)
        lines += ["", "## Which layer to read", "",
                  "Each decoder's features read at its middle layer beside the last layer (the study's choice), "
                  "minilm as the weak model, the same splits and seeds (`--part layers`, grid "
                  "`studies/scaling_layers.yaml`). Δ is middle − last, paired by seed.", "",
                  *(lay if len(lay) > 2 else ["Not run yet: `python studies/scaling.py run --part layers`."])]
        lines += ["", "## Cost", "", *cost_lines(root)]
    gpu = study_records(root, "gpu")
    lines += ["", "## Finetuned (LoRA) on a GPU", ""]
    if gpu:
        gpairs = pair_rows(gpu)
        lines += gap_and_pgr_sections(gpairs, pair_stability(gpairs), out, "scaling_gpu_pgr_vs_size.png",
                                      "Weak-to-strong scaling, LoRA finetuning (GPU)")
    else:
        lines.append("Not run yet (no accelerator was lent to the sessions that built this page): on a GPU machine, "
                     "`python studies/scaling.py run --part gpu` then `python studies/scaling.py page` "
                     "(grid `studies/scaling_gpu.yaml`; README, \"On a GPU\").")
    path = out / "scaling.md"
    path.write_text("\n".join(lines) + "\n")
    return path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("what", choices=["run", "page"])
    ap.add_argument("--root", type=Path, default=Path("w2sg-study"))
    ap.add_argument("--out", type=Path, default=HERE / "results")
    ap.add_argument("--data-dir", default=None)
    ap.add_argument("--tasks", help="comma-separated: run only these tasks of the grids (as the grids name them)")
    ap.add_argument("--part", action="append", choices=sorted(PARTS),
                    help="what `run` computes (repeatable; default: main, zero_shot, novel; xl is slow on CPU)")
    args = ap.parse_args()
    if args.what == "run":
        run(args.root, args.data_dir, args.part or ["main", "zero_shot", "novel"],
            args.tasks.split(",") if args.tasks else None)
    else:
        print(page(args.root, args.out))


if __name__ == "__main__":
    main()
