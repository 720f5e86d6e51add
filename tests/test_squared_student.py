"""The squared-loss student (method naive, `loss: squared`; Charikar, Pabbaraju & Shiragur 2024): least squares of a
linear f(x) = w . x + b on standardised frozen features to the weak labels, in closed form, P(y=1) = clip(f, 0, 1);
its l2 chosen by group-aware CV of the held-out squared error on B's weak labels; errors where it cannot run."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn.linear_model import Ridge

from w2sg.config import BudgetSpec, ExperimentSpec, LockSpec, MethodSpec, TrainSpec
from w2sg.items import Comparison
from w2sg.methods import StudentContext, WeakLabelled, check_method, get_method
from w2sg.pipeline import Pipeline, Plan
from w2sg.pipeline.steps import weak_label_l2
from w2sg.train.convex import (
    L2_GRID,
    L2_MAX,
    L2_MIN,
    choose_l2,
    choose_ridge_l2,
    solve_ridge,
    standardise,
    stratified_folds,
)
from w2sg.train.frozen import FrozenLearner
from w2sg.train.losses import SoftXent

from .conftest import FixedFeatures, index_texts, tiny_spec

SQUARED = {"name": "naive", "options": {"loss": "squared"}}






def _data(n=300, d=12, seed=0, noise=0.15):
    """Features on different scales and weak labels in [0, 1] that are not linear in them."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, d)) * rng.uniform(0.1, 5.0, size=d) + rng.normal(size=d)
    z = x @ rng.normal(size=d) / d + 0.2
    t = np.clip(1 / (1 + np.exp(-z)) + rng.normal(scale=noise, size=n), 0, 1)
    return x.astype(np.float32).astype(np.float64), t


def _fit(x, t, l2):
    learner = FrozenLearner(FixedFeatures(x), TrainSpec(mode="frozen"), l2=l2)
    learner.fit_squared(index_texts(len(x)), t, seed=0)
    return learner


# ---- the closed form ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("l2", [1e-3, 0.1, 3.0])
def test_closed_form_is_sklearn_ridge_on_standardised_features(l2):
    """mean (f - t)^2 + (l2/2)||w||^2 = (||Xw + b - t||^2 + (n l2 / 2)||w||^2) / n: Ridge(alpha = n l2 / 2)."""
    x, t = _data()
    learner = _fit(x, t, l2)
    mean, std, w, b = learner.linear
    m, s = standardise(x)
    np.testing.assert_array_equal(mean, m)
    np.testing.assert_array_equal(std, s)
    ref = Ridge(alpha=len(x) * l2 / 2, fit_intercept=True, solver="svd").fit((x - m) / s, t)
    np.testing.assert_allclose(w, ref.coef_, rtol=0, atol=1e-6)
    assert b == pytest.approx(ref.intercept_, abs=1e-6)
    np.testing.assert_allclose(learner.predict_raw(index_texts(len(x))), ref.predict((x - m) / s), rtol=0, atol=1e-6)
    # the optimum: the objective's gradient vanishes (to rounding), and the record says how it was solved
    assert learner.info["grad_norm"] < 1e-10 and learner.info["solver"] == "least_squares"
    assert learner.info["l2"] == l2 and learner.info["loss"] == "squared"


def test_predictions_are_the_raw_fit_clipped_to_the_unit_interval():
    x, _ = _data()
    t = np.where(x @ np.linspace(-1, 1, x.shape[1]) > 0, 0.95, 0.05)  # near-hard labels: the fit overshoots
    learner = _fit(x, t, 1e-4)
    raw, p = learner.predict_raw(index_texts(len(x))), learner.predict(index_texts(len(x)))
    assert raw.min() < 0 or raw.max() > 1  # some outputs leave [0, 1], so the clip is exercised
    np.testing.assert_allclose(p, np.clip(raw, 0, 1), rtol=0, atol=1e-7)
    # clipping never moves f away from a target in [0, 1]
    assert np.all(np.abs(p - t) <= np.abs(raw - t) + 1e-7)
    # a cross-entropy fit of the same learner forgets the squared head: no raw outputs any more
    learner.fit(index_texts(len(x)), t, SoftXent(), seed=0)
    with pytest.raises(RuntimeError, match="squared-loss fit"):
        learner.predict_raw(index_texts(3))


def test_unpenalised_fit_recovers_a_target_in_the_span_exactly():
    x, _ = _data(n=200, d=6)
    rng = np.random.default_rng(1)
    w_star, b_star = rng.normal(size=6) * 0.05, 0.4
    t = x @ w_star + b_star
    f = _fit(x, t, 0.0).predict_raw(index_texts(len(x)))
    np.testing.assert_allclose(f, t, rtol=0, atol=1e-9)
    sol = solve_ridge(x, t, 0.0)  # on the raw features too: the same affine class
    np.testing.assert_allclose(sol.w, w_star, rtol=0, atol=1e-9)
    assert sol.b == pytest.approx(b_star, abs=1e-9)


def test_pythagoras_for_the_projection_and_not_for_a_penalised_fit():
    """With l2 = 0 the fit f_sw is the orthogonal projection of t onto span(x, 1): for every f in the span,
    mean (f - t)^2 = mean (f - f_sw)^2 + mean (f_sw - t)^2."""
    x, t = _data(n=250, d=8, noise=0.3)
    texts = index_texts(len(x))
    f_sw = _fit(x, t, 0.0).predict_raw(texts)
    rng = np.random.default_rng(2)
    for _ in range(5):
        f = x @ rng.normal(size=x.shape[1]) + rng.normal()
        lhs = np.mean((f - t) ** 2)
        rhs = np.mean((f - f_sw) ** 2) + np.mean((f_sw - t) ** 2)
        assert lhs == pytest.approx(rhs, rel=0, abs=1e-10)
    # a penalised fit (a smaller convex set, a norm ball) is no projection onto the span: the identity fails for
    # f = the unpenalised fit
    f_pen = _fit(x, t, 1.0).predict_raw(texts)
    gap = np.mean((f_sw - t) ** 2) - (np.mean((f_sw - f_pen) ** 2) + np.mean((f_pen - t) ** 2))
    assert abs(gap) > 1e-4


# ---- the student's l2: CV of the squared error ---------------------------------------------------------------------

def _hand_cv(x, t, grid, folds=5, seed=0, groups=None):
    out = []
    for l2 in grid:
        errs = []
        for tr, te in stratified_folds(t, groups, folds, seed):
            m, s = standardise(x[tr])
            ref = Ridge(alpha=len(tr) * l2 / 2, solver="svd").fit((x[tr] - m) / s, t[tr])
            errs.append(np.mean((ref.predict((x[te] - m) / s) - t[te]) ** 2))
        out.append(float(np.mean(errs)))
    return out


def test_squared_cv_picks_the_lowest_held_out_squared_error():
    x, t = _data(n=120, d=40, noise=0.25)  # many features, few rows: the penalty matters
    grid = (1e-3, 1e-2, 0.1, 1.0, 10.0)
    l2, info = choose_ridge_l2(x, t, grid=grid, extend=False)
    hand = _hand_cv(x, t, grid)
    assert info["cv_loss"] == pytest.approx([round(v, 6) for v in hand], abs=2e-6)
    best = int(np.argmin(hand))
    assert l2 == grid[best] and 0 < best < len(grid) - 1 and info["at_edge"] is False
    assert info["loss"] == "squared" and info["folds"] == 5
    # the same CV through choose_l2(loss="squared"); the log loss chooses by another score
    assert choose_l2(x, t, grid=grid, extend=False, loss="squared") == (l2, info)
    assert choose_l2(x, t, grid=grid, extend=False)[1]["cv_loss"] != info["cv_loss"]


def test_squared_cv_extends_the_grid_and_flags_the_edge_as_choose_l2_does():
    rng = np.random.default_rng(3)
    x = rng.normal(size=(200, 10))
    noise = rng.random(200)  # no signal: the strongest penalty (the mean alone) wins, up to the cap
    l2, info = choose_ridge_l2(x, noise)
    assert l2 == pytest.approx(L2_MAX) and info["at_edge"] is True and info["extended"] >= 1
    l2_plain, plain = choose_ridge_l2(x, noise, extend=False)
    assert l2_plain == max(L2_GRID) and plain["at_edge"] is True and plain["extended"] == 0
    # a grid whose weakest penalty wins grows downwards until the optimum is interior
    xs, t = _data(n=120, d=40, noise=0.25)
    l2, info = choose_ridge_l2(xs, t, grid=(10.0, 100.0, 1000.0))
    assert info["grid"][0] < 10.0 and info["extended"] >= 2 and l2 < 10.0 and info["at_edge"] is False
    assert l2 == choose_ridge_l2(xs, t, grid=(1e-3, 1e-2, 0.1, 1.0, 10.0))[0]  # the same optimum as from below
    # noiseless linear targets: held-out errors fall towards 0 with the penalty; ties (at 1e-12, as choose_l2
    # rounds them) go to the stronger penalty, and the floor is never passed
    exact = 0.5 + x @ rng.normal(size=10) * 0.05
    l2, info = choose_ridge_l2(x, exact)
    assert L2_MIN <= l2 <= 1e-4 and max(info["cv_loss"][: info["grid"].index(l2) + 1]) < 1e-11
    # one class only: nothing to cross-validate, as choose_l2
    l2, info = choose_ridge_l2(x, np.full(200, 0.9))
    assert l2 == max(L2_GRID) and info["at_edge"] is None and info["loss"] == "squared"


def test_learner_cv_uses_the_squared_error_and_groups():
    x, t = _data(n=120, d=40, noise=0.25)
    learner = FrozenLearner(FixedFeatures(x), TrainSpec(mode="frozen"), l2="cv")
    learner.fit_squared(index_texts(len(x)), t, seed=0)
    l2, info = choose_ridge_l2(x.astype(np.float32).astype(np.float64), t)
    assert learner.info["l2"] == l2 and learner.info["cv"] == info and learner.info["l2_at_edge"] is False


# ---- the pipeline ---------------------------------------------------------------------------------------------

def test_pipeline_runs_the_squared_student(tmp_path, tiny_encoder, synthetic_task):
    pipe = Pipeline(tmp_path / "runs")
    ce = tiny_spec(synthetic_task, tiny_encoder, tiny_encoder)
    sq = tiny_spec(synthetic_task, tiny_encoder, tiny_encoder, method=SQUARED)
    assert ce.method.options == {} and Plan.of(ce).student_loss == "ce"
    assert Plan.of(sq).student_loss == "squared"
    # an unset option leaves the method's spec (and so every key) as it was: only named options are stored
    assert ce.method.model_dump(exclude_defaults=True) == {}
    rec = pipe.run(sq)
    keys, ce_keys = pipe.keys(sq), pipe.keys(ce)
    assert keys["student"] != ce_keys["student"] and keys["experiment"] != ce_keys["experiment"]
    assert keys["weak"] == ce_keys["weak"] and keys["ceiling"] == ce_keys["ceiling"]
    assert rec["student_l2_source"] == "cv_weak_labels" and rec["oracle"] is False
    assert rec["method"] == "naive(loss=squared)"
    # the student's l2: the squared CV on B's weak labels (the student's rows and labels, no ground truth)
    weak = pipe.cache.load("weak", keys["weak"])[0]
    arrays, meta = pipe.cache.load("student", keys["student"])
    splits = pipe.res.splits(sq)
    transfer = WeakLabelled(tuple(r.id for r in splits.transfer), tuple(r.item for r in splits.transfer),
                            weak["transfer"], groups=tuple(r.group for r in splits.transfer))
    l2, cv = weak_label_l2(sq, pipe.res, transfer, loss="squared")
    assert cv["loss"] == "squared" and meta["l2_cv_weak_labels"] == cv
    assert rec["l2_student"] == l2 and rec["l2_at_edge_student"] == cv["at_edge"]
    assert meta["solver"] == "least_squares" and meta["loss"] == "squared" and rec["solver"] == "least_squares"
    # its predictions: the closed form on the strong features of B, clipped
    xb = np.asarray(pipe.res.item_features(sq.strong, sq.train, [r.item for r in splits.transfer]), dtype=np.float64)
    xt = np.asarray(pipe.res.item_features(sq.strong, sq.train, [r.item for r in splits.test]), dtype=np.float64)
    m, s = standardise(xb)
    sol = solve_ridge((xb - m) / s, weak["transfer"].astype(np.float64), l2)
    np.testing.assert_allclose(arrays["test"], np.clip((xt - m) / s @ sol.w + sol.b, 0, 1), rtol=0, atol=1e-5)
    # the ce student next to it chooses its l2 by the log loss, as before
    rec_ce = pipe.run(ce)
    assert rec_ce["cached_weak"] and rec_ce["cached_ceiling"] and not rec_ce["cached_student"]
    ce_meta = pipe.cache.load("student", ce_keys["student"])[1]
    assert "loss" not in ce_meta["l2_cv_weak_labels"] and ce_meta["solver"] == "lbfgs" and rec_ce["solver"] == "lbfgs"
    assert ce_meta["l2_cv_weak_labels"] == weak_label_l2(ce, pipe.res, transfer)[1]


# ---- errors -----------------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("change", "match"), [
    ({"train": TrainSpec(mode="full")}, "train.mode frozen"),
    ({"train": TrainSpec(mode="frozen", solver="sgd")}, "train.solver lbfgs"),
    ({"budget": BudgetSpec(kind="steps", steps=10)}, "budget full"),
    ({"budget": BudgetSpec(kind="early_stop")}, "budget full"),
    ({"strong": "tfidf"}, "classic rung"),
    ({"task": "hh_rlhf"}, "pairwise"),
    ({"lock": LockSpec()}, "drop `lock`"),
])
def test_squared_errors_before_any_work(change, match):
    spec = ExperimentSpec(method=SQUARED).model_copy(update=change)
    with pytest.raises(ValueError, match=match) as e:
        check_method(spec)
    assert "loss 'squared'" in str(e.value) and "naive" in str(e.value)
    # the ce default runs in the same settings (other checks permitting)
    ce = spec.model_copy(update={"method": MethodSpec(name="naive")})
    if change.get("task") != "hh_rlhf" and "lock" not in change:
        check_method(ce)


def test_unknown_loss_is_an_options_error():
    with pytest.raises(ValueError, match="loss"):
        check_method(ExperimentSpec(method={"name": "naive", "options": {"loss": "hinge"}}))


def test_comparisons_are_refused_by_the_method_and_the_learner():
    """A pairwise task the precheck could not see (e.g. an unreadable YAML) still fails before training."""
    items = (Comparison("p", "a", "b"), Comparison("p", "c", "d"))
    transfer = WeakLabelled(("0", "1"), items, np.array([0.7, 0.2]))

    def no_student():
        raise AssertionError("a student was built")

    ctx = StudentContext(new_student=no_student, seed=0, train=TrainSpec(mode="frozen"))
    naive = get_method("naive")
    with pytest.raises(ValueError, match="texts only"):
        naive.fn(ctx, transfer, transfer, naive.config_cls(loss="squared"))
    learner = FrozenLearner(lambda texts: torch.ones(len(texts), 3), TrainSpec(mode="frozen"), l2=0.1)
    with pytest.raises(ValueError, match="texts only"):
        learner.fit_squared(list(items), np.array([0.7, 0.2]), seed=0)
    sgd = FrozenLearner(FixedFeatures(np.eye(3)), TrainSpec(mode="frozen"), l2=0.1,
                        budget=BudgetSpec(kind="steps", steps=5))
    with pytest.raises(ValueError, match="budget 'full'"):
        sgd.fit_squared(index_texts(3), np.array([0.1, 0.5, 0.9]), seed=0)
