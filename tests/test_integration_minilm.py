"""Integration: the real MiniLM (offline ladder rung 1) on ~300 real SST-2 rows, through the CLI."""

import json

import pytest
from typer.testing import CliRunner

from w2sg.cli import app
from w2sg.models.zoo import is_present

from .conftest import SHARED_DATA

pytestmark = [
    pytest.mark.skipif(not is_present("minilm"), reason="run `w2sg models pull minilm` first"),
    pytest.mark.skipif(not (SHARED_DATA / "sst2").exists(), reason="needs ../shared/data/sst2"),
]

SIZES = ["--n-weak-train", "100", "--n-transfer", "100", "--n-val", "20", "--n-test", "100"]


def _run(tmp_path, *args):
    res = CliRunner().invoke(app, ["run", "--task", "sst2", "--weak", "minilm", "--strong", "minilm", *SIZES,
                                   "--workdir", str(tmp_path), "--data-dir", str(SHARED_DATA), *args])
    assert res.exit_code == 0, res.output
    return res


def _records(tmp_path):
    res = CliRunner().invoke(app, ["results", "--workdir", str(tmp_path), "--format", "json"])
    assert res.exit_code == 0, res.output
    return json.loads(res.stdout)


def test_minilm_frozen_features_on_sst2(tmp_path):
    _run(tmp_path, "--mode", "frozen", "--method", "naive,confidence", "--seeds", "0")
    recs = _records(tmp_path)
    assert {r["method"] for r in recs} == {"naive", "confidence"}
    for r in recs:
        # a linear probe on MiniLM features reads sentiment well above chance even from 100 rows
        assert r["weak_acc"] > 0.65 and r["ceiling_acc"] > 0.65 and r["student_acc"] > 0.6, r
        assert r["n_test"] == 100 and r["n_weak_train"] == 100
        assert r["pgr_acc"] is None or r["pgr_acc_ci_low"] <= r["pgr_acc"] <= r["pgr_acc_ci_high"]
    assert (tmp_path / "report" / "report.md").exists() and (tmp_path / "report" / "accuracy.png").exists()
    # features are cached per text: the second method reused the weak model and the ceiling
    assert any(r["cached_weak"] and r["cached_ceiling"] for r in recs)


def test_minilm_full_finetune_on_sst2(tmp_path):
    _run(tmp_path, "--mode", "full", "--method", "naive", "--seeds", "0", "--epochs", "4", "--lr", "1e-4",
         "--batch-size", "16", "--max-length", "64")
    (r,) = _records(tmp_path)
    assert r["ceiling_acc"] > 0.7, r  # finetuned MiniLM on 100 real SST-2 rows
    assert r["mode"] == "full" and r["time_student"] > 0
