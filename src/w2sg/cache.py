"""Content-addressed artifacts with atomic writes, and a per-text store of frozen features.

An artifact's key is a content hash of everything that affects it (see `config.content_hash`); a file
either exists complete or not at all (write to a temp file, fsync, `os.replace`), so after Ctrl-C or
`kill -9` a rerun loses at most the step that was in flight.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path

import numpy as np


def atomic_write_bytes(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def _npz_bytes(arrays: dict[str, np.ndarray], meta: dict) -> bytes:
    buf = io.BytesIO()
    np.savez(buf, __meta__=np.array(json.dumps(meta, sort_keys=True, default=str)), **arrays)
    return buf.getvalue()


class Cache:
    """Artifacts (`kind`, `key`) -> ({name: array}, meta) stored as `root/kind/key.npz`."""

    def __init__(self, root: str | Path):
        self.root = Path(root)

    def path(self, kind: str, key: str) -> Path:
        return self.root / kind / f"{key}.npz"

    def load(self, kind: str, key: str) -> tuple[dict[str, np.ndarray], dict] | None:
        p = self.path(kind, key)
        if not p.exists():
            return None
        with np.load(p, allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files if k != "__meta__"}
            meta = json.loads(str(z["__meta__"])) if "__meta__" in z.files else {}
        return arrays, meta

    def save(self, kind: str, key: str, arrays: dict[str, np.ndarray], meta: dict) -> None:
        atomic_write_bytes(self.path(kind, key), _npz_bytes(arrays, meta))

    def get_or_compute(
        self, kind: str, key: str, compute: Callable[[], tuple[dict[str, np.ndarray], dict]]
    ) -> tuple[dict[str, np.ndarray], dict, bool]:
        """Return (arrays, meta, was_cached); compute and store on a miss."""
        hit = self.load(kind, key)
        if hit is not None:
            return hit[0], hit[1], True
        arrays, meta = compute()
        self.save(kind, key, arrays, meta)
        return arrays, meta, False


def text_key(text: str) -> str:
    return hashlib.sha1(text.encode("utf-8")).hexdigest()


class FeatureStore:
    """Frozen features of one model (and pooling/max_length), stored per text in append-only shards.

    Any text embedded once is never embedded again, whatever task, split or seed asks for it.
    """

    def __init__(self, root: str | Path, model_key: str):
        self.dir = Path(root) / "features" / model_key
        self._index: dict[str, tuple[Path, int]] | None = None
        self._arrays: dict[Path, np.ndarray] = {}

    def _load_index(self) -> dict[str, tuple[Path, int]]:
        if self._index is None:
            self._index = {}
            for shard in sorted(self.dir.glob("*.npz")) if self.dir.exists() else []:
                with np.load(shard, allow_pickle=False) as z:
                    for i, h in enumerate(z["text_keys"]):
                        self._index.setdefault(str(h), (shard, i))
        return self._index

    def _features_of(self, shard: Path) -> np.ndarray:
        if shard not in self._arrays:
            with np.load(shard, allow_pickle=False) as z:
                self._arrays[shard] = z["features"]
        return self._arrays[shard]

    def missing(self, texts: list[str]) -> list[str]:
        index = self._load_index()
        seen, out = set(), []
        for t in texts:
            k = text_key(t)
            if k not in index and k not in seen:
                seen.add(k)
                out.append(t)
        return out

    def get(
        self,
        texts: list[str],
        embed: Callable[[list[str]], np.ndarray],
        chunk: int = 1024,
        on_chunk: Callable[[int], None] | None = None,
    ) -> tuple[np.ndarray, int]:
        """Features for `texts` (in order) and how many were newly computed; new ones saved per chunk."""
        todo = self.missing(texts)
        for start in range(0, len(todo), chunk):
            part = todo[start : start + chunk]
            feats = np.asarray(embed(part), dtype=np.float32)
            keys = np.array([text_key(t) for t in part])
            shard = self.dir / f"{hashlib.sha1(''.join(keys).encode()).hexdigest()[:16]}.npz"
            atomic_write_bytes(shard, _npz_bytes({"text_keys": keys, "features": feats}, {}))
            self._arrays[shard] = feats
            for i, k in enumerate(keys):
                self._index.setdefault(str(k), (shard, i))
            if on_chunk:
                on_chunk(len(part))
        index = self._load_index()
        rows = [index[text_key(t)] for t in texts]
        return np.stack([self._features_of(s)[i] for s, i in rows]) if rows else np.zeros((0, 0)), len(todo)
