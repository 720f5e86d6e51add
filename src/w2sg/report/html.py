"""A self-contained HTML report (figures embedded as base64 PNG, no external resource of any kind) and a
Markdown twin with the same tables and the figures saved as PNG files next to it.

The page carries a small inline self-check: on load it counts the <img> elements that decoded
(complete && naturalWidth > 0) and the JavaScript errors / console.error calls / blocked resources seen
while loading, and writes them, with the page's scroll width and the window's inner width (a page wider than
the window overflows to the right), into `<div id="w2sg-selfcheck" data-images-ok data-images-total
data-errors data-scroll-width data-inner-width>` so that a headless browser's DOM dump can be checked. Wide
tables scroll sideways inside their own box. A Content-Security-Policy that allows
only inline styles, inline scripts and data: images makes any external reference fail loudly.
"""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import html
from collections.abc import Mapping
from pathlib import Path
from typing import NamedTuple

from w2sg.outputs import write_bytes, write_text
from w2sg.report.aggregate import Records, results_of
from w2sg.report.escape import md_text
from w2sg.report.figures import (
    OPTIONAL_FIGURES,
    TESTBED_FIGURES,
    FigureResult,
    FigureSpec,
    render_all,
    render_testbeds,
)
from w2sg.report.process import caption as process_caption
from w2sg.report.process import process_table
from w2sg.report.scope import covers
from w2sg.report.tables import (  # re-exported: the report's tables live in report.tables
    TABLE_NOTE,
    balance_note,
    experiment_table,
    html_table,
    markdown_table,
    summary_table,
    variant_note,
)
from w2sg.report.testbeds import has_testbeds, testbed_tables
from w2sg.report.variants import variants_of, with_variant_tags
from w2sg.result import ExperimentResult
from w2sg.store import distinct, task_versions

HTML_NAME = "report.html"
MD_NAME = "report-figures.md"

LEGEND = [
    ("PGR", "performance gap recovered = (student − weak) / (ceiling − weak), on test accuracy: 0 means the "
            "student is no better than its weak supervisor, 1 means it matches the strong model trained on "
            "ground truth (the ceiling)."),
    ("CI", "per experiment: 95% paired bootstrap interval over test groups (a question's answers together), "
           "written [low, high]; over seeds: accuracies mean ± sd (figures: a t-based 95% CI over seeds), PGR "
           "pooled over all seeds with a 95% CI that resamples seeds, then test groups."),
    ("pooled PGR", "over seeds, PGR is (mean student − mean weak) / (mean ceiling − mean weak) over ALL the seeds "
                   "of a row, cell, bar or point, in the tables and in every figure; no seed is left out by its "
                   "gap, its sign or its CI."),
    ("gap not resolved", "the 95% CI of the mean gap over seeds includes 0: no pooled PGR is given (the gap and "
                         "its CI are); hatched, empty or × in the figures."),
    ("unstable", "one experiment whose gap (ceiling − weak) CI includes 0, so the denominator of its own PGR may "
                 "be noise; hollow grey in the PGR-vs-gap figure. A flag on the experiment, never a reason to "
                 "leave it out of an aggregate."),
    ("undefined", "one experiment with ceiling ≤ weak on the test set: there is no gap to recover and its own PGR "
                  "is not a number; written 'undefined (reason)' in the tables, × in the PGR-vs-gap figure and "
                  "counted as 'undef.' beside the seeds of a heatmap cell. Its accuracies still enter the pooled "
                  "PGR: never dropped."),
    ("budget", "the student's training budget: converged (frozen heads solved to convergence), epochs=N (the whole "
               "finetuning run), steps=N (exactly N optimiser steps), early_stop (checkpoint chosen on V's weak "
               "labels), early_stop_oracle (chosen on V's ground truth: an ORACLE bound, not a method). The weak "
               "model and the ceiling are always trained to their CV-tuned optimum; a PGR that exists only at "
               "small budgets is an artefact of under-training."),
    ("majority", "accuracy of always predicting the majority class on T (0.5 when accuracy is class-balanced); a "
                 "weak model or ceiling below it is flagged '< majority'."),
]

CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 1.5rem auto; max-width: 1200px;
       color: #222; padding: 0 1rem; line-height: 1.4; }
h1 { font-size: 1.5rem; } h2 { font-size: 1.2rem; margin-top: 2rem; border-bottom: 1px solid #ddd; }
table { border-collapse: collapse; font-size: 0.8rem; margin: 0.5rem 0; }
.table-wrap { overflow-x: auto; max-width: 100%; margin: 0.5rem 0; } .table-wrap table { margin: 0; }
p, dd, figcaption, h1, h2, h3 { overflow-wrap: anywhere; }
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
    el.setAttribute("data-scroll-width", String(document.documentElement.scrollWidth));
    el.setAttribute("data-inner-width", String(window.innerWidth));
    el.setAttribute("data-done", "true");
    publish();
    el.textContent = "Self-check: " + ok + " of " + imgs.length + " figures decoded, " + errors.length +
      " page error(s).";
  });
})();
"""

CSP = ("default-src 'none'; img-src data:; style-src 'unsafe-inline'; script-src 'unsafe-inline'; "
       "base-uri 'none'; form-action 'none'")

def _figure_html(spec: FigureSpec, res: FigureResult) -> str:
    title = html.escape(spec.title)
    if res.png is None:
        return (f'<section class="figure" id="fig-{spec.name}"><h3>{title}</h3>'
                f'<p class="missing">Not drawn: {html.escape(res.reason or "nothing to draw")}.</p></section>')
    data = base64.b64encode(res.png).decode("ascii")
    return (f'<section class="figure" id="fig-{spec.name}"><h3>{title}</h3><figure>'
            f'<img src="data:image/png;base64,{data}" alt="{title}">'
            f"<figcaption>{html.escape(spec.caption)}</figcaption></figure></section>")


TESTBEDS_INTRO = ("Experiments with a controlled supervisor (synthetic errors of a known kind and rate, an ensemble "
                  "or a chain of weak models) or a strong student that starts locked. Each figure is drawn only "
                  "when the experiments it needs are present.")


class TestbedSection(NamedTuple):
    """The drawn figures and the non-empty tables (title, note, header, rows) of the Testbeds section."""

    figures: list[tuple[FigureSpec, FigureResult]]
    tables: list[tuple[str, str, list[str], list[list[str]]]]


def testbed_section(records: Records) -> TestbedSection | None:
    """The Testbeds section of `records` (already distinct and version-labelled), or None without testbed rows."""
    if not has_testbeds(records):
        return None
    return TestbedSection(render_testbeds(records), testbed_tables(records))


def testbeds_html(section: TestbedSection | None) -> str:
    if section is None:
        return ""
    parts = ['<h2 id="testbeds">Testbeds</h2>', f"<p>{html.escape(TESTBEDS_INTRO)}</p>"]
    parts += [_figure_html(spec, res) for spec, res in section.figures]
    for title, note, header, rows in section.tables:
        parts += [f"<h3>{html.escape(title)}</h3>", f"<p>{html.escape(note)}</p>", html_table(header, rows)]
    return "\n".join(parts)


def testbeds_markdown(section: TestbedSection | None, out_dir: Path, heading: str = "##") -> list[str]:
    """Markdown lines of the section, its figures written as `fig_<name>.png` into out_dir; testbed figures
    not drawn this time are removed from out_dir (never a stale one from an earlier report)."""
    drawn = {} if section is None else {spec.name: res for spec, res in section.figures}
    for spec in TESTBED_FIGURES:
        if drawn.get(spec.name) is None or drawn[spec.name].png is None:
            (out_dir / f"fig_{spec.name}.png").unlink(missing_ok=True)
    if section is None:
        return []
    lines = [f"{heading} Testbeds", "", TESTBEDS_INTRO, ""]
    for spec, res in section.figures:
        lines += [f"{heading}# {spec.title}", ""]
        if res.png is None:
            lines += [f"_Not drawn: {res.reason or 'nothing to draw'}._", ""]
            continue
        path = out_dir / f"fig_{spec.name}.png"
        write_bytes(path, res.png)
        lines += [f"![{spec.title}]({path.name})", "", spec.caption, ""]
    for title, note, header, rows in section.tables:
        lines += [f"{heading}# {title}", "", note, "", *markdown_table(header, rows), ""]
    return lines


def with_outcomes(results: list[ExperimentResult], outcomes: Mapping | None) -> list[ExperimentResult]:
    """`results` carrying their stored test outcomes (`outcomes` by hash) where they have none yet."""
    if not outcomes:
        return results
    return [dataclasses.replace(r, test_outcomes=outcomes[r.hash]) if r.hash in outcomes else r for r in results]


def write_html_report(records: Records, out_dir: str | Path, title: str = "w2sg report",
                      outcomes: dict | None = None) -> tuple[Path, Path]:
    """Write `report.html` (self-contained) and `report-figures.md` with `fig_<name>.png` files into out_dir.

    Returns (html_path, md_path). Works from any number of records, including none, one, or records whose
    PGR is undefined everywhere: a figure with nothing to draw is replaced by a note with the reason. Each
    experiment counts once (by store hash); a task with several versions of its data is shown per version
    (`task@abc123`) under a warning. `outcomes`: stored test outcomes by hash (`ResultsStore.outcomes()`), so the
    pooled PGR's CIs in the tables and figures resample test groups too; records loaded with
    `ResultsStore.records(outcomes=True)` carry them already (`test_outcomes`).
    """
    records = list(records)
    version_warnings = task_versions(distinct(records))[1]  # before results_of labels the versions
    results = with_outcomes(results_of(records), outcomes)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    drawn = with_variant_tags(results)  # figures group by method: several variants are told apart by a tag
    figures = render_all(drawn)
    testbeds = testbed_section(drawn)
    process = process_table(results)  # step-labelled tasks: best-of-N and trace error, step and outcome rows
    process_html = "" if process is None else (f"<h2>Process supervision</h2><p>{html.escape(process_caption(results))}"
                                               f"</p>{html_table(*process)}")
    (summary_header, summary), (experiment_header, experiments) = summary_table(results), experiment_table(results)
    n_unstable = sum(bool(r.pgr("acc").unstable) for r in results)
    n_undefined = sum(r.pgr("acc").value is None for r in results)
    n_oracle = sum(bool(r.training.oracle) for r in results)
    stamp = dt.datetime.now().isoformat(timespec="seconds")
    intro = (f"Generated {stamp} from {len(results)} experiment(s): {n_unstable} unstable, "
             f"{n_undefined} with an undefined PGR (accuracy)"
             + (f", {n_oracle} ORACLE (selected or supervised with ground truth: bounds, not methods)" if n_oracle
                else "") + f". {balance_note(results)} {covers(results)}")
    variants = variant_note(results)
    figures_note = (f"{variants} In the figures' legends a method of a variant other than the default carries "
                    "its tag in brackets." if variants_of(results).several else variants)
    table_note = f"{TABLE_NOTE} {variants}".strip()
    table_note_md = TABLE_NOTE + (f" {md_text(variants)}" if variants else "")

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
{"".join(f'<p class="missing">Warning: {html.escape(w)}</p>' for w in version_warnings)}
<h2>How to read this report</h2>
{legend_html}
<h2>Summary over seeds</h2>
<p>{html.escape(table_note)}</p>
{html_table(summary_header, summary)}
<h2>Figures</h2>
{f"<p>{html.escape(figures_note)}</p>" if figures_note else ""}
{"".join(_figure_html(spec, res) for spec, res in figures)}
{testbeds_html(testbeds)}
{process_html}
<h2>Every experiment</h2>
{html_table(experiment_header, experiments)}
<p>Agreement columns: share of transfer examples on which the student (or, as a control, the ceiling) predicts the
weak model's label, among those the weak model got right / wrong.</p>
<div id="w2sg-selfcheck" data-images-ok="0" data-images-total="0" data-errors="0" data-done="false">
Self-check did not run (JavaScript disabled?).</div>
</body>
</html>
"""
    html_path = out_dir / HTML_NAME
    write_text(html_path, page)

    lines = [f"# {md_text(title)}", "", md_text(intro), "",
             *[line for w in version_warnings for line in (f"> **Warning**: {md_text(w)}", "")],
             "## How to read this report", ""]
    lines += [f"- **{k}**: {v}" for k, v in LEGEND]
    lines += ["", "## Summary over seeds", "", table_note_md, "", *markdown_table(summary_header, summary), "",
              "## Figures", "", *([md_text(figures_note), ""] if figures_note else [])]
    for spec, res in figures:
        lines += [f"### {spec.title}", ""]
        png_path = out_dir / f"fig_{spec.name}.png"
        if res.png is None:
            png_path.unlink(missing_ok=True)  # never leave a stale figure from an earlier report
            lines += [f"_Not drawn: {res.reason or 'nothing to draw'}._", ""]
            continue
        write_bytes(png_path, res.png)
        lines += [f"![{spec.title}]({png_path.name})", "", spec.caption, ""]
    for spec in OPTIONAL_FIGURES:  # never leave a stale optional figure from an earlier report
        if all(s.name != spec.name for s, _ in figures):
            (out_dir / f"fig_{spec.name}.png").unlink(missing_ok=True)
    lines += testbeds_markdown(testbeds, out_dir)
    lines += ["## Every experiment", "", *markdown_table(experiment_header, experiments), ""]
    md_path = out_dir / MD_NAME
    write_text(md_path, "\n".join(lines) + "\n")
    return html_path, md_path
