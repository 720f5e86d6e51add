"""A testbed must be able to show its claim (DESIGN rule 10): on constructed features where a linear student CAN
represent a supervisor's systematic rule, the synthetic rule supervisor (`errors: region, region_flip: all` on a
nearest-cluster region) and the imitation keys must show the student copying the rule on T far more than a
student trained on random errors at the same accuracy errs on the same rows; where the rule is not
representable they must not.

The features are hand-made (no model): rows fall in two well-separated clusters, the smaller holding exactly
20% of every split. The label is a linear function of 8 label dimensions. `separate`: the small cluster's label
dimensions are its own (a linear head can learn the flipped rule there); `shared`: both clusters use the same
label dimensions (flipping the small cluster's labels is an XOR with cluster membership: not linear)."""

from __future__ import annotations

import numpy as np
import pytest

from w2sg.config import ExperimentSpec
from w2sg.metrics.deception import region_metrics
from w2sg.supervisors.base import SupervisionContext
from w2sg.supervisors.synthetic import SyntheticConfig, synthetic
from w2sg.tasks.schema import Example, Splits
from w2sg.train.convex import choose_l2, solve_head

SIZES = {"weak_train": 50, "transfer": 400, "val": 100, "test": 400, "extra": 100}
DIMS = 8
REGION = {"cluster": {"model": "hand-made", "k": 2, "index": 1, "nearest": True}}  # index 1: the smaller cluster


def _task(layout: str, seed: int = 0):
    """Splits of Examples with ground truth, and each row's hand-made features (by text)."""
    rng = np.random.default_rng(seed)
    w = rng.normal(size=DIMS)
    splits, feats, i = {}, {}, 0
    for role, n in SIZES.items():
        rows = []
        for j in range(n):
            small = j % 5 == 0  # exactly 20% of every split
            z = rng.normal(size=DIMS)
            label = int(z @ w > 0)
            where = np.zeros(2 * DIMS)
            where[DIMS:] = z if small and layout == "separate" else 0
            where[:DIMS] = 0 if small and layout == "separate" else z
            feats[f"r{i}"] = np.concatenate([[12.0 * small], where, 0.05 * rng.normal(size=4)])
            rows.append(Example(id=f"r{i}", group=f"r{i}", text=f"r{i}", label=label))
            i += 1
        splits[role] = rows
    return Splits(**splits), feats


def _context(layout: str, seed: int = 0) -> SupervisionContext:
    splits, feats = _task(layout, seed)

    def unused(*_a, **_k):
        raise AssertionError("the rule and random supervisors need no fitted model")

    return SupervisionContext(ExperimentSpec(seed=seed), splits, f"hand-made-{layout}-{seed}", unused, unused,
                              lambda m: m, lambda m, items: np.stack([feats[t] for t in items]))


def _linear_student(ctx: SupervisionContext, targets: np.ndarray) -> np.ndarray:
    """A linear head on the features (standardised on B), l2 by CV on its own training labels (as the pipeline's
    default student chooses it: on weak labels only); its P(y=1) on T."""
    x_b = ctx.features("hand-made", [r.text for r in ctx.splits.transfer]).astype(np.float64)
    x_t = ctx.features("hand-made", [r.text for r in ctx.splits.test]).astype(np.float64)
    mu, sd = x_b.mean(0), x_b.std(0) + 1e-9
    x_b, x_t = (x_b - mu) / sd, (x_t - mu) / sd
    l2, _ = choose_l2(x_b, targets, seed=ctx.seed)
    head = solve_head(x_b, targets, l2)
    return 1.0 / (1.0 + np.exp(-(x_t @ head.w + head.b)))


def _run(layout: str, cfg: SyntheticConfig, seed: int = 0) -> dict:
    ctx = _context(layout, seed)
    sup = synthetic(cfg, ctx)
    y_b = np.array([r.label for r in ctx.splits.transfer], dtype=np.float64)
    y_t = np.array([r.label for r in ctx.splits.test])
    student = _linear_student(ctx, sup.p["transfer"])
    ceiling = _linear_student(ctx, y_b)
    out = region_metrics(y_t, sup.p["test"], ceiling, student, region_test=sup.p["region_test"], n_boot=0)
    return out | {"meta": sup.meta, "p": sup.p, "truth_test": y_t,
                  "student_acc": float(((student > 0.5) == y_t).mean())}


RULE = SyntheticConfig(errors="region", region=REGION, error_rate=0.2, region_flip="all")
RANDOM = SyntheticConfig(errors="random", region=REGION, error_rate=0.2, match_region=True)  # the region marked


def test_the_rule_supervisor_is_wrong_on_exactly_the_small_cluster_with_the_random_supervisors_accuracy():
    for layout in ("separate", "shared"):
        rule, rnd = _run(layout, RULE), _run(layout, RANDOM)
        small = np.array([j % 5 == 0 for j in range(SIZES["test"])])
        np.testing.assert_array_equal(rule["p"]["region_test"].astype(bool), small)  # the ball is the cluster
        np.testing.assert_array_equal(rnd["p"]["region_test"], rule["p"]["region_test"])  # same rows marked
        wrong_rule = (rule["p"]["test"] > 0.5) != rule["truth_test"]
        np.testing.assert_array_equal(wrong_rule, small)  # deterministic: every region row of T, nothing else
        for role, n in SIZES.items():
            if role == "weak_train":
                continue
            assert rule["meta"]["n_wrong"][role] == rnd["meta"]["n_wrong"][role] == round(0.2 * n)  # matched
        assert rule["meta"]["region_rows"] == round(0.2 * sum(n for r, n in SIZES.items() if r != "weak_train"))
        assert rule["meta"]["region_share_in_cluster"] == 1.0
        # with errors only inside the region, nothing is left to imitate outside it
        assert rule["imitation_test_outside"] is None and rule["n_sup_wrong_outside_test"] == 0
        # the rule's imitation on T is the student's error on the region: agreement with the rule's labels there
        assert rule["imitation_test_region"] == rule["student_err_test_region"]


@pytest.mark.parametrize("seed", [0, 1])
def test_a_linear_student_imitates_a_rule_it_can_represent(seed):
    rule, rnd = _run("separate", RULE, seed), _run("separate", RANDOM, seed)
    # the student trained on the rule copies it on T: it predicts the flipped label on (almost) every region row
    assert rule["imitation_test_region"] >= 0.85, rule["imitation_test_region"]
    # a student trained on random errors at the same accuracy is mostly right there (80 rows of B, 8 dimensions)
    assert rnd["student_err_test_region"] <= 0.25, rnd["student_err_test_region"]
    assert rule["imitation_test_region"] - rnd["student_err_test_region"] >= 0.6
    # outside the region both students are right: the rule costs accuracy only where it holds
    assert rule["student_err_test_outside"] <= 0.1 and rnd["student_err_test_outside"] <= 0.15
    # agreement with random errors' fresh draws on T is just the student's error on those rows
    assert rnd["imitation_test_region"] <= 0.3


@pytest.mark.parametrize("seed", [0, 1])
def test_no_imitation_where_the_rule_is_not_linear_in_the_features(seed):
    rule, rnd = _run("shared", RULE, seed), _run("shared", RANDOM, seed)
    # flipping the small cluster is an XOR with membership: the linear student keeps the shared label direction
    assert rule["imitation_test_region"] <= 0.3, rule["imitation_test_region"]
    assert rule["imitation_test_region"] - rnd["student_err_test_region"] <= 0.15


def test_rule_options_are_checked():
    bad = [({"errors": "region", "region": REGION, "error_rate": 0.2}, "region_flip: all"),
           ({"errors": "region", "region": {"keyword": "x"}, "error_rate": 0.2, "region_flip": "all"},
            "region_error_rate: 1.0"),
           ({"errors": "region", "region": REGION, "region_error_rate": 1.0, "region_flip": "all"},
            "give error_rate, not region_error_rate"),
           ({"errors": "random", "region_flip": "all"}, "does not use region_flip"),
           ({"errors": "random", "error_rate": "midpoint"}, "midpoint needs `model`"),
           ({"errors": "random", "error_rate": 0.2, "model": "minilm"}, "only with error_rate: midpoint"),
           ({"errors": "random", "error_rate": 1.5}, r"\[0, 1\]"),
           ({"errors": "random", "match_region": True}, "match_region: true needs `region`"),
           ({"errors": "region", "region": {"keyword": "x"}, "region_error_rate": 1.0, "match_region": True},
            "does not use match_region")]
    for opts, match in bad:
        with pytest.raises(ValueError, match=match):
            SyntheticConfig(**opts)


def test_midpoint_sets_the_supervisor_halfway_between_the_weak_model_and_the_ceiling():
    ctx0 = _context("separate")
    truth = {role: np.array([r.label for r in getattr(ctx0.splits, role)]) for role in SIZES}
    calls = []

    def fit(model, rows, seed, key):
        """A weak model right on 70% and a ceiling right on 90% of every split (the first rows of each)."""
        calls.append((model, rows, key))
        right = 0.9 if model == ctx0.spec.strong else 0.7
        return {role: np.where(np.arange(len(y)) < round(right * len(y)), y, 1 - y).astype(np.float32)
                for role, y in truth.items() if role != "weak_train"}, {}

    ctx = SupervisionContext(ctx0.spec, ctx0.splits, ctx0.split_key, fit, ctx0.fit_on, ctx0.identity, ctx0.features)
    cfg = SyntheticConfig(errors="random", error_rate="midpoint", model="minilm")
    out = synthetic(cfg, ctx)
    assert [(m, r) for m, r, _ in calls] == [("minilm", ctx.splits.weak_train), ("mpnet", ctx.splits.transfer)]
    assert out.meta["midpoint"] == {"weak_acc": 0.7, "ceiling_acc": 0.9, "n_rows": 200, "rows": "val+extra"}
    assert out.meta["error_rate"] == pytest.approx(0.2)
    for role, n in SIZES.items():
        if role != "weak_train":
            assert out.meta["n_wrong"][role] == round(0.2 * n)
    # the rule supervisor at the midpoint sizes its region by the same resolved rate
    rule = synthetic(SyntheticConfig(errors="region", region=REGION, error_rate="midpoint", model="minilm",
                                     region_flip="all"), ctx)
    assert rule.meta["region_rows"] == round(0.2 * 1000)
    # the supervisor's key names both fits it read
    from w2sg.supervisors.synthetic import _key
    assert _key(cfg, ctx) != _key(SyntheticConfig(errors="random", error_rate=0.2), ctx)
    # midpoint_on: test reads the two models' accuracy on T instead (here 0.6 and 0.8: 30% wrong labels)
    def fit_t(model, rows, seed, key):
        p, meta = fit(model, rows, seed, key)
        right = 0.8 if model == ctx0.spec.strong else 0.6
        y = truth["test"]
        p["test"] = np.where(np.arange(len(y)) < round(right * len(y)), y, 1 - y).astype(np.float32)
        return p, meta

    on_t = synthetic(SyntheticConfig(errors="random", error_rate="midpoint", model="minilm", midpoint_on="test"),
                     SupervisionContext(ctx.spec, ctx.splits, ctx.split_key, fit_t, fit_t, ctx.identity,
                                        ctx.features))
    assert on_t.meta["midpoint"] == {"weak_acc": 0.6, "ceiling_acc": 0.8, "n_rows": 400, "rows": "test"}
    assert on_t.meta["n_wrong"]["test"] == round(0.3 * 400) and on_t.meta["n_wrong"]["transfer"] == round(0.3 * 400)
    with pytest.raises(ValueError, match="only with error_rate: midpoint"):
        SyntheticConfig(errors="random", error_rate=0.2, midpoint_on="test")
    no_held = Splits(ctx.splits.weak_train, ctx.splits.transfer, [], ctx.splits.test, [])
    with pytest.raises(ValueError, match="n_val.*n_extra"):
        synthetic(cfg, SupervisionContext(ctx.spec, no_held, "x", fit, fit, ctx.identity, ctx.features))
