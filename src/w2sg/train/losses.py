"""Training losses as pure functions of (logits, targets, step_frac), in two stages.

1. The batch stage, `prepare(logits, weak_p1, step_frac) -> (targets (N, 2), weights (N,) or None)`, runs
   without gradient on the *detached* logits of the whole logical batch: `batch_targets` gives each row a
   target distribution and `batch_weights` an optional weight. Losses that look at the whole logical batch
   (the confidence loss thresholds the student's own predictions at the weak labels' positive rate) set
   `batch_level`; the loop then computes this stage once over the whole logical batch, also when gradient
   accumulation splits that batch into micro-batches (DESIGN rule 5).
2. The row stage, `rows(logits, targets, step_frac) -> (N,)`, is the differentiable loss of each row
   (default: the soft cross-entropy against its target).

The loss of a logical batch of N rows is  sum_i weight_i * rows_i / N  (weight 1 when there are none), so
summing it over micro-batches gives exactly the full batch's loss (`reduce_rows`). A row of weight 0 is
dropped but still counts in N. The frozen L-BFGS solver minimises the same sum over the whole training set.

Two-class logits cover pairwise comparisons too: a reward model r scores a comparison with the logits
[r(b), r(a)], so P(a > b) = sigma(r(a) - r(b)) and the soft cross-entropy *is* the Bradley-Terry loss.
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
    """Base: soft CE against `batch_targets(...)`, every row of weight 1.

    Subclasses override `batch_targets` (what each row is pulled towards), `batch_weights` (how much each
    row counts; 0 drops it) and/or `rows` (the per-row loss itself). The frozen L-BFGS solver handles any
    targets and weights, but only the default soft cross-entropy rows (`soft_ce_rows`).
    """

    batch_level: bool = False  # True if a row's target or weight depends on other rows of the logical batch
    self_training: bool = False  # True if targets or weights depend on the student's own predictions

    def batch_targets(self, logits: torch.Tensor, weak_p1: torch.Tensor, step_frac: float) -> torch.Tensor:
        """Target distributions (N, 2) for the whole logical batch; `logits` must be detached."""
        return to_two_class(weak_p1)

    def batch_weights(self, logits: torch.Tensor, weak_p1: torch.Tensor, step_frac: float) -> torch.Tensor | None:
        """Per-row weights (N,) for the whole logical batch, or None for all ones; `logits` must be detached."""
        return None

    def prepare(self, logits: torch.Tensor, weak_p1: torch.Tensor,
                step_frac: float) -> tuple[torch.Tensor, torch.Tensor | None]:
        """The batch stage: (targets (N, 2), weights (N,) or None) from detached logits."""
        return self.batch_targets(logits, weak_p1, step_frac), self.batch_weights(logits, weak_p1, step_frac)

    def rows(self, logits: torch.Tensor, targets: torch.Tensor, step_frac: float) -> torch.Tensor:
        """The row stage: the differentiable loss (N,) of each row against its target (no weights)."""
        return soft_cross_entropy(logits, targets, reduction="none")

    @property
    def soft_ce_rows(self) -> bool:
        """True if the row stage is the default soft cross-entropy (what the frozen L-BFGS solver solves)."""
        return type(self).rows is Loss.rows

    def __call__(self, logits: torch.Tensor, weak_p1: torch.Tensor, step_frac: float) -> torch.Tensor:
        """The loss of one logical batch: sum_i weight_i * rows_i / N."""
        targets, weights = self.prepare(logits.detach(), weak_p1, step_frac)
        return reduce_rows(self, logits, targets, weights, step_frac, len(logits))


def reduce_rows(loss: Loss, logits: torch.Tensor, targets: torch.Tensor, weights: torch.Tensor | None,
                step_frac: float, n: int) -> torch.Tensor:
    """sum_i weight_i * rows_i / n for (a micro-batch of) a logical batch of n rows: summed over the
    micro-batches of a logical batch this is exactly the logical batch's loss."""
    per_row = loss.rows(logits, targets, step_frac)
    if weights is not None:
        per_row = per_row * weights.to(per_row.dtype)
    return per_row.sum() / n


@dataclass(frozen=True)
class SoftXent(Loss):
    """Cross-entropy on the weak model's soft labels (the paper's naive baseline)."""


@dataclass(frozen=True)
class BradleyTerry(SoftXent):
    """The Bradley-Terry loss of a reward model on comparisons: -t log sigma(r_a - r_b) - (1-t) log sigma(r_b - r_a)
    with t = P(a > b). It is SoftXent on the logits [r_b, r_a] that reward models produce, under its own name."""


@dataclass(frozen=True)
class HardXent(Loss):
    """Cross-entropy on hard labels: 1 iff p > 0.5 (the rule of `metrics.hard_labels`; ties go to 0)."""

    def batch_targets(self, logits, weak_p1, step_frac):
        return to_two_class((weak_p1 > 0.5).float())


def harden_at_half(logits: torch.Tensor) -> torch.Tensor:
    """1 where the model prefers the positive side (logit difference > 0), 0 where it prefers the negative one,
    0.5 on an exact tie. Symmetric in orientation: swapping the two logits (a comparison's a and b) gives
    exactly 1 - the hardened label, also on ties."""
    d = logits[:, 1].float() - logits[:, 0].float()
    return (d > 0).float() + 0.5 * (d == 0).float()


@dataclass(frozen=True)
class ConfidenceLoss(Loss):
    """Auxiliary confidence loss (Burns et al. 2024): CE(f(x), (1-a)*weak(x) + a*hard_t(f(x))).

    `a` ramps linearly from 0 to `a_max` over the first `warmup_frac` of steps; `hard_t` thresholds the
    student's own (detached) predictions so that the fraction of positives equals the weak labels'
    positive rate in the logical batch.

    `pairwise=True` (comparisons): a pair's "positive rate" is only the share of pairs handed in as (preferred,
    other), so thresholding at it would make the targets depend on the orientation of the training pairs
    (swapping a and b maps P to 1 - P and moves the batch's mean). Pairs are hardened at 0.5 instead: each pair
    is pulled towards the side the student already prefers (`harden_at_half`), and re-orienting any training
    pair leaves the fitted reward model unchanged.
    """

    a_max: float = 0.5
    warmup_frac: float = 0.2
    pairwise: bool = False
    batch_level: bool = True
    self_training: bool = True

    def coef(self, step_frac: float) -> float:
        return linear_warmup(step_frac, self.a_max, self.warmup_frac)

    def batch_targets(self, logits, weak_p1, step_frac):
        a = self.coef(step_frac)
        if self.pairwise:
            hardened = harden_at_half(logits)
        else:
            student_p1 = torch.softmax(logits.float(), dim=-1)[:, 1]
            hardened = harden_at_prior(student_p1, float(weak_p1.float().mean()))
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


@dataclass(frozen=True)
class ConfidenceWindow(Loss):
    """Soft CE on the weak labels, trained only where the student is already confident.

    A row whose student P(y=1) (detached) lies strictly within `w` of 0.5 gets weight 0; the others weight 1.
    Dropped rows still count in the batch's N, so the loss is the sum over kept rows divided by N. The window
    `w` ramps linearly from 0 to `window` over the first `warmup_frac` of training (as the confidence loss's
    coefficient does): a zero-initialised head predicts exactly 0.5 everywhere and would otherwise drop
    every row and never learn. Row-local (not batch-level); self-training (weights follow the student).
    In frozen mode it is solved in the same fixed-point rounds as the confidence loss.
    """

    window: float = 0.1
    warmup_frac: float = 0.2
    self_training: bool = True

    def width(self, step_frac: float) -> float:
        return linear_warmup(step_frac, self.window, self.warmup_frac)

    def batch_weights(self, logits, weak_p1, step_frac):
        student_p1 = torch.softmax(logits.float(), dim=-1)[:, 1]
        return ((student_p1 - 0.5).abs() >= self.width(step_frac)).float()
