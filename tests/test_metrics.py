"""Tests for w2sg.metrics: PGR and its paired bootstrap, agreement, misfit identity, seed summaries."""

import json
import math
import time

import numpy as np
import pytest

from w2sg.metrics import (
    PGRResult,
    accuracy,
    agreement,
    auroc,
    auroc_boot,
    evaluate,
    misfit,
    paired_bootstrap,
    pgr,
    pgr_with_ci,
    resample_counts,
    seed_summary,
    sq_error,
)


def nested_case(n: int, n_weak: int, n_ceiling: int, n_student: int):
    """Labels all 1; each model is right on a prefix of the examples (so correctness is nested)."""
    labels = np.ones(n, dtype=int)

    def right_on(k: int) -> np.ndarray:
        return np.where(np.arange(n) < k, 0.9, 0.1)

    return labels, right_on(n_weak), right_on(n_ceiling), right_on(n_student)


# ---------------------------------------------------------------- point metrics


def test_accuracy_threshold_and_auroc_match_sklearn():
    sk = pytest.importorskip("sklearn.metrics")
    rng = np.random.default_rng(1)
    y = rng.integers(0, 2, 300)
    p = np.round(rng.random(300), 1)  # many ties
    assert accuracy([0.5, 0.51, 0.2], [0, 1, 0]) == 1.0  # 0.5 -> class 0
    assert accuracy(p, y) == pytest.approx(np.mean((p > 0.5) == y))
    assert auroc(p, y) == pytest.approx(sk.roc_auc_score(y, p), abs=1e-12)
    assert auroc(np.stack([1 - p, p], axis=1), y) == pytest.approx(sk.roc_auc_score(y, p), abs=1e-12)
    assert math.isnan(auroc([0.2, 0.9], [1, 1]))


def test_auroc_boot_matches_sklearn_on_each_resample():
    sk = pytest.importorskip("sklearn.metrics")
    rng = np.random.default_rng(2)
    y = rng.integers(0, 2, 80)
    p = np.round(rng.random(80), 1)
    counts = resample_counts(80, 20, 3)
    assert (counts.sum(axis=1) == 80).all()
    fast = auroc_boot(p, y, counts)
    for b in range(20):
        idx = np.repeat(np.arange(80), counts[b])
        assert fast[b] == pytest.approx(sk.roc_auc_score(y[idx], p[idx]), abs=1e-12)


def test_bad_inputs_name_the_problem():
    with pytest.raises(ValueError, match="labels must be 0/1"):
        accuracy([0.1, 0.2], [0, 2])
    with pytest.raises(ValueError, match="same length"):
        accuracy([0.1, 0.2], [0])
    with pytest.raises(ValueError, match="metric"):
        pgr_with_ci([0, 1], [0.1, 0.9], [0.1, 0.9], [0.1, 0.9], metric="f1")


# ---------------------------------------------------------------- PGR


def test_pgr_scalar():
    assert pgr(0.6, 0.8, 0.7) == pytest.approx(0.5)
    assert pgr(0.6, 0.8, 0.9) == pytest.approx(1.5)
    assert pgr(0.8, 0.6, 0.7) is None
    assert pgr(0.7, 0.7, 0.7) is None
    assert pgr(math.nan, 0.8, 0.7) is None


def test_pgr_point_value_hand_computed():
    labels, weak, ceiling, student = nested_case(10, 6, 8, 7)  # accuracies 0.6, 0.8, 0.7
    r = pgr_with_ci(labels, weak, ceiling, student, n_boot=200)
    assert isinstance(r, PGRResult)
    assert r.value == pytest.approx(0.5)
    assert r.gap == pytest.approx(0.2)
    assert (r.weak, r.ceiling, r.student) == pytest.approx((0.6, 0.8, 0.7))
    assert r.ci_low <= 0.5 <= r.ci_high
    assert r.n_boot == 200


@pytest.mark.parametrize("student_is, expected", [("ceiling", 1.0), ("weak", 0.0)])
def test_pgr_ci_collapses_when_every_resample_gives_the_same_pgr(student_is, expected):
    labels, weak, ceiling, _ = nested_case(200, 100, 160, 0)
    student = ceiling if student_is == "ceiling" else weak
    for metric in ("accuracy", "auroc"):
        if metric == "auroc":  # two classes needed; per-example identity still fixes PGR on every resample
            rng = np.random.default_rng(0)
            labels = rng.integers(0, 2, 200)
            weak, ceiling = rng.random(200), np.clip(labels + rng.normal(0, 0.4, 200), 0, 1)
            student = ceiling if student_is == "ceiling" else weak
        r = pgr_with_ci(labels, weak, ceiling, student, metric=metric, n_boot=300)
        assert r.value == pytest.approx(expected)
        assert r.ci_low == pytest.approx(expected) and r.ci_high == pytest.approx(expected)
        assert not r.unstable and r.reason is None


def test_bootstrap_is_paired():
    # nested correctness: student's and ceiling's extra hits are a fixed subset, so resamples move all three
    # together; an unpaired bootstrap (independent indices per model) gives a much wider PGR interval
    n, n_boot = 400, 1000
    labels, weak, ceiling, student = nested_case(n, 240, 320, 280)
    r = pgr_with_ci(labels, weak, ceiling, student, n_boot=n_boot, seed=0)
    assert r.value == pytest.approx(0.5)
    rng = np.random.default_rng(1)
    accs = [accuracy_resamples(p, labels, rng, n_boot) for p in (weak, ceiling, student)]
    gap = accs[1] - accs[0]
    unpaired = ((accs[2] - accs[0]) / gap)[gap > 0]
    lo, hi = np.percentile(unpaired, [2.5, 97.5])
    assert (r.ci_high - r.ci_low) < 0.5 * (hi - lo)
    # the paired resamples really share indices: with identical inputs the three rows are identical
    boot = paired_bootstrap(labels, [weak, weak, weak], n_boot=50, seed=3)["accuracy"]
    assert (boot[0] == boot[1]).all() and (boot[1] == boot[2]).all() and boot[0].std() > 0


def accuracy_resamples(p, labels, rng, n_boot):
    idx = rng.integers(0, len(labels), (n_boot, len(labels)))
    return ((p[idx] > 0.5) == labels[idx]).mean(axis=1)


def test_same_seed_same_result_and_chunking_is_invisible(monkeypatch):
    import w2sg.metrics as m

    labels, weak, ceiling, student = nested_case(100, 60, 90, 70)
    a = pgr_with_ci(labels, weak, ceiling, student, n_boot=100, seed=5)
    assert a == pgr_with_ci(labels, weak, ceiling, student, n_boot=100, seed=5)
    monkeypatch.setattr(m, "_CHUNK_CELLS", 1000)  # 10 resamples per chunk
    b = pgr_with_ci(labels, weak, ceiling, student, n_boot=100, seed=5)
    assert b.n_boot == 100 and b.value == a.value


def test_pgr_undefined_when_ceiling_not_above_weak():
    labels, weak, ceiling, student = nested_case(1000, 731, 712, 720)
    r = pgr_with_ci(labels, weak, ceiling, student, n_boot=200)
    assert r.value is None and r.ci_low is None and r.ci_high is None
    assert r.unstable
    assert r.reason == "ceiling accuracy 0.712 <= weak 0.731: no gap to recover"
    assert r.gap == pytest.approx(-0.019)
    assert r.frac_undefined > 0.9
    json.dumps(r.to_dict(), allow_nan=False)
    # a zero gap (weak model == strong model) is undefined too
    r0 = pgr_with_ci(labels, weak, weak, student, n_boot=50)
    assert r0.value is None and r0.frac_undefined == 1.0


def test_unstable_flag_on_tiny_gap():
    labels, weak, ceiling, student = nested_case(100, 70, 71, 71)
    r = pgr_with_ci(labels, weak, ceiling, student, n_boot=500)
    assert r.value == pytest.approx(1.0)  # a number, but flagged
    assert r.unstable and r.gap_ci_low <= 0
    assert r.reason.startswith("gap 0.010 within noise (95% CI ")
    assert 0 < r.frac_undefined < 1
    big = pgr_with_ci(*nested_case(1000, 600, 800, 700), n_boot=500)
    assert not big.unstable and big.gap_ci_low > 0 and big.reason is None


def test_auroc_pgr():
    rng = np.random.default_rng(7)
    n = 600
    labels = rng.integers(0, 2, n)
    signal = labels * 2.0 - 1
    weak = 1 / (1 + np.exp(-(0.5 * signal + rng.normal(0, 1, n))))
    ceiling = 1 / (1 + np.exp(-(2.0 * signal + rng.normal(0, 1, n))))
    student = 1 / (1 + np.exp(-(1.0 * signal + rng.normal(0, 1, n))))
    r = pgr_with_ci(labels, weak, ceiling, student, metric="auroc", n_boot=500)
    a = [auroc(p, labels) for p in (weak, ceiling, student)]
    assert r.metric == "auroc"
    assert r.value == pytest.approx(pgr(*a))
    assert 0 < r.value < 1 and r.ci_low < r.value < r.ci_high
    one_class = pgr_with_ci(np.ones(5, int), weak[:5], ceiling[:5], student[:5], metric="auroc", n_boot=20)
    assert one_class.value is None and "undefined" in one_class.reason


# ---------------------------------------------------------------- agreement


def test_agreement_subsets_by_hand():
    labels = [1, 1, 0, 0, 1]
    weak = [0.9, 0.2, 0.1, 0.8, 0.6]  # preds 1 0 0 1 1: right on 0,2,4; wrong on 1,3
    student = [0.7, 0.4, 0.6, 0.3, 0.9]  # preds 1 0 1 0 1
    a = agreement(student, weak, labels)
    assert a == pytest.approx({"all": 3 / 5, "weak_right": 2 / 3, "weak_wrong": 1 / 2})
    b = agreement([0.9, 0.1], [0.9, 0.1], [1, 0])
    assert b["all"] == 1.0 and b["weak_right"] == 1.0 and math.isnan(b["weak_wrong"])


# ---------------------------------------------------------------- misfit (Charikar et al. 2024)


def _projection_setup(seed: int, realisable: bool):
    rng = np.random.default_rng(seed)
    n, d = 500, 12
    X = rng.normal(size=(n, d))
    f_star = X @ rng.normal(size=d)
    residual = np.zeros(n)
    if not realisable:
        residual = rng.normal(size=n)
        residual -= X @ np.linalg.lstsq(X, residual, rcond=None)[0]  # orthogonal to the column space of X
        f_star = f_star + residual
    weak = f_star + np.sin(3 * X[:, 0]) + 0.5 * X[:, 1] ** 2 + rng.normal(0, 0.3, n)  # structured errors
    student = X @ np.linalg.lstsq(X, weak, rcond=None)[0]  # least-squares fit onto weak labels
    return f_star, weak, student, residual


def test_misfit_pythagorean_identity_for_linear_student():
    for seed in range(3):
        f_star, weak, student, _ = _projection_setup(seed, realisable=True)
        lhs = sq_error(student, f_star)
        rhs = sq_error(weak, f_star) - misfit(student, weak)
        assert abs(lhs - rhs) < 1e-10
        assert misfit(student, weak) > 0.1  # the identity is not trivially 0 = 0


def test_misfit_without_realisability():
    # err(student) - (err(weak) - misfit) = 2 <(I-P) f_w, r> / n: either sign is possible
    f_star, weak, student, r = _projection_setup(0, realisable=False)
    slack = sq_error(student, f_star) - (sq_error(weak, f_star) - misfit(student, weak))
    assert slack == pytest.approx(2 * np.dot(weak - student, r) / len(r), abs=1e-10)
    # a perfect weak model: the student cannot represent f*, so the gain-at-least-misfit bound fails
    f_star, _, _, r = _projection_setup(1, realisable=False)
    X_proj = f_star - r
    assert sq_error(X_proj, f_star) > sq_error(f_star, f_star) - misfit(X_proj, f_star)


# ---------------------------------------------------------------- seeds


def test_seed_summary():
    scipy_stats = pytest.importorskip("scipy.stats")
    vals = [0.2, 0.4, None, 0.9, float("nan")]
    s = seed_summary(vals)
    x = np.array([0.2, 0.4, 0.9])
    assert s["n"] == 3 and s["n_undefined"] == 2
    assert s["mean"] == pytest.approx(x.mean())
    assert s["sd"] == pytest.approx(x.std(ddof=1))
    half = scipy_stats.t.ppf(0.975, 2) * x.std(ddof=1) / math.sqrt(3)
    assert (s["ci_low"], s["ci_high"]) == pytest.approx((x.mean() - half, x.mean() + half), abs=1e-6)
    one = seed_summary([0.5])
    assert one["mean"] == 0.5 and one["n"] == 1 and math.isnan(one["sd"]) and math.isnan(one["ci_low"])
    none = seed_summary([None, None])
    assert none["n"] == 0 and none["n_undefined"] == 2 and math.isnan(none["mean"])
    many = seed_summary(list(np.linspace(0, 1, 50)))
    half = scipy_stats.t.ppf(0.975, 49) * many["sd"] / math.sqrt(50)
    assert many["ci_high"] - many["mean"] == pytest.approx(half, rel=1e-5)


# ---------------------------------------------------------------- evaluate


def _experiment(n: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    s = y * 2.0 - 1

    def model(strength: float) -> np.ndarray:
        return 1 / (1 + np.exp(-(strength * s + rng.normal(0, 1, n))))

    return y, model(0.6), model(2.0), model(1.2)


def test_evaluate_is_flat_json_safe_and_consistent():
    y, w, c, s = _experiment(400)
    ty, tw, _, ts = _experiment(300, seed=1)
    out = evaluate(y, w, c, s, transfer_labels=ty, weak_transfer=tw, student_transfer=ts, n_boot=200)
    json.dumps(out, allow_nan=False)
    assert all(isinstance(v, (int, float, bool, str, type(None))) for v in out.values())
    assert out["weak_acc"] == pytest.approx(accuracy(w, y))
    assert out["pgr_acc"] == pytest.approx(pgr(out["weak_acc"], out["ceiling_acc"], out["student_acc"]))
    assert out["pgr_auroc"] == pytest.approx(pgr_with_ci(y, w, c, s, "auroc", 200).value)
    assert out["pgr_acc_ci_low"] == pytest.approx(pgr_with_ci(y, w, c, s, n_boot=200).ci_low)
    assert out["weak_acc_ci_low"] < out["weak_acc"] < out["weak_acc_ci_high"]
    assert out["agree_test_weak_wrong"] == pytest.approx(agreement(s, w, y)["weak_wrong"])
    assert out["ceiling_agree_test_weak_wrong"] == pytest.approx(agreement(c, w, y)["weak_wrong"])
    assert out["agree_transfer_all"] == pytest.approx(agreement(ts, tw, ty)["all"])
    assert out["ceiling_agree_transfer_all"] is None  # no ceiling_transfer given
    assert out["misfit_test"] == pytest.approx(misfit(s, w))
    assert out["misfit_transfer"] == pytest.approx(misfit(ts, tw))
    assert out["weak_sq_err_test"] == pytest.approx(sq_error(w, y))
    for key in ("gap_acc", "pgr_acc_reason", "unstable", "unstable_auroc", "student_auroc_ci_high"):
        assert key in out
    assert isinstance(out["unstable"], bool)


def test_evaluate_writes_none_not_nan():
    y = np.ones(20, dtype=int)  # one class: AUROC undefined
    w, c, s = np.full(20, 0.6), np.full(20, 0.4), np.full(20, 0.7)  # ceiling below weak
    out = evaluate(y, w, c, s, n_boot=50)
    json.dumps(out, allow_nan=False)
    assert out["weak_auroc"] is None and out["pgr_auroc"] is None and out["unstable_auroc"]
    assert out["pgr_acc"] is None and out["unstable"] and "no gap to recover" in out["pgr_acc_reason"]
    assert out["agree_test_weak_wrong"] is None  # weak is never wrong
    assert out["agree_transfer_all"] is None and out["misfit_transfer"] is None
    keys_with_transfer = evaluate(y, w, c, s, y, w, s, c, n_boot=10).keys()
    assert out.keys() == keys_with_transfer  # stable schema
    with pytest.raises(ValueError, match="missing"):
        evaluate(y, w, c, s, transfer_labels=y, n_boot=10)


def test_bootstrap_speed():
    y, w, c, s = _experiment(1000)
    paired_bootstrap(y, [w, c, s], n_boot=10)  # warm up
    t0 = time.perf_counter()
    boot = paired_bootstrap(y, [w, c, s], n_boot=1000, seed=0)
    elapsed = time.perf_counter() - t0
    assert boot["accuracy"].shape == boot["auroc"].shape == (3, 1000)
    assert elapsed < 2.0
