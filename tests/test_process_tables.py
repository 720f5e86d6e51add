"""The process-supervision table of `w2sg run` / `w2sg results` and the report (`w2sg.report.process`): shown only
for records with process metrics, with their numbers, an unresolved gap flagged, a step task's row beside its
outcome task's."""

from __future__ import annotations

import re

from w2sg.metrics.process import PROCESS_METRICS, ROLES
from w2sg.report.process import problem_set, process_table

from .conftest import make_record

# per (granularity, supervisor): best-of-N and trace error of weak, ceiling, student
SCORES = {("step", "a"): {"bon_acc": (0.52, 0.80, 0.71), "trace_error": (0.30, 0.05, 0.12)},
          ("outcome", "a"): {"bon_acc": (0.55, 0.78, 0.60), "trace_error": (0.33, 0.21, 0.32)},
          ("step", "b"): {"bon_acc": (0.61, 0.80, 0.74), "trace_error": (0.20, 0.05, 0.09)},
          ("outcome", "b"): {"bon_acc": (0.63, 0.78, 0.66), "trace_error": (0.25, 0.21, 0.24)}}


def _pgr(w: float, c: float, s: float, unstable: bool, metric: str) -> dict:
    if metric == "trace_error":  # PGR on 1 - trace error
        w, c, s = 1 - w, 1 - c, 1 - s
    gap = c - w
    value = (s - w) / gap
    half = 0.01 if not unstable else 0.3
    return {f"pgr_{metric}": value, f"pgr_{metric}_ci_low": value - 0.1, f"pgr_{metric}_ci_high": value + 0.1,
            f"gap_{metric}": gap, f"gap_{metric}_ci_low": gap - (gap + half if unstable else half),
            f"gap_{metric}_ci_high": gap + half, f"unstable_{metric}": unstable, f"pgr_{metric}_frac_undefined": 0.0,
            f"pgr_{metric}_reason": f"gap {gap:.3f} within noise" if unstable else None}


def process_record(task: str, granularity: str, weak: str = "a", seed: int = 0, unstable: bool = False,
                   method: str = "naive") -> dict:
    r = make_record(task, weak, "c", method, seed) | {"hash": f"{abs(hash((task, weak, seed, method))):064x}"}
    r |= {"granularity": granularity, "n_problems_test": 100, "n_solutions_test": 800,
          "judgments_transfer": 2400 if granularity == "step" else 600, "judgments_granularity": granularity,
          "bon_oracle": 0.97, "bon_oracle_ci_low": 0.93, "bon_oracle_ci_high": 1.0,
          "bon_random": 0.412, "bon_random_ci_low": 0.38, "bon_random_ci_high": 0.445}
    scores = SCORES[(granularity, weak)]
    for metric in PROCESS_METRICS:
        vals = scores.get(metric, (None, None, None))
        for role, v in zip(ROLES, vals, strict=True):
            r |= {f"{role}_{metric}": v, f"{role}_{metric}_ci_low": None if v is None else v - 0.05,
                  f"{role}_{metric}_ci_high": None if v is None else v + 0.05}
        if metric in scores:
            r |= _pgr(*vals, unstable=unstable and metric == "trace_error", metric=metric)
        else:
            r |= {f"pgr_{metric}": None, f"unstable_{metric}": None, f"pgr_{metric}_reason": None}
    return r


def _printed(records) -> str:
    from w2sg.cli.common import out
    from w2sg.cli.tables import print_table

    with out.capture() as cap:
        print_table(records)
    return cap.get()


def _process_part(text: str) -> str:
    assert "process supervision" in text
    return text[text.index("process supervision"):]


def test_no_process_table_without_process_records():
    plain = [make_record("t1", "a", "c", "naive", s) | {"hash": f"{s:064x}"} for s in range(2)]
    assert "process supervision" not in _printed(plain)
    assert process_table(plain) is None


def test_the_table_shows_the_numbers_and_references():
    recs = [process_record("chains", "step"), process_record("chains_outcome", "outcome")]
    text = _process_part(_printed(recs))
    step = next(line for line in text.splitlines() if "chains " in line and "step" in line)
    # best-of-N weak / ceiling / student with its CI; trace error the same; the judgments on B
    for cell in ("0.520 / 0.800 / 0.710 [0.660, 0.760]", "0.300 / 0.050 / 0.120 [0.070, 0.170]", "2400"):
        assert cell in step, (cell, step)
    # PGR best-of-N (0.71 - 0.52) / (0.80 - 0.52) = 0.68; trace error on 1 - t: (0.88 - 0.70) / (0.95 - 0.70) = 0.72
    assert "0.68 [0.58, 0.78]" in step and "0.72 [0.62, 0.82]" in step
    assert "0.412" in text and "0.970" in text  # bon_random, bon_oracle in the caption
    header, rows = process_table(recs)
    assert rows[1][header.index("judgments on B")] == "600"
    assert rows[1][header.index("granularity")] == "outcome"


def test_an_unresolved_gap_is_flagged():
    header, rows = process_table([process_record("chains", "step", unstable=True)])
    assert rows[0][header.index("PGR trace error [95% CI]")].endswith(" unstable")
    assert not rows[0][header.index("PGR best-of-N [95% CI]")].endswith("unstable")
    undefined = process_record("chains", "step") | {"pgr_bon_acc": None, "pgr_bon_acc_ci_low": None,
                                                    "pgr_bon_acc_ci_high": None,
                                                    "pgr_bon_acc_reason": "ceiling <= weak: no gap to recover"}
    header, rows = process_table([undefined])
    assert rows[0][header.index("PGR best-of-N [95% CI]")] == "undefined (ceiling <= weak: no gap to recover)"
    assert "unstable" in _process_part(_printed([process_record("chains", "step", unstable=True)]))


def test_step_and_outcome_rows_sit_side_by_side():
    recs = [process_record(t, g, weak=w, seed=s) for t, g in (("chains_outcome", "outcome"), ("chains", "step"))
            for w in ("b", "a") for s in (1, 0)]
    recs.append(make_record("t1", "a", "c", "naive", 0) | {"hash": f"{7:064x}"})  # no process metrics: no row
    header, rows = process_table(recs)
    got = [(r[header.index("weak→strong")], r[header.index("seed")], r[header.index("task")]) for r in rows]
    assert got == [(f"{w}→c", str(s), t) for w in ("a", "b") for s in (0, 1) for t in ("chains", "chains_outcome")]
    text = _process_part(_printed(recs))
    order = [m.group(1) for m in re.finditer(r"│ (chains(?:_outcome)?) ", text)]
    assert order == ["chains", "chains_outcome"] * 4
    assert problem_set("chains_hard_outcome@abc123") == problem_set("chains_hard") == "chains_hard"


def test_the_process_table_comes_after_the_usual_tables():
    recs = [process_record("chains", "step"), process_record("chains_outcome", "outcome")]
    text = _printed(recs)
    assert text.index("experiments") < text.index("over all seeds") < text.index("process supervision")


def test_the_report_has_the_section(tmp_path):
    from w2sg.report.markdown import write_report

    recs = [process_record("chains", "step", unstable=True), process_record("chains_outcome", "outcome")]
    md = write_report(recs, tmp_path / "with").read_text()
    assert "## Process supervision" in md
    section = md[md.index("## Process supervision"):]
    lines = [line for line in section.splitlines() if line.startswith("| chains")]
    assert [line.split(" | ")[0] for line in lines] == ["| chains", "| chains_outcome"]
    assert "0.520 / 0.800 / 0.710 [0.660, 0.760]" in lines[0]
    assert "unstable" in lines[0] and "0.412" in section
    plain = [make_record("t1", "a", "c", "naive", 0) | {"hash": f"{1:064x}"}]
    assert "Process supervision" not in write_report(plain, tmp_path / "without").read_text()


def test_the_html_report_has_the_section(tmp_path):
    from w2sg.report.html import write_html_report

    recs = [process_record("chains", "step"), process_record("chains_outcome", "outcome")]
    html_path, _ = write_html_report(recs, tmp_path / "with")
    assert "<h2>Process supervision</h2>" in html_path.read_text()
    plain = [make_record("t1", "a", "c", "naive", 0) | {"hash": f"{1:064x}"}]
    plain_path, _ = write_html_report(plain, tmp_path / "without")
    assert "Process supervision" not in plain_path.read_text()
