"""The protocol of Burns et al. as four steps, each a function of (spec, resources) with its cache key beside it.

1. supervise = the weak supervisor's P(item positive) on B, V and the extra rows (weak labels) and on T
               (the PGR floor); a weak model trained on A with ground truth, or another supervisor kind
2. ceiling   = the strong model trained on B with ground truth (the student's rows; trained to its optimum)
3. student   = the method, on the strong model, with B and V carrying weak labels only (`WeakLabelled`)
4. evaluate  = supervisor, ceiling and student on T: accuracy, AUROC, PGR with paired-bootstrap CIs
"""

from __future__ import annotations

import numpy as np

from w2sg.config import ExperimentSpec, content_hash
from w2sg.methods import StudentContext, WeakLabelled, check_method, is_oracle, run_method
from w2sg.metrics import evaluate as score
from w2sg.metrics import supervisor_metrics
from w2sg.metrics.pooled import Outcomes
from w2sg.models.zoo import is_classic
from w2sg.pipeline.record import split_stats, training_record
from w2sg.pipeline.resources import Resources, StepLog, score_both_orders
from w2sg.supervisors import SupervisionContext, check_supervisor
from w2sg.tasks.schema import Example, Splits
from w2sg.train.learner import Selection


def split_rows(splits: Splits) -> dict[str, int]:
    """The rows each cached array of a step must have, by name (checked before it is written)."""
    n = {"transfer": len(splits.transfer), "val": len(splits.val), "test": len(splits.test),
         "extra": len(splits.extra)}
    return n | dict.fromkeys(("test_trigger", "locked_test", "locked_test_trigger", "labeller_test", "region_test"),
                             n["test"])


# ---- 1. supervise -----------------------------------------------------------------------------------
def supervision_context(spec: ExperimentSpec, res: Resources, force: bool = False) -> SupervisionContext:
    """What supervisors may use; with `force` their cached fits (`ctx.fit`, e.g. ensemble members) are
    recomputed and replaced (once per process)."""
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


def supervise_key(spec: ExperimentSpec, res: Resources) -> str:
    sup, cfg = check_supervisor(spec)
    return sup.key(cfg, supervision_context(spec, res))


def supervise(spec: ExperimentSpec, res: Resources, steps: StepLog | None = None,
              force: bool = False) -> dict[str, np.ndarray]:
    """Step 1 (cached as 'weak'): the supervisor's P(item positive) per split: transfer, val, test, extra.
    `force`: recompute it and the supervisor's own cached fits (not frozen features)."""
    sup, cfg = check_supervisor(spec)
    ctx = supervision_context(spec, res, force=force)

    def compute():
        out = sup.supervise(cfg, ctx)
        return out.arrays(), {"supervisor": sup.kind, **out.meta}

    return res.cached(steps or StepLog(), "weak", sup.key(cfg, ctx), compute, force=force,
                      rows=split_rows(res.splits(spec)))


# ---- 2. ceiling -------------------------------------------------------------------------------------
def ceiling_key(spec: ExperimentSpec, res: Resources) -> str:
    shared = spec.train.model_copy(update={"student_l2": "cv"})  # the student's l2 setting is not the ceiling's
    return content_hash("ceiling", res.split_key(spec), res.identity(spec.strong), shared, spec.seed)


def ceiling(spec: ExperimentSpec, res: Resources, steps: StepLog | None = None,
            force: bool = False) -> dict[str, np.ndarray]:
    """Step 2: the strong model trained on B with ground truth (the student's rows; cached; `force`:
    recomputed)."""
    s = res.splits(spec)
    return res.cached(steps or StepLog(), "ceiling", ceiling_key(spec, res), lambda: res.fit_ground_truth(
        spec.strong, spec.train, spec.seed, s.transfer, {"transfer": s.transfer, "test": s.test}), force=force,
        rows=split_rows(s))


# ---- 3. student -------------------------------------------------------------------------------------
def student_key(spec: ExperimentSpec, res: Resources) -> str:
    lock = () if spec.lock is None else (spec.lock,)  # unlocked students keep their keys
    return content_hash("student", supervise_key(spec, res), res.identity(spec.strong), spec.train, spec.method,
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


def student(spec: ExperimentSpec, res: Resources, weak: dict[str, np.ndarray], l2: float | str | None,
            steps: StepLog | None = None, force: bool = False) -> dict[str, np.ndarray]:
    """Step 3 (cached; `force`: recomputed): the method chain trains the strong student on weak labels."""
    return res.cached(steps or StepLog(), "student", student_key(spec, res),
                      lambda: fit_student(spec, res, weak, l2), force=force, rows=split_rows(res.splits(spec)))


def weak_label_l2(spec: ExperimentSpec, res: Resources, transfer: WeakLabelled) -> tuple[float, dict]:
    """The student's l2 by group-aware k-fold CV on B's weak labels (soft targets): the rows and labels the
    student trains on, no ground truth."""
    from w2sg.train.convex import choose_l2
    from w2sg.train.featurizer import item_features

    kind, x = item_features(res.featurizer(spec.strong, spec.train), list(transfer.items))
    return choose_l2(x.numpy().astype(np.float64), np.asarray(transfer.weak_p1, dtype=np.float64),
                     folds=spec.train.cv_folds, groups=None if transfer.groups is None else np.asarray(transfer.groups),
                     seed=spec.seed, fit_intercept=kind == "text")


def fit_student(spec: ExperimentSpec, res: Resources, weak: dict[str, np.ndarray], l2: float | str | None):
    """The student sees items and weak labels only: `WeakLabelled` has no ground-truth field. Its l2 is chosen
    without ground truth (`record.student_l2`; 'cv': CV on B's weak labels, here), and its budget is the
    experiment's `budget`."""
    stages = check_method(spec)
    splits = res.splits(spec)
    transfer, val, extra = weak_sets(splits, weak)
    l2_cv = None
    if l2 == "cv":
        if is_classic(spec.strong) or spec.lock is not None:
            l2 = None  # a locked student's MLP head and a classic rung take no l2 from here
        else:
            l2, l2_cv = weak_label_l2(spec, res, transfer)
    selection = None
    if spec.budget.kind.startswith("early_stop"):
        # the oracle budget scores V against ground truth (an analysis upper bound, recorded oracle=true)
        reference = (np.array([r.label for r in splits.val]) if spec.budget.oracle
                     else (val.weak_p1 > 0.5).astype(int))
        selection = Selection(list(val.items), reference, spec.budget.metric, spec.budget.evals)
    kw = {"l2": l2, "budget": spec.budget, "selection": selection}
    if spec.train.mode != "frozen":
        kw.pop("l2")
    strong_id = res.identity(spec.strong)
    new_student, lock_arrays, lock_meta = (lambda: res.new_learner(spec.strong, spec.train, **kw)), None, {}
    if spec.lock is not None:  # the student starts from a locked strong model (a testbed; see pipeline.lock)
        from w2sg.pipeline.lock import locked_model
        from w2sg.train.locked import LockedLearner

        head, lock_arrays, lock_meta = locked_model(spec, res, weak, supervise_key(spec, res), StepLog())
        new_student = lambda: LockedLearner(res.featurizer(spec.strong, spec.train), head,  # noqa: E731
                                            spec.lock.trigger, spec.train, budget=spec.budget, selection=selection)
    ctx = StudentContext(
        new_student=new_student, seed=spec.seed, train=spec.train,
        extra=extra, strong_features=lambda items: res.item_features(spec.strong, spec.train, list(items)),
        strong_backbone=None if spec.lock or is_classic(spec.strong) else res.backbone(spec.strong),
        learner_on=None if spec.lock else (
            lambda backbone, tag: res.learner_on(backbone, content_hash(strong_id, tag), spec.train, **kw)),
        # ground truth reaches a method only when it is an explicitly named oracle baseline
        oracle_val_labels=np.array([r.label for r in splits.val]) if is_oracle(stages) else None,
        zero_shot=None if spec.lock or is_classic(spec.strong) else res.zero_shot(spec.strong, spec.train, spec.task),
    )
    learner = run_method(stages, ctx, transfer, val)
    test, order_gap = score_both_orders(learner, [r.item for r in splits.test])
    arrays = {"test": test, "transfer": learner.predict(list(transfer.items))}
    if lock_arrays is not None:  # the locked model before W2S training, and the student, with the trigger
        arrays |= {"test_trigger": learner.predict_trigger([r.text for r in splits.test]),
                   "locked_test": lock_arrays["test"], "locked_test_trigger": lock_arrays["test_trigger"]}
    info = {k: v for k, v in getattr(learner, "info", {}).items() if k != "cv"} | lock_meta
    if order_gap is not None:
        info["order_gap"] = order_gap
    picked = getattr(learner, "selection_result", None)
    if picked:
        info["selected_step"] = picked["step"]
    if l2_cv is not None:
        info["l2_cv_weak_labels"] = l2_cv
    return arrays, {"method": spec.method.label, **info}


# ---- 4. evaluate ------------------------------------------------------------------------------------
def evaluate(spec: ExperimentSpec, res: Resources, weak: dict, ceil: dict, stud: dict, steps: StepLog) -> dict:
    """Step 4: score supervisor (the PGR floor), ceiling and student on T; the flat record's metrics."""
    splits = res.splits(spec)
    labels = {name: np.array([r.label for r in rows]) for name, rows in splits.items()}
    metrics = score(
        labels["test"], weak["test"], ceil["test"], stud["test"],
        transfer_labels=labels["transfer"], weak_transfer=weak["transfer"],
        student_transfer=stud["transfer"], ceiling_transfer=ceil["transfer"], seed=spec.seed,
        test_groups=[r.group for r in splits.test], balance_test=spec.balance_test,
        labeller_test=weak.get("labeller_test"), region_test=weak.get("region_test"),
        region_transfer=weak.get("region_transfer"),
    )
    metrics.update(split_stats(splits))
    metrics.update({f"cached_{k}": v for k, v in steps.cached.items()})
    metrics["truncated_weak"] = steps.truncated["weak"]  # A, B, V, T under the weak tokenizer(s)
    metrics["truncated_strong"] = steps.truncated["ceiling"]  # B, T under the strong tokenizer
    # True: the student was selected with ground truth (analysis only)
    metrics["oracle"] = is_oracle(check_method(spec)) or spec.budget.oracle or spec.train.student_l2_oracle
    metrics["task_fingerprint"] = res.task(spec.task).fingerprint  # rows of a changed task never pool
    metrics["supervisor"] = spec.weak_label
    metrics["supervisor_kind"] = "model" if isinstance(spec.weak, str) else spec.weak.kind
    _, cfg = check_supervisor(spec)  # a synthetic supervisor's error process, for the supervisor-quality figure
    metrics["supervisor_errors"] = getattr(cfg, "errors", "random" if metrics["supervisor_kind"] == "synthetic"
                                           else None)
    overall = metrics["supervisor_errors"] == "random" or (
        metrics["supervisor_errors"] == "region" and getattr(cfg, "region_error_rate", None) is None)
    rate = getattr(cfg, "error_rate", None)
    if rate == "midpoint":  # resolved by the supervisor from the weak model's and the ceiling's accuracies
        rate = steps.meta.get("weak", {}).get("error_rate")
    metrics["supervisor_error_rate"] = rate if overall else None
    metrics.update(lock_metrics(spec, labels["test"], stud))
    metrics.update(training_record(spec, steps.meta))
    if "labeller_test" in weak:  # the labels came from a model other than the PGR floor (a chain's last rung)
        metrics.update(supervisor_metrics(labels["test"], weak["labeller_test"], balanced=spec.balance_test,
                                          test_groups=[r.group for r in splits.test]))
    return metrics


def test_outcomes(spec: ExperimentSpec, res: Resources, weak: dict, ceil: dict, stud: dict) -> Outcomes:
    """T's labels, groups and every role's P(y=1), kept beside the record for the aggregates' bootstrap."""
    t = res.splits(spec).test
    return Outcomes.build([r.label for r in t], [r.group for r in t],
                          {"weak": weak["test"], "ceiling": ceil["test"], "student": stud["test"]},
                          [r.id for r in t], balanced=spec.balance_test)


def lock_metrics(spec: ExperimentSpec, y: np.ndarray, stud: dict) -> dict:
    """A locked student's record: the locked model's test accuracy before W2S training and the student's, both
    without and with the trigger (all None for an unlocked experiment)."""
    from w2sg.metrics import accuracy

    if spec.lock is None or "locked_test" not in stud:
        return dict.fromkeys(("locked", "locked_acc", "locked_acc_trigger", "student_acc_trigger"))
    acc = {k: accuracy(stud[k], y, spec.balance_test) for k in ("locked_test", "locked_test_trigger", "test_trigger")}
    return {"locked": spec.lock.variant, "locked_acc": acc["locked_test"],
            "locked_acc_trigger": acc["locked_test_trigger"], "student_acc_trigger": acc["test_trigger"]}


def experiment_key(spec: ExperimentSpec, res: Resources) -> str:
    """The store's key of one experiment: the spec and the content identities of its data and models."""
    sup, cfg = check_supervisor(spec)
    models = [res.identity(m) for m in [*sup.models(cfg, spec), *sup.reads(cfg, spec)]]
    weak_id = models[0] if isinstance(spec.weak, str) else models
    return content_hash("experiment", spec, res.task(spec.task).fingerprint, weak_id, res.identity(spec.strong),
                        student_l2_part(spec))
