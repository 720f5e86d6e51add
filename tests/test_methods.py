"""The method zoo: the behaviour that defines each method, and ground-truth hygiene of the oracle variant."""

import numpy as np
import pytest
import torch

from w2sg.config import MethodSpec, SplitSpec
from w2sg.methods import get_method, list_methods, register_method
from w2sg.methods.filter_confident import confident_rows
from w2sg.methods.relabel import knn_relabel, logreg_relabel
from w2sg.pipeline import Pipeline
from w2sg.train.budget import fit_with_selection

from .conftest import tiny_spec


class _FakeLearner:
    """Calls on_eval at every step; its 'weights' are the step number; predictions depend on them."""

    def __init__(self, trajectory):
        self.trajectory = trajectory
        self.model = torch.nn.Linear(1, 1, bias=False)

    def fit(self, texts, targets, loss, seed, on_eval=None, eval_every=0):
        for step in range(1, len(self.trajectory) + 1):
            with torch.no_grad():
                self.model.weight.fill_(step)
            if step % eval_every == 0:
                on_eval(step, self.model)

    def predict(self, texts):
        """The first `trajectory[step]` of the 10 validation rows are right (the reference is all ones)."""
        n_right = self.trajectory[int(self.model.weight.item()) - 1]
        return np.where(np.arange(len(texts)) < n_right, 0.9, 0.1)


def test_selection_restores_the_best_checkpoint():
    learner = _FakeLearner([1, 5, 9, 4, 9])  # the earliest best (step 3) wins the tie with step 5
    sel = fit_with_selection(learner, ["x"], np.array([0.5]), seed=0, total_steps=5, evals=5,
                             score_metric="accuracy", reference=np.ones(10, dtype=int),
                             val_texts=[f"v{i}" for i in range(10)])
    assert sel["step"] == 3 and sel["score"] == 0.9 and len(sel["history"]) == 5
    assert learner.model.weight.item() == 3  # the weights of step 3 are back in the model


def test_confident_rows_keeps_the_most_confident():
    p = np.array([0.5, 0.99, 0.4, 0.05, 0.6, 0.7])
    assert confident_rows(p, 0.5).tolist() == [1, 3, 5]
    assert len(confident_rows(p, 1.0)) == 6


def test_knn_relabel_smooths_label_noise_in_feature_clusters():
    rng = np.random.default_rng(0)
    y = np.repeat([0, 1], 100)
    feats = rng.normal(size=(200, 8)) + 4 * y[:, None]
    weak = np.where(rng.random(200) < 0.2, 1 - y, y).astype(np.float32)  # 20% flipped
    new = knn_relabel(feats, weak, k=15)
    assert ((weak >= 0.5) == y).mean() < 0.85 and ((new >= 0.5) == y).mean() > 0.97
    oof = logreg_relabel(feats, weak, C=1.0, folds=5, seed=0)
    assert ((oof >= 0.5) == y).mean() > 0.95
    # weak labels that (almost) never say "positive" cannot train a cross-fitted probe: they stand unchanged
    one_sided = np.where(np.arange(200) < 3, 0.9, 0.1).astype(np.float32)
    assert np.array_equal(logreg_relabel(feats, one_sided, C=1.0, folds=5, seed=0), one_sided)


def test_oracle_methods_are_named_and_flagged():
    oracles = [m.name for m in list_methods() if m.oracle]
    assert oracles == ["early_stop_oracle"]
    with pytest.raises(ValueError, match="_oracle"):
        register_method("sneaky", "uses ground truth", oracle=True)(lambda *a: None)
    assert not get_method("early_stop").oracle


@pytest.mark.parametrize("method,options", [
    ("early_stop", {"evals": 4}), ("early_stop_oracle", {"evals": 4}), ("filter_confident", {"q": 0.5}),
    ("s2s_relabel", {"rounds": 1}), ("probe_relabel", {"probe": "knn", "k": 10}),
    ("probe_relabel", {"probe": "logreg"}), ("product", {}), ("naive_hard", {}),
])
def test_every_method_runs_end_to_end(tmp_path, tiny_encoder, synthetic_task, method, options, monkeypatch):
    from w2sg.pipeline import steps

    pipe = Pipeline(tmp_path / "runs")
    seen = {}
    orig = steps.run_method

    def spy(stages, ctx, transfer, val):
        seen["method"] = stages[-1][0]
        return orig(stages, ctx, transfer, val)

    monkeypatch.setattr(steps, "run_method", spy)
    spec = tiny_spec(synthetic_task, tiny_encoder, tiny_encoder).model_copy(
        update={"method": MethodSpec(name=method, options=options)})
    rec = pipe.run(spec)
    assert seen["method"].name == method  # the pipeline dispatched to this method's function
    assert rec["oracle"] is (method == "early_stop_oracle")
    assert rec["method"].startswith(method)
    # the student's L2 is chosen by CV on B's weak labels, never the ceiling's (tuned on B's ground truth)
    assert rec["student_l2_source"] == "cv_weak_labels" and rec["budget"] == "converged"
    if method.startswith("early_stop"):  # selection along the SGD trajectory picked one of the 4 evaluations
        total = int(20 * np.ceil(rec["n_transfer"] / 32))  # 20 epochs of |B| rows in batches of 32
        assert rec["student_selected_step"] in {total // 4 * k for k in range(1, 5)} | {total}
    else:
        assert rec["student_selected_step"] is None


def test_knn_relabel_never_uses_the_other_answers_of_the_same_question():
    # two answers per question; the answers of one question are each other's nearest neighbours
    rng = np.random.default_rng(0)
    centres = rng.normal(size=(100, 8)) * 5
    feats = np.repeat(centres, 2, axis=0) + rng.normal(scale=0.01, size=(200, 8))
    weak = np.tile([1.0, 0.0], 100).astype(np.float32)  # the sibling always has the opposite weak label
    groups = np.repeat([f"q{i}" for i in range(100)], 2)
    assert np.allclose(knn_relabel(feats, weak, k=1), 1 - weak)  # without groups: the sibling decides
    new = knn_relabel(feats, weak, k=1, groups=groups)
    assert not np.allclose(new, 1 - weak)
    x = feats - feats.mean(0)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    sims = x @ x.T
    same = groups[:, None] == groups[None, :]
    sims[same] = -np.inf
    assert np.allclose(new, weak[sims.argmax(1)])  # the nearest row of ANOTHER question decides


def test_weak_labelled_checks_every_text():
    from w2sg.methods.base import WeakLabelled

    texts = ("a", 3, "c")  # a non-string in the middle (e.g. a labelled example) is caught too
    with pytest.raises(TypeError, match=r"items\[1\]"):
        WeakLabelled(("1", "2", "3"), texts, np.array([0.1, 0.2, 0.3]))
    with pytest.raises(ValueError, match="groups"):
        WeakLabelled(("1",), ("a",), np.array([0.1]), groups=("g", "h"))


def test_budget_checks_come_before_any_work(tmp_path, tiny_encoder, synthetic_task):
    from w2sg.config import BudgetSpec
    from w2sg.methods import check_method

    spec = tiny_spec(synthetic_task, tiny_encoder, tiny_encoder)
    with pytest.raises(ValueError, match="selects its own checkpoint"):
        check_method(spec.model_copy(update={"method": MethodSpec(name="early_stop"),
                                             "budget": BudgetSpec(kind="early_stop")}))
    with pytest.raises(ValueError, match="--n-val"):
        check_method(spec.model_copy(update={"budget": BudgetSpec(kind="early_stop_oracle"), "splits": SplitSpec(
            n_weak_train=150, n_transfer=200, n_val=0, n_test=200)}))
    with pytest.raises(ValueError, match="needs budget.steps"):
        BudgetSpec(kind="steps")


def test_oracle_budget_is_flagged_and_selects_on_ground_truth(tmp_path, tiny_encoder, synthetic_task,
                                                             monkeypatch):
    from w2sg.config import BudgetSpec
    from w2sg.pipeline import steps

    references = {}
    orig = steps.Selection

    def spy(items, reference, metric, evals):
        references[current] = np.asarray(reference).copy()
        return orig(items, reference, metric, evals)

    monkeypatch.setattr(steps, "Selection", spy)
    pipe = Pipeline(tmp_path / "runs")
    base = tiny_spec(synthetic_task, tiny_encoder, tiny_encoder)
    recs = {}
    for current in ("early_stop", "early_stop_oracle"):
        recs[current] = pipe.run(base.model_copy(update={"budget": BudgetSpec(kind=current, steps=40, evals=4)}))
    spec = base.model_copy(update={"budget": BudgetSpec(kind="early_stop", steps=40, evals=4)})
    truth = np.array([r.label for r in pipe.splits(spec).val])
    weak_v = pipe.cache.load("weak", pipe.keys(spec)["weak"])[0]["val"]
    assert not np.array_equal(truth, weak_v > 0.5)  # the two references differ, so the test can tell them apart
    assert np.array_equal(references["early_stop_oracle"], truth)  # the oracle selects on V's ground truth
    assert np.array_equal(references["early_stop"], (weak_v > 0.5).astype(int))  # the method on V's weak labels
    assert recs["early_stop_oracle"]["oracle"] is True and recs["early_stop"]["oracle"] is False
    for r in recs.values():
        assert r["student_selected_step"] in (10, 20, 30, 40) and r["steps_student"] == 40
        assert r["solver"] == "sgd"  # a step budget trains the frozen head by the AdamW loop, not L-BFGS
    assert recs["early_stop"]["budget"] == "early_stop(auroc,steps=40)"


def test_filter_trains_on_the_confident_half(tmp_path, tiny_encoder, synthetic_task):
    from .conftest import FitSpy

    pipe = Pipeline(tmp_path / "runs")
    spy = FitSpy(pipe)
    spec = tiny_spec(synthetic_task, tiny_encoder, tiny_encoder).model_copy(
        update={"method": MethodSpec(name="filter_confident", options={"q": 0.25})})
    pipe.run(spec)
    weak_t = pipe.cache.load("weak", pipe.keys(spec)["weak"])[0]["transfer"]
    student_targets = spy.calls[-1][2]
    assert len(student_targets) == 50  # a quarter of |B| = 200
    assert np.abs(student_targets - 0.5).min() >= np.sort(np.abs(weak_t - 0.5))[-50] - 1e-6


def test_early_stop_needs_a_validation_split(tmp_path, tiny_encoder, synthetic_task):
    spec = tiny_spec(synthetic_task, tiny_encoder, tiny_encoder).model_copy(
        update={"method": MethodSpec(name="early_stop"),
                "splits": SplitSpec(n_weak_train=150, n_transfer=200, n_val=0, n_test=200)})
    with pytest.raises(ValueError, match="--n-val"):
        Pipeline(tmp_path / "runs").run(spec)



def test_extra_rows_leave_the_other_splits_unchanged(synthetic_task):
    from w2sg.tasks import load_task, make_splits

    data = load_task(str(synthetic_task))
    a = make_splits(data, SplitSpec(n_weak_train=150, n_transfer=200, n_val=50, n_test=200), seed=3)
    b = make_splits(data, SplitSpec(n_weak_train=150, n_transfer=200, n_val=50, n_test=200, n_extra=80), seed=3)
    for name in ("weak_train", "transfer", "val", "test"):
        assert getattr(a, name) == getattr(b, name)
    assert len(b.extra) == 80 and not {r.text for r in b.extra} & {r.text for _, rows in a.items() for r in rows}
