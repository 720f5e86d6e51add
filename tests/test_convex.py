"""Frozen heads reach the optimum of the convex problem they pose, and the student's budget is what it says."""

import numpy as np
import pytest
import torch

from w2sg.config import BudgetSpec, TrainSpec
from w2sg.metrics import misfit_bound
from w2sg.models.classifier import FeatureClassifier
from w2sg.train.batching import FeatureRows
from w2sg.train.convex import choose_l2, solve_head, standardise
from w2sg.train.learner import FrozenLearner, Selection
from w2sg.train.loop import train
from w2sg.train.losses import ConfidenceLoss, ConfidenceWindow, HardXent, Loss, SoftXent, harden_at_prior

from .conftest import FixedFeatures, index_texts


def _data(n=400, d=20, seed=0, bias=-1.0, scale=0.6):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, d)) * rng.uniform(0.5, 3, size=d) + rng.normal(size=d)  # unstandardised
    w = rng.normal(size=d) * scale
    z = ((x - x.mean(0)) / x.std(0)) @ w + bias
    y = (rng.random(n) < 1 / (1 + np.exp(-z))).astype(np.float64)
    return x, y, z




def _objective(p1, y, w, l2):
    p = np.clip(p1, 1e-12, 1 - 1e-12)
    return float(np.mean(-(y * np.log(p) + (1 - y) * np.log(1 - p))) + 0.5 * l2 * w @ w)


@pytest.mark.parametrize("l2", [1e-3, 0.05, 1.0])
def test_frozen_head_reaches_sklearn_logistic_regression_optimum(l2):
    from sklearn.linear_model import LogisticRegression

    x, y, _ = _data()
    learner = FrozenLearner(FixedFeatures(x), TrainSpec(mode="frozen"), l2=l2)
    learner.fit(index_texts(len(y)), y, SoftXent(), seed=0)
    ours = _objective(learner.predict(index_texts(len(y))).astype(np.float64), y, _effective_w(learner), l2)
    mean, std = standardise(x)
    xs = (x - mean) / std
    clf = LogisticRegression(C=1 / (l2 * len(y)), tol=1e-10, max_iter=10_000).fit(xs, y)
    theirs = _objective(clf.predict_proba(xs)[:, 1], y, clf.coef_[0], l2)
    assert abs(ours - theirs) < 1e-3, (ours, theirs)
    assert learner.info["grad_norm"] < 1e-4 and learner.info["l2"] == l2 and learner.info["solver"] == "lbfgs"


def _effective_w(learner):
    w = learner.model.head.weight.detach().double().numpy()
    return w[1] - w[0]  # the logit difference is linear in the standardised features with these weights


def test_frozen_head_learns_the_class_rate_on_uninformative_features():
    """The defect that motivated the solver: a head that cannot even learn the prior (27% positive)."""
    rng = np.random.default_rng(1)
    x = rng.normal(size=(500, 64))
    y = (rng.random(500) < 0.27).astype(np.float64)
    learner = FrozenLearner(FixedFeatures(x), TrainSpec(mode="frozen"))  # l2 chosen by CV
    learner.fit(index_texts(500), y, SoftXent(), seed=0)
    p = learner.predict(index_texts(500))
    assert abs(p.mean() - y.mean()) < 0.02
    # noise features: CV picks a strong penalty, so (almost) only the bias is left: always "negative"
    assert learner.info["l2"] >= 1.0
    assert ((p > 0.5) == y).mean() >= 1 - y.mean() - 0.01


def test_cv_prefers_weaker_penalty_when_features_are_informative():
    x, y, _ = _data(n=600, d=10, scale=2.0)
    l2_informative, info = choose_l2(x, y, seed=0)
    rng = np.random.default_rng(3)
    l2_noise, _ = choose_l2(rng.normal(size=x.shape), y, seed=0)
    assert l2_informative < l2_noise
    assert len(info["cv_loss"]) == len(info["grid"])


def test_cv_with_one_class_falls_back_to_the_strongest_penalty():
    x, _, _ = _data(n=100)
    l2, info = choose_l2(x, np.r_[np.zeros(99), 1.0])
    assert l2 == 10.0 and "too few" in info["note"]


def test_cv_folds_keep_questions_together():
    from w2sg.train.convex import stratified_folds

    y = np.tile([1.0, 0.0], 50)
    groups = np.repeat(np.arange(50), 2)
    for tr, te in stratified_folds(y, groups, 5, seed=0):
        assert not set(groups[tr]) & set(groups[te])


def test_student_in_a_realisable_convex_case_obeys_the_misfit_inequality():
    """Ground truth is a (soft) linear function of the strong features; the weak labels are a noisy version;
    the student is the converged frozen head trained on them (no penalty). Then on the transfer rows
    KL(weak || truth) >= KL(student || truth) + KL(weak || student)  (Bregman projection)."""
    rng = np.random.default_rng(0)
    n, d = 600, 8
    x = rng.normal(size=(n, d))
    z_true = x @ rng.normal(size=d) + 0.3
    truth = 1 / (1 + np.exp(-z_true))
    weak = 1 / (1 + np.exp(-(z_true + rng.normal(scale=1.5, size=n) + 0.8 * np.sin(3 * x[:, 0]))))
    learner = FrozenLearner(FixedFeatures(x), TrainSpec(mode="frozen"), l2=0.0)
    learner.fit(index_texts(n), weak, SoftXent(), seed=0)
    student = learner.predict(index_texts(n)).astype(np.float64)
    b = misfit_bound(truth, weak, student)
    assert b["misfit"] > 0.01 and b["student_err"] < b["weak_err"]
    assert b["slack"] >= -1e-4, b  # equality up to the solver's tolerance: a projection onto a linear family
    # a student that is NOT the projection (an early-stopped one) can break it: the check has teeth
    early = FrozenLearner(FixedFeatures(x), TrainSpec(mode="frozen", lr=0.05), l2=0.0,
                          budget=BudgetSpec(kind="steps", steps=3))
    early.fit(index_texts(n), weak, SoftXent(), seed=0)
    assert misfit_bound(truth, weak, early.predict(index_texts(n)).astype(np.float64))["slack"] < -1e-3


class RecordingLoss(Loss):
    """Records the step fraction the loop hands the loss at every step."""

    def __init__(self):
        object.__setattr__(self, "fracs", [])

    def batch_targets(self, logits, weak_p1, step_frac):
        self.fracs.append(step_frac)
        return super().batch_targets(logits, weak_p1, step_frac)


def test_loop_hands_the_loss_step_fraction_step_over_total():
    x = torch.randn(64, 4)
    loss = RecordingLoss()
    spec = TrainSpec(mode="frozen", batch_size=16, epochs=3)
    result = train(FeatureClassifier(4), FeatureRows(x), torch.rand(64), loss, spec, seed=0)
    assert result.steps == 12
    assert loss.fracs == [s / 12 for s in range(12)]


def test_step_budget_runs_exactly_that_many_steps_and_is_recorded():
    x, y, _ = _data(n=200)
    loss = RecordingLoss()
    learner = FrozenLearner(FixedFeatures(x), TrainSpec(mode="frozen"), l2=0.01,
                            budget=BudgetSpec(kind="steps", steps=7))
    result = learner.fit(index_texts(200), y, loss, seed=0)
    assert result.steps == 7 and loss.fracs[:7] == [s / 7 for s in range(7)]
    assert learner.info["solver"] == "sgd" and learner.info["steps"] == 7


def test_sgd_with_many_steps_approaches_the_lbfgs_optimum():
    x, y, _ = _data(n=300)
    exact = FrozenLearner(FixedFeatures(x), TrainSpec(mode="frozen"), l2=0.05)
    exact.fit(index_texts(300), y, SoftXent(), seed=0)
    sgd = FrozenLearner(FixedFeatures(x), TrainSpec(mode="frozen", lr=0.01, batch_size=300), l2=0.05,
                        budget=BudgetSpec(kind="steps", steps=3000))
    sgd.fit(index_texts(300), y, SoftXent(), seed=0)
    short = FrozenLearner(FixedFeatures(x), TrainSpec(mode="frozen", batch_size=300), l2=0.05,
                          budget=BudgetSpec(kind="steps", steps=5))
    short.fit(index_texts(300), y, SoftXent(), seed=0)
    assert sgd.info["grad_norm"] < 1e-2 < short.info["grad_norm"]
    np.testing.assert_allclose(sgd.predict(index_texts(300)), exact.predict(index_texts(300)), atol=0.01)


def test_early_stopping_budget_selects_on_validation_reference():
    x, y, _ = _data(n=300)
    val = [str(i) for i in range(200, 300)]
    sel = Selection(val, y[200:].astype(int), "accuracy", evals=5)
    learner = FrozenLearner(FixedFeatures(x), TrainSpec(mode="frozen"), l2=0.01,
                            budget=BudgetSpec(kind="early_stop", steps=50), selection=sel)
    learner.fit(index_texts(200), y[:200], SoftXent(), seed=0)
    picked = learner.selection_result
    assert [s for s, _ in picked["history"]] == [10, 20, 30, 40, 50]
    assert picked["score"] == max(s for _, s in picked["history"])
    acc = ((learner.predict(val) > 0.5) == y[200:]).mean()
    assert acc == pytest.approx(picked["score"])  # the restored weights are the selected ones
    with pytest.raises(ValueError, match="selects checkpoints itself"):
        learner.fit(index_texts(200), y[:200], SoftXent(), seed=0, on_eval=lambda s, m: None, eval_every=1)


def test_self_training_losses_solve_in_fixed_point_rounds():
    x, y, _ = _data(n=300)
    weak = np.clip(y * 0.7 + 0.15, 0, 1)
    fracs = []

    class Recording(ConfidenceLoss):
        def batch_targets(self, logits, weak_p1, step_frac):
            fracs.append(step_frac)
            return super().batch_targets(logits, weak_p1, step_frac)

    learner = FrozenLearner(FixedFeatures(x), TrainSpec(mode="frozen"), l2=0.01)
    learner.fit(index_texts(300), weak, Recording(), seed=0)
    assert learner.info["rounds"] == 10 and fracs == [r / 10 for r in range(10)]
    naive = FrozenLearner(FixedFeatures(x), TrainSpec(mode="frozen"), l2=0.01)
    naive.fit(index_texts(300), weak, SoftXent(), seed=0)
    # the confidence loss pushes predictions away from 0.5 relative to the naive student
    conf_p, naive_p = learner.predict(index_texts(300)), naive.predict(index_texts(300))
    assert np.abs(conf_p - 0.5).mean() > np.abs(naive_p - 0.5).mean()


def test_ties_go_to_the_negative_class():
    flat = torch.full((8,), 0.5)
    assert harden_at_prior(flat, 0.5).sum() == 0  # a zero-initialised head must not make every row positive
    p = torch.tensor([0.1, 0.2, 0.7, 0.9])
    assert harden_at_prior(p, 0.5).tolist() == [0, 0, 1, 1]
    t = HardXent().batch_targets(None, torch.tensor([0.5, 0.50001, 0.4999]), 0.0)
    assert t[:, 1].tolist() == [0.0, 1.0, 0.0]  # same rule as metrics.hard_labels: 1 iff p > 0.5


def test_solve_head_rejects_bad_targets():
    with pytest.raises(ValueError, match="probabilities"):
        solve_head(np.zeros((3, 2)), np.array([0.0, 1.5, 1.0]), 0.1)


def test_solve_head_without_intercept_matches_sklearn():
    from sklearn.linear_model import LogisticRegression

    x, y, _ = _data(n=300, d=6)
    xs = x / standardise(x, center=False)[1]
    l2 = 0.05
    sol = solve_head(xs, y, l2, fit_intercept=False)
    clf = LogisticRegression(C=1 / (l2 * len(y)), fit_intercept=False, tol=1e-10, max_iter=10_000).fit(xs, y)
    assert sol.b == 0.0 and sol.w.shape == (6,) and sol.grad_norm < 1e-5
    np.testing.assert_allclose(sol.w, clf.coef_[0], atol=1e-4)
    # odd in x: negated rows get exactly the complementary logit
    np.testing.assert_array_equal((-xs) @ sol.w, -(xs @ sol.w))


def test_standardise_without_centring_is_the_root_mean_square():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(50, 4)) + 3
    mean, scale = standardise(x, center=False)
    assert not mean.any()
    np.testing.assert_allclose(scale, np.sqrt((x**2).mean(0)))
    flip = np.where(rng.random(50)[:, None] < 0.5, -x, x)
    np.testing.assert_allclose(standardise(flip, center=False)[1], scale)
    m, s = standardise(x)  # the centred default is unchanged
    np.testing.assert_allclose(m, x.mean(0))
    np.testing.assert_allclose(s, x.std(0, ddof=1))


def test_row_weights_over_n_equal_the_kept_rows_with_a_rescaled_penalty():
    """sum_kept CE / N + l2/2 |w|^2 has the optimum of mean_kept CE + (l2 N / n_kept)/2 |w|^2."""
    x, y, _ = _data(n=200, d=5)
    xs = (x - x.mean(0)) / x.std(0)
    keep = np.arange(200) % 3 != 0
    weighted = solve_head(xs, y, 0.02, weights=keep / 200.0)
    kept = solve_head(xs[keep], y[keep], 0.02 * 200 / keep.sum())
    np.testing.assert_allclose(weighted.w, kept.w, atol=1e-5)
    assert weighted.b == pytest.approx(kept.b, abs=1e-5)
    with pytest.raises(ValueError, match="weights"):
        solve_head(xs, y, 0.02, weights=-np.ones(200))


class HalfWeighted(Loss):
    """A fixed-weight loss: every third row dropped (weight 0)."""

    def batch_weights(self, logits, weak_p1, step_frac):
        return (torch.arange(len(weak_p1)) % 3 != 0).float()


def test_frozen_lbfgs_minimises_the_loops_weighted_row_loss():
    """The L-BFGS head is a stationary point of the loop's own loss (loss(...) = sum weight * rows / N, via
    autograd) plus the convex penalty (l2/2)||w||^2: both use one per-row definition, weights included."""
    x, y, _ = _data(n=300)
    learner = FrozenLearner(FixedFeatures(x), TrainSpec(mode="frozen"), l2=0.05)
    learner.fit(index_texts(300), y, HalfWeighted(), seed=0)
    w = learner.model.head.weight.detach()[1].double().clone().requires_grad_(True)
    b = learner.model.head.bias.detach()[1].double().clone().requires_grad_(True)
    xs = (torch.from_numpy(x) - learner.model.mean.double()) / learner.model.std.double()
    z = xs @ w + b
    objective = HalfWeighted()(torch.stack([torch.zeros_like(z), z], -1), torch.from_numpy(y), 1.0)
    (objective + 0.025 * w.pow(2).sum()).backward()
    assert float(torch.cat([w.grad, b.grad[None]]).norm()) < 1e-4
    plain = FrozenLearner(FixedFeatures(x), TrainSpec(mode="frozen"), l2=0.05)
    plain.fit(index_texts(300), y, SoftXent(), seed=0)
    texts = index_texts(300)
    assert np.abs(plain.predict(texts) - learner.predict(texts)).max() > 0.01  # the weights matter


def test_confidence_window_in_frozen_mode():
    x, y, _ = _data(n=300)
    weak = np.clip(y * 0.7 + 0.15, 0, 1)
    naive = FrozenLearner(FixedFeatures(x), TrainSpec(mode="frozen"), l2=0.01)
    naive.fit(index_texts(300), weak, SoftXent(), seed=0)
    zero = FrozenLearner(FixedFeatures(x), TrainSpec(mode="frozen"), l2=0.01)
    zero.fit(index_texts(300), weak, ConfidenceWindow(window=0.0), seed=0)  # drops nothing: the naive student
    np.testing.assert_allclose(zero.predict(index_texts(300)), naive.predict(index_texts(300)), atol=1e-5)
    window = FrozenLearner(FixedFeatures(x), TrainSpec(mode="frozen"), l2=0.01)
    window.fit(index_texts(300), weak, ConfidenceWindow(window=0.3), seed=0)
    assert window.info["rounds"] == 10 and window.info["converged"]
    assert np.abs(window.predict(index_texts(300)) - naive.predict(index_texts(300))).max() > 1e-3


def test_frozen_lbfgs_refuses_a_loss_with_its_own_rows():
    class Focal(Loss):
        def rows(self, logits, targets, step_frac):
            return super().rows(logits, targets, step_frac) ** 2

    x, y, _ = _data(n=50)
    with pytest.raises(ValueError, match="solver 'sgd'"):
        FrozenLearner(FixedFeatures(x), TrainSpec(mode="frozen"), l2=0.01).fit(index_texts(50), y, Focal(), seed=0)
