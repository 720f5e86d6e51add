"""Scaling study: PGR against the strong model's size for weak supervisors of very different strength, zero-shot
elicitation beside it, and the same texts in represented and novel (ciphered) form.

    python studies/scaling/study.py run  [--root DIR] [--part main|zero_shot|novel|xl|layers|gpu] [--tasks a,b]
    python studies/scaling/study.py page [--root DIR] [--out studies/scaling]

`run` resumes. Grids (in this folder; all run in `<root>/scaling`, one set of splits: every seed re-splits the
same fixed rows of a task, `splits.n_pool`, so each model's features are computed once for all seeds):
scaling.yaml (weak tfidf / minilm / smollm2 x strong mpnet / smollm2 / gemma3 / qwen-0.5b, naive and confidence,
3 seeds), scaling_zero_shot.yaml (each decoder's zero-shot answers), scaling_novel.yaml (sst2 and sciq beside
their word-cipher forms, studies/tasks/*_cipher.yaml), scaling_xl.yaml (qwen-1.5b on four tasks, chosen for cost;
~1 text/s), scaling_layers.yaml (each decoder read at its middle layer beside the last), scaling_gpu.yaml (LoRA
finetuning on a GPU, workdir `scaling_gpu`).
Run it from any directory: task YAMLs are read relative to studies/ (`w2sg.study.run_by_task`'s base_dir) and
recorded by that relative path (tasks/sst2_cipher.yaml), as before the studies had a folder each.
"""

from __future__ import annotations

import argparse
from collections import defaultdict
from pathlib import Path
from typing import NamedTuple

import numpy as np

from w2sg.metrics.across_tasks import MIN_TASKS, mean_ci, spearman_by_task, verdict
from w2sg.result import as_result, as_results
from w2sg.study import (
    full_budget,
    load_grid,
    load_records,
    lock_variant,
    missing_cells,
    read_timings,
    run_by_task,
    unit_task,
)
from w2sg.sweep import expand

HERE = Path(__file__).resolve().parent
STUDIES = HERE.parent  # task YAMLs are keyed relative to it: tasks/sst2_cipher.yaml
CMD = "python studies/scaling/study.py"

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
    """The part's sweep spec (its YAML grid in this folder; YAML tasks keyed relative to studies/)."""
    return load_grid(HERE / PARTS[part], STUDIES)


def run(root: Path, data_dir: str | None, parts: list[str], only: list[str] | None = None) -> None:
    for part in parts:
        sweep = grid(part)
        sweep = sweep.model_copy(update={"tasks": [t for t in sweep.tasks if not only or t in only]})
        run_by_task(sweep, root / (GPU_WORKDIR if part == "gpu" else WORKDIR), data_dir, part,
                    root / WORKDIR / "study_timings.json", base_dir=STUDIES)


# ---- rows ---------------------------------------------------------------------------------------------
def study_records(root: Path, part: str = "main", layer: str | None = "last") -> list[dict]:
    """Plain rows of the study, with their stored test outcomes: a model (or tfidf) as weak supervisor, a zoo
    strong model, a full budget, the part's splits and the strong model read at `layer` (None: any layer); other
    probes in the same workdir are left out."""
    splits = load_splits(part)
    records = load(root, GPU_WORKDIR if part == "gpu" else WORKDIR)
    return [r for r, res in zip(records, as_results(records), strict=True)
            if isinstance(res.weak, str) and res.weak in WEAK and res.strong in STRONG
            and full_budget(res) and not lock_variant(res) and res.spec["splits"] == splits
            and (layer is None or read_at(res) == layer)]


def grid_progress(records: list[dict]) -> tuple[set[str], dict[str, tuple[int, int]]]:
    """(tasks whose every main-grid cell is among `records`, {task: (cells stored, cells in the grid)} for the
    tasks begun but not complete). Cells are (weak, strong, method, seed) of the main grid (`scaling.yaml`)."""

    want: dict[str, set] = defaultdict(set)
    for spec in expand(grid("main")):
        want[spec.task].add((weak_label_of(spec.weak), spec.strong, spec.method.name, spec.seed))
    have: dict[str, set] = defaultdict(set)
    for res in as_results(records):
        have[res.task].add((res.weak, res.strong, res.method, res.seed))
    complete = {t for t, cells in want.items() if cells <= have.get(t, set())}
    running = {t: (len(cells & have[t]), len(cells)) for t, cells in want.items()
               if t not in complete and cells & have.get(t, set())}
    return complete, running


def weak_label_of(weak) -> str:
    from w2sg.config import weak_label

    return weak_label(weak)


def load(root: Path, workdir: str) -> list[dict]:
    """The workdir's records with their stored test outcomes (CIs resample seeds, then test groups). This page
    names its cipher tasks by their YAML path (`NOVEL`), which every record keeps as `task_path` (newer records
    show a YAML task by its `name:`)."""
    return [r | {"task": r["task_path"]} if r.get("task_path") else r for r in load_records(root, workdir)]


def read_at(record: dict) -> str:
    """The layer the strong model's features were read at ("last" unless the grid chose another)."""
    return (as_result(record).spec or {}).get("train", {}).get("layer", "last")


Key = tuple[str, str, str]  # (task, weak, strong)


def pair_summaries(records: list[dict]) -> dict[Key, dict[str, dict]]:
    """(task, weak, strong) -> method -> its `summarize` row over ALL seeds (seed means; pooled PGR, gap and their
    hierarchical CIs on accuracy and AUROC), for the PGR methods."""
    from w2sg.report.summary import summarize

    out: dict[Key, dict[str, dict]] = defaultdict(dict)
    for row in summarize([r for r in records if as_result(r).method in METHODS]):
        key = (row["task"], row["weak"], row["strong"])
        if row["method"] in out[key]:
            raise ValueError(f"{key} {row['method']}: rows of two grids (variant {row['variant']!r}); the page "
                             "expects one grid per task")
        out[key][row["method"]] = row
    return dict(out)


class Gap(NamedTuple):
    """A pair's weak and ceiling seed means and its mean gap over all seeds, with the gap's hierarchical CI."""

    weak: float | None
    ceiling: float | None
    gap: float | None
    lo: float | None
    hi: float | None
    resolved: bool  # the rule that admits a pair (or a task) everywhere on the page: the gap's CI is above 0
    n_seeds: int


def gap_of(rows: dict[str, dict], metric: str = "acc") -> Gap:
    """From any method's row: weak and ceiling are shared by the methods of a seed."""
    row = next(iter(rows.values()))
    return Gap(row.get(f"weak_{metric}_mean"), row.get(f"ceiling_{metric}_mean"), row.get(f"gap_{metric}_pooled"),
               row.get(f"gap_{metric}_pooled_ci_low"), row.get(f"gap_{metric}_pooled_ci_high"),
               bool(row.get(f"pgr_{metric}_resolved")), row["n_seeds"])


def gaps(pairs: dict[Key, dict[str, dict]], metric: str = "acc") -> dict[Key, Gap]:
    return {k: gap_of(rows, metric) for k, rows in pairs.items()}


class Cells:
    """Seed means (weak, ceiling, student; hierarchical replicates) of each (weak, strong, method, metric) per task,
    from `report.compare.method_cells`, computed once."""

    def __init__(self, records: list[dict]):
        self.records = records
        self.results = as_results(records)
        self._cache: dict[tuple, dict] = {}

    def get(self, weak: str, strong: str, method: str, metric: str = "acc") -> dict:
        from w2sg.report.compare import method_cells

        key = (weak, strong, method, metric)
        if key not in self._cache:
            sub = [r for r, res in zip(self.records, self.results, strict=True) if res.pair == (weak, strong)]
            self._cache[key] = {unit_task(t): m for t, m in method_cells(sub, method, metric).items()}
        return self._cache[key]

    def median(self, weak: str, strong: str, method: str, metric: str = "acc"):
        """The median over tasks admitted by the gap rule of the pooled PGR, CI over tasks, seeds, test groups."""
        from w2sg.metrics.across_tasks import across_tasks

        return across_tasks(self.get(weak, strong, method, metric), "median")


def _f(x, d: int = 2, sign: bool = False) -> str:
    if x is None or x != x:
        return "–"
    return f"{x:+.{d}f}" if sign else f"{x:.{d}f}"


def _ci(v, lo, hi, d: int = 2, sign: bool = False) -> str:
    """'v [lo, hi]'; a missing CI end is unbounded."""
    if v is None or v != v:
        return "–"
    low = "-inf" if lo is None else _f(lo, d, sign)
    high = "+inf" if hi is None else _f(hi, d, sign)
    return f"{_f(v, d, sign)} [{low}, {high}]"


def pooled(row: dict | None, metric: str = "acc") -> str:
    """A cell's pooled PGR ('0.41 [0.20, 0.63]', or 'gap not resolved (gap …)'); '–' when not run."""
    from w2sg.report.summary import fmt_pooled

    return "–" if row is None else fmt_pooled(row, metric)


# ---- statements ---------------------------------------------------------------------------------------
def _slope(xs: np.ndarray, ys: np.ndarray) -> float:
    return float(np.polyfit(xs, ys, 1)[0])


def size_slopes(cells: Cells, gap: dict[Key, Gap], weak: str, method: str, metric: str = "acc",
                seed: int = 0, n_boot: int = 1000) -> tuple[dict[str, float], tuple]:
    """Per task: the least-squares slope of the pooled PGR against log10(strong params), over the strong models
    whose mean gap from `weak` is resolved (tasks with at least two); and their mean over tasks with a CI that
    resamples tasks, then each task's seeds and test groups (a task's strong models share its seeds and T, and
    `seed_means` draws them alike for every strong model, so a replicate's slope is paired across models).
    Returns ({task: slope}, (mean, lo, hi)); a replicate whose gap is not positive for some model counts as
    unbounded (-inf for the low end, +inf for the high end)."""
    from w2sg.metrics.pooled import pooled_pgr

    per_task: dict[str, float] = {}
    reps: list[np.ndarray] = []
    for task in sorted({k[0] for k in gap if k[1] == weak}):
        strongs = [s for s in STRONG if (k := (task, weak, s)) in gap and gap[k].resolved
                   and task in cells.get(weak, s, method, metric)]
        if len(strongs) < 2:
            continue
        xs = np.log10([params(s) for s in strongs])
        means = [cells.get(weak, s, method, metric)[task] for s in strongs]
        points = [pooled_pgr(m, metric).value for m in means]
        if any(p is None for p in points):
            continue
        per_task[task] = _slope(xs, np.array(points))
        boot = []
        for m in means:
            _, bw = m.role("weak")
            _, bc = m.role("ceiling")
            _, bs = m.role("student")
            with np.errstate(invalid="ignore", divide="ignore"):
                boot.append(np.where(bc - bw > 0, (bs - bw) / np.where(bc - bw > 0, bc - bw, 1.0), np.nan))
        boot = np.stack(boot)  # (strong models, replicates)
        ok = np.isfinite(boot).all(axis=0)
        slopes = np.full(boot.shape[1], np.nan)
        if ok.any():
            centred = xs - xs.mean()
            slopes[ok] = centred @ (boot[:, ok] - boot[:, ok].mean(axis=0)) / (centred @ centred)
        reps.append(slopes)
    if not per_task:
        return per_task, (None, None, None)
    mean = float(np.mean(list(per_task.values())))
    if len(per_task) < 2:
        return per_task, (mean, None, None)
    rng = np.random.default_rng(seed)
    r = np.stack(reps)
    k = len(per_task)
    vals = r[rng.integers(0, k, (n_boot, k)), rng.integers(0, r.shape[1], (n_boot, k))]
    lo_v = np.where(np.isnan(vals), -np.inf, vals).mean(axis=1)
    hi_v = np.where(np.isnan(vals), np.inf, vals).mean(axis=1)
    lo = float(np.percentile(lo_v, 2.5, method="lower"))
    hi = float(np.percentile(hi_v, 97.5, method="higher"))
    return per_task, (mean, lo if np.isfinite(lo) else None, hi if np.isfinite(hi) else None)


def confidence_vs_gap(pairs: dict[Key, dict[str, dict]], gap: dict[Key, Gap],
                      metric: str = "acc") -> tuple[list[float], list[float], list[str]]:
    """Over (task, weak, strong) whose mean gap is resolved: the gap, the pooled PGR of confidence minus that of
    naive (same seeds, same denominator: the difference of the mean students over the mean gap), the task."""
    xs, ys, tasks = [], [], []
    for k, rows in pairs.items():
        if not gap[k].resolved or not all(m in rows for m in METHODS):
            continue
        a, b = rows["confidence"].get(f"pgr_{metric}_pooled"), rows["naive"].get(f"pgr_{metric}_pooled")
        if a is None or b is None:
            continue
        xs.append(gap[k].gap)
        ys.append(a - b)
        tasks.append(k[0])
    return xs, ys, tasks


def method_comparison(records: list[dict], weak: str, strong: str, metric: str = "acc"):
    """confidence vs naive on one weak → strong pair, paired by seed, per task and over the admitted tasks."""
    from w2sg.report.compare import compare_records

    sub = [r for r in records if as_result(r).pair == (weak, strong)]
    return compare_records(sub, "confidence", "naive", metric)[0]


# ---- tables -------------------------------------------------------------------------------------------
def ladder_table(gap: dict[Key, Gap]) -> tuple[list[str], list[str]]:
    """Per task: each model's probe score on T (weak models as weak, strong models as ceiling; seed means), and the
    pairs whose mean gap is resolved. Returns the table and the tasks where some pair has one."""
    acc: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    clear: dict[str, list[str]] = defaultdict(list)
    ceil = {(t, st) for t, _, st in gap}  # a rung that is somewhere a strong model shows its ceiling (on B)
    for (task, weak, strong), g in gap.items():
        if (task, weak) not in ceil and g.weak is not None:
            acc[task][weak].append(g.weak)
        if g.ceiling is not None:
            acc[task][strong].append(g.ceiling)
        if g.resolved:
            clear[task].append(f"{_short(weak)}→{_short(strong)}")
    models = [m for m in ("tfidf", "minilm", *STRONG) if any(m in a for a in acc.values())]
    lines = ["| task | " + " | ".join(_short(m) for m in models) + " | pairs whose mean gap is resolved |",
             "|---|" + "---|" * (len(models) + 1)]
    for task in sorted(acc, key=_task_order):
        cells = [f"{np.mean(acc[task][m]):.3f}" if acc[task].get(m) else "–" for m in models]
        lines.append(f"| {task} | " + " | ".join(cells) + f" | {', '.join(sorted(clear[task])) or 'none'} |")
    return lines, [t for t in acc if clear[t]]


def pgr_table(gap: dict[Key, Gap], cells: Cells, metric: str = "acc") -> list[str]:
    """Per (weak, strong): the tasks admitted (mean gap resolved), the median of their mean gaps, and the median
    over them of the pooled PGR (naive, confidence) with its CI over tasks, seeds and test groups."""
    lines = ["| weak → strong | strong params | tasks admitted | median gap | PGR naive [95% CI] | "
             "PGR confidence [95% CI] |", "|---|---|---|---|---|---|"]
    for weak in WEAK:
        for strong in STRONG:
            keys = [k for k in gap if k[1] == weak and k[2] == strong]
            if not keys:
                continue
            admitted = [k for k in keys if gap[k].resolved]
            med = np.median([gap[k].gap for k in admitted]) if admitted else None
            pg = {m: cells.median(weak, strong, m, metric) for m in METHODS}
            lines.append(f"| {_short(weak)} → {_short(strong)} | {params(strong) / 1e6:.0f}M | {len(admitted)}/"
                         f"{len(keys)} | {_f(med, 3)} | "
                         + " | ".join(_ci(pg[m].value, pg[m].ci_low, pg[m].ci_high) if pg[m].value is not None
                                      else "no task admitted" for m in METHODS) + " |")
    return lines


def tasks_by_strong(pairs: dict[Key, dict[str, dict]]) -> dict[str, set[str]]:
    """The represented (not ciphered) tasks each strong model ran."""
    return {s: {k[0] for k in pairs if k[2] == s and k[0] not in NOVEL} for s in STRONG}


def partial_rung_table(pairs: dict[Key, dict[str, dict]], metric: str = "acc") -> list[str]:
    """A strong model run on fewer tasks than the others (qwen-1.5b, the xl part: 4 tasks chosen for cost) has its
    median over those tasks only, which is not comparable with the other rungs' medians over every task. Here each
    rung on the partial rung's own tasks: per task and weak model, the naive student's pooled PGR by strong model
    ('n.r.': mean gap not resolved; '–': not run)."""
    tasks_of = tasks_by_strong(pairs)
    most = max((len(t) for t in tasks_of.values()), default=0)
    partial = [s for s in STRONG if 0 < len(tasks_of[s]) < most]
    if not partial:
        return []
    tasks = sorted(set().union(*(tasks_of[s] for s in partial)), key=_task_order)
    lines = [f"{', '.join(_short(s) for s in partial)} ran on {len(tasks)} task(s) only ({', '.join(tasks)}; "
             "chosen for cost by the old page's gap reading), so its median above is over those tasks. Every rung "
             "on the same tasks, naive student, pooled PGR over all seeds ('n.r.': the mean gap is not resolved):",
             "", "| task | weak | " + " | ".join(_short(s) for s in STRONG) + " |",
             "|---|---|" + "---|" * len(STRONG)]
    for task in tasks:
        for weak in WEAK:
            cells = []
            for strong in STRONG:
                text = pooled(pairs.get((task, weak, strong), {}).get("naive"), metric)
                cells.append("n.r." if text.startswith("gap not resolved") else text)
            if any(c != "–" for c in cells):
                lines.append(f"| {task} | {_short(weak)} | " + " | ".join(cells) + " |")
    return lines + [""]


def comparison_table(records: list[dict], gap: dict[Key, Gap], metric: str = "acc") -> list[str]:
    """Per (weak, strong) with an admitted task: confidence − naive, paired by seed: the mean over admitted tasks of
    the PGR difference with its CI (tasks, seeds, test groups), Wilcoxon over tasks, and the verdict."""
    lines = ["| weak → strong | tasks admitted | confidence − naive PGR, mean over admitted tasks [95% CI] | "
             "Wilcoxon p | tasks where a student-accuracy CI excludes 0 | verdict |", "|---|---|---|---|---|---|"]
    for weak in WEAK:
        for strong in STRONG:
            if not any(gap[k].resolved for k in gap if k[1] == weak and k[2] == strong):
                continue
            c = method_comparison(records, weak, strong, metric)
            if not c.admitted:
                continue
            sided = [f"{t.task} ({t.verdict})" for t in c.tasks if t.verdict != "not resolved"]
            lines.append(f"| {_short(weak)} → {_short(strong)} | {len(c.admitted)} | "
                         f"{_ci(c.diff_pgr_mean, *c.diff_pgr_ci, sign=True)} | {_f(c.wilcoxon_p)} | "
                         f"{', '.join(sided) or 'none'} | {c.verdict} |")
    return lines


def zero_shot_table(records: list[dict], pairs: dict[Key, dict[str, dict]], gap: dict[Key, Gap]) -> list[str]:
    """Per task and decoder: zero-shot accuracy and AUROC (no labels), the ceiling's, and the naive student from
    each weak supervisor (seed means). The AUROC asks whether the LM ranks the rows right even where its fixed
    yes/no threshold answers one class (accuracy 0.5)."""
    zs: dict[tuple[str, str], list[dict]] = defaultdict(list)
    for r in records:
        res = as_result(r)
        if res.method == "zero_shot":
            zs[(res.task, res.strong)].append(r)
    lines = ["| task | strong | zero-shot acc | zero-shot AUROC | ceiling acc | ceiling AUROC | naive student acc "
             "from tfidf / minilm / smollm2 |", "|---|---|---|---|---|---|---|"]

    def mean(rows: list[dict], key: str) -> str:
        vals = [r[key] for r in rows if r.get(key) is not None]
        return _f(np.mean(vals) if vals else None, 3)

    for (task, strong), rows in sorted(zs.items(), key=lambda kv: (_task_order(kv[0][0]), params(kv[0][1]))):
        ceil = [g.ceiling for k, g in gap.items() if k[0] == task and k[2] == strong and g.ceiling is not None]
        stud = [_f(pairs[k]["naive"]["student_acc_mean"], 3) if "naive" in pairs.get(k := (task, w, strong), {})
                else "–" for w in WEAK]
        lines.append(f"| {task} | {_short(strong)} | {mean(rows, 'student_acc')} | {mean(rows, 'student_auroc')} | "
                     f"{_f(np.mean(ceil) if ceil else None, 3)} | {mean(rows, 'ceiling_auroc')} | "
                     f"{' / '.join(stud)} |")
    return lines


def novel_table(pairs: dict[Key, dict[str, dict]], gap: dict[Key, Gap]) -> list[str]:
    """Represented vs novel (half or fully ciphered) forms of the same texts, per weak and strong model: seed means
    and the pooled PGR over all seeds ('gap not resolved' where the mean gap's CI reaches 0)."""
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
                    rows, g = pairs[k], gap[k]
                    stud = rows["naive"]["student_acc_mean"] if "naive" in rows else None
                    lines.append(f"| {base} | {_short(weak)} → {_short(strong)} | {form} | {_f(g.weak, 3)} | "
                                 f"{_f(g.ceiling, 3)} | {_f(stud, 3)} | {pooled(rows.get('naive'))} | "
                                 f"{pooled(rows.get('confidence'))} |")
    return lines


def layer_table(records: list[dict]) -> list[str]:
    """Per task and decoder: the ceiling and the naive student (minilm as weak) read at each layer in `records`
    (the study's rows at any layer), with the seed-paired difference from the last layer (t-interval over seeds)."""
    by: dict[tuple[str, str], dict[str, dict[int, dict]]] = defaultdict(lambda: defaultdict(dict))
    for r in records:
        res = as_result(r)
        if res.weak == "minilm" and res.method == "naive" and res.strong in STRONG[1:]:
            by[(res.task, res.strong)][f"{read_at(res)} ({r['layer_strong']})"][res.seed] = r
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
                cells += [f"{mean:.3f}", _ci(*mean_ci(diff)[:3], d=3) if diff else "–"]
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
PGR_YLIM = (-1.0, 1.5)  # an unbounded CI end (too many resamples without a positive gap) reaches the panel's edge


def scaling_figure(pairs: dict[Key, dict[str, dict]], gap: dict[Key, Gap], cells: Cells, path: Path, title: str,
                   metric: str = "acc") -> None:
    """PGR (median over the admitted tasks of the pooled PGR, CI over tasks, seeds and test groups) and the mean
    student score over tasks against strong-model size."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    name = {"acc": "balanced accuracy", "auroc": "AUROC"}[metric]
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4.2))
    colors = {"tfidf": "tab:gray", "minilm": "tab:blue", "smollm2-135m": "tab:orange"}
    # the right panel's means are over the tasks every strong model ran (a rung run on fewer tasks, e.g. qwen-1.5b
    # on 4, would otherwise be averaged over other, easier tasks than the rest)
    ran = [t for t in tasks_by_strong(pairs).values() if t]
    common = set.intersection(*ran) if ran else set()
    for weak in WEAK:
        for m, style in (("naive", "-o"), ("confidence", "--s")):
            xs, ys, los, his = [], [], [], []
            for strong in STRONG:
                if not any(k[1] == weak and k[2] == strong and gap[k].resolved for k in gap):
                    continue
                a = cells.median(weak, strong, m, metric)
                if a.value is None:
                    continue
                lo = PGR_YLIM[0] if a.ci_low is None else a.ci_low
                hi = PGR_YLIM[1] if a.ci_high is None else a.ci_high
                xs.append(params(strong)), ys.append(a.value)
                los.append(max(0.0, a.value - lo)), his.append(max(0.0, hi - a.value))
            if xs:
                ax1.errorbar(xs, ys, yerr=[los, his], fmt=style, color=colors[weak], capsize=3, alpha=0.85,
                             label=f"{_short(weak)} · {m}")
        xs, ys, err = [], [], []
        for strong in STRONG:
            vals = [rows["naive"][f"student_{metric}_mean"] for k, rows in pairs.items()
                    if k[1] == weak and k[2] == strong and k[0] in common and "naive" in rows]
            mean, lo, hi, n = mean_ci(vals)
            if n:
                xs.append(params(strong)), ys.append(mean), err.append(0.0 if n < 2 else hi - mean)
        if xs:
            ax2.errorbar(xs, ys, yerr=err, fmt="-o", color=colors[weak], capsize=3,
                         label=f"naive student from {_short(weak)} (95% t-CI over tasks)")
    xs, ys = [], []
    for strong in STRONG:
        vals = [g.ceiling for k, g in gap.items() if k[2] == strong and k[1] == "minilm" and k[0] in common
                and g.ceiling is not None]
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
    ax1.set_ylim(*PGR_YLIM)
    ax2.set_ylim(0.45, 1.0)  # a t-interval over 2-3 tasks can be wider than the scale: bars are clipped
    ax1.axhline(0, color="k", lw=0.6)
    ax1.set_ylabel("pooled PGR: median over tasks with a resolved mean gap")
    ax2.set_ylabel(f"{name} on T\n(mean over the {len(common)} tasks all strong models ran)", fontsize=9)
    for ax in (ax1, ax2):
        if ax.get_legend_handles_labels()[0]:  # no admitted pair: nothing to name
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
    entries = read_timings(path)
    if not entries:
        return ["No timings recorded."]
    per: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    computed: dict[tuple[str, str], int] = defaultdict(int)
    cells: dict[tuple[str, str], int] = defaultdict(int)
    for e in entries:
        per[e["part"]][e["task"]] += e["seconds"]
        computed[e["part"], e["task"]] += e.get("computed", 0)
        cells[e["part"], e["task"]] = max(cells[e["part"], e["task"]],
                                          sum(e.get(k, 0) for k in ("computed", "already_done", "failed")))
    # a task some of whose cells were computed by a run that was interrupted (its time is not recorded)
    resumed = {k for k, n in cells.items() if computed[k] < n and per[k[0]][k[1]] > 60}
    lines = ["Wall time on 2 CPU cores (`study_timings.json`; each model's frozen features included, computed once "
             "per text and cached; a task run again when its rows were already stored adds ~0 min; ≥: a task "
             "resumed after an interrupted run, whose time before the interruption is not recorded):", ""]
    total = 0.0
    for part, tasks in per.items():
        n_all = len(grid(part).tasks)
        ran = {t: v for t, v in tasks.items() if v > 60}  # tasks whose rows were computed here
        whole = sum(tasks.values()) + max(0, n_all - len(tasks)) * (np.mean(list(ran.values())) if ran else 0)
        total += whole if part != "gpu" else 0.0
        est = "" if len(tasks) >= n_all else f"; the whole grid ({n_all} tasks) would be about {whole / 3600:.1f} h"
        lines.append(f"- {part}{' (on the GPU machine)' if part == 'gpu' else ''}: "
                     + ", ".join(f"{t} {'≥' if (part, t) in resumed else ''}{v / 60:.0f} min"
                                 for t, v in tasks.items())
                     + f" (total {sum(tasks.values()) / 3600:.1f} h{est})")
    untimed = [part for part in PARTS if part != "gpu" and part not in per]
    lines.append(f"- every CPU part's whole grid together: about {total / 3600:.1f} h on 2 cores"
                 if not untimed else f"- the timed parts' whole grids together: about {total / 3600:.1f} h on 2 "
                 f"cores; not timed in this store: {', '.join(untimed)}")
    return lines


def _chance_note(gap: dict[Key, Gap], below: float = 0.55, metric: str = "acc") -> list[str]:
    """Name the (task, weak model) cells whose weak score is near chance: their labels are close to noise, so a
    PGR near 0 there is what a student can do, not a failure to generalise."""
    near = sorted({(t, w, g.weak) for (t, w, _), g in gap.items() if g.weak is not None and g.weak < below})
    if not near:
        return []
    name = {"acc": "balanced accuracy", "auroc": "AUROC"}[metric]
    return [f"Weak models near chance ({name} < {below}): "
            + ", ".join(f"{_short(w)} on {t} ({a:.3f})" for t, w, a in near)
            + ". Their labels are close to noise, so their students' PGR near 0 is the expected outcome.", ""]


def gap_and_pgr_sections(records: list[dict], pairs: dict[Key, dict[str, dict]], out: Path, figure: str,
                         title: str, metric: str = "acc", new: dict | None = None) -> list[str]:
    """The resolved-gap count and probe ladder, the PGR-vs-size figure and table, the method comparison and the two
    statements. `new` (when given) collects the numbers that the "What changed" section sets against the old
    page's."""
    name = {"acc": "balanced accuracy", "auroc": "AUROC"}[metric]
    gap = gaps(pairs, metric)
    cells = Cells(records)
    ladder, gap_tasks = ladder_table(gap)
    main_tasks = {k[0] for k in pairs if k[0] not in NOVEL}
    n_gap = len([t for t in gap_tasks if t in main_tasks])
    n_above = len({k[0] for k, g in gap.items() if k[0] in main_tasks and g.resolved and g.weak >= 0.55})
    scaling_figure(pairs, gap, cells, out / figure, title, metric)
    lines = [f"### Which tasks have a resolved gap: {n_gap} of {len(main_tasks)} tasks run ({n_above} from a weak "
             f"model above chance, {name} ≥ 0.55)", "",
             f"Probe {name} of every rung on T (the ceiling, trained on B's ground truth, for every model that is a "
             "strong model somewhere; tfidf and minilm as weak models trained on A; means over all seeds), and the "
             "weak → strong pairs whose mean gap over all seeds has a 95% CI above 0 (seeds, then test groups). "
             "This rule, stated before any PGR is read, admits the pairs and tasks of every statistic below.", "",
             *ladder, "", "### PGR against strong-model size", "", f"![scaling]({figure})", "",
             "Per weak → strong pair: over the tasks admitted by the rule, the median of the pooled PGR (mean student "
             "− mean weak over mean ceiling − mean weak, all seeds) with a 95% CI that resamples tasks, then seeds, "
             "then test groups (`metrics.across_tasks`). An unbounded CI end means too many resamples had no "
             "positive gap.", "", *pgr_table(gap, cells, metric), "", *partial_rung_table(pairs, metric),
             *_chance_note(gap, metric=metric),
             "### Confidence loss against naive, paired by seed", "",
             "Per pair, `report.compare.compare_records`: confidence − naive on the same seeds (same splits, weak "
             "model and ceiling), the PGR difference averaged over admitted tasks with a CI over tasks, seeds and test "
             "groups; the verdict reads that CI.", "", *comparison_table(records, gap, metric), "",
             "### Does PGR grow with the strong model? Does the confidence loss help more with larger gaps?", ""]
    for weak in WEAK:
        for m in METHODS:
            per_task, (mean, lo, hi) = size_slopes(cells, gap, weak, m, metric)
            if per_task:
                lines.append(f"- {_short(weak)}, {m}: slope of the pooled PGR per decade of strong parameters, mean "
                             f"over {len(per_task)} task(s) {_ci(mean, lo, hi)} (CI over tasks, seeds, test groups) "
                             "— " + verdict(lo, hi, "PGR grows with the strong model",
                                            "PGR falls as the strong model grows", "not resolved at this scale",
                                            len(per_task)))
    above = {k: v for k, v in pairs.items() if gap[k].weak is not None and gap[k].weak >= 0.55}
    for subset, which, tag in ((pairs, "pairs with a resolved mean gap", "all"),
                               (above, "of them with a weak model above chance (≥ 0.55: large gaps from labels "
                                       "near noise left out)", "above")):
        xs, ys, tasks = confidence_vs_gap(subset, gap, metric)
        rho, lo, hi = spearman_by_task(xs, ys, tasks)
        n_tasks = len(set(tasks))
        if new is not None:
            new[("spearman", metric, tag)] = (rho, lo, hi, len(xs), n_tasks)
        lines.append(f"- confidence − naive pooled PGR against the mean gap, over {len(xs)} {which} on {n_tasks} "
                     f"tasks: Spearman ρ {_ci(rho, lo, hi) if lo is not None else _f(rho)} (`spearman_ci` with a "
                     "bootstrap over tasks, each drawn task with all its pairs; pairs also share weak models, so "
                     "even this CI is somewhat optimistic) — "
                     + verdict(lo, hi, "the confidence loss helps more with larger gaps",
                               "the confidence loss helps less with larger gaps", "not resolved at this scale",
                               n_tasks))
    if new is not None:
        new[("clear", metric)] = (n_gap, len(main_tasks))
        for (weak, strong, m) in OLD_PAIR_MEDIANS.get(metric, {}):
            if any(k[1] == weak and k[2] == strong for k in pairs):
                new[("median", metric, weak, strong, m)] = cells.median(weak, strong, m, metric)
    return lines


# ---- what changed since the page before issue 22 ------------------------------------------------------
OLD_COMMIT = "723b496"  # `git show 723b496:studies/results/scaling.md`: 13 tasks (main), 3 seeds
# the confidence-vs-gap statement: (metric, subset) -> (rho, lo, hi, pairs, tasks, what the old page concluded)
OLD_SPEARMAN = {("acc", "all"): (0.63, 0.27, 0.93, 32, 4, "the confidence loss helps more with larger gaps"),
                ("acc", "above"): (0.50, 0.45, 0.79, 17, 3, "the confidence loss helps more with larger gaps"),
                ("auroc", "all"): (0.13, -0.41, 0.51, 38, 8, "not resolved"),
                ("auroc", "above"): (-0.08, -0.60, 0.28, 25, 4, "not resolved")}
OLD_CLEAR = {"acc": (4, 13), "auroc": (8, 13)}  # tasks with a "clear gap" (most seeds' gap CI above 0)
# pair medians whose old CI excluded 0 (medians over clear-gap tasks of the mean PGR over stable seeds):
# metric -> (weak, strong, method) -> (median, lo, hi, tasks)
OLD_PAIR_MEDIANS = {
    "acc": {("minilm", "smollm2-135m", "confidence"): (0.26, 0.13, 0.44, 1),
            ("minilm", "gemma3-270m", "naive"): (-0.46, -0.58, -0.38, 1),
            ("minilm", "gemma3-270m", "confidence"): (-0.52, -0.79, -0.25, 1),
            ("smollm2-135m", "qwen2.5-coder-0.5b", "naive"): (0.25, 0.09, 0.55, 1),
            ("smollm2-135m", "qwen2.5-coder-1.5b", "naive"): (0.55, 0.16, 0.75, 3),
            ("smollm2-135m", "qwen2.5-coder-1.5b", "confidence"): (0.62, 0.35, 0.84, 3)},
    "auroc": {("minilm", "qwen2.5-coder-0.5b", "naive"): (0.79, 0.61, 0.98, 1),
              ("minilm", "qwen2.5-coder-0.5b", "confidence"): (0.66, 0.55, 0.73, 1),
              ("smollm2-135m", "qwen2.5-coder-0.5b", "confidence"): (0.14, 0.03, 0.26, 2),
              ("smollm2-135m", "qwen2.5-coder-1.5b", "naive"): (0.56, 0.21, 0.89, 3),
              ("smollm2-135m", "qwen2.5-coder-1.5b", "confidence"): (0.68, 0.22, 0.93, 3)}}
# bare PGRs the old novel table printed where the mean gap (ceiling − weak, mean over seeds) was negative
OLD_NEGATIVE_GAP = [
    ("sst2", "tfidf → mpnet", "ciphered", 0.555, 0.517, "naive 0.00 (flagged), confidence −13.78 (not flagged)"),
    ("sst2", "tfidf → smollm2", "half ciphered", 0.542, 0.531,
     "naive −18.25 [−250.14, 213.64] (flagged), confidence −26.73 [−275.11, 221.65] (not flagged)"),
    ("sst2", "tfidf → qwen-0.5b", "ciphered", 0.555, 0.477, "naive 0.00 (flagged), confidence −2.48 (not flagged)"),
    ("sciq", "tfidf → qwen-0.5b", "half ciphered", 0.498, 0.494, "naive −0.67 (flagged), confidence 1.67 "
     "(not flagged)"),
    ("sciq", "tfidf → qwen-0.5b", "ciphered", 0.497, 0.489, "naive 1.67 (flagged), confidence −1.00 (not flagged)"),
]
RERUN = ("`w2sg models pull smollm2-135m gemma3-270m qwen2.5-coder-0.5b qwen2.5-coder-1.5b` (the decoders), then "
         "`python studies/scaling/study.py run --root w2sg-study --data-dir ../shared/data` (parts main, zero_shot, "
         "novel; `--part xl` and `--part layers` for the qwen-1.5b and layer rows; about 11 h on 2 CPU cores), then "
         "`python studies/scaling/study.py page --root w2sg-study`")


def what_changed(new: dict | None, tasks_run: list[str] | None = None,
                 missing: dict[str, tuple[int, int]] | None = None) -> list[str]:
    """The old page's statements that lost their support under issue 22, with the numbers it printed, and the new
    numbers where this store has them (`new` from `gap_and_pgr_sections`; None: nothing rerun yet). `missing`:
    per CPU part, (cells without a row, cells in its grid)."""
    new = new or {}
    lines = ["## What changed (issue 22)", "",
             f"The page before issue 22 (`git show {OLD_COMMIT}:studies/results/scaling.md`) averaged each pair's PGR "
             "over the seeds whose own gap CI excluded 0 and took the median over the tasks where most seeds had "
             "such a gap (a selection on PGR's denominator), resampled T's rows i.i.d. (sciq's answers come in "
             "questions), and gave the student the ceiling's l2 (chosen by CV on B's ground truth). Now every PGR "
             "is the pooled PGR of the means over all seeds with a CI over seeds then test groups, printed only "
             "where the mean gap is resolved; tasks enter a cross-task statistic by the rule \"mean gap over all "
             "seeds resolved\"; the student's l2 comes from CV on B's weak labels.", ""]
    if tasks_run is not None:
        partial = "".join(f"; {t} is in progress ({n} of {m} experiments) and left out until its grid is complete"
                          for t, (n, m) in (new.get("running") or {}).items())
        gaps_ = {p: nm for p, nm in (missing or {}).items() if nm[0]}
        rest = (f"; not complete: {', '.join(f'{p} ({n} of {m} cells missing)' for p, (n, m) in gaps_.items())}, "
                f"which await a rerun: {RERUN}" if gaps_ or partial else
                "; every CPU part's grid is complete (" + ", ".join(missing or {}) + ")")
        lines += [f"This store holds the main grid on {len(tasks_run)} task(s) ({', '.join(tasks_run)}) of the old "
                  f"page's 13{partial}{rest}.", ""]
    else:
        lines += ["The numbers and figures below this section are the old page's (old aggregates) and await a rerun: "
                  f"{RERUN}.", ""]

    def rho_text(v):
        rho, lo, hi = v[:3]
        return "ρ undefined" if rho is None else f"ρ {rho:.2f}" + (f" [{lo:.2f}, {hi:.2f}]" if lo is not None
                                                                     else " (no CI)")

    old = OLD_SPEARMAN
    lines += ["1. **\"The confidence loss helps more with larger gaps\": lost its support.** The old page stated it "
              f"from balanced accuracy, ρ {old[('acc', 'all')][0]:.2f} [{old[('acc', 'all')][1]:.2f}, "
              f"{old[('acc', 'all')][2]:.2f}] over {old[('acc', 'all')][3]} pairs on {old[('acc', 'all')][4]} tasks "
              f"and ρ {old[('acc', 'above')][0]:.2f} [{old[('acc', 'above')][1]:.2f}, {old[('acc', 'above')][2]:.2f}]"
              f" over {old[('acc', 'above')][3]} pairs on {old[('acc', 'above')][4]} tasks above chance; the same "
              f"experiments read by AUROC gave ρ {old[('auroc', 'all')][0]:.2f} [{old[('auroc', 'all')][1]:.2f}, "
              f"{old[('auroc', 'all')][2]:.2f}] and {old[('auroc', 'above')][0]:.2f} "
              f"[{old[('auroc', 'above')][1]:.2f}, {old[('auroc', 'above')][2]:.2f}]. Its gains were means over "
              "stable seeds, its pairs chosen by the seeds' own gaps, and a bootstrap over 3-4 tasks has 10-35 "
              f"distinct resamples: this page gives no verdict under {MIN_TASKS} tasks. New: "
              + ("; ".join(f"{'accuracy' if m == 'acc' else 'AUROC'} ({'all pairs' if t == 'all' else 'above chance'}"
                           f"): {rho_text(v)} over {v[3]} pairs on {v[4]} task(s)"
                           for (_, m, t), v in sorted(((k, v) for k, v in new.items() if k[0] == "spearman"),
                                                      key=lambda kv: (kv[0][1] != "acc", kv[0][2] != "all")))
                 or "awaits the rerun") + ".", ""]
    clear = [f"{'accuracy' if m == 'acc' else 'AUROC'} {n}/{of} (new: "
             + (f"{new[('clear', m)][0]}/{new[('clear', m)][1]} tasks run" if ("clear", m) in new
                else "awaits the rerun")
             + ")" for m, (n, of) in OLD_CLEAR.items()]
    lines += ["2. **Which tasks have a gap.** The old rule (most seeds' gap CI above 0, i.i.d. over T's rows) found "
              + ", ".join(clear) + "; the new rule is the mean gap over all seeds with a CI over seeds and test "
              "groups.", ""]
    lines += ["3. **Pair medians whose CI excluded 0 on the old page** (medians of stable-seed means, mostly over 1-3 "
              f"tasks; a median over fewer than {MIN_TASKS} tasks carries no verdict on this page, whatever its CI):",
              ""]
    for metric, entries in OLD_PAIR_MEDIANS.items():
        for (weak, strong, m), (v, lo, hi, n) in entries.items():
            a = new.get(("median", metric, weak, strong, m))
            now = ("awaits the rerun" if a is None else "no task admitted" if a.value is None
                   else f"{_ci(a.value, a.ci_low, a.ci_high)} over {len(a.tasks)} task(s)")
            if a is not None and a.value is not None:
                same = (a.ci_low is not None and a.ci_low > 0) if lo > 0 else (a.ci_high is not None
                                                                                and a.ci_high < 0)
                now += ": its CI still excludes 0 on the same side" if same else ": its CI now reaches 0"
            lines.append(f"   - {'accuracy' if metric == 'acc' else 'AUROC'}, {_short(weak)} → {_short(strong)}, {m}: "
                         f"old {v:.2f} [{lo:.2f}, {hi:.2f}] over {n} task(s) → new {now}")
    lines += ["", "4. **Bare PGRs where the mean gap was negative** (represented-vs-novel table; only the naive column "
              "was flagged). Such cells now read \"gap not resolved (gap …)\"; the rerun's numbers are in the "
              "represented-vs-novel table below. The old page's:", ""]
    for base, pair, form, w, c, printed in OLD_NEGATIVE_GAP:
        lines.append(f"   - {base} {pair}, {form}: old weak {w:.3f}, ceiling {c:.3f} (mean gap {c - w:+.3f}); the old "
                     f"page printed {printed}")
    lines += ["", "5. **Readings that carried no claim**: every slope of PGR against strong-model size was \"not "
              "resolved\" on the old page, so no statement rested on one (the slopes are now of pooled PGRs, CI over "
              "tasks, seeds and test groups); the zero-shot and layer tables hold accuracies (seed means and "
              "seed-paired differences), not PGRs: the aggregation leaves them as they were (their student "
              "columns move with the student's l2 when rerun).", ""]
    return lines


INTRO = (f"Generated by `{CMD} page` from the store that `{CMD} run` fills "
         "(grids `studies/scaling/scaling*.yaml`). Frozen features: a linear probe (L-BFGS to convergence; the weak "
         "model's and the ceiling's l2 by 5-fold CV on their own ground truth, the student's by CV on B's weak labels) "
         "on each model's features; decoders read each text inside the task's prompt template (`train.prompt: auto`) "
         "at the last layer's last token; TF-IDF is word 1-2-gram TF-IDF + logistic regression. Sizes: A 300, B "
         "300, V 50, T 300 rows, max 128 tokens; the 3 seeds re-split one fixed 650-row subset of each task and "
         "share one fixed T (`splits.n_pool`), so seeds vary the training rows, not the texts. Accuracies are "
         "class-balanced on T (0.5 = chance). Every PGR is pooled over all seeds of its cell, (mean student − mean "
         "weak) / (mean ceiling − mean weak), with a 95% CI that resamples seeds, then whole test groups (seeds "
         "that share T share the resample); it is printed only where the mean gap's CI excludes 0, otherwise the "
         "cell reads \"gap not resolved\" with the gap. No seed, pair or task is left out by its own gap.")


def page(root: Path, out: Path) -> Path:
    any_layer = study_records(root, layer=None)  # one read of the store; the layer section uses every layer
    records = [r for r in any_layer if read_at(r) == "last"]
    pairs = pair_summaries(records)
    out.mkdir(parents=True, exist_ok=True)
    body: list[str] = []
    new: dict = {}
    # a task enters the main grid's sections only once every cell of its grid is stored (a rule on the store's
    # contents, stated before any result is read): a task half run would be pooled over fewer pairs and seeds
    complete, running = grid_progress(records)
    records = [r for r in records if as_result(r).task in NOVEL or as_result(r).task in complete]
    pairs = {k: v for k, v in pairs.items() if k[0] in NOVEL or k[0] in complete}
    main_records = [r for r in records if as_result(r).task not in NOVEL]  # the cipher forms: their own table
    main = {k: v for k, v in pairs.items() if k[0] not in NOVEL}
    if not pairs:
        body.append("No results yet: run `python studies/scaling/study.py run`.")
    else:
        body += ["## Frozen features (2-core CPU)", "",
                 *gap_and_pgr_sections(main_records, main, out, "scaling_pgr_vs_size.png",
                                       "Weak-to-strong scaling, frozen features (2-core CPU)", "acc", new)]
        body += ["", "## The same rows read by AUROC (threshold-free)", "",
                 "Balanced accuracy reads each probe at its 0.5 threshold. Where the classes are unequal (the "
                 "multiple-choice tasks: cosmos_qa and quail have one correct answer in 4 rows, ethics_virtue one "
                 "fitting trait in 5) a probe with little signal puts every row on one side of it and scores exactly "
                 "0.5, whatever its ranking knows. AUROC reads the ranking: the same experiments, with weak, ceiling, "
                 "student, gap, PGR and the admission rule (the mean gap's CI) all on AUROC.", "",
                 *gap_and_pgr_sections(main_records, main, out, "scaling_auroc_pgr_vs_size.png",
                                       "Weak-to-strong scaling by AUROC, frozen features (2-core CPU)", "auroc", new)]
        gap = gaps(pairs)
        zs = zero_shot_table(records, pairs, gap)
        body += ["", "## Zero-shot elicitation beside PGR", "",
                 "The decoder's own answer to the task's question (P(\" Yes\") vs P(\" No\") after \"Answer:\", "
                 "method `zero_shot`: no labels, no training), the ceiling, and the naive student from each weak "
                 "supervisor (balanced accuracy and AUROC on T, mean over seeds). Accuracy reads the LM's yes/no at "
                 "its own threshold (P(yes) > 0.5), which a small LM often puts on one side of every row: then the "
                 "accuracy is 0.5 and the AUROC says whether its ranking still knows the answer.", "",
                 *(zs if len(zs) > 2 else [f"Not in this store: `{CMD} run --part zero_shot`."]),
                 "", "## Represented vs novel: the same texts with a word cipher", "",
                 "Each word type replaced by an invented token, one map for all splits (`tasks/*_cipher.yaml`, "
                 "`transform: {cipher: ...}`); the half-ciphered form replaces a random half of the word types and "
                 "keeps the rest (`cipher: {fraction: 0.5}`), a graded novelty. The prompt template is the "
                 "represented task's. TF-IDF sees nearly the same features in every form (a word bijection; only "
                 "one-letter words, which its tokenizer drops, become kept invented tokens), so its weak labels "
                 "barely change and a change comes from the strong side; MiniLM, like the strong models, loses what "
                 "pretraining taught it about the ciphered words. A novel row whose gap is not resolved means the "
                 "strong model learned too little from 300 ciphered rows: its accuracy came from what pretraining "
                 "knows about the words.", ""]
        nov = novel_table(pairs, gap)
        body += nov if len(nov) > 2 else [f"Not in this store: `{CMD} run --part novel`."]
        lay = layer_table(any_layer)
        body += ["", "## Which layer to read", "",
                 "Each decoder's features read at its middle layer beside the last layer (the study's choice), "
                 "minilm as the weak model, the same splits and seeds (`--part layers`, grid "
                 "`studies/scaling/scaling_layers.yaml`). Δ is middle − last, paired by seed (t-interval over "
                 "seeds).", "",
                 *(lay if len(lay) > 2 else [f"Not in this store: `{CMD} run --part layers`."])]
        body += ["", "## Cost", "", *cost_lines(root)]
    gpu = study_records(root, "gpu")
    body += ["", "## Finetuned (LoRA) on a GPU", ""]
    if gpu:
        body += gap_and_pgr_sections(gpu, pair_summaries(gpu), out, "scaling_gpu_pgr_vs_size.png",
                                     "Weak-to-strong scaling, LoRA finetuning (GPU)")
    else:
        body.append("Not run yet (no accelerator was lent to the sessions that built this page): on a GPU machine, "
                    "`python studies/scaling/study.py run --part gpu` then `python studies/scaling/study.py page` "
                    "(grid `studies/scaling/scaling_gpu.yaml`; README, \"On a GPU\").")
    tasks_run = sorted({k[0] for k in main}, key=_task_order)
    if running:
        new["running"] = running
    missing = {p: missing_cells(grid(p), root / WORKDIR, STUDIES) for p in PARTS if p != "gpu"}
    lines = ["# Scaling: PGR against the strong model's size, zero-shot elicitation, represented vs novel tasks", "",
             INTRO, "", *what_changed(new if pairs else None, tasks_run if pairs else None, missing), *body]
    path = out / "README.md"
    path.write_text("\n".join(lines) + "\n")
    return path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("what", choices=["run", "page"])
    ap.add_argument("--root", type=Path, default=Path("w2sg-study"))
    ap.add_argument("--out", type=Path, default=HERE)
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
