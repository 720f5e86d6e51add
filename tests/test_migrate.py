"""`w2sg store migrate`: rows from before the supervisor redesign are rewritten once in the current shape (numbers,
hashes and outcomes kept), a second run changes nothing, and a store it does not understand is refused untouched."""

import json
import sqlite3

import numpy as np
import pytest
from typer.testing import CliRunner

from w2sg.cli import app
from w2sg.migrate import MigrationError, migrate_store
from w2sg.store import ResultsStore

SPLITS = {"n_weak_train": 50, "n_transfer": 50, "n_val": 10, "n_test": 50, "n_extra": 50}


def _spec(method, weak="minilm", seed=0):
    return {"task": "sst2", "weak": weak, "strong": "mpnet", "seed": seed, "method": method, "splits": SPLITS,
            "train": {"mode": "frozen"}}


def _metrics(seed, new=False, **extra):
    out = {"weak_acc": 0.6 + seed / 100, "ceiling_acc": 0.8, "student_acc": 0.7, "pgr_acc": 0.5, "unstable": False,
           "budget": "converged", "budget_kind": "full", **extra}
    return {**out, "supervisor_kind": "model", "supervisor": "minilm"} if new else out


OLD = {  # hash -> (method spec, metrics) of rows stored before the redesign
    "old-naive": ({"name": "naive", "options": {}}, _metrics(0)),
    "old-boot": ({"name": "bootstrap", "options": {"chain": ["smollm2-135m"]}}, _metrics(1, supervisor_acc=0.55)),
    "old-ens": ({"name": "weak_ensemble", "options": {}}, _metrics(2, supervisor_acc=0.65)),
    "old-gen": ({"name": "generative_finetune", "options": {}}, _metrics(3)),
}


def _store(path, old=OLD, new=True):
    store = ResultsStore(path / "results.sqlite")
    for h, (method, metrics) in old.items():
        store.put(_spec(method, seed=int(metrics["weak_acc"] * 100) - 60), h, metrics, {"student": 1.0},
                  outcomes={"y": np.array([0, 1, 1])})
    if new:
        store.put(_spec({"name": "naive", "options": {}}, seed=9), "new-naive", _metrics(9, new=True), {})
    return store


def _rows(path):
    con = sqlite3.connect(path / "results.sqlite")
    con.row_factory = sqlite3.Row
    rows = {r["hash"]: dict(r) for r in con.execute("SELECT * FROM experiments")}
    con.close()
    return rows


def test_old_rows_take_the_current_shape_and_keep_their_numbers(tmp_path):
    store = _store(tmp_path)
    before = _rows(tmp_path)
    report = migrate_store(tmp_path / "results.sqlite")
    assert len(report.changes) == 4 and report.unchanged == 1
    after = _rows(tmp_path)
    recs = {r["hash"]: r for r in store.records(outcomes=True)}
    # every row keeps its hash, numbers, created_at, versions and test outcomes
    for h, row in before.items():
        old_m, new_m = json.loads(row["metrics_json"]), json.loads(after[h]["metrics_json"])
        assert new_m == old_m | {k: new_m[k] for k in ("supervisor_kind", "supervisor")}
        assert after[h]["created_at"] == row["created_at"] and after[h]["versions_json"] == row["versions_json"]
        if h != "new-naive":
            assert recs[h]["test_outcomes"]["y"].tolist() == [0, 1, 1]
    assert after["new-naive"] == before["new-naive"]  # already current: untouched
    # plain rows: supervisor_kind model; weak_ensemble keeps its name (its floor is the single weak model)
    assert recs["old-naive"]["supervisor_kind"] == "model" and recs["old-naive"]["method"] == "naive"
    assert recs["old-ens"]["method"] == "weak_ensemble" and recs["old-ens"]["supervisor_kind"] == "model"
    # the bootstrap method became the chain supervisor with a naive student
    boot = recs["old-boot"]
    assert boot["method"] == "naive" and boot["supervisor_kind"] == "chain"
    assert boot["spec"]["weak"] == {"kind": "chain", "model": "minilm", "rungs": ["smollm2-135m"]}
    assert boot["weak"] == boot["supervisor"] == "chain(model=minilm,rungs=['smollm2-135m'])"
    assert boot["supervisor_acc"] == 0.55 and boot["weak_acc"] == pytest.approx(0.61)
    # the old generative method is the adapter chain the pipeline writes now
    gen = recs["old-gen"]
    assert gen["method"] == "generative_finetune+naive" and gen["spec"]["method"]["then"]["name"] == "naive"
    assert {c.hash for c in report.changes} == {"old-naive", "old-boot", "old-ens", "old-gen"}
    assert "migrated 4 row(s), 1 already in the current shape" in report.summary()


def test_the_migration_is_idempotent_and_a_dry_run_writes_nothing(tmp_path):
    _store(tmp_path)
    before = _rows(tmp_path)
    dry = migrate_store(tmp_path / "results.sqlite", dry_run=True)
    assert len(dry.changes) == 4 and "would migrate 4 row(s)" in dry.summary()
    assert _rows(tmp_path) == before
    migrate_store(tmp_path / "results.sqlite")
    once = _rows(tmp_path)
    again = migrate_store(tmp_path / "results.sqlite")
    assert again.changes == [] and again.unchanged == 5 and "nothing to migrate" in again.summary()
    assert _rows(tmp_path) == once


def test_a_store_it_does_not_understand_is_refused_whole(tmp_path):
    old = dict(OLD)
    _store(tmp_path, old)
    bad = ResultsStore(tmp_path / "results.sqlite")  # an old row whose supervisor is no plain model
    bad.put(_spec({"name": "naive", "options": {}}, weak={"kind": "synthetic", "error_rate": 0.2}), "odd",
            _metrics(5), {})
    before = _rows(tmp_path)
    with pytest.raises(MigrationError, match="odd: no supervisor_kind"):
        migrate_store(tmp_path / "results.sqlite")
    assert _rows(tmp_path) == before  # the good old rows were not migrated either
    other = tmp_path / "other"
    other.mkdir()
    con = sqlite3.connect(other / "results.sqlite")
    con.execute("CREATE TABLE runs (id TEXT)")
    con.commit()
    con.close()
    with pytest.raises(MigrationError, match="no experiments table"):
        migrate_store(other / "results.sqlite")


def test_the_command_reports_what_it_changed(tmp_path):
    _store(tmp_path)
    runner = CliRunner()
    res = runner.invoke(app, ["store", "migrate", "-w", str(tmp_path), "--verbose"])
    assert res.exit_code == 0, res.output
    assert "migrated 4 row(s)" in res.output and "old-boot: bootstrap(chain=['smollm2-135m']) -> chain" in res.output
    res = runner.invoke(app, ["store", "migrate", "-w", str(tmp_path)])
    assert res.exit_code == 0 and "nothing to migrate (5 row(s)" in res.output
    res = runner.invoke(app, ["store", "migrate", "-w", str(tmp_path / "none")])
    assert res.exit_code == 2 and "no results store" in res.output


def test_a_yaml_task_stored_under_its_path_gets_its_name_once(tmp_path, monkeypatch):
    """Rows written before records named a YAML task by its `name:` show its path; the migration gives them the
    name new rows get (read from the file at the keyed path), keeps spec and hash, and keeps the path of a file
    it cannot read, saying so."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "tasks").mkdir()
    (tmp_path / "tasks" / "mine.yaml").write_text("name: headlines\nfiles: {pool: h.csv}\ntext: '{t}'\nlabel: y\n")
    store = ResultsStore(tmp_path / "results.sqlite")
    new = _metrics(0, new=True)
    for h, task in (("yaml-old", "tasks/mine.yaml"), ("yaml-gone", "tasks/gone.yaml"), ("builtin", "sst2")):
        store.put(_spec({"name": "naive", "options": {}}) | {"task": task}, h, new, {})
    con = sqlite3.connect(tmp_path / "results.sqlite")
    with con:  # what the store wrote before: the path in the task column
        con.execute("UPDATE experiments SET task = 'tasks/mine.yaml' WHERE hash = 'yaml-old'")
    con.close()
    before = _rows(tmp_path)
    assert before["yaml-old"]["task"] == "tasks/mine.yaml" and before["yaml-gone"]["task"] == "tasks/gone.yaml"

    report = migrate_store(tmp_path / "results.sqlite")
    after = _rows(tmp_path)
    assert [c.hash for c in report.changes] == ["yaml-old"]
    assert after["yaml-old"]["task"] == "headlines"
    assert after["yaml-old"]["spec_json"] == before["yaml-old"]["spec_json"]  # the key (and hash) keep the path
    assert {h: r for h, r in after.items() if h != "yaml-old"} == {h: r for h, r in before.items() if h != "yaml-old"}
    assert "tasks/gone.yaml" in report.summary() and "could not be read" in report.summary()
    rec = {r["hash"]: r for r in ResultsStore(tmp_path / "results.sqlite").records()}["yaml-old"]
    assert (rec["task"], rec["task_path"]) == ("headlines", "tasks/mine.yaml")
    assert not migrate_store(tmp_path / "results.sqlite").changes and _rows(tmp_path) == after
