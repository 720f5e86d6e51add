"""Methods that choose what the student keeps: early stopping / checkpoint selection on weak labels (and its
ground-truth oracle baseline), and confident-label filtering."""

from __future__ import annotations

import math
from typing import Literal

import numpy as np
from pydantic import Field

from w2sg.methods.base import MethodConfig, StudentContext, WeakLabelled
from w2sg.methods.registry import register_method
from w2sg.train.learner import Selection
from w2sg.train.losses import SoftXent
from w2sg.train.selection import checkpoint_selector


class EarlyStopConfig(MethodConfig):
    metric: Literal["accuracy", "auroc"] = Field("auroc", description="selection score on V")
    evals: int = Field(10, ge=1, description="number of evaluations on V spread over training")


def fit_with_selection(student, texts: list[str], targets: np.ndarray, seed: int, total_steps: int, evals: int,
                       score_metric: str, reference: np.ndarray, val_texts: list[str]) -> dict:
    """Fit `student`, score its predictions on V every total_steps/evals steps, restore the best weights."""
    on_eval, finish = checkpoint_selector(student, Selection(val_texts, reference, score_metric, evals))
    student.fit(texts, targets, SoftXent(), seed=seed, on_eval=on_eval, eval_every=max(1, total_steps // evals))
    finish()
    return student.selection_result


def _needs_val(cfg: EarlyStopConfig, spec) -> str | None:
    """Checked before any work: early stopping selects on V, so V must have rows."""
    if spec.splits.n_val == 0:
        return "early stopping needs the weak-labelled validation split V: set --n-val > 0 (splits.n_val)"
    return None


def _early_stop(ctx: StudentContext, transfer: WeakLabelled, val: WeakLabelled, cfg: EarlyStopConfig,
                reference: np.ndarray):
    if len(val) == 0:
        raise ValueError("early stopping needs the weak-labelled validation split V: set --n-val > 0")
    student = ctx.new_student()
    fit_with_selection(student, list(transfer.items), transfer.weak_p1, ctx.seed,
                       student.trajectory_steps(len(transfer)), cfg.evals, cfg.metric, reference, list(val.items))
    return student


@register_method("early_stop", """
Early stopping / checkpoint selection on weak labels only (EleutherAI w2s; Burns et al. sec. 5 use ground
truth instead): train naively on soft weak labels, evaluate on the weak-labelled validation split V `evals`
times, and keep the weights with the best score of the student's predictions against V's hard weak labels
(metric: auroc or accuracy). No ground truth is used.""", EarlyStopConfig, precheck=_needs_val)
def early_stop(ctx, transfer, val, cfg: EarlyStopConfig):
    return _early_stop(ctx, transfer, val, cfg, (val.weak_p1 > 0.5).astype(int))


@register_method("early_stop_oracle", """
ORACLE baseline, for analysis only: the same checkpoint selection as early_stop but scored against V's
GROUND-TRUTH labels (Burns et al.'s "cheating" early stopping). Results record oracle=true.""",
                 EarlyStopConfig, oracle=True, precheck=_needs_val)
def early_stop_oracle(ctx, transfer, val, cfg: EarlyStopConfig):
    if ctx.oracle_val_labels is None:
        raise RuntimeError("early_stop_oracle was called without oracle labels")
    return _early_stop(ctx, transfer, val, cfg, ctx.oracle_val_labels)


class FilterConfig(MethodConfig):
    q: float = Field(0.5, gt=0, le=1, description="fraction of transfer rows kept, most confident first")


def confident_rows(weak_p1: np.ndarray, q: float, seed: int = 0) -> np.ndarray:
    """Indices (ascending) of the ceil(q * n) rows with the largest weak confidence |p - 0.5|; rows of equal
    confidence are ordered at random (seeded), so that hard labels, whose confidences all tie, keep a random
    subset rather than the first rows in file order."""
    weak_p1 = np.asarray(weak_p1, dtype=np.float64)
    n_keep = max(2, math.ceil(q * len(weak_p1)))
    tie_break = np.random.default_rng([seed, 8147]).random(len(weak_p1))
    return np.sort(np.lexsort((tie_break, -np.abs(weak_p1 - 0.5)))[:n_keep])


@register_method("filter_confident", """
Confident-label filtering (as in the Anthropic automated-w2s-research baselines): train naively on soft weak
labels of only the transfer rows whose weak confidence |p_weak - 0.5| is in the top fraction q (default 0.5);
rows of equal confidence are kept at random (seeded by the experiment's seed): with hard labels every row ties,
so the method is then naive training on a random q of B.""",
                 FilterConfig)
def filter_confident(ctx, transfer, val, cfg: FilterConfig):
    kept = transfer.subset(confident_rows(transfer.weak_p1, cfg.q, seed=ctx.seed))
    student = ctx.new_student()
    student.fit(list(kept.items), kept.weak_p1, SoftXent(), seed=ctx.seed)
    return student
