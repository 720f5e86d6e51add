"""Statistics across tasks, built on the pooled per-task PGR (`metrics.pooled`): which tasks enter is decided by a
rule stated before any PGR is looked at (the task's mean gap over all its seeds is resolved), and every CI
resamples tasks, then seeds within a task, then test groups within a seed.

- `across_tasks`: the median (or mean) over admitted tasks of the pooled PGR, with that three-level CI;
- `compare`: a paired comparison of two methods per task (same seeds, same test sets, same weak model and
  ceiling) and across tasks (hierarchical bootstrap, Wilcoxon signed-rank and paired t over tasks);
- `spearman_ci`: Spearman's rho with a bootstrap over tasks (a drawn task brings all its points);
- `two_level_ci`: the mean over tasks of per-seed values (e.g. a seed-paired difference), resampling tasks
  then seeds;
- `mean_ci`: the mean of finite values with a 95% t-interval (seed means, or task means) and `MIN_TASKS`, the
  fewest tasks whose bootstrap carries a verdict (`spearman_by_task`, `verdict`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from w2sg.metrics.pooled import N_BOOT, Outcomes, SeedMeans, pooled_pgr, ratio_ci, seed_means
from w2sg.metrics.resample import percentile_ci

STATISTICS: dict[str, Callable[..., Any]] = {"median": np.median, "mean": np.mean}


def _inner(boot: np.ndarray, n_boot: int, rng: np.random.Generator) -> np.ndarray:
    """One inner replicate per outer replicate, drawn at random (a task drawn twice gets two draws)."""
    return boot[..., rng.integers(0, boot.shape[-1], n_boot)]


def _stat_ci(values: np.ndarray, stat: Callable) -> tuple[float | None, float | None]:
    """CI of a statistic over tasks from (n_boot, tasks) replicate values where NaN marks a task without a PGR in
    that replicate: it counts as -inf for the lower end and +inf for the upper (monotone statistics)."""
    lo_vals = stat(np.where(np.isnan(values), -np.inf, values), axis=1)
    hi_vals = stat(np.where(np.isnan(values), np.inf, values), axis=1)
    with np.errstate(invalid="ignore"):
        lo = float(np.percentile(lo_vals, 2.5, method="lower"))
        hi = float(np.percentile(hi_vals, 97.5, method="higher"))
    return (lo if math.isfinite(lo) else None), (hi if math.isfinite(hi) else None)


@dataclass
class AcrossTasks:
    """A statistic over tasks of the per-task pooled PGR, with the rule that admitted the tasks."""

    stat: str
    value: float | None
    ci_low: float | None
    ci_high: float | None
    tasks: list[str]  # admitted: the mean gap over all seeds resolved
    left_out: dict[str, str] = field(default_factory=dict)  # task -> why (gap not resolved, with its CI)
    per_task: dict[str, float] = field(default_factory=dict)
    rule: str = "tasks whose mean gap (ceiling − weak) over all seeds has a 95% CI above 0"


def across_tasks(cells: Mapping[str, SeedMeans], stat: str = "median", n_boot: int = N_BOOT,
                 seed: int = 0, admit: Sequence[str] | None = None) -> AcrossTasks:
    """`stat` (median or mean) over the admitted tasks of the pooled PGR; its CI resamples tasks, then each
    task's seeds and test groups (`cells`: task -> seed means of weak, ceiling, student).

    Admitted: the tasks whose own mean gap over all seeds is resolved, or, with `admit`, the tasks a rule stated
    elsewhere admitted (e.g. by the plain weak model's gap, the same tasks for every method); an admitted task
    whose pooled PGR is undefined here (mean gap <= 0) is left out and said so."""
    fn = STATISTICS[stat]
    pooled = {t: pooled_pgr(m) for t, m in cells.items()}
    if admit is None:
        admitted = [t for t, p in pooled.items() if p.resolved]
        left = {t: f"gap not resolved ({p.gap:.3f} [{p.gap_ci_low:.3f}, {p.gap_ci_high:.3f}])"
                for t, p in pooled.items() if not p.resolved}
    else:
        admitted = [t for t in admit if t in pooled and pooled[t].value is not None]
        left = {t: "not run" if t not in pooled else f"mean gap {pooled[t].gap:.3f} <= 0 here"
                for t in admit if t not in admitted}
    if not admitted:
        return AcrossTasks(stat, None, None, None, [], left)
    rng = np.random.default_rng(seed)
    reps = []
    for t in admitted:
        _, bw = cells[t].role("weak")
        _, bc = cells[t].role("ceiling")
        _, bs = cells[t].role("student")
        with np.errstate(invalid="ignore", divide="ignore"):
            gap = bc - bw
            reps.append(np.where(gap > 0, (bs - bw) / np.where(gap > 0, gap, 1.0), np.nan))
    reps = np.stack(reps)  # (tasks, inner n_boot)
    k = len(admitted)
    pick = rng.integers(0, k, (n_boot, k))
    inner = rng.integers(0, reps.shape[1], (n_boot, k))
    values = reps[pick, inner]
    lo, hi = _stat_ci(values, fn)
    per_task = {t: float(pooled[t].value) for t in admitted}
    return AcrossTasks(stat, float(fn(list(per_task.values()))), lo, hi, admitted, left, per_task)


# ---- paired method comparison ------------------------------------------------------------------------
@dataclass
class TaskComparison:
    """Method A minus method B on one task, paired by seed (same splits, weak model and ceiling)."""

    task: str
    n_seeds: int
    diff_student: float  # mean over seeds of student_A − student_B
    diff_student_ci: tuple[float, float]
    gap_resolved: bool
    diff_pgr: float | None  # (mean student_A − mean student_B) / mean gap, when the gap is resolved
    diff_pgr_ci: tuple[float | None, float | None]
    verdict: str  # 'A better', 'B better' or 'not resolved' (on diff_student's CI)
    boot_student: np.ndarray = field(repr=False, default_factory=lambda: np.empty(0))
    boot_pgr: np.ndarray = field(repr=False, default_factory=lambda: np.empty(0))


def _verdict(lo: float | None, hi: float | None, a: str = "A", b: str = "B") -> str:
    if lo is not None and lo > 0:
        return f"{a} better"
    if hi is not None and hi < 0:
        return f"{b} better"
    return "not resolved"


def paired_seed_means(points_a: np.ndarray, points_b: np.ndarray, outs_a: Sequence[Outcomes | None],
                      outs_b: Sequence[Outcomes | None], metric: str, n_boot: int = N_BOOT,
                      seed: int = 0) -> SeedMeans:
    """Seed means of weak, ceiling, student_a, student_b with one set of replicate draws (paired): the points are
    (seeds, 3) arrays (weak, ceiling, student) of each method, in the same seed order."""
    pts = np.column_stack([points_a[:, 0], points_a[:, 1], points_a[:, 2], points_b[:, 2]])
    joint: list[Outcomes | None] = []
    for oa, ob in zip(outs_a, outs_b, strict=True):
        if oa is None or ob is None or oa.test_key != ob.test_key:
            joint.append(None)
            continue
        joint.append(Outcomes(oa.labels, oa.groups, {"weak": oa.probs["weak"], "ceiling": oa.probs["ceiling"],
                                                     "student_a": oa.probs["student"],
                                                     "student_b": ob.probs["student"]}, oa.test_key, oa.balanced))
    if any(o is None for o in joint):
        joint = [None] * len(joint)
    return seed_means(pts, joint, metric, roles=("weak", "ceiling", "student_a", "student_b"), n_boot=n_boot,
                      seed=seed)


def compare_task(task: str, means: SeedMeans) -> TaskComparison:
    """A − B on one task from `paired_seed_means`."""
    w, bw = means.role("weak")
    c, bc = means.role("ceiling")
    sa, ba = means.role("student_a")
    sb, bb = means.role("student_b")
    d = ba - bb
    lo, hi = percentile_ci(d)
    glo, _ = percentile_ci(bc - bw)
    resolved = c - w > 0 and math.isfinite(glo) and glo > 0
    dp, plo, phi = None, None, None
    with np.errstate(invalid="ignore", divide="ignore"):
        boot_pgr = np.where(bc - bw > 0, d / np.where(bc - bw > 0, bc - bw, 1.0), np.nan)
    if resolved:
        dp = (sa - sb) / (c - w)
        plo, phi, _ = ratio_ci(d, bc - bw)
    return TaskComparison(task, means.n_seeds, sa - sb, (lo, hi), resolved, dp, (plo, phi), _verdict(lo, hi),
                          d, boot_pgr)


@dataclass
class Comparison:
    """Method A vs method B per task and across tasks."""

    a: str
    b: str
    metric: str
    tasks: list[TaskComparison]
    admitted: list[str]  # tasks whose mean gap is resolved: the across-task PGR difference is over these
    diff_pgr_mean: float | None = None
    diff_pgr_ci: tuple[float | None, float | None] = (None, None)
    diff_student_mean: float | None = None  # over every task
    diff_student_ci: tuple[float | None, float | None] = (None, None)
    wilcoxon_p: float | None = None  # signed-rank test of the per-task PGR differences (admitted tasks)
    ttest_p: float | None = None  # paired t over tasks, same rows
    verdict: str = "not resolved"
    rule: str = "tasks whose mean gap (ceiling − weak) over all seeds has a 95% CI above 0"

    def rows(self) -> list[dict]:
        """One dict per task and one 'overall' row (JSON/CSV-ready)."""
        out = []
        for t in self.tasks:
            out.append({"task": t.task, "n_seeds": t.n_seeds, f"diff_student_{self.metric}": t.diff_student,
                        "diff_student_ci_low": t.diff_student_ci[0], "diff_student_ci_high": t.diff_student_ci[1],
                        "gap_resolved": t.gap_resolved, "diff_pgr": t.diff_pgr, "diff_pgr_ci_low": t.diff_pgr_ci[0],
                        "diff_pgr_ci_high": t.diff_pgr_ci[1], "verdict": t.verdict})
        out.append({"task": "overall", "n_tasks": len(self.tasks), "n_admitted": len(self.admitted),
                    f"diff_student_{self.metric}": self.diff_student_mean,
                    "diff_student_ci_low": self.diff_student_ci[0], "diff_student_ci_high": self.diff_student_ci[1],
                    "diff_pgr": self.diff_pgr_mean, "diff_pgr_ci_low": self.diff_pgr_ci[0],
                    "diff_pgr_ci_high": self.diff_pgr_ci[1], "wilcoxon_p": self.wilcoxon_p, "ttest_p": self.ttest_p,
                    "verdict": self.verdict, "rule": self.rule})
        return out


def compare(a: str, b: str, per_task: Mapping[str, SeedMeans], metric: str = "acc", n_boot: int = N_BOOT,
            seed: int = 0) -> Comparison:
    """Per task (`paired_seed_means`) and across tasks: the mean over tasks of A − B with a CI that resamples
    tasks, then seeds and test groups; Wilcoxon signed-rank and paired t over the admitted tasks' PGR
    differences. The overall verdict reads the PGR difference over admitted tasks (the student difference over
    all tasks when none is admitted)."""
    from scipy import stats

    tasks = [compare_task(t, m) for t, m in per_task.items()]
    admitted = [t for t in tasks if t.gap_resolved]
    out = Comparison(a, b, metric, tasks, [t.task for t in admitted])
    rng = np.random.default_rng(seed)

    def mean_ci(items: list[TaskComparison], boots: list[np.ndarray]) -> tuple[float | None, float | None]:
        reps = np.stack(boots)
        pick = rng.integers(0, len(items), (n_boot, len(items)))
        inner = rng.integers(0, reps.shape[1], (n_boot, len(items)))
        return _stat_ci(reps[pick, inner], np.mean)

    if tasks:
        out.diff_student_mean = float(np.mean([t.diff_student for t in tasks]))
        out.diff_student_ci = mean_ci(tasks, [t.boot_student for t in tasks])
    if admitted:
        diffs = np.array([t.diff_pgr for t in admitted], dtype=np.float64)
        out.diff_pgr_mean = float(diffs.mean())
        out.diff_pgr_ci = mean_ci(admitted, [t.boot_pgr for t in admitted])
        if len(diffs) >= 2 and np.any(diffs != 0):
            out.wilcoxon_p = float(stats.wilcoxon(diffs).pvalue)
            out.ttest_p = float(stats.ttest_1samp(diffs, 0.0).pvalue) if np.std(diffs) > 0 else None
        out.verdict = _verdict(*out.diff_pgr_ci, a, b)
    elif tasks:
        out.verdict = _verdict(*out.diff_student_ci, a, b)
    for t in tasks:
        t.verdict = _verdict(*t.diff_student_ci, a, b)
    return out


# ---- other cross-task statistics ---------------------------------------------------------------------
def spearman_ci(x: Sequence[float], y: Sequence[float], groups: Sequence[str] | None = None,
                n_boot: int = 2000, seed: int = 0) -> tuple[float | None, float | None, float | None]:
    """Spearman's rho with a 95% bootstrap CI: over points, or with `groups` (e.g. tasks) over groups, a drawn
    group bringing all its points (points of one task are not independent)."""
    from scipy.stats import spearmanr

    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    if len(x) < 3:
        return None, None, None
    rho = float(spearmanr(x, y).statistic)
    rng = np.random.default_rng(seed)
    units = np.asarray(groups) if groups is not None else np.arange(len(x))
    names = np.unique(units)
    if len(names) < 2:  # one task: nothing to resample between
        return rho, None, None
    members = [np.flatnonzero(units == g) for g in names]
    reps = []
    for _ in range(n_boot):
        idx = np.concatenate([members[i] for i in rng.integers(0, len(names), len(names))])
        if len(np.unique(x[idx])) > 1 and len(np.unique(y[idx])) > 1:
            reps.append(spearmanr(x[idx], y[idx]).statistic)
    lo, hi = percentile_ci(np.asarray(reps, dtype=np.float64))
    return rho, (lo if math.isfinite(lo) else None), (hi if math.isfinite(hi) else None)


def two_level_ci(values: Mapping[str, Sequence[float]], stat: str = "mean", n_boot: int = N_BOOT,
                 seed: int = 0) -> tuple[float | None, float | None, float | None]:
    """`stat` over tasks of each task's seed mean of `values` (task -> per-seed values, e.g. a seed-paired
    difference), with a CI that resamples tasks, then seeds within each drawn task."""
    fn = STATISTICS[stat]
    tasks = {t: np.asarray([v for v in vs if v is not None and math.isfinite(v)], dtype=np.float64)
             for t, vs in values.items()}
    tasks = {t: v for t, v in tasks.items() if v.size}
    if not tasks:
        return None, None, None
    arrays = list(tasks.values())
    point = float(fn([a.mean() for a in arrays]))
    rng = np.random.default_rng(seed)
    reps = np.empty(n_boot)
    for b in range(n_boot):
        picked = [arrays[i] for i in rng.integers(0, len(arrays), len(arrays))]
        reps[b] = fn([a[rng.integers(0, a.size, a.size)].mean() for a in picked])
    lo, hi = percentile_ci(reps)
    return point, lo, hi


def two_level_ratio_ci(num: Mapping[str, Sequence[float]], den: Mapping[str, Sequence[float]], n_boot: int = N_BOOT,
                       seed: int = 0) -> tuple[float | None, float | None, float | None]:
    """The ratio of means over tasks, mean_t(num seed mean) / mean_t(den seed mean), with the paired values of
    each seed (num[t][i] and den[t][i] from the same run) resampled together: tasks, then seeds within each drawn
    task (a PGR-like share, e.g. (student - supervisor) / (ceiling - supervisor), pooled across tasks)."""
    pairs = {}
    for t in num:
        a, b = np.asarray(num[t], dtype=np.float64), np.asarray(den.get(t, []), dtype=np.float64)
        if len(a) != len(b):
            raise ValueError(f"task {t!r}: {len(a)} numerator values but {len(b)} denominator values")
        ok = np.isfinite(a) & np.isfinite(b)
        if ok.any():
            pairs[t] = (a[ok], b[ok])
    if not pairs:
        return None, None, None
    arrays = list(pairs.values())
    point_den = float(np.mean([b.mean() for _, b in arrays]))
    if point_den == 0:
        return None, None, None
    point = float(np.mean([a.mean() for a, _ in arrays])) / point_den
    rng = np.random.default_rng(seed)
    nums, dens = np.empty(n_boot), np.empty(n_boot)
    for i in range(n_boot):
        picked = [arrays[j] for j in rng.integers(0, len(arrays), len(arrays))]
        idx = [rng.integers(0, len(a), len(a)) for a, _ in picked]
        nums[i] = np.mean([a[k].mean() for (a, _), k in zip(picked, idx, strict=True)])
        dens[i] = np.mean([b[k].mean() for (_, b), k in zip(picked, idx, strict=True)])
    lo, hi, _ = ratio_ci(nums, dens)
    return point, lo, hi


def mean_ci(values: Sequence[float | None]) -> tuple[float | None, float | None, float | None, int]:
    """Mean over the finite values with a 95% t-interval (`seed_summary`): (mean, low, high, n); Nones and n 0
    when there is none (low and high are NaN for a single value)."""
    from w2sg.metrics.seeds import seed_summary

    vals = [v for v in values if v is not None and np.isfinite(v)]
    if not vals:
        return None, None, None, 0
    s = seed_summary(vals)
    return s["mean"], s["ci_low"], s["ci_high"], len(vals)


MIN_TASKS = 5  # a bootstrap over k tasks has C(2k-1, k) distinct resamples (10 for 3 tasks, 126 for 5): below 5
# tasks a task-level CI is too coarse to carry a verdict


def spearman_by_task(x: Sequence[float], y: Sequence[float], tasks: Sequence[str],
                     min_tasks: int = MIN_TASKS) -> tuple[float | None, float | None, float | None]:
    """`spearman_ci` with a bootstrap over tasks (each drawn task brings all its points); no CI under `min_tasks`
    tasks (with one task that bootstrap returns rho itself as both ends); all None without 3 points that vary."""
    if len(x) < 3 or len(set(x)) < 2 or len(set(y)) < 2:
        return None, None, None
    rho, lo, hi = spearman_ci(x, y, groups=tasks)
    return (rho, None, None) if len(set(tasks)) < min_tasks else (rho, lo, hi)


def verdict(lo: float | None, hi: float | None, yes: str, no: str, open_: str, n_tasks: int | None = None,
            min_tasks: int = MIN_TASKS) -> str:
    """What a CI over tasks says: `yes` above 0, `no` below, `open_` across it (or unbounded), and no verdict
    with fewer than `min_tasks` tasks."""
    if n_tasks is not None and n_tasks < min_tasks:
        return f"no verdict: {n_tasks} task(s), fewer than {min_tasks} for a task-level CI"
    if lo is None or hi is None:
        return open_ + " (CI unbounded or undefined)"
    return yes if lo > 0 else no if hi < 0 else open_
