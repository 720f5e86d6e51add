"""Nothing incomplete or non-finite reaches the cache, and a cache entry holding inf or NaN (left by an older
version, or planted) is quarantined on reading and recomputed (issue 28): `--set train.eval_batch_size=-1` used
to save uninitialised features under the model + text key that every later run in the workdir reused."""

import shutil
import warnings
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from w2sg.cache import Cache, CacheIntegrityError, FeatureStore, _npz_bytes, atomic_write_bytes
from w2sg.cli import app
from w2sg.config import ExperimentSpec, SplitSpec, TrainSpec
from w2sg.pipeline.record import training_record
from w2sg.store import ResultsStore
from w2sg.train.batching import sorted_inference_batches
from w2sg.train.convex import choose_l2

runner = CliRunner()


def _run(workdir: Path, encoder: Path, task: Path, *extra: str):
    return runner.invoke(app, ["run", "--task", str(task), "--weak", str(encoder), "--strong", str(encoder),
                               "--n-weak-train", "150", "--n-transfer", "200", "--n-val", "50", "--n-test", "200",
                               "--seeds", "0", "-m", "naive", "--max-length", "128", "--workdir", str(workdir),
                               *extra], env={"COLUMNS": "250"})


def _quarantined(root: Path) -> list[Path]:
    q = root / "quarantine"
    return sorted(p for p in q.rglob("*") if p.is_file()) if q.exists() else []


def _scores(workdir: Path) -> dict:
    [r] = ResultsStore(workdir / "results.sqlite").records()
    return {k: v for k, v in r.items() if k.endswith(("_acc", "_auroc")) or k.startswith("pgr_")}


def test_a_bad_eval_batch_size_then_a_good_run_gives_the_baseline(tmp_path, tiny_encoder, synthetic_task):
    w1, w2 = tmp_path / "w1", tmp_path / "w2"
    base = _run(w1, tiny_encoder, synthetic_task)
    assert base.exit_code == 0, base.output
    bad = _run(w2, tiny_encoder, synthetic_task, "--set", "train.eval_batch_size=-1")
    assert bad.exit_code == 2 and isinstance(bad.exception, SystemExit), bad.output
    assert "--set train.eval_batch_size: must be >= 1 (got -1)" in bad.output and "Traceback" not in bad.output
    assert not (w2 / "cache").exists()  # refused before any work: nothing cached

    # what the old code left in W2: W1's feature shards, one of them with uninitialised (NaN, 3e38) rows
    shutil.copytree(w1 / "cache" / "features", w2 / "cache" / "features")
    shard = max((w2 / "cache" / "features").rglob("*.npz"), key=lambda p: p.stat().st_size)
    with np.load(shard) as z:
        keys, feats = z["text_keys"], z["features"].copy()
    feats[3, :5], feats[7] = np.nan, 3e38
    atomic_write_bytes(shard, _npz_bytes({"text_keys": keys, "features": feats}, {}))

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        good = _run(w2, tiny_encoder, synthetic_task)
    assert good.exit_code == 0, good.output
    [moved] = _quarantined(w2 / "cache")  # the shard with NaN was moved aside, its texts embedded again
    assert moved.name.startswith(shard.name)
    s1, s2 = _scores(w1), _scores(w2)
    assert {"weak_acc", "ceiling_acc", "student_acc", "pgr_acc"} <= set(s1)
    assert s2 == pytest.approx(s1, abs=1e-6, nan_ok=True)  # the baseline numbers
    [r] = ResultsStore(w1 / "results.sqlite").records()
    assert (r["cv_folds_weak"], r["cv_folds_ceiling"], r["cv_folds_student"]) == (5, 5, 5)  # the folds used


# ---- nothing incomplete or non-finite is written ---------------------------------------------------------
@pytest.mark.parametrize("batch_size", [0, -1])
def test_an_inference_batch_size_below_one_is_an_error_not_an_unfilled_array(batch_size):
    with pytest.raises(ValueError, match="eval_batch_size"):
        sorted_inference_batches(np.array([3, 1, 2]), batch_size)


@pytest.mark.parametrize("bad", ["nan", "inf", "rows", "empty_width"])
def test_features_that_are_not_finite_or_complete_are_not_written(tmp_path, bad):
    def embed(texts):
        x = np.ones((len(texts), 4), dtype=np.float32)
        if bad == "nan":
            x[1, 2] = np.nan
        elif bad == "inf":
            x[0, 0] = np.inf
        elif bad == "rows":
            x = x[:-1]
        else:
            x = x[:, :0]
        return x

    fs = FeatureStore(tmp_path, "m")
    with pytest.raises(CacheIntegrityError, match="not cached"):
        fs.get(["a", "b", "c"], embed)
    assert not list(tmp_path.rglob("*.npz"))


def test_an_artifact_that_is_not_finite_or_has_other_rows_is_not_written(tmp_path):
    cache = Cache(tmp_path)
    with pytest.raises(CacheIntegrityError, match="'test' holds 1 inf or NaN"):
        cache.get_or_compute("weak", "k", lambda: ({"test": np.array([0.2, np.nan, 0.7])}, {}))
    with pytest.raises(CacheIntegrityError, match="'test' has 2 rows, expected 3"):
        cache.get_or_compute("weak", "k", lambda: ({"test": np.array([0.2, 0.7])}, {}), rows={"test": 3})
    assert not cache.path("weak", "k").exists()
    arrays, meta, hit = cache.get_or_compute("weak", "k", lambda: ({"test": np.array([0.2, 0.5, 0.7]),
                                                                     "mask": np.array([1, 0, 1])}, {"a": 1}),
                                             rows={"test": 3})
    assert not hit and meta == {"a": 1}
    assert cache.load("weak", "k")[1] == {"a": 1}  # the rows it was written with are checked, not returned


# ---- a cache entry that fails the check on reading is quarantined and recomputed --------------------------
@pytest.mark.parametrize("plant", ["nan", "inf", "fewer_rows", "missing_array"])
def test_a_planted_artifact_is_quarantined_and_recomputed(tmp_path, plant):
    cache = Cache(tmp_path)
    good = {"test": np.linspace(0, 1, 5, dtype=np.float32), "transfer": np.full(4, 0.5, dtype=np.float32)}
    cache.save("ceiling", "k", good, {"l2": 0.1})
    planted = dict(good)
    if plant in ("nan", "inf"):
        planted["test"] = good["test"].copy()
        planted["test"][2] = np.nan if plant == "nan" else -np.inf
        meta = {"l2": 0.1}  # as an older version wrote it: no record of its rows
    else:
        meta = {"l2": 0.1, "__rows__": {"test": 5, "transfer": 4}}
        if plant == "fewer_rows":
            planted["test"] = good["test"][:3]
        else:
            del planted["transfer"]
    atomic_write_bytes(cache.path("ceiling", "k"), _npz_bytes(planted, meta))
    calls = []

    def compute():
        calls.append(1)
        return good, {"l2": 0.1}

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        arrays, _, hit = cache.get_or_compute("ceiling", "k", compute)
    assert not hit and calls == [1]
    np.testing.assert_array_equal(arrays["test"], good["test"])
    assert any("damaged" in str(w.message) and "moved to" in str(w.message) for w in caught)
    assert len(_quarantined(tmp_path)) == 1
    assert cache.load("ceiling", "k") is not None  # the recomputed entry is whole


def test_a_planted_feature_shard_with_nan_is_quarantined_and_only_its_texts_recomputed(tmp_path):
    texts = [f"text {i}" for i in range(8)]
    seen: list[str] = []

    def embed(part):
        seen.extend(part)
        return np.array([[len(t), float(t[-1])] for t in part], dtype=np.float32)

    x0, _ = FeatureStore(tmp_path, "m").get(texts, embed, chunk=4)
    shard = sorted((tmp_path / "features" / "m").glob("*.npz"))[0]
    with np.load(shard) as z:
        keys, feats = z["text_keys"], z["features"].copy()
    feats[1, 0] = np.nan
    atomic_write_bytes(shard, _npz_bytes({"text_keys": keys, "features": feats}, {}))
    seen.clear()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        x1, n = FeatureStore(tmp_path, "m").get(texts, embed)
    assert n == 4 and len(seen) == 4 and np.isfinite(x1).all()
    np.testing.assert_array_equal(x0, x1)
    assert any("inf or NaN" in str(w.message) for w in caught)
    assert len(_quarantined(tmp_path)) == 1


# ---- train.cv_folds: the record carries the folds used; a value no split can give is refused --------------
def test_the_record_carries_the_folds_each_cross_validation_used():
    y = np.array([1.0] * 3 + [0.0] * 20)  # 3 rows of one class: at most 3 stratified folds
    x = np.random.default_rng(0).normal(size=(len(y), 4))
    _, info = choose_l2(x, y, folds=10)
    assert info["folds"] == 3
    spec = ExperimentSpec(train=TrainSpec(cv_folds=10))
    rec = training_record(spec, {"weak": {"cv": info, "l2": 1.0}, "ceiling": {"l2": 0.5},
                                 "student": {"l2_cv_weak_labels": {"folds": 4}}})
    assert (rec["cv_folds_weak"], rec["cv_folds_ceiling"], rec["cv_folds_student"]) == (3, None, 4)
    _, none = choose_l2(x, np.array([1.0] + [0.0] * 22), folds=10)  # nothing cross-validated
    assert none["folds"] is None


def test_a_cv_folds_no_training_split_can_give_is_refused_but_the_default_is_capped_by_the_data():
    small = SplitSpec(n_weak_train=8, n_transfer=40, n_val=0, n_test=20)
    ExperimentSpec(splits=small)  # default 5 folds, 4 possible: capped by the data as before (recorded)
    ExperimentSpec(splits=small, train=TrainSpec(cv_folds=4))
    with pytest.raises(ValueError, match=r"cv_folds 6: .* at most 4 folds; use --set train.cv_folds=4"):
        ExperimentSpec(splits=small, train=TrainSpec(cv_folds=6))
