"""PGR against the student's training budget: the figure, its plotted points and its place in the reports.

Synthetic records (no model training): 2 tasks × budgets {steps=16, steps=256, converged, early stop on weak
labels, ORACLE early stop} × methods {naive, confidence} × 3 seeds, all a → c. In task t1 seed 2 of
(naive, steps=256) has a tiny, unstable gap (0.01) and a wild PGR (5.0): the plotted point is the pooled PGR of all
three seeds, that one included (never the mean of the stable seeds).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from w2sg.report.figures import BUDGET_FIGURE, budget_points, pgr_vs_budget, pgr_vs_budget_figure
from w2sg.report.html import write_html_report
from w2sg.report.markdown import write_report

from .conftest import BUDGETS, PNG_MAGIC, budget_grid


@pytest.fixture(scope="module")
def records() -> list[dict]:
    return budget_grid()


def _point(points, task: str, method: str, budget: str, metric: str):
    (p,) = [p for p in points if p.panel[0] == task and p.series == method and p.budget == budget
            and p.metric == metric]
    return p


def _pooled(records, task: str, method: str, budget: str, metric: str = "acc") -> float:
    """(mean student − mean weak) / (mean ceiling − mean weak) over every seed of the cell."""
    rs = [r for r in records if (r["task"], r["method"], r["budget"]) == (task, method, budget)]
    w, c, s = (sum(r[f"{role}_{metric}"] for r in rs) / len(rs) for role in ("weak", "ceiling", "student"))
    return (s - w) / (c - w)


def test_points_pool_every_seed(records):
    points = budget_points(records)
    assert {p.panel for p in points} == {("t1", "frozen"), ("t2", "frozen")}
    assert len(points) == 2 * 2 * len(BUDGETS) * 2  # tasks × methods × budgets × {acc, auroc}
    p = _point(points, "t1", "naive", "steps=256", "acc")
    # all three seeds, the unstable one too: (0.7558 − 0.70) / (0.8383 − 0.70) = 0.403; the stable seeds' mean
    # was 0.29, the mean of the three PGRs 1.86
    assert p.value == pytest.approx(_pooled(records, "t1", "naive", "steps=256")) == pytest.approx(0.0558 / 0.13833,
                                                                                                   abs=1e-3)
    assert p.stat.resolved and (p.stat.n, p.stat.n_undefined) == (3, 0) and p.stat.lo < p.value < p.stat.hi
    auroc = _point(points, "t1", "naive", "steps=256", "auroc")
    assert auroc.value == pytest.approx(_pooled(records, "t1", "naive", "steps=256", "auroc"))
    q = _point(points, "t2", "naive", "steps=256", "acc")
    assert q.stat.n == 3 and q.value == pytest.approx(0.30, abs=0.002)
    assert _point(points, "t1", "confidence", "steps=16", "acc").value == pytest.approx(0.80, abs=0.002)
    steps = {p.budget: p.steps for p in points}
    assert steps["steps=16"] == 16 and steps["steps=256"] == 256 and steps["converged"] is None
    oracle = _point(points, "t1", "naive", BUDGETS[-1], "acc")
    assert oracle.oracle and oracle.kind == "early_stop_oracle"
    assert not _point(points, "t1", "naive", BUDGETS[-2], "acc").oracle


def test_unresolved_mean_gap_gives_no_value(records):
    # the per-experiment `unstable` flag alone selects nothing: the points stay as they are
    flagged = [dict(r, unstable=True) if r["budget"] == "converged" else r for r in records]
    assert budget_points(flagged) == budget_points(records)
    # ceiling ≈ weak in every seed of the converged budget: the mean gap is not resolved, no value is drawn
    gaps = (-0.01, 0.004, 0.002)
    flat = [dict(r, ceiling_acc=r["weak_acc"] + gaps[r["seed"]]) if r["budget"] == "converged" else r
            for r in records]
    p = _point(budget_points(flat), "t2", "naive", "converged", "acc")
    assert p.value is None and not p.stat.resolved and p.stat.n == 3
    assert p.stat.gap == pytest.approx(-0.004 / 3) and p.stat.gap_lo < 0 < p.stat.gap_hi
    assert _point(budget_points(flat), "t2", "naive", "converged", "auroc").value is not None
    assert pgr_vs_budget_figure(flat).png.startswith(PNG_MAGIC)


@pytest.mark.filterwarnings("error")  # a missing glyph or a layout warning would make the figure unreadable
def test_figure_writes_a_png(records, tmp_path):
    out = pgr_vs_budget(records, tmp_path / "sub" / "budget.png")
    assert out == tmp_path / "sub" / "budget.png"
    assert out.read_bytes().startswith(PNG_MAGIC) and out.stat().st_size > 10_000


@pytest.mark.filterwarnings("error")
def test_figure_reads_with_thirteen_tasks(records):
    recs = [dict(r, task=f"task{i:02d}") for i in range(13) for r in records if r["task"] == "t1"]
    res = pgr_vs_budget_figure(recs)
    assert res.png is not None and res.png.startswith(PNG_MAGIC)


def test_one_budget_draws_nothing(records, tmp_path):
    one = [r for r in records if r["budget"] == "converged"]
    assert pgr_vs_budget(one, tmp_path / "x.png") is None
    assert not (tmp_path / "x.png").exists()
    assert budget_points(one) == []
    assert pgr_vs_budget([], tmp_path / "x.png") is None
    # a method with two budgets in one task only is enough
    two = one + [r for r in records if r["task"] == "t1" and r["method"] == "naive" and r["budget"] == "steps=16"]
    assert {p.panel[0] for p in budget_points(two)} == {"t1"}
    # records without any budget (older stores) are left out, not crashed on
    old = [{k: v for k, v in r.items() if not k.startswith("budget")} for r in records]
    assert pgr_vs_budget(old, tmp_path / "x.png") is None


def _no_absolute_paths(text: str, root: Path) -> None:
    assert str(root) not in text
    assert str(Path.home()) not in text or str(Path.home()) == "/"
    assert not re.search(r"\]\(/", text), "absolute Markdown link"


def test_reports_embed_the_budget_figure(records, tmp_path):
    html_path, md_path = write_html_report(records, tmp_path / "html")
    page = html_path.read_text(encoding="utf-8")
    m = re.search(r'<section class="figure" id="fig-pgr_vs_budget">.*?</section>', page, re.S)
    assert m, "budget figure missing from the HTML report"
    assert 'src="data:image/png;base64,' in m.group(0)  # self-contained: the image travels inside the page
    assert "CV-tuned optimum" in m.group(0) and "artefact of under-training" in m.group(0)
    assert page.count('src="data:image/png;base64,') == 6
    assert not re.search(r"""(src|href)=["'](?!data:)""", page)
    _no_absolute_paths(page, tmp_path)
    assert "<th>budget</th>" in page and "<th>majority</th>" in page and "<th>PGR (AUROC, pooled)</th>" in page
    assert "class-balanced" in page and "No seed is left out by its gap" in page

    md = md_path.read_text(encoding="utf-8")
    links = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", md)
    assert "fig_pgr_vs_budget.png" in links
    for link in links:
        assert not Path(link).is_absolute() and (md_path.parent / link).read_bytes().startswith(PNG_MAGIC)
    _no_absolute_paths(md, tmp_path)
    assert "CV-tuned optimum" in md and "| budget |" in md.replace("| method | budget |", "| budget |")

    md2 = write_report(records, tmp_path / "md")
    text = md2.read_text(encoding="utf-8")
    links = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", text)
    assert "pgr_vs_budget.png" in links
    for link in links:
        assert not Path(link).is_absolute() and (md2.parent / link).read_bytes().startswith(PNG_MAGIC)
    _no_absolute_paths(text, tmp_path)
    header = next(line for line in text.splitlines() if line.startswith("| task |"))
    cols = [c.strip() for c in header.strip("|").split("|")]
    assert cols[cols.index("method") + 1] == "budget"
    assert "PGR (AUROC, pooled)" in cols and "majority" in cols and "PGR (per-question)" not in cols
    assert "CV-tuned optimum" in text and "class-balanced" in text and "No seed is left out by its gap" in text
    assert "ORACLE" in text


def test_reports_without_budgets_leave_the_figure_out(records, tmp_path):
    one = [r for r in records if r["budget"] == "converged"]
    (tmp_path / "fig_pgr_vs_budget.png").write_bytes(b"stale")
    (tmp_path / "pgr_vs_budget.png").write_bytes(b"stale")
    html_path, md_path = write_html_report(one, tmp_path)
    md = write_report(one, tmp_path)
    assert "fig-pgr_vs_budget" not in html_path.read_text(encoding="utf-8")
    assert "pgr_vs_budget" not in md_path.read_text(encoding="utf-8")
    assert "pgr_vs_budget.png" not in md.read_text(encoding="utf-8")
    assert not (tmp_path / "fig_pgr_vs_budget.png").exists() and not (tmp_path / "pgr_vs_budget.png").exists()


def test_per_question_pgr_and_majority_flags_reach_the_tables(records, tmp_path):
    recs = [dict(r, pgr_q_acc=0.42, pgr_q_acc_ci_low=0.3, pgr_q_acc_ci_high=0.5, unstable_q_acc=False)
            for r in records]
    recs[0] = dict(recs[0], weak_below_majority=True)
    html_path, _ = write_html_report(recs, tmp_path)
    page = html_path.read_text(encoding="utf-8")
    assert "<th>PGR (per-question)</th>" in page and "0.42" in page
    assert "weak &lt; majority 1/3" in page
    text = write_report(recs, tmp_path / "md").read_text(encoding="utf-8")
    assert "PGR (per-question)" in text and "weak < majority 1/3" in text


def test_budget_spec_caption():
    assert BUDGET_FIGURE.name == "pgr_vs_budget"
    assert "training budget" in BUDGET_FIGURE.caption and "ORACLE" in BUDGET_FIGURE.caption
