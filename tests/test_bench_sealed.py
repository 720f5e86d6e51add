"""The sealed method runner (`w2sg.bench`): a plain method gives the in-process predictions, valid; each leaky
method of tests/leaky_methods/ obtains nothing sealed (its own assertion holds), is reported (valid False, its
violation named) and leaves nothing on the parent's side — while the same attack, run in-process as a control,
does obtain something (so "nothing" means the seal held, not that the attack was broken)."""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import shutil
import socket
from pathlib import Path

import numpy as np
import pytest

from w2sg.bench import IsolationError, SealedJob, check_isolation, run_sealed, sandbox, sealed_record
from w2sg.config import TrainSpec
from w2sg.methods import registry

pytestmark = pytest.mark.skipif(shutil.which("bwrap") is None,
                                reason="bubblewrap (bwrap) is not installed: `apt-get install bubblewrap` (CI does)")

LEAKY = Path(__file__).parent / "leaky_methods"
REPO = Path(__file__).resolve().parents[1]
DATA = (REPO.parent / "shared" / "data").resolve()


def _job(seed: int = 0, n_b: int = 160, n_v: int = 30, n_t: int = 50, d: int = 6):
    rng = np.random.default_rng(seed)

    def part(n, tag):
        x = rng.normal(size=(n, d)).astype(np.float32)
        y = (x[:, 0] + 0.7 * rng.normal(size=n) > 0).astype(int)
        weak = np.clip(np.where(y == 1, 0.7, 0.3) + 0.25 * rng.normal(size=n), 0, 1)
        return [f"{tag} text {i}" for i in range(n)], x, weak, y

    bt, bx, bw, _ = part(n_b, "b")
    vt, vx, vw, _ = part(n_v, "v")
    tt, tx, _, test_labels = part(n_t, "t")
    job = SealedJob(train=TrainSpec(), seed=seed, transfer_texts=bt, transfer_x=bx, transfer_weak_p1=bw,
                    val_texts=vt, val_x=vx, val_weak_p1=vw, test_texts=tt, test_x=tx)
    return job, test_labels


def _in_process(method, job: SealedJob, tmp_path: Path, stages=None) -> tuple[np.ndarray, np.ndarray]:
    """The same method on the same arrays in this process (the reference), built here without the child's code:
    a FrozenLearner over a dict featurizer, its l2 by CV on B's weak labels, the method run as the pipeline runs
    it (`stages`: a method given directly, for the controls)."""
    import torch

    from w2sg.methods import StudentContext, WeakLabelled
    from w2sg.train.convex import choose_l2
    from w2sg.train.frozen import FrozenLearner

    texts = [*job.transfer_texts, *job.val_texts, *job.test_texts]
    x = torch.from_numpy(np.concatenate([job.transfer_x, job.val_x, job.test_x]).astype(np.float32))
    row = {t: i for i, t in enumerate(texts)}

    def featurizer(items, kind=None):
        return x[[row[t] for t in items]]

    if stages is None:
        m = registry.get_method(method)
        stages = [(m, m.config_cls())]
    l2, _ = choose_l2(np.asarray(job.transfer_x, dtype=np.float64), np.asarray(job.transfer_weak_p1, np.float64),
                      folds=job.train.cv_folds, groups=None, seed=job.seed, fit_intercept=True)
    ctx = StudentContext(new_student=lambda: FrozenLearner(featurizer, job.train, l2=l2), seed=job.seed,
                         train=job.train)
    transfer = WeakLabelled(tuple(job.transfer_texts), tuple(job.transfer_texts), job.transfer_weak_p1)
    val = WeakLabelled(tuple(job.val_texts), tuple(job.val_texts), job.val_weak_p1)
    learner = registry.run_method(stages, ctx, transfer, val)
    return learner.predict(list(job.test_texts)), learner.predict(list(job.transfer_texts))


def test_isolation_self_test_passes_here():
    how = check_isolation(force=True)
    assert "bubblewrap" in how and "self-test passed" in how


def test_isolation_refuses_without_bwrap(monkeypatch):
    monkeypatch.setattr(sandbox.shutil, "which", lambda name: None)
    with pytest.raises(IsolationError, match="apt-get install bubblewrap"):
        check_isolation(force=True)


def test_isolation_refuses_a_sandbox_with_network(monkeypatch):
    real = sandbox.bwrap_command
    monkeypatch.setattr(sandbox, "bwrap_command", lambda i, o: [*real(i, o)[:2], "--share-net", *real(i, o)[2:]])
    with pytest.raises(IsolationError, match="TCP listener"):
        check_isolation(force=True)
    monkeypatch.undo()
    check_isolation(force=True)  # leave the cached check a passing one


@pytest.mark.parametrize("method", ["naive", "confidence"])
def test_plain_method_matches_in_process(method, tmp_path):
    job, _ = _job()
    result = run_sealed(method, job, timeout_s=300)
    assert result.error is None and result.violations == [] and result.valid is True
    test_ref, transfer_ref = _in_process(method, job, tmp_path)
    np.testing.assert_allclose(result.test_p1, test_ref, atol=1e-6, rtol=0)
    np.testing.assert_allclose(result.transfer_p1, transfer_ref, atol=1e-6, rtol=0)
    assert result.method == method and result.info["l2"] > 0 and result.seconds < 60
    rec = sealed_record(result)
    assert rec == {"bench_valid": True, "bench_violations": [], "bench_isolation": result.isolation,
                   "bench_seconds": result.seconds}


def test_method_file_path(tmp_path):
    """A method file (CONTRIBUTING recipe 1's `smoothed`) is copied into the job and imported in the child only."""
    path = tmp_path / "smoothed.py"
    path.write_text('''
from pydantic import Field
from w2sg.methods.base import MethodConfig
from w2sg.methods.registry import register_method
from w2sg.train.losses import SoftXent

class SmoothedConfig(MethodConfig):
    eps: float = Field(0.2, ge=0, le=1)

@register_method("smoothed_bench_test", "Naive on smoothed weak labels.", SmoothedConfig)
def smoothed(ctx, transfer, val, cfg):
    student = ctx.new_student()
    student.fit(list(transfer.items), (1 - cfg.eps) * transfer.weak_p1 + cfg.eps / 2, SoftXent(), seed=ctx.seed)
    return student
''')
    job, _ = _job(seed=1)
    result = run_sealed(str(path), job, timeout_s=300)
    assert "smoothed_bench_test" not in registry.METHODS  # never imported here
    assert result.valid is True and result.error is None and result.method == "smoothed_bench_test"
    naive = run_sealed("naive", job, timeout_s=300)
    assert not np.allclose(result.test_p1, naive.test_p1)  # the file's method ran, not naive


def test_oracle_and_malformed_are_refused(tmp_path):
    job, _ = _job()
    oracle = next((m for m in registry.METHODS.values() if m.oracle), None)
    if oracle is not None:
        with pytest.raises(ValueError, match="oracle"):
            run_sealed(oracle.name, job)
    with pytest.raises(ValueError, match="student_l2"):
        SealedJob(train=TrainSpec(student_l2="ceiling"), seed=0, transfer_texts=job.transfer_texts,
                  transfer_x=job.transfer_x, transfer_weak_p1=job.transfer_weak_p1, val_texts=[],
                  val_x=np.zeros((0, 6)), val_weak_p1=np.zeros(0), test_texts=[], test_x=np.zeros((0, 6)))
    bad = tmp_path / "bad.py"  # a method returning a learner whose predictions are not probabilities
    bad.write_text('''
import numpy as np
from w2sg.methods.registry import register_method

class Bad:
    def predict(self, items):
        return np.full(len(items), 2.0)

@register_method("bad_bench_test", "Predicts 2.")
def bad(ctx, transfer, val, cfg):
    return Bad()
''')
    result = run_sealed(bad, job, timeout_s=120)
    assert result.valid is False and "not probabilities" in result.error and result.test_p1 is None
    slow = tmp_path / "slow.py"
    slow.write_text('''
import time
from w2sg.methods.registry import register_method

@register_method("slow_bench_test", "Sleeps.")
def slow(ctx, transfer, val, cfg):
    time.sleep(60)
''')
    result = run_sealed(slow, job, timeout_s=8)
    assert result.valid is False and "limit" in result.error


# ---- the leaky methods -------------------------------------------------------------------------------------------
def _filled(name: str, config: dict, tmp_path: Path) -> Path:
    text = (LEAKY / f"{name}.py").read_text()
    assert "CONFIG = {}" in text
    out = tmp_path / "methods" / f"{name}.py"
    out.parent.mkdir(exist_ok=True)
    out.write_text(text.replace("CONFIG = {}", f"CONFIG = {json.dumps(config)!s}", 1))
    return out


def _control(path: Path, job: SealedJob, tmp_path: Path):
    """Run the leaky method in this process (unsealed), registered in a throwaway registry: it must obtain
    something (its own assertion fails with LEAK)."""
    saved = dict(registry.METHODS)
    try:
        spec = importlib.util.spec_from_file_location(f"leaky_control_{path.stem}", path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        method = registry.METHODS[path.stem]
        stages = [(method, method.config_cls())]
        with pytest.raises(AssertionError, match="LEAK"):
            _in_process("naive", job, tmp_path, stages=stages)
    finally:
        registry.METHODS.clear()
        registry.METHODS.update(saved)


def _labels_file(tmp_path: Path, labels: np.ndarray) -> Path:
    path = tmp_path / "parent-data" / "sst2" / "test.tsv"
    path.parent.mkdir(parents=True)
    path.write_text("".join(f"t text {i}\t{y}\n" for i, y in enumerate(labels)))
    return path


def _store_and_cache(tmp_path: Path) -> list[str]:
    store, cache = tmp_path / "w2sg-runs", tmp_path / "workdir" / ".cache" / "features"
    store.mkdir()
    cache.mkdir(parents=True)
    (store / "results.jsonl").write_text(json.dumps({"task": "sst2", "student_acc": 0.9}) + "\n")
    np.save(cache / "labels.npy", np.arange(5))
    home = Path(os.environ.get("W2SG_HOME", Path.home() / ".cache" / "w2sg"))
    return [str(store), str(cache.parent), str(home)]


CASES = {
    # name: (what the sealed run's report must name, how to build its CONFIG)
    "leaky_data_files": ("opened a path outside the job", lambda t, y, lis: {
        "paths": [str(_labels_file(t, y)), str(DATA / "sst2" / "dev.tsv")]}),
    "leaky_registry": ("imported w2sg.tasks", lambda t, y, lis: {"task": "sst2", "data_dir": str(DATA)}),
    "leaky_store": ("opened a path outside the job", lambda t, y, lis: {"dirs": _store_and_cache(t)}),
    "leaky_introspection": ("gc.get_objects", lambda t, y, lis: {
        "n": len(y), "sha": hashlib.sha256(np.asarray(y).astype(np.int64).tobytes()).hexdigest()}),
    "leaky_proc": ("another process's /proc entry", lambda t, y, lis: {"parent_pid": os.getpid()}),
    "leaky_socket": ("socket.connect", lambda t, y, lis: {"port": lis.getsockname()[1]}),
    "leaky_cache_write": ("wrote a path outside the job", lambda t, y, lis: {
        "cache_dir": str(t / "parent-cache" / "features"), "existing": str(_existing_cache_file(t))}),
}


def _existing_cache_file(tmp_path: Path) -> Path:
    path = tmp_path / "parent-cache" / "existing.npy"
    path.parent.mkdir(parents=True, exist_ok=True)
    np.save(path, np.zeros(3))
    return path


@pytest.mark.filterwarnings("ignore::FutureWarning")  # the control's gc walk touches deprecated torch names
@pytest.mark.parametrize("name", sorted(CASES))
def test_leaky_method_obtains_nothing_and_is_reported(name, tmp_path, capsys):
    job, test_labels = _job(seed=3)  # `test_labels`: T's ground truth, held by this (the parent's) frame
    with socket.create_server(("127.0.0.1", 0)) as listener:
        listener.settimeout(0.0)
        expected, make = CASES[name]
        path = _filled(name, make(tmp_path, test_labels, listener), tmp_path)
        before = {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file() and "methods" not in p.parts}
        result = run_sealed(str(path), job, timeout_s=300)
        with pytest.raises(BlockingIOError):
            listener.accept()  # nothing reached the parent's listener
        # the parent's side is untouched: no file written, none changed
        after = {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file() and "methods" not in p.parts}
        assert after == before
        print(f"{name}: valid={result.valid} violations={result.violations}")
        # sealed, the method's own assertion held (it obtained nothing) and it trained its student ...
        assert result.error is None, result.error
        assert result.test_p1 is not None and result.test_p1.shape == test_labels.shape
        # ... and it was reported: invalid, naming what it tried
        assert result.valid is False
        assert any(expected in v for v in result.violations), result.violations
        assert sealed_record(result)["bench_valid"] is False
        # the control: the same attack in-process does obtain something (labels, the parent's process, the network,
        # a write into the cache); the registry case needs the task's data on this machine
        if name == "leaky_registry" and not (DATA / "sst2").is_dir():
            return
        _control(path, job, tmp_path)
