"""Learners on comparisons: a reward model whose P(a > b) turns into exactly 1 - P when a and b are swapped,
frozen (logistic regression on feature differences, no intercept) and finetuned (a scalar reward head)."""


import numpy as np
import pytest
import torch

from w2sg.config import BudgetSpec, TrainSpec
from w2sg.train.convex import choose_l2, standardise
from w2sg.train.learner import Backbone, Featurizer, FinetuneLearner, FrozenLearner, item_features
from w2sg.train.losses import BradleyTerry, ConfidenceLoss, ConfidenceWindow, SoftXent

from .conftest import accuracy, length_pairs, swapped


@pytest.fixture(scope="module")
def featurizer(tiny_encoder, tmp_path_factory):
    return Featurizer(Backbone(str(tiny_encoder)), "tiny-encoder", tmp_path_factory.mktemp("cache"), max_length=64)


@pytest.fixture(scope="module")
def length_task():
    items, y = length_pairs(600, seed=0)
    return items[:400], y[:400], items[400:], y[400:]


def test_comparison_features_are_feature_differences_through_the_cache(featurizer):
    items, _ = length_pairs(5, seed=1)
    kind, d = item_features(featurizer, items)
    a, b = zip(*(c.texts() for c in items), strict=True)
    assert kind == "comparison"
    torch.testing.assert_close(d, featurizer(list(a)) - featurizer(list(b)), rtol=0, atol=0)
    assert torch.equal(item_features(featurizer, swapped(items))[1], -d)
    before = featurizer.n_computed
    item_features(featurizer, items + swapped(items))  # every text is cached already
    assert featurizer.n_computed == before


@pytest.mark.parametrize("case", ["lbfgs_cv", "lbfgs_confidence", "lbfgs_window", "sgd_steps"])
def test_frozen_swap_gives_the_complementary_probability(featurizer, length_task, case):
    train_items, y, test_items, y_test = length_task
    kw, loss = {"l2": "cv"}, SoftXent()
    if case == "lbfgs_confidence":
        kw, loss = {"l2": 0.01}, ConfidenceLoss()
    elif case == "lbfgs_window":
        kw, loss = {"l2": 0.01}, ConfidenceWindow(window=0.2)
    elif case == "sgd_steps":
        kw = {"l2": 0.01, "budget": BudgetSpec(kind="steps", steps=50)}
    learner = FrozenLearner(featurizer, TrainSpec(mode="frozen", lr=0.01), **kw)
    learner.fit(train_items, y * 0.8 + 0.1, loss, seed=0)
    assert learner.model.head.bias is None and learner.info["items"] == "comparison"
    assert torch.count_nonzero(learner.model.mean) == 0  # scaled, not centred
    p, p_swap = learner.predict(test_items), learner.predict(swapped(test_items))
    np.testing.assert_allclose(p_swap, 1 - p, rtol=0, atol=1e-6)
    a = accuracy(p, y_test)
    assert a > 0.8  # the head learned something, so the accuracies below are not trivially 0.5
    assert accuracy(p_swap, y_test) == pytest.approx(1 - a)


def test_frozen_reward_model_learns_the_longer_response(featurizer, length_task):
    """A linear reward model on a tiny random BERT's features prefers the longer response on held-out pairs."""
    train_items, y, test_items, y_test = length_task
    learner = FrozenLearner(featurizer, TrainSpec(mode="frozen"), l2="cv")
    learner.fit(train_items, y, BradleyTerry(), seed=0)
    assert learner.info["solver"] == "lbfgs" and learner.info["converged"]
    assert accuracy(learner.predict(test_items), y_test) >= 0.95


def test_frozen_fit_does_not_depend_on_the_orientation_of_training_pairs(featurizer, length_task):
    """Without an intercept, flipping a training pair (and its label) leaves the objective unchanged: training
    on 'preferred first' pairs only (one label) gives the same reward model, also through cross-validation."""
    train_items, y, test_items, _ = length_task
    canonical = [c if t == 1 else c.swapped() for c, t in zip(train_items, y, strict=True)]
    mixed = FrozenLearner(featurizer, TrainSpec(mode="frozen"), l2=0.01)
    mixed.fit(train_items, y, SoftXent(), seed=0)
    ones = FrozenLearner(featurizer, TrainSpec(mode="frozen"), l2=0.01)
    ones.fit(canonical, np.ones(len(y)), SoftXent(), seed=0)
    np.testing.assert_allclose(ones.predict(test_items), mixed.predict(test_items), atol=1e-4)
    _, d = item_features(featurizer, canonical)
    l2, info = choose_l2(d.numpy().astype(np.float64), np.ones(len(y)), fit_intercept=False)
    assert info["cv_loss"] is not None and l2 < 10.0  # one label, yet cross-validated (orientation balanced)
    mean, std = standardise(d.numpy(), center=False)
    assert not mean.any() and np.array_equal(std, standardise(-d.numpy(), center=False)[1])


def test_learners_refuse_mixed_kinds_and_the_other_kind(featurizer, length_task):
    train_items, y, test_items, _ = length_task
    learner = FrozenLearner(featurizer, TrainSpec(mode="frozen"), l2=0.01)
    with pytest.raises(TypeError, match="mixed kinds"):
        learner.fit([*train_items[:3], "a text"], y[:4], SoftXent(), seed=0)
    learner.fit(train_items, y, SoftXent(), seed=0)
    with pytest.raises(TypeError, match="fitted on comparison"):
        learner.predict(["great movie"])


@pytest.mark.parametrize("which", ["encoder", "decoder"])
def test_finetuned_reward_model_swap_symmetry(request, which):
    path = request.getfixturevalue(f"tiny_{which}")
    items, y = length_pairs(96, seed=2)
    spec = TrainSpec(mode="full", epochs=2, lr=2e-3, batch_size=16, micro_batch_size=8, device="cpu",
                     max_length=64)
    learner = FinetuneLearner(Backbone(str(path)), spec)
    result = learner.fit(items[:64], y[:64], ConfidenceLoss(), seed=0)
    assert result.steps == 8 and learner.info["items"] == "comparison"
    assert learner.model.head.weight.shape == (1, learner.model.head.in_features)  # a scalar reward
    test = items[64:]
    p, p_swap = learner.predict(test), learner.predict(swapped(test))
    assert np.abs(p - 0.5).max() > 1e-3  # trained away from the zero-initialised head
    np.testing.assert_allclose(p_swap, 1 - p, rtol=0, atol=1e-5)
    assert accuracy(p_swap, y[64:]) == pytest.approx(1 - accuracy(p, y[64:]))
    # P(a > b) = sigma(r(a) - r(b)) with the model's own rewards
    tok = learner.backbone.get()[1]
    with torch.no_grad():
        r = [learner.model.reward(**{k: v for k, v in tok([t], return_tensors="pt").items()
                                     if k in ("input_ids", "attention_mask")}).item()
             for c in test[:3] for t in c.texts()]
    expect = 1 / (1 + np.exp(-(np.array(r[0::2]) - np.array(r[1::2]))))
    np.testing.assert_allclose(p[:3], expect, atol=1e-5)
    with pytest.raises(TypeError, match="fitted on comparison"):
        learner.predict(["great movie"])
