"""No ground truth of B or V reaches any choice the student makes, its L2 strength included."""

import numpy as np
import pytest

from w2sg.config import MethodSpec
from w2sg.pipeline import Pipeline
from w2sg.pipeline import steps as protocol
from w2sg.tasks.schema import Splits
from w2sg.train.convex import choose_l2

from .conftest import tiny_spec


class GroundTruthTouched(AssertionError):
    pass


class _Sealed:
    """A row whose ground truth raises when read: what the student step may see of B and V."""

    def __init__(self, row):
        self._row = row
        self.id, self.group, self.text, self.pair, self.meta = row.id, row.group, row.text, row.pair, row.meta

    @property
    def item(self):
        return self._row.item

    @property
    def label(self):
        raise GroundTruthTouched(f"the student step read the ground truth of row {self.id}")


def _sealed_student(pipe, spec, monkeypatch):
    """Run the weak and ceiling steps normally, then the student step on splits whose B and V labels raise."""
    weak = pipe.weak_step(spec)
    pipe.ceiling_step(spec)
    s = pipe.splits(spec)
    sealed = Splits(s.weak_train, [_Sealed(r) for r in s.transfer], [_Sealed(r) for r in s.val], s.test, s.extra)
    monkeypatch.setattr(pipe.res, "splits", lambda _spec: sealed)
    return protocol.fit_student(spec, pipe.res, weak, "cv"), weak, s


@pytest.mark.parametrize("method,options", [("naive", {}), ("confidence", {}), ("filter_confident", {"q": 0.5}),
                                            ("early_stop", {"evals": 2}), ("probe_relabel", {"probe": "logreg"})])
def test_student_fitting_never_reads_the_labels_of_b_or_v(tmp_path, tiny_encoder, synthetic_task, monkeypatch,
                                                          method, options):
    pipe = Pipeline(tmp_path / "runs")
    spec = tiny_spec(synthetic_task, tiny_encoder, tiny_encoder).model_copy(
        update={"method": MethodSpec(name=method, options=options)})
    (arrays, meta), weak, splits = _sealed_student(pipe, spec, monkeypatch)
    assert len(arrays["test"]) == len(splits.test)
    # its l2 is the CV choice on B's weak labels: recomputed here from the weak labels alone
    x = pipe.res.item_features(spec.strong, spec.train, [r.item for r in splits.transfer])
    want, _ = choose_l2(np.asarray(x, dtype=np.float64), weak["transfer"].astype(np.float64), folds=5,
                        seed=spec.seed)
    assert meta["l2"] == want and meta["l2_cv_weak_labels"]["cv_loss"] is not None


def test_the_sealed_splits_catch_an_oracle(tmp_path, tiny_encoder, synthetic_task, monkeypatch):
    """The guard above can fail: the ground-truth baseline early_stop_oracle reads V's labels and is caught."""
    pipe = Pipeline(tmp_path / "runs")
    spec = tiny_spec(synthetic_task, tiny_encoder, tiny_encoder).model_copy(
        update={"method": MethodSpec(name="early_stop_oracle", options={"evals": 2})})
    with pytest.raises(GroundTruthTouched):
        _sealed_student(pipe, spec, monkeypatch)


def test_student_l2_sources_and_the_ceiling_oracle(tmp_path, tiny_encoder, synthetic_task):
    pipe = Pipeline(tmp_path / "runs")
    base = tiny_spec(synthetic_task, tiny_encoder, tiny_encoder)
    recs = {c: pipe.run(base.model_copy(update={"train": base.train.model_copy(update={"student_l2": c})}))
            for c in ("cv", "weak", "ceiling", 0.37)}
    assert recs["cv"]["student_l2_source"] == "cv_weak_labels" and recs["cv"]["oracle"] is False
    assert recs["weak"]["student_l2_source"] == "weak" and recs["weak"]["l2_student"] == recs["weak"]["l2_weak"]
    assert recs["weak"]["oracle"] is False
    assert recs["ceiling"]["student_l2_source"] == "ceiling_oracle" and recs["ceiling"]["oracle"] is True
    assert recs["ceiling"]["l2_student"] == recs["ceiling"]["l2_ceiling"]
    assert recs[0.37]["student_l2_source"] == "given" and recs[0.37]["l2_student"] == 0.37
    # one ceiling for all four (the student's l2 setting is not part of the ceiling's key); four experiments
    assert len({r["hash"] for r in recs.values()}) == 4
    assert len({pipe.keys(base.model_copy(update={"train": base.train.model_copy(update={"student_l2": c})}))[
        "ceiling"] for c in recs}) == 1
