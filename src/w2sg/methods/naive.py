"""Naive finetuning on weak labels (Burns et al. 2024): cross-entropy on the weak model's soft or hard labels."""

from __future__ import annotations

from w2sg.methods.base import train_student
from w2sg.methods.registry import register_method
from w2sg.train.losses import HardXent, SoftXent


@register_method("naive", """
Naive finetuning (Burns et al. 2024): train the strong model with cross-entropy on the weak model's
soft labels, L = CE(f(x), p_weak(x)).""")
def naive(ctx, transfer, val, cfg):
    return train_student(ctx, transfer, SoftXent())


@register_method("naive_hard", """
Naive finetuning on hard weak labels: L = CE(f(x), 1[p_weak(x) > 0.5]).""")
def naive_hard(ctx, transfer, val, cfg):
    return train_student(ctx, transfer, HardXent())
