"""The product loss of the released openai/weak-to-strong code: the student's and the weak labels' beliefs
multiplied."""

from __future__ import annotations

from pydantic import Field

from w2sg.methods.base import MethodConfig, train_student
from w2sg.methods.registry import register_method
from w2sg.train.losses import ProductLoss


class ProductConfig(MethodConfig):
    a: float = Field(1.0, ge=0, description="exponent of the weak probabilities")
    b: float = Field(1.0, ge=0, description="exponent of the student's probabilities")


@register_method("product", """
Product loss (openai/weak-to-strong): target proportional to p_student(x)^b * p_weak(x)^a, renormalised and
detached, then cross-entropy. Options: a, b.""", ProductConfig)
def product(ctx, transfer, val, cfg: ProductConfig):
    return train_student(ctx, transfer, ProductLoss(a=cfg.a, b=cfg.b))
