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
from typing import NamedTuple

from w2sg.outputs import write_bytes, write_text
from w2sg.report.escape import md_text
from w2sg.report.figures import (
    OPTIONAL_FIGURES,
    TESTBED_FIGURES,
    FigureResult,
    FigureSpec,
    budget_sort_key,
    render_all,
    render_testbeds,
)
from w2sg.report.scope import covers, short_hash
from w2sg.report.summary import fmt, fmt_mean_sd, fmt_pgr, fmt_pooled, summarize
from w2sg.report.testbeds import has_testbeds, testbed_tables
from w2sg.result import Budget
from w2sg.store import distinct, with_task_versions, with_variant_labels

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

TABLE_NOTE = ("PGR columns of the summary: the pooled PGR over all seeds, (mean student − mean weak) / (mean "
              "ceiling − mean weak), with a 95% CI that resamples seeds and then whole test groups; it is printed "
              "only when the mean gap's CI excludes 0, else 'gap not resolved' with the gap and its CI. No seed is "
              "left out by its gap. 'seed-mean PGR' is the mean of the per-seed PGRs where defined, with the "
              "number of seeds without one. Accuracies are mean ± sd over all seeds. budget: the student's "
              "training budget (converged / epochs=N: trained to the end; steps=N: N optimiser steps; "
              "early_stop: checkpoint chosen on V's weak labels; early_stop_oracle: chosen on V's ground truth, "
              "an ORACLE bound, not a method); the weak model and the ceiling are always trained to their "
              "CV-tuned optimum. majority: accuracy of always predicting the majority class on T; 'weak < "
              "majority k/n' flags groups whose weak model (or ceiling) is below that baseline in k of n seeds.")


def balance_note(records: list[dict]) -> str:
    """Whether the accuracies of these records are class-balanced (`test_balanced`)."""
    flags = [r.get("test_balanced") for r in records]
    known = [bool(f) for f in flags if f is not None]
    if not records:
        return "No experiments."
    if not known:
        return "Whether accuracy is class-balanced is not recorded for these experiments."
    if len(known) == len(flags) and all(known):
        return ("Accuracy is class-balanced (the mean of the per-class accuracies on T), so the majority "
                "baseline is 0.5.")
    if len(known) == len(flags) and not any(known):
        return "Accuracy is plain (not class-balanced); the majority baseline is the share of the larger class."
    return (f"Accuracy is class-balanced in {sum(known)} of {len(flags)} experiments (test_balanced); compare "
            "rows with the majority column.")


def _budget(label) -> str:
    """A budget label for a table; an oracle budget says ORACLE in capitals (`Budget.table_text`)."""
    return Budget.parse(label).table_text()


def _per_question(records: list[dict]) -> bool:
    return any(r.get("pgr_q_acc") is not None for r in records)


def _below_majority(row: dict) -> str:
    n = len(row["seeds"])
    flags = [f"{who} < majority {row[f'n_{who}_below_majority']}/{n}" for who in ("weak", "ceiling")
             if row.get(f"n_{who}_below_majority")]
    return "; ".join(flags) if flags else "-"


def summary_table(records: list[dict]) -> tuple[list[str], list[list[str]]]:
    """(header, rows), one row per summarize() group (task version, weak, strong, mode, method, budget, variant): seed
    means ± sd, the pooled PGR over all seeds (accuracy, AUROC, per-question when any record has it) with its
    hierarchical CI, the seed-mean PGR with its undefined count, the majority baseline with below-majority flags
    and the number of unstable seeds."""
    per_q = _per_question(records)
    header = ["task", "weak → strong", "mode", "method", "budget", "seeds", "majority", "weak acc", "ceiling acc",
              "student acc", "PGR (acc, pooled)", "PGR (AUROC, pooled)", *(["PGR (per-question)"] if per_q else []),
              "seed-mean PGR acc (undefined)", "below majority", "unstable"]
    rows = []
    order = ("task", "weak", "strong", "mode", "method")
    for r in sorted(summarize(records), key=lambda r: (tuple(str(r.get(k)) for k in order),
                                                         budget_sort_key(r.get("budget")), str(r.get("variant")))):
        n = len(r["seeds"])
        rows.append([str(r["task"]), f"{r['weak']} → {r['strong']}", str(r["mode"]), str(r["method"]),
                     _budget(r.get("budget")), str(n), fmt(r.get("majority_acc_mean")), fmt_mean_sd(r, "weak_acc"),
                     fmt_mean_sd(r, "ceiling_acc"), fmt_mean_sd(r, "student_acc"), fmt_pooled(r, "acc"),
                     fmt_pooled(r, "auroc"), *([fmt_pooled(r, "q_acc")] if per_q else []),
                     f"{fmt(r.get('pgr_acc_seed_mean'), 2)} ({r['n_undefined']}/{n})",
                     _below_majority(r), f"{r['n_unstable']}/{n}"])
    return header, rows


def _acc(r: dict, who: str) -> str:
    return fmt(r.get(f"{who}_acc")) + (" (< majority)" if r.get(f"{who}_below_majority") else "")


def experiment_table(records: list[dict]) -> tuple[list[str], list[list[str]]]:
    """(header, rows), one row per experiment: PGR with its CI (summary.fmt_pgr) for accuracy, AUROC and, when
    any record has it, per question; the gap with its CI; the majority baseline; agreements."""
    records, _ = with_task_versions(distinct(records))
    per_q = _per_question(records)
    header = ["task", "weak → strong", "mode", "method", "budget", "seed", "majority", "weak acc", "ceiling acc",
              "student acc", "gap acc [95% CI]", "PGR acc [95% CI]", "PGR AUROC [95% CI]",
              *(["PGR per-question [95% CI]"] if per_q else []), "agree (weak right)", "agree (weak wrong)",
              "ceiling agree (weak wrong)", "experiment hash"]
    keyed = sorted(records, key=lambda r: (tuple(str(r.get(k)) for k in ("task", "weak", "strong", "mode", "method")),
                                           budget_sort_key(r.get("budget")),
                                           r.get("seed") if isinstance(r.get("seed"), int) else 0))
    rows = [[str(r.get("task")), f"{r.get('weak')} → {r.get('strong')}", str(r.get("mode")), str(r.get("method")),
             _budget(r.get("budget")), str(r.get("seed")), fmt(r.get("majority_acc")), _acc(r, "weak"),
             _acc(r, "ceiling"), fmt(r.get("student_acc")), _ci_text(r, "gap_acc"), fmt_pgr(r, "acc"),
             fmt_pgr(r, "auroc"), *([fmt_pgr(r, "q_acc")] if per_q else []), fmt(r.get("agree_transfer_weak_right")),
             fmt(r.get("agree_transfer_weak_wrong")), fmt(r.get("ceiling_agree_transfer_weak_wrong")), short_hash(r)]
            for r in keyed]
    return header, rows


def _ci_text(r: dict, metric: str, digits: int = 3) -> str:
    v = r.get(metric)
    if v is None:
        return "n/a"
    return f"{fmt(v, digits)} [{fmt(r.get(f'{metric}_ci_low'), digits)}, {fmt(r.get(f'{metric}_ci_high'), digits)}]"


def _cell_class(text: str) -> str:
    if "< majority" in text:
        return ' class="unstable"'
    if text.startswith("undefined"):
        return ' class="undefined"'
    if text.endswith(" unstable") or text.startswith("gap not resolved"):
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
    return md_text(text)


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


TESTBEDS_INTRO = ("Experiments with a controlled supervisor (synthetic errors of a known kind and rate, an ensemble "
                  "or a chain of weak models) or a strong student that starts locked. Each figure is drawn only "
                  "when the experiments it needs are present.")


class TestbedSection(NamedTuple):
    """The drawn figures and the non-empty tables (title, note, header, rows) of the Testbeds section."""

    figures: list[tuple[FigureSpec, FigureResult]]
    tables: list[tuple[str, str, list[str], list[list[str]]]]


def testbed_section(records: list[dict]) -> TestbedSection | None:
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
        parts += [f"<h3>{html.escape(title)}</h3>", f"<p>{html.escape(note)}</p>", _html_table(header, rows)]
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
        lines += [f"{heading}# {title}", "", note, "", *_md_table(header, rows), ""]
    return lines


def write_html_report(records: list[dict], out_dir: str | Path, title: str = "w2sg report",
                      outcomes: dict | None = None) -> tuple[Path, Path]:
    """Write `report.html` (self-contained) and `report-figures.md` with `fig_<name>.png` files into out_dir.

    Returns (html_path, md_path). Works from any number of records, including none, one, or records whose
    PGR is undefined everywhere: a figure with nothing to draw is replaced by a note with the reason. Each
    experiment counts once (by store hash); a task with several versions of its data is shown per version
    (`task@abc123`) under a warning. `outcomes`: stored test outcomes by hash (`ResultsStore.outcomes()`), so the
    pooled PGR's CIs in the tables and figures resample test groups too; records loaded with
    `ResultsStore.records(outcomes=True)` carry them already (`test_outcomes`).
    """
    if outcomes:
        records = [{**r, "test_outcomes": outcomes[r["hash"]]} if r.get("hash") in outcomes else r for r in records]
    records, version_warnings = with_task_versions(with_variant_labels(distinct(list(records))))
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    figures = render_all(records)
    testbeds = testbed_section(records)
    (summary_header, summary), (experiment_header, experiments) = summary_table(records), experiment_table(records)
    n_unstable = sum(bool(r.get("unstable")) for r in records)
    n_undefined = sum(r.get("pgr_acc") is None for r in records)
    n_oracle = sum(bool(r.get("oracle")) for r in records)
    stamp = dt.datetime.now().isoformat(timespec="seconds")
    intro = (f"Generated {stamp} from {len(records)} experiment(s): {n_unstable} unstable, "
             f"{n_undefined} with an undefined PGR (accuracy)"
             + (f", {n_oracle} ORACLE (selected or supervised with ground truth: bounds, not methods)" if n_oracle
                else "") + f". {balance_note(records)} {covers(records)}")

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
<p>{html.escape(TABLE_NOTE)}</p>
{_html_table(summary_header, summary)}
<h2>Figures</h2>
{"".join(_figure_html(spec, res) for spec, res in figures)}
{testbeds_html(testbeds)}
<h2>Every experiment</h2>
{_html_table(experiment_header, experiments)}
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
    lines += ["", "## Summary over seeds", "", TABLE_NOTE, "", *_md_table(summary_header, summary), "", "## Figures",
              ""]
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
    lines += ["## Every experiment", "", *_md_table(experiment_header, experiments), ""]
    md_path = out_dir / MD_NAME
    write_text(md_path, "\n".join(lines) + "\n")
    return html_path, md_path
