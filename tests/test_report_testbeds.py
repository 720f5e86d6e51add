"""The report's Testbeds section (`w2sg.report.testbeds`, its figures and tables), from hand-made records.

The grid: one task; synthetic supervisors with random and region errors at error rates 0.1 / 0.2 / 0.3; methods
naive and confidence; seeds 0 and 1; plus locked strong students ("password" and "deceptive") under a model
supervisor, and model-supervised experiments that are not testbeds. Every value is a simple function of the
grid coordinates, so the expected seed means are written out by hand below.
"""

from __future__ import annotations

import re

import pytest

from w2sg.report.figures import TESTBED_FIGURES, render_testbeds
from w2sg.report.html import write_html_report
from w2sg.report.markdown import write_report
from w2sg.report.testbeds import (
    IMITATION_HEADER,
    REGIONS,
    has_testbeds,
    imitation_table,
    locked_data,
    locked_table,
    region_heatmap_data,
    supervisor_quality_data,
)

from .conftest import PNG_MAGIC, grid_records

RATES = (0.1, 0.2, 0.3)
METHODS = ("naive", "confidence")
SEEDS = (0, 1)
NAMES = [spec.name for spec in TESTBED_FIGURES]


def label(errors: str, rate: float) -> str:
    return f"synthetic(error_rate={rate},errors={errors})"


def record(method: str, seed: int, *, kind: str = "synthetic", errors: str | None = "random",
           rate: float | None = 0.2, locked: str | None = None, task: str = "tb") -> dict:
    """A record with the testbed keys. Supervisor accuracy 1 − rate (+0.01 per seed); the student recovers
    0.5 (naive) / 0.7 (confidence) of the gap to the 0.95 ceiling against random errors, 0.3 less against region
    errors; imitation of errors 0.40 + 0.1·seed (+0.2 for region errors, +0.05 for confidence)."""
    weak = (1 - rate if rate is not None else 0.75) + 0.01 * seed
    ceiling = 0.95
    share = {"naive": 0.5, "confidence": 0.7}[method] - (0.3 if errors == "region" else 0.0)
    student = weak + share * (ceiling - weak)
    pgr = (student - weak) / (ceiling - weak)
    agree = 0.40 + 0.1 * seed + (0.2 if errors == "region" else 0.0) + (0.05 if method == "confidence" else 0.0)
    r = {"task": task, "weak": label(errors, rate) if kind == "synthetic" else "minilm", "strong": "big",
         "mode": "frozen", "method": method, "seed": seed, "status": "ok", "weak_acc": weak, "ceiling_acc": ceiling,
         "student_acc": student, "gap_acc": ceiling - weak, "gap_acc_ci_low": ceiling - weak - 0.02,
         "gap_acc_ci_high": ceiling - weak + 0.02, "pgr_acc": pgr, "pgr_acc_ci_low": pgr - 0.1,
         "pgr_acc_ci_high": pgr + 0.1, "unstable": False,
         "supervisor": label(errors, rate) if kind == "synthetic" else "minilm", "supervisor_kind": kind,
         "supervisor_errors": errors if kind == "synthetic" else None,
         "supervisor_error_rate": rate if kind == "synthetic" else None,
         "agree_test_weak_wrong": agree,
         "imitation_test_region": agree + 0.1 if errors == "region" else None,
         "imitation_test_outside": agree - 0.2 if errors == "region" else None,
         "deception_score": 0.2 + 0.1 * seed, "deception_score_known": 0.05 + 0.01 * seed,
         "locked": locked, "locked_acc": None, "locked_acc_trigger": None, "student_acc_trigger": None}
    for i, reg in enumerate(REGIONS):  # region accuracies 0.9, 0.6, 0.3, 0.1 (+0.02 per seed)
        r[f"region_{reg}_n"] = 100 * (4 - i) + 10 * seed
        r[f"student_acc_{reg}"] = (0.9, 0.6, 0.3, 0.1)[i] + 0.02 * seed
    if locked:
        r |= {"locked_acc": 0.55 + 0.01 * seed, "locked_acc_trigger": 0.92,
              "student_acc_trigger": 0.88 + 0.02 * seed - (0.1 if locked == "deceptive" else 0.0)}
    return r


def make_testbed_records() -> list[dict]:
    recs = [record(m, s, errors=e, rate=rate) for e in ("random", "region") for rate in RATES for m in METHODS
            for s in SEEDS]
    recs += [record(m, s, kind="model", errors=None, rate=None, locked=v) for v in ("password", "deceptive")
             for m in METHODS for s in SEEDS]
    recs += [record(m, s, kind="model", errors=None, rate=None) for m in METHODS for s in SEEDS]  # not testbeds
    return recs


@pytest.fixture(scope="module")
def records() -> list[dict]:
    return make_testbed_records()


def _row(rows: list[list[str]], *cells: str) -> list[str]:
    (row,) = [r for r in rows if all(c in r for c in cells)]
    return row


def test_supervisor_quality_data(records):
    data = supervisor_quality_data(records)
    assert data.errors == ["random", "region"] and data.methods == ["confidence", "naive"]
    (panel,) = data.panels
    assert set(panel.lines) == {(e, m) for e in ("random", "region") for m in METHODS}
    pts = panel.lines[("random", "naive")]
    assert [p.rate for p in pts] == [0.3, 0.2, 0.1]  # by supervisor accuracy
    assert [p.x for p in pts] == pytest.approx([0.705, 0.805, 0.905])
    # the pooled PGR of both seeds: the student recovers the same share of each seed's gap, so 0.5 pooled too
    assert all(p.pgr.value == pytest.approx(0.5) and p.pgr.resolved and p.pgr.n == 2 for p in pts)
    region = panel.lines[("region", "confidence")][0]
    assert region.pgr.shown == pytest.approx(0.4)
    assert region.student[0] == pytest.approx(0.705 + 0.4 * (0.95 - 0.705))
    assert panel.ceiling == pytest.approx(0.95)


def test_supervisor_quality_pools_every_seed(records):
    """A third seed whose supervisor beats the ceiling (gap −0.05) joins the pooled PGR; it is not dropped."""
    recs = [r for r in records if r["supervisor_errors"] == "random" and r["supervisor_error_rate"] == 0.2
            and r["method"] == "naive"]
    extra = dict(recs[0], seed=2, weak_acc=1.0, student_acc=1.0, gap_acc=-0.05, pgr_acc=None, unstable=True)
    (point,) = supervisor_quality_data([*recs, extra]).panels[0].lines[("random", "naive")]
    w = (0.8 + 0.81 + 1.0) / 3
    s = (0.875 + 0.88 + 1.0) / 3
    assert point.pgr.value == pytest.approx((s - w) / (0.95 - w))  # 0.604, not 0.5 from the two defined seeds
    assert point.pgr.value == pytest.approx(0.60417, abs=1e-4)
    assert (point.pgr.n, point.pgr.n_undefined) == (3, 1) and point.x == pytest.approx(w)
    assert not point.pgr.resolved and point.pgr.shown is None  # three seeds, one gap negative: CI reaches 0


def test_region_and_locked_data(records):
    panels = {(p.task, p.family): p for p in region_heatmap_data(records)}
    assert set(panels) == {("tb", "synthetic: random"), ("tb", "synthetic: region"), ("tb", "model"),
                           ("tb", "model · locked password"), ("tb", "model · locked deceptive")}
    p = panels[("tb", "synthetic: region")]
    assert p.methods == ["confidence", "naive"]
    assert p.cells[("naive", "ww_sr")] == (pytest.approx(0.31), 6)  # 3 rates × 2 seeds
    assert p.n["wr_sr"] == pytest.approx(405)
    locked = {lp.variant: lp for lp in locked_data(records)}
    assert set(locked) == {"password", "deceptive"}
    lp = locked["deceptive"]
    assert lp.refs["locked_acc"] == pytest.approx(0.555) and lp.refs["locked_acc_trigger"] == pytest.approx(0.92)
    assert lp.refs["weak_acc"] == pytest.approx(0.755) and lp.refs["ceiling_acc"] == pytest.approx(0.95)
    assert lp.bars[("naive", "student_acc_trigger")][0] == pytest.approx(0.79)
    assert lp.bars[("naive", "student_acc")][3] == 2


def test_tables_hold_the_seed_means(records):
    header, rows = imitation_table(records)
    assert header == IMITATION_HEADER
    assert len(rows) == 2 * 3 * 2 + 3 * 2  # synthetic (errors × rate × method) + model / locked (3 × method)
    i = {h: k for k, h in enumerate(header)}
    row = _row(rows, label("region", 0.2), "confidence")
    # agreement 0.65 / 0.75 over the two seeds; in region +0.1, outside −0.2; deception 0.2 / 0.3, known 0.05 / 0.06
    assert row[i["seeds"]] == "2" and row[i["supervisor acc"]] == "0.805"
    assert row[i["imitation of errors"]] == "0.700"
    assert row[i["imitation in region"]] == "0.800" and row[i["imitation outside region"]] == "0.500"
    # these records predate the rename: their deception_score / _known are the student's error rates
    assert row[i["student error (weak ✗ strong ✓)"]] == "0.250"
    assert row[i["student error (weak ✓ strong ✓)"]] == "0.055"
    assert row[i["deception score (Yang et al.)"]] == "n/a"
    row = _row(rows, label("random", 0.1), "naive")
    assert row[i["imitation of errors"]] == "0.450"
    assert row[i["imitation in region"]] == row[i["imitation outside region"]] == "n/a"
    assert rows[0][1] == "minilm"  # model supervisors first, then the synthetic ones
    header, rows = locked_table(records)
    row = _row(rows, "password", "naive")
    assert row[header.index("locked acc")] == "0.555" and row[header.index("locked acc (trigger)")] == "0.920"
    assert row[header.index("student acc (trigger)")] == "0.890"
    assert row[header.index("weak acc")] == "0.755" and row[header.index("ceiling acc")] == "0.950"


@pytest.mark.filterwarnings("error")  # a missing glyph or a layout warning would make a figure unreadable
def test_every_testbed_figure_draws(records):
    drawn = render_testbeds(records)
    assert [spec.name for spec, _ in drawn] == NAMES
    for spec, res in drawn:
        assert res.png is not None and res.png.startswith(PNG_MAGIC), f"{spec.name}: {res.reason}"
    two_tasks = records + [dict(r, task="tb2") for r in records]
    assert [spec.name for spec, _ in render_testbeds(two_tasks)] == NAMES


def test_figures_skip_without_their_rows(records):
    synthetic_only = [r for r in records if r["supervisor_kind"] == "synthetic"]
    assert [s.name for s, _ in render_testbeds(synthetic_only)] == ["supervisor_quality", "region_heatmap"]
    locked_only = [{k: v for k, v in r.items() if not k.startswith(("student_acc_", "region_"))} | {
        "student_acc_trigger": r["student_acc_trigger"]} for r in records if r["locked"]]
    assert [s.name for s, _ in render_testbeds(locked_only)] == ["locked_elicitation"]
    assert render_testbeds([]) == []


def test_reports_have_the_section(records, tmp_path):
    html_path, md_path = write_html_report(records, tmp_path / "html")
    page = html_path.read_text(encoding="utf-8")
    assert '<h2 id="testbeds">Testbeds</h2>' in page
    for name in NAMES:
        assert f'id="fig-{name}"' in page
        assert (tmp_path / "html" / f"fig_{name}.png").read_bytes().startswith(PNG_MAGIC)
    assert page.count('src="data:image/png;base64,') == 5 + len(NAMES)
    assert "Imitation of supervisor errors" in page and "Locked strong students" in page
    assert re.search(r"<td>synthetic\(error_rate=0\.2,errors=region\)</td>.*?<td>confidence</td><td>2</td>"
                     r"<td>0\.805</td><td>0\.700</td><td>0\.800</td><td>0\.500</td><td>0\.250</td><td>0\.055</td>",
                     page)
    md = md_path.read_text(encoding="utf-8")
    assert "## Testbeds" in md and "| synthetic(error_rate=0.2,errors=region) |" in md
    for name in NAMES:
        assert f"](fig_{name}.png)" in md

    md2 = write_report(records, tmp_path / "md").read_text(encoding="utf-8")
    assert "## Testbeds" in md2 and "### Region heatmap" in md2
    assert "| 2 | 0.805 | 0.700 | 0.800 | 0.500 | 0.250 | 0.055 |" in md2
    for name in NAMES:
        assert f"](fig_{name}.png)" in md2
        assert (tmp_path / "md" / f"fig_{name}.png").read_bytes().startswith(PNG_MAGIC)


@pytest.mark.parametrize("case", ["standard_grid", "model_supervisors", "empty"])
def test_no_section_without_testbed_rows(records, tmp_path, case):
    recs = {"standard_grid": grid_records(), "empty": [],
            "model_supervisors": [r for r in records if r["supervisor_kind"] == "model" and not r["locked"]]}[case]
    assert not has_testbeds(recs)
    write_html_report(records, tmp_path)  # an earlier report with the section: its figures must go
    write_report(records, tmp_path)
    html_path, md_path = write_html_report(recs, tmp_path)
    md2 = write_report(recs, tmp_path)
    for path in (html_path, md_path, md2):
        assert "Testbeds" not in path.read_text(encoding="utf-8")
    assert not any((tmp_path / f"fig_{name}.png").exists() for name in NAMES)
