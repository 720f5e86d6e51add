"""The `synthetic` supervisor's error processes (random, class_conditional, region, degrade), checked against
ground truth on every split, and the student's view of them end to end."""

from __future__ import annotations

import json
import random

import numpy as np
import pytest

from w2sg.config import ExperimentSpec, SplitSpec, TrainSpec
from w2sg.pipeline import Pipeline
from w2sg.pipeline.steps import supervision_context
from w2sg.supervisors import check_supervisor, supervisor_models
from w2sg.supervisors.base import ROLES
from w2sg.supervisors.model import weak_fit_key
from w2sg.supervisors.synthetic import SyntheticConfig, synthetic
from w2sg.tasks import load_task

from .conftest import FitSpy, synthetic_rows

SPLITS = SplitSpec(n_weak_train=100, n_transfer=150, n_val=50, n_test=150, n_extra=60)
KEYWORD = "zebra"
TOPICS = ["cinema", "music", "books"]


def _planted_rows(n: int) -> list[dict]:
    """Reviews with the keyword planted in some rows: as a word in any case (in the region), inside other words
    or glued to letters (not in the region), and a `topic` field for meta."""
    rng = random.Random(5)
    rows = synthetic_rows(n, seed=3)
    for i, r in enumerate(rows):
        words = r["review"].split()
        kind = i % 6
        if kind == 0:
            words.insert(rng.randrange(len(words) + 1), rng.choice(["zebra", "Zebra", "ZEBRA", "zebra.", "(zebra"]))
        elif kind == 1:
            words.insert(rng.randrange(len(words) + 1), rng.choice(["zebras", "zebrafish", "unzebra", "zebra_x"]))
        r["review"] = " ".join(words)
        r["topic"] = TOPICS[i % 3]
    return rows


@pytest.fixture(scope="module")
def planted_task(tmp_path_factory):
    d = tmp_path_factory.mktemp("planted-task")
    rows = _planted_rows(700)
    for name, part in (("pool.jsonl", rows[:500]), ("test.jsonl", rows[500:])):
        with open(d / name, "w") as f:
            for r in part:
                f.write(json.dumps(r) + "\n")
    spec = "name: planted\nfiles: {pool: pool.jsonl, test: test.jsonl}\ntext: '{review}'\nlabel: label\n"
    (d / "task.yaml").write_text(spec + "meta: [topic]\n")
    (d / "plain.yaml").write_text(spec)
    return d / "task.yaml"


def _in_keyword_region(text: str) -> bool:
    return any(w.strip(".()").lower() == KEYWORD for w in text.split())


def _setup(tmp_path, task, strong="mpnet", seed=0):
    pipe = Pipeline(tmp_path / "runs")
    spec = ExperimentSpec(task=str(task), weak={"kind": "synthetic"}, strong=str(strong), seed=seed, splits=SPLITS,
                          train=TrainSpec(cv_folds=3))
    ctx = supervision_context(spec, pipe.res)
    truth = {role: np.array([r.label for r in rows], dtype=bool) for role, rows in
             (("transfer", ctx.splits.transfer), ("val", ctx.splits.val), ("test", ctx.splits.test),
              ("extra", ctx.splits.extra))}
    return pipe, ctx, truth


def _rows(ctx, role):
    return {"transfer": ctx.splits.transfer, "val": ctx.splits.val, "test": ctx.splits.test,
            "extra": ctx.splits.extra}[role]


def _wrong(out, truth):
    return {r: (out.p[r] > 0.5) != truth[r] for r in ROLES}


def test_planted_keyword_region_is_exactly_where_the_errors_are(tmp_path, planted_task):
    _, ctx, truth = _setup(tmp_path, planted_task)
    cfg = SyntheticConfig(errors="region", region={"keyword": KEYWORD}, region_error_rate=1.0)
    out = synthetic(cfg, ctx)
    wrong = _wrong(out, truth)
    for role in ROLES:
        planted = np.array([_in_keyword_region(r.text) for r in _rows(ctx, role)])
        assert len(planted) and 0 < planted.sum() < len(planted)  # every split has rows inside and outside
        np.testing.assert_array_equal(wrong[role], planted)  # wrong on exactly the keyword rows, right elsewhere
        assert out.meta["region_size"][role] == planted.sum() and out.meta["n_wrong"][role] == planted.sum()
        assert set(np.unique(out.p[role])) <= {0.0, 1.0}
    for role in ("test", "transfer"):
        planted = np.array([_in_keyword_region(r.text) for r in _rows(ctx, role)], dtype=np.float32)
        np.testing.assert_array_equal(out.p[f"region_{role}"], planted)
        assert out.p[f"region_{role}"].dtype == np.float32
    assert any("zebras" in r.text or "zebrafish" in r.text for r in ctx.splits.transfer)  # near misses exist
    assert out.meta["errors"] == "region" and out.meta["region"] == "keyword=zebra"


def test_keyword_list_and_confidence(tmp_path, planted_task):
    _, ctx, truth = _setup(tmp_path, planted_task)
    out = synthetic(SyntheticConfig(errors="region", region={"keyword": ["ZEBRAFISH", "unzebra"]},
                                    region_error_rate=1.0, confidence=0.8), ctx)
    for role in ROLES:
        texts = [r.text.lower().split() for r in _rows(ctx, role)]
        inside = np.array([("zebrafish" in t) or ("unzebra" in t) for t in texts])
        np.testing.assert_array_equal((out.p[role] > 0.5) != truth[role], inside)
        np.testing.assert_allclose(out.p[role], np.where(truth[role] ^ inside, 0.8, 0.2), rtol=1e-6)


def test_error_rate_gives_the_same_accuracy_for_random_and_region_errors(tmp_path, planted_task):
    _, ctx, truth = _setup(tmp_path, planted_task)
    rnd = synthetic(SyntheticConfig(errors="random", error_rate=0.2), ctx)
    reg = synthetic(SyntheticConfig(errors="region", region={"length": [8, None]}, error_rate=0.2), ctx)
    w_rnd, w_reg = _wrong(rnd, truth), _wrong(reg, truth)
    for role in ROLES:
        n = len(truth[role])
        assert w_rnd[role].sum() == w_reg[role].sum() == round(0.2 * n)  # matched accuracy, exactly
        long_rows = np.array([len(r.text.split()) >= 8 for r in _rows(ctx, role)])
        assert not (w_reg[role] & ~long_rows).any()  # region errors only inside the region
        if role == "transfer":
            assert (w_rnd[role] & ~long_rows).any()  # random errors are not confined to it
        assert rnd.meta["error_share"][role] == reg.meta["error_share"][role] == round(round(0.2 * n) / n, 4)
    again = synthetic(SyntheticConfig(errors="random", error_rate=0.2), ctx)  # seeded: the same rows
    for role in ROLES:
        np.testing.assert_array_equal(again.p[role], rnd.p[role])


def test_class_conditional_realises_its_rates_exactly(tmp_path, planted_task):
    _, ctx, truth = _setup(tmp_path, planted_task)
    out = synthetic(SyntheticConfig(errors="class_conditional", flip_pos=0.3, flip_neg=0.1), ctx)
    wrong = _wrong(out, truth)
    for role in ROLES:
        y = truth[role]
        assert wrong[role][y].sum() == round(0.3 * y.sum())
        assert wrong[role][~y].sum() == round(0.1 * (~y).sum())
    only_pos = _wrong(synthetic(SyntheticConfig(errors="class_conditional", flip_pos=0.5), ctx), truth)
    for role in ROLES:
        assert only_pos[role][~truth[role]].sum() == 0  # flip_neg not given: 0


def test_degrade_reaches_the_target_accuracy_on_every_split(tmp_path, planted_task, tiny_encoder):
    _, ctx, truth = _setup(tmp_path, planted_task)
    model = str(tiny_encoder)
    base, _ = ctx.fit(model, ctx.splits.weak_train, ctx.seed, weak_fit_key(ctx, model))  # the same cached fit
    acc = {r: float(((base[r] > 0.5) == truth[r]).mean()) for r in ROLES}
    target = 0.5
    assert all(a > target for a in acc.values()), acc
    out = synthetic(SyntheticConfig(errors="degrade", model=model, accuracy=target), ctx)
    for role in ROLES:
        n = len(truth[role])
        right = (out.p[role] > 0.5) == truth[role]
        assert right.sum() == round(target * n)  # plain accuracy round(accuracy * n) / n
        turned = ~np.isclose(out.p[role], base[role])
        np.testing.assert_allclose(out.p[role][turned], 1 - base[role][turned], atol=1e-6)  # 1 - p when flipped
        assert not (turned & ((base[role] > 0.5) != truth[role])).any()  # only rows it got right are turned
    assert out.meta["at_or_below_target"] == []
    # a target above the model's accuracy leaves every split as it is, and says so
    top = synthetic(SyntheticConfig(errors="degrade", model=model, accuracy=1.0), ctx)
    assert top.meta["at_or_below_target"] == list(ROLES)
    for role in ROLES:
        np.testing.assert_array_equal(top.p[role], base[role])


def test_a_region_too_small_for_the_error_rate_is_an_error_naming_it(tmp_path, planted_task):
    _, ctx, _ = _setup(tmp_path, planted_task)
    sizes = {r: sum(_in_keyword_region(x.text) for x in _rows(ctx, r)) for r in ROLES}
    most = min(np.floor(sizes[r] / len(_rows(ctx, r)) * 1e4) / 1e4 for r in ROLES)
    with pytest.raises(ValueError) as e:
        synthetic(SyntheticConfig(errors="region", region={"keyword": KEYWORD}, error_rate=0.5), ctx)
    msg = str(e.value)
    assert "keyword=zebra" in msg and "too small" in msg
    assert f"transfer: {sizes['transfer']} of {len(ctx.splits.transfer)} rows" in msg
    assert f"error_rate <= {most:g}" in msg and "region_error_rate" in msg
    out = synthetic(SyntheticConfig(errors="region", region={"keyword": KEYWORD}, error_rate=most), ctx)
    assert all(out.meta["n_wrong"][r] <= sizes[r] for r in ROLES)  # the largest rate it allows runs


def test_length_region_selects_by_word_count(tmp_path, planted_task):
    _, ctx, truth = _setup(tmp_path, planted_task)
    out = synthetic(SyntheticConfig(errors="region", region={"length": [5, 9]}, region_error_rate=1.0), ctx)
    for role in ROLES:
        words = np.array([len(r.text.split()) for r in _rows(ctx, role)])
        inside = (words >= 5) & (words < 9)
        assert 0 < inside.sum() < len(inside)
        np.testing.assert_array_equal((out.p[role] > 0.5) != truth[role], inside)


def test_cluster_region_is_the_largest_kmeans_cluster(tmp_path, planted_task, tiny_encoder):
    from sklearn.cluster import KMeans

    _, ctx, truth = _setup(tmp_path, planted_task, seed=1)
    region = {"cluster": {"model": str(tiny_encoder), "k": 3, "index": 0}}
    out = synthetic(SyntheticConfig(errors="region", region=region, region_error_rate=1.0), ctx)
    rows = [r for role in ROLES for r in _rows(ctx, role)]
    x = ctx.features(str(tiny_encoder), [r.item for r in rows])
    assert isinstance(x, np.ndarray) and x.shape[0] == len(rows)
    labels = KMeans(n_clusters=3, random_state=1, n_init=10).fit_predict(x.astype(np.float64))
    largest = labels == np.bincount(labels).argmax()
    start = 0
    for role in ROLES:
        n = len(truth[role])
        np.testing.assert_array_equal((out.p[role] > 0.5) != truth[role], largest[start:start + n])
        start += n
    np.testing.assert_array_equal(out.p["region_test"], largest[len(ctx.splits.transfer) + len(ctx.splits.val):][
        :len(ctx.splits.test)])
    sizes = out.meta["cluster_sizes"]
    assert sizes == sorted(sizes, reverse=True) and sum(sizes) == len(rows)
    assert sum(out.meta["region_size"].values()) == sizes[0]
    smallest = synthetic(SyntheticConfig(errors="region", region={**region, "cluster": {**region["cluster"],
                                                                                         "index": 2}},
                                         region_error_rate=1.0), ctx)
    assert sum(smallest.meta["region_size"].values()) == sizes[2]


def test_field_region_reads_the_rows_meta(tmp_path, planted_task):
    data = load_task(str(planted_task))
    assert data.pool[0].meta == (("topic", "cinema"),) and data.pool[1].meta_dict == {"topic": "music"}
    plain = load_task(str(planted_task.with_name("plain.yaml")))
    assert plain.pool[0].meta is None and plain.fingerprint != data.fingerprint  # meta is part of the rows
    _, ctx, truth = _setup(tmp_path, planted_task)
    out = synthetic(SyntheticConfig(errors="region", region={"field": {"topic": "books"}}, region_error_rate=1.0),
                    ctx)
    for role in ROLES:
        inside = np.array([r.meta_dict["topic"] == "books" for r in _rows(ctx, role)])
        np.testing.assert_array_equal((out.p[role] > 0.5) != truth[role], inside)
    _, ctx_plain, _ = _setup(tmp_path / "plain", planted_task.with_name("plain.yaml"))
    with pytest.raises(ValueError, match="no meta field 'topic'.*`meta:`"):
        synthetic(SyntheticConfig(errors="region", region={"field": {"topic": "books"}}, region_error_rate=1.0),
                  ctx_plain)


def test_weak_wrong_region_is_where_the_weak_model_errs(tmp_path, planted_task, tiny_encoder):
    _, ctx, truth = _setup(tmp_path, planted_task)
    model = str(tiny_encoder)
    base, _ = ctx.fit(model, ctx.splits.weak_train, ctx.seed, weak_fit_key(ctx, model))
    out = synthetic(SyntheticConfig(errors="region", region={"weak_wrong": model}, region_error_rate=1.0), ctx)
    for role in ROLES:
        np.testing.assert_array_equal((out.p[role] > 0.5) != truth[role], (base[role] > 0.5) != truth[role])


def test_options_are_checked_before_any_work_and_models_are_listed(tiny_encoder):
    def spec(**weak):
        return ExperimentSpec(weak={"kind": "synthetic", **weak})

    bad = [({"errors": "region", "region": {"length": [8, None]}}, "exactly one of error_rate"),
           ({"errors": "region", "region": {"length": [8, None]}, "error_rate": 0.1, "region_error_rate": 0.5},
            "exactly one of error_rate"),
           ({"errors": "region", "error_rate": 0.1}, "needs `region`"),
           ({"errors": "region", "region": {"keyword": "a", "length": [0, 3]}, "error_rate": 0.1},
            "exactly one of keyword, length"),
           ({"errors": "region", "region": {"length": [5, 2]}, "error_rate": 0.1}, "0 <= lo < hi"),
           ({"errors": "region", "region": {"cluster": {"model": "x", "k": 2, "index": 2}}, "error_rate": 0.1},
            "out of range"),
           ({"errors": "region", "region": {"topic": "x"}, "error_rate": 0.1}, "topic"),
           ({"errors": "degrade", "model": "minilm"}, "degrade needs model"),
           ({"errors": "degrade", "model": "minilm", "accuracy": 0.7, "confidence": 0.9}, "does not use confidence"),
           ({"errors": "class_conditional"}, "flip_pos"),
           ({"flip_pos": 0.2}, "random does not use flip_pos"),
           ({"errors": "noise"}, "errors")]
    for weak, match in bad:
        with pytest.raises(ValueError, match=match):
            check_supervisor(spec(**weak))
    assert supervisor_models(spec()) == []
    assert supervisor_models(spec(errors="degrade", model="minilm", accuracy=0.7)) == ["minilm"]
    assert supervisor_models(spec(errors="region", region={"weak_wrong": "minilm"}, error_rate=0.1)) == ["minilm"]
    cluster = {"cluster": {"model": str(tiny_encoder), "k": 4}}
    assert supervisor_models(spec(errors="region", region=cluster, error_rate=0.1)) == [str(tiny_encoder)]
    check_supervisor(spec(errors="region", region={"field": {"year": 2019}}, region_error_rate=0.5))  # a number


def test_the_student_learns_the_supervisors_labels_never_ground_truth(tmp_path, tiny_encoder, synthetic_task,
                                                                      monkeypatch):
    import w2sg.pipeline.steps as steps

    seen = []
    real = steps.run_method

    def spy_method(stages, ctx, transfer, val):
        seen.append((transfer, val))
        return real(stages, ctx, transfer, val)

    monkeypatch.setattr(steps, "run_method", spy_method)
    pipe = Pipeline(tmp_path / "runs")
    spy = FitSpy(pipe)
    weak = {"kind": "synthetic", "errors": "region", "region": {"keyword": "movie"}, "region_error_rate": 1.0}
    spec = ExperimentSpec(task=str(synthetic_task), weak=weak, strong=str(tiny_encoder), seed=0,
                          splits=SplitSpec(n_weak_train=150, n_transfer=200, n_val=50, n_test=200))
    rec = pipe.run(spec)
    assert rec["supervisor_kind"] == "synthetic"
    sup = pipe.weak_step(spec)
    splits = pipe.splits(spec)
    # the rule (every "movie" row flipped) holds on T too, and the record measures the student against it there
    y_test = np.array([r.label for r in splits.test])
    movie_test = np.array([_has_word(r.text, "movie") for r in splits.test])
    np.testing.assert_array_equal((sup["test"] > 0.5) != y_test, movie_test)
    student = pipe.cache.load("student", pipe.keys(spec)["student"])[0]["test"]
    copied = (student > 0.5) == (sup["test"] > 0.5)
    assert rec["n_sup_wrong_region_test"] == movie_test.sum() and rec["n_sup_wrong_outside_test"] == 0
    assert rec["imitation_test_region"] == pytest.approx(copied[movie_test].mean())
    assert rec["student_err_test_region"] == pytest.approx(rec["imitation_test_region"])  # a rule: the same
    assert rec["student_err_test_outside"] == pytest.approx(((student > 0.5) != y_test)[~movie_test].mean())
    y = np.array([r.label for r in splits.transfer])
    flipped = (sup["transfer"] > 0.5) != y
    movie = np.array([_has_word(r.text, "movie") for r in splits.transfer])
    np.testing.assert_array_equal(flipped, movie)
    assert 0 < flipped.sum() < len(y)
    np.testing.assert_array_equal(sup["region_transfer"], movie.astype(np.float32))
    (transfer, val), = seen  # what the method got: items and the supervisor's labels, no ground truth
    assert not hasattr(transfer, "label") and not hasattr(transfer, "labels")
    assert list(transfer.items) == [r.text for r in splits.transfer]
    np.testing.assert_array_equal(transfer.weak_p1, sup["transfer"])
    np.testing.assert_array_equal(val.weak_p1, sup["val"])
    # the learner's fit: ceiling on ground truth, then the student on the supervisor's labels
    (_, c_texts, c_targets), (_, s_texts, s_targets) = spy.calls
    assert s_texts == c_texts and np.array_equal(c_targets, y)
    np.testing.assert_array_equal(s_targets, sup["transfer"])
    assert (s_targets[flipped] != y[flipped]).all() and (s_targets[~flipped] == y[~flipped]).all()


def _has_word(text: str, word: str) -> bool:
    return word in text.lower().split()


def test_random_errors_can_mark_a_region_without_placing_errors_there(tmp_path, planted_task):
    _, ctx, truth = _setup(tmp_path, planted_task)
    marked = synthetic(SyntheticConfig(errors="random", error_rate=0.2, region={"length": [8, None]}), ctx)
    plain = synthetic(SyntheticConfig(errors="random", error_rate=0.2), ctx)
    for role in ROLES:  # the same random errors as without the region
        np.testing.assert_array_equal(marked.p[role], plain.p[role])
    for role in ("test", "transfer"):
        long_rows = np.array([len(r.text.split()) >= 8 for r in _rows(ctx, role)], dtype=np.float32)
        np.testing.assert_array_equal(marked.p[f"region_{role}"], long_rows)
    assert "region_test" not in plain.p
    wrong = _wrong(marked, truth)["transfer"]
    inside = marked.p["region_transfer"].astype(bool)
    assert wrong[inside].any() and wrong[~inside].any()  # errors on both sides of the marked region


def test_a_nearest_cluster_rule_is_a_ball_holding_the_error_rate(tmp_path, planted_task, tiny_encoder):
    from sklearn.cluster import KMeans

    _, ctx, truth = _setup(tmp_path, planted_task, seed=2)
    region = {"cluster": {"model": str(tiny_encoder), "k": 3, "index": 0, "nearest": True}}
    rule = synthetic(SyntheticConfig(errors="region", region=region, error_rate=0.15, region_flip="all"), ctx)
    rows = [r for role in ROLES for r in _rows(ctx, role)]
    x = ctx.features(str(tiny_encoder), [r.item for r in rows]).astype(np.float64)
    km = KMeans(n_clusters=3, random_state=2, n_init=10).fit(x)
    largest = np.bincount(km.labels_).argmax()
    dist = np.linalg.norm(x - km.cluster_centers_[largest], axis=1)
    m = round(0.15 * len(rows))
    inside = dist <= np.sort(dist)[m - 1]  # the m rows nearest the largest cluster's centre
    assert inside.sum() == m == rule.meta["region_rows"]
    assert rule.meta["region_radius"] == pytest.approx(np.sort(dist)[m - 1])
    start = 0
    for role in ROLES:  # every row of the ball wrong, every other row right, on every split
        n = len(truth[role])
        np.testing.assert_array_equal(_wrong(rule, truth)[role], inside[start:start + n])
        start += n
    assert sum(rule.meta["n_wrong"].values()) == m  # the random supervisor's count over B, V, T and extra
    rnd = synthetic(SyntheticConfig(errors="random", region=region, error_rate=0.15), ctx)
    assert sum(rnd.meta["n_wrong"].values()) == sum(round(0.15 * len(truth[r])) for r in ROLES)
    np.testing.assert_array_equal(rnd.p["region_test"], rule.p["region_test"])  # the same ball marked
    # match_region: on every split as many random errors as the ball has rows there: the rule's accuracy exactly
    matched = synthetic(SyntheticConfig(errors="random", region=region, error_rate=0.15, match_region=True), ctx)
    assert matched.meta["n_wrong"] == rule.meta["n_wrong"] == rule.meta["region_size"]
    for role in ROLES:
        wrong = _wrong(matched, truth)[role]
        assert not np.array_equal(wrong, _wrong(rule, truth)[role])  # at random, not on the ball


def test_new_options_at_their_defaults_keep_the_supervisor_keys():
    from w2sg.config import canonical_json

    # written before region_flip and cluster.nearest existed: the serialisation (and so every key) is unchanged
    cfg = SyntheticConfig(errors="region", region={"cluster": {"model": "mpnet", "k": 2, "index": 0}}, error_rate=0.2)
    assert canonical_json(cfg) == (
        '{"accuracy":null,"confidence":1.0,"error_rate":0.2,"errors":"region","flip_neg":null,"flip_pos":null,'
        '"model":null,"region":{"cluster":{"index":0,"k":2,"model":"mpnet"},"field":null,"keyword":null,'
        '"length":null,"weak_wrong":null},"region_error_rate":null}')
    rule = SyntheticConfig(errors="region", region={"cluster": {"model": "mpnet", "k": 2, "nearest": True}},
                           error_rate=0.2, region_flip="all")
    assert '"nearest":true' in canonical_json(rule) and '"region_flip":"all"' in canonical_json(rule)


def test_a_ball_sized_on_t_holds_the_rate_of_t_and_applies_its_radius_everywhere(tmp_path, planted_task,
                                                                                  tiny_encoder):
    from sklearn.cluster import KMeans

    _, ctx, truth = _setup(tmp_path, planted_task, seed=2)
    region = {"cluster": {"model": str(tiny_encoder), "k": 3, "index": 0, "nearest": True, "size_on": "test"}}
    rule = synthetic(SyntheticConfig(errors="region", region=region, error_rate=0.15, region_flip="all"), ctx)
    rows = [r for role in ROLES for r in _rows(ctx, role)]
    x = ctx.features(str(tiny_encoder), [r.item for r in rows]).astype(np.float64)
    km = KMeans(n_clusters=3, random_state=2, n_init=10).fit(x)
    dist = np.linalg.norm(x - km.cluster_centers_[np.bincount(km.labels_).argmax()], axis=1)
    start = len(ctx.splits.transfer) + len(ctx.splits.val)
    d_test = np.sort(dist[start:start + len(ctx.splits.test)])
    radius = d_test[round(0.15 * len(d_test)) - 1]
    assert rule.meta["n_wrong"]["test"] == round(0.15 * len(ctx.splits.test))  # the rate of T exactly
    start = 0
    for role in ROLES:  # one radius for every split: the same rule on B, V, T and extra
        n = len(truth[role])
        np.testing.assert_array_equal(_wrong(rule, truth)[role], dist[start:start + n] <= radius)
        start += n
    with pytest.raises(ValueError, match="nearest: true"):
        SyntheticConfig(errors="random", region={"cluster": {"model": "m", "k": 2, "size_on": "test"}})
