"""Cache keys, atomic artifacts, the per-text feature store, and the SQLite results store."""

import json
import os

import numpy as np
import pytest

from w2sg.cache import Cache, FeatureStore, atomic_write_bytes
from w2sg.config import ExperimentSpec, MethodSpec, SplitSpec, TrainSpec, content_hash
from w2sg.store import ResultsStore, export


def test_hash_is_stable_and_sensitive():
    a = ExperimentSpec()
    assert a.hash() == ExperimentSpec().hash()
    assert a.hash() == ExperimentSpec.model_validate(json.loads(a.model_dump_json())).hash()
    changed = [
        ExperimentSpec(seed=1), ExperimentSpec(task="boolq"), ExperimentSpec(weak="mpnet"),
        ExperimentSpec(method=MethodSpec(name="confidence")),
        ExperimentSpec(method=MethodSpec(name="confidence", options={"a_max": 0.75})),
        ExperimentSpec(splits=SplitSpec(n_transfer=999)), ExperimentSpec(train=TrainSpec(lr=1e-3)),
        ExperimentSpec(train=TrainSpec(mode="full")),
    ]
    hashes = {a.hash()} | {c.hash() for c in changed}
    assert len(hashes) == len(changed) + 1
    # dict key order does not matter
    assert content_hash({"a": 1, "b": 2}) == content_hash({"b": 2, "a": 1})


def test_spec_rejects_unknown_fields():
    with pytest.raises(ValueError):
        TrainSpec(learning_rate=1e-3)
    with pytest.raises(ValueError):
        SplitSpec(n_transfer=1)


def test_run_spec_is_a_sweep_with_one_value_per_axis():
    from w2sg.cli.run import run_spec
    from w2sg.sweep import expand

    r = run_spec(None, {"method": ["naive", "confidence"], "seeds": [0, 1, 2], "task": "sst2"}, [])
    exps = expand(r)
    assert len(exps) == 6 and len({e.hash() for e in exps}) == 6
    assert r.tasks == ["sst2"] and r.weak == ["minilm"]
    # --set reaches any field; YAML values; a singular alias; a supervisor option
    r = run_spec(None, {}, ["train.cv_folds=3", "seed=[4, 5]", "weak={kind: synthetic}", "weak.error_rate=0.1",
                            "train.lr=1e-4", "method=generative_finetune+naive"])
    assert r.train.cv_folds == 3 and r.seeds == [4, 5] and r.train.lr == 1e-4
    assert r.weak[0].kind == "synthetic" and r.weak[0].options == {"error_rate": 0.1}
    assert r.methods[0].label == "generative_finetune+naive"
    with pytest.raises(ValueError, match="learning_rate"):
        run_spec(None, {}, ["train.learning_rate=1"])
    with pytest.raises(ValueError, match="path=value"):
        run_spec(None, {}, ["train.lr"])


def test_cache_get_or_compute_and_atomicity(tmp_path):
    cache = Cache(tmp_path)
    calls = []

    def compute():
        calls.append(1)
        return {"test": np.arange(3, dtype=np.float32)}, {"steps": 3}

    a, meta, hit = cache.get_or_compute("weak", "k1", compute)
    b, meta2, hit2 = cache.get_or_compute("weak", "k1", compute)
    assert (hit, hit2) == (False, True) and len(calls) == 1
    np.testing.assert_array_equal(a["test"], b["test"])
    assert meta2 == {"steps": 3}
    # a failing write leaves no file behind
    with pytest.raises(RuntimeError):
        cache.get_or_compute("weak", "k2", lambda: (_ for _ in ()).throw(RuntimeError("boom")))
    assert not cache.path("weak", "k2").exists()
    assert not [p for p in (tmp_path / "weak").iterdir() if p.name.endswith(".tmp")]


def test_atomic_write_replaces(tmp_path):
    p = tmp_path / "x" / "f.bin"
    atomic_write_bytes(p, b"one")
    atomic_write_bytes(p, b"two")
    assert p.read_bytes() == b"two" and os.listdir(p.parent) == ["f.bin"]


def test_feature_store_computes_each_text_once(tmp_path):
    seen = []

    def embed(texts):
        seen.extend(texts)
        return np.array([[len(t), t.count("a")] for t in texts], dtype=np.float32)

    fs = FeatureStore(tmp_path, "model-x")
    x1, n1 = fs.get(["aa", "b", "aaa"], embed, chunk=2)
    assert n1 == 3 and x1.tolist() == [[2, 2], [1, 0], [3, 3]]
    # a new store object (a new process) reuses the shards; only the new text is embedded
    fs2 = FeatureStore(tmp_path, "model-x")
    x2, n2 = fs2.get(["b", "cccc", "aa", "b"], embed)
    assert n2 == 1 and seen == ["aa", "b", "aaa", "cccc"]
    assert x2.tolist() == [[1, 0], [4, 0], [2, 2], [1, 0]]
    # another model key is a separate store
    _, n3 = FeatureStore(tmp_path, "model-y").get(["aa"], embed)
    assert n3 == 1


def _metrics(acc):
    return {"weak_acc": 0.7, "ceiling_acc": 0.9, "student_acc": acc, "pgr_acc": (acc - 0.7) / 0.2,
            "pgr_acc_ci_low": 0.1, "pgr_acc_ci_high": 0.9, "pgr_auroc": 0.4, "unstable": False}


def test_store_roundtrip_and_export(tmp_path):
    store = ResultsStore(tmp_path / "r.sqlite")
    for seed in (0, 1):
        spec = ExperimentSpec(seed=seed, method="confidence")
        store.put(spec.model_dump(mode="json"), spec.hash(), _metrics(0.8 + seed / 100), {"weak": 1.5})
    spec = ExperimentSpec(seed=0, method="confidence")
    store.put(spec.model_dump(mode="json"), spec.hash(), _metrics(0.85), {"weak": 1.0})  # replace, no dup
    recs = store.records()
    assert len(recs) == 2 and store.has(spec.hash())
    r0 = next(r for r in recs if r["seed"] == 0)
    assert r0["student_acc"] == 0.85 and r0["method"] == "confidence" and r0["time_weak"] == 1.0
    assert "torch" in r0["versions"] and r0["spec"]["task"] == "sst2"
    data = json.loads(export(recs, "json"))
    need = {"task", "weak", "strong", "method", "seed", "weak_acc", "ceiling_acc", "student_acc", "pgr_acc",
            "pgr_acc_ci_low", "pgr_acc_ci_high", "pgr_auroc", "unstable"}
    assert need <= set(data[0])
    csv = export(recs, "csv")
    assert csv.splitlines()[0].startswith("hash,task,weak,strong,method,seed")
    export(recs, "parquet", tmp_path / "r.parquet")
    import pandas as pd

    assert len(pd.read_parquet(tmp_path / "r.parquet")) == 2
    with pytest.raises(ValueError, match="unknown format"):
        export(recs, "xlsx")
    with open(tmp_path / "r.sqlite", "rb") as f:
        assert f.read(16).startswith(b"SQLite format 3")


def test_store_rejects_nan_metrics(tmp_path):
    store = ResultsStore(tmp_path / "r.sqlite")
    spec = ExperimentSpec()
    with pytest.raises(ValueError):
        store.put(spec.model_dump(mode="json"), spec.hash(), {"pgr_acc": float("nan")}, {})


def test_different_settings_are_never_pooled_as_seeds(tmp_path):
    from w2sg.report.summary import summarize
    from w2sg.store import with_variant_labels

    store = ResultsStore(tmp_path / "r.sqlite")
    for lr in (None, 1e-3):
        for seed in (0, 1):
            spec = ExperimentSpec(seed=seed, train=TrainSpec(lr=lr))
            store.put(spec.model_dump(mode="json"), spec.hash(), _metrics(0.8), {})
    recs = store.records()
    assert sorted({r["variant"] for r in recs}) == ["", "train.lr=0.001"]
    rows = summarize(recs)
    assert len(rows) == 2 and all(len(r["seeds"]) == 2 for r in rows)
    assert {r["method"] for r in with_variant_labels(recs)} == {"naive", "naive {train.lr=0.001}"}


def test_rows_of_retired_methods_stay_readable_with_a_note(tmp_path):
    from w2sg.store import ResultsStore, retired_notes

    store = ResultsStore(tmp_path / "results.sqlite")
    old = ExperimentSpec().model_dump(mode="json")
    old["method"] = {"name": "weak_ensemble", "options": {"members": 3}}
    store.put(old, "h1", {"weak_acc": 0.7, "supervisor_acc": 0.72}, {"total": 1.0})
    recs = store.records()
    assert recs[0]["method"] == "weak_ensemble(members=3)" and recs[0]["supervisor_acc"] == 0.72
    (note,) = retired_notes(recs)
    assert "1 row(s)" in note and "supervisor kind 'ensemble'" in note
    assert retired_notes([{"method": "naive"}]) == []


def test_cache_force_recomputes_and_overwrites(tmp_path):
    cache = Cache(tmp_path)
    cache.save("student", "k", {"test": np.zeros(2, dtype=np.float32)}, {"v": 1})
    arrays, meta, hit = cache.get_or_compute("student", "k", lambda: ({"test": np.ones(2, dtype=np.float32)},
                                                                      {"v": 2}), force=True)
    assert not hit and meta == {"v": 2} and arrays["test"].tolist() == [1.0, 1.0]
    assert cache.load("student", "k")[1] == {"v": 2}  # overwritten in place
    assert os.listdir(tmp_path / "student") == ["k.npz"]  # atomically: no temp file left
