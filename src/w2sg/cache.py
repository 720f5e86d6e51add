"""Content-addressed artifacts with atomic writes, and a per-text store of frozen features.

An artifact's key is a content hash of everything that affects it (see `config.content_hash`); a file
either exists complete or not at all (write to a temp file, fsync, `os.replace`), so after Ctrl-C or
`kill -9` a rerun loses at most the step that was in flight.

Nothing incomplete or non-finite is written: features must have one finite row per text, an artifact's
float arrays must be finite and have the rows the caller expects (`CacheIntegrityError` otherwise, and
nothing is cached). A file that exists but cannot be read back (truncated, emptied or garbled on disk), or
whose arrays hold inf or NaN or not the rows it was written with, is damage, not a hit: it is moved aside
to `<cache>/quarantine/<its path under the cache>.<UTC timestamp>` (never deleted), a
`CacheDamageWarning` names it and where it went, and the entry is recomputed as if it had been missing. If
it cannot be moved aside, `CacheDamageError` names it.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import warnings
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import TypeVar

import numpy as np

T = TypeVar("T")


class CacheDamageWarning(UserWarning):
    """A cache file could not be read; it was moved aside and its entry is recomputed."""


class CacheDamageError(RuntimeError):
    """A cache file could not be read, nor moved aside (the message names it)."""


class CacheIntegrityError(ValueError):
    """Computed arrays that are incomplete or not finite; they are not written to the cache."""


def _bad_values(a: np.ndarray) -> int:
    """How many entries of `a` are inf or NaN (0 for arrays that are not floating point)."""
    a = np.asarray(a)
    return int(a.size - np.count_nonzero(np.isfinite(a))) if np.issubdtype(a.dtype, np.floating) else 0


def _first_bad_rows(a: np.ndarray, k: int = 5) -> list[int]:
    bad = ~np.isfinite(a.reshape(len(a), -1)).all(axis=1) if a.ndim else np.zeros(0, dtype=bool)
    return np.flatnonzero(bad)[:k].tolist()


def check_arrays(arrays: dict[str, np.ndarray], rows: dict[str, int] | None = None, what: str = "arrays") -> None:
    """CacheIntegrityError unless every float array is finite and every array named in `rows` has that many rows."""
    for name, a in arrays.items():
        a = np.asarray(a)
        if rows and name in rows and (a.ndim == 0 or a.shape[0] != rows[name]):
            raise CacheIntegrityError(f"{what}: '{name}' has {a.shape[0] if a.ndim else 0} rows, expected "
                                      f"{rows[name]}; not cached")
        if n := _bad_values(a):
            raise CacheIntegrityError(f"{what}: '{name}' holds {n} inf or NaN value(s) (rows "
                                      f"{_first_bad_rows(a)}...); not cached. A model whose outputs are not "
                                      "finite: try --device cpu (float32), another model, or a smaller lr")


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """`outputs.write_atomic` into a folder made on demand, synced to disk before the move (a kill leaves the
    old entry or the new one, never half of one)."""
    from w2sg.outputs import write_atomic

    def write_synced(tmp: Path) -> None:
        with open(tmp, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())

    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(path, write_synced)


def _npz_bytes(arrays: dict[str, np.ndarray], meta: dict) -> bytes:
    buf = io.BytesIO()
    np.savez(buf, __meta__=np.array(json.dumps(meta, sort_keys=True, default=str)), **arrays)
    return buf.getvalue()


def _signature(st: os.stat_result) -> tuple[int, int, int]:
    return st.st_ino, st.st_size, st.st_mtime_ns


def _move_aside(path: Path, root: Path) -> Path:
    """Move `path` to `root/quarantine/<path relative to root>.<UTC timestamp>` (never overwriting)."""
    try:
        rel = path.relative_to(root)
    except ValueError:
        rel = Path(path.name)
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S.%fZ")
    dest = root / "quarantine" / rel.parent / f"{rel.name}.{stamp}"
    n = 0
    while dest.exists():
        n += 1
        dest = dest.with_name(f"{rel.name}.{stamp}-{n}")
    dest.parent.mkdir(parents=True, exist_ok=True)
    os.rename(path, dest)
    return dest


def read_or_quarantine(path: Path, root: Path, read: Callable[[Path], T]) -> T | None:
    """`read(path)`, or None when `path` is absent or damaged. Anything `read` raises other than OSError and
    MemoryError (BadZipFile, EOFError, ValueError for a pickle or a bad header, KeyError for a missing
    array, ...) is damage: the file is moved aside under `root/quarantine`, with a `CacheDamageWarning`
    naming both paths. A file replaced while it was read (another process rewrote it) is read again."""
    for attempt in range(3):
        try:
            before = _signature(path.stat())
            return read(path)
        except FileNotFoundError:
            return None
        except (OSError, MemoryError):
            raise
        except Exception as err:
            damage = err
        try:
            if _signature(path.stat()) != before and attempt < 2:
                continue  # rewritten while we read it: read the new file
        except FileNotFoundError:
            return None  # another process moved it aside already
        what = f"{type(damage).__name__}: {damage}"
        try:
            dest = _move_aside(path, root)
        except FileNotFoundError:
            return None
        except OSError as err:
            raise CacheDamageError(f"cache entry {path} is damaged ({what}) and could not be moved aside "
                                   f"({err}); move or delete it and rerun") from damage
        warnings.warn(f"cache entry {path} was damaged ({what}); moved to {dest}, recomputing",
                      CacheDamageWarning, stacklevel=3)
        return None
    return None


ROWS = "__rows__"  # meta key: the rows each array was written with (checked on reading, not returned)


def _read_artifact(path: Path) -> tuple[dict[str, np.ndarray], dict]:
    with open(path, "rb") as fh, np.load(fh, allow_pickle=False) as z:  # our handle: closed even if np.load fails
        arrays = {k: z[k] for k in z.files if k != "__meta__"}
        meta = json.loads(str(z["__meta__"])) if "__meta__" in z.files else {}
    if not isinstance(meta, dict):
        raise ValueError(f"meta is a {type(meta).__name__}, not a mapping")
    rows = meta.pop(ROWS, None) or {}
    if missing := sorted(set(rows) - set(arrays)):
        raise KeyError(f"arrays {missing} are missing")
    try:
        check_arrays(arrays, rows, "the file")
    except CacheIntegrityError as e:  # damage on reading: the caller moves the file aside
        raise ValueError(str(e).replace("; not cached", "")) from None
    return arrays, meta


class Cache:
    """Artifacts (`kind`, `key`) -> ({name: array}, meta) stored as `root/kind/key.npz`; damaged files go
    to `root/quarantine/kind/key.npz.<timestamp>` and count as missing."""

    def __init__(self, root: str | Path):
        self.root = Path(root)

    def path(self, kind: str, key: str) -> Path:
        return self.root / kind / f"{key}.npz"

    def load(self, kind: str, key: str) -> tuple[dict[str, np.ndarray], dict] | None:
        """The artifact, or None if it is absent or was damaged (then moved aside, with a warning)."""
        return read_or_quarantine(self.path(kind, key), self.root, _read_artifact)

    def save(self, kind: str, key: str, arrays: dict[str, np.ndarray], meta: dict,
             rows: dict[str, int] | None = None) -> None:
        """Write an artifact after checking it (`check_arrays`: finite, and the `rows` expected per array)."""
        check_arrays(arrays, rows, f"cache entry {kind}/{key}")
        written = {name: int(np.asarray(a).shape[0]) for name, a in arrays.items() if np.ndim(a)}
        atomic_write_bytes(self.path(kind, key), _npz_bytes(arrays, {**meta, ROWS: written}))

    def get_or_compute(
        self, kind: str, key: str, compute: Callable[[], tuple[dict[str, np.ndarray], dict]], force: bool = False,
        rows: dict[str, int] | None = None,
    ) -> tuple[dict[str, np.ndarray], dict, bool]:
        """Return (arrays, meta, was_cached); compute and store on a miss (a damaged file is a miss), or
        always with `force` (the entry is then replaced atomically). `rows`: the rows expected per array name."""
        hit = None if force else self.load(kind, key)
        if hit is not None:
            return hit[0], hit[1], True
        arrays, meta = compute()
        self.save(kind, key, arrays, meta, rows)
        return arrays, meta, False


def text_key(text: str) -> str:
    return hashlib.sha1(text.encode("utf-8")).hexdigest()


def _read_text_keys(shard: Path) -> list[str]:
    with open(shard, "rb") as fh, np.load(fh, allow_pickle=False) as z:
        keys = z["text_keys"]
        if "features" not in z.files:
            raise KeyError("features")
    if keys.ndim != 1:
        raise ValueError(f"text_keys has shape {keys.shape}")
    return [str(k) for k in keys]


def _read_features(shard: Path, n_rows: int) -> np.ndarray:
    with open(shard, "rb") as fh, np.load(fh, allow_pickle=False) as z:
        feats = z["features"]
    if feats.ndim != 2 or feats.shape[0] != n_rows:  # not the shard the index was built from
        raise ValueError(f"features has shape {feats.shape}, expected {n_rows} rows")
    if n := _bad_values(feats):
        raise ValueError(f"features hold {n} inf or NaN value(s) (rows {_first_bad_rows(feats)}...)")
    return feats


def _check_features(feats: np.ndarray, n_texts: int, where: Path) -> None:
    """One finite row of at least one value per text, or CacheIntegrityError (nothing is written)."""
    if feats.ndim != 2 or feats.shape[0] != n_texts or feats.shape[1] < 1:
        raise CacheIntegrityError(f"features for {where}: shape {feats.shape} for {n_texts} texts; not cached")
    if n := _bad_values(feats):
        raise CacheIntegrityError(f"features for {where}: {n} inf or NaN value(s) in rows "
                                  f"{_first_bad_rows(feats)}...; not cached. A model whose outputs are not finite: "
                                  "try --device cpu (float32) or another model")


class _ShardLost(Exception):
    """A shard in the index turned out damaged (moved aside) or gone; its texts are missing again."""


class FeatureStore:
    """Frozen features of one model (and pooling/max_length), stored per text in append-only shards.

    Any text embedded once is never embedded again, whatever task, split or seed asks for it. The index
    (text -> shard, row) is built from the shards' own text keys; a damaged shard is moved aside to
    `<root>/quarantine/features/<model_key>/` and its texts become missing (recomputed on the next `get`),
    while the other shards stay in use.
    """

    def __init__(self, root: str | Path, model_key: str):
        self.root = Path(root)
        self.dir = self.root / "features" / model_key
        self._index: dict[str, tuple[Path, int]] | None = None
        self._shard_keys: dict[Path, list[str]] = {}
        self._arrays: dict[Path, np.ndarray] = {}

    def _load_index(self) -> dict[str, tuple[Path, int]]:
        if self._index is None:
            self._index = {}
            for shard in sorted(self.dir.glob("*.npz")) if self.dir.exists() else []:
                keys = read_or_quarantine(shard, self.root, _read_text_keys)
                if keys is not None:
                    self._add(shard, keys)
        return self._index

    def _add(self, shard: Path, keys: list[str]) -> None:
        self._shard_keys[shard] = keys
        for i, k in enumerate(keys):
            self._index.setdefault(k, (shard, i))

    def _drop(self, shard: Path) -> None:
        """Forget a lost shard: its texts point to another shard that holds them, or become missing."""
        self._arrays.pop(shard, None)
        lost = {k for k in self._shard_keys.pop(shard, []) if self._index.get(k, (None,))[0] == shard}
        for k in lost:
            del self._index[k]
        for other, keys in self._shard_keys.items():
            for i, k in enumerate(keys):
                if k in lost:
                    self._index.setdefault(k, (other, i))

    def _features_of(self, shard: Path) -> np.ndarray:
        if shard not in self._arrays:
            n = len(self._shard_keys.get(shard, []))
            feats = read_or_quarantine(shard, self.root, lambda p: _read_features(p, n))
            if feats is None:
                self._drop(shard)
                raise _ShardLost(shard)
            self._arrays[shard] = feats
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
        """Features for `texts` (in order) and how many were newly computed; new ones saved per chunk.
        Texts of a shard found damaged on reading are embedded again (each pass moves one shard aside)."""
        n_new = 0
        while True:
            todo = self.missing(texts)
            for start in range(0, len(todo), chunk):
                part = todo[start : start + chunk]
                feats = np.asarray(embed(part), dtype=np.float32)
                _check_features(feats, len(part), self.dir)
                keys = [text_key(t) for t in part]
                shard = self.dir / f"{hashlib.sha1(''.join(keys).encode()).hexdigest()[:16]}.npz"
                atomic_write_bytes(shard, _npz_bytes({"text_keys": np.array(keys), "features": feats}, {}))
                self._arrays[shard] = feats
                self._add(shard, keys)
                if on_chunk:
                    on_chunk(len(part))
            n_new += len(todo)
            index = self._load_index()
            rows = [index[text_key(t)] for t in texts]
            try:
                return (np.stack([self._features_of(s)[i] for s, i in rows]) if rows else np.zeros((0, 0)),
                        n_new)
            except _ShardLost:
                continue

