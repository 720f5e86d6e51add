"""w2sg.theory: each bound holds where its theorem's assumptions hold (a convex class, the projection, a truth
inside the class) and fails where they do not (a non-convex class, a non-projection), so that a wrong formula
fails here; the expansion check shows its claim on a constructed case."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.optimize import minimize
from sklearn.linear_model import Ridge
from sklearn.neighbors import KNeighborsClassifier

from w2sg.theory import (
    Ball,
    charikar_check,
    correction_summary,
    ensemble_term,
    kernel_metric,
    kl_terms,
    knn,
    label_projection,
    local_expansion,
    nonrealisable_bound,
    power_fit,
    squared_record,
    squared_terms,
)


def _data(n=200, d=5, seed=0):
    rng = np.random.default_rng(seed)
    return rng, rng.normal(size=(n, d))


# ------------------------------------------------------------------ Charikar et al.: squared loss
def test_squared_terms_are_hand_computed():
    t, w, s = np.array([0.0, 1.0]), np.array([0.5, 0.5]), np.array([0.25, 1.0])
    got = squared_terms(t, w, s)
    assert got["weak_err"] == pytest.approx(0.25)
    assert got["student_err"] == pytest.approx(0.0625 / 2)
    assert got["misfit"] == pytest.approx((0.0625 + 0.25) / 2)
    assert got["slack"] == pytest.approx(got["gain"] - got["misfit"])
    rec = squared_record(t, w, s, ceiling=t)
    assert rec["sq_misfit_transfer"] == pytest.approx(got["misfit"]) and rec["sq_slack_ceiling_transfer"] == \
        pytest.approx(got["slack"])
    assert squared_record(None, w, s)["sq_misfit_transfer"] is None


def test_ball_ridge_matches_sklearn():
    rng, x = _data(150, 8, 1)
    t = rng.random(150)
    for l2 in (1e-3, 0.1, 2.0):
        fit, _ = Ball.of(x).ridge(t, l2)
        ref = Ridge(alpha=len(t) * l2 / 2).fit(x, t).predict(x)  # sum loss + alpha ||w||^2 = n x (mean + l2/2)
        np.testing.assert_allclose(fit, ref, atol=1e-8)


def test_projection_onto_the_ball_is_the_nearest_point_of_the_ball():
    rng, x = _data(120, 6, 2)
    t = rng.normal(size=120)
    ball = Ball.of(x)
    _, r_ls = ball.ridge(t, 0.0)
    p = ball.project(t, 0.5 * r_ls)
    d = np.mean((p - t) ** 2)
    for l2 in np.logspace(-4, 2, 40):  # every ridge fit inside the ball is no nearer
        f, r = ball.ridge(t, l2)
        if r <= 0.5 * r_ls:
            assert np.mean((f - t) ** 2) >= d - 1e-12
    # its norm is the radius: recover w by least squares on the centred features
    w = np.linalg.lstsq(x - x.mean(0), p - p.mean(), rcond=None)[0]
    assert np.linalg.norm(w) == pytest.approx(0.5 * r_ls, rel=1e-6)


def test_equality_for_a_linear_subspace_and_a_realisable_truth():
    rng, x = _data(300, 5, 3)
    truth = x @ rng.normal(size=5) * 0.1 + 0.5  # inside the class (unpenalised linear: a subspace)
    weak = np.clip(truth + rng.normal(0, 0.2, 300), 0, 1)
    student, _ = Ball.of(x).ridge(weak, 0.0)  # the projection
    t = squared_terms(truth, weak, student)
    assert t["misfit"] > 0.01 and t["slack"] == pytest.approx(0.0, abs=1e-10)


@pytest.mark.parametrize("seed", range(5))
def test_inequality_holds_for_a_ball_on_any_data(seed):
    rng, x = _data(250, 10, seed)
    y = (x[:, 0] + rng.normal(0, 1.0, 250) > 0).astype(float)
    weak = np.clip(0.5 + 0.3 * np.tanh(x[:, 1] + x[:, 0]) + rng.normal(0, 0.1, 250), 0, 1)
    c = charikar_check(x, y, weak, l2=0.5)
    assert c["slack_in_class"] >= -1e-9  # the projection of the truth onto the student's own ball
    assert c["gain_in_class"] > 0
    assert c["slack_bound"] >= -1e-9  # the non-realisable bound against the hard labels
    assert c["eps"] > 0.05  # hard labels are far from the class: the plain inequality is only a diagnostic


def test_nonrealisable_bound_is_the_plain_one_when_realisable():
    assert nonrealisable_bound(0.3, 0.1, 0.0) == pytest.approx(0.2)
    assert nonrealisable_bound(0.3, 0.1, 0.01) > 0.2


def test_inequality_fails_for_a_non_convex_class():
    # the class {f1, f2} (two points): the 'projection' is the nearer point, the truth is the other one
    weak, f1, f2 = np.array([0.0]), np.array([1.0]), np.array([-1.1])
    t = squared_terms(truth=f2, weak=weak, student=f1)
    assert t["slack"] < -1.0  # err_s 4.41 > err_w - misfit = 0.21


def test_inequality_fails_for_a_student_that_is_not_the_projection():
    rng, x = _data(300, 5, 4)
    truth = x @ rng.normal(size=5) * 0.1 + 0.5
    weak = np.clip(truth + rng.normal(0, 0.2, 300), 0, 1)
    proj, _ = Ball.of(x).ridge(weak, 0.0)
    away = proj - 0.3 * (truth - proj)  # in the class, but not the projection
    assert squared_terms(truth, weak, away)["slack"] < -1e-4


def test_charikar_check_reports_how_close_the_stored_student_is():
    rng, x = _data(100, 4, 5)
    weak = rng.random(100)
    fit, _ = Ball.of(x).ridge(weak, 0.1)
    c = charikar_check(x, (rng.random(100) > 0.5).astype(float), weak, 0.1, student=np.clip(fit, 0, 1))
    assert c["student_match"] < 1e-12
    c2 = charikar_check(x, (rng.random(100) > 0.5).astype(float), weak, 0.1, student=np.clip(fit + 0.05, 0, 1))
    assert c2["student_match"] > 0.04


# ------------------------------------------------------------------ Mulgund & Pabbaraju: KL
def _sigmoid(z):
    return 1 / (1 + np.exp(-z))


def test_kl_form_holds_with_equality_for_the_kl_projection_onto_linear_logits():
    rng, x = _data(400, 3, 6)
    truth = _sigmoid(x @ np.array([1.0, -0.5, 0.3]))
    weak = np.clip(truth + rng.normal(0, 0.15, 400), 0.01, 0.99)

    def ce(w):  # soft cross-entropy of linear logits (no penalty): its minimiser is the KL projection
        z = x @ w
        return np.mean(np.logaddexp(0, z) - weak * z), x.T @ (_sigmoid(z) - weak) / len(z)

    w = minimize(ce, np.zeros(3), jac=True, method="L-BFGS-B", options={"gtol": 1e-12, "ftol": 1e-15}).x
    t = kl_terms(truth, weak, _sigmoid(x @ w))
    assert t["misfit"] > 0.005 and t["slack"] == pytest.approx(0.0, abs=1e-6)
    assert kl_terms(truth, weak, _sigmoid(x @ (1.5 * w)))["slack"] < -1e-4  # not the projection: fails


def test_ensemble_term():
    assert ensemble_term(2, 8) == pytest.approx(0.5)
    with pytest.raises(ValueError, match="classes"):
        ensemble_term(1, 3)


# ------------------------------------------------------------------ Lang et al.: expansion
def _expansion_case(seed=0):
    """Class 1 has two clusters: in the big one the weak model is wrong on scattered points (their neighbours
    are weak-right: high expansion), the small one it gets wrong entirely (neighbours weak-wrong: low)."""
    rng = np.random.default_rng(seed)
    c0 = rng.normal((-4, 0), 1.0, (200, 2))
    c1 = rng.normal((4, 0), 1.0, (200, 2))
    c1b = rng.normal((4, 9), 0.7, (40, 2))
    x = np.vstack([c0, c1, c1b])
    y = np.r_[np.zeros(200), np.ones(240)].astype(int)
    weak = y.astype(float) * 0.8 + 0.1
    scattered = 200 + rng.choice(200, 40, replace=False)
    weak[scattered] = 0.2
    weak[400:] = 0.2
    return x, y, weak


def test_local_expansion_separates_scattered_from_clustered_errors():
    x, y, weak = _expansion_case()
    e = local_expansion(x, y, (weak > 0.5) == y, k=10)
    wrong = np.flatnonzero((weak > 0.5) != y)
    assert np.mean(e[wrong[wrong < 400]]) > 0.6 and np.mean(e[400:]) < 0.1


def test_knn_in_blocks_is_the_full_similarity_matrix_search():
    """Neighbours are computed a block of rows at a time; the result is the plain n x n search's, label mask,
    self-exclusion and -1 padding (a class with fewer than k other rows) included."""
    rng = np.random.default_rng(3)
    x, y = rng.normal(size=(301, 7)), np.r_[rng.integers(0, 2, 297), [2, 2, 2, 2]]
    z = x - x.mean(0)
    z /= np.linalg.norm(z, axis=1, keepdims=True)
    sim = z @ z.T
    np.fill_diagonal(sim, -np.inf)
    sim[y[:, None] != y[None, :]] = -np.inf
    idx = np.argsort(-sim, axis=1, kind="stable")[:, :6]
    full = np.where(np.take_along_axis(sim, idx, 1) > -np.inf, idx, -1)
    for block in (1, 40, 301, 5000):
        np.testing.assert_array_equal(knn(x, 6, same=y, block=block), full)
    assert (full[-4:, 3:] == -1).all() and (full[-4:, :3] >= 297).all()


def test_a_robust_student_corrects_where_expansion_is_high():
    x, y, weak = _expansion_case()
    student = KNeighborsClassifier(15).fit(x, (weak > 0.5).astype(int)).predict_proba(x)[:, 1]
    s = correction_summary(x, y, weak, student, k=10, n_boot=300)
    assert s["correction_high"] > 0.9 and s["correction_low"] < 0.1
    assert s["correction_diff_ci_low"] > 0.5
    # a student that copies its teacher corrects nothing, whatever the expansion
    copy = correction_summary(x, y, weak, weak, k=10, n_boot=100)
    assert copy["correction"] == 0 and copy["correction_diff"] == 0


# ------------------------------------------------------------------ Xue et al. / Ildiz et al.
def test_kernel_metric_is_zero_for_the_same_representation_and_grows_with_what_weak_lacks():
    rng, base = _data(300, 6, 7)
    assert kernel_metric(base, base)["frob"] == pytest.approx(0.0, abs=1e-10)
    strong = np.hstack([base, 3 * rng.normal(size=(300, 6))])
    m = kernel_metric(base, strong)
    assert 0.2 < m["frob"] <= 1.0 and m["op"] <= 1.0 + 1e-12
    y_weak = base @ rng.normal(size=6)
    assert label_projection(base, strong, y_weak) < 1e-10
    y_new = strong[:, 6] - base @ np.linalg.lstsq(base, strong[:, 6], rcond=None)[0]
    assert label_projection(base, strong, y_new) > 0.9


# ------------------------------------------------------------------ Medvedev et al.
def test_power_fit_recovers_the_exponent():
    rng = np.random.default_rng(8)
    t = rng.uniform(0.05, 0.4, 60)
    tasks = np.repeat(list("abcdef"), 10)
    exact = power_fit(t, t ** 2, tasks)
    assert exact["exponent"] == pytest.approx(2.0) and exact["ci_low"] == pytest.approx(2.0)
    noisy = power_fit(t, t ** 1.5 * np.exp(rng.normal(0, 0.05, 60)), tasks)
    assert noisy["ci_low"] < 1.5 < noisy["ci_high"]


# ------------------------------------------------------------------ the pooled share the theory page reads
def test_two_level_ratio_ci_is_the_ratio_of_task_means_and_resamples_pairs_together():
    from w2sg.metrics.across_tasks import two_level_ratio_ci

    num = {"a": [0.1, 0.3], "b": [0.2, 0.2]}
    den = {"a": [0.2, 0.6], "b": [0.4, 0.4]}  # every run's ratio is 0.5: so is every resample's
    point, lo, hi = two_level_ratio_ci(num, den, n_boot=200)
    assert point == pytest.approx(0.5) and lo == pytest.approx(0.5) and hi == pytest.approx(0.5)
    p2, lo2, hi2 = two_level_ratio_ci({"a": [0.0, 0.4], "b": [0.1, 0.1]}, {"a": [0.5, 0.5], "b": [0.5, 0.5]})
    assert p2 == pytest.approx((0.2 + 0.1) / 2 / 0.5) and lo2 < p2 < hi2
    with pytest.raises(ValueError, match="task 'a'"):
        two_level_ratio_ci({"a": [0.1]}, {"a": [0.1, 0.2]})


def test_correction_is_none_where_it_is_undefined():
    x, y, weak = _expansion_case()
    weak = y.astype(float) * 0.8 + 0.1
    weak[400:] = 0.2  # only the small cluster is wrong: every wrong row has expansion 0, none above the median
    s = correction_summary(x, y, weak, weak, k=10, n_boot=50)
    assert s["correction_high"] is None and s["correction_diff"] is None and s["correction_diff_ci_low"] is None
    assert s["expansion"] == 0.0


# ------------------------------------------------------------------ a real record and a run's inputs
def test_a_frozen_record_carries_the_theory_keys_and_inputs_reproduce_them(tmp_path, tiny_encoder, synthetic_task):
    from w2sg.pipeline import Pipeline
    from w2sg.pipeline.theory import theory_inputs
    from w2sg.result import as_result

    from .conftest import tiny_spec

    pipe = Pipeline(tmp_path / "runs")
    squared = {"name": "naive", "options": {"loss": "squared"}}
    spec = tiny_spec(synthetic_task, tiny_encoder, tiny_encoder, method=squared)
    rec = pipe.run(spec)
    inp = theory_inputs(spec, pipe.res)
    assert rec["cached_student"] is False  # computed once by run; theory_inputs read the cache
    y, w, s = inp.labels, inp.weak, inp.student
    for split in ("transfer", "test"):
        t = squared_terms(y[split], w[split], s[split])
        assert rec[f"sq_misfit_{split}"] == pytest.approx(t["misfit"], abs=1e-6)
        assert rec[f"sq_slack_{split}"] == pytest.approx(t["slack"], abs=1e-6)
    assert as_result(rec).theory.sq_misfit_transfer == rec["sq_misfit_transfer"]
    assert rec["expansion_test"] is not None and 0 <= rec["expansion_test"] <= 1
    # the student is the projection of the weak labels: the independent refit agrees, and the theorem holds in class
    c = charikar_check(inp.strong_x["transfer"], y["transfer"], w["transfer"], inp.student_l2, student=s["transfer"])
    assert c["student_match"] < 1e-4 and c["slack_in_class"] >= -1e-9 and c["slack_bound"] >= -1e-9
    assert inp.weak_x is not None and inp.weak_x["test"].shape[0] == len(y["test"])
