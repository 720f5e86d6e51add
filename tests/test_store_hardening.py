"""No silently wrong aggregate, no raw traceback, every damaged store named: task versions (a task whose data
changed keeps its name but not its fingerprint) are never pooled as seeds, duplicate records are one experiment,
a damaged or read-only results store gives one clear line (and is never touched), failed cells can be listed."""

from __future__ import annotations

import contextlib
import gc
import json
import os
import sqlite3

import pytest
from typer.testing import CliRunner

from w2sg import store as st
from w2sg.cli import app
from w2sg.config import ExperimentSpec
from w2sg.report.aggregate import methods_compared_data, pgr_heatmap_data, student_vs_ceiling_data
from w2sg.report.summary import summarize
from w2sg.store import ResultsStore

runner = CliRunner()
FP_A, FP_B = "aaaaaa1111111111", "bbbbbb2222222222"


def rec(seed: int = 0, fp: str | None = FP_A, task: str = "t", method: str = "naive", pgr: float = 0.5,
        hash_: str | None = None, **kw) -> dict:
    """A flat record as the store returns it (hash, key columns, headline metrics, task_fingerprint)."""
    r = {"hash": hash_ or f"h-{task}-{method}-{seed}-{fp}", "task": task, "weak": "w", "strong": "s",
         "method": method, "seed": seed, "mode": "frozen", "variant": "", "status": "ok", "weak_acc": 0.7,
         "ceiling_acc": 0.9, "student_acc": 0.7 + 0.2 * pgr, "pgr_acc": pgr, "pgr_acc_ci_low": pgr - 0.1,
         "pgr_acc_ci_high": pgr + 0.1, "unstable": False, "pgr_auroc": pgr, "unstable_auroc": False, **kw}
    if fp is not None:
        r["task_fingerprint"] = fp
    return r


def metrics(pgr: float, fp: str | None) -> dict:
    m = {k: v for k, v in rec(pgr=pgr, fp=fp).items() if k not in ("hash", "task", "weak", "strong", "method",
                                                                   "seed", "mode", "variant", "status")}
    return m


def put(store: ResultsStore, seed: int, fp: str | None, pgr: float, task: str = "sst2", status: str = "ok",
        error: str | None = None) -> str:
    spec = ExperimentSpec(seed=seed, task=task).model_dump(mode="json")
    h = f"{task}-{seed}-{fp}-{status}"
    store.put(spec, h, metrics(pgr, fp) if status == "ok" else {}, {"total": 1.0}, status=status, error=error)
    return h


# ---------------------------------------------------------------- 1. task versions are not seeds


def test_two_versions_of_a_task_are_two_rows_not_two_seeds():
    rows = summarize([rec(0, FP_A, pgr=0.2), rec(0, FP_B, pgr=0.8)])
    assert len(rows) == 2
    assert all(r["seeds"] == [0] and r["n_seeds"] == 1 for r in rows)
    assert sorted(r["pgr_acc_seed_mean"] for r in rows) == [0.2, 0.8]
    assert sorted(r["task"] for r in rows) == ["t@aaaaaa", "t@bbbbbb"]
    assert sorted(r["task_fingerprint"] for r in rows) == [FP_A, FP_B]


def test_old_records_without_fingerprint_are_a_version_of_their_own():
    rows = summarize([rec(0, None, pgr=0.2), rec(1, None, pgr=0.4), rec(2, FP_A, pgr=0.9)])
    assert sorted((r["task"], len(r["seeds"])) for r in rows) == [("t@aaaaaa", 1), ("t@unknown", 2)]
    # one version only (old or new): no label, one group
    (row,) = summarize([rec(0, None), rec(1, None)])
    assert row["task"] == "t" and row["seeds"] == [0, 1]


def test_with_task_versions_labels_every_row_of_a_changed_task_and_warns():
    records = [rec(0, FP_A), rec(1, FP_A), rec(0, FP_B), rec(0, FP_A, task="u"), rec(1, None, task="v")]
    out, warnings = st.with_task_versions(records)
    assert [r["task"] for r in out] == ["t@aaaaaa", "t@aaaaaa", "t@bbbbbb", "u", "v"]
    (w,) = warnings
    assert "'t'" in w and "2 versions" in w and "aaaaaa" in w and "bbbbbb" in w and "separately" in w
    assert records[0]["task"] == "t"  # copies: the input is not edited
    again, more = st.with_task_versions(out)  # idempotent: labelled rows are one version per name
    assert again == out and more == []
    assert st.with_task_versions([rec(0, FP_A), rec(1, FP_A)]) == ([rec(0, FP_A), rec(1, FP_A)], [])


def test_figure_aggregations_keep_task_versions_apart():
    records = [rec(0, FP_A, pgr=0.2), rec(1, FP_A, pgr=0.4), rec(0, FP_B, pgr=0.9)]
    data = methods_compared_data(records)
    keys = [p.key for p in data.panels]
    assert keys == [("t@aaaaaa", "frozen"), ("t@bbbbbb", "frozen")]
    a, b = (p.stats[(("w", "s"), "naive")] for p in data.panels)
    assert (a.n, b.n) == (2, 1)
    # pooled over each version's own seeds: (mean student − 0.7) / 0.2 = mean PGR 0.3 here, 0.9 there
    assert a.value == pytest.approx(0.3) and b.value == pytest.approx(0.9)
    heat = pgr_heatmap_data(records)
    assert heat.panels == keys
    assert [g.cells[(0, 0)].n for row in heat.grids for g in row] == [2, 1]
    assert [p.key for p in student_vs_ceiling_data(records).panels] == keys


def test_result_models_the_task_fingerprint():
    from w2sg.result import ExperimentResult

    for r in (rec(0, FP_A), rec(0, None)):
        res = ExperimentResult.from_record(r)
        assert res.task_fingerprint == r.get("task_fingerprint") and "task_fingerprint" not in res.extra
        assert res.to_record() == r and set(res.to_record()) == set(r)


# ---------------------------------------------------------------- 2. duplicates are one experiment


def test_the_same_record_twice_is_one_seed():
    r = rec(0, FP_A, pgr=0.4)
    (row,) = summarize([r, dict(r)])
    assert row["seeds"] == [0] and row["n_seeds"] == 1 and row["student_acc_n"] == 1
    stat = methods_compared_data([r, dict(r)]).panels[0].stats[(("w", "s"), "naive")]
    assert (stat.n, stat.n_undefined) == (1, 0) and stat.value == pytest.approx(0.4)
    cell = pgr_heatmap_data([r, dict(r)]).grids[0][0].cells[(0, 0)]
    assert (cell.n, cell.n_undefined) == (1, 0) and cell.value == pytest.approx(0.4)
    # records without a hash (hand-built) are never merged
    no_hash = [{k: v for k, v in rec(s).items() if k != "hash"} for s in (0, 1)]
    assert summarize(no_hash)[0]["seeds"] == [0, 1]


# ---------------------------------------------------------------- 3. damaged and read-only stores


def _real_store(path, n: int = 40) -> bytes:
    store = ResultsStore(path)
    for seed in range(n):
        put(store, seed, FP_A, 0.5)
    with contextlib.closing(sqlite3.connect(path)) as con:  # fold the WAL into the file: it alone holds the rows
        con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return path.read_bytes()


@pytest.mark.parametrize("damage", ["garbage", "truncated", "short"])
def test_a_damaged_store_is_named_and_left_untouched(tmp_path, damage):
    path = tmp_path / "results.sqlite"
    data = _real_store(path)
    bad = {"garbage": b"this is not a database\n" * 50, "truncated": data[:8192], "short": data[:40]}[damage]
    for p in tmp_path.glob("results.sqlite*"):
        p.unlink()
    path.write_bytes(bad)
    with pytest.raises(st.StoreError) as e:
        ResultsStore(path).records()
    msg = str(e.value)
    assert isinstance(e.value, ValueError)
    assert str(path) in msg and f"mv {path} {path}.bad" in msg
    assert path.read_bytes() == bad  # never overwritten, never deleted


def test_a_zero_byte_store_becomes_a_new_store(tmp_path):
    path = tmp_path / "results.sqlite"
    path.write_bytes(b"")
    store = ResultsStore(path)
    assert store.records() == []
    put(store, 0, FP_A, 0.5)
    assert len(store.records()) == 1


def test_a_read_only_store_lists_and_refuses_to_write(tmp_path, monkeypatch):
    path = tmp_path / "results.sqlite"
    h = put(ResultsStore(path), 0, FP_A, 0.5)
    before = path.read_bytes()
    monkeypatch.setattr(st.os, "access", lambda p, mode, **kw: mode != os.W_OK)  # nothing writable
    store = ResultsStore(path)
    assert [r["hash"] for r in store.records()] == [h] and store.has(h)
    with pytest.raises(st.StoreError, match="read-only") as e:
        put(store, 1, FP_A, 0.5)
    assert str(path) in str(e.value)
    assert path.read_bytes() == before
    # a read-only zero-byte store is an empty store
    empty = tmp_path / "empty.sqlite"
    empty.write_bytes(b"")
    assert ResultsStore(empty).records() == [] and not ResultsStore(empty).has(h)


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes read-only files anyway")
def test_a_chmod_read_only_store_and_directory(tmp_path):
    d = tmp_path / "runs"
    path = d / "results.sqlite"
    h = put(ResultsStore(path), 0, FP_A, 0.5)
    gc.collect()  # every connection closed: no -wal / -shm left to read with
    assert sorted(p.name for p in d.iterdir()) == ["results.sqlite"]
    path.chmod(0o444)
    d.chmod(0o555)
    try:
        store = ResultsStore(path)
        assert [r["hash"] for r in store.records()] == [h] and store.has(h)
        with pytest.raises(st.StoreError, match="read-only"):
            put(store, 1, FP_A, 0.5)
        res = runner.invoke(app, ["results", "--workdir", str(d), "--format", "json"])
        assert res.exit_code == 0, res.output
    finally:
        d.chmod(0o755)
        path.chmod(0o644)


@pytest.mark.parametrize("command", ["results", "report"])
def test_cli_names_a_damaged_store(tmp_path, command):
    path = tmp_path / "results.sqlite"
    path.write_bytes(b"garbage" * 100)
    res = runner.invoke(app, [command, "--workdir", str(tmp_path)])
    assert res.exit_code == 2, res.output
    assert isinstance(res.exception, SystemExit)  # a clean exit, not a raw sqlite3 error
    assert "results.sqlite" in res.output and "mv " in res.output
    assert path.read_bytes() == b"garbage" * 100


def test_run_names_a_damaged_store(tmp_path, tiny_encoder, synthetic_task):
    path = tmp_path / "results.sqlite"
    path.write_bytes(b"garbage" * 100)
    res = runner.invoke(app, ["run", "--task", str(synthetic_task), "--weak", str(tiny_encoder), "--strong",
                              str(tiny_encoder), "-m", "naive", "--seeds", "0", "--workdir", str(tmp_path)])
    assert res.exit_code == 2, res.output
    assert isinstance(res.exception, SystemExit)
    assert "results.sqlite" in res.output and "mv " in res.output
    assert path.read_bytes() == b"garbage" * 100


# ---------------------------------------------------------------- the CLI: versions and failed cells


def test_results_and_report_show_task_versions_apart(tmp_path):
    store = ResultsStore(tmp_path / "results.sqlite")
    put(store, 0, FP_A, 0.2)
    put(store, 0, FP_B, 0.8)
    res = runner.invoke(app, ["results", "--workdir", str(tmp_path)], env={"COLUMNS": "250"})
    assert res.exit_code == 0, res.output
    assert "sst2@aaaaaa" in res.output and "sst2@bbbbbb" in res.output
    assert "2 versions" in res.output and "shown separately" in res.output
    res = runner.invoke(app, ["report", "--workdir", str(tmp_path)])
    assert res.exit_code == 0, res.output
    assert "2 versions" in res.output
    md = (tmp_path / "report" / "report.md").read_text()
    assert "sst2@aaaaaa" in md and "sst2@bbbbbb" in md and "2 versions" in md
    summary = md.split("## Summary over seeds")[1].split("## Every experiment")[0]
    rows = [line for line in summary.splitlines() if line.startswith("| sst2")]
    assert len(rows) == 2 and all("| 1 |" in line for line in rows)  # one seed each
    page = (tmp_path / "report" / "report.html").read_text()
    assert "sst2@aaaaaa" in page and "2 versions" in page


def test_results_status_lists_failed_cells(tmp_path):
    store = ResultsStore(tmp_path / "results.sqlite")
    put(store, 0, FP_A, 0.5)
    put(store, 1, None, 0.0, status="failed", error="CUDA out of memory\nTraceback (most recent call last): ...")
    res = runner.invoke(app, ["results", "--workdir", str(tmp_path)], env={"COLUMNS": "250"})
    assert res.exit_code == 0 and "CUDA out of memory" not in res.output
    res = runner.invoke(app, ["results", "--workdir", str(tmp_path), "--status", "failed"], env={"COLUMNS": "250"})
    assert res.exit_code == 0, res.output
    assert "CUDA out of memory" in res.output and "most recent call" not in res.output
    res = runner.invoke(app, ["results", "--workdir", str(tmp_path), "--status", "all", "-f", "json"])
    assert res.exit_code == 0, res.output


    assert sorted(r["status"] for r in json.loads(res.stdout)) == ["failed", "ok"]
    res = runner.invoke(app, ["results", "--workdir", str(tmp_path), "--status", "broken"])
    assert res.exit_code == 2 and "ok, failed or all" in res.output
