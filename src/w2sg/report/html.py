"""A self-contained HTML report (figures embedded as base64 PNG, no external resource of any kind) and a
Markdown twin with the same tables and the figures saved as PNG files next to it.

The page carries a small inline self-check: on load it counts the <img> elements that decoded
(complete && naturalWidth > 0) and the JavaScript errors / console.error calls / blocked resources seen
while loading, and writes them into `<div id="w2sg-selfcheck" data-images-ok data-images-total
data-errors>` so that a headless browser's DOM dump can be checked. A Content-Security-Policy that allows
only inline styles, inline scripts and data: images makes any external reference fail loudly.
"""

from __future__ import annotations

import base64
import datetime as dt
import html
from pathlib import Path

from w2sg.report.figures import FigureResult, FigureSpec, render_all
from w2sg.report.summary import fmt, fmt_mean_sd, fmt_pgr, summarize

HTML_NAME = "report.html"
MD_NAME = "report-figures.md"

LEGEND = [
    ("PGR", "performance gap recovered = (student − weak) / (ceiling − weak), on test accuracy: 0 means the "
            "student is no better than its weak supervisor, 1 means it matches the strong model trained on "
            "ground truth (the ceiling)."),
    ("CI", "per experiment: 95% paired bootstrap interval over test examples, written [low, high]; "
           "over seeds: mean ± sd, and in the figures a t-based 95% CI over seeds."),
    ("unstable", "the 95% CI of the gap (ceiling − weak) includes 0, so the denominator of PGR may be noise "
                 "and the PGR value should not be trusted; hatched or hollow grey in the figures."),
    ("undefined", "ceiling ≤ weak on the test set: there is no gap to recover and PGR is not a number; written "
                  "'undefined (reason)' in the tables and 'undef.' in the figures, never dropped."),
]

CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 1.5rem auto; max-width: 1200px;
       color: #222; padding: 0 1rem; line-height: 1.4; }
h1 { font-size: 1.5rem; } h2 { font-size: 1.2rem; margin-top: 2rem; border-bottom: 1px solid #ddd; }
table { border-collapse: collapse; font-size: 0.8rem; margin: 0.5rem 0; }
th, td { border: 1px solid #ccc; padding: 0.2rem 0.45rem; text-align: left; vertical-align: top; }
th { background: #f3f3f3; } tr:nth-child(even) td { background: #fafafa; }
td.unstable { color: #8a5a00; } td.undefined { color: #888; font-style: italic; }
figure { margin: 1rem 0 2rem; } figure img { max-width: 100%; height: auto; border: 1px solid #eee; }
figcaption { font-size: 0.85rem; color: #444; max-width: 60rem; }
p.missing { color: #8a5a00; background: #fff7e6; padding: 0.4rem 0.6rem; border-left: 3px solid #e0a000; }
dl.legend dt { font-weight: bold; float: left; clear: left; width: 6.5rem; }
dl.legend dd { margin-left: 7rem; margin-bottom: 0.3rem; font-size: 0.9rem; }
#w2sg-selfcheck { font-size: 0.75rem; color: #666; margin-top: 2rem; }
"""

# Runs in <head> so that errors while the page loads are caught; writes the result once everything loaded.
SELFCHECK_JS = """
(function () {
  var errors = [];
  function box() { return document.getElementById("w2sg-selfcheck"); }
  function publish() {
    var el = box();
    if (!el) { return; }
    el.setAttribute("data-errors", String(errors.length));
    el.setAttribute("data-error-messages", errors.join(" | ").slice(0, 2000));
  }
  function record(msg) { errors.push(String(msg)); publish(); }
  window.onerror = function (msg, src, line) { record("error: " + msg + " (line " + line + ")"); return false; };
  window.addEventListener("error", function (e) {
    var t = e.target;
    if (t && t !== window) { record("resource failed: " + (t.currentSrc || t.src || t.tagName)); }
  }, true);
  window.addEventListener("unhandledrejection", function (e) { record("unhandled rejection: " + e.reason); });
  document.addEventListener("securitypolicyviolation", function (e) { record("blocked: " + e.blockedURI); });
  var consoleError = console.error;
  console.error = function () {
    record("console.error: " + Array.prototype.map.call(arguments, String).join(" "));
    return consoleError.apply(console, arguments);
  };
  window.addEventListener("load", function () {
    var imgs = document.images, ok = 0;
    for (var i = 0; i < imgs.length; i++) { if (imgs[i].complete && imgs[i].naturalWidth > 0) { ok++; } }
    var el = box();
    if (!el) { return; }
    el.setAttribute("data-images-ok", String(ok));
    el.setAttribute("data-images-total", String(imgs.length));
    el.setAttribute("data-done", "true");
    publish();
    el.textContent = "Self-check: " + ok + " of " + imgs.length + " figures decoded, " + errors.length +
      " page error(s).";
  });
})();
"""

CSP = ("default-src 'none'; img-src data:; style-src 'unsafe-inline'; script-src 'unsafe-inline'; "
       "base-uri 'none'; form-action 'none'")

SUMMARY_HEADER = ["task", "weak → strong", "mode", "method", "seeds", "weak acc", "ceiling acc", "student acc",
                  "PGR (acc)", "PGR (AUROC)", "unstable", "undefined"]
EXPERIMENT_HEADER = ["task", "weak → strong", "mode", "method", "seed", "weak acc", "ceiling acc", "student acc",
                     "gap acc [95% CI]", "PGR acc [95% CI]", "PGR AUROC [95% CI]", "agree (weak right)",
                     "agree (weak wrong)", "ceiling agree (weak wrong)"]


def _ci_text(r: dict, metric: str, digits: int = 3) -> str:
    v = r.get(metric)
    if v is None:
        return "n/a"
    return f"{fmt(v, digits)} [{fmt(r.get(f'{metric}_ci_low'), digits)}, {fmt(r.get(f'{metric}_ci_high'), digits)}]"


def summary_rows(records: list[dict]) -> list[list[str]]:
    """One row per (task, weak, strong, mode, method): seed means ± sd, unstable and undefined counts."""
    out = []
    for r in summarize(records):
        n = len(r["seeds"])
        out.append([str(r["task"]), f"{r['weak']} → {r['strong']}", str(r["mode"]), str(r["method"]), str(n),
                    fmt_mean_sd(r, "weak_acc"), fmt_mean_sd(r, "ceiling_acc"), fmt_mean_sd(r, "student_acc"),
                    fmt_mean_sd(r, "pgr_acc", 2), fmt_mean_sd(r, "pgr_auroc", 2), f"{r['n_unstable']}/{n}",
                    f"{r['n_undefined']}/{n}"])
    return out


def experiment_rows(records: list[dict]) -> list[list[str]]:
    """One row per experiment with PGR and its CI (summary.fmt_pgr), the gap with its CI and agreements."""
    keyed = sorted(records, key=lambda r: tuple(str(r.get(k)) for k in ("task", "weak", "strong", "mode", "method"))
                   + (r.get("seed") if isinstance(r.get("seed"), int) else 0,))
    return [[str(r.get("task")), f"{r.get('weak')} → {r.get('strong')}", str(r.get("mode")), str(r.get("method")),
             str(r.get("seed")), fmt(r.get("weak_acc")), fmt(r.get("ceiling_acc")), fmt(r.get("student_acc")),
             _ci_text(r, "gap_acc"), fmt_pgr(r, "acc"), fmt_pgr(r, "auroc"), fmt(r.get("agree_transfer_weak_right")),
             fmt(r.get("agree_transfer_weak_wrong")), fmt(r.get("ceiling_agree_transfer_weak_wrong"))]
            for r in keyed]


def _cell_class(text: str) -> str:
    if text.startswith("undefined"):
        return ' class="undefined"'
    if text.endswith(" unstable"):
        return ' class="unstable"'
    return ""


def _html_table(header: list[str], rows: list[list[str]]) -> str:
    if not rows:
        return "<p><em>No experiments.</em></p>"
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = "\n".join("<tr>" + "".join(f"<td{_cell_class(c)}>{html.escape(c)}</td>" for c in row) + "</tr>"
                     for row in rows)
    return f"<table>\n<thead><tr>{head}</tr></thead>\n<tbody>\n{body}\n</tbody>\n</table>"


def _md_cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _md_table(header: list[str], rows: list[list[str]]) -> list[str]:
    if not rows:
        return ["_No experiments._"]
    return (["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
            + ["| " + " | ".join(_md_cell(c) for c in row) + " |" for row in rows])


def _figure_html(spec: FigureSpec, res: FigureResult) -> str:
    title = html.escape(spec.title)
    if res.png is None:
        return (f'<section class="figure" id="fig-{spec.name}"><h3>{title}</h3>'
                f'<p class="missing">Not drawn: {html.escape(res.reason or "nothing to draw")}.</p></section>')
    data = base64.b64encode(res.png).decode("ascii")
    return (f'<section class="figure" id="fig-{spec.name}"><h3>{title}</h3><figure>'
            f'<img src="data:image/png;base64,{data}" alt="{title}">'
            f"<figcaption>{html.escape(spec.caption)}</figcaption></figure></section>")


def write_html_report(records: list[dict], out_dir: str | Path, title: str = "w2sg report") -> tuple[Path, Path]:
    """Write `report.html` (self-contained) and `report-figures.md` with `fig_<name>.png` files into out_dir.

    Returns (html_path, md_path). Works from any number of records, including none, one, or records whose
    PGR is undefined everywhere: a figure with nothing to draw is replaced by a note with the reason.
    """
    from w2sg.store import with_variant_labels

    records = with_variant_labels(records)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    records = list(records)
    figures = render_all(records)
    summary, experiments = summary_rows(records), experiment_rows(records)
    n_unstable = sum(bool(r.get("unstable")) for r in records)
    n_undefined = sum(r.get("pgr_acc") is None for r in records)
    stamp = dt.datetime.now().isoformat(timespec="seconds")
    intro = (f"Generated {stamp} from {len(records)} experiment(s): {n_unstable} unstable, "
             f"{n_undefined} with an undefined PGR (accuracy).")

    legend_html = "<dl class=\"legend\">" + "".join(
        f"<dt>{html.escape(k)}</dt><dd>{html.escape(v)}</dd>" for k, v in LEGEND) + "</dl>"
    page = f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{CSP}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{html.escape(title)}</title>
<style>{CSS}</style>
<script>{SELFCHECK_JS}</script>
</head>
<body>
<h1>{html.escape(title)}</h1>
<p>{html.escape(intro)}</p>
<h2>How to read this report</h2>
{legend_html}
<h2>Summary over seeds</h2>
{_html_table(SUMMARY_HEADER, summary)}
<h2>Figures</h2>
{"".join(_figure_html(spec, res) for spec, res in figures)}
<h2>Every experiment</h2>
{_html_table(EXPERIMENT_HEADER, experiments)}
<p>Agreement columns: share of transfer examples on which the student (or, as a control, the ceiling) predicts the
weak model's label, among those the weak model got right / wrong.</p>
<div id="w2sg-selfcheck" data-images-ok="0" data-images-total="0" data-errors="0" data-done="false">
Self-check did not run (JavaScript disabled?).</div>
</body>
</html>
"""
    html_path = out_dir / HTML_NAME
    html_path.write_text(page, encoding="utf-8")

    lines = [f"# {title}", "", intro, "", "## How to read this report", ""]
    lines += [f"- **{k}**: {v}" for k, v in LEGEND]
    lines += ["", "## Summary over seeds", "", *_md_table(SUMMARY_HEADER, summary), "", "## Figures", ""]
    for spec, res in figures:
        lines += [f"### {spec.title}", ""]
        png_path = out_dir / f"fig_{spec.name}.png"
        if res.png is None:
            png_path.unlink(missing_ok=True)  # never leave a stale figure from an earlier report
            lines += [f"_Not drawn: {res.reason or 'nothing to draw'}._", ""]
            continue
        png_path.write_bytes(res.png)
        lines += [f"![{spec.title}]({png_path.name})", "", spec.caption, ""]
    lines += ["## Every experiment", "", *_md_table(EXPERIMENT_HEADER, experiments), ""]
    md_path = out_dir / MD_NAME
    md_path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return html_path, md_path
