"""Debate study (issue 24): extractive debate on the reading tasks; minilm judges, mpnet student, 5 seeds.

    python studies/debate/study.py run  [--root DIR] [--data-dir D] [--part judge|students|confidence] [--tasks T,...]
    python studies/debate/study.py page [--root DIR] [--out studies/debate]

Grids: debate_judge.yaml (single-judge debate supervisors with policies random / bm25 / embed / adversarial;
their records carry the judge's accuracy under every protocol and the liar's win rates), debate_students.yaml
(the plain weak model, the four-judge debate ensemble and the four-fit ensemble over training seeds, each
teaching an mpnet student) and debate_confidence.yaml (the confidence loss from the plain weak model). Workdir
`<root>/debate`.

Rules fixed before looking at results: every seed of a cell counts; a task's PGRs are quoted only when its
weak -> ceiling gap (pooled over seeds, hierarchical CI) is resolved; judge accuracies and liar win rates are
means over all seeds with a t-interval over seeds; a claim is "reproduced" when the seed-paired difference's CI
excludes 0 in the claimed direction, "not reproduced" when it excludes 0 in the other, else "not resolved".
"""

from __future__ import annotations

import argparse
from collections import defaultdict
from pathlib import Path

import numpy as np

from w2sg.metrics.across_tasks import mean_ci
from w2sg.result import as_result
from w2sg.study import load_grid, load_records, read_timings, run_by_task, weak_spec

HERE = Path(__file__).resolve().parent
STUDIES = HERE.parent
WORKDIR = "debate"
PARTS = {"judge": "debate_judge.yaml", "students": "debate_students.yaml", "confidence": "debate_confidence.yaml"}
TASKS = ("quail", "boolq", "cosmos_qa", "mc_taco")
PROTOCOLS = ("blind", "consultancy", "debate", "full")
POLICIES = ("random", "bm25", "embed", "adversarial")
SUPERVISORS = ("plain", "confidence", "debate ensemble", "ensemble")
SOURCES = {("blind", "consultancy"): "Khan et al. 2024",
           ("consultancy", "debate"): "Michael et al. 2023; Kenton et al. 2024",
           ("debate", "full"): "Kenton et al. 2024, extractive tasks"}


def run(root: Path, data_dir: str | None, parts: list[str], tasks: list[str] | None) -> None:
    for part in parts:
        sweep = load_grid(HERE / PARTS[part], STUDIES)
        if tasks:
            sweep = sweep.model_copy(update={"tasks": [t for t in sweep.tasks if t in tasks]})
        run_by_task(sweep, root / WORKDIR, data_dir, f"debate-{part}", root / "timings.json", base_dir=STUDIES)


# ---- rows ---------------------------------------------------------------------------------------------
def kind_of(record) -> str | None:
    """'plain' / 'confidence' (the plain weak model, naive / confidence mpnet student), 'debate <policy>' (one
    judge: the judge part), 'debate ensemble' (embed, four judges), 'ensemble' (four weak fits); None for other
    rows."""
    res = as_result(record)
    sup = weak_spec(res)
    if res.strong != ("minilm" if isinstance(sup, dict) and sup.get("members", 1) == 1 else "mpnet"):
        return None
    if res.supervisor_kind == "model":
        return {"naive": "plain", "confidence": "confidence"}.get(res.method)
    if res.method != "naive" or not isinstance(sup, dict):
        return None
    if res.supervisor_kind == "ensemble":
        return "ensemble"
    if res.supervisor_kind == "debate" and sup.get("protocol") == "consultancy" and sup.get("policy") == "adversarial":
        return "debate adversarial (fixed judge)" if sup.get("members", 1) == 1 else None
    if res.supervisor_kind == "debate" and sup.get("protocol", "debate") == "debate":
        if sup.get("members", 1) == 4:
            return "debate ensemble"
        return f"debate {sup.get('policy', 'embed')}" if sup.get("members", 1) == 1 else None
    return None


def by_cell(records: list[dict]) -> dict[tuple[str, str], list]:
    out: dict[tuple[str, str], list] = defaultdict(list)
    for r in records:
        k = kind_of(r)
        if k is not None:
            res = as_result(r)
            out[(res.task, k)].append(res)
    return out


def fmt_ci(m, lo, hi, digits: int = 3) -> str:
    if m is None:
        return "–"
    if lo is None or not np.isfinite(lo):
        return f"{m:.{digits}f}"
    return f"{m:.{digits}f} [{lo:.{digits}f}, {hi:.{digits}f}]"


def paired(a: list[float], b: list[float]) -> tuple:
    """Mean of the seed-paired differences a - b with its t-interval over seeds."""
    d = [x - y for x, y in zip(a, b, strict=True) if x is not None and y is not None]
    return mean_ci(d)


def pgr_vs_supervisor(rows, metric: str = "acc", n_boot: int = 2000, seed: int = 0) -> tuple:
    """(student − supervisor) / (ceiling − supervisor) on `metric` from the seed means, with a 95% CI that
    resamples seeds (None where the supervisor is not below the ceiling)."""
    x = np.array([[labeller(r, metric), r.score("ceiling", metric), r.score("student", metric)] for r in rows],
                 dtype=float)
    x = x[np.isfinite(x).all(axis=1)]
    if not len(x):
        return None, None, None

    def stat(m):
        with np.errstate(divide="ignore", invalid="ignore"):
            return (m[..., 2] - m[..., 0]) / (m[..., 1] - m[..., 0])

    point = x.mean(0)
    if point[1] <= point[0]:
        return None, None, None
    boots = x[np.random.default_rng(seed).integers(0, len(x), (n_boot, len(x)))].mean(1)
    ok = boots[:, 1] > boots[:, 0]
    lo, hi = np.percentile(np.where(ok, stat(boots), np.nan)[ok], [2.5, 97.5]) if ok.any() else (None, None)
    return float(stat(point)), lo, hi


def verdict(lo, hi, claimed_positive: bool = True) -> str:
    if lo is None or not np.isfinite(lo):
        return "not resolved"
    if lo > 0:
        return "reproduced" if claimed_positive else "not reproduced"
    if hi < 0:
        return "not reproduced" if claimed_positive else "reproduced"
    return "not resolved"


def metric_of(rows) -> str:
    """'q_acc' (per-question accuracy: the question's argmax is the answer) on a multiple-choice task, whose
    weak model is scored per question; else 'acc' (class-balanced accuracy). Fixed by the task, not by a result."""
    return "q_acc" if any(r.score("weak", "q_acc") is not None for r in rows) else "acc"


def labeller(r, metric: str):
    """The score on T of whoever made the student's labels: the supervisor where it is not the PGR floor (debate),
    else the floor itself (the plain weak model, the ensemble kind)."""
    v = r.score("supervisor", metric)
    return r.score("weak", metric) if v is None else v


def judge_scores(rows, protocol: str) -> list:
    """Each row's judge score under `protocol`: per question on a multiple-choice task, else balanced accuracy."""
    return [(r.debate.judge_q_acc or r.debate.judge_acc).get(protocol, (None,))[0] for r in rows]


# ---- page sections ------------------------------------------------------------------------------------
def gap_section(cells, records) -> tuple[list[str], dict[str, bool]]:
    from w2sg.report.summary import summarize

    lines = ["## 1. Which tasks have a weak → strong gap", "",
             "minilm (plain weak model) and the mpnet ceiling on T, pooled over all seeds. Metric: per-question "
             "accuracy (q_acc) on the multiple-choice tasks (quail, cosmos_qa: four candidates, chance 0.25), "
             "class-balanced accuracy (acc) on the yes/no ones (boolq, mc_taco: chance 0.5). The acc gap's CI is "
             "hierarchical (seeds, then test groups = passages), q_acc's resamples seeds only: the students part "
             "re-splits one fixed pool, so its seeds share T and a q_acc CI leaves out T's own sampling (read a "
             "resolved q_acc gap as provisional). PGRs below are quoted only where the gap is resolved.", "",
             "| task | metric | seeds | weak | ceiling | gap [95% CI] | resolved |", "|---|---|---|---|---|---|---|"]
    resolved = {}
    for task in TASKS:
        rows = cells.get((task, "plain"), [])
        if not rows:
            continue
        m = metric_of(rows)
        s = summarize(rows)[0]
        ok = bool(s.get(f"pgr_{m}_resolved"))
        resolved[task] = ok
        gap = fmt_ci(s.get(f"gap_{m}_pooled"), s.get(f"gap_{m}_pooled_ci_low"), s.get(f"gap_{m}_pooled_ci_high"))
        lines.append(f"| {task} | {m} | {s['n_seeds']} | {fmt_ci(s.get(f'weak_{m}_mean'), None, None)} | "
                     f"{fmt_ci(s.get(f'ceiling_{m}_mean'), None, None)} | {gap} | {'yes' if ok else 'no'} |")
    missing = [t for t in TASKS if not cells.get((t, "plain"))]
    if missing:
        lines += ["", f"Not run yet: {', '.join(missing)} (`python studies/debate/study.py run --root w2sg-study "
                  f"--data-dir ../shared/data --part students --tasks {','.join(missing)}`, then `--part "
                  "confidence`)."]
    return lines + [""], resolved


def judge_section(cells) -> list[str]:
    lines = ["## 2. Judge accuracy per protocol (policy embed, one judge)", "",
             "The judge's score on T under each protocol (per-question accuracy on quail and cosmos_qa, balanced "
             "accuracy on boolq and mc_taco), mean over seeds [t-interval over seeds]. Each seed's judges are trained "
             "on A's transcripts under that protocol; each seed draws its own passages for A and T.", "",
             "| task | seeds | " + " | ".join(PROTOCOLS) + " | debate − blind | full − debate |", "|---" * 8 + "|"]
    for task in TASKS:
        rows = cells.get((task, "debate embed"), [])
        if not rows:
            continue
        acc = {p: judge_scores(rows, p) for p in PROTOCOLS}
        cols = [fmt_ci(*mean_ci(acc[p])[:3]) for p in PROTOCOLS]
        d1, d2 = paired(acc["debate"], acc["blind"]), paired(acc["full"], acc["debate"])
        lines.append(f"| {task} | {len(rows)} | " + " | ".join(cols) + f" | {fmt_ci(*d1[:3])} | {fmt_ci(*d2[:3])} |")
    return lines + [""]


def liar_section(cells) -> list[str]:
    lines = ["## 3. The liar's win rate per debater policy", "",
             "How often the side arguing against ground truth convinces the judge (consultancy: rows whose "
             "consultant lied; debate: every row, one side always lies), mean over seeds [t-interval]. The judge "
             "accepts a candidate when it is its question's top candidate (quail, cosmos_qa) or when P > 0.5 "
             "(boolq, mc_taco). The "
             "adversarial debater quotes, turn by turn, the sentence that most moves a judge trained on random "
             "debates towards its side.", "", "| task | policy | seeds | consultancy | debate |",
             "|---|---|---|---|---|"]
    for task in TASKS:
        for pol in POLICIES:
            rows = cells.get((task, f"debate {pol}"), [])
            if not rows:
                continue
            cols = [fmt_ci(*mean_ci([r.debate.liar_win.get(p, (None,))[0] for r in rows])[:3])
                    for p in ("consultancy", "debate")]
            lines.append(f"| {task} | {pol} | {len(rows)} | " + " | ".join(cols) + " |")
    lines += ["", "Against a fixed judge (manipulability): the adversary's target, a judge trained on random "
              "debates, held fixed, reading random and adversarial quotes on the same T (seed-paired difference).", "",
              "| task | protocol | random quotes | adversarial quotes | adversarial − random |",
              "|---|---|---|---|---|"]
    for task in TASKS:
        rows = cells.get((task, "debate adversarial (fixed judge)"), [])
        for protocol in ("consultancy", "debate"):
            got = [r.debate.liar_win_fixed.get(protocol) for r in rows]
            got = [g for g in got if g]
            if not got:
                continue
            rand, adv = [g["random"][0] for g in got], [g["adversarial"][0] for g in got]
            lines.append(f"| {task} | {protocol} | {fmt_ci(*mean_ci(rand)[:3])} | {fmt_ci(*mean_ci(adv)[:3])} | "
                         f"{fmt_ci(*paired(adv, rand)[:3])} |")
    return lines + [""]


def pgr_section(cells, resolved) -> list[str]:
    from w2sg.report.summary import summarize

    lines = ["## 4. Students: debate ensemble vs naive, confidence loss and an ensemble over training seeds", "",
             "Student accuracy on T (mean over seeds) and, where the task's gap is resolved, the pooled PGR against "
             "the plain weak model (Lang et al.'s convention; for the ensemble kind the floor is the ensemble itself) "
             "with its hierarchical CI. The supervisor column is the labeller's own score on T (the plain weak model, "
             "the debate ensemble or the training-seed ensemble).", "",
             "`supervisor − weak` is the labeller's gain over the plain weak model on T (per-seed paired cluster-"
             "bootstrap gains, mean [t-interval over seeds]); `PGR vs supervisor` = (student − supervisor) / (ceiling "
             "− supervisor) from the seed means, with a CI that resamples seeds.", "",
             "| task | student from | seeds | supervisor acc | supervisor − weak | student acc | student − plain naive "
             "| PGR [95% CI] | PGR vs supervisor |", "|---|---|---|---|---|---|---|---|---|"]
    for task in TASKS:
        base = cells.get((task, "plain"), [])
        if not base:
            continue
        m = metric_of(base)
        base_acc = {r.seed: r.score("student", m) for r in base}
        for kind in SUPERVISORS:
            rows = cells.get((task, kind if kind != "plain" else "plain"), [])
            if not rows:
                continue
            s = summarize(rows)[0]
            sup = mean_ci([labeller(r, m) for r in rows])
            stu = mean_ci([r.score("student", m) for r in rows])
            diff = paired([r.score("student", m) for r in rows], [base_acc.get(r.seed) for r in rows])
            pgr = fmt_ci(s.get(f"pgr_{m}_pooled"), s.get(f"pgr_{m}_pooled_ci_low"), s.get(f"pgr_{m}_pooled_ci_high"),
                         2) if resolved.get(task) else "gap not resolved"
            gain = mean_ci([r.score("supervisor", "q_gain" if m == "q_acc" else "gain") for r in rows])
            vs = fmt_ci(*pgr_vs_supervisor(rows, m), digits=2) if resolved.get(task) and sup[0] is not None else "–"
            lines.append(f"| {task} | {kind} | {len(rows)} | {fmt_ci(*sup[:3])} | {fmt_ci(*gain[:3])} | "
                         f"{fmt_ci(*stu[:3])} | {fmt_ci(*diff[:3]) if kind != 'plain' else '–'} | {pgr} | {vs} |")
    return lines + [""]


def claims_section(cells, resolved) -> list[str]:
    lines = ["## 5. Lang et al.'s claims at this scale", "",
             "| claim | task | evidence (seed-paired, 95% CI) | verdict |", "|---|---|---|---|"]
    for task in TASKS:
        rows = cells.get((task, "debate embed"), [])
        if rows:
            acc = {p: judge_scores(rows, p) for p in PROTOCOLS}
            for a, b in (("consultancy", "blind"), ("debate", "consultancy"), ("full", "debate")):
                d = paired(acc[a], acc[b])
                lines.append(f"| judge: {b} < {a} ({SOURCES[(b, a)]}) | {task} | {fmt_ci(*d[:3])} | "
                             f"{verdict(d[1], d[2])} |")
        ens, plain, sup_ens = (cells.get((task, k), []) for k in ("debate ensemble", "plain", "ensemble"))
        m = metric_of(plain) if plain else "acc"
        if ens and plain:
            p = {r.seed: r.score("student", m) for r in plain}
            d = paired([r.score("student", m) for r in ens], [p.get(r.seed) for r in ens])
            note = "" if resolved.get(task) else " (gap not resolved: accuracy only)"
            lines.append(f"| debate ensemble student beats naive (Lang et al. 2025){note} | {task} | "
                         f"{fmt_ci(*d[:3])} | {verdict(d[1], d[2])} |")
        if ens and sup_ens:
            q = {r.seed: labeller(r, m) for r in sup_ens}
            d = paired([labeller(r, m) for r in ens], [q.get(r.seed) for r in ens])
            lines.append(f"| debate-seed ensemble labels beat a training-seed ensemble's (Lang et al.) | {task} | "
                         f"{fmt_ci(*d[:3])} | {verdict(d[1], d[2])} |")
    for task in TASKS:
        got = [r.debate.liar_win_fixed.get("consultancy") for r in cells.get((task, "debate adversarial (fixed judge)"),
                                                                            [])]
        got = [g for g in got if g]
        if got:
            d = paired([g["adversarial"][0] for g in got], [g["random"][0] for g in got])
            lines.append(f"| an adversarial consultant fools a fixed weak judge more than a random one (Irving et al. "
                         f"2018) | {task} | "
                         f"{fmt_ci(*d[:3])} | {verdict(d[1], d[2])} |")
    lines += ["| gains level off at about four members (Lang et al.) | all | members not swept at this scale | "
              "not tested |", "| more than three turns hurts (Lang et al.) | all | turns not swept at this scale | "
              "not tested |"]
    return lines + [""]


def page(root: Path, out: Path) -> None:
    records = load_records(root, WORKDIR)
    cells = by_cell(records)
    gap, resolved = gap_section(cells, records)
    timings = [t for t in read_timings(root / "timings.json") if str(t.get("part", "")).startswith("debate-")]
    cost = ", ".join(f"{t['part'][7:]} {t['task']} {t['seconds'] / 60:.0f} min" for t in timings)
    text = "\n".join([
        "# Debate-assisted supervision, extractive (issue 24)", "",
        "Lang, Huang & Li (AAAI 2025) report that weak judges reading strong debaters' transcripts, ensembled over "
        "debate seeds, supervise better than the weak model alone (SciQ PGR 41 → 77, BoolQ 56 → 69, CosmosQA 17 → 57). "
        "Here the debate is extractive: debaters quote passage sentences by index (`w2sg supervisors`, kind "
        "`debate`), a minilm judge reads the claim's relations to the quotes. Grids: "
        "`debate_judge.yaml` (sections 2-3), `debate_students.yaml` and `debate_confidence.yaml` (1, 4, 5); rerun with "
        "`python studies/debate/study.py run --root w2sg-study --data-dir "
        "../shared/data`, page with `python studies/debate/study.py page --root w2sg-study`.", "",
        "Rules fixed in advance: every seed counts; PGRs only where the gap is resolved; a claim is reproduced when "
        "its seed-paired CI excludes 0 in the claimed direction. SciQ is absent: the offline copy has no support "
        "paragraph (`../shared/data/sciq/SOURCE.md`). mc_taco (one-sentence contexts) is the null control: "
        "quotes can add little there.", "",
        "Can the design show the claims when they are true? `tests/test_debate.py` builds a reading task where the "
        "right and a wrong candidate both occur in the passage and only the sentence naming the question's person "
        "decides; there a judge with no evidence is at chance, debate and full are near perfect, and an adversarial "
        "consultant fools a judge held fixed far more often than a random one (asserted). The judge here is weak on "
        "purpose: minilm's frozen features, a linear head; the strong side is frozen mpnet, which has no resolved gap "
        "over minilm on these tasks (section 1), so Lang et al.'s PGR claims cannot be tested at this scale and "
        "sections 4-5 report accuracies with CIs instead.", "",
        *gap, *judge_section(cells), *liar_section(cells), *pgr_section(cells, resolved),
        *claims_section(cells, resolved),
        "## Cost", "", f"On this machine (2 CPU cores): {cost or 'no timings recorded'}.", ""])
    out.mkdir(parents=True, exist_ok=True)
    (out / "README.md").write_text(text)
    print(f"wrote {out / 'README.md'}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("cmd", choices=["run", "page"])
    ap.add_argument("--root", type=Path, default=Path("w2sg-study"))
    ap.add_argument("--data-dir", default=None)
    ap.add_argument("--part", choices=[*PARTS, "all"], default="all")
    ap.add_argument("--tasks", default=None, help="comma-separated subset of the grids' tasks")
    ap.add_argument("--out", type=Path, default=HERE)
    a = ap.parse_args()
    if a.cmd == "run":
        run(a.root, a.data_dir, list(PARTS) if a.part == "all" else [a.part], a.tasks.split(",") if a.tasks else None)
    else:
        page(a.root, a.out)


if __name__ == "__main__":
    main()
