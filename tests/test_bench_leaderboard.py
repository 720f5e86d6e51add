"""`w2sg bench` end to end on a tiny suite: sealed student steps scored with the pipeline's evaluate and stored,
rows reused on a rerun, a leaky method's rows marked invalid with what it tried, the learn-nothing baseline at
balanced accuracy 0.5, dev and final parts sharing no row, final evaluations counted, and the leaderboard built
from the rows."""

from __future__ import annotations

import shutil

import pytest
from typer.testing import CliRunner

from w2sg.bench.baselines import BASELINES
from w2sg.bench.run import log_final, read_final_log, run_suite
from w2sg.bench.suite import Cell, Suite
from w2sg.config import SplitSpec, TrainSpec
from w2sg.pipeline import Pipeline
from w2sg.report.leaderboard import build

needs_bwrap = pytest.mark.skipif(shutil.which("bwrap") is None,
                                 reason="bubblewrap (bwrap) is not installed: `apt-get install bubblewrap` (CI does)")


def tiny_suite(task, strong) -> Suite:
    return Suite(name="tiny", version="t1", cells=(Cell(str(task), "tfidf", str(strong)),),
                 splits=SplitSpec(n_weak_train=60, n_transfer=80, n_val=20, n_test=100, n_pool=160),
                 train=TrainSpec(mode="frozen", max_length=32), seeds=(0, 1))


LEAKY = '''
from w2sg.methods.base import train_student
from w2sg.methods.registry import register_method
from w2sg.train.losses import SoftXent


@register_method("peek_store", "Leaky: opens the bench store by its path.")
def peek_store(ctx, transfer, val, cfg):
    try:
        open({path!r}, "rb").read(16)
        raise AssertionError("LEAK: read the store")
    except OSError:
        pass
    return train_student(ctx, transfer, SoftXent())
'''


def test_dev_and_final_parts_share_no_row(tmp_path, tiny_encoder, synthetic_task):
    suite = tiny_suite(synthetic_task, tiny_encoder)
    pipe = Pipeline(tmp_path / "w")
    ids = {}
    for part in ("dev", "final"):
        ids[part] = {r.id for spec in suite.specs(part) for _, rows in pipe.res.splits(spec).items() for r in rows}
    assert ids["dev"] and ids["final"] and not ids["dev"] & ids["final"]
    with pytest.raises(ValueError, match="parts"):
        suite.specs("test")


@needs_bwrap
def test_bench_runs_sealed_scores_stores_and_reuses(tmp_path, tiny_encoder, synthetic_task):
    suite = tiny_suite(synthetic_task, tiny_encoder)
    work = tmp_path / "bench"
    leaky = tmp_path / "peek_store.py"
    leaky.write_text(LEAKY.format(path=str(work / "results.sqlite")))
    methods = ["naive", str(BASELINES["constant"]), str(leaky)]
    rows = run_suite(suite, "dev", methods, work, None)
    assert len(rows) == 6
    by = {}
    for r in rows:
        by.setdefault(r["method"], []).append(r)
    assert set(by) == {"naive", "constant", "peek_store"}
    for r in by["naive"]:
        assert r["status"] == "ok" and r["bench_valid"] is True and r["bench_part"] == "dev"
        assert 0 <= r["student_acc"] <= 1 and r["student_l2_source"] == "cv_weak_labels"
        assert "bubblewrap" in r["bench_isolation"]
    for r in by["constant"]:  # learns nothing: balanced accuracy 0.5 and PGR <= 0 where the weak model is above it
        assert r["student_acc"] == pytest.approx(0.5) and r["student_auroc"] == pytest.approx(0.5)
    for r in by["peek_store"]:
        assert r["status"] == "invalid" and r["bench_valid"] is False
        assert any("results.sqlite" in v for v in r["bench_violations"])
    # a rerun reuses every row: nothing is sealed again
    again = run_suite(suite, "dev", methods, work, None)
    assert [r["created_at"] for r in again] == [r["created_at"] for r in rows]
    # the leaderboard reads the rows: scores for valid methods, the leaky one listed as invalid with what it tried
    records = Pipeline(work).store.records(status=None, outcomes=True)
    board = build(records, ["naive", "constant", "peek_store"], suite.label, "dev", "naive", ["naive"], n_boot=200)
    assert [r["method"] for r in board.rows] and "peek_store" not in [r["method"] for r in board.rows]
    assert len(board.invalid) == 2 and all("INVALID peek_store" in line and "results.sqlite" in line
                                           for line in board.invalid)
    assert any("constant" in line or "baselines" in line for line in board.baseline_check)
    text = "\n".join(board.markdown())
    assert "Suite tiny-t1, part dev" in text and "final evaluations" in text


def test_final_evaluations_are_counted(tmp_path):
    suite = tiny_suite("t", "s")
    assert [log_final(tmp_path, suite, "mine", "abc") for _ in range(3)] == [1, 2, 3]
    assert log_final(tmp_path, suite, "other", "") == 1
    assert [e["count"] for e in read_final_log(tmp_path) if e["method"] == "mine"] == [1, 2, 3]


def test_bench_refuses_what_it_cannot_seal():
    from w2sg.cli import app

    r = CliRunner().invoke(app, ["bench", "naive", "--suite", "gpu"])
    assert r.exit_code != 0 and "frozen features only" in r.output
    r = CliRunner().invoke(app, ["bench", "naive", "--part", "test"])
    assert r.exit_code != 0 and "--part 'test'" in r.output
