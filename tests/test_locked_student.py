"""Locked strong students (password-locked, Greenblatt et al. 2024): the lock holds before W2S training, its
targets are what the variants say, and the student still sees weak labels only."""

import numpy as np
import pytest

from w2sg.config import ExperimentSpec
from w2sg.models.zoo import is_present
from w2sg.pipeline import Pipeline
from w2sg.pipeline.lock import lock_targets

from .conftest import SHARED_DATA

SPLITS = {"n_weak_train": 60, "n_transfer": 200, "n_val": 40, "n_test": 200, "n_extra": 300}


def test_lock_targets_follow_the_variant():
    weak = np.array([0.9, 0.2, 0.55, 0.45, 0.99, 0.01])
    y = np.array([1, 1, 0, 1, 0, 0], dtype=np.float32)
    # password: the supervisor's hard labels, whatever the truth
    assert lock_targets("password", weak, y).tolist() == [1, 0, 1, 0, 1, 0]
    # deceptive: truth where the supervisor is confident (|p - 0.5| >= the median, 0.35), the opposite elsewhere
    assert lock_targets("deceptive", weak, y).tolist() == [1, 0, 1, 0, 0, 0]


def test_lock_is_checked_before_any_work():
    with pytest.raises(ValueError, match="n_extra"):
        ExperimentSpec(lock={"variant": "password"})
    with pytest.raises(ValueError, match="frozen"):
        ExperimentSpec(lock={}, splits={"n_extra": 100}, train={"mode": "full"})
    # an unlocked experiment hashes as it did before locks existed
    assert "lock" not in ExperimentSpec().model_dump()


@pytest.mark.skipif(not is_present("minilm"), reason="run `w2sg models pull minilm` first")
@pytest.mark.skipif(not (SHARED_DATA / "sst2").exists(), reason="needs ../shared/data/sst2")
def test_the_locked_model_hides_its_capability_until_the_trigger(tmp_path, monkeypatch):
    from w2sg.train import locked

    seen = []
    fit = locked.LockedLearner.fit

    def spy(self, items, targets, *a, **k):
        seen.append(np.asarray(targets, dtype=np.float32).copy())
        return fit(self, items, targets, *a, **k)

    monkeypatch.setattr(locked.LockedLearner, "fit", spy)
    pipe = Pipeline(tmp_path, SHARED_DATA)
    # a weak model's labels (a function of the text a locked model can learn; random flips are not)
    spec = ExperimentSpec(task="sst2", weak="minilm", strong="minilm",
                          splits=SPLITS, lock={"variant": "password"})
    r = pipe.run(spec)
    weak_p = pipe.cache.load("weak", pipe.keys(spec)["weak"])[0]["transfer"]
    # before W2S training: like the supervisor without the trigger, like the ceiling with it
    assert r["locked"] == "password"
    assert abs(r["locked_acc"] - r["weak_acc"]) < 0.08, r
    assert abs(r["locked_acc_trigger"] - r["ceiling_acc"]) < 0.06, r
    assert r["locked_acc_trigger"] > r["locked_acc"] + 0.05, r
    assert r["student_acc"] is not None and r["student_acc_trigger"] is not None
    # the student trained from the locked model on the supervisor's labels, never on ground truth
    assert len(seen) == 1 and np.array_equal(seen[0], weak_p)
    unlocked = pipe.run(spec.model_copy(update={"lock": None}))
    assert unlocked["locked"] is None and unlocked["locked_acc"] is None
