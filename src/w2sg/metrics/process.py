"""Process-supervision metrics of a step-labelled task (N candidate solutions per problem, each cut into steps):
best-of-N final-answer accuracy, trace error among answer-correct choices (Uesato et al. 2022), step AUROC and
first-error localisation (Lightman et al. 2023), for the weak model, the ceiling and the student, each with a 95%
CI, and the PGR of each, all from one paired bootstrap that resamples whole problems.

A row is a problem's (its `group`) candidate solution at one step. Its `meta` (string pairs) names: labels
("step": one row per step, label = every step up to this one is correct; "outcome": one row per solution,
label = its final answer is correct), solution (its id), step (k, 1-based), outcome and trace ("1"/"0": the
final answer / every step is correct) and first_error (the first wrong step, "0" when none).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from w2sg.metrics._inputs import THRESHOLD, as_probs, json_safe, same_length
from w2sg.metrics.experiment import pgr_keys
from w2sg.metrics.pgr import pgr_from_scores
from w2sg.metrics.resample import auroc_boot, count_chunks, percentile_ci
from w2sg.metrics.scores import auroc

ROLES = ("weak", "ceiling", "student")
GRANULARITIES = ("step", "outcome")
PROCESS_METRICS = ("bon_acc", "trace_error", "step_auroc", "first_error_acc")
_WHAT = {"bon_acc": "best-of-N accuracy", "trace_error": "1 - trace error", "step_auroc": "step AUROC",
         "first_error_acc": "first-error accuracy"}


def task_granularity(rows: Sequence[Any]) -> str | None:
    """'step' or 'outcome' when every row's meta names it under "labels" (a step-labelled task), else None."""
    kinds = {r.meta_dict.get("labels") for r in rows}
    return kinds.pop() if len(kinds) == 1 and kinds <= set(GRANULARITIES) else None


def _solutions(rows: Sequence[Any]) -> tuple[str, np.ndarray, list[str], list[np.ndarray], dict[str, np.ndarray]]:
    """(granularity, the problem code of each row, the solution ids (sorted), each solution's row indices in step
    order, per-solution arrays: problem code, outcome, trace, first_error)."""
    if not rows:
        raise ValueError("process metrics need at least one test row")
    metas = [r.meta_dict for r in rows]
    granularity = task_granularity(rows)
    if granularity is None:
        found = sorted({str(m.get("labels")) for m in metas})
        raise ValueError(f"process metrics need every row's meta 'labels' to be one of {GRANULARITIES}, got {found}")
    problems = np.unique(np.array([str(r.group) for r in rows], dtype=object).astype(str), return_inverse=True)[1]
    by_solution: dict[str, list[int]] = {}
    for i, m in enumerate(metas):
        if "solution" not in m:
            raise ValueError(f"row {rows[i].id!r} has no meta 'solution'")
        by_solution.setdefault(m["solution"], []).append(i)
    ids = sorted(by_solution)
    order, cols = [], {k: [] for k in ("problem", "outcome", "trace", "first_error")}
    for sid in ids:
        idx = by_solution[sid]
        if len(set(problems[idx].tolist())) > 1:
            raise ValueError(f"solution {sid!r} spans several problems (groups)")
        if granularity == "outcome" and len(idx) > 1:
            raise ValueError(f"outcome task: solution {sid!r} has {len(idx)} rows, expected one")
        try:
            idx = sorted(idx, key=lambda i: int(metas[i]["step"]))
            m = metas[idx[0]]
            vals = (problems[idx[0]], m["outcome"] == "1", m["trace"] == "1", int(m["first_error"]))
        except (KeyError, ValueError) as e:
            raise ValueError(f"solution {sid!r}: meta step, outcome, trace or first_error bad: {e}") from e
        order.append(np.asarray(idx, dtype=np.int64))
        for k, v in zip(cols, vals, strict=True):
            cols[k].append(v)
    return granularity, problems, ids, order, {k: np.asarray(v) for k, v in cols.items()}


def _chosen(score: np.ndarray, problem: np.ndarray, n_problems: int) -> np.ndarray:
    """Each problem's chosen solution (index into the sorted ids): the highest score; ties go to the lowest id."""
    order = np.lexsort((np.arange(len(score)), -score, problem))  # by problem, score descending, then id
    first = np.r_[True, problem[order][1:] != problem[order][:-1]]
    out = order[first]
    assert len(out) == n_problems
    return out


def _per_problem(x: np.ndarray, problem: np.ndarray, n_problems: int) -> np.ndarray:
    return np.bincount(problem, weights=x.astype(np.float64), minlength=n_problems)


def problem_ratios(test_rows: Sequence[Any], probs: Mapping[str, Any]) -> dict[str, Any]:
    """Per problem, the numerator and denominator of each metric's ratio (`<role>_<metric>` and the references
    bon_oracle, bon_random -> (num, den), arrays over problems in sorted group order; step-only metrics absent on
    an outcome task): a metric over any weighting of problems (a bootstrap, several seeds sharing T) is
    sum(w * num) / sum(w * den). Also `problems` (the sorted group ids), `problem_codes` (each row's index into
    them), `granularity`, `n_solutions`, `probs` (the roles' P as arrays) and `labels` (T's)."""
    granularity, problems, ids, sol_rows, sol = _solutions(test_rows)
    ps = {role: as_probs(probs[role], f"{role} probs") for role in ROLES}
    same_length(test_rows=np.empty(len(test_rows)), **ps)
    labels = np.array([int(r.label) for r in test_rows], dtype=np.int64)
    n_problems, sp = int(problems.max()) + 1, sol["problem"]
    # per problem, the numerator and denominator of each metric's ratio (None: not defined on this task)
    ratios: dict[str, dict[str, tuple[np.ndarray, np.ndarray] | None]] = {}
    ones = np.ones(n_problems)
    for role, p in ps.items():
        score = np.array([p[idx].min() for idx in sol_rows])
        pick = _chosen(score, sp, n_problems)
        right = sol["outcome"][pick].astype(np.float64)
        ratios[role] = {"bon_acc": (right, ones),
                        "trace_error": (right * ~sol["trace"][pick], right), "step_auroc": None,
                        "first_error_acc": None}
        if granularity == "step":
            erred = sol["first_error"] > 0
            found = np.array([_first_below(p[idx], test_rows, idx) for idx in sol_rows])
            hit = found == sol["first_error"]
            ratios[role]["first_error_acc"] = (_per_problem(erred & hit, sp, n_problems),
                                               _per_problem(erred, sp, n_problems))
    any_right = (_per_problem(sol["outcome"], sp, n_problems) > 0).astype(np.float64)
    share = _per_problem(sol["outcome"], sp, n_problems) / np.bincount(sp, minlength=n_problems)
    refs = {"bon_oracle": (any_right, ones), "bon_random": (share, ones)}
    pairs: dict[str, Any] = {f"{r}_{m}": v for r, d in ratios.items() for m, v in d.items() if v is not None} | refs
    return {"pairs": pairs, "problems": np.unique(np.array([str(r.group) for r in test_rows], dtype=object)
                                                  .astype(str)).tolist(),
            "granularity": granularity, "n_solutions": len(ids), "problem_codes": problems, "probs": ps,
            "labels": labels}


def process_metrics(test_rows: Sequence[Any], probs: Mapping[str, Any], n_boot: int = 1000,
                    seed: int = 0) -> dict[str, Any]:
    """Every process metric of T as flat, JSON-safe keys (None where undefined; the keys of a step task are all
    present on an outcome task too, its step-only ones None).

    test_rows: T's rows in order (`Example`s with meta, see the module docstring); probs: role (weak, ceiling,
    student) -> its P(y=1) per row. A solution's score is, on a step task, the minimum over its steps of P (a
    process reward model's score; Lightman et al. 2023 use the product, Wang et al. 2024 the minimum: the min is
    used here), on an outcome task P at its row. Per problem the solution with the highest score is chosen (ties:
    the lowest solution id as a string, so the choice is deterministic); `<role>_bon_acc` is the share of problems
    whose chosen answer is correct, beside `bon_oracle` (some candidate is correct) and `bon_random` (the mean share
    of correct candidates). `<role>_trace_error`: among problems whose chosen answer is correct, the share whose
    chosen solution has a wrong step (None when no chosen answer is correct). Step task only: `<role>_step_auroc`
    over every step row, and `<role>_first_error_acc`: over solutions with a wrong step, the share whose first step
    with P ≤ 0.5 is exactly the first wrong one (no step at or below 0.5: a miss).

    95% CIs (`_ci_low`, `_ci_high`) and PGR = (student − weak) / (ceiling − weak) of each metric (`pgr_<m>`,
    its CI, gap, reason, `unstable_<m>`, as `metrics.evaluate` writes PGR) come from one bootstrap that resamples
    whole problems (groups: a problem's solutions and steps together), the same resamples for every role
    (paired) and the same ones as `evaluate` draws with these groups and seed. Trace error's PGR is computed on
    1 − trace error, which leaves PGR unchanged and makes `gap_trace_error` = weak − ceiling trace error
    (positive when the ceiling errs less)."""
    got = problem_ratios(test_rows, probs)
    granularity, problems, pairs, ps, labels = (got["granularity"], got["problem_codes"], got["pairs"],
                                                got["probs"], got["labels"])
    refs = {k: pairs[k] for k in ("bon_oracle", "bon_random")}
    n_problems = int(problems.max()) + 1
    boots: dict[str, list[np.ndarray]] = {}
    first_row = np.unique(problems, return_index=True)[1]  # a problem's count is its first row's
    for counts in count_chunks(len(labels), n_boot, seed, [r.group for r in test_rows]):
        pc = counts[:, first_row].astype(np.float64)
        with np.errstate(invalid="ignore", divide="ignore"):
            for key, (num, den) in pairs.items():
                boots.setdefault(key, []).append(pc @ num / (pc @ den))
        if granularity == "step":
            for role, p in ps.items():
                boots.setdefault(f"{role}_step_auroc", []).append(auroc_boot(p, labels, counts))

    out: dict[str, Any] = {"granularity": granularity, "n_problems_test": n_problems,
                           "n_solutions_test": got["n_solutions"]}
    point: dict[str, float] = {}
    for key, (num, den) in pairs.items():
        point[key] = num.sum() / den.sum() if den.sum() > 0 else np.nan
    if granularity == "step":
        point |= {f"{role}_step_auroc": auroc(p, labels) for role, p in ps.items()}
    for key in [*(f"{r}_{m}" for m in PROCESS_METRICS for r in ROLES), *refs]:
        b = np.concatenate(boots[key]) if boots.get(key) else np.empty(0)
        lo, hi = percentile_ci(b) if key in point else (None, None)
        out |= {key: point.get(key), f"{key}_ci_low": lo, f"{key}_ci_high": hi}
    for m in PROCESS_METRICS:
        res = None
        if f"weak_{m}" in point:
            pts = np.array([point[f"{r}_{m}"] for r in ROLES])
            bt = np.stack([np.concatenate(boots[f"{r}_{m}"]) if boots.get(f"{r}_{m}") else np.empty(0) for r in ROLES])
            if m == "trace_error":  # PGR on 1 - trace error (higher is better): the same PGR, a positive gap
                pts, bt = 1.0 - pts, 1.0 - bt
            res = pgr_from_scores(pts, bt, _WHAT[m], n_boot)
        out |= pgr_keys(m, res)
    return {k: json_safe(v) for k, v in out.items()}


def _first_below(p: np.ndarray, rows: Sequence[Any], idx: np.ndarray) -> int:
    """The step (meta 'step') of the first of a solution's rows, in step order, with P ≤ 0.5; 0 when none."""
    below = np.flatnonzero(p <= THRESHOLD)
    return int(rows[idx[below[0]]].meta_dict["step"]) if below.size else 0
