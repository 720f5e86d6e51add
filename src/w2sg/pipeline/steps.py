"""The protocol of Burns et al. as four steps, each a function of (plan, resources) with its cache key beside it.

1. supervise = the weak supervisor's P(item positive) on B, V and the extra rows (weak labels) and on T
               (the PGR floor); a weak model trained on A with ground truth, or another supervisor kind
2. ceiling   = the strong model trained on B with ground truth (the student's rows; trained to its optimum)
3. student   = the method, on the strong model, with B and V carrying weak labels only (`WeakLabelled`)
4. evaluate  = supervisor, ceiling and student on T: accuracy, AUROC, PGR with paired-bootstrap CIs

Every step takes the experiment's `Plan` (its spec resolved once: supervisor, method chain) or a spec, which it
resolves through `Plan.of`; the record asks the supervisor kind (`Supervisor.record`) and the lock
(`pipeline.lock.Lock`) what they record instead of knowing their kinds.
"""

from __future__ import annotations

import numpy as np

from w2sg.config import ExperimentSpec, content_hash
from w2sg.methods import StudentContext, WeakLabelled, is_oracle, run_method
from w2sg.metrics import evaluate as score
from w2sg.metrics import process_metrics, supervisor_metrics, task_granularity
from w2sg.metrics.pooled import Outcomes
from w2sg.models.zoo import is_classic
from w2sg.pipeline.lock import Lock
from w2sg.pipeline.plan import Plan
from w2sg.pipeline.record import split_stats, theory_record, training_record
from w2sg.pipeline.resources import Resources, StepLog, score_both_orders
from w2sg.supervisors import SupervisionContext
from w2sg.tasks.schema import Example, Splits
from w2sg.train.budget import Selection


def split_rows(splits: Splits) -> dict[str, int]:
    """The rows each cached array of a step must have, by name (checked before it is written)."""
    n = {"transfer": len(splits.transfer), "val": len(splits.val), "test": len(splits.test),
         "extra": len(splits.extra)}
    return n | dict.fromkeys(("test_trigger", "locked_test", "locked_test_trigger", "labeller_test", "region_test"),
                             n["test"])


def spec_of(plan: Plan | ExperimentSpec) -> ExperimentSpec:
    """The spec of a plan (a spec is its own): for the steps that need no supervisor or method."""
    return plan.spec if isinstance(plan, Plan) else plan


# ---- 1. supervise -----------------------------------------------------------------------------------
def supervision_context(spec: ExperimentSpec | Plan, res: Resources, force: bool = False) -> SupervisionContext:
    """What supervisors may use; with `force` their cached fits (`ctx.fit`, e.g. ensemble members) are
    recomputed and replaced (once per process)."""
    spec = spec_of(spec)
    splits = res.splits(spec)
    targets = {"transfer": splits.transfer, "val": splits.val, "test": splits.test, "extra": splits.extra}

    def fit(model: str, rows: list[Example], seed: int, key: str):
        arrays, meta, _ = res.get_or_compute(
            "weak", key, lambda: res.fit_ground_truth(model, spec.train, seed, rows, targets), force=force,
            rows=split_rows(splits))
        return arrays, meta

    def fit_on(model: str, items: list, targets_: np.ndarray, seed: int):
        from w2sg.train.losses import SoftXent

        learner = res.new_learner(model, spec.train)
        learner.fit(list(items), np.asarray(targets_, dtype=np.float32), SoftXent(), seed=seed)
        return learner

    def features(model: str, items: list) -> np.ndarray:
        return np.asarray(res.item_features(model, spec.train, list(items)))

    return SupervisionContext(spec, splits, res.split_key(spec), fit, fit_on, res.identity, features,
                              zero_shot=lambda model: res.zero_shot(model, spec.train, spec.task))


def supervise_key(plan: Plan | ExperimentSpec, res: Resources) -> str:
    plan = Plan.of(plan)
    return plan.supervisor.key(plan.supervisor_cfg, supervision_context(plan.spec, res))


def supervise(plan: Plan | ExperimentSpec, res: Resources, steps: StepLog | None = None,
              force: bool = False) -> dict[str, np.ndarray]:
    """Step 1 (cached as 'weak'): the supervisor's P(item positive) per split: transfer, val, test, extra.
    `force`: recompute it and the supervisor's own cached fits (not frozen features)."""
    plan = Plan.of(plan)
    sup, cfg = plan.supervisor, plan.supervisor_cfg
    ctx = supervision_context(plan.spec, res, force=force)

    def compute():
        out = sup.supervise(cfg, ctx)
        return out.arrays(), {"supervisor": sup.kind, **out.meta}

    return res.cached(steps or StepLog(), "weak", sup.key(cfg, ctx), compute, force=force,
                      rows=split_rows(res.splits(plan.spec)))


# ---- 2. ceiling -------------------------------------------------------------------------------------
def ceiling_key(spec: ExperimentSpec | Plan, res: Resources) -> str:
    spec = spec_of(spec)
    shared = spec.train.model_copy(update={"student_l2": "cv"})  # the student's l2 setting is not the ceiling's
    return content_hash("ceiling", res.split_key(spec), res.identity(spec.strong), shared, spec.seed)


def ceiling(spec: ExperimentSpec | Plan, res: Resources, steps: StepLog | None = None,
            force: bool = False) -> dict[str, np.ndarray]:
    """Step 2: the strong model trained on B with ground truth (the student's rows; cached; `force`:
    recomputed)."""
    spec = spec_of(spec)
    s = res.splits(spec)
    return res.cached(steps or StepLog(), "ceiling", ceiling_key(spec, res), lambda: res.fit_ground_truth(
        spec.strong, spec.train, spec.seed, s.transfer, {"transfer": s.transfer, "test": s.test}), force=force,
        rows=split_rows(s))


# ---- 3. student -------------------------------------------------------------------------------------
def student_key(plan: Plan | ExperimentSpec, res: Resources) -> str:
    plan = Plan.of(plan)
    spec = plan.spec
    lock = () if spec.lock is None else (spec.lock,)  # unlocked students keep their keys
    return content_hash("student", supervise_key(plan, res), res.identity(spec.strong), spec.train, spec.method,
                        spec.budget, spec.seed, *lock, student_l2_part(spec))


def student_l2_part(spec: ExperimentSpec) -> tuple[str, float | str]:
    """The student's l2 setting, named in the student's and the experiment's keys (so rows from before the
    student's l2 stopped reading the ceiling's, i.e. B's ground truth, never pass for new ones)."""
    return "student_l2", spec.train.student_l2


def weak_labelled(rows: list[Example], weak_p1: np.ndarray) -> WeakLabelled:
    """Rows with a supervisor's P(item positive): items and weak labels only — the student's view."""
    return WeakLabelled(tuple(r.id for r in rows), tuple(r.item for r in rows), weak_p1,
                        groups=tuple(r.group for r in rows))


def weak_sets(splits: Splits, p: dict[str, np.ndarray]):
    """B, V and the extra rows with the supervisor's labels (extra: None if absent)."""
    return (weak_labelled(splits.transfer, p["transfer"]),
            weak_labelled(splits.val, p.get("val", np.zeros(0, dtype=np.float32))),
            weak_labelled(splits.extra, p["extra"]) if splits.extra else None)


def student(plan: Plan | ExperimentSpec, res: Resources, weak: dict[str, np.ndarray], l2: float | str | None,
            steps: StepLog | None = None, force: bool = False) -> dict[str, np.ndarray]:
    """Step 3 (cached; `force`: recomputed): the method chain trains the strong student on weak labels."""
    plan = Plan.of(plan)
    return res.cached(steps or StepLog(), "student", student_key(plan, res),
                      lambda: fit_student(plan, res, weak, l2), force=force, rows=split_rows(res.splits(plan.spec)))


def weak_label_l2(spec: ExperimentSpec, res: Resources, transfer: WeakLabelled,
                  loss: str = "ce") -> tuple[float, dict]:
    """The student's l2 by group-aware k-fold CV on B's weak labels (soft targets): the rows and labels the
    student trains on, no ground truth. `loss` is the student's: 'ce' scores the folds by held-out log loss,
    'squared' (the least-squares student) by held-out squared error (`convex.choose_ridge_l2`)."""
    from w2sg.train.convex import choose_l2
    from w2sg.train.featurizer import item_features

    kind, x = item_features(res.featurizer(spec.strong, spec.train), list(transfer.items))
    extra = {} if loss == "ce" else {"loss": loss}  # ce: choose_l2's call exactly as before
    return choose_l2(x.numpy().astype(np.float64), np.asarray(transfer.weak_p1, dtype=np.float64),
                     folds=spec.train.cv_folds, groups=None if transfer.groups is None else np.asarray(transfer.groups),
                     seed=spec.seed, fit_intercept=kind == "text", **extra)


def student_l2(plan: Plan | ExperimentSpec, res: Resources, transfer: WeakLabelled,
               l2: float | str | None) -> tuple[float | str | None, dict | None]:
    """(the student's l2, the CV that chose it or None): 'cv' is resolved here by CV on B's weak labels, with the
    student's loss (`Plan.student_loss`); a locked student's MLP head and a classic rung take no l2 from here
    (None)."""
    if l2 != "cv":
        return l2, None
    plan = Plan.of(plan)
    spec = plan.spec
    if is_classic(spec.strong) or spec.lock is not None:
        return None, None
    return weak_label_l2(spec, res, transfer, loss=plan.student_loss)


def student_selection(spec: ExperimentSpec, splits: Splits, val: WeakLabelled) -> Selection | None:
    """The early stopping an early-stop budget trains under (`train.budget`): V's items scored against V's hard
    weak labels; the oracle budget scores them against V's ground truth (an analysis upper bound, recorded
    oracle=true). None for the other budgets."""
    if not spec.budget.early_stop:
        return None
    reference = (np.array([r.label for r in splits.val]) if spec.budget.oracle
                 else (val.weak_p1 > 0.5).astype(int))
    return Selection(list(val.items), reference, spec.budget.metric, spec.budget.evals)


def student_context(plan: Plan, res: Resources, extra: WeakLabelled | None, l2: float | None,
                    selection: Selection | None, lock: Lock | None) -> StudentContext:
    """What the method chain may use: a factory of fresh students (from the locked model when there is one), the
    pretrained strong model's features, backbone and zero-shot scorer (none for a locked student or a classic
    rung), and V's ground truth for an explicitly named oracle method only."""
    spec = plan.spec
    kw = {"l2": l2, "budget": spec.budget, "selection": selection}
    if spec.train.mode != "frozen":
        kw.pop("l2")
    strong_id = res.identity(spec.strong)
    if lock is None:
        def new_student():
            return res.new_learner(spec.strong, spec.train, **kw)
    else:  # the student starts from a locked strong model (a testbed; see pipeline.lock)
        def new_student():
            return lock.student(res.featurizer(spec.strong, spec.train), spec.train, spec.budget, selection)
    pretrained = lock is None and not is_classic(spec.strong)
    return StudentContext(
        new_student=new_student, seed=spec.seed, train=spec.train,
        extra=extra, strong_features=lambda items: res.item_features(spec.strong, spec.train, list(items)),
        strong_backbone=res.backbone(spec.strong) if pretrained else None,
        learner_on=None if lock is not None else (
            lambda backbone, tag: res.learner_on(backbone, content_hash(strong_id, tag), spec.train, **kw)),
        # ground truth reaches a method only when it is an explicitly named oracle baseline
        oracle_val_labels=(np.array([r.label for r in res.splits(spec).val]) if is_oracle(list(plan.stages))
                           else None),
        zero_shot=res.zero_shot(spec.strong, spec.train, spec.task) if pretrained else None,
    )


def student_output(splits: Splits, transfer: WeakLabelled, learner, lock: Lock | None) -> tuple[dict, dict]:
    """The trained student's cached arrays (its P(item positive) on T and B, and what the lock adds) and what its
    learner recorded (without its CV detail), with the checkpoint its early stopping selected."""
    test, order_gap = score_both_orders(learner, [r.item for r in splits.test])
    arrays = {"test": test, "transfer": learner.predict(list(transfer.items))}
    info = {k: v for k, v in getattr(learner, "info", {}).items() if k != "cv"}
    if lock is not None:
        arrays |= lock.student_arrays(learner, [r.text for r in splits.test])
        info |= lock.meta
    if order_gap is not None:
        info["order_gap"] = order_gap
    picked = getattr(learner, "selection_result", None)
    if picked:
        info["selected_step"] = picked["step"]
    return arrays, info


def fit_student(plan: Plan | ExperimentSpec, res: Resources, weak: dict[str, np.ndarray], l2: float | str | None):
    """The student sees items and weak labels only: `WeakLabelled` has no ground-truth field. Its l2 is chosen
    without ground truth (`record.student_l2`; 'cv': CV on B's weak labels, here), and its budget is the
    experiment's `budget`."""
    plan = Plan.of(plan)
    spec = plan.spec
    splits = res.splits(spec)
    transfer, val, extra = weak_sets(splits, weak)
    l2, l2_cv = student_l2(plan, res, transfer, l2)
    selection = student_selection(spec, splits, val)
    lock = None if spec.lock is None else Lock.build(spec, res, weak, supervise_key(plan, res), StepLog())
    learner = run_method(list(plan.stages), student_context(plan, res, extra, l2, selection, lock), transfer, val)
    arrays, info = student_output(splits, transfer, learner, lock)
    if l2_cv is not None:
        info["l2_cv_weak_labels"] = l2_cv
    return arrays, {"method": spec.method.label, **info}


# ---- 4. evaluate ------------------------------------------------------------------------------------
def evaluate(plan: Plan | ExperimentSpec, res: Resources, weak: dict, ceil: dict, stud: dict,
             steps: StepLog) -> dict:
    """Step 4: score supervisor (the PGR floor), ceiling and student on T; the flat record's metrics."""
    plan = Plan.of(plan)
    spec = plan.spec
    splits = res.splits(spec)
    labels = {name: np.array([r.label for r in rows]) for name, rows in splits.items()}
    # per-question keys when the task names questions apart from its groups (a passage's), else None
    questions = [r.question_key for r in splits.test] if any(r.question is not None for r in splits.test) else None
    metrics = score(
        labels["test"], weak["test"], ceil["test"], stud["test"],
        transfer_labels=labels["transfer"], weak_transfer=weak["transfer"],
        student_transfer=stud["transfer"], ceiling_transfer=ceil["transfer"], seed=spec.seed,
        test_groups=[r.group for r in splits.test], balance_test=spec.balance_test,
        labeller_test=weak.get("labeller_test"), region_test=weak.get("region_test"),
        region_transfer=weak.get("region_transfer"), test_questions=questions,
    )
    metrics.update(split_stats(splits))
    metrics.update({f"cached_{k}": v for k, v in steps.cached.items()})
    metrics["truncated_weak"] = steps.truncated["weak"]  # A, B, V, T under the weak tokenizer(s)
    metrics["truncated_strong"] = steps.truncated["ceiling"]  # B, T under the strong tokenizer
    metrics["oracle"] = plan.oracle  # True: the student was selected with ground truth (analysis only)
    metrics["task_fingerprint"] = res.task(spec.task).fingerprint  # rows of a changed task never pool
    # what the supervisor kind records (e.g. a synthetic supervisor's error process, for the quality figure)
    metrics.update(plan.supervisor_record(steps.meta.get("weak", {})))
    metrics.update(Lock.record(spec.lock, labels["test"], stud, spec.balance_test))
    metrics.update(training_record(spec, steps.meta))
    if "labeller_test" in weak:  # the labels came from a model other than the PGR floor (a chain's last rung)
        metrics.update(supervisor_metrics(labels["test"], weak["labeller_test"], balanced=spec.balance_test,
                                          test_groups=[r.group for r in splits.test], test_questions=questions,
                                          weak_test=weak["test"], ceiling_test=ceil["test"],
                                          student_test=stud["test"], seed=spec.seed))
    metrics.update(process_record(splits, weak, ceil, stud, metrics["n_boot"], spec.seed))
    metrics.update(theory_record(  # the theory keys (`w2sg.theory`): misfit terms, expansion
        spec, res, splits, weak, ceil, stud, metrics["n_boot"]))
    return metrics


def process_record(splits: Splits, weak: dict, ceil: dict, stud: dict, n_boot: int, seed: int) -> dict:
    """On a step-labelled task (T's rows name their labels' granularity, step or outcome, in meta): the process
    metrics of T (`metrics.process_metrics`: best-of-N accuracy, trace error, step AUROC, first-error
    localisation, their PGR) and the labelling budget, one judgment per B row the supervisor labelled (a step
    label or an outcome label). Other tasks: nothing (no keys)."""
    granularity = task_granularity(splits.test)
    if granularity is None:
        return {}
    probs = {"weak": weak["test"], "ceiling": ceil["test"], "student": stud["test"]}
    return process_metrics(splits.test, probs, n_boot=n_boot, seed=seed) | {
        "judgments_transfer": len(splits.transfer),
        "judgments_granularity": task_granularity(splits.transfer) or granularity}


def test_outcomes(spec: ExperimentSpec | Plan, res: Resources, weak: dict, ceil: dict, stud: dict) -> Outcomes:
    """T's labels, groups and every role's P(y=1), kept beside the record for the aggregates' bootstrap."""
    t = res.splits(spec_of(spec)).test
    return Outcomes.build([r.label for r in t], [r.group for r in t],
                          {"weak": weak["test"], "ceiling": ceil["test"], "student": stud["test"]},
                          [r.id for r in t], balanced=spec.balance_test)


def experiment_key(plan: Plan | ExperimentSpec, res: Resources) -> str:
    """The store's key of one experiment: the spec and the content identities of its data and models."""
    plan = Plan.of(plan)
    spec, sup, cfg = plan.spec, plan.supervisor, plan.supervisor_cfg
    models = [res.identity(m) for m in [*sup.models(cfg, spec), *sup.reads(cfg, spec)]]
    weak_id = models[0] if isinstance(spec.weak, str) else models
    return content_hash("experiment", spec, res.task(spec.task).fingerprint, weak_id, res.identity(spec.strong),
                        student_l2_part(spec))
