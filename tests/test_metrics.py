"""Tests for w2sg.metrics: balanced and per-question accuracy, PGR and its paired bootstrap, agreement, KL
misfit and its bound, seed summaries, and the PGR aggregates of report.summary."""

import json
import math

import numpy as np
import pytest

from w2sg.metrics import (
    PGRResult,
    accuracy,
    accuracy_boot,
    agreement,
    auroc,
    auroc_boot,
    balanced_accuracy_boot,
    evaluate,
    kl,
    majority_accuracy,
    misfit,
    misfit_bound,
    paired_bootstrap,
    per_question_correct,
    pgr,
    pgr_with_ci,
    question_coverage,
    resample_counts,
    seed_summary,
    supervisor_metrics,
)
from w2sg.report.summary import fmt_mean_sd, fmt_pgr, fmt_pooled, stable, summarize


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
    assert r.n_boot == 200
    # 10 examples: ~12% of resamples have ceiling <= weak, so the honest CI is unbounded on both ends
    assert r.ci_low == -math.inf and r.ci_high == math.inf and r.unstable
    assert 0.05 < r.frac_undefined < 0.5


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
    import w2sg.metrics.resample as m  # the bootstrap reads its chunk size from its own module

    labels, weak, ceiling, student = nested_case(100, 60, 90, 70)
    a = pgr_with_ci(labels, weak, ceiling, student, n_boot=100, seed=5)
    assert a == pgr_with_ci(labels, weak, ceiling, student, n_boot=100, seed=5)
    monkeypatch.setattr(m, "_CHUNK_CELLS", 1000)  # 10 resamples per chunk
    b = pgr_with_ci(labels, weak, ceiling, student, n_boot=100, seed=5)
    assert b == a  # the same resamples: CI and gap CI identical, not just the point value
    c = pgr_with_ci(labels, weak, ceiling, student, n_boot=100, seed=6)
    assert (c.ci_low, c.ci_high, c.gap_ci_low) != (a.ci_low, a.ci_high, a.gap_ci_low)  # the seed matters


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


# ---------------------------------------------------------------- misfit (KL form of the bound)


def test_misfit_is_hand_computed_kl_weak_to_student():
    weak, student = [0.8, 0.3], [0.6, 0.5]
    expected = ((0.8 * math.log(0.8 / 0.6) + 0.2 * math.log(0.2 / 0.4))
                + (0.3 * math.log(0.3 / 0.5) + 0.7 * math.log(0.7 / 0.5))) / 2
    assert misfit(student, weak) == pytest.approx(expected, abs=1e-12)
    assert kl(weak, student) == pytest.approx(expected, abs=1e-12)
    assert misfit(weak, student) != pytest.approx(expected, abs=1e-3)  # the direction matters
    assert misfit(weak, weak) == 0.0
    # hard labels as reference: the cross-entropy; p = 0 is clipped to 1e-7
    assert kl([1, 0], [0.8, 0.3]) == pytest.approx(-(math.log(0.8) + math.log(0.7)) / 2, abs=1e-12)
    assert kl([1], [0.0]) == pytest.approx(-math.log(1e-7), rel=1e-6)
    with pytest.raises(ValueError, match=r"p: probabilities must lie in \[0, 1\]"):
        kl([0.5], [1.2])


def _sigmoid(z):
    return 1 / (1 + np.exp(-z))


def _kl_projection(x, weak, lo=-np.inf, hi=np.inf):
    """argmin over c in [lo, hi] of mean KL(weak || sigmoid(c x)) (Newton on the soft cross-entropy; the
    objective is convex in c, so the constrained minimiser is the clipped unconstrained one)."""
    c = 0.0
    for _ in range(100):
        s = _sigmoid(c * x)
        c -= np.mean((s - weak) * x) / np.mean(s * (1 - s) * x**2)
    assert abs(np.mean((_sigmoid(c * x) - weak) * x)) < 1e-12  # stationary: the exact projection
    return float(np.clip(c, lo, hi))


def test_misfit_bound_holds_for_the_kl_projection_in_a_realisable_class():
    rng = np.random.default_rng(0)
    x = rng.normal(size=2000)
    c_star = 1.5
    truth = _sigmoid(c_star * x)  # soft ground truth inside the class {sigmoid(c x)}
    weak = _sigmoid(2.5 * x + 0.8 * np.sin(3 * x) + rng.normal(0, 0.3, x.size))  # outside it
    c_sw = _kl_projection(x, weak)
    b = misfit_bound(truth, weak, _sigmoid(c_sw * x))
    assert b["misfit"] > 0.01 and b["student_err"] < b["weak_err"]  # non-trivial: 0.018 here
    student = _sigmoid(c_sw * x)

    def kl_rows(q, p):  # by hand, model q first: the bound's direction
        return q * np.log(q / p) + (1 - q) * np.log((1 - q) / (1 - p))

    assert b["weak_err"] == pytest.approx(kl_rows(weak, truth).mean(), rel=1e-9)
    assert b["student_err"] == pytest.approx(kl_rows(student, truth).mean(), rel=1e-9)
    assert b["misfit"] == pytest.approx(kl_rows(weak, student).mean(), rel=1e-9)
    # the other direction (truth first) is not the bound's: its relation misses by 1.9e-4 where this one is exact
    assert abs(kl_rows(truth, weak).mean() - kl_rows(truth, student).mean() - kl_rows(student, weak).mean()) > 1e-4
    assert abs(b["slack"]) < 1e-9  # the class is a linear space: the Pythagorean relation is an equality
    # a convex but bounded class [0, 2] still containing c*: the projection hits the boundary, slack > 0
    c_box = _kl_projection(x, weak, 0.0, 2.0)
    assert c_box == 2.0 < c_sw
    box = misfit_bound(truth, weak, _sigmoid(c_box * x))
    assert box["slack"] > 1e-4
    # a student that is not the projection (overshoots) breaks the inequality: the test can fail
    assert misfit_bound(truth, weak, _sigmoid((c_sw + 1.0) * x))["slack"] < 0
    # hard ground truth: only a diagnostic, but finite
    hard = misfit_bound((truth > 0.5).astype(float), weak, _sigmoid(c_sw * x))
    assert all(math.isfinite(v) for v in hard.values())


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
    assert out["test_balanced"] is True and out["majority_acc"] == 0.5
    assert out["weak_acc"] == pytest.approx(accuracy(w, y, balanced=True))
    assert out["weak_acc"] != pytest.approx(accuracy(w, y), abs=1e-6)  # y is not exactly balanced
    assert out["pgr_acc"] == pytest.approx(pgr(out["weak_acc"], out["ceiling_acc"], out["student_acc"]))
    assert out["pgr_auroc"] == pytest.approx(pgr_with_ci(y, w, c, s, "auroc", 200).value)
    assert out["pgr_acc_ci_low"] == pytest.approx(pgr_with_ci(y, w, c, s, n_boot=200, balanced=True).ci_low)
    plain = evaluate(y, w, c, s, n_boot=200, balance_test=False)
    assert plain["weak_acc"] == pytest.approx(accuracy(w, y)) and plain["test_balanced"] is False
    assert plain["pgr_acc_ci_low"] == pytest.approx(pgr_with_ci(y, w, c, s, n_boot=200).ci_low)
    assert out["weak_acc_ci_low"] < out["weak_acc"] < out["weak_acc_ci_high"]
    assert out["agree_test_weak_wrong"] == pytest.approx(agreement(s, w, y)["weak_wrong"])
    assert out["ceiling_agree_test_weak_wrong"] == pytest.approx(agreement(c, w, y)["weak_wrong"])
    assert out["agree_transfer_all"] == pytest.approx(agreement(ts, tw, ty)["all"])
    assert out["ceiling_agree_transfer_all"] is None  # no ceiling_transfer given
    assert out["misfit_test_diagnostic"] == pytest.approx(kl(w, s)) and "misfit_test" not in out
    assert out["weak_logloss_test"] == pytest.approx(-np.mean(y * np.log(w) + (1 - y) * np.log(1 - w)))
    # on B, the bound's terms: misfit KL(weak || student), errors KL(model || labels) with labels clipped to 1e-7
    def kl_rows(q, p):
        return q * np.log(q / p) + (1 - q) * np.log((1 - q) / (1 - p))

    assert out["misfit_transfer"] == pytest.approx(kl_rows(tw, ts).mean())
    tc = np.clip(ty, 1e-7, 1 - 1e-7)
    err = {"weak": kl_rows(tw, tc).mean(), "student": kl_rows(ts, tc).mean()}
    assert out["weak_err_transfer"] == pytest.approx(err["weak"])
    assert out["student_err_transfer"] == pytest.approx(err["student"])
    assert out["student_err_transfer"] > 2 * kl(ty, ts)  # not the cross-entropy (the labels-first KL)
    assert out["misfit_slack_transfer"] == pytest.approx(err["weak"] - out["misfit_transfer"] - err["student"])
    assert out["misfit_slack_ceiling_transfer"] is None  # no ceiling_transfer given
    assert not any("_kl_" in k for k in out)
    assert not any("sq_err" in k for k in out)
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


def test_bootstrap_shapes_at_scale():
    """(Its speed is measured in benchmarks/, not asserted here: a loaded CI machine is no stopwatch.)"""
    y, w, c, s = _experiment(1000)
    boot = paired_bootstrap(y, [w, c, s], n_boot=1000, seed=0)
    assert boot["accuracy"].shape == boot["auroc"].shape == (3, 1000)
    p = boot["accuracy"][0].mean()  # the binomial sd of an accuracy p on 1000 rows
    assert np.isfinite(boot["accuracy"]).all()
    assert boot["accuracy"][0].std() == pytest.approx(np.sqrt(p * (1 - p) / 1000), rel=0.15)


# ---------------------------------------------------------------- class-balanced accuracy


def test_balanced_accuracy_is_mean_per_class_recall_by_hand():
    labels = [1, 1, 1, 1, 0, 0]
    probs = [0.9, 0.8, 0.7, 0.2, 0.4, 0.6]  # positives: 3/4 right; negatives: 1/2 right
    assert accuracy(probs, labels) == pytest.approx(4 / 6)
    assert accuracy(probs, labels, balanced=True) == pytest.approx((3 / 4 + 1 / 2) / 2)
    sk = pytest.importorskip("sklearn.metrics")
    assert accuracy(probs, labels, balanced=True) == pytest.approx(
        sk.balanced_accuracy_score(labels, (np.array(probs) > 0.5).astype(int)))
    assert majority_accuracy(labels, balanced=True) == 0.5
    assert majority_accuracy(labels) == pytest.approx(4 / 6)
    out = evaluate(labels, probs, probs, probs, n_boot=20)
    assert out["majority_acc"] == 0.5 and out["test_pos_frac"] == pytest.approx(4 / 6)
    assert out["weak_acc"] == pytest.approx(0.625)
    plain = evaluate(labels, probs, probs, probs, n_boot=20, balance_test=False)
    assert plain["majority_acc"] == pytest.approx(4 / 6) and plain["weak_acc"] == pytest.approx(4 / 6)


def test_constant_majority_predictor_gets_half_when_balanced():
    labels = np.array([1] * 80 + [0] * 20)
    always_yes = np.full(100, 0.9)
    assert accuracy(always_yes, labels) == pytest.approx(0.8)
    assert accuracy(always_yes, labels, balanced=True) == pytest.approx(0.5)
    # a weak model right on 70 positives and 15 negatives: 0.85 plain (above the 0.8 majority share) ...
    weak = np.r_[np.full(70, 0.9), np.full(10, 0.1), np.full(15, 0.1), np.full(5, 0.9)]
    out = evaluate(labels, always_yes, weak, weak, n_boot=50, balance_test=False)
    assert out["weak_acc"] == pytest.approx(0.8) and out["majority_acc"] == pytest.approx(0.8)
    assert out["weak_below_majority"] is False  # equal is not below
    below = evaluate(labels, np.full(100, 0.1), weak, weak, n_boot=50, balance_test=False)
    assert below["weak_acc"] == pytest.approx(0.2) and below["weak_below_majority"] is True
    assert below["ceiling_below_majority"] is False
    bal = evaluate(labels, always_yes, weak, weak, n_boot=50)
    assert bal["weak_acc"] == pytest.approx(0.5) and bal["majority_acc"] == 0.5
    assert bal["ceiling_acc"] == pytest.approx((70 / 80 + 15 / 20) / 2)


def test_balanced_accuracy_boot_uses_each_resamples_class_counts():
    rng = np.random.default_rng(4)
    y = (rng.random(60) < 0.2).astype(int)  # imbalanced, so some resamples differ a lot in class mix
    p = rng.random(60)
    counts = resample_counts(60, 200, 5)
    fast = balanced_accuracy_boot(p, y, counts)
    assert np.array_equal(fast, accuracy_boot(p, y, counts, balanced=True))
    for b in range(200):
        idx = np.repeat(np.arange(60), counts[b])
        assert fast[b] == pytest.approx(accuracy(p[idx], y[idx], balanced=True), abs=1e-12)
    boot = paired_bootstrap(y, [p], n_boot=200, seed=5, metrics=("accuracy",), balanced=True)["accuracy"][0]
    assert np.allclose(boot, fast)
    # one class only in a resample: that class's recall; empty: NaN
    one = balanced_accuracy_boot(np.array([0.9, 0.2]), np.array([1, 1]), np.array([[2, 0], [1, 1], [0, 0]]))
    assert one[0] == 1.0 and one[1] == 0.5 and math.isnan(one[2])


# ---------------------------------------------------------------- per-question accuracy


def _mc_example():
    """Three questions (one right, one wrong, one tied at the top), a question whose positive is the unique
    max among tied negatives, a singleton and a two-positive group (both not questions)."""
    groups = ["q1"] * 3 + ["q2"] * 2 + ["q3"] * 3 + ["q4"] * 3 + ["single"] + ["two_pos"] * 2
    labels = [0, 1, 0] + [0, 1] + [1, 0, 0] + [1, 0, 0] + [1] + [1, 1]
    probs = [0.2, 0.9, 0.1] + [0.8, 0.3] + [0.7, 0.7, 0.1] + [0.6, 0.2, 0.2] + [0.9] + [0.4, 0.6]
    return np.array(probs), np.array(labels), groups


def test_per_question_correct_by_hand_including_a_tie():
    probs, labels, groups = _mc_example()
    assert per_question_correct(probs, labels, groups).tolist() == [True, False, False, True]
    assert question_coverage(labels, groups) == (4, pytest.approx(11 / 14))
    # a positive that ties with a negative counts as wrong even though argmax might pick it
    assert per_question_correct([0.5, 0.5], [1, 0], ["a", "a"]).tolist() == [False]
    assert per_question_correct([0.5, 0.5], [0, 1], ["a", "a"]).tolist() == [False]
    with pytest.raises(ValueError, match="same length"):
        per_question_correct(probs, labels, groups[:-1])


def test_evaluate_per_question_accuracy_and_its_pgr():
    probs, labels, groups = _mc_example()
    ceiling = probs.copy()
    ceiling[[3, 4, 6]] = [0.1, 0.9, 0.2]  # q2 and q3 right: all four questions right
    out = evaluate(labels, probs, ceiling, probs, test_groups=groups, n_boot=200)
    assert out["n_questions"] == 4 and out["q_coverage"] == pytest.approx(11 / 14)
    assert out["weak_q_acc"] == pytest.approx(0.5) and out["ceiling_q_acc"] == 1.0
    assert out["student_q_acc"] == pytest.approx(0.5)
    assert out["pgr_q_acc"] == pytest.approx(0.0) and out["gap_q_acc"] == pytest.approx(0.5)
    assert out["weak_q_acc_ci_low"] <= 0.5 <= out["weak_q_acc_ci_high"]
    # 4 questions: in many resamples weak == ceiling, so the PGR CI is unbounded and flagged
    assert out["pgr_q_acc_ci_low"] is None and out["unstable_q_acc"] is True
    assert "PGR CI unbounded" in out["pgr_q_acc_reason"] and out["pgr_q_acc_frac_undefined"] > 0.025
    sup = supervisor_metrics(labels, ceiling, test_groups=groups)
    assert sup["supervisor_q_acc"] == 1.0


def test_question_keys_are_none_for_singleton_groups_or_no_groups():
    y, w, c, s = _experiment(200)
    q_keys = [k for k in evaluate(y, w, c, s, test_groups=[str(i) for i in range(200)], n_boot=20)
              if "q_acc" in k or k in ("n_questions", "q_coverage")]
    assert {"pgr_q_acc", "pgr_q_acc_ci_low", "pgr_q_acc_ci_high", "gap_q_acc", "gap_q_acc_ci_low",
            "gap_q_acc_ci_high", "pgr_q_acc_reason", "pgr_q_acc_frac_undefined", "unstable_q_acc",
            "weak_q_acc", "student_q_acc_ci_high", "n_questions"} <= set(q_keys)
    for groups in ([str(i) for i in range(200)], None):
        out = evaluate(y, w, c, s, test_groups=groups, n_boot=20)
        assert out["n_questions"] == 0
        assert all(out[k] is None for k in q_keys if k not in ("n_questions", "q_coverage"))
    # questions covering less than half of T: not judged per question
    few = [f"q{i // 2}" if i < 60 else str(i) for i in range(200)]
    y2 = y.copy()
    y2[:60] = np.tile([1, 0], 30)
    assert evaluate(y2, w, c, s, test_groups=few, n_boot=20)["n_questions"] == 0
    assert evaluate(y2, w, c, s, test_groups=few, n_boot=20)["q_coverage"] == pytest.approx(0.3)


# ---------------------------------------------------------------- honest PGR CIs


def test_pgr_ci_unbounded_when_many_resamples_have_no_gap():
    labels, weak, ceiling, student = nested_case(200, 100, 102, 101)  # P(no gap) ~ (198/200)^200 ~ 13%
    r = pgr_with_ci(labels, weak, ceiling, student, n_boot=1000)
    assert r.value == pytest.approx(0.5) and 0.05 < r.frac_undefined < 0.3
    assert r.ci_low == -math.inf and r.ci_high == math.inf and r.unstable
    d = r.to_dict()
    assert d["ci_low"] is None and d["ci_high"] is None and d["value"] == pytest.approx(0.5)
    assert f"PGR CI unbounded: {r.frac_undefined:.1%} of resamples have ceiling ≤ weak" in r.reason
    json.dumps(d, allow_nan=False)
    out = evaluate(labels, weak, ceiling, student, n_boot=1000)
    assert out["pgr_acc"] == pytest.approx(0.5) and out["pgr_acc_ci_low"] is None
    assert out["pgr_acc_ci_high"] is None and "unbounded" in out["pgr_acc_reason"]
    assert fmt_pgr(out) == "0.50 [-inf, +inf] unstable"


def test_pgr_ci_finite_and_covering_when_gap_is_large():
    labels, weak, ceiling, student = nested_case(1000, 600, 800, 700)
    r = pgr_with_ci(labels, weak, ceiling, student, n_boot=1000)
    assert r.frac_undefined == 0.0 and r.reason is None and not r.unstable
    assert math.isfinite(r.ci_low) and math.isfinite(r.ci_high) and r.ci_low < 0.5 < r.ci_high


def test_pgr_ci_counts_undefined_resamples_at_the_ends():
    labels, weak, ceiling, student = nested_case(200, 100, 104, 102)  # P(no gap) ~ e^-4 ~ 1.8% < 2.5%
    r = pgr_with_ci(labels, weak, ceiling, student, n_boot=2000, seed=1)
    boot = paired_bootstrap(labels, [weak, ceiling, student], n_boot=2000, seed=1, metrics=("accuracy",))
    bw, bc, bs = boot["accuracy"]
    ok = bc - bw > 0
    assert r.frac_undefined == pytest.approx(1 - ok.mean()) and 0 < r.frac_undefined < 0.025
    pgrs = (bs - bw) / np.where(ok, bc - bw, 1)
    assert r.ci_low == np.percentile(np.where(ok, pgrs, -np.inf), 2.5, method="lower")
    assert r.ci_high == np.percentile(np.where(ok, pgrs, np.inf), 97.5, method="higher")
    truncated_low, truncated_high = np.percentile(pgrs[ok], [2.5, 97.5])
    assert r.ci_low <= truncated_low and r.ci_high >= truncated_high  # wider than the old truncated CI
    assert math.isfinite(r.ci_low) and math.isfinite(r.ci_high)


# ---------------------------------------------------------------- summarize


def _rec(seed, pgr_acc, unstable, pgr_auroc=0.5, unstable_auroc=False, weak_acc=0.7, below=False):
    return {"task": "t", "weak": "a", "strong": "b", "mode": "frozen", "method": "naive", "seed": seed,
            "weak_acc": weak_acc, "ceiling_acc": 0.9, "student_acc": 0.8, "pgr_acc": pgr_acc, "unstable": unstable,
            "pgr_auroc": pgr_auroc, "unstable_auroc": unstable_auroc, "pgr_q_acc": None, "unstable_q_acc": None,
            "majority_acc": 0.5, "weak_below_majority": below, "ceiling_below_majority": False}


def test_summarize_pools_every_seed_and_selects_none_by_its_gap():
    rows = [_rec(0, 0.5, False, weak_acc=0.6), _rec(1, 0.6, False, pgr_auroc=9.0, unstable_auroc=True),
            _rec(2, 5.0, True, weak_acc=0.4, below=True), _rec(3, None, True, pgr_auroc=None)]
    rows[3]["weak_acc"] = 0.95  # ceiling 0.9 < weak: no PGR in this seed, yet it enters the pooled means
    (row,) = summarize(rows, n_boot=200)
    w = np.mean([0.6, 0.7, 0.4, 0.95])
    assert row["pgr_acc_pooled"] == pytest.approx((0.8 - w) / (0.9 - w))  # the PGR of the means, all 4 seeds
    assert row["gap_acc_pooled"] == pytest.approx(0.9 - w) and row["n_seeds"] == 4
    assert row["pgr_acc_ci_levels"] == "seeds"  # hand-made rows carry no test outcomes
    # beside it: the mean of the per-seed PGRs where defined, and how many seeds have none
    assert row["pgr_acc_seed_mean"] == pytest.approx(np.mean([0.5, 0.6, 5.0]))
    assert row["pgr_acc_n_undefined"] == 1 and row["n_undefined"] == 1
    assert row["weak_acc_mean"] == pytest.approx(w) and row["weak_acc_n"] == 4  # accuracies: all rows
    assert row["majority_acc_mean"] == 0.5 and row["n_weak_below_majority"] == 1
    assert row["n_ceiling_below_majority"] == 0 and row["n_unstable"] == 2
    # the gaps over seeds [0.3, 0.2, 0.5, -0.05]: resolved (the seeds-only bootstrap's mean gap stays > 0)
    assert row["pgr_acc_resolved"] and row["gap_acc_pooled_ci_low"] > 0
    assert fmt_pooled(row) == (f"{row['pgr_acc_pooled']:.2f} [{row['pgr_acc_pooled_ci_low']:.2f}, "
                               f"{row['pgr_acc_pooled_ci_high']:.2f}]")
    # gaps [0.3, -0.2]: not resolved, and no number is printed
    (two,) = summarize([rows[0], {**rows[3], "weak_acc": 1.1}], n_boot=200)
    assert not two["pgr_acc_resolved"] and fmt_pooled(two) == "gap not resolved (gap 0.050 [-0.200, 0.300])"
    # a gap whose whole CI is below 0 prints no PGR either, and says why
    from w2sg.metrics.pooled import fmt_pooled_parts

    assert fmt_pooled_parts(-3.0, -9.0, 1.0, False, -0.075, -0.121, -0.028) == (
        "gap not resolved (gap -0.075 [-0.121, -0.028]: ceiling below weak)")
    assert fmt_mean_sd(row, "weak_acc") == f"{row['weak_acc_mean']:.3f} ± {row['weak_acc_sd']:.3f}"


def test_the_pooled_pgr_does_not_inflate_where_a_stable_seeds_mean_does():
    """The issue's simulation: true PGR 0.20, |T| = 500, independent errors. Keeping only seeds whose gap CI
    excludes 0 selects on PGR's denominator and inflates the mean; the pooled PGR over all seeds does not."""
    rng = np.random.default_rng(0)
    n, rows = 500, []
    for seed in range(60):
        y = rng.integers(0, 2, n)

        def model(acc, y=y):
            return np.where(rng.random(n) < acc, y, 1 - y).astype(float)

        p = {"weak": model(0.70), "ceiling": model(0.75), "student": model(0.71)}  # true PGR 0.01 / 0.05
        r = pgr_with_ci(y, p["weak"], p["ceiling"], p["student"], n_boot=200, seed=seed)
        rows.append({"task": "t", "weak": "a", "strong": "b", "mode": "frozen", "method": "naive", "seed": seed,
                     "weak_acc": r.weak, "ceiling_acc": r.ceiling, "student_acc": r.student, "pgr_acc": r.value,
                     "unstable": r.unstable})
    kept = [r["pgr_acc"] for r in rows if stable(r, "pgr_acc")]
    (row,) = summarize(rows, n_boot=200)
    assert 0.1 < len(kept) / len(rows) < 0.7 and np.mean(kept) > 0.25  # the selection inflates
    assert abs(row["pgr_acc_pooled"] - 0.2) < 0.08 and row["pgr_acc_resolved"]
    assert row["pgr_acc_pooled_ci_low"] < 0.2 < row["pgr_acc_pooled_ci_high"]


def test_labeller_comparison_by_hand():
    from w2sg.metrics.experiment import labeller_comparison

    y = np.array([1, 0] * 10)
    right = y.astype(float)
    wrong = 1 - right

    def mix(k):  # right on the first k rows
        return np.concatenate([right[:k], wrong[k:]])

    # floor 0.5, labeller 0.6, ceiling 1.0, student 0.8 (plain accuracy): gain 0.1, PGR vs labeller 0.5
    out = labeller_comparison(y, mix(10), mix(12), right, mix(16), balanced=False, n_boot=200)
    assert out["supervisor_gain"] == pytest.approx(0.1)
    assert out["supervisor_pgr"] == pytest.approx((0.8 - 0.6) / (1.0 - 0.6))
    assert out["supervisor_gain_ci_low"] <= 0.1 <= out["supervisor_gain_ci_high"]
