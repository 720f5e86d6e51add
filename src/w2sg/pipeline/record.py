"""Parts of an experiment's record that describe how it was trained and what its splits hold."""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from w2sg.config import ExperimentSpec, TrainSpec
from w2sg.items import kind_of
from w2sg.metrics._inputs import json_safe
from w2sg.models.zoo import is_classic
from w2sg.prompts import resolve_layer, template_for
from w2sg.tasks.schema import Splits
from w2sg.theory import correction_summary, squared_record

STUDENT_L2_SOURCES = {"cv": "cv_weak_labels", "weak": "weak", "ceiling": "ceiling_oracle"}


def student_l2(spec: ExperimentSpec, meta: dict[str, dict]) -> tuple[float | str | None, str | None]:
    """The student's L2 strength and where it came from (`student_l2_source` in the record); no ground truth of
    B or V unless `train.student_l2` is 'ceiling' (an oracle).

    Returns ("cv", "cv_weak_labels") when it is still to be chosen by CV on B's weak labels (`steps.fit_student`
    does it, cached with the student), (number, source) otherwise, (None, None) outside frozen mode.
    `meta`: what the weak and ceiling steps recorded (their chosen l2)."""
    if spec.train.mode != "frozen":
        return None, None
    choice = spec.train.student_l2
    if not isinstance(choice, str):
        return float(choice), "given"
    if choice == "cv":
        return ("cv", STUDENT_L2_SOURCES["cv"]) if spec.train.l2 == "cv" else (float(spec.train.l2), "given")
    step = "weak" if choice == "weak" else "ceiling"
    if "l2" not in meta.get(step, {}):
        what = ("the supervisor has no l2 of its own (not a frozen-feature weak model)" if step == "weak"
                else "the cached ceiling records no l2; rerun with --force to recompute it")
        raise RuntimeError(f"train.student_l2 '{choice}': {what}; use student_l2 'cv' (CV on B's weak labels) or "
                           "a number")
    return float(meta[step]["l2"]), STUDENT_L2_SOURCES[choice]


def training_record(spec: ExperimentSpec, meta: dict[str, dict]) -> dict:
    """How each model was trained, for the record: solver, L2 strengths, gradient norms, the student's budget."""
    # the solver the student's learner actually used (least_squares for a squared-loss head, sgd for a frozen
    # head on a step budget), else what the spec asks for
    asked = spec.train.solver if spec.train.mode == "frozen" else "adamw"
    out = {"budget": spec.budget.label(spec.train), "budget_kind": spec.budget.kind,
           "budget_steps": spec.budget.steps, "solver": meta.get("student", {}).get("solver", asked)}
    for step in ("weak", "ceiling", "student"):
        m = meta.get(step, {})
        out[f"l2_{step}"] = m.get("l2")
        out[f"grad_norm_{step}"] = m.get("grad_norm")
        out[f"steps_{step}"] = m.get("iterations", m.get("steps"))
    out["student_selected_step"] = meta.get("student", {}).get("selected_step")
    # the CV choice of l2 stopped at the extended grid's cap (no interior optimum: e.g. no signal to fit)
    for step in ("weak", "ceiling"):
        out[f"l2_at_edge_{step}"] = meta.get(step, {}).get("l2_at_edge")
    out["l2_at_edge_student"] = (meta.get("student", {}).get("l2_cv_weak_labels") or {}).get("at_edge")
    # the folds each CV used: the data may allow fewer than train.cv_folds (class counts, question groups);
    # None where nothing was cross-validated
    for step in ("weak", "ceiling"):
        out[f"cv_folds_{step}"] = (meta.get(step, {}).get("cv") or {}).get("folds")
    out["cv_folds_student"] = (meta.get("student", {}).get("l2_cv_weak_labels") or {}).get("folds")
    out["student_l2_source"] = student_l2(spec, meta)[1] if spec.train.mode == "frozen" and not spec.lock else None
    for step in ("weak", "ceiling", "student"):  # pairwise tasks: how far a model is from order symmetry on T
        if "order_gap" in meta.get(step, {}):
            out[f"order_gap_{step}"] = meta[step]["order_gap"]
    out.update(reading_record(spec, meta))
    return out


def reading_record(spec: ExperimentSpec, meta: dict[str, dict]) -> dict:
    """What the strong and the weak model read: `prompt_strong`, `layer_strong`, `prompt_weak`, `layer_weak`.

    prompt: "none" (the bare text: always for encoders), the template's name, or "custom" (a literal template);
    layer: the index into the model's hidden_states its features come from (an encoder's, and a decoder's by
    default, is its last layer, num_hidden_layers; an int in every row, so the column has one type); both None
    where no model reads the texts (a classic rung, a synthetic supervisor) or the model's config is unreadable.
    The weak model of a supervisor mapping is its `model` option; a zero-shot supervisor's prompt is its own."""
    kind = "comparison" if any(meta.get(s, {}).get("items") == "comparison" for s in ("ceiling", "student", "weak")) \
        else "text"
    weak = spec.weak if isinstance(spec.weak, str) else spec.weak.options.get("model")
    out = {}
    for role, model in (("strong", spec.strong), ("weak", weak)):
        out[f"prompt_{role}"], out[f"layer_{role}"] = model_reading(model, spec.train, kind)
    if "answer_tokens" in meta.get("weak", {}):  # a zero-shot weak LM: its own prompt, answered at its last layer
        last = model_reading(weak, spec.train.model_copy(update={"layer": "last"}), kind)[1]
        out["prompt_weak"], out["layer_weak"] = meta["weak"].get("prompt"), last
    return out


def model_reading(model: str | None, train: TrainSpec, kind: str = "text") -> tuple[str | None, int | None]:
    """(prompt name, hidden_states index) that `model`'s frozen features read under `train` (see reading_record)."""
    facts = _model_facts(model) if isinstance(model, str) else None
    if facts is None:
        return None, None
    pooling, n_layers = facts
    if pooling == "mean":  # encoders ignore prompt and layer
        return "none", n_layers
    layer = resolve_layer(train.layer, n_layers) if n_layers is not None else None
    return template_for(train.prompt, kind)[0], layer


@lru_cache(maxsize=64)
def _model_facts(model: str) -> tuple[str, int | None] | None:
    """(pooling, number of layers) of a model from its config (no weights loaded); None for a classic rung or a
    model that does not resolve."""
    from w2sg.models.classifier import num_layers_of, pooling_for
    from w2sg.models.zoo import resolve

    try:
        m = resolve(model)
        if m.arch == "classic":
            return None
        from transformers import AutoConfig

        cfg = AutoConfig.from_pretrained(m.path)
    except Exception:  # a record is written whatever the model's config says
        return None
    return pooling_for(getattr(cfg, "model_type", ""), m.arch), num_layers_of(cfg)


def split_stats(splits: Splits) -> dict:
    out = {}
    for name, s in splits.class_balance().items():
        out[f"n_{name}"] = s["n"]
        out[f"pos_frac_{name}"] = round(s["pos_frac"], 4) if s["n"] else None
    return out


EXPANSION_K = 10  # neighbours of a T row in the strong representation (Lang et al.'s neighbourhoods)


def texts_with_features(spec: ExperimentSpec, rows) -> bool:
    return (spec.train.mode == "frozen" and not is_classic(spec.strong) and spec.lock is None and bool(rows)
            and kind_of([r.item for r in rows]) == "text")


def theory_record(spec: ExperimentSpec, res, splits: Splits, weak: dict, ceil: dict, stud: dict,
                  n_boot: int) -> dict:
    """The record's `Theory` keys (`result_parts.Theory`): squared-loss terms on B and T; expansion and
    correction on T where the strong model has frozen features (else None)."""
    y = {s: np.array([r.label for r in getattr(splits, s)]) for s in ("transfer", "test")}
    out = squared_record(y["transfer"], weak.get("transfer"), stud.get("transfer"), ceil.get("transfer"))
    out |= squared_record(y["test"], weak["test"], stud["test"], ceil["test"], suffix="test")
    keys = ("expansion_test", "correction_test", "correction_diff_test", "correction_diff_test_ci_low",
            "correction_diff_test_ci_high")
    if not texts_with_features(spec, splits.test):
        return {k: json_safe(v) for k, v in out.items()} | dict.fromkeys(keys)
    x = res.item_features(spec.strong, spec.train, [r.item for r in splits.test])
    c = correction_summary(x, y["test"], weak["test"], stud["test"], k=EXPANSION_K,
                           groups=[r.group for r in splits.test], n_boot=n_boot, seed=spec.seed)
    out |= dict(zip(keys, (c["expansion"], c["correction"], c["correction_diff"], c["correction_diff_ci_low"],
                           c["correction_diff_ci_high"]), strict=True))
    return {k: json_safe(v) for k, v in out.items()}  # NaN (e.g. no weak-wrong row to resample) -> None
