"""Training losses as pure functions of (logits, targets, step_frac).

Every loss here is a cross-entropy against a *target distribution*. Losses that look at the whole logical
batch (the confidence loss thresholds the student's own predictions at the weak labels' positive rate)
expose `batch_targets`, which the loop computes once over the whole logical batch, also when gradient
accumulation splits that batch into micro-batches (DESIGN rule 5).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F


def soft_cross_entropy(logits: torch.Tensor, targets: torch.Tensor, reduction: str = "mean") -> torch.Tensor:
    """CE(logits, target distribution) for two-class logits (N, 2) and targets (N, 2)."""
    loss = -(targets * F.log_softmax(logits.float(), dim=-1)).sum(-1)
    return loss.mean() if reduction == "mean" else loss if reduction == "none" else loss.sum()


def to_two_class(p1: torch.Tensor) -> torch.Tensor:
    """P(y=1) of shape (N,) -> distribution of shape (N, 2)."""
    p1 = p1.float()
    return torch.stack([1 - p1, p1], dim=-1)


def linear_warmup(step_frac: float, a_max: float, warmup_frac: float) -> float:
    """a ramps linearly from 0 to a_max over the first warmup_frac of training, then stays at a_max.

    (The reference code's coefficient jumps from 0.1*a_max to a_max at the end of warmup; this one is
    continuous, as the paper describes.)
    """
    if warmup_frac <= 0:
        return a_max
    return a_max * min(1.0, max(0.0, step_frac) / warmup_frac)


def harden_at_prior(student_p1: torch.Tensor, pos_rate: float) -> torch.Tensor:
    """hard_t(f(x)): 1 for the `pos_rate` fraction of the batch with the highest P(y=1), else 0.

    The threshold t is the (1 - pos_rate) quantile of the student's P(y=1) over the batch, so the share of
    hardened positives matches the weak labels' positive rate. Ties go to the negative class (P > t), as in
    the reference code: a zero-initialised head predicts exactly 0.5 everywhere and must not make every row
    positive on its first step.
    """
    if student_p1.numel() == 0:
        return student_p1
    t = torch.quantile(student_p1.float(), 1.0 - float(pos_rate))
    return (student_p1 > t).float()


@dataclass(frozen=True)
class Loss:
    """Base: CE against `batch_targets(...)`. Subclasses override `batch_targets`."""

    batch_level: bool = False  # True if a row's target depends on other rows of the logical batch
    self_training: bool = False  # True if targets depend on the student's own predictions

    def batch_targets(self, logits: torch.Tensor, weak_p1: torch.Tensor, step_frac: float) -> torch.Tensor:
        """Target distributions (N, 2) for the whole logical batch; `logits` must be detached."""
        return to_two_class(weak_p1)

    def __call__(self, logits: torch.Tensor, weak_p1: torch.Tensor, step_frac: float) -> torch.Tensor:
        targets = self.batch_targets(logits.detach(), weak_p1, step_frac)
        return soft_cross_entropy(logits, targets)


@dataclass(frozen=True)
class SoftXent(Loss):
    """Cross-entropy on the weak model's soft labels (the paper's naive baseline)."""


@dataclass(frozen=True)
class HardXent(Loss):
    """Cross-entropy on hard labels: 1 iff p > 0.5 (the rule of `metrics.hard_labels`; ties go to 0)."""

    def batch_targets(self, logits, weak_p1, step_frac):
        return to_two_class((weak_p1 > 0.5).float())


@dataclass(frozen=True)
class ConfidenceLoss(Loss):
    """Auxiliary confidence loss (Burns et al. 2024): CE(f(x), (1-a)*weak(x) + a*hard_t(f(x))).

    `a` ramps linearly from 0 to `a_max` over the first `warmup_frac` of steps; `hard_t` thresholds the
    student's own (detached) predictions so that the fraction of positives equals the weak labels'
    positive rate in the logical batch.
    """

    a_max: float = 0.5
    warmup_frac: float = 0.2
    batch_level: bool = True
    self_training: bool = True

    def coef(self, step_frac: float) -> float:
        return linear_warmup(step_frac, self.a_max, self.warmup_frac)

    def batch_targets(self, logits, weak_p1, step_frac):
        a = self.coef(step_frac)
        student_p1 = torch.softmax(logits.float(), dim=-1)[:, 1]
        pos_rate = float(weak_p1.float().mean())
        hardened = harden_at_prior(student_p1, pos_rate)
        return to_two_class((1 - a) * weak_p1.float() + a * hardened)


@dataclass(frozen=True)
class ProductLoss(Loss):
    """Product loss (openai/weak-to-strong): target ∝ p_student^b * p_weak^a, renormalised and detached."""

    a: float = 1.0
    b: float = 1.0
    self_training: bool = True

    def batch_targets(self, logits, weak_p1, step_frac):
        p_student = torch.softmax(logits.float(), dim=-1)
        p_weak = to_two_class(weak_p1).clamp_min(1e-12)
        t = p_student.pow(self.b) * p_weak.pow(self.a)
        return t / t.sum(-1, keepdim=True)
