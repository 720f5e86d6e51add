"""The results store: SQLite in WAL mode, one row per experiment (spec, hash, metrics, timings, versions)."""

from __future__ import annotations

import functools
import json
import platform
import sqlite3
import subprocess
import time
from pathlib import Path
from typing import Any

from w2sg.config import weak_label

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


class ResultsStore:
    """One SQLite file; safe for several readers and one writer at a time (WAL)."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._connect() as con:
            con.execute("PRAGMA journal_mode=WAL")
            con.executescript(SCHEMA)

    def _connect(self) -> sqlite3.Connection:
        con = sqlite3.connect(self.path, timeout=60)
        con.row_factory = sqlite3.Row
        return con

    def put(self, spec: dict, hash_: str, metrics: dict, timings: dict, status: str = "ok",
            error: str | None = None) -> None:
        """Insert or replace the row of one experiment."""
        row = {
            "hash": hash_, "task": spec["task"], "weak": weak_label(spec["weak"]), "strong": spec["strong"],
            "method": method_label(spec["method"]), "seed": int(spec["seed"]), "mode": spec["train"]["mode"],
            "status": status, "error": error, "created_at": time.time(),
            "spec_json": json.dumps(spec, sort_keys=True),
            "metrics_json": json.dumps(metrics, sort_keys=True, allow_nan=False),
            "timings_json": json.dumps(timings, sort_keys=True), "versions_json": json.dumps(versions()),
        }
        cols = ",".join(row)
        marks = ",".join("?" for _ in row)
        with self._connect() as con:
            con.execute(f"INSERT OR REPLACE INTO experiments ({cols}) VALUES ({marks})", list(row.values()))

    def has(self, hash_: str) -> bool:
        with self._connect() as con:
            r = con.execute("SELECT 1 FROM experiments WHERE hash=? AND status='ok'", (hash_,)).fetchone()
        return r is not None

    def records(self, status: str | None = "ok", **filters: Any) -> list[dict]:
        """Flat records: key columns, every metric, timings (prefixed `time_`), versions, spec."""
        where, args = [], []
        if status:
            where.append("status=?")
            args.append(status)
        for k, v in filters.items():
            if v is not None:
                where.append(f"{k}=?")
                args.append(v)
        sql = "SELECT * FROM experiments" + (" WHERE " + " AND ".join(where) if where else "")
        sql += " ORDER BY task, weak, strong, method, seed"
        with self._connect() as con:
            rows = con.execute(sql, args).fetchall()
        return [flatten(dict(r)) for r in rows]


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
    return out


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


def export(records: list[dict], fmt: str, path: str | Path | None = None) -> str | None:
    """Write records as json (list of records), csv or parquet; returns the text for json/csv without path."""
    import pandas as pd

    if fmt == "json":
        text = json.dumps(records, indent=2, default=str)
        if path is None:
            return text
        Path(path).write_text(text)
        return None
    flat = [{k: (json.dumps(v) if isinstance(v, dict | list) else v) for k, v in r.items()} for r in records]
    df = pd.DataFrame(flat)
    if fmt == "csv":
        if path is None:
            return df.to_csv(index=False)
        df.to_csv(path, index=False)
        return None
    if fmt == "parquet":
        if path is None:
            raise ValueError("parquet export needs an output file: --output results.parquet")
        try:
            df.to_parquet(path, index=False)
        except ImportError as e:
            raise ImportError("parquet export needs pyarrow: pip install 'w2sg[parquet]'") from e
        return None
    raise ValueError(f"unknown format '{fmt}'; use json, csv or parquet")
