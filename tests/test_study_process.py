"""The process-supervision study's pooled statistics: T rebuilt from a record's split spec, sums over seeds and
problems, paired resamples (identical conditions differ by exactly 0), PGR only where the gap is resolved."""

import importlib.util
import sys
from types import SimpleNamespace

import numpy as np
import pytest

from w2sg.metrics.pooled import Outcomes
from w2sg.metrics.process import process_metrics
from w2sg.tasks.catalog import load_task
from w2sg.tasks.splits import make_splits

from .conftest import REPO

FOLDER = REPO / "studies" / "process_supervision"
SPLITS = {"n_weak_train": 200, "n_transfer": 200, "n_val": 40, "n_test": 100000, "n_pool": 500}


@pytest.fixture(scope="module")
def page():
    spec = importlib.util.spec_from_file_location("process_page", FOLDER / "page.py")
    mod = importlib.util.module_from_spec(spec)
    sys.modules["process_page"] = mod
    spec.loader.exec_module(mod)
    return mod


def fake_record(task: str, seed: int, noise: float) -> SimpleNamespace:
    """A record of `task` whose stored outcomes are truth-like P's (ceiling best, weak worst) in T's order."""
    from w2sg.config import SplitSpec

    rows = make_splits(load_task(task), SplitSpec(**SPLITS), seed).test
    y = np.array([r.label for r in rows], dtype=float)
    rng = np.random.default_rng(seed)
    probs = {role: np.clip(y * (1 - s) + (1 - y) * s + rng.normal(0, noise, len(y)), 0, 1)
             for role, s in (("weak", 0.45), ("ceiling", 0.1), ("student", 0.3))}
    o = Outcomes.build(y, [r.group for r in rows], probs, [r.id for r in rows])
    return SimpleNamespace(task=task, seed=seed, spec={"splits": SPLITS}, test_outcomes=o.to_arrays(), rows=rows,
                           probs=probs)


def test_ratios_rebuild_t_and_pool_to_process_metrics(page):
    rec = fake_record("chains", 0, 0.2)
    point, _, n = page.pooled({"step": {0: rec}}, ["student_bon_acc", "ceiling_trace_error"])
    direct = process_metrics(rec.rows, rec.probs, n_boot=10)
    assert n == 1
    assert point[("step", "student_bon_acc")] == pytest.approx(direct["student_bon_acc"])
    assert point[("step", "ceiling_trace_error")] == pytest.approx(direct["ceiling_trace_error"])
    bad = SimpleNamespace(**{**vars(rec), "seed": 1})  # outcomes of seed 0 read as seed 1's T: refused
    with pytest.raises(RuntimeError, match="does not match"):
        page.ratios(bad)


def test_pooling_sums_over_seeds_and_paired_conditions_differ_by_exactly_zero(page):
    recs = {s: fake_record("chains", s, 0.2) for s in (0, 1)}
    point, boot, n = page.pooled({"a": recs, "b": recs}, ["student_bon_acc", "weak_bon_acc"])
    assert n == 2
    per_seed = [process_metrics(r.rows, r.probs, n_boot=10)["student_bon_acc"] for r in recs.values()]
    assert point[("a", "student_bon_acc")] == pytest.approx(np.mean(per_seed))  # same problems: a plain mean
    d = boot[("a", "student_bon_acc")] - boot[("b", "student_bon_acc")]
    assert np.all(d == 0)  # the same seed and problem resamples for both conditions
    lo, hi = page.ci(boot[("a", "student_bon_acc")])
    assert lo <= point[("a", "student_bon_acc")] <= hi and hi - lo > 0


def test_step_and_outcome_share_t_problems_and_pgr_needs_a_resolved_gap(page):
    step = {s: fake_record("chains", s, 0.2) for s in (0, 1)}
    outcome = {s: fake_record("chains_outcome", s, 0.2) for s in (0, 1)}
    point, boot, _ = page.pooled({"step": step, "outcome": outcome},
                                 [f"{r}_bon_acc" for r in ("weak", "ceiling", "student")])
    assert set(step[0].rows[0].group for _ in [0]) <= {r.group for r in outcome[0].rows}
    text = page.pgr_text(point, boot, "step", "bon_acc")
    w, c = point[("step", "weak_bon_acc")], point[("step", "ceiling_bon_acc")]
    lo = page.ci(boot[("step", "ceiling_bon_acc")] - boot[("step", "weak_bon_acc")])[0]
    assert ("not resolved" in text) == (not lo > 0), (w, c, text)
    same = {k: v for k, v in point.items()}
    same[("step", "ceiling_bon_acc")] = same[("step", "weak_bon_acc")]
    flat = dict(boot)
    flat[("step", "ceiling_bon_acc")] = flat[("step", "weak_bon_acc")]
    assert "gap not resolved" in page.pgr_text(same, flat, "step", "bon_acc")


def test_verdicts_read_the_ci_in_the_claimed_direction(page):
    assert page.verdict(np.linspace(0.01, 0.2, 100)) == "reproduced"
    assert page.verdict(np.linspace(-0.2, -0.01, 100)) == "not reproduced (the other way)"
    assert page.verdict(np.linspace(-0.2, -0.01, 100), claimed_positive=False) == "reproduced"
    assert page.verdict(np.linspace(-0.1, 0.1, 100)) == "not resolved at this scale"
