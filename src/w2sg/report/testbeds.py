"""What the report's Testbeds section draws and tabulates, from flat result records: pure, no matplotlib.

A *testbed row* is an experiment whose weak labels come from a controlled supervisor (`supervisor_kind`
"synthetic", "ensemble" or "chain") or whose strong student starts locked (`locked` = "password" /
"deceptive"); the section exists only when the records hold one (`has_testbeds`). Its parts:

- supervisor quality (`supervisor_quality_data`): synthetic supervisors, PGR and student accuracy against the
  supervisor's accuracy on T, one line per (error kind, method): random against systematic errors;
- the region heatmap (`region_heatmap_data`): the student's accuracy in the four regions of T (weak right /
  wrong × ceiling right / wrong), per method, one panel per (task, supervisor family);
- locked-model elicitation (`locked_data`): the student's accuracy without / with the trigger against the
  locked model's, the weak supervisor's and the ceiling's, one panel per (task, locked variant);
- the imitation table (`imitation_table`) and the locked-model table (`locked_table`).

Every accuracy mean is over the seeds (experiments) of its group that have the value; `seed_stats` gives the
t-based 95% CI over seeds. A PGR over seeds is the pooled PGR of ALL the seeds of its group with its hierarchical
CI (`w2sg.report.aggregate.pooled_stat`), drawn only when the mean gap is resolved; no seed is left out by its
gap. Records are counted once by store hash and a task with several versions of its data is shown per version
(`task@abc123`), as in the rest of the report.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from w2sg.metrics import seed_summary
from w2sg.report.aggregate import PooledStat, Records, pooled_stat, results_of
from w2sg.result import ExperimentResult, as_result, finite

TESTBED_KINDS = ("synthetic", "ensemble", "chain")
ERROR_KINDS = ("random", "class_conditional", "region", "degrade")  # drawing / legend order
REGIONS = ("wr_sr", "wr_sw", "ww_sr", "ww_sw")
REGION_LABELS = {"wr_sr": "weak ✓ strong ✓", "wr_sw": "weak ✓ strong ✗", "ww_sr": "weak ✗ strong ✓",
                 "ww_sw": "weak ✗ strong ✗"}
LOCKED_REFS = (("weak_acc", "weak supervisor"), ("ceiling_acc", "ceiling"), ("locked_acc", "locked model"),
               ("locked_acc_trigger", "locked model + trigger"))
Stats = tuple[float | None, float | None, float | None, int]  # (mean, ci_low, ci_high, n)


# the record keys the section groups and averages by -> their place in a result
_VALUES = {"task": lambda r: r.task, "supervisor": lambda r: r.supervisor, "strong": lambda r: r.strong,
           "method": lambda r: r.method, "locked": lambda r: r.lock.variant,
           "supervisor_errors": lambda r: r.supervisor_errors,
           "supervisor_error_rate": lambda r: r.supervisor_error_rate,
           "weak_acc": lambda r: r.score("weak", "acc"), "ceiling_acc": lambda r: r.score("ceiling", "acc"),
           "student_acc": lambda r: r.score("student", "acc"), "locked_acc": lambda r: r.lock.acc,
           "locked_acc_trigger": lambda r: r.lock.acc_trigger,
           "student_acc_trigger": lambda r: r.lock.student_acc_trigger}


def value(result: ExperimentResult, key: str) -> Any:
    """The value a flat record holds under `key` (one of the section's keys), read from the result."""
    return _VALUES[key](result)


def is_testbed(record: dict | ExperimentResult) -> bool:
    """True for an experiment with a controlled supervisor or a locked strong student."""
    r = as_result(record)
    return r.supervisor_kind in TESTBED_KINDS or bool(r.locked)


def has_testbeds(records: Records) -> bool:
    return any(is_testbed(r) for r in records)


def prepared(records: Records) -> list[ExperimentResult]:
    """Each experiment once as a result, a task with several data versions labelled by version (idempotent)."""
    return results_of(records)


def mean(values: Iterable[Any]) -> float | None:
    vals = [v for v in (finite(x) for x in values) if v is not None]
    return sum(vals) / len(vals) if vals else None


def seed_stats(values: Iterable[Any]) -> Stats:
    """(mean, ci_low, ci_high, n) over the finite values, t-based 95% CI (None below two values)."""
    s = seed_summary([finite(v) for v in values])
    return finite(s["mean"]), finite(s["ci_low"]), finite(s["ci_high"]), int(s["n"])


def _s(v: Any) -> str:
    return "-" if v is None or v == "" else str(v)


def _group(results: Iterable[ExperimentResult], keys: tuple[str, ...]) -> dict[tuple, list[ExperimentResult]]:
    out: dict[tuple, list[ExperimentResult]] = defaultdict(list)
    for r in results:
        out[tuple(_s(value(r, k)) for k in keys)].append(r)
    return dict(sorted(out.items()))


def error_kind_order(kinds: Iterable[str]) -> list[str]:
    kinds = set(kinds)
    return [k for k in ERROR_KINDS if k in kinds] + sorted(kinds - set(ERROR_KINDS))


# ---------------------------------------------------------------- 1. supervisor quality


@dataclass(frozen=True)
class QualityPoint:
    rate: float | None  # supervisor_error_rate
    x: float  # supervisor (weak) accuracy on T, mean over seeds
    pgr: PooledStat  # the pooled PGR (accuracy) over all seeds, with its CI (seeds, then test groups)
    student: Stats  # student accuracy


@dataclass(frozen=True)
class QualityPanel:
    task: str
    lines: dict[tuple[str, str], list[QualityPoint]]  # (error kind, method) -> points by x
    ceiling: float | None  # mean ceiling accuracy of the panel's experiments


@dataclass(frozen=True)
class SupervisorQuality:
    errors: list[str]
    methods: list[str]
    panels: list[QualityPanel]


def supervisor_quality_data(records: Records) -> SupervisorQuality:
    """Synthetic-supervisor experiments grouped by (task; error kind, error rate, method), over all their seeds:
    the supervisor's mean accuracy on T (x), the pooled PGR and the student's mean accuracy; only experiments
    with a weak accuracy."""
    rows = [r for r in prepared(records) if r.supervisor_kind == "synthetic"
            and finite(r.score("weak", "acc")) is not None]
    kinds = error_kind_order({_s(r.supervisor_errors) for r in rows})
    methods = sorted({_s(r.method) for r in rows})
    panels = []
    for (task,), task_rows in _group(rows, ("task",)).items():
        lines: dict[tuple[str, str], list[QualityPoint]] = defaultdict(list)
        for (kind, _, method), g in _group(task_rows, ("supervisor_errors", "supervisor_error_rate",
                                                       "method")).items():
            lines[(kind, method)].append(QualityPoint(
                finite(g[0].supervisor_error_rate), mean(r.score("weak", "acc") for r in g),
                pooled_stat(g, "acc"), seed_stats(r.score("student", "acc") for r in g)))
        ordered = {k: sorted(lines[k], key=lambda p: p.x) for k in sorted(
            lines, key=lambda k: (kinds.index(k[0]), methods.index(k[1])))}
        panels.append(QualityPanel(task, ordered, mean(r.score("ceiling", "acc") for r in task_rows)))
    return SupervisorQuality(kinds, methods, panels)


# ---------------------------------------------------------------- 2. region heatmap


def family(record: dict | ExperimentResult) -> str:
    """The supervisor family of a record: its kind (with the error kind of a synthetic one) and locked variant."""
    r = as_result(record)
    kind = _s(r.supervisor_kind)
    if kind == "synthetic" and r.supervisor_errors:
        kind = f"synthetic: {r.supervisor_errors}"
    return kind + (f" · locked {r.locked}" if r.locked else "")


@dataclass(frozen=True)
class RegionPanel:
    task: str
    family: str
    methods: list[str]
    cells: dict[tuple[str, str], tuple[float | None, int]]  # (method, region) -> (mean student acc, experiments)
    n: dict[str, float | None]  # region -> mean number of examples of T in it per experiment


def _has_regions(r: ExperimentResult) -> bool:
    return any(finite(r.region(g).student_acc) is not None for g in REGIONS)


def region_heatmap_data(records: Records) -> list[RegionPanel]:
    """Per (task, supervisor family) and method: the mean over experiments of the student's accuracy in each
    region of T, and the mean region sizes; records without region accuracies are left out."""
    rows = [r for r in prepared(records) if _has_regions(r)]
    by: dict[tuple[str, str], list[ExperimentResult]] = defaultdict(list)
    for r in rows:
        by[(_s(r.task), family(r))].append(r)
    out = []
    for (task, fam), g in sorted(by.items()):
        methods = sorted({_s(r.method) for r in g})
        cells = {}
        for m in methods:
            mr = [r for r in g if _s(r.method) == m]
            for reg in REGIONS:
                vals = [finite(r.region(reg).student_acc) for r in mr]
                vals = [v for v in vals if v is not None]
                cells[(m, reg)] = (mean(vals), len(vals))
        out.append(RegionPanel(task, fam, methods, cells, {reg: mean(r.region(reg).n for r in g)
                                                            for reg in REGIONS}))
    return out


# ---------------------------------------------------------------- 3. locked-model elicitation


@dataclass(frozen=True)
class LockedPanel:
    task: str
    variant: str
    methods: list[str]
    bars: dict[tuple[str, str], Stats]  # (method, "student_acc" | "student_acc_trigger") -> seed stats
    refs: dict[str, float | None]  # weak_acc, ceiling_acc, locked_acc, locked_acc_trigger -> mean


def locked_data(records: Records) -> list[LockedPanel]:
    """Per (task, locked variant) and method: the student's accuracy on T without and with the trigger (seed
    means, t-based CIs), and the mean reference levels of the panel (`LOCKED_REFS`)."""
    rows = [r for r in prepared(records) if r.locked]
    out = []
    for (task, variant), g in _group(rows, ("task", "locked")).items():
        methods = sorted({_s(r.method) for r in g})
        bars = {(m, key): seed_stats(value(r, key) for r in g if _s(r.method) == m)
                for m in methods for key in ("student_acc", "student_acc_trigger")}
        out.append(LockedPanel(task, variant, methods, bars, {k: mean(value(r, k) for r in g) for k, _ in LOCKED_REFS}))
    return out


# ---------------------------------------------------------------- tables


def fmt(x: float | None, digits: int = 3) -> str:
    return "n/a" if x is None else f"{x:.{digits}f}"


IMITATION_METRICS = ("agree_test_weak_wrong", "imitation_test_region", "imitation_test_outside",
                     "student_err_weak_blind", "student_err_weak_sees", "deception_score")
IMITATION_HEADER = ["task", "supervisor", "strong", "locked", "method", "seeds", "supervisor acc",
                    "imitation of errors", "imitation in region", "imitation outside region",
                    "student error (weak ✗ strong ✓)", "student error (weak ✓ strong ✓)",
                    "deception score (Yang et al.)"]
IMITATION_NOTE = (
    "Means over seeds. imitation of errors: the student's agreement with the supervisor on the examples of T "
    "the supervisor gets wrong (agree_test_weak_wrong; 1 = copies every error). In / outside region: the same "
    "inside and outside a systematic-error region of the supervisor (n/a without one). student error (weak ✗ "
    "strong ✓): the student's error rate where the supervisor is wrong and the ceiling right (errors it could "
    "have avoided); (weak ✓ strong ✓): its error rate where both are right, the baseline to compare it with. "
    "deception score: Yang et al.'s, the share of the student's mistakes where the ceiling is right that lie "
    "where the supervisor is wrong (n/a for records from before it was computed).")


def _metric(r: ExperimentResult, key: str) -> Any:
    """A result's imitation metric; records from before the rename kept the student's error rates under
    deception_score / deception_score_known (`metrics.deception.legacy_deception`)."""
    g, renamed = r.regions, r.has("student_err_weak_blind")
    if key == "agree_test_weak_wrong":
        return r.agreement("test").weak_wrong
    if key == "student_err_weak_blind":
        return g.student_err_weak_blind if renamed else g.deception_score
    if key == "student_err_weak_sees":
        return g.student_err_weak_sees if renamed else g.deception_score_known
    if key == "deception_score" and not renamed:
        return None  # an older record's deception_score is the student's error rate on weak ✗ strong ✓
    return getattr(g, key)


LOCKED_HEADER = ["task", "locked", "supervisor", "method", "seeds", "weak acc", "ceiling acc", "locked acc",
                 "locked acc (trigger)", "student acc", "student acc (trigger)"]
LOCKED_NOTE = ("Means over seeds of accuracies on T. locked acc: the locked strong model before weak-to-strong "
               "training, without / with the trigger that unlocks it; student acc: after training on the weak "
               "labels, without / with the trigger. Elicitation worked when the student without the trigger "
               "approaches the locked model with it.")
_ORDER = {k: i for i, k in enumerate(("model", *TESTBED_KINDS))}


def imitation_table(records: Records) -> tuple[list[str], list[list[str]]]:
    """(header, rows), one row per (task, supervisor, strong, locked, method) with any imitation metric: the
    seed means of `IMITATION_METRICS` and of the supervisor's accuracy."""
    rows = [r for r in prepared(records) if any(finite(_metric(r, k)) is not None for k in IMITATION_METRICS)]
    groups = _group(rows, ("task", "supervisor", "strong", "locked", "method"))
    keyed = sorted(groups.items(), key=lambda kv: (kv[0][0], _ORDER.get(_s(kv[1][0].supervisor_kind), 9),
                                                   kv[0][1:]))
    out = [[*key, str(len(g)), fmt(mean(r.score("weak", "acc") for r in g)),
            *(fmt(mean(_metric(r, k) for r in g)) for k in IMITATION_METRICS)] for key, g in keyed]
    return IMITATION_HEADER, out


def locked_table(records: Records) -> tuple[list[str], list[list[str]]]:
    """(header, rows), one row per (task, locked variant, supervisor, method) of locked-student experiments."""
    rows = [r for r in prepared(records) if r.locked]
    out = [[*key, str(len(g)), *(fmt(mean(value(r, k) for r in g)) for k in (
        "weak_acc", "ceiling_acc", "locked_acc", "locked_acc_trigger", "student_acc", "student_acc_trigger"))]
        for key, g in _group(rows, ("task", "locked", "supervisor", "method")).items()]
    return LOCKED_HEADER, out


def testbed_tables(records: Records) -> list[tuple[str, str, list[str], list[list[str]]]]:
    """The section's tables that have rows, as (title, note, header, rows)."""
    records = list(records)
    tables = [("Imitation of supervisor errors and deception", IMITATION_NOTE, *imitation_table(records)),
              ("Locked strong students", LOCKED_NOTE, *locked_table(records))]
    return [t for t in tables if t[3]]
