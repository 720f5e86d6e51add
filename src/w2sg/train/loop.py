"""The one training loop: AdamW, warmup + cosine, length-grouped batches, exact gradient accumulation.

It trains any module whose forward takes a collated batch and returns two-class logits (a `TextClassifier`
on token ids, a `RewardClassifier` on the token ids of both sides of comparisons, or a `FeatureClassifier`
on cached features) against per-row targets P(y=1). It never sees where the targets came from: ground
truth for the weak model and the ceiling, weak labels for the student.
"""

from __future__ import annotations

import contextlib
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn

from w2sg.config import TrainSpec
from w2sg.train.batching import length_grouped_batches, micro_batches, sorted_inference_batches
from w2sg.train.losses import Loss, reduce_rows


class NonFiniteLossError(RuntimeError):
    """Raised when a training loss becomes NaN or infinite: the run stops instead of training on garbage."""


@dataclass
class TrainResult:
    steps: int
    seconds: float
    examples: int
    losses: list[float] = field(default_factory=list)

    @property
    def examples_per_s(self) -> float:
        return self.examples / self.seconds if self.seconds > 0 else float("nan")


def resolve_device(name: str = "auto") -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


def autocast_for(device: torch.device):
    """bf16 autocast on GPU; fp32 (no autocast) on CPU."""
    if device.type == "cuda":
        return torch.autocast(device_type="cuda", dtype=torch.bfloat16)
    return contextlib.nullcontext()


def seed_everything(seed: int) -> None:
    torch.manual_seed(seed)
    np.random.seed(seed % (2**32))


def _forward(model: nn.Module, rows, idx: np.ndarray, device: torch.device) -> torch.Tensor:
    batch = {k: v.to(device, non_blocking=True) for k, v in rows.collate(idx).items()}
    with autocast_for(device):
        return model(**batch).float()


def train(
    model: nn.Module,
    rows,
    targets: torch.Tensor,
    loss: Loss,
    spec: TrainSpec,
    seed: int,
    device: torch.device | None = None,
    on_step: Callable[[int, int, float], None] | None = None,
    on_eval: Callable[[int, nn.Module], None] | None = None,
    eval_every: int = 0,
    total_steps: int | None = None,
    l2: float = 0.0,
    weight_decay: float | None = None,
) -> TrainResult:
    """Train `model` on `rows` towards per-row targets P(y=1) with `loss`; return timing and losses.

    A logical batch of N = `spec.batch_size` rows may run as micro-batches (`spec.micro_batch_size`); each
    micro-batch adds sum(weight * row loss) / N (`losses.reduce_rows`). Losses that look at the whole batch
    (confidence loss) get their targets and weights from a no-grad pass over the whole logical batch first,
    so micro-batching gives the same gradient as one full batch. The loss sees step_frac = step / total for
    step = 0 .. total - 1.

    `total_steps` overrides the epoch budget (a step budget); `l2` adds l2 * ||head.weight||^2 to every
    logical batch's loss (for a two-logit head this equals (l2/2) ||w1 - w0||^2 at the optimum, the
    penalty of the convex frozen-head problem); `weight_decay` overrides spec.weight_decay (AdamW).
    """
    device = device or resolve_device(spec.device)
    targets = targets.float().cpu()
    if targets.shape[0] != len(rows):
        raise ValueError(f"{targets.shape[0]} targets for {len(rows)} rows")
    n = len(rows)
    steps_per_epoch = math.ceil(n / spec.batch_size)
    total = total_steps or max(1, math.ceil(spec.resolved_epochs() * steps_per_epoch))
    micro = spec.micro_batch_size or spec.batch_size
    lengths = rows.lengths

    seed_everything(seed)
    model.to(device)
    model.train(spec.train_dropout)  # dropout off by default, as in Burns et al.'s released code
    opt = torch.optim.AdamW(_param_groups(model, spec),
                            weight_decay=spec.weight_decay if weight_decay is None else weight_decay)
    head_weight = model.head.weight if l2 > 0 else None
    warmup = int(spec.warmup_frac * total)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: warmup_cosine(s, warmup, total))
    rng = np.random.default_rng(seed)

    result = TrainResult(steps=0, seconds=0.0, examples=0)
    t0 = time.perf_counter()
    step = 0
    while step < total:
        for batch_idx in length_grouped_batches(lengths, spec.batch_size, rng, group=spec.group_by_length):
            if step >= total:
                break
            step_frac = step / total
            parts = micro_batches(batch_idx, lengths, micro)
            prepared = None  # the batch stage over the whole logical batch: (targets, weights or None)
            if loss.batch_level and len(parts) > 1:
                with torch.no_grad():
                    all_logits = torch.cat([_forward(model, rows, p, device) for p in parts])
                order = np.concatenate(parts)
                prepared = loss.prepare(all_logits, targets[order].to(device), step_frac)
            opt.zero_grad(set_to_none=True)
            step_loss, offset = 0.0, 0
            for p in parts:
                logits = _forward(model, rows, p, device)
                if prepared is not None:
                    t, w = prepared[0][offset : offset + len(p)], prepared[1]
                    w = None if w is None else w[offset : offset + len(p)]
                else:
                    t, w = loss.prepare(logits.detach(), targets[p].to(device), step_frac)
                offset += len(p)
                part_loss = reduce_rows(loss, logits, t, w, step_frac, len(batch_idx))
                part_loss.backward()
                step_loss += float(part_loss.detach())
            if head_weight is not None:  # once per logical batch, not per micro-batch
                penalty = l2 * head_weight.float().pow(2).sum()
                penalty.backward()
                step_loss += float(penalty.detach())
            if not math.isfinite(step_loss):
                raise NonFiniteLossError(
                    f"loss became {step_loss} at step {step}/{total}; lower the learning rate "
                    f"(now {spec.resolved_lr():g}) or check the inputs for NaN"
                )
            opt.step()
            sched.step()
            step += 1
            result.losses.append(step_loss)
            result.examples += len(batch_idx)
            if on_step:
                on_step(step, total, step_loss)
            if on_eval and eval_every and (step % eval_every == 0 or step == total):
                on_eval(step, model)
                model.train(spec.train_dropout)
    result.steps = step
    result.seconds = time.perf_counter() - t0
    return result


def _param_groups(model: nn.Module, spec: TrainSpec) -> list[dict]:
    """The freshly initialised head (`model.head`) may learn faster than the pretrained backbone."""
    head = getattr(model, "head", None)
    head_ids = {id(p) for p in head.parameters()} if isinstance(head, nn.Module) else set()
    trainable = [p for p in model.parameters() if p.requires_grad]
    body = [p for p in trainable if id(p) not in head_ids]
    heads = [p for p in trainable if id(p) in head_ids]
    groups = [{"params": body, "lr": spec.resolved_lr()}] if body else []
    if heads:
        groups.append({"params": heads, "lr": spec.resolved_head_lr()})
    return groups


def warmup_cosine(step: int, warmup: int, total: int) -> float:
    if step < warmup:
        return (step + 1) / (warmup + 1)
    progress = (step - warmup) / max(1, total - warmup)
    return 0.5 * (1.0 + math.cos(math.pi * min(1.0, progress)))


@torch.inference_mode()
def predict(model: nn.Module, rows, batch_size: int = 64, device: torch.device | None = None) -> np.ndarray:
    """P(y=1) for every row, in the rows' order, using length-sorted batches."""
    device = device or next(model.parameters()).device
    model.to(device)
    model.eval()
    out = np.empty(len(rows), dtype=np.float32)
    for idx in sorted_inference_batches(rows.lengths, batch_size):
        logits = _forward(model, rows, idx, device)
        out[idx] = torch.softmax(logits, dim=-1)[:, 1].cpu().numpy()
    return out
