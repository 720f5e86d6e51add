"""The supervisor-quality example (examples/supervisor_quality.yaml) runs from its YAML, at small sizes and with
MiniLM as the strong model, and its report draws PGR and student accuracy against supervisor accuracy."""

import pytest

from w2sg.config import SplitSpec, load_yaml_spec
from w2sg.models.zoo import is_present
from w2sg.report.html import write_html_report
from w2sg.store import ResultsStore
from w2sg.sweep import SweepSpec, run_sweep

from .conftest import REPO, SHARED_DATA

pytestmark = [
    pytest.mark.skipif(not is_present("minilm"), reason="run `w2sg models pull minilm` first"),
    pytest.mark.skipif(not (SHARED_DATA / "sst2").exists(), reason="needs ../shared/data/sst2"),
]


def test_supervisor_quality_sweep_runs_and_draws_its_figure(tmp_path):
    sweep = load_yaml_spec(REPO / "examples" / "supervisor_quality.yaml", SweepSpec)
    assert {w.options["errors"] for w in sweep.weak} == {"random", "region"}
    assert sweep.grid == {"weak.error_rate": [0.1, 0.2, 0.3]}
    small = sweep.model_copy(update={"strong": ["minilm"], "methods": sweep.methods[:1],
                                     "splits": SplitSpec(n_weak_train=20, n_transfer=150, n_val=20, n_test=200)})
    report = run_sweep(small, tmp_path, data_dir=SHARED_DATA)
    assert report.failed == 0 and report.computed == 6
    recs = ResultsStore(tmp_path / "results.sqlite").records()
    for r in recs:
        assert r["supervisor_kind"] == "synthetic" and r["supervisor_errors"] in ("random", "region")
        # exact error counts: matched accuracy between the two error processes at each rate
        assert r["supervisor_error_rate"] in (0.1, 0.2, 0.3)
        assert r["imitation_test_region"] is None if r["supervisor_errors"] == "random" else True
        for region in ("wr_sr", "wr_sw", "ww_sr", "ww_sw"):
            assert r[f"region_{region}_n"] is not None
    by = {(r["supervisor_errors"], r["supervisor_error_rate"]): r for r in recs}
    for rate in (0.1, 0.2, 0.3):
        # same share of wrong labels on T (plain accuracy; the record's weak_acc is class-balanced)
        assert abs(by[("random", rate)]["weak_acc"] - by[("region", rate)]["weak_acc"]) < 0.06
        assert by[("region", rate)]["imitation_test_region"] is not None
    html, _ = write_html_report(recs, tmp_path / "report")
    text = html.read_text()
    assert "Testbeds" in text and "Supervisor quality" in text
    assert (tmp_path / "report" / "fig_supervisor_quality.png").stat().st_size > 1000
