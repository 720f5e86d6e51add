"""Always the majority class of the weak labels on B: one constant answer for every row of T."""

import numpy as np

from w2sg.methods.registry import register_method


class _Majority:
    def __init__(self, p1: float):
        self.p1 = p1

    def predict(self, items):
        return np.full(len(list(items)), self.p1, dtype=np.float32)


@register_method("always_majority", "Predicts the weak labels' majority class on every row (a leaderboard floor).")
def always_majority(ctx, transfer, val, cfg):
    return _Majority(1.0 if float(np.mean(np.asarray(transfer.weak_p1) > 0.5)) > 0.5 else 0.0)
