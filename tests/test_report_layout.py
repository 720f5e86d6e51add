"""The report as a reader sees it (issue 23, item 9): the variant of a sweep (its split overrides) said once
instead of glued to every method name, the heatmap's panel titles apart, and the heatmap and the summary table
showing the same statistic for the same cell; the run table of `w2sg run` likewise."""

from __future__ import annotations

import re
from itertools import combinations

import pytest

from w2sg.report.aggregate import pgr_heatmap_data, results_of
from w2sg.report.draw import heatmap_figure
from w2sg.report.html import write_html_report
from w2sg.report.summary import summarize
from w2sg.report.tables import summary_table
from w2sg.report.variants import variants_of, with_variant_tags

from .conftest import grid_records, wide_records

SHRUNK = "splits.n_test=686,splits.n_transfer=1372,splits.n_val=343,splits.n_weak_train=1372"


def _one_variant() -> list[dict]:
    return [r | {"variant": SHRUNK} for r in grid_records()]


def test_one_variant_is_said_once_not_in_the_method(tmp_path):
    html_path, md_path = write_html_report(_one_variant(), tmp_path)
    page, md = html_path.read_text(encoding="utf-8"), md_path.read_text(encoding="utf-8")
    for text in (page, md):
        assert "{splits" not in text  # never `naive {splits.n_test=...}`
        assert text.count(SHRUNK) == 2  # once in the summary's note, once above the figures
    header, rows = summary_table(_one_variant())
    assert "variant" not in header and {r[header.index("method")] for r in rows} == {"naive", "confidence"}


def test_several_variants_get_a_column_and_tags(tmp_path):
    recs = wide_records()
    v = variants_of(results_of(recs))
    assert v.several and set(v.tags.values()) == {"default", "v1"}
    header, rows = summary_table(recs)
    assert header[4] == "variant" and {r[4] for r in rows} == {"default", "v1"}
    assert not any("{" in r[header.index("method")] for r in rows)
    page = write_html_report(recs, tmp_path)[0].read_text(encoding="utf-8")
    assert "v1 = splits.n_test=100" in page and "{splits" not in page
    tagged = {r.method for r in with_variant_tags(results_of(recs))}
    assert tagged == {f"{m} [{t}]" for m in ("naive", "confidence(a_max=0.75,warmup=0.2,threshold_schedule=linear)")
                      for t in ("default", "v1")}
    assert {r.method for r in with_variant_tags(with_variant_tags(results_of(recs)))} == tagged  # idempotent


def test_heatmap_and_summary_show_the_same_statistic():
    """Every heatmap cell is the summary row's pooled PGR of the same cell: value and CI."""
    recs = grid_records()
    rows = {(r["task"], r["mode"], r["method"], r["weak"], r["strong"]): r for r in summarize(recs)}
    data = pgr_heatmap_data(recs)
    n = 0
    for prow in data.grids:
        for g in prow:
            for (wi, si), cell in g.cells.items():
                row = rows[(*g.panel, g.method, g.weaks[wi], g.strongs[si])]
                assert cell.n == row["n_seeds"]
                assert cell.resolved == bool(row["pgr_acc_resolved"])
                assert cell.value == pytest.approx(row["pgr_acc_pooled"], nan_ok=True, abs=1e-12)
                assert (cell.lo, cell.hi) == pytest.approx((row["pgr_acc_pooled_ci_low"],
                                                           row["pgr_acc_pooled_ci_high"]), abs=1e-12)
                n += 1
    assert n == len(rows) == 16


def _title_boxes(fig) -> list:
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    renderer = canvas.get_renderer()
    return [ax.title.get_window_extent(renderer) for ax in fig.axes if ax.get_title()]


@pytest.mark.parametrize("long_names", [False, True])
def test_heatmap_panel_titles_do_not_overlap(long_names):
    recs = wide_records() if long_names else grid_records()
    fig = heatmap_figure(pgr_heatmap_data(with_variant_tags(results_of(recs))))
    boxes = _title_boxes(fig)
    assert len(boxes) == (8 if long_names else 4)
    for a, b in combinations(boxes, 2):
        assert not a.overlaps(b), (a, b)
    width = fig.get_size_inches()[0] * fig.dpi
    assert all(b.x0 >= 0 and b.x1 <= width for b in boxes)  # inside the figure


def test_run_table_keeps_the_variant_out_of_the_method_column():
    from w2sg.cli.common import out
    from w2sg.cli.tables import print_table

    recs = [r | {"variant": SHRUNK, "hash": f"{i:064x}"} for i, r in enumerate(grid_records()[:6])]
    with out.capture() as cap:
        print_table(recs)
    text = cap.get()
    assert "{splits" not in text
    assert re.search(r"variant\)?:?\s", text) and "splits.n_test=686" in text  # said once, in the title
    two = recs + [r | {"variant": "", "hash": f"{i + 100:064x}"} for i, r in enumerate(grid_records()[:6])]
    with out.capture() as cap:
        print_table(two)
    assert "{splits" not in cap.get() and "v1 = splits.n_test=686" in cap.get()
