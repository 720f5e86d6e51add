"""The baselines of Burns et al.: naive finetuning on weak labels (soft or hard), the auxiliary confidence
loss, and the product loss of the released code."""

from __future__ import annotations

from pydantic import Field

from w2sg.items import kind_of
from w2sg.methods.base import MethodConfig, StudentContext, WeakLabelled
from w2sg.methods.registry import register_method
from w2sg.train.losses import ConfidenceLoss, HardXent, Loss, ProductLoss, SoftXent


def _fit(ctx: StudentContext, transfer: WeakLabelled, loss: Loss):
    student = ctx.new_student()
    student.fit(list(transfer.items), transfer.weak_p1, loss, seed=ctx.seed)
    return student


@register_method("naive", """
Naive finetuning (Burns et al. 2024): train the strong model with cross-entropy on the weak model's
soft labels, L = CE(f(x), p_weak(x)).""")
def naive(ctx, transfer, val, cfg):
    return _fit(ctx, transfer, SoftXent())


@register_method("naive_hard", """
Naive finetuning on hard weak labels: L = CE(f(x), 1[p_weak(x) > 0.5]).""")
def naive_hard(ctx, transfer, val, cfg):
    return _fit(ctx, transfer, HardXent())


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
    return _fit(ctx, transfer, ConfidenceLoss(a_max=cfg.a_max, warmup_frac=cfg.warmup_frac, pairwise=pairwise))


class ProductConfig(MethodConfig):
    a: float = Field(1.0, ge=0, description="exponent of the weak probabilities")
    b: float = Field(1.0, ge=0, description="exponent of the student's probabilities")


@register_method("product", """
Product loss (openai/weak-to-strong): target proportional to p_student(x)^b * p_weak(x)^a, renormalised and
detached, then cross-entropy. Options: a, b.""", ProductConfig)
def product(ctx, transfer, val, cfg: ProductConfig):
    return _fit(ctx, transfer, ProductLoss(a=cfg.a, b=cfg.b))
