"""The supervisor-quality example (examples/supervisor_quality.yaml) runs from its YAML, at small sizes and with
MiniLM as the strong model: its two supervisors have exactly the same number of wrong labels on T at each error
rate, the region supervisor's errors are all inside its region (so there is no error outside it to imitate), the
random one marks no region, and its report draws PGR and student accuracy against supervisor accuracy."""

import pytest

from w2sg.config import SplitSpec
from w2sg.config_io import load_yaml_spec
from w2sg.models.zoo import is_present
from w2sg.report.html import write_html_report
from w2sg.store import ResultsStore
from w2sg.sweep import SweepSpec, run_sweep

from .conftest import REPO, SHARED_DATA

pytestmark = [
    pytest.mark.skipif(not is_present("minilm"), reason="run `w2sg models pull minilm` first"),
    pytest.mark.skipif(not (SHARED_DATA / "sst2").exists(), reason="needs ../shared/data/sst2"),
]
N_TEST = 200


def test_supervisor_quality_sweep_runs_and_draws_its_figure(tmp_path):
    sweep = load_yaml_spec(REPO / "examples" / "supervisor_quality.yaml", SweepSpec)
    assert {w.options["errors"] for w in sweep.weak} == {"random", "region"}
    assert sweep.grid == {"weak.error_rate": [0.1, 0.2, 0.3]}
    small = sweep.model_copy(update={"strong": ["minilm"], "methods": sweep.methods[:1],
                                     "splits": SplitSpec(n_weak_train=20, n_transfer=150, n_val=20, n_test=N_TEST)})
    report = run_sweep(small, tmp_path, data_dir=SHARED_DATA)
    assert report.failed == 0 and report.computed == 6
    recs = ResultsStore(tmp_path / "results.sqlite").records()
    by = {(r["supervisor_errors"], r["supervisor_error_rate"]): r for r in recs}
    assert set(by) == {(e, rate) for e in ("random", "region") for rate in (0.1, 0.2, 0.3)}
    for (errors, rate), r in by.items():
        assert r["supervisor_kind"] == "synthetic" and r["n_test"] == N_TEST
        sizes = [r[f"region_{g}_n"] for g in ("wr_sr", "wr_sw", "ww_sr", "ww_sw")]
        assert sum(sizes) == N_TEST
        # exactly round(rate * n) wrong labels on T: the supervisor is wrong on the ww_* rows
        assert r["region_ww_sr_n"] + r["region_ww_sw_n"] == round(rate * N_TEST)
        if errors == "random":  # no region: nothing marked, no imitation keys
            assert r["imitation_test_region"] is None and r["n_sup_wrong_region_test"] is None
            assert r["student_err_test_region"] is None
        else:  # every wrong label lies inside the region (8+ words): none outside to imitate
            assert r["n_sup_wrong_region_test"] == round(rate * N_TEST) and r["n_sup_wrong_outside_test"] == 0
            assert r["imitation_test_outside"] is None
            copied = r["imitation_test_region"] * r["n_sup_wrong_region_test"]
            assert copied == pytest.approx(round(copied)) and 0 <= copied <= r["n_sup_wrong_region_test"]
        # the student learnt the task from these labels: far above chance, below the ceiling's reach
        # exact counts: the (class-balanced) supervisor accuracy is 1 - rate up to the class balance of its errors
        assert abs(r["weak_acc"] - (1 - rate)) < 0.01, r["weak_acc"]
        assert r["student_acc"] > 0.55, r["student_acc"]  # above chance (the ceiling here is ~0.72)
    for rate in (0.1, 0.2, 0.3):  # same wrong-label count and the same ceiling (same splits) for both
        assert by[("random", rate)]["ceiling_acc"] == by[("region", rate)]["ceiling_acc"]
    # a worse supervisor gives a worse student (random errors: ~0.74 at 10%, ~0.57 at 30% here)
    assert by[("random", 0.1)]["student_acc"] > by[("random", 0.3)]["student_acc"] + 0.08
    html, _ = write_html_report(recs, tmp_path / "report")
    text = html.read_text()
    assert "Testbeds" in text and "Supervisor quality" in text
    assert (tmp_path / "report" / "fig_supervisor_quality.png").stat().st_size > 1000
