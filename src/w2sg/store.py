"""The results store: SQLite in WAL mode, one row per experiment (spec, hash, metrics, timings, versions)."""

from __future__ import annotations

import contextlib
import functools
import io
import json
import os
import platform
import shutil
import sqlite3
import subprocess
import time
import urllib.parse
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from w2sg.config import weak_label
from w2sg.outputs import SQLITE_MAGIC, export  # noqa: F401 (export: `w2sg.store.export` as before)
from w2sg.tasks.keys import is_task_file, task_key, task_name

SCHEMA = """
CREATE TABLE IF NOT EXISTS experiments (
    hash TEXT PRIMARY KEY,
    task TEXT NOT NULL, weak TEXT NOT NULL, strong TEXT NOT NULL, method TEXT NOT NULL,
    seed INTEGER NOT NULL, mode TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'ok', error TEXT,
    created_at REAL NOT NULL,
    spec_json TEXT NOT NULL, metrics_json TEXT NOT NULL,
    timings_json TEXT NOT NULL, versions_json TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS outcomes (hash TEXT PRIMARY KEY, npz BLOB NOT NULL);
"""

KEY_COLUMNS = ["task", "weak", "strong", "method", "seed", "mode"]


@functools.lru_cache(maxsize=1)
def versions() -> dict[str, str]:
    """Package and git versions recorded with every result."""
    out = {"python": platform.python_version()}
    for name in ("w2sg", "torch", "transformers", "peft", "numpy", "scikit-learn"):
        try:
            from importlib.metadata import version

            out[name] = version(name)
        except Exception:
            out[name] = "unknown"
    try:
        here = Path(__file__).resolve().parent
        sha = subprocess.run(["git", "rev-parse", "HEAD"], cwd=here, capture_output=True, text=True,
                             timeout=5)
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=here,
                               capture_output=True, text=True, timeout=5)
        if sha.returncode == 0:
            out["git"] = sha.stdout.strip() + ("-dirty" if dirty.stdout.strip() else "")
    except Exception:
        pass
    return out


KEPT = ("what finished is kept: the computed steps are in the cache, so rerunning the same command stores the "
        "rows without recomputing them")
FULL_BELOW = 64 * 2**20  # bytes free under which an I/O error of sqlite is taken for a full disk


class StoreError(ValueError):
    """The results store cannot be read or written: the message names the file, what is wrong and the fix."""



class ResultsStore:
    """One SQLite file; safe for several readers and one writer at a time (WAL).

    A file that is not a SQLite database (garbage, truncated) raises `StoreError` naming it and the fix; it is
    never written, moved or deleted. A store that cannot be written (read-only file or directory) is opened
    read-only: `records` and `has` work, `put` raises `StoreError`. A zero-byte file becomes a new store."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.read_only: str | None = None  # why the store cannot be written; None when it can
        if self.path.exists():
            self._check_header()
        else:
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as e:
                self.read_only = f"its directory cannot be created ({e.strerror or e})"
        self.read_only = self.read_only or self._unwritable()
        if self.read_only is None:
            try:
                with self._errors(), contextlib.closing(self._connect()) as con, con:
                    con.execute("SELECT count(*) FROM sqlite_master").fetchone()  # read before any write
                    if con.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
                        con.execute("PRAGMA journal_mode=WAL")
                    con.executescript(SCHEMA)
            except StoreError as e:
                if not isinstance(e.__cause__, sqlite3.OperationalError) or not _is_permission(e.__cause__):
                    raise
                self.read_only = f"sqlite cannot write it ({e.__cause__})"
        if self.read_only is not None and self.path.exists():
            self._has_table()  # a damaged read-only store is named now, not at the first listing

    # ---- opening
    def _check_header(self) -> None:
        """A non-empty file must be a whole SQLite database: its header, and at least the pages it counts."""
        try:
            with open(self.path, "rb") as f:
                head = f.read(100)
            size = self.path.stat().st_size
        except OSError as e:
            raise StoreError(f"cannot read the results store {self.path}: {e.strerror or e}") from e
        if not head:
            return  # zero bytes: sqlite makes it a new store
        if not head.startswith(SQLITE_MAGIC):
            raise self._damaged("it does not start with the SQLite header")
        if len(head) < 100:
            raise self._damaged(f"truncated: {len(head)} bytes")
        page_size = int.from_bytes(head[16:18], "big")
        page_size = 65536 if page_size == 1 else page_size
        pages = int.from_bytes(head[28:32], "big")
        if head[92:96] == head[24:28] and pages and size < pages * page_size:  # the in-header size is valid
            raise self._damaged(f"truncated: {size} bytes where its header counts {pages * page_size}")

    def _damaged(self, why: str) -> StoreError:
        p = self.path
        return StoreError(f"the results store {p} is not a readable SQLite database ({why}); it was left "
                          f"untouched. Move it aside and rerun: `mv {p} {p}.bad`; `w2sg run` / `w2sg sweep` then "
                          "start a new store and recompute its rows from the cache.")

    def _unwritable(self) -> str | None:
        d = self.path.parent
        if self.path.exists() and not os.access(self.path, os.W_OK):
            return "the file is read-only"
        if d.exists() and not os.access(d, os.W_OK):
            return f"its directory {d} is read-only"
        return None

    def _connect(self) -> sqlite3.Connection:
        if self.read_only is None:
            con = sqlite3.connect(self.path, timeout=60)
        else:
            uri = "file:" + urllib.parse.quote(str(self.path.resolve()))
            con = sqlite3.connect(uri + "?mode=ro", uri=True, timeout=60)
            try:
                con.execute("SELECT 1 FROM sqlite_master LIMIT 1").fetchall()
            except sqlite3.OperationalError as e:  # WAL without a -shm file, and none can be created here
                con.close()
                if not _is_permission(e):
                    raise
                con = sqlite3.connect(uri + "?mode=ro&immutable=1", uri=True, timeout=60)
        con.row_factory = sqlite3.Row
        return con

    @contextlib.contextmanager
    def _errors(self, writing: bool = False):
        """sqlite errors as one `StoreError` line naming the file (programming errors pass through)."""
        try:
            yield
        except (sqlite3.IntegrityError, sqlite3.ProgrammingError, sqlite3.InterfaceError):
            raise
        except sqlite3.DatabaseError as e:
            msg = str(e)
            if "not a database" in msg or "malformed" in msg or "corrupt" in msg:
                raise self._damaged(msg) from e
            if _is_permission(e):
                why = "it is read-only" if writing or "readonly" in msg else msg
                raise StoreError(f"cannot {'write' if writing else 'open'} the results store {self.path}: {why}. "
                                 "Make it and its directory writable, or use another --workdir.") from e
            if self._disk_full(e):
                raise StoreError(f"disk full writing the results store {self.path} (sqlite: {msg}): free space or "
                                 f"use --workdir elsewhere; {KEPT}") from e
            if "disk I/O error" in msg:
                raise StoreError(f"disk I/O error on the results store {self.path}: check the disk and its free "
                                 f"space, or use --workdir elsewhere; {KEPT}") from e
            raise StoreError(f"results store {self.path}: {msg}") from e

    def _disk_full(self, e: sqlite3.Error) -> bool:
        """sqlite says SQLITE_FULL ("database or disk is full"), or an I/O error on a disk with (almost) no room:
        a write that fails on a full disk is often reported as "disk I/O error"."""
        if getattr(e, "sqlite_errorcode", None) == sqlite3.SQLITE_FULL or "disk is full" in str(e):
            return True
        if "disk I/O error" not in str(e):
            return False
        try:
            return shutil.disk_usage(self.path.parent).free < FULL_BELOW
        except OSError:
            return False

    def _has_table(self) -> bool:
        with self._errors(), contextlib.closing(self._connect()) as con:
            return con.execute("SELECT 1 FROM sqlite_master WHERE type='table' AND name='experiments'"
                               ).fetchone() is not None

    # ---- reading and writing
    def put(self, spec: dict, hash_: str, metrics: dict, timings: dict, status: str = "ok",
            error: str | None = None, outcomes: Mapping[str, np.ndarray] | None = None) -> None:
        """Insert or replace the row of one experiment (`StoreError` when the store is read-only).

        outcomes: its test outcomes (`metrics.pooled.Outcomes.to_arrays`), kept beside the row (npz, no pickle)
        for the aggregates' bootstrap over test groups.

        A YAML task is stored under its `name:` (the task column); its path stays in the spec (so in the hash)
        and each record shows it as `task_path`. Rows stored before keep their path as their task."""
        if self.read_only is not None:
            raise StoreError(f"cannot write to the results store {self.path}: it is read-only ({self.read_only}). "
                             "Listing works; to add results make it and its directory writable, or use another "
                             "--workdir.")
        row = {
            "hash": hash_, "task": task_name(spec["task"]), "weak": weak_label(spec["weak"]), "strong": spec["strong"],
            "method": method_label(spec["method"]), "seed": int(spec["seed"]), "mode": spec["train"]["mode"],
            "status": status, "error": error, "created_at": time.time(),
            "spec_json": json.dumps(spec, sort_keys=True),
            "metrics_json": json.dumps(metrics, sort_keys=True, allow_nan=False),
            "timings_json": json.dumps(timings, sort_keys=True), "versions_json": json.dumps(versions()),
        }
        cols = ",".join(row)
        marks = ",".join("?" for _ in row)
        with self._errors(writing=True), contextlib.closing(self._connect()) as con, con:
            con.execute(f"INSERT OR REPLACE INTO experiments ({cols}) VALUES ({marks})", list(row.values()))
            if outcomes is not None:
                con.execute("INSERT OR REPLACE INTO outcomes (hash, npz) VALUES (?, ?)", (hash_, _npz(outcomes)))

    def outcomes(self, hashes: Iterable[str] | None = None) -> dict[str, dict[str, np.ndarray]]:
        """Stored test outcomes by experiment hash (all, or those of `hashes`); rows stored before outcomes were
        kept have none (their aggregates resample seeds only)."""
        if self.read_only is not None and not (self.path.exists() and self._has_table()):
            return {}
        want = None if hashes is None else set(hashes)
        with self._errors(), contextlib.closing(self._connect()) as con:
            if con.execute("SELECT 1 FROM sqlite_master WHERE type='table' AND name='outcomes'").fetchone() is None:
                return {}
            rows = con.execute("SELECT hash, npz FROM outcomes").fetchall()
        return {h: _from_npz(b) for h, b in rows if want is None or h in want}

    def has(self, hash_: str) -> bool:
        if self.read_only is not None and not (self.path.exists() and self._has_table()):
            return False
        with self._errors(), contextlib.closing(self._connect()) as con:
            r = con.execute("SELECT 1 FROM experiments WHERE hash=? AND status='ok'", (hash_,)).fetchone()
        return r is not None

    def records(self, status: str | None = "ok", outcomes: bool = False, **filters: Any) -> list[dict]:
        """Flat records: key columns, every metric, timings (prefixed `time_`), versions, spec; with `outcomes`
        also `test_outcomes` (the stored test outcomes' arrays, where kept) for the aggregates. `task=` takes a
        task's name, or a YAML task's name or path (`matches_task`)."""
        if self.read_only is not None and not (self.path.exists() and self._has_table()):
            return []
        where, args = [], []
        if status:
            where.append("status=?")
            args.append(status)
        for k, v in filters.items():
            if k == "task" and v is not None:  # a task's name, or a YAML task's name or path (as any key of it)
                where.append("(task IN (?, ?) OR json_extract(spec_json, '$.task') = ?)")
                args += [v, task_key(v), task_key(v)]
            elif v is not None:
                where.append(f"{k}=?")
                args.append(v)
        sql = "SELECT * FROM experiments" + (" WHERE " + " AND ".join(where) if where else "")
        sql += " ORDER BY task, weak, strong, method, seed"
        with self._errors(), contextlib.closing(self._connect()) as con:
            rows = con.execute(sql, args).fetchall()
        out = [flatten(dict(r)) for r in rows]
        if outcomes:
            kept = self.outcomes(r["hash"] for r in out)
            for r in out:
                if r["hash"] in kept:
                    r["test_outcomes"] = kept[r["hash"]]
        return out


def _npz(arrays: Mapping[str, np.ndarray]) -> bytes:
    buf = io.BytesIO()
    np.savez_compressed(buf, **{k: np.asarray(v) for k, v in arrays.items()})
    return buf.getvalue()


def _from_npz(blob: bytes) -> dict[str, np.ndarray]:
    with np.load(io.BytesIO(blob), allow_pickle=False) as z:
        return {k: z[k] for k in z.files}


def _is_permission(e: sqlite3.Error) -> bool:
    msg = str(e)
    return "readonly" in msg or "read-only" in msg or "unable to open" in msg or "permission" in msg.lower()


RETIRED = {  # methods that became supervisor kinds; their stored rows stay readable as they were computed
    "weak_ensemble": "now the supervisor kind 'ensemble'; in these rows the PGR floor (weak_acc) is the single weak "
                     "model and supervisor_acc the ensemble's, while ensemble-supervised rows use the ensemble",
    "bootstrap": "now the supervisor kind 'chain' (same labels; the floor is still the weak model)",
}


def retired_notes(records: list[dict]) -> list[str]:
    """One line per retired method found in `records`, saying what it became and how its rows differ."""
    out = []
    for name, note in RETIRED.items():
        n = sum(1 for r in records if str(r.get("method", "")).split("(")[0] == name)
        if n:
            out.append(f"{n} row(s) use the retired method '{name}': {note}.")
    return out


def method_label(method: dict | str) -> str:
    """The method (chain) as tables show it, e.g. 'confidence(a_max=0.3)' or 'generative_finetune+naive'."""
    if isinstance(method, str):
        return method
    opts = method.get("options") or {}
    label = method["name"] + ("(" + ",".join(f"{k}={v}" for k, v in sorted(opts.items())) + ")" if opts else "")
    return label + ("+" + method_label(method["then"]) if method.get("then") else "")


def flatten(row: dict) -> dict:
    out = {k: row[k] for k in ["hash", *KEY_COLUMNS, "status", "error", "created_at"]}
    out.update(json.loads(row["metrics_json"]))
    out.update({f"time_{k}": v for k, v in json.loads(row["timings_json"]).items()})
    out["versions"] = json.loads(row["versions_json"])
    out["spec"] = json.loads(row["spec_json"])
    out["variant"] = variant(out["spec"])
    if is_task_file(out["spec"].get("task", "")):  # a YAML task: `task` is its name (its path in older rows)
        out["task_path"] = out["spec"]["task"]
    return out


def matches_task(record: Mapping[str, Any], tasks: Iterable[str]) -> bool:
    """The record is of one of `tasks`: each a task's name, or a YAML task's name or path (any spelling of the
    path `task_key` resolves)."""
    keys = {k for t in tasks for k in (t, task_key(t))}
    return record.get("task") in keys or record.get("task_path") in keys


def variant(spec: dict) -> str:
    """The split and training settings that differ from the defaults, e.g. 'train.lr=0.001' ('' if none):
    experiments that differ only there are different configurations, never pooled as seeds."""
    from w2sg.config import SplitSpec, TrainSpec

    parts = []
    for section, default in (("splits", SplitSpec()), ("train", TrainSpec())):
        d = default.model_dump(mode="json")
        parts += [f"{section}.{k}={v}" for k, v in sorted(spec.get(section, {}).items()) if d.get(k) != v]
    if spec.get("balance_test") is False:
        parts.append("balance_test=False")
    return ",".join(parts)  # the student's budget is a column of its own (`budget`), grouped on separately


def with_variant_labels(records: list[dict]) -> list[dict]:
    """Copies whose `method` names the variant too (for tables and figures that group by method)."""
    return [dict(r, method=f"{r['method']} {{{r['variant']}}}") if r.get("variant") else r for r in records]


def _field(record: Any, key: str) -> Any:
    """A key of a flat record, or an attribute of an `ExperimentResult`."""
    return record.get(key) if isinstance(record, Mapping) else getattr(record, key, None)


def distinct(records: Iterable[Any]) -> list[Any]:
    """Each experiment once: records with a store `hash` seen before are dropped (the first is kept); records
    without one (hand-built) are all kept. Aggregates count experiments, so the same record passed twice must
    not become two seeds."""
    seen: set[str] = set()
    out = []
    for r in records:
        h = _field(r, "hash")
        if h is not None:
            if h in seen:
                continue
            seen.add(h)
        out.append(r)
    return out


UNKNOWN_FINGERPRINT = "unknown"  # the version label of records stored before they carried task_fingerprint


def version_key(record: Any) -> tuple[Any, str | None]:
    """(task, task_fingerprint) of a record or result; a missing or empty fingerprint is None (its own version)."""
    fp = _field(record, "task_fingerprint")
    return _field(record, "task"), (str(fp) if fp else None)


def task_versions(records: Iterable[Any]) -> tuple[dict[tuple[Any, str | None], Any], list[str]]:
    """The task label of each `version_key` in `records`, and one warning per task with several versions.

    A task whose rows changed keeps its name but not its fingerprint (the content hash of its rows). When one
    task name has more than one fingerprint among `records`, each version is labelled `task@<first 6 hex of
    its fingerprint>` (more hex when 6 do not tell them apart; `task@unknown` for records without one), so that
    tables and figures never pool them as seeds; a task with one version keeps its name."""
    versions: dict[Any, list[str | None]] = {}
    for r in records:
        task, fp = version_key(r)
        if fp not in versions.setdefault(task, []):
            versions[task].append(fp)
    labels: dict[tuple[Any, str | None], Any] = {}
    warnings = []
    for task, fps in versions.items():
        if len(fps) == 1:
            labels[(task, fps[0])] = task
            continue
        known = sorted(fp for fp in fps if fp is not None)
        n = 6
        while len({fp[:n] for fp in known}) < len(known):
            n += 1
        short = {fp: fp[:n] for fp in known} | {None: UNKNOWN_FINGERPRINT}
        ordered = [*known, *([None] if None in fps else [])]
        labels |= {(task, fp): f"{task}@{short[fp]}" for fp in ordered}
        warnings.append(
            f"task '{task}' has results from {len(fps)} versions of its data (fingerprints "
            f"{', '.join(short[fp] for fp in ordered)}); they are shown separately as "
            f"{', '.join(f'{task}@{short[fp]}' for fp in ordered)}"
            + (f" ('{UNKNOWN_FINGERPRINT}': rows stored before records carried a fingerprint)" if None in fps
               else "") + ".")
    return labels, warnings


def with_task_versions(records: list[dict]) -> tuple[list[dict], list[str]]:
    """(records, warnings): copies of the records of a task with several versions of its data, whose `task`
    names the version (`task@abc123`, see `task_versions`), the other records as they are, and one warning per
    such task. Idempotent: labelled records are one version per name, so a second call warns no more."""
    labels, warnings = task_versions(records)
    out = []
    for r in records:
        label = labels[version_key(r)]
        out.append(r if label == r.get("task") else dict(r, task=label))
    return out, warnings
