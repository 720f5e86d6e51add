"""`w2sg results --summary` and `w2sg compare` on a real (tiny) store with test outcomes."""

import json

from typer.testing import CliRunner

from w2sg.cli import app
from w2sg.store import ResultsStore

runner = CliRunner()


def test_summary_and_compare_read_the_stored_outcomes(tmp_path, tiny_encoder, synthetic_task):
    res = runner.invoke(app, [
        "run", "--task", str(synthetic_task), "--weak", str(tiny_encoder), "--strong", str(tiny_encoder),
        "--n-weak-train", "150", "--n-transfer", "200", "--n-val", "50", "--n-test", "200",
        "--seeds", "0,1", "-m", "naive", "-m", "confidence", "--workdir", str(tmp_path)], env={"COLUMNS": "250"})
    assert res.exit_code == 0, res.output
    store = ResultsStore(tmp_path / "results.sqlite")
    recs = store.records(outcomes=True)
    assert len(recs) == 4 and all(r["test_outcomes"]["labels"].size == r["n_test"] for r in recs)
    assert all(r["student_l2_source"] == "cv_weak_labels" for r in recs)

    res = runner.invoke(app, ["results", "--summary", "-f", "json", "-w", str(tmp_path)])
    assert res.exit_code == 0, res.output
    rows = json.loads(res.output)
    assert sorted(r["method"] for r in rows) == ["confidence", "naive"]
    for row in rows:
        mine = [r for r in recs if r["method"] == row["method"]]
        w, c, s = (sum(r[f"{k}_acc"] for r in mine) / 2 for k in ("weak", "ceiling", "student"))
        assert row["n_seeds"] == 2 and row["n_undefined"] == sum(r["pgr_acc"] is None for r in mine)
        assert row["pgr_acc_ci_levels"] == "seeds+groups"
        if c > w:
            assert abs(row["pgr_acc_pooled"] - (s - w) / (c - w)) < 1e-9
            assert row["pgr_acc_pooled_ci_low"] is None or row["pgr_acc_pooled_ci_low"] <= row["pgr_acc_pooled"]
        else:
            assert row["pgr_acc_pooled"] is None
    res = runner.invoke(app, ["results", "--summary", "-w", str(tmp_path)], env={"COLUMNS": "250"})
    assert res.exit_code == 0 and "PGR acc (pooled)" in res.output

    res = runner.invoke(app, ["compare", "naive", "confidence", "-w", str(tmp_path), "-f", "json",
                              "--n-boot", "200"])
    assert res.exit_code == 0, res.output
    task_row, overall = json.loads(res.output)
    naive = {r["seed"]: r["student_acc"] for r in recs if r["method"] == "naive"}
    conf = {r["seed"]: r["student_acc"] for r in recs if r["method"] == "confidence"}
    assert abs(task_row["diff_student_acc"] - sum(naive[s] - conf[s] for s in (0, 1)) / 2) < 1e-9
    lo, hi = task_row["diff_student_ci_low"], task_row["diff_student_ci_high"]
    want = "naive better" if lo > 0 else "confidence better" if hi < 0 else "not resolved"
    assert task_row["verdict"] == want and overall["task"] == "overall" and overall["n_tasks"] == 1
    res = runner.invoke(app, ["compare", "naive", "nope", "-w", str(tmp_path)])
    assert res.exit_code != 0 and "method 'nope' has no results" in res.output and "known: confidence, naive" in \
        res.output
