"""A damaged cache file (truncated, emptied, garbled) is named, moved aside and recomputed, never a raw
BadZipFile; `force` recomputes an experiment's steps (supervisor members included) but not frozen features."""

import shutil
import warnings
import zipfile
from pathlib import Path

import numpy as np
import pytest

from w2sg.cache import Cache, FeatureStore, text_key
from w2sg.config import ExperimentSpec, MethodSpec
from w2sg.pipeline import Pipeline
from w2sg.store import ResultsStore

from .conftest import tiny_spec

DAMAGES = ["half", "empty", "garbage", "garble"]


def _damage(path: Path, how: str, member: str | None = None) -> bytes:
    """Truncate to half, empty, overwrite with random bytes, or garble bytes in the middle (of `member`'s data
    if given); returns the damaged bytes."""
    data = path.read_bytes()
    rng = np.random.default_rng(0)
    if how == "half":
        out = data[: len(data) // 2]
    elif how == "empty":
        out = b""
    elif how == "garbage":
        out = rng.bytes(len(data))
    else:
        mid = len(data) // 2
        if member:
            with zipfile.ZipFile(path) as z:
                info = z.getinfo(member)
            mid = info.header_offset + 30 + len(info.filename) + len(info.extra) + info.file_size // 2
        b = bytearray(data)
        b[mid : mid + 16] = rng.bytes(16)
        out = bytes(b)
    path.write_bytes(out)
    return out


def _damage_warnings(caught, path: Path) -> list[str]:
    return [str(w.message) for w in caught if str(path) in str(w.message) and "damaged" in str(w.message)]


def _quarantined(root: Path) -> list[Path]:
    q = root / "quarantine"
    return sorted(p for p in q.rglob("*") if p.is_file()) if q.exists() else []


# ---- the artifact cache -------------------------------------------------------------------------------
@pytest.mark.parametrize("how", DAMAGES)
def test_damaged_artifact_is_moved_aside_and_recomputed(tmp_path, how):
    calls = []

    def compute():
        calls.append(1)
        return {"test": np.arange(300, dtype=np.float32)}, {"steps": 3}

    Cache(tmp_path).get_or_compute("weak", "k1", compute)
    path = Cache(tmp_path).path("weak", "k1")
    damaged = _damage(path, how)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        arrays, meta, hit = Cache(tmp_path).get_or_compute("weak", "k1", compute)
    assert not hit and len(calls) == 2 and meta == {"steps": 3}
    np.testing.assert_array_equal(arrays["test"], np.arange(300, dtype=np.float32))
    msgs = _damage_warnings(caught, path)
    assert len(msgs) == 1 and "moved to" in msgs[0] and "recomputing" in msgs[0], [str(w.message) for w in caught]
    [moved] = _quarantined(tmp_path)
    assert str(moved) in msgs[0] and moved.read_bytes() == damaged  # kept, not deleted
    assert Cache(tmp_path).load("weak", "k1") is not None  # the recomputed entry replaced it


def test_a_damaged_entry_that_cannot_be_moved_aside_stops_with_its_name(tmp_path):
    cache = Cache(tmp_path)
    cache.save("ceiling", "k", {"test": np.zeros(3)}, {})
    _damage(cache.path("ceiling", "k"), "half")
    (tmp_path / "quarantine").write_text("not a directory")  # the quarantine folder cannot be made
    with pytest.raises(Exception, match=str(cache.path("ceiling", "k"))) as err:
        cache.get_or_compute("ceiling", "k", lambda: ({"test": np.zeros(3)}, {}))
    assert not isinstance(err.value, zipfile.BadZipFile | EOFError)
    assert cache.path("ceiling", "k").exists()  # left in place, never deleted


# ---- the feature store --------------------------------------------------------------------------------
def _embed_log(seen):
    def embed(texts):
        seen.extend(texts)
        return np.array([[len(t), t.count("a"), 1.0] for t in texts], dtype=np.float32)

    return embed


TEXTS = [f"text {'a' * i}" for i in range(12)]


def _shard_of(fs: FeatureStore, text: str) -> Path:
    for shard in sorted(fs.dir.glob("*.npz")):
        with np.load(shard) as z:
            if text_key(text) in set(z["text_keys"].tolist()):
                return shard
    raise AssertionError(text)


@pytest.mark.parametrize("how", DAMAGES)
def test_damaged_feature_shard_only_its_texts_are_recomputed(tmp_path, how):
    seen = []
    x0, _ = FeatureStore(tmp_path, "m").get(TEXTS, _embed_log(seen), chunk=4)  # three shards
    shard = _shard_of(FeatureStore(tmp_path, "m"), TEXTS[5])
    damaged = _damage(shard, how, member="text_keys.npy")  # read when the index is built
    seen.clear()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fs = FeatureStore(tmp_path, "m")
        assert fs.missing(TEXTS) == TEXTS[4:8]  # the damaged shard's texts are missing, the others usable
        x1, n = fs.get(TEXTS, _embed_log(seen))
    assert n == 4 and seen == TEXTS[4:8]
    np.testing.assert_array_equal(x0, x1)
    msgs = _damage_warnings(caught, shard)
    assert len(msgs) == 1 and "moved to" in msgs[0], [str(w.message) for w in caught]
    [moved] = _quarantined(tmp_path)
    assert moved.read_bytes() == damaged
    seen.clear()
    assert FeatureStore(tmp_path, "m").get(TEXTS, _embed_log(seen))[1] == 0 and not seen


def test_feature_shard_damaged_after_the_index_was_read(tmp_path):
    """The index reads a shard's text keys; its features are read later, and a CRC error there is damage too."""
    seen = []
    x0, _ = FeatureStore(tmp_path, "m").get(TEXTS, _embed_log(seen), chunk=4)
    fs = FeatureStore(tmp_path, "m")
    assert fs.missing(TEXTS) == []  # index built from the text keys of every shard
    shard = _shard_of(fs, TEXTS[0])
    _damage(shard, "garble", member="features.npy")
    seen.clear()
    with pytest.warns(UserWarning, match="damaged") as caught:
        x1, n = fs.get(TEXTS, _embed_log(seen))
    assert n == 4 and seen == TEXTS[:4]
    np.testing.assert_array_equal(x0, x1)
    assert _damage_warnings(caught, shard)
    assert len(_quarantined(tmp_path)) == 1


# ---- the pipeline: damage any one cache file, rerun the same spec ------------------------------------------
@pytest.fixture(scope="module")
def baseline(tmp_path_factory, tiny_encoder, synthetic_task):
    """One finished frozen-mode run whose workdir each case copies and damages."""
    workdir = tmp_path_factory.mktemp("damage-baseline") / "runs"
    spec = tiny_spec(synthetic_task, tiny_encoder, tiny_encoder)
    rec = Pipeline(workdir).run(spec)
    return workdir, spec, rec


def _target(workdir: Path, spec: ExperimentSpec, kind: str) -> tuple[Path, str | None]:
    """The file to damage and, for a feature shard, the zip member whose bytes a garble hits."""
    if kind in ("weak", "ceiling", "student"):
        return Pipeline(workdir).cache.path(kind, Pipeline(workdir).keys(spec)[kind]), None
    shards = sorted((workdir / "cache" / "features").rglob("*.npz"), key=lambda p: (-p.stat().st_size, p.name))
    return shards[0], ("text_keys.npy" if kind == "feature_index" else "features.npy")


CASES = [(kind, how) for kind in ("feature_shard", "weak", "ceiling", "student") for how in DAMAGES]
CASES += [("feature_index", "garble")]  # the text keys of a shard, read when the index is built


@pytest.mark.parametrize(("kind", "how"), CASES)
def test_rerun_after_damaging_a_cache_file_recomputes_it(tmp_path, baseline, kind, how):
    base_dir, spec, before = baseline
    workdir = tmp_path / "runs"
    shutil.copytree(base_dir, workdir)
    path, member = _target(workdir, spec, kind)
    damaged = _damage(path, how, member)
    if kind.startswith("feature"):  # without step artifacts the rerun must read the frozen features
        for step in ("weak", "ceiling", "student"):
            shutil.rmtree(workdir / "cache" / step)
    pipe = Pipeline(workdir)  # a new process
    pipe.__dict__["store"] = ResultsStore(tmp_path / "fresh.sqlite")  # not the stored row: the cache
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        after = pipe.run(spec)
    for k in ("weak_acc", "ceiling_acc", "student_acc", "pgr_acc"):
        assert after[k] == before[k], k
    if not kind.startswith("feature"):
        assert not after[f"cached_{kind}"]
        assert {s for s in ("weak", "ceiling", "student") if not after[f"cached_{s}"]} == {kind}
    msgs = _damage_warnings(caught, path)
    assert len(msgs) == 1, [str(w.message) for w in caught]
    [moved] = _quarantined(workdir / "cache")
    assert str(moved) in msgs[0] and moved.read_bytes() == damaged


# ---- force ------------------------------------------------------------------------------------------
def test_force_recomputes_steps_and_supervisor_members_but_not_features(tmp_path, tiny_encoder, synthetic_task):
    spec = tiny_spec(synthetic_task, tiny_encoder, tiny_encoder).model_copy(update={"weak": ExperimentSpec(
        weak={"kind": "ensemble", "model": str(tiny_encoder), "members": 2}).weak})
    workdir = tmp_path / "runs"
    first = Pipeline(workdir).run(spec)
    pipe = Pipeline(workdir)
    keys = pipe.keys(spec)
    files = [pipe.cache.path(k, keys[k]) for k in ("weak", "ceiling", "student")]
    files += sorted((workdir / "cache" / "weak").glob("*.npz"))  # the members
    inodes = {p: p.stat().st_ino for p in files}
    fits = []
    orig = pipe.res.fit_ground_truth
    pipe.res.fit_ground_truth = lambda *a, **kw: fits.append(a[0]) or orig(*a, **kw)
    rec = pipe.run(spec, force=True)
    assert not rec["cached_weak"] and not rec["cached_ceiling"] and not rec["cached_student"]
    assert len(fits) == 3  # two ensemble members and the ceiling
    assert sum(f.n_computed for f in pipe.res._featurizers.values()) == 0  # features reused
    assert all(p.stat().st_ino != inodes[p] for p in inodes), "cache entries were not rewritten"
    assert not list((workdir / "cache").rglob("*.tmp"))
    for k in ("weak_acc", "ceiling_acc", "student_acc"):
        assert rec[k] == first[k]
    assert len(pipe.store.records()) == 1
    # without force a new Pipeline answers from the store again
    assert Pipeline(workdir).run(spec)["hash"] == rec["hash"]
    # another method under force in the same Pipeline (one `w2sg run --force`): the supervisor and ceiling it
    # shares were recomputed already; only its student is
    fits.clear()
    rec2 = pipe.run(spec.model_copy(update={"method": MethodSpec(name="confidence")}), force=True)
    assert rec2["cached_weak"] and rec2["cached_ceiling"] and not rec2["cached_student"] and not fits
