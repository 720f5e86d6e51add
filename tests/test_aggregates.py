"""Aggregates that select nothing by their own result: the cluster bootstrap over test groups, the pooled PGR
over all seeds with its hierarchical CI, and the cross-task statistics."""

import numpy as np
import pytest

from w2sg.metrics import evaluate, pgr_with_ci
from w2sg.metrics.bootstrap import paired_bootstrap
from w2sg.metrics.pooled import Outcomes, pooled_pgr, seed_means


def _duplicated(m: int = 150, seed: int = 0):
    """m questions, each written twice (two identical rows in one group): labels and 3 models' P(y=1)."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, m)
    models = [np.where(rng.random(m) < acc, y, 1 - y) * 0.8 + 0.1 for acc in (0.65, 0.85, 0.75)]
    return y, models


def test_cluster_bootstrap_equals_the_bootstrap_of_the_questions_by_hand():
    y, models = _duplicated()
    dup = np.repeat(np.arange(len(y)), 2)  # row i of the duplicated set is question dup[i]
    groups = [f"q{g}" for g in dup]
    # sorted group ids 'q0', 'q1', 'q10', ...: resampling them draws questions in that order
    order = np.unique(np.array(groups), return_index=True)[1]
    unique_rows = dup[order]
    by_hand = paired_bootstrap(y[unique_rows], [m[unique_rows] for m in models], n_boot=300, seed=3,
                               balanced=True)
    clustered = paired_bootstrap(y[dup], [m[dup] for m in models], n_boot=300, seed=3, balanced=True,
                                 groups=groups)
    for metric in ("accuracy", "auroc"):
        np.testing.assert_allclose(clustered[metric], by_hand[metric], atol=1e-12)
    # treating the two copies as independent rows halves the variance: the i.i.d. CI is too narrow
    iid = paired_bootstrap(y[dup], [m[dup] for m in models], n_boot=300, seed=3, balanced=True)
    assert np.std(iid["accuracy"][1] - iid["accuracy"][0]) < 0.8 * np.std(
        clustered["accuracy"][1] - clustered["accuracy"][0])


def test_experiment_cis_and_the_unstable_flag_follow_the_groups():
    y, models = _duplicated(m=60, seed=1)
    dup = np.repeat(np.arange(len(y)), 2)
    yy, (w, c, s) = y[dup], [m[dup] for m in models]
    groups = [f"q{g}" for g in dup]
    iid, clus = pgr_with_ci(yy, w, c, s, n_boot=500), pgr_with_ci(yy, w, c, s, n_boot=500, groups=groups)
    assert clus.value == iid.value  # the point estimate does not depend on the groups
    assert clus.gap_ci_high - clus.gap_ci_low > 1.25 * (iid.gap_ci_high - iid.gap_ci_low)
    rec = evaluate(yy, w, c, s, n_boot=500, test_groups=groups, balance_test=False)
    assert rec["n_test_groups"] == 60 and rec["gap_acc_ci_low"] == pytest.approx(clus.gap_ci_low)
    # singleton groups are the i.i.d. bootstrap exactly
    rec_iid = evaluate(yy, w, c, s, n_boot=500, test_groups=[str(i) for i in range(len(yy))], balance_test=False)
    assert rec_iid["gap_acc_ci_low"] == pytest.approx(iid.gap_ci_low) and rec_iid["n_test_groups"] == 120


def _seed_outcomes(seed: int, n_q: int = 100, per_q: int = 4, shared_t: bool = False):
    """One seed's T: n_q questions of per_q answers (one right). Each item has a difficulty that every model
    shares (the same T in every seed when `shared_t`, so its noise is common to the seeds)."""
    y = np.zeros(n_q * per_q, dtype=int)
    y[::per_q] = 1
    item = np.random.default_rng(100 if shared_t else 1000 + seed).normal(0, 0.25, len(y))
    rng = np.random.default_rng(seed)
    probs = {r: np.clip(0.3 + y * b + item + rng.normal(0, 0.1, len(y)), 0, 1)
             for r, b in (("weak", 0.15), ("ceiling", 0.45), ("student", 0.3))}
    ids = [f"{'T' if shared_t else seed}-{i}" for i in range(len(y))]
    return Outcomes.build(y, [i.rsplit("-", 1)[0] + f"-q{int(i.rsplit('-', 1)[1]) // per_q}" for i in ids], probs,
                          ids)


def test_hierarchical_bootstrap_resamples_seeds_then_groups():
    from w2sg.metrics.scores import auroc

    outs = [_seed_outcomes(s) for s in range(4)]
    pts = np.array([[auroc(o.probs[r], o.labels) for r in ("weak", "ceiling", "student")] for o in outs])
    means = seed_means(pts, outs, "auroc", n_boot=400)
    p = pooled_pgr(means, "auroc")
    assert p.levels == "seeds+groups" and p.n_seeds == 4 and p.resolved
    want = (pts[:, 2].mean() - pts[:, 0].mean()) / (pts[:, 1].mean() - pts[:, 0].mean())
    assert p.value == pytest.approx(want) and p.ci_low < want < p.ci_high
    # without the group level (no outcomes) the CI only reflects the spread of 4 seeds: narrower here
    seeds_only = pooled_pgr(seed_means(pts, [None] * 4, "auroc", n_boot=400), "auroc")
    assert seeds_only.levels == "seeds" and seeds_only.value == pytest.approx(want)
    assert (p.ci_high - p.ci_low) > (seeds_only.ci_high - seeds_only.ci_low)
    # seeds that share one T share its group resample: their test-set noise is not averaged away
    shared = [_seed_outcomes(s, shared_t=True) for s in range(4)]
    assert len({o.test_key for o in shared}) == 1
    pts_s = np.array([[auroc(o.probs[r], o.labels) for r in ("weak", "ceiling", "student")] for o in shared])
    a = seed_means(pts_s, shared, "auroc", n_boot=400)
    b = seed_means(pts_s, [Outcomes(o.labels, o.groups, o.probs, f"own-{i}") for i, o in enumerate(shared)],
                   "auroc", n_boot=400)
    assert np.std(a.boot[1] - a.boot[0]) > 1.3 * np.std(b.boot[1] - b.boot[0])
