"""Aggregates that select nothing by their own result: the cluster bootstrap over test groups, the pooled PGR
over all seeds with its hierarchical CI, and the cross-task statistics."""

import numpy as np
import pytest

from w2sg.metrics import evaluate, pgr_with_ci
from w2sg.metrics.pooled import Outcomes, pooled_pgr, seed_means
from w2sg.metrics.resample import paired_bootstrap


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


# ---- across tasks -----------------------------------------------------------------------------------
def _task_records(task: str, gap: float, lift_a: float, lift_b: float, seeds=range(4), n: int = 400):
    """Records with stored outcomes of two methods on one task: weak 0.65, ceiling 0.65 + gap, students
    0.65 + lift (accuracy of independent errors, n rows in singleton groups)."""
    from w2sg.metrics.scores import accuracy, auroc

    out = []
    for seed in seeds:
        rng = np.random.default_rng(hash((task, seed)) % 2**32)
        y = rng.integers(0, 2, n)
        shared = rng.random(n)

        def model(acc, y=y, shared=shared, rng=rng):
            return np.where(shared < acc, y, 1 - y) * 0.6 + 0.2 + rng.normal(0, 0.01, n)

        w, c = model(0.65), model(0.65 + gap)
        for method, lift in (("a", lift_a), ("b", lift_b)):
            s = model(0.65 + lift)
            o = Outcomes.build(y, None, {"weak": w, "ceiling": c, "student": s},
                               [f"{task}{seed}-{i}" for i in range(n)])
            rec = {"task": task, "weak": "w", "strong": "s", "mode": "frozen", "method": method, "seed": seed,
                   "hash": f"{task}-{seed}-{method}", "test_outcomes": o.to_arrays()}
            for role, p in (("weak", w), ("ceiling", c), ("student", s)):
                rec[f"{role}_acc"], rec[f"{role}_auroc"] = accuracy(p, y, True), auroc(p, y)
            out.append(rec)
    return out


def test_across_tasks_admits_by_the_gap_rule_and_resamples_tasks_seeds_groups():
    from w2sg.report.compare import across_task_records, method_cells

    recs = (_task_records("t1", 0.2, 0.1, 0.1) + _task_records("t2", 0.2, 0.16, 0.1)
            + _task_records("t3", 0.0, 0.05, 0.0))  # t3: no gap, left out by the rule, whatever its PGR
    cells = method_cells(recs, "a", n_boot=300)
    assert all(m.levels == "seeds+groups" and m.n_seeds == 4 for m in cells.values())
    res = across_task_records(recs, "a", stat="median", n_boot=300)
    assert res.tasks == ["t1", "t2"] and "t3" in res.left_out and "gap not resolved" in res.left_out["t3"]
    assert res.value == pytest.approx(np.median(list(res.per_task.values())))
    assert 0.3 < res.per_task["t1"] < 0.7 and 0.6 < res.per_task["t2"] < 1.0
    assert res.ci_low < res.value < res.ci_high


def test_compare_gives_a_verdict_that_follows_the_paired_difference():
    from w2sg.report.compare import compare_records

    recs = [*_task_records("t1", 0.2, 0.15, 0.05), *_task_records("t2", 0.2, 0.14, 0.04),
            *_task_records("t3", 0.25, 0.2, 0.1)]
    res, notes = compare_records(recs, "a", "b", n_boot=300)
    assert not notes and [t.task for t in res.tasks] == ["t1", "t2", "t3"]
    for t in res.tasks:
        assert t.verdict == "a better" and t.diff_student_ci[0] > 0 and t.gap_resolved
        assert t.diff_pgr == pytest.approx(t.diff_student / (0.2 if t.task != "t3" else 0.25), abs=0.15)
    assert res.verdict == "a better" and res.diff_pgr_ci[0] > 0 and res.wilcoxon_p is not None
    # the same method on both sides: a difference of exactly 0, never resolved
    same = [dict(r, method="b") if r["method"] == "a" else dict(r, method="a") for r in recs]
    flipped, _ = compare_records(same, "b", "a", n_boot=300)
    assert [t.diff_student for t in flipped.tasks] == pytest.approx([t.diff_student for t in res.tasks])
    tie = [r for r in recs if r["method"] == "a"] + [dict(r, method="b", hash=r["hash"] + "x")
                                                     for r in recs if r["method"] == "a"]
    even, _ = compare_records(tie, "a", "b", n_boot=300)
    assert all(t.verdict == "not resolved" and t.diff_student == 0 for t in even.tasks)
    assert even.verdict == "not resolved"
    # a seed without a partner is left out and said so
    lone, notes = compare_records([r for r in recs if not (r["method"] == "b" and r["seed"] == 3)], "a", "b",
                                  n_boot=300)
    assert all(t.n_seeds == 3 for t in lone.tasks) and any("seeds [3]" in n for n in notes)


def test_spearman_and_two_level_cis_resample_tasks():
    from w2sg.metrics.across_tasks import spearman_ci, two_level_ci

    x = [1, 2, 3, 4, 5, 6, 7, 8]
    rho, lo, hi = spearman_ci(x, [1, 3, 2, 4, 6, 5, 8, 7], groups=list("aabbccdd"), n_boot=300)
    assert rho == pytest.approx(1 - 6 * 6 / (8 * 63)) and lo <= rho <= hi  # 6 = sum of squared rank gaps
    assert spearman_ci(x, [1, 3, 2, 4, 6, 5, 8, 7], groups=["a"] * 8)[1:] == (None, None)  # one task: no CI
    point, lo, hi = two_level_ci({"t1": [0.1, 0.12, 0.08], "t2": [0.2, 0.22, 0.18]}, n_boot=300)
    assert point == pytest.approx(0.15) and 0.08 <= lo < 0.15 < hi <= 0.22


@pytest.mark.parametrize("balanced", [True, False])
def test_group_count_accuracy_equals_the_row_level_bootstrap(balanced):
    from w2sg.metrics.pooled import _scores
    from w2sg.metrics.resample import accuracy_boot, resample_counts

    o = _seed_outcomes(3)
    o = Outcomes(o.labels, o.groups, o.probs, o.test_key, balanced)
    g = resample_counts(o.n_groups, 200, 7)
    fast = _scores(o, g, "acc", ("weak", "ceiling", "student"))
    rows = np.stack([accuracy_boot(o.probs[r], o.labels, g[:, o.groups], balanced)
                     for r in ("weak", "ceiling", "student")])
    np.testing.assert_allclose(fast, rows, atol=1e-12)


def test_the_deception_region_ci_resamples_whole_test_groups():
    from w2sg.metrics.deception import region_metrics

    y, (w, c, s) = _duplicated(m=200, seed=4)
    dup = np.repeat(np.arange(len(y)), 2)  # every question written twice: its two rows are one unit
    args = (y[dup], w[dup], c[dup], s[dup])
    rows = region_metrics(*args, n_boot=400)
    groups = region_metrics(*args, n_boot=400, test_groups=[f"q{g}" for g in dup])
    assert rows["student_err_weak_blind"] == groups["student_err_weak_blind"]  # the point estimate is the same
    width = {k: r["student_err_weak_blind_ci_high"] - r["student_err_weak_blind_ci_low"]
             for k, r in (("rows", rows), ("groups", groups))}
    assert width["groups"] > 1.2 * width["rows"]  # duplicates counted as independent rows: too narrow
