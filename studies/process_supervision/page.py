"""The process-supervision study page: every number pooled over seeds that share T, with a CI that resamples
seeds, then problems (the same problem resample for every seed and for both granularities, which share T's
problems), so step-vs-outcome differences are paired by seed and problem."""

from __future__ import annotations

from collections import defaultdict
from functools import lru_cache
from pathlib import Path

import numpy as np

from w2sg.config import SplitSpec
from w2sg.metrics.pooled import Outcomes
from w2sg.metrics.process import problem_ratios
from w2sg.metrics.resample import auroc_boot
from w2sg.metrics.scores import auroc
from w2sg.result import as_result
from w2sg.study import load_records, read_timings, weak_spec
from w2sg.tasks.catalog import get_task, load_task
from w2sg.tasks.splits import make_splits

WORKDIR = "process_supervision"
ROLES = ("weak", "ceiling", "student")
N_BOOT = 2000
PAIRS = {"chains": "chains_outcome", "chains_hard": "chains_hard_outcome"}  # step task -> its outcome task
STRONG = "qwen2.5-coder-0.5b"
BLIND = "mul2"  # the blind spot's error kind (a multiplication by a two-digit operand)


@lru_cache(maxsize=8)
def _task(name: str):
    return load_task(name)


_RATIOS: dict[int, tuple] = {}  # id -> (record, ratios): the record is kept, so its id is not reused


def ratios(res) -> dict:
    """`_ratios` of a record, computed once per record object."""
    if id(res) not in _RATIOS:
        _RATIOS[id(res)] = (res, _ratios(res))
    return _RATIOS[id(res)][1]


def _ratios(res) -> dict:
    """The record's per-problem ratios (`metrics.process.problem_ratios`), T's rows rebuilt from its split spec
    and seed and checked against the stored labels."""
    rows = make_splits(_task(res.task), SplitSpec(**res.spec["splits"]), res.seed).test
    o = Outcomes.from_arrays(res.test_outcomes)
    if len(rows) != len(o.labels) or any(int(r.label) != int(y) for r, y in zip(rows, o.labels, strict=True)):
        raise RuntimeError(f"{res.task} seed {res.seed}: T rebuilt from the split spec does not match the stored "
                           "outcomes (a changed task or split code); rerun the study")
    got = problem_ratios(rows, {r: o.probs[r] for r in ROLES})
    got["rows"] = rows
    blind = np.array([r.meta_dict.get("error") == BLIND for r in rows], dtype=float)
    codes, n = got["problem_codes"], len(got["problems"])
    for role in ROLES:  # the share of T's blind-spot error rows a role accepts (P > 0.5), per problem
        accepted = blind * (got["probs"][role] > 0.5)
        got["pairs"][f"{role}_accepts_{BLIND}"] = (np.bincount(codes, accepted, n), np.bincount(codes, blind, n))
    return got


def supervisor_label(res) -> str:
    sup = weak_spec(res)
    if isinstance(sup, str):
        return sup
    if sup.get("kind") == "synthetic":
        region = (sup.get("region") or {}).get("field")
        if sup.get("errors") == "region":
            return f"blind spot {'/'.join(region.values())}"
        if region:
            return f"random, matched to {'/'.join(region.values())}"
        return f"random {sup.get('error_rate')}"
    return str(sup.get("kind"))


def cells(records: list[dict]) -> dict[tuple, dict[int, object]]:
    """(task, supervisor label, strong, method) -> {seed: result}, records with stored outcomes only."""
    out: dict[tuple, dict[int, object]] = defaultdict(dict)
    for r in records:
        res = as_result(r)
        if res.test_outcomes is None or not res.process.present:
            continue
        out[(res.task, supervisor_label(res), res.strong, res.method)][res.seed] = res
    return out


# ---- pooled statistics ---------------------------------------------------------------------------------
def pooled(conds: dict[str, dict[int, object]], keys: list[str], seed: int = 0):
    """Point values and bootstrap replicates of each (condition, key), pooled over the seeds the conditions share:
    sum over seeds and problems of num over the same sum of den; replicates resample seeds, then problems."""
    seeds = sorted(set.intersection(*(set(c) for c in conds.values())))
    if not seeds:
        return {}, {}, 0
    arr, auc = {}, {}
    for name, c in conds.items():
        rs = [ratios(c[s]) for s in seeds]
        for k in keys:
            if k.endswith("_step_auroc") and rs[0]["granularity"] == "step":  # not a ratio: AUROC per seed
                role = k[: -len("_step_auroc")]
                auc[(name, k)] = [(r["probs"][role], r["labels"], r["problem_codes"]) for r in rs]
            elif k in rs[0]["pairs"]:
                arr[(name, k)] = (np.stack([r["pairs"][k][0] for r in rs]), np.stack([r["pairs"][k][1] for r in rs]))
    problem_sets = {tuple(ratios(c[s])["problems"]) for c in conds.values() for s in seeds}
    if len(problem_sets) != 1:  # a paired resample of problems needs the same T problems everywhere
        raise RuntimeError(f"conditions {sorted(conds)} do not share T's problems; pass --n-test above the test "
                           "pool's size so that every seed and granularity scores all of it")
    n_problems = len(problem_sets.pop())
    rng = np.random.default_rng(seed)
    sw = np.stack([np.bincount(rng.integers(0, len(seeds), len(seeds)), minlength=len(seeds))
                   for _ in range(N_BOOT)]).astype(float)
    pw = rng.multinomial(n_problems, np.full(n_problems, 1 / n_problems), N_BOOT).astype(float)
    point, boot = {}, {}
    with np.errstate(invalid="ignore", divide="ignore"):
        for key, (num, den) in arr.items():
            point[key] = float(num.sum() / den.sum()) if den.sum() else float("nan")
            boot[key] = np.einsum("bs,sp,bp->b", sw, num, pw) / np.einsum("bs,sp,bp->b", sw, den, pw)
        for key, per_seed in auc.items():  # mean over seeds of AUROC, rows weighted by their problem's count
            point[key] = float(np.mean([auroc(p, y) for p, y, _ in per_seed]))
            b = np.stack([auroc_boot(p, y, pw[:, codes].astype(np.int64)) for p, y, codes in per_seed], axis=1)
            boot[key] = (sw * b).sum(1) / sw.sum(1)
    return point, boot, len(seeds)


def ci(b: np.ndarray) -> tuple[float, float]:
    b = b[np.isfinite(b)]
    return (float(np.percentile(b, 2.5)), float(np.percentile(b, 97.5))) if len(b) else (np.nan, np.nan)


def fmt(v: float, b: np.ndarray | None = None, d: int = 3) -> str:
    if v is None or not np.isfinite(v):
        return "–"
    if b is None:
        return f"{v:.{d}f}"
    lo, hi = ci(b)
    return f"{v:.{d}f} [{lo:.{d}f}, {hi:.{d}f}]"


def pgr_text(point, boot, name: str, metric: str, lower_better: bool = False) -> str:
    """Pooled PGR of `metric` for condition `name`, printed only where the gap's CI excludes 0."""
    w, c, s = (point.get((name, f"{r}_{metric}")) for r in ROLES)
    if None in (w, c, s):
        return "–"
    sign = -1.0 if lower_better else 1.0
    bw, bc, bs = (boot[(name, f"{r}_{metric}")] for r in ROLES)
    gap, bgap = sign * (c - w), sign * (bc - bw)
    lo, hi = ci(bgap)
    if np.isfinite(hi) and hi < 0:
        return f"no gap: the ceiling is worse than the supervisor (gap {gap:+.3f} [{lo:+.3f}, {hi:+.3f}])"
    if not (np.isfinite(lo) and lo > 0):
        return f"gap not resolved (gap {gap:+.3f} [{lo:+.3f}, {hi:+.3f}])"
    with np.errstate(invalid="ignore", divide="ignore"):
        b = np.where(bgap > 0, (bs - bw) / (bc - bw), np.nan)
    return fmt((s - w) / (c - w), b, 2)


def verdict(b: np.ndarray, claimed_positive: bool = True) -> str:
    lo, hi = ci(b)
    if not np.isfinite(lo):
        return "not resolved"
    if lo > 0:
        return "reproduced" if claimed_positive else "not reproduced (the other way)"
    if hi < 0:
        return "not reproduced (the other way)" if claimed_positive else "reproduced"
    return "not resolved at this scale"


# ---- sections --------------------------------------------------------------------------------------------
def ladder_section(cs) -> list[str]:
    """Each rung's balanced accuracy and step AUROC on the step task, and best-of-N on both tasks: weak models
    (trained on A) from the ladder part, ceilings (trained on B) of every strong model."""
    out = ["## 1. The ladder on the chains", "",
           "Balanced accuracy on T (step task: is every step so far right; outcome task: is the final answer "
           "right), step AUROC and best-of-N accuracy, means over seeds with the range over seeds. A weak rung is "
           "trained on A's ground truth, a ceiling on B's, each at its task's granularity; both with a converged "
           "L2 logistic head on frozen features (L2 by 5-fold CV on their own training rows).", "",
           "| rung | as | step acc | step AUROC | first-error acc | best-of-N (step labels) | outcome acc | "
           "best-of-N (outcome labels) |", "|---|---|---|---|---|---|---|---|"]
    seen: dict[tuple, dict[str, float | None]] = {}  # (model, as, granularity, seed) -> values (a ceiling once)
    for (task, sup, strong, method), by_seed in cs.items():
        if method != "naive" or task not in ("chains", "chains_outcome") or sup.startswith(("random", "blind")):
            continue
        g = "step" if task == "chains" else "outcome"
        for res in by_seed.values():
            for role, model, as_ in (("weak", sup, "weak (A)"), ("ceiling", strong, "ceiling (B)")):
                seen.setdefault((model, as_, g, res.seed), {
                    "acc": res.score(role, "acc"), "bon": res.process.score(role, "bon_acc").value,
                    "auroc": res.process.score(role, "step_auroc").value,
                    "first": res.process.score(role, "first_error_acc").value})
    rungs: dict[tuple[str, str], dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    for (model, as_, g, _), v in seen.items():
        for k, x in v.items():
            if x is not None:
                rungs[(model, as_)][f"{g}_{k}"].append(x)

    def m(c: dict, k: str) -> str:
        v = c.get(k, [])
        return f"{np.mean(v):.3f} ({min(v):.3f}–{max(v):.3f})" if v else "–"

    order = ["tfidf", "minilm", "smollm2-135m", "gemma3-270m", STRONG]
    for (model, as_), c in sorted(rungs.items(), key=lambda kv: (order.index(kv[0][0]) if kv[0][0] in order else 9,
                                                                  kv[0][1])):
        out.append(f"| {model} | {as_} | {m(c, 'step_acc')} | {m(c, 'step_auroc')} | {m(c, 'step_first')} | "
                   f"{m(c, 'step_bon')} | {m(c, 'outcome_acc')} | {m(c, 'outcome_bon')} |")
    return out + [""]


def references(cs) -> str:
    for (task, *_), by_seed in cs.items():
        if task == "chains":
            p = next(iter(by_seed.values())).process
            return (f"References on T: best-of-N by a random pick {p.bon_random.value:.3f}, by an oracle (some "
                    f"candidate right) {p.bon_oracle.value:.3f}; {p.n_problems_test} problems, "
                    f"{p.n_solutions_test} solutions.")
    return ""


COMPARE = ("bon_acc", "trace_error")


def granularity_table(cs, sups: list[str], step_task: str, method: str = "naive") -> tuple[list[str], list[str]]:
    """Per supervisor: the step and the outcome experiment side by side, and the paired step − outcome
    differences of the student's best-of-N accuracy and trace error. Returns (table lines, claim lines)."""
    outcome_task = PAIRS[step_task]
    lines = ["| supervisor | labels | judgments on B | supervisor acc on T | student acc | best-of-N: weak / "
             "ceiling / student | trace error: weak / ceiling / student | PGR best-of-N | PGR trace error |",
             "|---|---|---|---|---|---|---|---|---|"]
    claims = []
    for sup in sups:
        conds = {g: cs.get((t, sup, STRONG, method), {}) for g, t in (("step", step_task), ("outcome", outcome_task))}
        if not all(conds.values()):
            continue
        keys = [f"{r}_{m}" for r in ROLES for m in COMPARE]
        point, boot, n_seeds = pooled(conds, keys)
        if not n_seeds:
            continue
        for g, c in conds.items():
            rs = list(c.values())
            judg = rs[0].process.judgments_transfer
            sup_acc = np.mean([r.score("weak", "acc") for r in rs])
            st_acc = np.mean([r.score("student", "acc") for r in rs])
            bon = " / ".join(fmt(point[(g, f"{r}_bon_acc")]) for r in ROLES)
            te = " / ".join(fmt(point[(g, f"{r}_trace_error")]) for r in ROLES)
            lines.append(f"| {sup} | {g} | {judg} | {sup_acc:.3f} | {st_acc:.3f} | {bon} | {te} | "
                         f"{pgr_text(point, boot, g, 'bon_acc')} | {pgr_text(point, boot, g, 'trace_error', True)} |")
        d_bon = boot[("step", "student_bon_acc")] - boot[("outcome", "student_bon_acc")]
        d_te = boot[("step", "student_trace_error")] - boot[("outcome", "student_trace_error")]
        p_bon = point[("step", "student_bon_acc")] - point[("outcome", "student_bon_acc")]
        p_te = point[("step", "student_trace_error")] - point[("outcome", "student_trace_error")]
        claims.append(f"| {sup} ({n_seeds} seeds) | best-of-N, step − outcome student | {fmt(p_bon, d_bon)} | "
                      f"{verdict(d_bon)} |")
        claims.append(f"| {sup} ({n_seeds} seeds) | trace error, step − outcome student | {fmt(p_te, d_te)} | "
                      f"{verdict(d_te, claimed_positive=False)} |")
    return lines, claims


def ceiling_claims(cs, step_task: str = "chains") -> list[str]:
    """The constructed case: with true labels (the ceilings), does a process reward model choose solutions with
    fewer trace errors than an outcome reward model (Uesato et al.)? A design that cannot show it with true labels
    cannot show it with weak ones."""
    sups = {k[1] for k in cs if k[0] == step_task and k[2] == STRONG}
    sup = next((s for s in ("smollm2-135m", "minilm", "tfidf") if s in sups), None)  # most seeds first
    if sup is None:
        return []
    conds = {g: cs.get((t, sup, STRONG, "naive"), {}) for g, t in (("step", step_task), ("outcome", PAIRS[step_task]))}
    if not all(conds.values()):
        return []
    point, boot, n = pooled(conds, [f"ceiling_{m}" for m in COMPARE])
    rows = []
    for m, claimed in (("bon_acc", None), ("trace_error", False)):
        d = boot[("step", f"ceiling_{m}")] - boot[("outcome", f"ceiling_{m}")]
        p = point[("step", f"ceiling_{m}")] - point[("outcome", f"ceiling_{m}")]
        what = {"bon_acc": "best-of-N", "trace_error": "trace error"}[m]
        v = verdict(d, claimed_positive=False) if claimed is False else ("(no claim)" if not np.isfinite(ci(d)[0])
                                                                          else verdict(d))
        rows.append(f"| true labels ({STRONG} ceilings, {n} seeds) | {what}, step − outcome | {fmt(p, d)} | {v} |")
    return rows


def blind_spot_section(cs, step_task: str = "chains") -> list[str]:
    """Blind-spot supervisors (every row whose label is 0 because of a multiplication with a two-digit operand is
    labelled right) against random errors matched in number: how often the student accepts those rows on T, and
    what the blind spot costs the student (blind − control, paired by seed and problem)."""
    out = ["## 4. Systematic blind spots", "",
           "The blind-spot supervisor calls every row right whose label is 0 because of a multiplication by a "
           f"two-digit operand (`region: {{field: {{error: {BLIND}}}}}`, every region row wrong, on every split); the "
           "control makes as many errors at random (`match_region: true`), so both have the same accuracy on "
           f"every split. Acceptance = the share of T's {BLIND}-error rows a model scores above 0.5 (a student that "
           "learns the blind spot accepts them; the ceiling, trained on true labels, is the reference). Pooled over "
           "seeds, CIs over seeds then problems.", "",
           f"| labels | supervisor | supervisor acc on T | student accepts {BLIND} errors | ceiling accepts | "
           "student best-of-N | student trace error |", "|---|---|---|---|---|---|---|"]
    diffs = []
    keys = [f"student_accepts_{BLIND}", f"ceiling_accepts_{BLIND}", *(f"student_{m}" for m in COMPARE)]
    for g, task in (("step", step_task), ("outcome", PAIRS[step_task])):
        conds = {sup: cs.get((task, sup, STRONG, "naive"), {})
                 for sup in (f"blind spot {BLIND}", f"random, matched to {BLIND}")}
        if not all(conds.values()):
            continue
        point, boot, n = pooled(conds, keys)
        for sup, c in conds.items():
            acc = np.mean([x.score("weak", "acc") for x in c.values()])
            cell = [fmt(point[(sup, k)], boot[(sup, k)]) for k in keys]
            out.append(f"| {g} | {sup} | {acc:.3f} | {' | '.join(cell)} |")
        b_, c_ = conds
        for k, what in ((keys[0], "student acceptance"), (keys[2], "student best-of-N"),
                        (keys[3], "student trace error")):
            d, p = boot[(b_, k)] - boot[(c_, k)], point[(b_, k)] - point[(c_, k)]
            diffs.append(f"| {g} ({n} seeds) | {what}, blind spot − matched random | {fmt(p, d)} | "
                         f"{verdict(d, claimed_positive=(k != keys[2]))} |")
    if not diffs:
        return out + ["Not run yet: `--part main`.", ""]
    return out + ["", "| labels | quantity | value [95% CI] | verdict (the blind spot hurts the student) |",
                  "|---|---|---|---|", *diffs, ""]


def step_metrics_section(cs, sups: list[str], step_task: str = "chains",
                         title: str = "Step-level metrics of the process students") -> list[str]:
    """The process students' step-level metrics: step AUROC and first-error localisation with their PGRs."""
    if not any(k[0] == step_task for k in cs):
        return []
    out = [f"### {title}", "",
           "| supervisor | step AUROC: weak / ceiling / student | PGR step AUROC | first-error acc: weak / ceiling "
           "/ student | PGR first-error acc |", "|---|---|---|---|---|"]
    for sup in sups:
        c = cs.get((step_task, sup, STRONG, "naive"), {})
        if not c:
            continue
        keys = [f"{r}_{m}" for r in ROLES for m in ("step_auroc", "first_error_acc")]
        point, boot, _ = pooled({"s": c}, keys)
        cells = []
        for m in ("step_auroc", "first_error_acc"):
            cells += [" / ".join(fmt(point[("s", f"{r}_{m}")]) for r in ROLES), pgr_text(point, boot, "s", m)]
        out.append(f"| {sup} | {' | '.join(cells)} |")
    return out + [""]


def _mean(cs, task: str, sup: str, role: str, metric: str = "acc") -> float | None:
    c = cs.get((task, sup, STRONG, "naive"), {})
    v = [r.score(role, metric) for r in c.values()]
    return float(np.mean(v)) if v else None


def findings(cs, ceil: list[str], main_claims: list[str], blind: list[str], hard_claims: list[str]) -> list[str]:
    """The page's reading, each statement with its numbers: the claim rows of the sections below, passed in so
    that no bootstrap runs twice."""
    out = ["## What this shows", ""]
    sup = next((s for s in ("smollm2-135m", "minilm", "tfidf") if (("chains", s, STRONG, "naive") in cs)), None)
    if sup is None:
        return out + ["Nothing run yet.", ""]
    step_c, out_c = _mean(cs, "chains", sup, "ceiling"), _mean(cs, "chains_outcome", sup, "ceiling")
    weak = {s: _mean(cs, "chains", s, "weak") for s in ("tfidf", "minilm", "smollm2-135m")}
    out.append("- **The ladder on step labels** (balanced accuracy on T): "
               + ", ".join(f"{k} {v:.3f}" for k, v in weak.items() if v is not None)
               + f" (weak, trained on A) vs the {STRONG} ceiling {step_c:.3f}. "
               + (f"**On outcome labels** every rung, the ceiling included ({out_c:.3f}), is near 0.5: a linear head "
                  "on the last token's frozen features hardly reads whether a chain's final answer is right, so "
                  "outcome supervision has little weak-to-strong gap to recover here (its PGRs read \"gap not "
                  "resolved\"), and a process vs outcome difference measures first that step labels are learnable "
                  "from these features and final-answer labels are not." if out_c < 0.55 else
                  f"On outcome labels the ceiling reaches {out_c:.3f}."))

    def said(rows: list[str], pick: str) -> str:
        got = [r.rsplit("|", 3)[-3].strip() + ": " + r.rsplit("|", 2)[-2].strip() for r in rows if pick in r]
        return "; ".join(got) or "not run"

    out.append(f"- **True labels (section 2), the design's check**: process − outcome ceiling best-of-N "
               f"{said(ceil, 'best-of-N')}; trace error {said(ceil, 'trace error')}.")
    claims = [r for r in main_claims if r.startswith("| random ")]
    learned = [r for r in main_claims if r.startswith(("| tfidf ", "| minilm ", "| smollm2-135m "))]
    n_res = sum("reproduced" in r.rsplit("|", 2)[-2] for r in learned)
    out.append(f"- **Weak labels, matched budget and matched accuracy per judgment (section 3, synthetic, 30% "
               f"wrong)**: student best-of-N step − outcome {said(claims, 'best-of-N')}; trace error "
               f"{said(claims, 'trace error')}. With the learned weak labellers, {n_res} of {len(learned)} "
               "step − outcome comparisons are resolved."
               + (" The synthetic supervisor is above the step ceiling, so it has no PGR." if
                  (_mean(cs, "chains", "random 0.3", "weak") or 0) > (step_c or 1) else ""))
    out.append(f"- **Blind spots (section 4)**: acceptance of T's {BLIND} errors, blind spot − matched random: "
               + "; ".join(f"{g} {said([r for r in blind if r.startswith(f'| {g} (')], 'acceptance')}"
                           for g in ("step", "outcome"))
               + "; best-of-N: " + "; ".join(f"{g} {said([r for r in blind if r.startswith(f'| {g} (')], 'best-of-N')}"
                                              for g in ("step", "outcome")) + ".")
    if any(r.startswith("| random ") for r in hard_claims):
        claims = [r for r in hard_claims if r.startswith("| random ")]
        step_auc = [pooled({"s": cs[(t, "minilm", STRONG, "naive")]}, ["ceiling_step_auroc"])[0].get(("s",
                    "ceiling_step_auroc")) for t in ("chains", "chains_hard") if (t, "minilm", STRONG, "naive") in cs]
        if len(step_auc) == 2 and None not in step_auc:
            out.append(f"- **Easy to hard (section 5)**: the process ceiling trained on 2-4-step chains scores "
                       f"6-8-step ones with step AUROC {step_auc[1]:.3f} (in distribution {step_auc[0]:.3f}); at "
                       f"matched accuracy, process − outcome student on the long chains: best-of-N "
                       f"{said(claims, 'best-of-N')}; trace error {said(claims, 'trace error')}.")
    return out + [""]


def page(root: Path, out: Path) -> None:
    records = load_records(root, WORKDIR)
    cs = cells(records)
    sups = sorted({k[1] for k in cs if k[0] == "chains" and k[2] == STRONG})
    learned = [s for s in ("tfidf", "minilm", "smollm2-135m") if s in sups]
    synthetic = [s for s in sups if s.startswith("random ")]
    main_lines, main_claims = granularity_table(cs, learned + synthetic, "chains")
    ceil, blind = ceiling_claims(cs), blind_spot_section(cs)  # computed once: the reading quotes them
    hard_lines, hard_claims = granularity_table(cs, learned + synthetic, "chains_hard")
    timings = [t for t in read_timings(root / "timings.json") if str(t.get("part", "")).startswith("process-")]
    cost = ", ".join(f"{t['part'][8:]} {t['task']} {t['seconds'] / 60:.0f} min" for t in timings)
    text = "\n".join([
        "# Process vs outcome supervision, weak to strong (issue 25)", "",
        "Uesato et al. (2022) found that outcome supervision matches process supervision on final-answer error but "
        "leaves more trace errors (14.0% vs 3.4% among answer-correct solutions); Lightman et al. (2023) that a "
        "process reward model picks better solutions than an outcome reward model. Nobody has compared *weak* step "
        "labels with *weak* outcome labels at a matched labelling budget. Here the data are generated arithmetic "
        f"chains (`w2sg tasks`: {get_task('chains').description}), every label exact, T = the same 100 problems "
        "(8 candidates each) for both granularities and every seed.", "",
        "A step row is a solution cut after one step (label: every step so far is right: PRM800K's labels up to "
        "the first error, the later ones implied); an outcome row is a whole solution (label: the final answer is "
        "right). One judgment labels one row, so equal `n_transfer` is an equal labelling budget: the outcome "
        "student sees about 3.5 times as many solutions, the process student sees every step of fewer. The "
        "student (and the ceiling) is a linear head on qwen2.5-coder-0.5b's frozen features at the end of each "
        "step, read in one forward pass per solution. A process model scores a solution by its lowest step, an "
        "outcome model by its one row; best-of-N picks the top-scored of a problem's 8 candidates.", "",
        "Rules fixed before the runs: every seed counts; numbers are pooled over seeds with a 95% CI that resamples "
        "seeds, then problems (the same problems for both granularities: step − outcome differences are paired); "
        "a PGR is printed only where its gap's CI excludes 0; a claim is reproduced when its paired CI excludes 0 "
        "in the claimed direction. Commands: `python studies/process_supervision/study.py run --root w2sg-study` "
        "(parts ladder, ceilings, main, hard), `python studies/process_supervision/study.py page --root "
        "w2sg-study`.", "",
        *findings(cs, ceil, main_claims, blind, hard_claims), *ladder_section(cs), references(cs), "",
        "## 2. Can this design show the claim? True labels first", "",
        "With true labels at both granularities (the ceilings), Uesato et al.'s finding predicts a lower trace "
        "error for the process model at a similar best-of-N accuracy. If the ceilings do not show it, no weak "
        "supervision here can, and the weak comparisons below can only be read on best-of-N.", "",
        "| labels | quantity | value [95% CI] | verdict (process better: higher best-of-N, lower trace error) |",
        "|---|---|---|---|",
        *ceil, "",
        "## 3. Weak process vs weak outcome supervision at a matched budget", "",
        "Each supervisor labels B at both granularities (the learned ones are trained on A's ground truth at "
        "that granularity; the synthetic one makes the same share of wrong labels at both, i.e. matched accuracy "
        "per judgment). Trace error = among problems whose chosen solution has the right answer, the share whose "
        "chosen solution has a wrong step.", "", *main_lines, "",
        "| supervisor | quantity | value [95% CI] | verdict (process better) |", "|---|---|---|---|", *main_claims,
        "", *step_metrics_section(cs, learned + synthetic), *blind,
        "## 5. Easy to hard", "",
        "Train on chains of 2-4 steps, test on 6-8 (`chains_hard`, `chains_hard_outcome`).", "",
        *step_metrics_section(cs, learned + synthetic, "chains_hard", "Step-level metrics on the long chains (trained "
                              "on short ones; compare with section 3's on chains like the training ones)"),
        *(hard_lines + ["", "| supervisor | quantity | value [95% CI] | verdict (process better) |",
                        "|---|---|---|---|", *hard_claims] if hard_claims else ["Outcome part not run yet: `--part "
                                                                                "hard`."]), "",
        "## Cost", "", f"On this machine (2 CPU cores, one thread per process): {cost or 'no timings recorded'}.", ""])
    out.mkdir(parents=True, exist_ok=True)
    (out / "README.md").write_text(text)
    print(f"wrote {out / 'README.md'}")
