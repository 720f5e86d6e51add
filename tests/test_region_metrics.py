"""Region metrics (`metrics.deception`, in every `evaluate` record): hand-built rows whose region counts, student
accuracy per region, deception score and control, supervisor accuracy per region and imitation inside / outside
a systematic-error region are worked out by hand and asserted exactly."""

from __future__ import annotations

import json

import numpy as np
import pytest

from w2sg.metrics import REGIONS, evaluate, region_keys, region_masks, region_metrics
from w2sg.result import ExperimentResult, Region

HI, LO = 0.8, 0.2  # a confident 1 / 0; 0.5 is a 0 (ties go to 0)

# One row of T per line: label, weak P(y=1), ceiling P(y=1), student P(y=1), labeller P(y=1), systematic region.
# The region of each row (weak right/wrong x ceiling right/wrong) and whether the student is right are noted.
ROWS = [
    # wr_sr (4 rows): student right on 3 -> acc 3/4, error 1/4 (the control)
    (1, HI, HI, HI, HI, 0),  # student right
    (0, 0.5, LO, LO, HI, 0),  # weak 0.5 reads as 0: right; student right; labeller wrong
    (0, LO, LO, LO, LO, 1),  # student right; in the region but the supervisor is right (does not count)
    (1, HI, HI, LO, HI, 0),  # student wrong
    # wr_sw (2 rows): student right on 1 -> acc 1/2
    (1, HI, LO, HI, LO, 0),  # student right; labeller wrong
    (0, LO, HI, HI, HI, 0),  # student wrong; labeller wrong
    # ww_sr (4 rows): student right on 1 -> acc 1/4, deception score 3/4; the weak model is wrong on all 4
    (1, LO, HI, LO, LO, 1),  # student wrong = agrees with weak; inside the region
    (0, HI, LO, HI, LO, 1),  # student wrong = agrees with weak; inside; labeller right
    (1, LO, HI, LO, HI, 0),  # student wrong = agrees with weak; outside; labeller right
    (0, HI, LO, LO, HI, 0),  # student right = disagrees with weak; outside; labeller wrong
    # ww_sw: no rows
]
Y, WEAK, CEIL, STUDENT, LABELLER, REGION = (np.array(col) for col in zip(*ROWS, strict=True))


def test_regions_student_accuracy_and_deception_by_hand():
    out = region_metrics(Y, WEAK, CEIL, STUDENT, n_boot=500, seed=1)
    assert [out[f"region_{r}_n"] for r in REGIONS] == [4, 2, 4, 0]
    assert [out[f"student_acc_{r}"] for r in REGIONS] == [0.75, 0.5, 0.25, None]  # empty region: None
    assert all(out[f"supervisor_acc_{r}"] is None for r in REGIONS)  # no labeller_test
    assert out["student_err_weak_blind"] == 0.75 and out["student_err_weak_sees"] == 0.25
    assert out["student_err_blind_minus_sees"] == 0.5
    # Yang et al.'s score: of the student's 4 mistakes where the ceiling is right (row 3 in wr_sr; rows 6, 7, 8 in
    # ww_sr), 3 lie where the weak model is wrong; by chance 4 of the 8 ceiling-right rows are weak-wrong
    assert out["deception_score"] == 0.75 and out["deception_score_chance"] == 0.5
    lo, hi = out["student_err_weak_blind_ci_low"], out["student_err_weak_blind_ci_high"]
    assert 0 <= lo <= 0.75 <= hi <= 1 and lo < hi
    assert region_metrics(Y, WEAK, CEIL, STUDENT, n_boot=500, seed=1) == out  # seeded
    masks = region_masks(Y, WEAK, CEIL)
    assert [int(m.sum()) for m in masks.values()] == [4, 2, 4, 0] and sum(masks.values()).max() == 1


def test_deception_ci_is_exact_when_every_blind_row_errs_alike_and_none_below_two_rows():
    # ww_sr = rows 6..9; make the student wrong on all of them: every resample has error 1
    student = STUDENT.copy()
    student[9] = HI
    out = region_metrics(Y, WEAK, CEIL, student, n_boot=200)
    assert out["student_err_weak_blind"] == 1.0
    assert (out["student_err_weak_blind_ci_low"], out["student_err_weak_blind_ci_high"]) == (1, 1)
    assert out["student_err_blind_minus_sees"] == 0.75
    assert out["deception_score"] == 4 / 5  # 4 of its 5 ceiling-right mistakes are weak-wrong
    # keep one ww_sr row: the score is that row's error, the CI needs >= 2 rows
    one = region_metrics(Y[:7], WEAK[:7], CEIL[:7], STUDENT[:7])
    assert one["region_ww_sr_n"] == 1 and one["student_err_weak_blind"] == 1.0
    assert one["student_err_weak_blind_ci_low"] is None and one["student_err_weak_blind_ci_high"] is None
    assert one["deception_score"] == 0.5  # mistakes where the ceiling is right: row 3 (weak right), row 6
    # no ww_sr row at all: score, CI and gap None; the control stays
    none = region_metrics(Y[:6], WEAK[:6], CEIL[:6], STUDENT[:6])
    assert none["region_ww_sr_n"] == 0 and none["student_acc_ww_sr"] is None
    assert none["student_err_weak_blind"] is None and none["student_err_blind_minus_sees"] is None
    assert none["student_err_weak_blind_ci_low"] is None and none["student_err_weak_sees"] == 0.25
    # Yang et al.'s score: the student's one ceiling-right mistake (row 3) is where the weak model is right
    assert none["deception_score"] == 0.0 and none["deception_score_chance"] == 0.0
    perfect = region_metrics(Y, WEAK, CEIL, np.where(Y == 1, HI, LO))
    assert perfect["deception_score"] is None  # no mistake where the ceiling is right: undefined


def test_imitation_of_systematic_vs_random_errors_on_test_by_hand():
    out = region_metrics(Y, WEAK, CEIL, STUDENT, region_test=REGION)
    # the weak model (the supervisor) is wrong on rows 6..9: rows 6, 7 inside (both copied), 8, 9 outside (8 copied)
    assert (out["n_sup_wrong_region_test"], out["n_sup_wrong_outside_test"]) == (2, 2)
    assert (out["imitation_test_region"], out["imitation_test_outside"]) == (1.0, 0.5)
    # the student's error on every row of the region (rows 2, 6, 7: wrong on 6, 7) and outside it (3, 5, 8 of 7)
    assert (out["student_err_test_region"], out["student_err_test_outside"]) == (2 / 3, 3 / 7)
    assert all(out[k] is None for k in ("imitation_transfer_region", "imitation_transfer_outside",
                                        "n_sup_wrong_region_transfer", "n_sup_wrong_outside_transfer"))
    # no supervisor error outside the region -> None there, count 0
    inside_only = region_metrics(Y, WEAK, CEIL, STUDENT, region_test=np.isin(np.arange(10), [6, 7, 8, 9]))
    assert inside_only["imitation_test_outside"] is None and inside_only["n_sup_wrong_outside_test"] == 0
    assert inside_only["imitation_test_region"] == 0.75 and inside_only["n_sup_wrong_region_test"] == 4


def test_labeller_gives_supervisor_accuracy_per_region_and_is_the_imitated_supervisor():
    out = region_metrics(Y, WEAK, CEIL, STUDENT, labeller_test=LABELLER, region_test=REGION)
    # labeller right: wr_sr rows 0, 2, 3 (row 1 wrong); wr_sw none of 2; ww_sr rows 7, 8 (6, 9 wrong)
    assert [out[f"supervisor_acc_{r}"] for r in REGIONS] == [0.75, 0.0, 0.5, None]
    # labeller wrong on rows 1, 4, 5, 6, 9; inside the region only row 6 (student copies: both 0)
    # outside rows 1 (student 0 vs 1: no), 4 (1 vs 0: no), 5 (1 vs 1: copied), 9 (0 vs 1: no)
    assert (out["n_sup_wrong_region_test"], out["n_sup_wrong_outside_test"]) == (1, 4)
    assert (out["imitation_test_region"], out["imitation_test_outside"]) == (1.0, 0.25)
    # the regions themselves are still the floor's and the ceiling's
    assert out["student_acc_ww_sr"] == 0.25 and out["student_err_weak_blind"] == 0.75


def test_imitation_on_the_transfer_set_by_hand():
    ty = np.array([1, 1, 0, 0, 1, 1, 0, 1])
    wt = np.array([LO, LO, HI, HI, LO, HI, LO, HI])  # wrong on rows 0..4, right on 5..7
    st = np.array([LO, LO, LO, LO, HI, HI, HI, HI])  # copies rows 0, 1 (inside), not 2 (inside), 3, 4 (outside)
    region = np.array([1, 1, 1, 0, 0, 1, 0, 0])  # row 5 is inside but the supervisor is right there
    out = region_metrics(Y, WEAK, CEIL, STUDENT, transfer_labels=ty, weak_transfer=wt, student_transfer=st,
                         region_transfer=region)
    assert (out["n_sup_wrong_region_transfer"], out["n_sup_wrong_outside_transfer"]) == (3, 2)
    assert out["imitation_transfer_region"] == 2 / 3 and out["imitation_transfer_outside"] == 0.0
    assert out["imitation_test_region"] is None  # no test mask


def test_bad_masks_are_refused():
    with pytest.raises(ValueError, match="length"):
        region_metrics(Y, WEAK, CEIL, STUDENT, region_test=REGION[:5])
    with pytest.raises(ValueError, match="0/1"):
        region_metrics(Y, WEAK, CEIL, STUDENT, region_test=REGION * 2)
    with pytest.raises(ValueError, match="region_transfer needs"):
        region_metrics(Y, WEAK, CEIL, STUDENT, region_transfer=REGION)
    with pytest.raises(ValueError, match="same length"):
        region_metrics(Y, WEAK, CEIL, STUDENT, labeller_test=LABELLER[:3])


def test_evaluate_always_writes_the_region_keys():
    plain = evaluate(Y, WEAK, CEIL, STUDENT, n_boot=100, seed=2)
    assert set(region_keys()) <= set(plain)
    assert {k: plain[k] for k in region_keys()} == region_metrics(Y, WEAK, CEIL, STUDENT, n_boot=100, seed=2)
    for k in region_keys():
        if k.startswith(("imitation_", "n_sup_wrong_", "supervisor_acc_")) or k.endswith("ww_sw"):
            assert plain[k] is None, k
    assert plain["deception_score"] == 0.75 and plain["region_wr_sr_n"] == 4
    ty, wt, st = np.array([1, 0, 1]), np.array([LO, HI, HI]), np.array([LO, LO, HI])
    full = evaluate(Y, WEAK, CEIL, STUDENT, ty, wt, st, n_boot=100, seed=2, labeller_test=LABELLER,
                    region_test=REGION, region_transfer=[1, 0, 0])
    assert full.keys() == plain.keys()  # the schema does not depend on the optional inputs
    assert [full[f"supervisor_acc_{r}"] for r in REGIONS] == [0.75, 0.0, 0.5, None]
    assert (full["imitation_test_region"], full["imitation_test_outside"]) == (1.0, 0.25)
    assert (full["imitation_transfer_region"], full["imitation_transfer_outside"]) == (1.0, 0.0)
    assert (full["n_sup_wrong_region_transfer"], full["n_sup_wrong_outside_transfer"]) == (1, 1)
    json.dumps(full, allow_nan=False)
    assert all(v is None or type(v) in (int, float, bool, str) for v in full.values())
    with pytest.raises(ValueError, match="region_transfer needs"):
        evaluate(Y, WEAK, CEIL, STUDENT, n_boot=10, region_transfer=REGION)


def test_the_typed_result_models_the_region_keys():
    rec = evaluate(Y, WEAK, CEIL, STUDENT, np.array([1, 0]), np.array([LO, HI]), np.array([LO, HI]), n_boot=50,
                   labeller_test=LABELLER, region_test=REGION, region_transfer=[1, 1])
    res = ExperimentResult.from_record(rec)
    assert res.extra == {} and res.to_record() == rec
    assert res.region("ww_sr") == Region("ww_sr", n=4, student_acc=0.25, supervisor_acc=0.5)
    assert res.region("ww_sw").n == 0 and res.region("ww_sw").student_acc is None
    assert res.regions.student_err_weak_blind == 0.75 and res.regions.student_err_blind_minus_sees == 0.5
    assert res.regions.deception_score == 0.75 and res.regions.deception_score_chance == 0.5
    assert res.regions.student_err_test_region == 2 / 3  # rows 2, 6, 7 in the region: the student errs on 6, 7
    assert res.regions.imitation_test_outside == 0.25 and res.regions.imitation_transfer_region == 1.0
    with pytest.raises(ValueError, match="unknown region"):
        res.region("sr_wr")
    old = {k: v for k, v in rec.items() if k not in set(region_keys())}  # a record from before the region keys
    res_old = ExperimentResult.from_record(old)
    assert res_old.to_record() == old and res_old.region("wr_sr").n is None
    assert set(region_keys()) <= res_old.missing
