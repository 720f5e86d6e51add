"""All metrics of one experiment as the flat, JSON-safe dict a result record stores (`evaluate`), and the
scores of a supervisor a method built itself (`supervisor_metrics`)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict
from typing import Any

import numpy as np

from w2sg.metrics._inputs import as_groups, as_labels, as_probs, json_safe, same_length
from w2sg.metrics.deception import region_metrics
from w2sg.metrics.diagnostics import agreement, kl, misfit, misfit_record
from w2sg.metrics.pgr import PGRResult, pgr_from_scores
from w2sg.metrics.resample import count_chunks, group_codes, mean_ci, paired_bootstrap, percentile_ci
from w2sg.metrics.scores import (
    accuracy,
    auroc,
    ece,
    majority_accuracy,
    per_question_correct,
    question_coverage,
    question_first_rows,
)


def _agreement_keys(prefix: str, student: Any | None, weak: Any, labels: Any) -> dict[str, float | None]:
    vals = agreement(student, weak, labels) if student is not None else {}
    return {f"{prefix}_{k}": vals.get(k) for k in ("all", "weak_right", "weak_wrong")}


def pgr_keys(short: str, r: PGRResult | None) -> dict[str, Any]:
    """The record keys of one PGR on metric `short` (all None when it is not computed); `metrics.process` too."""
    keys = ("value", "ci_low", "ci_high", "gap", "gap_ci_low", "gap_ci_high", "reason", "frac_undefined")
    vals = dict.fromkeys(keys) if r is None else asdict(r)
    names = {"value": f"pgr_{short}", "gap": f"gap_{short}", "gap_ci_low": f"gap_{short}_ci_low",
             "gap_ci_high": f"gap_{short}_ci_high"}
    out = {names.get(k, f"pgr_{short}_{k}"): vals[k] for k in keys}
    out["unstable" if short == "acc" else f"unstable_{short}"] = None if r is None else r.unstable
    return out


def _question_keys(models: dict[str, np.ndarray], y: np.ndarray, groups: Any | None, n_boot: int,
                   seed: int, questions: Any | None = None) -> dict[str, Any]:
    """Per-question accuracy and its PGR when multiple-choice questions cover >= half the rows, else None.

    `questions` (a question key per row; None: the groups are the questions) scores questions apart from the
    groups that hold them (a passage's questions); the bootstrap then resamples whole groups, not questions."""
    out: dict[str, Any] = {"n_questions": 0, "q_coverage": None}
    for name in models:
        out |= {f"{name}_q_acc": None, f"{name}_q_acc_ci_low": None, f"{name}_q_acc_ci_high": None}
    if groups is None and questions is None:
        return out | pgr_keys("q_acc", None)
    keys, what = (groups, "test_groups") if questions is None else (questions, "test_questions")
    g = as_groups(keys, what)
    same_length(test_labels=y, **{what: g})
    n_q, coverage = question_coverage(y, g)
    out["q_coverage"] = coverage
    if not n_q or not coverage >= 0.5:
        return out | pgr_keys("q_acc", None)
    correct = np.stack([per_question_correct(p, y, g) for p in models.values()]).astype(np.float64)
    point = correct.mean(axis=1)
    if questions is None or groups is None:  # every question its own resampling unit
        boot = np.concatenate([(counts @ correct.T / n_q).T for counts in count_chunks(n_q, n_boot, seed)]
                              or [np.empty((len(models), 0))], axis=1)
    else:
        boot = _grouped_question_boot(correct, y, g, as_groups(groups, "test_groups"), n_boot, seed)
    out["n_questions"] = n_q
    for i, name in enumerate(models):
        out[f"{name}_q_acc"] = point[i]
        out[f"{name}_q_acc_ci_low"], out[f"{name}_q_acc_ci_high"] = percentile_ci(boot[i])
    return out | pgr_keys("q_acc", pgr_from_scores(point, boot, "question accuracy", n_boot))


def _grouped_question_boot(correct: np.ndarray, y: np.ndarray, questions: np.ndarray, groups: np.ndarray,
                           n_boot: int, seed: int) -> np.ndarray:
    """(n_models, n_boot) question accuracies, whole groups resampled: each scored question (the columns of
    `correct`, in per_question_correct's order) belongs to the group of its first row; a replicate's accuracy is
    its drawn questions' hits over their number."""
    same_length(test_questions=questions, test_groups=groups)
    first = question_first_rows(y, questions)
    group_of = np.unique(groups[first].astype(str), return_inverse=True)[1].reshape(-1)
    units = int(group_of.max()) + 1
    parts = []
    for counts in count_chunks(units, n_boot, seed):
        qcounts = counts[:, group_of].astype(np.float64)  # (chunk, n_q): a question drawn as often as its group
        parts.append((qcounts @ correct.T / qcounts.sum(axis=1, keepdims=True)).T)
    return np.concatenate(parts or [np.empty((len(correct), 0))], axis=1)


def evaluate(test_labels: Any, weak_test: Any, ceiling_test: Any, student_test: Any,
             transfer_labels: Any = None, weak_transfer: Any = None, student_transfer: Any = None,
             ceiling_transfer: Any = None, n_boot: int = 1000, seed: int = 0, *,
             test_groups: Sequence[str] | None = None, balance_test: bool = True, labeller_test: Any = None,
             region_test: Any = None, region_transfer: Any = None,
             test_questions: Sequence[str] | None = None) -> dict[str, Any]:
    """All metrics of one experiment as a flat, JSON-safe dict (NaN/inf -> None; keys present even when None).

    test_groups also make every test-set CI a cluster-bootstrap CI (whole groups resampled; `n_test_groups`).
    balance_test=True: every accuracy on T (point, bootstrap, gap, PGR, majority baseline) is class-balanced,
    each bootstrap resample from its own class counts. test_groups: group (question) id per test row; when
    groups with >= 2 rows and exactly one positive row cover at least half of T, the task is also scored per
    question (`*_q_acc`, `pgr_q_acc`, bootstrap over questions), else those keys are None. test_questions: a
    question key per test row, when a group holds several questions (a passage's): questions are then scored
    by these keys, and their bootstrap resamples whole groups (None: the groups are the questions).

    Region keys (`metrics.deception`): the student's accuracy in the four regions weak right/wrong x ceiling
    right/wrong of T, the deception score (its error where the weak model is wrong and the ceiling right) with
    its control and bootstrap CI, and the imitation of systematic vs random supervisor errors. labeller_test:
    P(y=1) on T of the model whose labels the student saw when it is not the PGR floor (a chain's last rung):
    adds `supervisor_acc_<region>` and is the supervisor of `imitation_test_*`. region_test / region_transfer:
    0/1 masks of a supervisor's systematic-error region on T / on the transfer set (region_transfer needs the
    transfer arguments); without them the imitation keys are None.
    """
    y = as_labels(test_labels, "test_labels")
    models = {"weak": as_probs(weak_test, "weak_test"), "ceiling": as_probs(ceiling_test, "ceiling_test"),
              "student": as_probs(student_test, "student_test")}
    n = same_length(test_labels=y, **{f"{k}_test": v for k, v in models.items()})
    # whole test groups are resampled (a question's answers, a prompt's pairs): the cluster bootstrap
    boot = paired_bootstrap(y, list(models.values()), n_boot, seed, balanced=balance_test, groups=test_groups)
    codes = group_codes(test_groups, n)
    out: dict[str, Any] = {"n_test": n, "n_boot": n_boot, "seed": seed, "test_balanced": bool(balance_test),
                           "n_test_groups": n if codes is None else int(codes.max()) + 1,
                           "test_pos_frac": float(y.mean()) if n else math.nan,
                           "majority_acc": majority_accuracy(y, balance_test)}
    for metric, short in (("accuracy", "acc"), ("auroc", "auroc")):
        if metric == "accuracy":
            point = [accuracy(p, y, balance_test) for p in models.values()]
        else:
            point = [auroc(p, y) for p in models.values()]
        for i, name in enumerate(models):
            out[f"{name}_{short}"] = point[i]
            out[f"{name}_{short}_ci_low"], out[f"{name}_{short}_ci_high"] = percentile_ci(boot[metric][i])
        out |= pgr_keys(short, pgr_from_scores(point, boot[metric], metric, n_boot))
    for name in ("weak", "ceiling"):
        acc, base = out[f"{name}_acc"], out["majority_acc"]
        out[f"{name}_below_majority"] = (acc < base - 1e-9) if math.isfinite(acc) and math.isfinite(base) else None
    out |= _question_keys(models, y, test_groups, n_boot, seed, test_questions)
    for name, p in models.items():
        out[f"{name}_ece"] = ece(p, y)
    w, s, c = models["weak"], models["student"], models["ceiling"]
    out |= _agreement_keys("agree_test", s, w, y)
    out |= _agreement_keys("ceiling_agree_test", c, w, y)  # control: weak/strong errors correlate anyway
    # on T, outside the misfit bound (it holds where the student was fitted: B): diagnostics, named so
    out |= {"misfit_test_diagnostic": misfit(s, w), "weak_logloss_test": kl(y, w),
            "student_logloss_test": kl(y, s), "ceiling_logloss_test": kl(y, c)}

    given = {"transfer_labels": transfer_labels, "weak_transfer": weak_transfer,
             "student_transfer": student_transfer}
    missing = [k for k, v in given.items() if v is None]
    if len(missing) not in (0, len(given)) or (ceiling_transfer is not None and missing):
        raise ValueError(f"transfer metrics need transfer_labels, weak_transfer and student_transfer; "
                         f"missing {missing}")
    ty = wt = st = ct = None
    if not missing:
        ty = as_labels(transfer_labels, "transfer_labels")
        wt, st = as_probs(weak_transfer, "weak_transfer"), as_probs(student_transfer, "student_transfer")
        ct = None if ceiling_transfer is None else as_probs(ceiling_transfer, "ceiling_transfer")
        same_length(transfer_labels=ty, weak_transfer=wt, student_transfer=st,
                     **({} if ct is None else {"ceiling_transfer": ct}))
    out["n_transfer"] = None if ty is None else len(ty)
    out |= _agreement_keys("agree_transfer", st, wt, ty)
    out |= _agreement_keys("ceiling_agree_transfer", ct, wt, ty)
    out |= misfit_record(ty, wt, st, ct)  # the bound's terms on B, model first (KL(model || truth))
    out |= region_metrics(y, w, c, s, labeller_test=labeller_test, region_test=region_test, transfer_labels=ty,
                          weak_transfer=wt, student_transfer=st, region_transfer=region_transfer, n_boot=n_boot,
                          seed=seed, test_groups=test_groups)
    return {k: json_safe(v) for k, v in out.items()}


def supervisor_metrics(test_labels: Any, supervisor_test: Any, balanced: bool = True,
                       test_groups: Sequence[str] | None = None,
                       test_questions: Sequence[str] | None = None, weak_test: Any = None, ceiling_test: Any = None,
                       student_test: Any = None, n_boot: int = 1000, seed: int = 0) -> dict[str, Any]:
    """Accuracy and AUROC on T of the model whose labels the student saw when that is not the PGR floor (a
    chain supervisor's last rung); these numbers say how much better that labeller was than the floor. Given
    the floor's, the ceiling's and the student's test predictions, also `labeller_comparison`.

    Pass the same `balanced`, `test_groups` and `test_questions` as to `evaluate` so that supervisor_acc
    compares with weak_acc and supervisor_q_acc with weak_q_acc (None unless the task is judged per question).
    """
    y = as_labels(test_labels, "test_labels")
    p = as_probs(supervisor_test, "supervisor_test")
    same_length(test_labels=y, supervisor_test=p)
    q_acc = None
    keys, what = (test_groups, "test_groups") if test_questions is None else (test_questions, "test_questions")
    if keys is not None:
        g = as_groups(keys, what)
        same_length(test_labels=y, **{what: g})
        n_q, coverage = question_coverage(y, g)
        if n_q and coverage >= 0.5:
            q_acc = float(per_question_correct(p, y, g).mean())
    out = {"supervisor_acc": accuracy(p, y, balanced), "supervisor_auroc": auroc(p, y), "supervisor_q_acc": q_acc}
    if weak_test is not None and ceiling_test is not None and student_test is not None:
        out |= labeller_comparison(y, weak_test, p, ceiling_test, student_test, balanced, test_groups, n_boot, seed,
                                   test_questions=keys if q_acc is not None else None)
    return {k: json_safe(v) for k, v in out.items()}


def labeller_comparison(test_labels: Any, weak_test: Any, labeller_test: Any, ceiling_test: Any, student_test: Any,
                        balanced: bool = True, test_groups: Sequence[str] | None = None, n_boot: int = 1000,
                        seed: int = 0, test_questions: Sequence[str] | None = None) -> dict[str, Any]:
    """When the labels came from a labeller other than the PGR floor (a debate ensemble, a chain's last rung):
    its accuracy gain over the floor on T (`supervisor_gain`, paired cluster-bootstrap CI) and the PGR measured
    against the labeller itself, (student − labeller) / (ceiling − labeller) (`supervisor_pgr`, CI and reason):
    how much of what the labeller left the student recovered. With `test_questions` (a multiple-choice task
    judged per question) also the per-question gain, `supervisor_q_gain`, its CI resampling whole groups."""
    y = as_labels(test_labels, "test_labels")
    models = [as_probs(m, name) for m, name in ((weak_test, "weak_test"), (labeller_test, "labeller_test"),
                                                (ceiling_test, "ceiling_test"), (student_test, "student_test"))]
    same_length(test_labels=y, **dict(zip(("weak", "labeller", "ceiling", "student"), models, strict=True)))
    boot = paired_bootstrap(y, models, n_boot, seed, ("accuracy",), balanced, test_groups)["accuracy"]
    point = [accuracy(m, y, balanced) for m in models]
    lo, hi = percentile_ci(boot[1] - boot[0])
    res = pgr_from_scores(point[1:], boot[1:], "accuracy", n_boot)
    return {"supervisor_gain": point[1] - point[0], "supervisor_gain_ci_low": lo, "supervisor_gain_ci_high": hi,
            "supervisor_pgr": res.value, "supervisor_pgr_ci_low": res.ci_low, "supervisor_pgr_ci_high": res.ci_high,
            "supervisor_pgr_reason": res.reason} | _question_gain(y, models[0], models[1], test_groups, test_questions,
                                                              n_boot, seed)


def _question_gain(y: np.ndarray, weak: np.ndarray, labeller: np.ndarray, groups: Sequence[str] | None,
                   questions: Sequence[str] | None, n_boot: int, seed: int) -> dict[str, Any]:
    if questions is None:
        return {}
    diff = per_question_correct(labeller, y, questions).astype(float) - per_question_correct(weak, y, questions)
    first = question_first_rows(y, questions)
    units = None if groups is None else [groups[i] for i in first]
    m, lo, hi, _ = mean_ci(diff, units, n_boot, seed)
    return {"supervisor_q_gain": m, "supervisor_q_gain_ci_low": lo, "supervisor_q_gain_ci_high": hi}

