"""Unsupervised (generative) finetuning of the strong model on the task's unlabelled texts, then a W2S step."""

from __future__ import annotations

import dataclasses

from pydantic import Field

from w2sg.config import content_hash
from w2sg.methods.base import MethodConfig, StudentContext, WeakLabelled
from w2sg.methods.registry import register_method


class GenerativeConfig(MethodConfig):
    epochs: float = Field(1.0, gt=0, description="passes of the LM objective over the unlabelled texts")
    lr: float = Field(5e-5, gt=0, description="learning rate of the backbone during LM finetuning")
    head_lr: float = Field(1e-3, gt=0, description="learning rate of the LM head (new for sentence encoders)")
    batch_size: int = Field(16, ge=1)
    mlm_probability: float = Field(0.15, gt=0, lt=1, description="share of tokens masked (encoders)")


@register_method("generative_finetune", """
Unsupervised / generative finetuning before the W2S step (Burns et al. 2024 sec. 5.2.2, there for reward
modelling), an ADAPTER: chain it before the method that trains the student, e.g. `generative_finetune+naive`
or `generative_finetune+confidence` (YAML: method: [generative_finetune, confidence]). It trains the
pretrained strong model on the task's unlabelled student-side texts (B, V and the extra rows; never A's or
T's) with its own pretraining objective — masked-LM loss for encoders (15% of tokens, 80/10/10), causal LM
loss L = -sum_t log p(x_t | x_<t) for decoders — and the next stage trains students on the adapted model (in
frozen mode the probe reads the adapted model's features). The ceiling is the unadapted strong model (the
paper also adapted its ceiling). Options: epochs, lr, head_lr, batch_size, mlm_probability.""",
                 GenerativeConfig, adapter=True)
def generative_finetune(ctx: StudentContext, transfer: WeakLabelled, val: WeakLabelled, cfg: GenerativeConfig):
    from w2sg.items import item_texts
    from w2sg.train.generative import generative_finetune as lm_finetune
    from w2sg.train.learner import Backbone
    from w2sg.train.loop import resolve_device

    if ctx.strong_backbone is None or ctx.learner_on is None:
        raise ValueError("generative_finetune needs the pipeline's strong backbone (run it through w2sg run); it "
                         "cannot adapt a locked strong model (drop `lock` or the adapter)")
    extra = item_texts(ctx.extra.items) if ctx.extra else []
    texts = sorted(set(item_texts(transfer.items)) | set(item_texts(val.items)) | set(extra))
    pretrained: Backbone = ctx.strong_backbone
    _, _, pooling = pretrained.get()
    base, tok, _ = lm_finetune(
        pretrained.path, pooling, texts, max_length=ctx.train.max_length, epochs=cfg.epochs, lr=cfg.lr,
        head_lr=cfg.head_lr, batch_size=cfg.batch_size, seed=ctx.seed, mlm_probability=cfg.mlm_probability,
        device=resolve_device(ctx.train.device),
    )
    adapted = Backbone.from_loaded(pretrained.path, pretrained.arch, base, tok, pooling)
    tag = content_hash("generative", cfg, ctx.seed, texts)
    learner_on = ctx.learner_on
    return dataclasses.replace(ctx, new_student=lambda: learner_on(adapted, tag))
