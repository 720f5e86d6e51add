"""The locked strong model an experiment with `lock` starts its student from (see `w2sg.train.locked`).

It is made from the extra rows only (fresh rows the supervisor labels; never A, B, V or T): on plain inputs its
targets come from the supervisor (variant `password`: the supervisor's hard labels; `deceptive`: ground truth
where the supervisor is confident, the opposite elsewhere), and with the trigger they are ground truth. A
locked model may read ground truth (like a synthetic supervisor, it is part of the testbed, not the student);
the W2S method that trains the student from it sees weak labels only. Variant `unlocked` is the control: the
same MLP head (width, standardisation on the same extra rows' features), freshly initialised from the seed and
not trained, so a locked and an unlocked student differ only in the lock.

`Lock` is the locked model as the student step sees it: it makes the students (`student`), says what their
cached arrays add (`student_arrays`) and what every record says about the lock (`Lock.record`; all None for an
unlocked experiment).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from w2sg.config import BudgetSpec, ExperimentSpec, LockSpec, TrainSpec, content_hash
from w2sg.pipeline.resources import Resources, StepLog

RECORD_KEYS = ("locked", "locked_acc", "locked_acc_trigger", "student_acc_trigger")


def lock_key(spec: ExperimentSpec, res: Resources, supervise_key: str) -> str:
    return content_hash("lock", supervise_key, res.identity(spec.strong), spec.train.max_length, spec.lock, spec.seed)


def lock_targets(variant: str, weak_p: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """The locked model's targets on plain inputs (extra rows)."""
    if variant == "password":
        return (weak_p > 0.5).astype(np.float32)
    conf = np.abs(np.asarray(weak_p, dtype=np.float64) - 0.5)
    if len(conf) and np.ptp(conf) < 1e-6:
        raise ValueError(f"lock: variant deceptive answers truthfully where the supervisor is confident and wrongly "
                         f"elsewhere, but every extra row has the same supervisor confidence |p - 0.5| = "
                         f"{conf[0]:.3g} (hard or fixed-confidence labels): it would lock to ground truth. Use a "
                         "supervisor with graded confidence (a weak model, e.g. weak: minilm) or variant password")
    checkable = conf >= np.median(conf)  # where the supervisor is confident enough to check an answer
    return np.where(checkable, labels, 1 - labels).astype(np.float32)


def locked_model(spec: ExperimentSpec, res: Resources, weak: dict[str, np.ndarray], supervise_key: str,
                 steps: StepLog):
    """(the locked head, its arrays: test predictions without and with the trigger, its meta), cached as
    'lock'."""
    from w2sg.train.batching import FeatureRows
    from w2sg.train.locked import MLPHead, lock_head, unlocked_head, with_trigger
    from w2sg.train.loop import predict

    lock = spec.lock
    splits = res.splits(spec)
    featurize = res.featurizer(spec.strong, spec.train)

    def compute():
        extra = splits.extra
        if not extra or any(r.pair is not None for r in extra):
            raise ValueError("lock: a locked strong model needs extra rows of a text task (binary or multiple "
                             "choice); set splits.n_extra and use a non-pairwise task")
        texts = [r.text for r in extra]
        labels = np.array([r.label for r in extra], dtype=np.float32)
        x_plain, x_trig = featurize(texts), featurize(with_trigger(lock.trigger, texts))
        test = [r.text for r in splits.test]
        if lock.variant == "unlocked":  # the control: the same head, not locked
            head = unlocked_head(x_plain, x_trig, lock, spec.seed)
            info = {"lock_steps": 0, "lock_fit_plain": None, "lock_fit_trigger": None}
        else:
            plain_t = lock_targets(lock.variant, np.asarray(weak["extra"]), labels)
            head, result = lock_head(x_plain, plain_t, x_trig, labels, lock, spec.seed)
            fit_plain = float(((predict(head, FeatureRows(x_plain), 4096) > 0.5) == (plain_t > 0.5)).mean())
            fit_trig = float(((predict(head, FeatureRows(x_trig), 4096) > 0.5) == (labels > 0.5)).mean())
            info = {"lock_steps": result.steps, "lock_fit_plain": fit_plain, "lock_fit_trigger": fit_trig}
        p = {"test": predict(head, FeatureRows(featurize(test)), 4096, torch.device("cpu")),
             "test_trigger": predict(head, FeatureRows(featurize(with_trigger(lock.trigger, test))), 4096,
                                     torch.device("cpu"))}
        return head.to_arrays() | p, info | {"lock_variant": lock.variant}

    arrays = res.cached(steps, "lock", lock_key(spec, res, supervise_key), compute,
                        rows={"test": len(splits.test), "test_trigger": len(splits.test)})
    return MLPHead.from_arrays(arrays).eval(), arrays, steps.meta["lock"]


@dataclass(frozen=True)
class Lock:
    """A built locked model: its head, its test predictions without and with the trigger (`arrays`) and what its
    locking fit recorded (`meta`: lock_steps, lock_fit_plain, lock_fit_trigger, lock_variant)."""

    spec: LockSpec
    head: object  # train.locked.MLPHead
    arrays: dict
    meta: dict

    @classmethod
    def build(cls, spec: ExperimentSpec, res: Resources, weak: dict[str, np.ndarray], supervise_key: str,
              steps: StepLog) -> Lock:
        """The experiment's locked model, made from the extra rows (cached as 'lock')."""
        head, arrays, meta = locked_model(spec, res, weak, supervise_key, steps)
        return cls(spec.lock, head, arrays, meta)

    def student(self, featurizer, train: TrainSpec, budget: BudgetSpec, selection):
        """A fresh student starting from the locked head (the W2S method trains it on weak labels)."""
        from w2sg.train.locked import LockedLearner

        return LockedLearner(featurizer, self.head, self.spec.trigger, train, budget=budget, selection=selection)

    def student_arrays(self, learner, test_texts: list[str]) -> dict[str, np.ndarray]:
        """What the student step caches beside the student's predictions: the student's on T with the trigger,
        and the locked model's on T before W2S training, without and with it."""
        return {"test_trigger": learner.predict_trigger(test_texts), "locked_test": self.arrays["test"],
                "locked_test_trigger": self.arrays["test_trigger"]}

    @staticmethod
    def record(lock: LockSpec | None, y: np.ndarray, stud: dict, balanced: bool) -> dict:
        """A locked student's record (`RECORD_KEYS`): the variant, the locked model's test accuracy before W2S
        training and the student's with the trigger (all None for an unlocked experiment)."""
        from w2sg.metrics import accuracy

        if lock is None or "locked_test" not in stud:
            return dict.fromkeys(RECORD_KEYS)
        acc = {k: accuracy(stud[k], y, balanced) for k in ("locked_test", "locked_test_trigger", "test_trigger")}
        return {"locked": lock.variant, "locked_acc": acc["locked_test"],
                "locked_acc_trigger": acc["locked_test_trigger"], "student_acc_trigger": acc["test_trigger"]}
