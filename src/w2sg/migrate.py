"""One-time migrations of a results store to the row shapes the current pipeline writes (`w2sg store migrate`).

Rows stored before the supervisor redesign carry no `supervisor_kind`: every supervisor was a plain model, and two
methods did what supervisors and adapters do now. `migrate_store` rewrites such rows once, so readers (the
studies, reports) see one shape and rename nothing on every read:

- every old row: `supervisor_kind: model` and `supervisor: <its weak label>` added to its metrics;
- `bootstrap(chain=[r, ...])` (the bootstrap method: the weak model labels a fresh slice for the rung(s), the last
  of which labels B for a naive student; the PGR floor stays the weak model) becomes what the current pipeline
  writes for it: the chain supervisor `{kind: chain, model: <weak>, rungs: [r, ...]}` with method `naive`
  (`supervisor_kind: chain`; `supervisor_acc`, the last rung's accuracy, stays as stored);
- `generative_finetune` (the method that adapted the strong model, then trained it naively) becomes the adapter
  chain `generative_finetune+naive`;
- a YAML task stored under its path (rows from before records named a YAML task by its `name:`) gets the
  `name:` of the file at that path (read relative to the working directory, as the path was keyed), the name
  new rows get (`tasks.keys.task_name`); a file that cannot be read keeps its path, and the report says so;
- `weak_ensemble` rows keep their method: their PGR floor is the single weak model, which no ensemble supervisor
  reproduces (`store.RETIRED` says how they differ).

The numbers, the hash (the row's key; its test outcomes are stored under it), created_at and versions of a row are
kept as they were computed; the spec, the `weak` and `method` columns and the two metrics keys above change. The
migration is idempotent (a migrated row has `supervisor_kind`, so a second run changes nothing), all rows change
in one SQLite transaction (a failure leaves the store as it was), and a store it does not understand (no
`experiments` table, other columns, a row that is not JSON, an old row whose supervisor is not a plain model, a
bootstrap row without its chain) is refused whole before anything is written.
"""

from __future__ import annotations

import contextlib
import copy
import json
import sqlite3
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from w2sg.config import weak_label
from w2sg.store import ResultsStore, StoreError, method_label
from w2sg.tasks.keys import is_task_file, task_name

COLUMNS = ("hash", "task", "weak", "strong", "method", "seed", "mode", "status", "error", "created_at", "spec_json",
           "metrics_json", "timings_json", "versions_json")


class MigrationError(StoreError):
    """The store holds something the migration does not understand; nothing was written."""


@dataclass
class Change:
    """What the migration does to one row."""

    hash: str
    before: str  # 'weak / method' as stored
    after: str  # 'weak / method' after the migration
    what: str  # one line: the old shape and the new

    def line(self) -> str:
        return f"{self.hash}: {self.what}"


@dataclass
class MigrationReport:
    """The rows a migration changed (or would change, with `dry_run`), and the rows it left as they were."""

    path: Path
    changes: list[Change] = field(default_factory=list)
    unchanged: int = 0
    dry_run: bool = False
    unread_tasks: set[str] = field(default_factory=set)  # YAML task paths whose file could not be read

    def summary(self) -> str:
        verb = "would migrate" if self.dry_run else "migrated"
        unread = (f"; kept the path of YAML task(s) whose file could not be read from here: "
                  f"{', '.join(sorted(self.unread_tasks))} (run it from the directory the sweep ran in)"
                  if self.unread_tasks else "")
        if not self.changes:
            return f"{self.path}: nothing to migrate ({self.unchanged} row(s) already in the current shape){unread}"
        kinds: dict[str, int] = {}
        for c in self.changes:
            kinds[c.what] = kinds.get(c.what, 0) + 1
        return (f"{self.path}: {verb} {len(self.changes)} row(s), {self.unchanged} already in the current shape: "
                + "; ".join(f"{n} x {what}" for what, n in kinds.items()) + unread)


def _old_method(method: Any) -> tuple[str, dict]:
    """(name, options) of a stored method spec (a mapping or, in the oldest rows, a label)."""
    if isinstance(method, str):
        name, _, rest = method.partition("(")
        if name == "bootstrap" and rest.startswith("chain="):
            import ast

            return name, {"chain": ast.literal_eval(rest[len("chain="):-1])}
        if rest:
            raise MigrationError(f"method label {method!r}: options in a label are not understood")
        return name, {}
    if not isinstance(method, dict) or "name" not in method:
        raise MigrationError(f"method {method!r} is neither a label nor a {{name, options}} mapping")
    return method["name"], dict(method.get("options") or {})


def migrate_row(row: dict) -> tuple[dict, str] | None:
    """The row (the store's columns, JSON parsed: spec, metrics) in the current shape with one line saying what
    changed, or None when it already is; `MigrationError` when it is not understood."""
    spec, metrics = row["spec"], row["metrics"]
    if not isinstance(spec, dict) or not isinstance(metrics, dict):
        raise MigrationError(f"row {row['hash']}: spec and metrics must be JSON objects")
    if "supervisor_kind" in metrics:
        return None
    weak = spec.get("weak")
    if not isinstance(weak, str):
        raise MigrationError(f"row {row['hash']}: no supervisor_kind, but its weak supervisor {weak!r} is not a plain "
                             "model (rows from before the redesign always name one)")
    name, options = _old_method(spec.get("method", row["method"]))
    new_spec, new_metrics = copy.deepcopy(spec), dict(metrics)
    kind, what = "model", f"{row['method']}: supervisor_kind model added"
    if name == "bootstrap":
        rungs = options.pop("chain", None)
        if not rungs or not isinstance(rungs, list) or options:
            raise MigrationError(f"row {row['hash']}: bootstrap without its chain of rungs ({spec.get('method')!r})")
        new_spec["weak"] = {"kind": "chain", "model": weak, "rungs": list(rungs)}
        new_spec["method"] = {"name": "naive", "options": {}}
        kind, what = "chain", f"{row['method']} -> chain supervisor {{model: {weak}, rungs: {rungs}}} with naive"
    elif name == "generative_finetune" and not (isinstance(spec.get("method"), dict) and spec["method"].get("then")):
        new_spec["method"] = {"name": "generative_finetune", "options": options,
                              "then": {"name": "naive", "options": {}}}
        what = f"{row['method']} -> the adapter chain generative_finetune+naive"
    new_metrics["supervisor_kind"] = kind
    new_metrics["supervisor"] = weak_label(new_spec["weak"])
    new = dict(row, spec=new_spec, metrics=new_metrics)
    if new_spec["weak"] != weak or new_spec.get("method") != spec.get("method"):  # the columns follow the spec
        new.update(weak=weak_label(new_spec["weak"]), method=method_label(new_spec["method"]))
    return new, what


def migrate_task(stored: str, spec: dict) -> tuple[str, bool | None]:
    """(the task column, whether it changed): a YAML task stored under its path gets the file's `name:`;
    changed is None when the file could not be read (the row keeps its path)."""
    if not (is_task_file(stored) and spec.get("task") == stored):
        return stored, False
    name = task_name(stored)
    return name, (name != stored) or None


def _check_schema(con: sqlite3.Connection, path: Path) -> None:
    tables = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    if "experiments" not in tables:
        raise MigrationError(f"{path} has no experiments table: not a w2sg results store; nothing was written")
    cols = tuple(r[1] for r in con.execute("PRAGMA table_info(experiments)"))
    if set(cols) != set(COLUMNS):
        raise MigrationError(f"{path}: the experiments table has columns {list(cols)}, not the store's "
                             f"{list(COLUMNS)}; this migration does not know that store; nothing was written")


def migrate_store(path: str | Path, dry_run: bool = False) -> MigrationReport:
    """Bring every row of the store at `path` to the current shape (see the module's doc), in one transaction;
    with `dry_run`, only say what would change."""
    path = Path(path)
    if not path.is_file():
        raise MigrationError(f"no results store at {path}")
    try:  # look before opening it as a store (which would add the store's tables to a foreign database)
        uri = "file:" + urllib.parse.quote(str(path.resolve())) + "?mode=ro"
        with contextlib.closing(sqlite3.connect(uri, uri=True, timeout=60)) as con:
            _check_schema(con, path)
    except sqlite3.DatabaseError as e:
        raise MigrationError(f"{path} is not a readable SQLite database ({e}); nothing was written") from None
    store = ResultsStore(path)
    if store.read_only is not None and not dry_run:
        raise MigrationError(f"cannot migrate {path}: it is read-only ({store.read_only})")
    report = MigrationReport(path, dry_run=dry_run)
    with contextlib.closing(sqlite3.connect(path, timeout=60)) as con:
        con.row_factory = sqlite3.Row
        _check_schema(con, path)
        updates = []
        for r in con.execute("SELECT hash, task, weak, method, spec_json, metrics_json FROM experiments "
                              "ORDER BY hash"):
            try:
                row = {"hash": r["hash"], "weak": r["weak"], "method": r["method"],
                       "spec": json.loads(r["spec_json"]), "metrics": json.loads(r["metrics_json"])}
            except json.JSONDecodeError as e:
                raise MigrationError(f"{path}: row {r['hash']} is not JSON ({e}); nothing was written") from None
            done = migrate_row(row)
            task, renamed = migrate_task(r["task"], row["spec"])
            if renamed is None:
                report.unread_tasks.add(r["task"])
            if done is None and not renamed:
                report.unchanged += 1
                continue
            new, what = done or (row, "")
            what = "; ".join(w for w in (what, renamed and f"task {r['task']} -> its name: {task}") if w)
            report.changes.append(Change(r["hash"], f"{r['weak']} / {r['method']}", f"{new['weak']} / {new['method']}",
                                         what))
            updates.append((task, new["weak"], new["method"], json.dumps(new["spec"], sort_keys=True),
                            json.dumps(new["metrics"], sort_keys=True, allow_nan=False), r["hash"]))
        if updates and not dry_run:
            with con:  # one transaction: every row or none
                con.executemany("UPDATE experiments SET task=?, weak=?, method=?, spec_json=?, metrics_json=? "
                                "WHERE hash=?", updates)
    return report
