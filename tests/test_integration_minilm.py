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
        # a PGR comes with a CI; an end is None (unbounded) when many resamples have no positive gap
        lo, hi = r["pgr_acc_ci_low"], r["pgr_acc_ci_high"]
        assert r["pgr_acc"] is None or ((lo is None or lo <= r["pgr_acc"]) and (hi is None or r["pgr_acc"] <= hi))
    assert (tmp_path / "report" / "report.md").exists() and (tmp_path / "report" / "accuracy.png").exists()
    # features are cached per text: the second method reused the weak model and the ceiling
    assert any(r["cached_weak"] and r["cached_ceiling"] for r in recs)


def test_minilm_full_finetune_on_sst2(tmp_path):
    _run(tmp_path, "--mode", "full", "--method", "naive", "--seeds", "0", "--epochs", "4", "--lr", "1e-4",
         "--batch-size", "16", "--max-length", "64")
    (r,) = _records(tmp_path)
    assert r["ceiling_acc"] > 0.7, r  # finetuned MiniLM on 100 real SST-2 rows
    assert r["mode"] == "full" and r["time_student"] > 0


def test_converged_probes_never_fall_below_the_majority_class_on_an_imbalanced_task(tmp_path):
    """mc_taco's test set is ~1/3 positive: probes that never learned the class rate sat below 'always no'.
    (A log-loss-optimal probe thresholded at 0.5 can still land a point below it when T's class share differs
    from B's, which is why accuracy is class-balanced by default.)"""
    res = CliRunner().invoke(app, [
        "run", "--task", "mc_taco", "--weak", "minilm", "--strong", "minilm", "--seeds", "0", "--method", "naive",
        "--no-balance-test", "--n-weak-train", "1000", "--n-transfer", "1000", "--n-val", "20", "--n-test", "1000",
        "--max-length", "64", "--workdir", str(tmp_path), "--data-dir", str(SHARED_DATA)])
    assert res.exit_code == 0, res.output
    (r,) = _records(tmp_path)
    assert r["test_balanced"] is False and 0.6 < r["majority_acc"] < 0.75
    assert r["weak_acc"] >= r["majority_acc"] - 0.01 and r["ceiling_acc"] >= r["majority_acc"] - 0.01, r
    assert r["l2_weak"] > 0 and r["l2_ceiling"] > 0 and r["grad_norm_weak"] < 1e-3 and r["budget"] == "converged"


def test_budget_axis_is_recorded_per_row(tmp_path):
    _run(tmp_path, "--mode", "frozen", "--method", "naive", "--seeds", "0", "--budget", "steps=8",
         "--budget", "full", "--budget", "early_stop_oracle")
    recs = {r["budget"]: r for r in _records(tmp_path)}
    assert set(recs) == {"steps=8", "converged", "early_stop_oracle(auroc,epochs=20)"}
    assert recs["steps=8"]["steps_student"] == 8 and recs["converged"]["student_l2_source"] == "cv_weak_labels"
    assert recs["early_stop_oracle(auroc,epochs=20)"]["oracle"] is True and recs["converged"]["oracle"] is False
    assert recs["converged"]["test_balanced"] is True and recs["converged"]["majority_acc"] == 0.5
