"""A typed experiment result: the flat record of one experiment (`ResultsStore.records()`, or the metrics of
`Pipeline.compute`) grouped into what the paper talks about.

A record has ~125 flat keys: `metrics.evaluate` (scores of the weak model, the strong ceiling and the student
on the test set T with bootstrap CIs, PGR per metric with its CI and stability flags, agreement / KL misfit
diagnostics), `metrics.supervisor_metrics`, `pipeline.training_record` (the student's budget, solver, l2 /
gradient norm / steps of each training step), split sizes and class balance, cache flags, truncation counts,
timings (`time_*`), the region / deception / imitation keys of `metrics.deception` and the store's columns (task,
weak, strong, method, seed, mode, hash, spec, versions, ...).

`ExperimentResult.from_record(flat)` groups them; `to_record()` flattens them back, so that
`ExperimentResult.from_record(r).to_record() == r` for every record: keys it does not model go through
`extra`, modelled keys absent from the record are remembered in `missing` and left out again, and values are
kept exactly as stored (no coercion: a JSON None stays None, an int stays an int; the annotations say what the
pipeline writes). Only the key order may differ.

    res = ExperimentResult.from_record(rec)
    res.score("student", "acc"), res.score_ci("student", "acc")
    res.pgr("acc").value, res.pgr("acc").ci, res.pgr("acc").stable
    res.agreement("transfer").weak_wrong, res.training.step("student").l2
    res.region("ww_sr").student_acc, res.regions.deception_score, res.regions.imitation_transfer_region
    res.process.score("student", "bon_acc").ci, res.pgr("trace_error").value  # a step-labelled task only
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, fields
from typing import Any

from w2sg.result_parts import (  # the record's plainer parts (re-exported)
    BUDGET_KINDS,
    PROCESS_METRICS,
    REGIONS,
    Budget,
    Debate,
    Estimate,
    Evaluation,
    Lock,
    Process,
    Region,
    Regions,
    RunInfo,
    SplitStats,
    StepTraining,
    Theory,
    Training,
)

ROLES = ("weak", "ceiling", "student")  # every experiment; "supervisor" only when the record scores one
SUPERVISOR = "supervisor"
PGR_METRICS = ("acc", "auroc", "q_acc")
SPLITS = ("weak_train", "transfer", "val", "test", "extra")
TRAINING_STEPS = ("weak", "ceiling", "student")
# store columns and labels; supervisor / supervisor_kind: what produced the weak labels (newer records only);
# task_fingerprint: the content hash of the task's rows (newer records only; None / absent in older ones)
IDENTITY = ("hash", "task", "weak", "strong", "method", "seed", "mode", "variant", "supervisor", "supervisor_kind",
            "task_fingerprint", "status", "error", "created_at")
# a synthetic supervisor's error process (None for other supervisors; absent in older records)
SUPERVISION = ("supervisor_errors", "supervisor_error_rate")
_ALIASES = {"accuracy": "acc", "question_accuracy": "q_acc"}

_SCORES = ("acc", "acc_ci_low", "acc_ci_high", "auroc", "auroc_ci_low", "auroc_ci_high", "q_acc", "q_acc_ci_low",
           "q_acc_ci_high", "ece", "logloss_test")
# the score fields each role has in a record (`<role>_<field>`), as `metrics.evaluate` writes them
_ROLE_FIELDS = {"weak": (*_SCORES, "err_transfer", "below_majority"), "ceiling": (*_SCORES, "below_majority"),
                "student": (*_SCORES, "err_transfer"), SUPERVISOR: ("acc", "auroc", "q_acc", "gain", "gain_ci_low",
                                                            "gain_ci_high", "pgr", "pgr_ci_low", "pgr_ci_high",
                                                            "pgr_reason", "q_gain", "q_gain_ci_low",
                                                            "q_gain_ci_high")}


def finite(v: Any) -> float | None:
    """A finite float, or None (None, NaN, inf, bools and non-numbers are not values)."""
    if v is None or isinstance(v, bool):
        return None
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return f if math.isfinite(f) else None


def _metric(metric: str) -> str:
    return _ALIASES.get(metric, metric)


# ---------------------------------------------------------------- the parts


@dataclass(frozen=True)
class RoleScores:
    """Scores on T of one model: the weak model (the PGR floor), the strong ceiling, the student, or the
    supervisor whose labels the student saw when it is not the weak model (`metrics.supervisor_metrics`: acc,
    auroc, q_acc only). Accuracy is class-balanced when `Evaluation.test_balanced`; q_acc is
    per-question accuracy (None unless the task is judged per question); logloss_test = mean KL(labels || model)
    on T (the cross-entropy); err_transfer = mean KL(model || labels) on B, the misfit bound's error term (model
    first; `metrics.diagnostics`). Records before the bound's keys were put the right way round have
    <role>_kl_test / <role>_kl_transfer = KL(labels || model) instead (kept in `extra`)."""

    role: str
    acc: float | None = None
    acc_ci_low: float | None = None
    acc_ci_high: float | None = None
    auroc: float | None = None
    auroc_ci_low: float | None = None
    auroc_ci_high: float | None = None
    q_acc: float | None = None
    q_acc_ci_low: float | None = None
    q_acc_ci_high: float | None = None
    ece: float | None = None
    logloss_test: float | None = None
    err_transfer: float | None = None
    below_majority: bool | None = None
    # the supervisor only (`metrics.labeller_comparison`): its accuracy gain over the PGR floor, and the PGR
    # measured against it, (student − supervisor) / (ceiling − supervisor), with CIs
    gain: float | None = None
    gain_ci_low: float | None = None
    gain_ci_high: float | None = None
    pgr: float | None = None
    pgr_ci_low: float | None = None
    pgr_ci_high: float | None = None
    pgr_reason: str | None = None
    q_gain: float | None = None  # per question, on a multiple-choice task
    q_gain_ci_low: float | None = None
    q_gain_ci_high: float | None = None

    def flat_keys(self) -> dict[str, str]:
        """Field -> record key."""
        return {f: f"{self.role}_{f}" for f in _ROLE_FIELDS[self.role]}


@dataclass(frozen=True)
class PGR:
    """Performance gap recovered on one metric (acc, auroc or q_acc) with its paired bootstrap CI, the gap
    ceiling − weak with its CI, and the flags of `metrics.PGRResult` (a missing CI end is unbounded)."""

    metric: str
    value: float | None = None
    ci_low: float | None = None
    ci_high: float | None = None
    gap: float | None = None
    gap_ci_low: float | None = None
    gap_ci_high: float | None = None
    reason: str | None = None
    frac_undefined: float | None = None
    unstable: bool | None = None

    def flat_keys(self) -> dict[str, str]:
        """Field -> record key (as `metrics.evaluate` names them)."""
        m = self.metric
        return {"value": f"pgr_{m}", "ci_low": f"pgr_{m}_ci_low", "ci_high": f"pgr_{m}_ci_high", "gap": f"gap_{m}",
                "gap_ci_low": f"gap_{m}_ci_low", "gap_ci_high": f"gap_{m}_ci_high", "reason": f"pgr_{m}_reason",
                "frac_undefined": f"pgr_{m}_frac_undefined", "unstable": "unstable" if m == "acc" else f"unstable_{m}"}

    @property
    def defined(self) -> bool:
        """The PGR is a finite number (undefined when ceiling ≤ weak, or not computed)."""
        return finite(self.value) is not None

    @property
    def stable(self) -> bool:
        """Defined and not flagged unstable (its gap CI is above 0 and its CI bounded)."""
        return self.defined and not self.unstable

    @property
    def ci(self) -> tuple[float | None, float | None]:
        return self.ci_low, self.ci_high


@dataclass(frozen=True)
class Agreement:
    """Share of examples on which a model's hard prediction agrees with the weak model's: all, where the weak
    model is right, where it is wrong (high = imitation of weak errors)."""

    all: float | None = None
    weak_right: float | None = None
    weak_wrong: float | None = None


@dataclass(frozen=True)
class Diagnostics:
    """Student–supervisor diagnostics on T and the transfer set B: agreement of the student (and, as a control,
    of the ceiling) with the weak model; the misfit mean KL(weak || student) on B, where the bound
    err(student) <= err(weak) - misfit applies, with its slack against B's labels and against the ceiling's
    predictions on B (`metrics.diagnostics.misfit_record`); the misfit on T only as a diagnostic (the bound
    promises nothing there; older records call it misfit_test, kept in `extra`)."""

    agree_test: Agreement = field(default_factory=Agreement)
    agree_transfer: Agreement = field(default_factory=Agreement)
    ceiling_agree_test: Agreement = field(default_factory=Agreement)
    ceiling_agree_transfer: Agreement = field(default_factory=Agreement)
    misfit_test_diagnostic: float | None = None
    misfit_transfer: float | None = None
    misfit_slack_transfer: float | None = None
    misfit_slack_ceiling_transfer: float | None = None


_RUN_PREFIXES = {"cached": "cached_", "truncated": "truncated_", "seconds": "time_"}
_TRAINING_KEYS = {"solver": "solver", "oracle": "oracle", "selected_step": "student_selected_step"}
_BUDGET_KEYS = {"label": "budget", "recorded_kind": "budget_kind", "recorded_steps": "budget_steps"}


def _step_keys(step: str) -> dict[str, str]:
    return {"l2": f"l2_{step}", "grad_norm": f"grad_norm_{step}", "steps": f"steps_{step}"}


_MISFIT_KEYS = {k: k for k in ("misfit_test_diagnostic", "misfit_transfer", "misfit_slack_transfer",
                               "misfit_slack_ceiling_transfer")}


def _agreement_keys(prefix: str) -> dict[str, str]:
    return {k: f"{prefix}_{k}" for k in ("all", "weak_right", "weak_wrong")}


def _plain_keys(cls: type) -> dict[str, str]:
    return {f.name: f.name for f in fields(cls) if f.name != "by_name"}


# ---------------------------------------------------------------- the result


@dataclass(frozen=True)
class ExperimentResult:
    """One experiment: identity (store columns), scores per role, PGR per metric, diagnostics, evaluation
    settings, splits, training, run info, the spec, versions, and `extra` for every key it does not model."""

    task: str | None = None
    weak: str | None = None
    strong: str | None = None
    method: str | None = None
    seed: int | None = None
    mode: str | None = None
    variant: str | None = None
    supervisor: str | None = None  # the weak label's source (a model name or a supervisor's label)
    supervisor_kind: str | None = None
    task_fingerprint: str | None = None  # the data the experiment ran on: a changed task is another version
    supervisor_errors: str | None = None  # a synthetic supervisor's error kind (random, region, ...)
    supervisor_error_rate: float | None = None  # its overall error rate (None when not one rate)
    hash: str | None = None
    status: str | None = None
    error: str | None = None
    created_at: float | None = None
    scores: Mapping[str, RoleScores] = field(default_factory=dict)
    pgrs: Mapping[str, PGR] = field(default_factory=dict)
    diagnostics: Diagnostics = field(default_factory=Diagnostics)
    regions: Regions = field(default_factory=Regions)
    evaluation: Evaluation = field(default_factory=Evaluation)
    splits: Mapping[str, SplitStats] = field(default_factory=dict)
    training: Training = field(default_factory=Training)
    lock: Lock = field(default_factory=Lock)
    debate: Debate = field(default_factory=Debate)
    process: Process = field(default_factory=Process)  # a step-labelled task's best-of-N, trace error, ...
    theory: Theory = field(default_factory=Theory)  # squared-loss misfit terms, expansion (`w2sg.theory`)
    run: RunInfo = field(default_factory=RunInfo)
    spec: dict = field(default_factory=dict)
    versions: dict = field(default_factory=dict)
    test_outcomes: Any = None  # T's stored outcomes, on records loaded with `ResultsStore.records(outcomes=True)`
    extra: dict = field(default_factory=dict)
    missing: frozenset[str] = frozenset()  # modelled keys the record did not have (left out by to_record)

    # ---- flat record <-> result
    @classmethod
    def from_record(cls, flat: Mapping[str, Any]) -> ExperimentResult:
        """Group a flat record; values are kept as stored (not copied, not coerced)."""
        taken: set[str] = set()
        missing: set[str] = set()

        def pick(keys: Mapping[str, str]) -> dict[str, Any]:
            out = {}
            for attr, key in keys.items():
                if key in flat:
                    taken.add(key)
                    out[attr] = flat[key]
                else:
                    missing.add(key)
                    out[attr] = None
            return out

        def present(keys: Mapping[str, str]) -> bool:
            return any(k in flat for k in keys.values())

        identity = pick({k: k for k in (*IDENTITY, *SUPERVISION, "test_outcomes")})
        scores = {role: RoleScores(role, **pick(RoleScores(role).flat_keys())) for role in ROLES}
        if present(RoleScores(SUPERVISOR).flat_keys()):
            scores[SUPERVISOR] = RoleScores(SUPERVISOR, **pick(RoleScores(SUPERVISOR).flat_keys()))
        pgrs = {m: PGR(m, **pick(PGR(m).flat_keys())) for m in PGR_METRICS}
        agreements = {f"{p}_{s}": Agreement(**pick(_agreement_keys(f"{p}_{s}")))
                      for p in ("agree", "ceiling_agree") for s in ("test", "transfer")}
        diagnostics = Diagnostics(**agreements, **pick(_MISFIT_KEYS))
        regions = Regions({r: Region(r, **pick(Region(r).flat_keys())) for r in REGIONS}, **pick(_plain_keys(Regions)))
        evaluation = Evaluation(**pick(_plain_keys(Evaluation)))
        split_keys = {s: {"n": f"n_{s}", "pos_frac": f"pos_frac_{s}"} for s in SPLITS}
        splits = {s: SplitStats(**pick(keys)) for s, keys in split_keys.items() if present(keys)}
        b = pick(_BUDGET_KEYS)
        budget = Budget.parse(b["label"], b["recorded_kind"], b["recorded_steps"], flat.get("spec"))
        training = Training(budget, **pick(_TRAINING_KEYS),
                            steps={s: StepTraining(**pick(_step_keys(s))) for s in TRAINING_STEPS})
        lock = Lock(**pick(Lock().flat_keys()))
        debate = Debate.parse(flat["debate"]) if "debate" in flat else Debate()
        taken.add("debate")
        process = Process.parse(pick) if present({k: k for k in Process.keys()}) else Process()
        if process.present:  # the PGR of each process metric, beside acc / auroc / q_acc
            pgrs |= {m: PGR(m, **pick(PGR(m).flat_keys())) for m in PROCESS_METRICS}
        theory = Theory(**pick(_plain_keys(Theory)))
        run = {}
        for attr, prefix in _RUN_PREFIXES.items():
            run[attr] = {k[len(prefix):]: v for k, v in flat.items() if k.startswith(prefix) and len(k) > len(prefix)
                         and k not in taken}
            taken.update(prefix + k for k in run[attr])
        objects = {k: v if k not in missing else {} for k, v in pick({"spec": "spec", "versions": "versions"}).items()}
        extra = {k: v for k, v in flat.items() if k not in taken}
        return cls(**identity, scores=scores, pgrs=pgrs, diagnostics=diagnostics, regions=regions,
                   evaluation=evaluation, splits=splits, training=training, lock=lock, debate=debate, process=process,
                   theory=theory,
                   run=RunInfo(**run), **objects, extra=extra, missing=frozenset(missing))

    def to_record(self) -> dict[str, Any]:
        """The flat record: every modelled key not in `missing`, then `extra` (which wins on a clash)."""
        out: dict[str, Any] = {}

        def put(obj: Any, keys: Mapping[str, str]) -> None:
            for attr, key in keys.items():
                if key not in self.missing:
                    out[key] = getattr(obj, attr)

        put(self, {k: k for k in (*IDENTITY, *SUPERVISION)})
        put(self.evaluation, _plain_keys(Evaluation))
        for s in self.scores.values():
            put(s, s.flat_keys())
        for p in self.pgrs.values():
            put(p, p.flat_keys())
        d = self.diagnostics
        for name in ("agree_test", "ceiling_agree_test", "agree_transfer", "ceiling_agree_transfer"):
            put(getattr(d, name), _agreement_keys(name))
        put(d, _MISFIT_KEYS)
        for r in self.regions.by_name.values():
            put(r, r.flat_keys())
        put(self.regions, _plain_keys(Regions))
        for s, stats in self.splits.items():
            put(stats, {"n": f"n_{s}", "pos_frac": f"pos_frac_{s}"})
        put(self.training.budget, _BUDGET_KEYS)
        put(self.training, _TRAINING_KEYS)
        for s, t in self.training.steps.items():
            put(t, _step_keys(s))
        put(self.lock, self.lock.flat_keys())
        if self.debate.present:
            out["debate"] = self.debate.raw
        for obj, keys in self.process.flat():
            put(obj, keys)
        put(self.theory, _plain_keys(Theory))
        for attr, prefix in _RUN_PREFIXES.items():
            out |= {prefix + k: v for k, v in getattr(self.run, attr).items()}
        put(self, {"spec": "spec", "versions": "versions", "test_outcomes": "test_outcomes"})
        return out | self.extra

    # ---- accessors
    def score(self, role: str, metric: str = "acc") -> Any:
        """The score `metric` (acc, auroc, q_acc, ece, logloss_test, ...) of `role` on T, as stored; None when the
        record has none (e.g. no supervisor)."""
        role, metric = _check_role(role), _metric(metric)
        if metric not in _ROLE_FIELDS[role]:
            raise ValueError(f"{role} has no score {metric!r}; known: {list(_ROLE_FIELDS[role])}")
        s = self.scores.get(role)
        return None if s is None else getattr(s, metric)

    def score_ci(self, role: str, metric: str = "acc") -> tuple[Any, Any]:
        """(ci_low, ci_high) of `role`'s acc, auroc or q_acc: the 95% paired bootstrap interval."""
        metric = _metric(metric)
        return self.score(role, f"{metric}_ci_low"), self.score(role, f"{metric}_ci_high")

    def pgr(self, metric: str = "acc") -> PGR:
        """PGR on acc, auroc, q_acc or a process metric (`PROCESS_METRICS`; all fields None when the record has
        none)."""
        metric = _metric(metric)
        if metric not in (*PGR_METRICS, *PROCESS_METRICS):
            raise ValueError(f"no PGR on {metric!r}; known: {[*PGR_METRICS, *PROCESS_METRICS]}")
        return self.pgrs.get(metric, PGR(metric))

    def stable(self, metric: str = "acc") -> bool:
        """The PGR on `metric` is defined and not flagged unstable."""
        return self.pgr(metric).stable

    def agreement(self, split: str = "transfer", model: str = "student") -> Agreement:
        """Agreement with the weak model on `split` (test or transfer) of the student or the ceiling control."""
        if split not in ("test", "transfer") or model not in ("student", "ceiling"):
            raise ValueError(f"agreement: split test|transfer and model student|ceiling, got {split!r}, {model!r}")
        return getattr(self.diagnostics, f"{'agree' if model == 'student' else 'ceiling_agree'}_{split}")

    def region(self, name: str) -> Region:
        """The region `name` of T (wr_sr, wr_sw, ww_sr or ww_sw); all None when not recorded."""
        if name not in REGIONS:
            raise ValueError(f"unknown region {name!r}; known: {list(REGIONS)}")
        return self.regions.by_name.get(name, Region(name))

    @property
    def locked(self) -> str | None:
        """The locked variant of the strong student ('password', 'deceptive'), None when it starts unlocked."""
        return self.lock.variant

    def has(self, key: str) -> bool:
        """The flat record had the modelled key `key` (a key left out is in `missing`; unmodelled keys in
        `extra`). Tables that print '' for an absent key and None for a stored None read this."""
        return key not in self.missing

    @property
    def pair(self) -> tuple[Any, Any]:
        """(weak, strong)."""
        return self.weak, self.strong


def _check_role(role: str) -> str:
    if role not in _ROLE_FIELDS:
        raise ValueError(f"unknown role {role!r}; known: {list(_ROLE_FIELDS)}")
    return role


def as_result(record: Mapping[str, Any] | ExperimentResult) -> ExperimentResult:
    """`record` itself when it is already an ExperimentResult, else `ExperimentResult.from_record(record)`."""
    return record if isinstance(record, ExperimentResult) else ExperimentResult.from_record(record)


def as_results(records: Iterable[Mapping[str, Any] | ExperimentResult]) -> list[ExperimentResult]:
    """`as_result` of each record."""
    return [as_result(r) for r in records]


__all__ = ["ExperimentResult", "Budget", "BUDGET_KINDS",
           "RoleScores", "PGR", "Agreement", "Diagnostics", "Region", "Regions", "Evaluation", "Lock",
           "Debate", "Process", "Estimate", "PROCESS_METRICS", "Theory",
           "SplitStats", "StepTraining", "Training", "RunInfo", "as_result", "as_results", "finite", "ROLES",
           "PGR_METRICS", "REGIONS", "SPLITS", "SUPERVISOR"]
