"""P(y=1) = 0.5 on every row: no information at all."""

import numpy as np

from w2sg.methods.registry import register_method


class _Constant:
    def predict(self, items):
        return np.full(len(list(items)), 0.5, dtype=np.float32)


@register_method("constant", "Predicts P(y=1) = 0.5 on every row (a leaderboard floor).")
def constant(ctx, transfer, val, cfg):
    return _Constant()
