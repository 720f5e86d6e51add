"""The HTML / Markdown report and its five figures, from synthetic records (no model training).

The grid: 2 tasks × weak {a, b} × strong {b, c} × methods {naive, confidence} × 3 seeds. The pair b → b has
(almost) no gap: in task t1 one seed has ceiling < weak (PGR undefined) and the others a gap whose CI includes
0 (unstable); in task t2 every seed of b → b is undefined, so its heatmap cells must read "undef.".
"""

from __future__ import annotations

import re
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from w2sg.report.figures import FIGURES, FigureResult
from w2sg.report.html import HTML_NAME, MD_NAME, write_html_report

from .conftest import PNG_MAGIC, grid_records, wide_records

N_FIGURES = len(FIGURES)


@pytest.fixture(scope="module")
def grid() -> list[dict]:
    recs = grid_records()
    assert any(r["unstable"] and r["pgr_acc"] is not None for r in recs)
    assert any(r["pgr_acc"] is None for r in recs)
    return recs


@pytest.fixture(scope="module")
def report(grid, tmp_path_factory) -> tuple[Path, Path]:
    return write_html_report(grid, tmp_path_factory.mktemp("report"), title="w2sg test <report>")


def _check_result(res: FigureResult, name: str) -> None:
    assert isinstance(res, FigureResult), name
    if res.png is None:
        assert isinstance(res.reason, str) and res.reason, f"{name}: None without a reason"
    else:
        assert res.png.startswith(PNG_MAGIC), f"{name}: not PNG bytes"
        assert res.reason is None


@pytest.mark.filterwarnings("error")  # a missing glyph or a layout warning would make a figure unreadable
def test_every_figure_draws_the_grid(grid):
    for spec in FIGURES:
        res = spec.render(grid)
        _check_result(res, spec.name)
        assert res.png is not None, f"{spec.name}: {res.reason}"
        assert len(res.png) > 10_000, spec.name


@pytest.mark.parametrize("case", ["empty", "one", "all_undefined", "no_agreement"])
def test_figures_draw_or_say_why(grid, case):
    if case == "empty":
        recs = []
    elif case == "one":
        recs = [grid[0]]
    elif case == "all_undefined":
        recs = [r for r in grid if r["weak"] == r["strong"] == "b" and r["task"] == "t2"]
        assert recs and all(r["pgr_acc"] is None for r in recs)
    else:
        recs = [{k: v for k, v in r.items() if "agree" not in k} for r in grid[:6]]
    for spec in FIGURES:
        res = spec.render(recs)
        _check_result(res, spec.name)
        if case == "empty":
            assert res.png is None
    if case == "no_agreement":
        res = next(s for s in FIGURES if s.name == "agreement").render(recs)
        assert res.png is None and "agreement" in res.reason


def test_report_files(report):
    html_path, md_path = report
    assert html_path.name == HTML_NAME and md_path.name == MD_NAME
    assert html_path.is_file() and md_path.is_file()
    page = html_path.read_text(encoding="utf-8")
    assert page.count('src="data:image/png;base64,') == N_FIGURES == 5
    assert len(re.findall(r"<img\b", page)) == N_FIGURES
    assert "http://" not in page and "https://" not in page
    assert not re.search(r"""(src|href)=["'](?!data:)""", page), "external resource reference"
    assert 'id="w2sg-selfcheck"' in page
    assert "w2sg test &lt;report&gt;" in page  # the title is escaped
    assert "undefined (" in page and " unstable" in page  # fmt_pgr's words reach the table
    md = md_path.read_text(encoding="utf-8")
    pngs = re.findall(r"!\[[^\]]*\]\(([^)]+\.png)\)", md)
    assert len(pngs) == N_FIGURES
    for name in pngs:
        assert (md_path.parent / name).read_bytes().startswith(PNG_MAGIC)
    assert "| task |" in md and "undefined (" in md


@pytest.mark.parametrize("case", ["one", "all_undefined", "empty"])
def test_report_from_few_records(grid, tmp_path, case):
    recs = {"one": grid[:1], "empty": [],
            "all_undefined": [r for r in grid if r["weak"] == r["strong"] == "b" and r["task"] == "t2"]}[case]
    html_path, md_path = write_html_report(recs, tmp_path, title=case)
    page = html_path.read_text(encoding="utf-8")
    assert md_path.is_file() and "<h1>" in page and 'id="w2sg-selfcheck"' in page
    n_img = page.count('src="data:image/png;base64,')
    n_missing = page.count('class="missing"')
    assert n_img + n_missing == N_FIGURES
    if case == "empty":
        assert n_img == 0
    else:
        assert n_img >= 4, page[:2000]


def _selfcheck(dom: str) -> dict[str, str]:
    m = re.search(r'<div\b[^>]*\bid="w2sg-selfcheck"[^>]*>', dom)
    assert m, "self-check div missing from the dumped DOM"
    return dict(re.findall(r'data-([\w-]+)="([^"]*)"', m.group(0)))


LAPTOP_WIDTH = 1400  # px: the page must not run off the right edge of a laptop's browser window


@pytest.mark.skipif(shutil.which("chromium") is None,
                    reason="no chromium binary on PATH (Debian: apt-get install -y chromium)")
@pytest.mark.parametrize("which", ["grid", "wide"])
def test_report_in_headless_chromium(report, tmp_path, which):
    """The page loads in a browser at a laptop's width: every figure decodes, no script error, and nothing runs
    off to the right (document.scrollWidth <= innerWidth: wide tables scroll inside their own box)."""
    html_path = report[0] if which == "grid" else write_html_report(wide_records(), tmp_path / "wide")[0]
    cmd = [shutil.which("chromium"), "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
           "--disable-background-networking", "--disable-component-update", "--disable-sync",
           "--enable-logging=stderr", "--v=0", f"--user-data-dir={tmp_path / 'profile'}",
           f"--window-size={LAPTOP_WIDTH},900", "--hide-scrollbars",
           "--virtual-time-budget=5000", "--dump-dom", html_path.resolve().as_uri()]
    t0 = time.monotonic()
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=180)
    elapsed = time.monotonic() - t0
    assert proc.returncode == 0, f"chromium exited {proc.returncode} after {elapsed:.1f}s:\n{proc.stderr[-3000:]}"
    check = _selfcheck(proc.stdout)
    assert check.get("done") == "true", f"self-check did not run: {check}"
    assert check["images-total"] == str(N_FIGURES), check
    assert check["images-ok"] == check["images-total"], check
    assert check["errors"] == "0", check.get("error-messages")
    assert check["inner-width"] == str(LAPTOP_WIDTH), check
    assert int(check["scroll-width"]) <= int(check["inner-width"]), f"the page overflows to the right: {check}"
    bad = [line for line in proc.stderr.splitlines()
           if "Uncaught" in line or ("CONSOLE" in line and "error" in line.lower())]
    assert not bad, "\n".join(bad)
