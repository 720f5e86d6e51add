"""The auxiliary confidence loss of Burns et al. (2024, eq. 1): the student also learns its own hardened labels."""

from __future__ import annotations

from pydantic import Field

from w2sg.items import kind_of
from w2sg.methods.base import MethodConfig, train_student
from w2sg.methods.registry import register_method
from w2sg.train.losses import ConfidenceLoss


class ConfidenceConfig(MethodConfig):
    a_max: float = Field(0.5, ge=0, le=1, description="final weight of the student's own hardened labels")
    warmup_frac: float = Field(0.2, ge=0, le=1, description="fraction of steps over which a ramps 0 -> a_max")


@register_method("confidence", """
Auxiliary confidence loss (Burns et al. 2024, eq. 1): L = CE(f(x), (1-a) p_weak(x) + a hard_t(f(x))), where
hard_t thresholds the student's own prediction so that the share of positives equals the weak labels'
positive rate in the logical batch, and a ramps linearly from 0 to a_max (0.5) over the first
warmup_frac (0.2) of training. Options: a_max, warmup_frac.""", ConfidenceConfig)
def confidence(ctx, transfer, val, cfg: ConfidenceConfig):
    # on comparisons each pair hardens at 0.5: invariant to which response is written first
    pairwise = kind_of(transfer.items) == "comparison"
    return train_student(ctx, transfer, ConfidenceLoss(a_max=cfg.a_max, warmup_frac=cfg.warmup_frac,
                                                       pairwise=pairwise))
