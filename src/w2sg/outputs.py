"""Writing outputs the user names (`export` of records as json/csv/parquet, report folders): never over the results
store or into a workdir's cache, and atomically (a temporary file beside the target, then `os.replace`), so a
failure leaves no half file."""

from __future__ import annotations

import contextlib
import errno
import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path

SQLITE_MAGIC = b"SQLite format 3\x00"  # the first bytes of every SQLite database
STORE_NAME = "results.sqlite"
STORE_FILES = (STORE_NAME, f"{STORE_NAME}-wal", f"{STORE_NAME}-shm", f"{STORE_NAME}-journal")
CACHE_NAME = "cache"


def _is_sqlite(path: Path) -> bool:
    try:
        with open(path, "rb") as f:
            return f.read(len(SQLITE_MAGIC)) == SQLITE_MAGIC
    except OSError:
        return False


def refuse_protected(path: str | Path, workdir: str | Path | None = None, flag: str = "--output",
                     example: str = "results.json") -> None:
    """Raise ValueError (naming `flag`, the path and the fix) when writing `path` would replace a results store
    (the workdir's results.sqlite or its -wal/-shm files, or any SQLite database) or touch a workdir's cache/
    (the folder itself or anything inside it). Symbolic links are followed."""
    target = Path(path).expanduser().resolve()
    work = Path(workdir).expanduser().resolve() if workdir is not None else None
    store_dir = target.parent if target.name in STORE_FILES else None
    if store_dir is not None and (store_dir == work or (store_dir / STORE_NAME).exists()):
        raise ValueError(f"{flag} '{path}' is the results store of {store_dir}: writing there would replace "
                         f"every stored row; give another path, e.g. {flag} {example}")
    if target.is_file() and _is_sqlite(target):
        raise ValueError(f"{flag} '{path}' is a SQLite database (a results store?): an export never replaces one; "
                         f"give another path, e.g. {flag} {example}")
    for folder in [target, *target.parents]:
        if folder.name == CACHE_NAME and (folder.parent == work or (folder.parent / STORE_NAME).exists()):
            raise ValueError(f"{flag} '{path}' is inside the cache folder {folder} (the cached steps of every run "
                             f"there); give a path outside it, e.g. {flag} {example}")


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_atomic(path: str | Path, write: Callable[[Path], object]) -> None:
    """Call `write(tmp)` on a temporary file in `path`'s folder, then move it onto `path` (`os.replace`): the
    target is either left as it was or replaced whole. The folder must exist: an OSError (ENOENT, ENOTDIR) names
    it otherwise."""
    path = Path(path)
    folder = path.parent
    if not folder.exists():
        raise FileNotFoundError(errno.ENOENT, os.strerror(errno.ENOENT), str(path))
    if not folder.is_dir():
        raise NotADirectoryError(errno.ENOTDIR, os.strerror(errno.ENOTDIR), str(folder))
    try:
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as e:  # named by the target, not by the temporary name
        raise _named(e, path) from e
    os.close(fd)
    try:
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; an export gets the mode a plain write would
        write(Path(tmp))
        os.replace(tmp, path)
    except BaseException as e:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        if isinstance(e, OSError) and e.errno is not None:  # e.g. ENOSPC from a writer that names no file
            raise _named(e, path) from e
        raise


def write_text(path: str | Path, text: str) -> None:
    """`path.write_text(text)` in UTF-8, atomically (`write_atomic`)."""
    write_atomic(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))


def write_bytes(path: str | Path, data: bytes) -> None:
    """`path.write_bytes(data)`, atomically (`write_atomic`)."""
    write_atomic(path, lambda tmp: tmp.write_bytes(data))


def _named(e: OSError, path: Path) -> OSError:
    return OSError(e.errno, e.strerror or os.strerror(e.errno), str(path))  # the errno's subclass


def export(records: list[dict], fmt: str, path: str | Path | None = None,
           workdir: str | Path | None = None) -> str | None:
    """Write records as json (list of records), csv or parquet; returns the text for json/csv without path.

    A file is written atomically (whole or not at all), never over a results store nor into a workdir's cache
    (`outputs.refuse_protected`: ValueError naming --output)."""
    import pandas as pd

    if fmt not in ("json", "csv", "parquet"):
        raise ValueError(f"unknown format '{fmt}'; use json, csv or parquet")
    if path is not None:
        refuse_protected(path, workdir, "--output", f"results.{fmt}")
    if fmt == "json":
        text = json.dumps(records, indent=2, default=str)
        if path is None:
            return text
        write_text(path, text)
        return None
    flat = [{k: (json.dumps(v) if isinstance(v, dict | list) else v) for k, v in r.items()} for r in records]
    df = pd.DataFrame(flat)
    if fmt == "csv":
        if path is None:
            return df.to_csv(index=False)
        write_atomic(path, lambda tmp: df.to_csv(tmp, index=False))
        return None
    if path is None:
        raise ValueError("parquet export needs an output file: --output results.parquet")
    try:
        write_atomic(path, lambda tmp: df.to_parquet(tmp, index=False))
    except ImportError as e:
        raise ImportError("parquet export needs pyarrow: pip install 'w2sg[parquet]'") from e
    return None
