"""The Python API (`w2sg.run`, `w2sg.sweep`, `w2sg.results`): the CLI's arguments, the same experiments (same
hashes and numbers as `w2sg run`), typed results, DataFrames; `import w2sg` stays cheap."""

from __future__ import annotations

import json
import subprocess
import sys

import pandas as pd
import pytest
from typer.testing import CliRunner

import w2sg
from w2sg.cli import app
from w2sg.result import ExperimentResult
from w2sg.store import ResultsStore

SIZES = {"n_weak_train": 150, "n_transfer": 200, "n_val": 50, "n_test": 200}
runner = CliRunner()


def test_import_w2sg_loads_no_heavy_package():
    code = ("import sys, w2sg; heavy = {'torch', 'pandas', 'numpy', 'pydantic', 'transformers', 'typer'}; "
            "print(sorted({m.split('.')[0] for m in sys.modules} & heavy), 'w2sg.api' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[] False"


def test_sweep_is_the_subpackage_and_the_function():
    from w2sg.sweep import SweepSpec

    assert callable(w2sg.sweep) and w2sg.sweep.SweepSpec is SweepSpec
    assert w2sg.run is w2sg.api.run and w2sg.results is w2sg.api.results
    with pytest.raises(AttributeError):
        _ = w2sg.no_such_thing


def test_run_is_the_cli_run(tmp_path, tiny_encoder, synthetic_task):
    """Same arguments, same experiments: the API's records are the CLI's (hash and numbers), typed."""
    run = w2sg.run(task=str(synthetic_task), weak=str(tiny_encoder), strong=str(tiny_encoder),
                   method="naive,confidence", seeds=0, **SIZES, max_length=128, workdir=tmp_path / "api", quiet=True)
    assert [r.method for r in run.results] == ["naive", "confidence"]
    assert all(isinstance(r, ExperimentResult) and r.status == "ok" for r in run.results)
    assert run.spec.splits.n_transfer == 200 and run.spec.train.max_length == 128

    res = runner.invoke(app, ["run", "--task", str(synthetic_task), "--weak", str(tiny_encoder), "--strong",
                              str(tiny_encoder), "-m", "naive", "-m", "confidence", "--seeds", "0",
                              *(f"--{k.replace('_', '-')}={v}" for k, v in SIZES.items()), "--max-length", "128",
                              "--workdir", str(tmp_path / "cli")])
    assert res.exit_code == 0, res.output
    cli = {r["hash"]: r for r in ResultsStore(tmp_path / "cli" / "results.sqlite").records()}
    assert {r.hash for r in run.results} == set(cli)
    for r in run.results:
        assert r.score("student") == cli[r.hash]["student_acc"] and r.pgr().value == cli[r.hash]["pgr_acc"]

    # results(workdir): one typed row per experiment, its numbers those of the records
    df = w2sg.results(tmp_path / "api")
    assert isinstance(df, pd.DataFrame) and len(df) == 2
    assert list(df.columns[:5]) == ["task", "task_path", "weak", "strong", "method"]
    for _, row in df.iterrows():
        rec = cli[row["hash"]]
        assert row["student_acc"] == rec["student_acc"] and row["weak_acc"] == rec["weak_acc"]
        assert row["pgr_acc_stable"] == (rec["pgr_acc"] is not None and not rec["unstable"])
        assert row["n_transfer"] == 200 and isinstance(row["result"], ExperimentResult)
        assert (row["budget"], row["budget_kind"]) == (rec["budget"], "full")
    assert "agree_transfer_weak_wrong" in w2sg.results(tmp_path / "api", all_columns=True).columns
    assert len(w2sg.results(tmp_path / "api", method="naive")) == 1
    assert w2sg.results(tmp_path / "api", status="failed").empty

    # summary=True: the rows of `w2sg results --summary`
    res = runner.invoke(app, ["results", "--summary", "-f", "json", "--workdir", str(tmp_path / "api")])
    assert res.exit_code == 0, res.output
    rows = json.loads(res.stdout)
    summary = w2sg.results(tmp_path / "api", summary=True)
    assert len(summary) == len(rows) == 2
    for got, want in zip(summary.to_dict("records"), rows, strict=True):
        for k in ("method", "n_seeds", "student_acc_mean", "pgr_acc_pooled", "pgr_acc_pooled_ci_low"):
            assert got[k] == want[k] or (got[k] != got[k] and want[k] is None), k
    assert run.summary()["pgr_acc_pooled"].tolist() == summary["pgr_acc_pooled"].tolist()


def test_run_names_a_bad_argument_like_the_cli(tmp_path):
    with pytest.raises(ValueError, match=r"--n-val: must be >= 0 \(got -3\)"):
        w2sg.run(n_val=-3, workdir=tmp_path, quiet=True)
    with pytest.raises(ValueError, match=r"--set splits.n_val: must be >= 0"):
        w2sg.run(overrides={"splits.n_val": -3}, workdir=tmp_path, quiet=True)
    with pytest.raises(ValueError, match="unknown method 'magic'|magic"):
        w2sg.run(method="magic", workdir=tmp_path, quiet=True)
    assert not (tmp_path / "results.sqlite").exists()  # nothing ran
    with pytest.raises(FileNotFoundError, match="no results store"):
        w2sg.results(tmp_path)


def test_sweep_from_a_mapping_skips_what_is_done(tmp_path, tiny_encoder, synthetic_task):
    grid = {"name": "tiny", "tasks": [str(synthetic_task)], "weak": [str(tiny_encoder)],
            "strong": [str(tiny_encoder)], "methods": ["naive"], "seeds": [0], "splits": SIZES}
    first = w2sg.sweep(grid, overrides={"train.max_length": 128}, workdir=tmp_path, quiet=True)
    assert (first.report.cells, first.report.computed, first.report.failed) == (1, 1, 0)
    assert first.spec.train.max_length == 128
    again = w2sg.sweep(grid, overrides=["train.max_length=128", "seeds=[0, 1]"], workdir=tmp_path, quiet=True)
    assert (again.report.cells, again.report.skipped, again.report.computed) == (2, 1, 1)
    assert sorted(r.seed for r in again.results) == [0, 1]
    assert first.results[0].hash in {r.hash for r in again.results}
    assert len(again.frame()) == 2 and len(w2sg.results(tmp_path)) == 2
