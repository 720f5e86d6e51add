"""Checkpoint selection along a training trajectory (early stopping): score on V, keep the best weights."""

from __future__ import annotations

import copy
import math

from w2sg.metrics import accuracy, auroc


def score_fn(metric: str, reference):
    """Score predictions against reference labels (hard 0/1); an undefined score (one class) is -inf."""
    fn = accuracy if metric == "accuracy" else auroc

    def score(p) -> float:
        s = fn(p, reference)
        return -math.inf if s != s else s

    return score


def checkpoint_selector(learner, selection):
    """(on_eval, finish): on_eval(step, model) scores `learner.predict(V)`; finish() restores the best weights
    (the earliest best wins ties) and records the selection in `learner.info['selection']`."""
    score = score_fn(selection.metric, selection.reference)
    best = {"score": -math.inf, "step": 0, "state": None, "history": []}

    def on_eval(step, model):
        s = score(learner.predict(selection.texts))
        best["history"].append((step, s))
        if s > best["score"]:
            best.update(score=s, step=step, state=copy.deepcopy(model.state_dict()))

    def finish():
        if best["state"] is not None:
            learner.model.load_state_dict(best["state"])
        learner.selection_result = {k: best[k] for k in ("score", "step", "history")}

    return on_eval, finish
