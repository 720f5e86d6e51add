"""The redesign changed no number: a small real experiment (MiniLM on sst2) gives, seed by seed, the
accuracies and PGR that the code before the redesign gave (recorded from commit 840b36a: 66bc87d plus the
then-unused leaf module items.py), when the student takes the ceiling's L2 as it then did (`student_l2:
ceiling`, now an explicit oracle). Since issue 22 the experiment's key names the student's L2 setting, so rows
stored before it (whose student read B's ground truth through that L2) are never passed off as new rows."""

import pytest

from w2sg.config import ExperimentSpec, SplitSpec, TrainSpec
from w2sg.models.zoo import is_present
from w2sg.pipeline import Pipeline

from .conftest import SHARED_DATA

pytestmark = [
    pytest.mark.skipif(not is_present("minilm"), reason="run `w2sg models pull minilm` first"),
    pytest.mark.skipif(not (SHARED_DATA / "sst2").exists(), reason="needs ../shared/data/sst2"),
]

# (method, seed) -> (weak_acc, ceiling_acc, student_acc, pgr_acc, experiment hash) before the redesign
BEFORE = {
    ("naive", 0): (0.71007100710071, 0.710971097109711, 0.7194719471947195, 10.444444444444184,
        "50f326929b566236"),
    ("naive", 1): (0.6987789010109098, 0.7976679011109999, 0.6905715143629266, -0.08299595141700362,
        "b35992e534c55c3d"),
    ("confidence", 0): (0.71007100710071, 0.710971097109711, 0.6945194519451945, -17.277777777777168,
        "c5c1f5fd1e8805b0"),
    ("confidence", 1): (0.6987789010109098, 0.7976679011109999, 0.6662996697027325, -0.328441295546558,
        "8d00d94562455024"),
}


def test_same_numbers_as_before_the_redesign(tmp_path):
    pipe = Pipeline(tmp_path, SHARED_DATA)
    for (method, seed), (weak, ceiling, student, pgr, hash_) in BEFORE.items():
        spec = ExperimentSpec(task="sst2", weak="minilm", strong="minilm", method=method, seed=seed,
                              splits=SplitSpec(n_weak_train=150, n_transfer=200, n_val=50, n_test=200),
                              train=TrainSpec(max_length=64, student_l2="ceiling"))
        r = pipe.run(spec)
        assert r["hash"] != hash_ and r["oracle"] is True  # the old rows' key no longer answers for these
        assert (r["weak_acc"], r["ceiling_acc"], r["student_acc"]) == (weak, ceiling, student)
        assert r["pgr_acc"] == pytest.approx(pgr, rel=1e-12, abs=1e-12)
