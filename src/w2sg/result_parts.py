"""The plainer parts of a typed experiment result (`w2sg.result`): the regions of T, how T was scored, the
splits, how each model was trained, and what the run cost."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

REGIONS = ("wr_sr", "wr_sw", "ww_sr", "ww_sw")  # weak right/wrong x strong (ceiling) right/wrong on T


@dataclass(frozen=True)
class Region:
    """One region of T (`REGIONS`: weak right/wrong x ceiling right/wrong): its rows, the student's plain
    accuracy there, and the labeller's when it is not the PGR floor (`supervisor_acc`; else None). The weak
    model's accuracy is 1 in wr_* and 0 in ww_*, the ceiling's 1 in *_sr and 0 in *_sw, by construction."""

    name: str
    n: int | None = None
    student_acc: float | None = None
    supervisor_acc: float | None = None

    def flat_keys(self) -> dict[str, str]:
        """Field -> record key."""
        r = self.name
        return {"n": f"region_{r}_n", "student_acc": f"student_acc_{r}", "supervisor_acc": f"supervisor_acc_{r}"}


@dataclass(frozen=True)
class Regions:
    """`metrics.deception`: the four regions of T; the deception score of Yang et al. 2025 (the share of the
    student's mistakes where the ceiling is right that lie where the weak model is wrong) and its chance level;
    the student's error rate on ww_sr (weak wrong, ceiling right: `student_err_weak_blind`) with its bootstrap
    CI, its control on wr_sr and their difference; imitation_<split>_region / _outside: the share of the
    supervisor's wrong rows on which the student agrees with it, inside / outside the supervisor's
    systematic-error region, n_sup_wrong_* the number of those rows, and student_err_test_region / _outside the
    student's error rate on T inside / outside the region (None without a region mask). Records from before the
    rename hold student_err_weak_blind as deception_score (and its CI), the control as deception_score_known and
    the difference as deception_gap: those fields are kept so such records still read. Fields other than
    by_name are the record keys."""

    by_name: Mapping[str, Region] = field(default_factory=lambda: {r: Region(r) for r in REGIONS})
    deception_score: float | None = None
    deception_score_chance: float | None = None
    student_err_weak_blind: float | None = None
    student_err_weak_blind_ci_low: float | None = None
    student_err_weak_blind_ci_high: float | None = None
    student_err_weak_sees: float | None = None
    student_err_blind_minus_sees: float | None = None
    deception_score_ci_low: float | None = None  # older records only
    deception_score_ci_high: float | None = None  # older records only
    deception_score_known: float | None = None  # older records only
    deception_gap: float | None = None  # older records only
    imitation_test_region: float | None = None
    imitation_test_outside: float | None = None
    n_sup_wrong_region_test: int | None = None
    n_sup_wrong_outside_test: int | None = None
    imitation_transfer_region: float | None = None
    imitation_transfer_outside: float | None = None
    n_sup_wrong_region_transfer: int | None = None
    n_sup_wrong_outside_transfer: int | None = None
    student_err_test_region: float | None = None
    student_err_test_outside: float | None = None


@dataclass(frozen=True)
class Evaluation:
    """How T was scored: bootstrap resamples, class balancing, the majority baseline, per-question coverage."""

    n_boot: int | None = None
    test_balanced: bool | None = None
    test_pos_frac: float | None = None
    majority_acc: float | None = None
    n_questions: int | None = None
    q_coverage: float | None = None
    n_test_groups: int | None = None  # units of the cluster bootstrap (questions, prompts; rows when ungrouped)


@dataclass(frozen=True)
class SplitStats:
    """Size and share of positives of one split (weak_train A, transfer B, val V, test T, extra)."""

    n: int | None = None
    pos_frac: float | None = None


@dataclass(frozen=True)
class StepTraining:
    """How one training step (weak, ceiling, student) ended: L2 strength, gradient norm, optimiser steps."""

    l2: float | None = None
    grad_norm: float | None = None
    steps: int | None = None


BUDGET_KINDS = ("full", "steps", "early_stop", "early_stop_oracle")
_KIND_ORDER = {"steps": 0, "full": 1, "early_stop": 2, "early_stop_oracle": 3}


def _positive_int(v: Any) -> int | None:
    return v if isinstance(v, int) and not isinstance(v, bool) and v > 0 else None


@dataclass(frozen=True)
class Budget:
    """The student's training budget of a record, parsed once (`Budget.parse`) from its `budget` label (e.g.
    'converged', 'epochs=2', 'steps=256', 'early_stop(auroc,steps=1024)', 'early_stop_oracle(accuracy,epochs=2)',
    as `config.BudgetSpec.label` writes it) and its `budget_kind` / `budget_steps` keys (absent in older records:
    then inferred from the label). `label`, `recorded_kind` and `recorded_steps` are the record's values as
    stored (so that the record round-trips); `kind` is one of `BUDGET_KINDS` (None: no budget recorded), `steps`
    the step budget of kind 'steps' or the trajectory length of early stopping, `metric` early stopping's
    selection score on V, `evals` its evaluations on V (from the record's spec; None when not recorded)."""

    label: Any = None
    kind: str | None = None
    steps: int | None = None
    metric: str | None = None
    evals: int | None = None
    recorded_kind: Any = None
    recorded_steps: Any = None

    @classmethod
    def parse(cls, label: Any, kind: Any = None, steps: Any = None, spec: Any = None) -> Budget:
        """The budget of a record's `budget`, `budget_kind`, `budget_steps` (and `spec`, for evals)."""
        text = "" if label is None else str(label)
        if not text:
            return cls(label, None, _positive_int(steps), None, None, kind, steps)
        parsed_kind = (str(kind) if kind in BUDGET_KINDS else "steps" if text.startswith("steps=")
                       else "early_stop_oracle" if text.startswith("early_stop_oracle")
                       else "early_stop" if text.startswith("early_stop") else "full")
        n = _positive_int(steps)
        inner = text.partition("(")[2].rstrip(")").split(",") if "(" in text else []
        if n is None and text.startswith("steps="):
            try:
                n = max(1, int(text[6:]))
            except ValueError:
                n = None
        if n is None:
            n = next((_positive_int(int(p[6:])) for p in inner if p.startswith("steps=") and p[6:].isdigit()), None)
        metric = inner[0] if inner and "=" not in inner[0] else None
        evals = None
        if parsed_kind.startswith("early_stop") and isinstance(spec, Mapping):
            b = spec.get("budget")
            evals = _positive_int(b.get("evals")) if isinstance(b, Mapping) else None
        return cls(label, parsed_kind, n, metric, evals, kind, steps)

    @property
    def oracle(self) -> bool:
        """Early stopping on V's ground truth: an analysis bound, not a method."""
        return self.kind == "early_stop_oracle"

    def sort_key(self) -> tuple:
        """Order of budgets in tables: step budgets by N, then converged / epochs=N, early stopping, ORACLE early
        stopping; a missing budget first."""
        if self.kind is None:
            return (-1, 0, "")
        return (_KIND_ORDER[self.kind], (self.steps or 0) if self.kind == "steps" else 0, str(self.label))

    def table_text(self) -> str:
        """The label for a table: '-' without a budget; an oracle budget says ORACLE in capitals."""
        if self.kind is None:
            return "-"
        text = str(self.label)
        return f"{text} (ORACLE)" if "oracle" in text and "ORACLE" not in text else text

    def short_text(self) -> str:
        """The label for a tick: 'early stop', 'ORACLE early stop', else the label."""
        if self.kind == "early_stop_oracle":
            return "ORACLE early stop"
        return "early stop" if self.kind == "early_stop" else str(self.label)


@dataclass(frozen=True)
class Training:
    """The student's budget (`Budget`), the solver the student's learner used, each step's training, the
    checkpoint early stopping selected, and `oracle` (the student was selected with ground truth: an analysis bound)."""

    budget: Budget = field(default_factory=Budget)
    solver: str | None = None
    oracle: bool | None = None
    selected_step: int | None = None
    steps: Mapping[str, StepTraining] = field(default_factory=dict)

    def step(self, name: str) -> StepTraining:
        """The training of step `name` (weak, ceiling or student); all None when not recorded."""
        return self.steps.get(name, StepTraining())


@dataclass(frozen=True)
class Lock:
    """A strong student that starts locked (`pipeline.lock.Lock.record`): its variant ('password',
    'deceptive'; None for an unlocked experiment), the locked model's accuracy on T before weak-to-strong
    training without / with the trigger, and the student's accuracy on T with the trigger."""

    variant: str | None = None
    acc: float | None = None
    acc_trigger: float | None = None
    student_acc_trigger: float | None = None

    def flat_keys(self) -> dict[str, str]:
        """Field -> record key."""
        return {"variant": "locked", "acc": "locked_acc", "acc_trigger": "locked_acc_trigger",
                "student_acc_trigger": "student_acc_trigger"}


@dataclass(frozen=True)
class Debate:
    """What a debate supervisor recorded (`supervisors/debate.py`; all None for other supervisors): its protocol,
    debater policy and number of judges, and for its first debate seed the judge's accuracy on T under every
    protocol and the liar's win rate under consultancy and debate, each (value, 95% CI low, high)."""

    protocol: str | None = None
    policy: str | None = None
    members: int | None = None
    judge: str | None = None
    debater: str | None = None
    judge_acc: Mapping[str, tuple] = field(default_factory=dict)
    liar_win: Mapping[str, tuple] = field(default_factory=dict)
    judge_q_acc: Mapping[str, tuple] = field(default_factory=dict)  # per question (multiple choice), else empty
    verdict: str | None = None  # how the liar's win was read: "P > 0.5" or "question argmax"
    labels_acc: Mapping[str, tuple] = field(default_factory=dict)  # the weak labels on B / T: (acc, q_acc or None)
    # policy adversarial: the liar's win rate against the adversary's target judge (trained on random debates,
    # held fixed), protocol -> {"random": (rate, lo, hi), "adversarial": (rate, lo, hi)}
    liar_win_fixed: Mapping[str, Mapping[str, tuple]] = field(default_factory=dict)
    raw: Mapping[str, Any] | None = None  # the record's `debate` value as stored
    present: bool = False  # the record had a `debate` key (written back by to_record)

    @classmethod
    def parse(cls, raw: Mapping[str, Any] | None) -> Debate:
        """The typed view of a record's `debate` value (a dict, or None)."""
        if not raw or not isinstance(raw, Mapping):  # None, or an odd value kept as stored
            return cls(raw=raw, present=True)
        return cls(raw.get("protocol"), raw.get("policy"), raw.get("members"), raw.get("judge"), raw.get("debater"),
                   {k: tuple(v[:3]) for k, v in (raw.get("judge_acc") or {}).items()},
                   {k: tuple(v[:3]) for k, v in (raw.get("liar_win") or {}).items()},
                   {k: tuple(v[:3]) for k, v in (raw.get("judge_q_acc") or {}).items()}, raw.get("verdict"),
                   {k: tuple(v) for k, v in (raw.get("labels_acc") or {}).items()},
                   {k: {p: tuple(x[:3]) for p, x in v.items()} for k, v in (raw.get("liar_win_fixed") or {}).items()},
                   raw, True)


@dataclass(frozen=True)
class RunInfo:
    """How the run went: which steps came from the cache, texts truncated per tokenizer, seconds per step."""

    cached: Mapping[str, Any] = field(default_factory=dict)  # cached_<step>
    truncated: Mapping[str, Any] = field(default_factory=dict)  # truncated_<weak|strong>
    seconds: Mapping[str, Any] = field(default_factory=dict)  # time_<step>


PROCESS_METRICS = ("bon_acc", "trace_error", "step_auroc", "first_error_acc")  # as `metrics.process` names them
PROCESS_ROLES = ("weak", "ceiling", "student")


@dataclass(frozen=True)
class Estimate:
    """A number with its 95% bootstrap CI (None where not recorded or undefined)."""

    value: float | None = None
    ci_low: float | None = None
    ci_high: float | None = None

    @property
    def ci(self) -> tuple[float | None, float | None]:
        return self.ci_low, self.ci_high

    @staticmethod
    def flat_keys(name: str) -> dict[str, str]:
        """Field -> record key of the estimate recorded as `name`, `name`_ci_low, `name`_ci_high."""
        return {"value": name, "ci_low": f"{name}_ci_low", "ci_high": f"{name}_ci_high"}


@dataclass(frozen=True)
class Process:
    """What `metrics.process` recorded on a step-labelled task (all None, `present` False, on other tasks): the
    labels' granularity (step or outcome), T's problems and candidate solutions, the supervisor's labelling
    budget on B (`judgments_transfer`, one judgment per row, at `judgments_granularity`), the best-of-N
    references (`bon_oracle`: some candidate is correct; `bon_random`: the mean share of correct candidates), and
    per role (weak, ceiling, student) and metric (`PROCESS_METRICS`: bon_acc, trace_error, step_auroc,
    first_error_acc; the last two None on an outcome task) an `Estimate`. Their PGRs are in
    `ExperimentResult.pgr(metric)`. Flat record keys: `<role>_<metric>` and its `_ci_low` / `_ci_high`."""

    granularity: str | None = None
    n_problems_test: int | None = None
    n_solutions_test: int | None = None
    judgments_transfer: int | None = None
    judgments_granularity: str | None = None
    bon_oracle: Estimate = field(default_factory=Estimate)
    bon_random: Estimate = field(default_factory=Estimate)
    by_role: Mapping[str, Mapping[str, Estimate]] = field(default_factory=dict)
    present: bool = False  # the record had process keys (written back by to_record)

    PLAIN = ("granularity", "n_problems_test", "n_solutions_test", "judgments_transfer", "judgments_granularity")
    REFERENCES = ("bon_oracle", "bon_random")

    @classmethod
    def parts(cls) -> dict[str, dict[str, str]]:
        """Part name -> (field -> record key): 'plain', each reference, and '<role>_<metric>'."""
        out = {"plain": {k: k for k in cls.PLAIN}} | {r: Estimate.flat_keys(r) for r in cls.REFERENCES}
        return out | {f"{r}_{m}": Estimate.flat_keys(f"{r}_{m}") for r in PROCESS_ROLES for m in PROCESS_METRICS}

    @classmethod
    def keys(cls) -> set[str]:
        """Every record key of the part (its PGR keys aside)."""
        return {k for keys in cls.parts().values() for k in keys.values()}

    @classmethod
    def parse(cls, pick: Callable[[Mapping[str, str]], dict[str, Any]]) -> Process:
        """The part from a record, `pick` taking (field -> key) to (field -> value) and marking the keys read."""
        parts = {name: pick(keys) for name, keys in cls.parts().items()}
        by_role = {r: {m: Estimate(**parts[f"{r}_{m}"]) for m in PROCESS_METRICS} for r in PROCESS_ROLES}
        return cls(**parts["plain"], bon_oracle=Estimate(**parts["bon_oracle"]),
                   bon_random=Estimate(**parts["bon_random"]), by_role=by_role, present=True)

    def flat(self) -> list[tuple[Any, dict[str, str]]]:
        """(object, field -> record key) of every part to write back; nothing when the record had none."""
        if not self.present:
            return []
        out: list[tuple[Any, dict[str, str]]] = [(self, {k: k for k in self.PLAIN})]
        out += [(getattr(self, r), Estimate.flat_keys(r)) for r in self.REFERENCES]
        roles = [(self.score(r, m), Estimate.flat_keys(f"{r}_{m}")) for r in PROCESS_ROLES for m in PROCESS_METRICS]
        return out + roles

    def score(self, role: str, metric: str) -> Estimate:
        """`role`'s `metric` with its CI (all None when not recorded)."""
        if role not in PROCESS_ROLES or metric not in PROCESS_METRICS:
            raise ValueError(f"process score: role in {PROCESS_ROLES}, metric in {PROCESS_METRICS}; "
                             f"got {role!r}, {metric!r}")
        return self.by_role.get(role, {}).get(metric, Estimate())


@dataclass(frozen=True)
class Theory:
    """Cheap theory quantities of a record (`w2sg.theory`; None where they do not apply or in older records):
    the squared-loss misfit bound's terms on B (where the student was fitted) and on T (a diagnostic) against the
    hard labels, and on B against the ceiling's predictions (`theory.charikar.squared_record`); on a frozen run
    with a pretrained strong model, T's k-NN expansion in the strong features and the student's pseudolabel
    correction (`theory.lang.correction_summary`)."""

    sq_misfit_transfer: float | None = None
    sq_weak_err_transfer: float | None = None
    sq_student_err_transfer: float | None = None
    sq_slack_transfer: float | None = None
    sq_slack_ceiling_transfer: float | None = None
    sq_misfit_test: float | None = None
    sq_weak_err_test: float | None = None
    sq_student_err_test: float | None = None
    sq_slack_test: float | None = None
    sq_slack_ceiling_test: float | None = None
    expansion_test: float | None = None
    correction_test: float | None = None
    correction_diff_test: float | None = None
    correction_diff_test_ci_low: float | None = None
    correction_diff_test_ci_high: float | None = None
