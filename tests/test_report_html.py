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

from w2sg.metrics import pgr
from w2sg.report.figures import FIGURES, FigureResult
from w2sg.report.html import HTML_NAME, MD_NAME, write_html_report

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
WEAK_ACC = {"a": 0.70, "b": 0.80}
CEILING_ACC = {"b": 0.80, "c": 0.90}
METHOD_PGR = {"naive": 0.45, "confidence": 0.70}
SAME_MODEL_GAP = {"t1": (-0.005, 0.006, 0.004), "t2": (-0.004, 0.0, -0.002)}  # b → b gaps by seed
N_FIGURES = len(FIGURES)


def budget_keys(budget: str) -> dict:
    """The budget keys of `pipeline.training_record` for a budget label."""
    if budget.startswith("steps="):
        kind, steps = "steps", int(budget[6:])
    elif budget.startswith("early_stop"):
        kind, steps = budget.split("(")[0], None
    else:
        kind, steps = "full", None
    return {"budget": budget, "budget_kind": kind, "budget_steps": steps, "oracle": kind == "early_stop_oracle"}


def make_record(task: str, weak: str, strong: str, method: str, seed: int, budget: str = "converged") -> dict:
    """A flat record with the keys of `metrics.evaluate` and `pipeline.training_record` that the report reads
    (accuracy class-balanced, so the majority baseline is 0.5; no per-question scoring)."""
    t_off = 0.0 if task == "t1" else 0.03
    w = WEAK_ACC[weak] + t_off + 0.01 * (seed - 1)
    if weak == strong:
        c = w + SAME_MODEL_GAP[task][seed]
    else:
        c = CEILING_ACC[strong] + t_off + 0.005 * (seed - 1)
    gap = c - w
    target = METHOD_PGR[method] + 0.05 * (seed - 1) + (0.1 if strong == "c" else 0.0)
    s = w + target * gap if gap > 0 else w + 0.002
    value = pgr(w, c, s)
    half = 0.02 / gap if gap > 0 else None
    unstable = value is None or gap - 0.025 <= 0
    r = {"task": task, "weak": weak, "strong": strong, "method": method, "seed": seed, "mode": "frozen",
         "status": "ok", "weak_acc": w, "ceiling_acc": c, "student_acc": s,
         "gap_acc": gap, "gap_acc_ci_low": gap - 0.025, "gap_acc_ci_high": gap + 0.025,
         "pgr_acc": value, "pgr_acc_ci_low": None if value is None else value - half,
         "pgr_acc_ci_high": None if value is None else value + half,
         "pgr_acc_reason": (f"ceiling accuracy {c:.3f} <= weak {w:.3f}: no gap to recover" if value is None else
                            f"gap {gap:.3f} within noise" if unstable else None),
         "unstable": unstable, "unstable_auroc": unstable,
         "pgr_auroc": None if value is None else 0.9 * value,
         "pgr_auroc_ci_low": None if value is None else 0.9 * value - half,
         "pgr_auroc_ci_high": None if value is None else 0.9 * value + half,
         "agree_transfer_weak_right": 0.96 - 0.01 * seed, "agree_transfer_weak_wrong": 0.75 - 0.4 * target,
         "agree_test_weak_right": 0.95, "agree_test_weak_wrong": 0.7 - 0.4 * target,
         "ceiling_agree_transfer_weak_right": 0.93 + 0.005 * seed,
         "ceiling_agree_transfer_weak_wrong": 0.22 + 0.02 * seed}
    for name, v in (("weak", w), ("ceiling", c), ("student", s)):
        r[f"{name}_acc_ci_low"], r[f"{name}_acc_ci_high"] = v - 0.02, v + 0.02
        r[f"{name}_auroc"] = min(1.0, v + 0.05)
        r[f"{name}_q_acc"] = r[f"{name}_q_acc_ci_low"] = r[f"{name}_q_acc_ci_high"] = None
        r[f"l2_{name}"], r[f"grad_norm_{name}"], r[f"steps_{name}"] = 1e-3, 1e-6, 40
    r |= {"majority_acc": 0.5, "test_balanced": True, "weak_below_majority": w < 0.5,
          "ceiling_below_majority": c < 0.5, "pgr_q_acc": None, "pgr_q_acc_ci_low": None, "pgr_q_acc_ci_high": None,
          "pgr_q_acc_reason": None, "unstable_q_acc": None, "solver": "lbfgs", "variant": None,
          "student_selected_step": None, **budget_keys(budget)}
    return r


def grid_records() -> list[dict]:
    return [make_record(t, w, s, m, seed) for t in ("t1", "t2") for w in ("a", "b") for s in ("b", "c")
            for m in ("naive", "confidence") for seed in range(3)]


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


def wide_records() -> list[dict]:
    """The grid as a sweep with split overrides: half the cells at a long variant, methods with long options, so
    that the tables are as wide as a real sweep's (a variant column, long method names)."""
    out = []
    for i, r in enumerate(grid_records()):
        variant = "splits.n_test=100,splits.n_transfer=400,splits.n_val=50,splits.n_weak_train=400" if i % 2 else ""
        method = r["method"] + ("(a_max=0.75,warmup=0.2,threshold_schedule=linear)" if r["method"] == "confidence"
                                else "")
        out.append(r | {"variant": variant, "method": method, "hash": f"h{i:04d}" * 8})
    return out


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
