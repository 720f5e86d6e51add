"""Parts of an experiment's record that describe how it was trained and what its splits hold."""

from __future__ import annotations

from w2sg.config import ExperimentSpec
from w2sg.tasks.schema import Splits


def student_l2(spec: ExperimentSpec, ceiling_meta: dict) -> float | None:
    """The student's L2 strength: the ceiling's (chosen by CV on B's ground truth, or given)."""
    if spec.train.mode != "frozen":
        return None
    if spec.train.l2 != "cv":
        return float(spec.train.l2)
    if "l2" not in ceiling_meta:
        raise RuntimeError("the cached ceiling records no l2; rerun with --force to recompute it")
    return float(ceiling_meta["l2"])


def training_record(spec: ExperimentSpec, meta: dict[str, dict]) -> dict:
    """How each model was trained, for the record: solver, L2 strengths, gradient norms, the student's budget."""
    out = {"budget": spec.budget.label(spec.train), "budget_kind": spec.budget.kind,
           "budget_steps": spec.budget.steps, "solver": spec.train.solver if spec.train.mode == "frozen" else "adamw"}
    for step in ("weak", "ceiling", "student"):
        m = meta.get(step, {})
        out[f"l2_{step}"] = m.get("l2")
        out[f"grad_norm_{step}"] = m.get("grad_norm")
        out[f"steps_{step}"] = m.get("iterations", m.get("steps"))
    out["student_selected_step"] = meta.get("student", {}).get("selected_step")
    for step in ("weak", "ceiling", "student"):  # pairwise tasks: how far a model is from order symmetry on T
        if "order_gap" in meta.get(step, {}):
            out[f"order_gap_{step}"] = meta[step]["order_gap"]
    return out


def split_stats(splits: Splits) -> dict:
    out = {}
    for name, s in splits.class_balance().items():
        out[f"n_{name}"] = s["n"]
        out[f"pos_frac_{name}"] = round(s["pos_frac"], 4) if s["n"] else None
    return out
