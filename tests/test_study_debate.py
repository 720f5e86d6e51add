"""The debate study's rows and statements on hand-made records: which rows each section reads, seed-paired
claims and their verdicts, and a page that quotes PGR only where the gap is resolved."""

import importlib.util

import pytest

from .conftest import REPO, make_record


@pytest.fixture(scope="module")
def study():
    spec = importlib.util.spec_from_file_location("study_debate", REPO / "studies" / "debate" / "study.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


EMBED = {"kind": "debate", "judge": "minilm", "debater": "minilm", "policy": "embed", "protocol": "debate"}


def debate_record(task: str, seed: int, policy: str = "embed", members: int = 1, judge_gain: float = 0.1) -> dict:
    """A judge-part (members 1, minilm student) or students-part (members 4, mpnet student) debate record whose
    judge gains `judge_gain` per step blind -> consultancy -> debate -> full, plus seed noise."""
    weak = EMBED | {"policy": policy, "members": members}
    strong = "minilm" if members == 1 else "mpnet"
    r = make_record("t1", "a", "b", "naive", min(seed, 2)) | {"task": task, "seed": seed, "strong": strong}
    base = 0.5 + 0.002 * seed
    accs = {p: base + judge_gain * i for i, p in enumerate(("blind", "consultancy", "debate", "full"))}
    r |= {"supervisor_kind": "debate", "spec": {"weak": weak, "strong": strong},
          "supervisor_acc": r["weak_acc"] + 0.03, "debate": {
              "protocol": "debate", "policy": policy, "members": members,
              "judge_acc": {p: [a, a - 0.05, a + 0.05] for p, a in accs.items()},
              "liar_win": {"consultancy": [0.3, 0.2, 0.4, 100], "debate": [1 - accs["debate"], 0.1, 0.4, 200]}}}
    return r


def plain_record(task: str, seed: int, method: str = "naive") -> dict:
    r = make_record("t1", "a", "b", method, min(seed, 2)) | {"task": task, "seed": seed, "strong": "mpnet"}
    return r | {"supervisor_kind": "model", "spec": {"weak": "minilm", "strong": "mpnet"}}


def test_rows_are_sorted_into_the_sections_by_a_rule_on_their_spec(study):
    assert study.kind_of(debate_record("quail", 0)) == "debate embed"
    assert study.kind_of(debate_record("quail", 0, "adversarial")) == "debate adversarial"
    assert study.kind_of(debate_record("quail", 0, members=4)) == "debate ensemble"
    assert study.kind_of(plain_record("quail", 0)) == "plain"
    assert study.kind_of(plain_record("quail", 0, "confidence")) == "confidence"
    wrong_strong = debate_record("quail", 0) | {"strong": "mpnet"}  # a single judge belongs to the judge part
    assert study.kind_of(wrong_strong) is None


def test_claims_are_seed_paired_and_marked_by_their_ci(study):
    assert study.verdict(0.01, 0.2) == "reproduced"
    assert study.verdict(-0.2, -0.01) == "not reproduced"
    assert study.verdict(-0.1, 0.1) == "not resolved"
    assert study.verdict(None, None) == "not resolved"
    m, lo, hi, n = study.paired([0.6, 0.7, 0.65], [0.5, 0.55, 0.6])
    assert n == 3 and m == pytest.approx(0.1) and lo < m < hi


def test_the_page_sections_read_every_seed_and_quote_pgr_only_with_a_resolved_gap(study):
    records = [debate_record("quail", s) for s in range(5)] + [debate_record("quail", s, "random", judge_gain=0.0)
                                                              for s in range(5)]
    records += [plain_record("quail", s) for s in range(5)] + [debate_record("quail", s, members=4) for s in range(5)]
    cells = study.by_cell(records)
    judge = "\n".join(study.judge_section(cells))
    assert "| quail | 5 | 0.504 [" in judge  # blind: mean of 0.500 ... 0.508 over the 5 seeds
    claims = "\n".join(study.claims_section(cells, {"quail": False}))
    assert "judge: blind < consultancy (Khan et al. 2024) | quail | 0.100" in claims and "reproduced" in claims
    liar = "\n".join(study.liar_section(cells))
    assert "| quail | random | 5 |" in liar and "| quail | embed | 5 |" in liar
    students = "\n".join(study.pgr_section(cells, {"quail": False}))
    assert "gap not resolved" in students and "debate ensemble" in students
    resolved = "\n".join(study.pgr_section(cells, {"quail": True}))
    assert "gap not resolved" not in resolved


def test_pgr_against_the_supervisor_from_seed_means(study):
    from w2sg.result import as_results

    rows = as_results([debate_record("quail", s, members=4) | {"supervisor_acc": 0.6, "ceiling_acc": 1.0,
                                                               "student_acc": 0.8} for s in range(4)])
    value, lo, hi = study.pgr_vs_supervisor(rows)
    assert value == pytest.approx(0.5) and lo == pytest.approx(0.5) and hi == pytest.approx(0.5)
    below = as_results([debate_record("quail", 0, members=4) | {"supervisor_acc": 0.9, "ceiling_acc": 0.8}])
    assert study.pgr_vs_supervisor(below) == (None, None, None)


def test_the_fixed_judge_rows_give_the_manipulability_table_and_claim(study):
    rows = []
    for s in range(4):
        r = debate_record("quail", s, "adversarial")
        r["spec"]["weak"] = r["spec"]["weak"] | {"protocol": "consultancy"}
        r["debate"] |= {"liar_win_fixed": {p: {"random": [0.4, 0.3, 0.5], "adversarial": [0.6 + 0.01 * s, 0.5, 0.7]}
                                           for p in ("consultancy", "debate")}}
        rows.append(r)
    assert study.kind_of(rows[0]) == "debate adversarial (fixed judge)"
    cells = study.by_cell(rows)
    liar = "\n".join(study.liar_section(cells))
    assert "| quail | consultancy | 0.400 [0.400, 0.400] | 0.615 [" in liar
    claims = "\n".join(study.claims_section(cells, {}))
    assert "a random one (Irving et al. 2018) | quail | 0.215 [" in claims and "| reproduced |" in claims
