"""Unsupervised (generative) finetuning of the strong model on the task's unlabelled texts, then a W2S step."""

from __future__ import annotations

import dataclasses
from typing import Any

from pydantic import Field, field_validator, model_validator

from w2sg.config import content_hash
from w2sg.methods import register_method
from w2sg.methods.base import MethodConfig, StudentContext, WeakLabelled


class GenerativeConfig(MethodConfig):
    then: str = Field("naive", description="the W2S method run on the adapted strong model")
    then_options: dict[str, Any] = Field(default_factory=dict, description="options of that method")
    epochs: float = Field(1.0, gt=0, description="passes of the LM objective over the unlabelled texts")
    lr: float = Field(5e-5, gt=0, description="learning rate of the backbone during LM finetuning")
    head_lr: float = Field(1e-3, gt=0, description="learning rate of the LM head (new for sentence encoders)")
    batch_size: int = Field(16, ge=1)
    mlm_probability: float = Field(0.15, gt=0, lt=1, description="share of tokens masked (encoders)")

    @field_validator("then")
    @classmethod
    def _then(cls, v: str) -> str:
        from w2sg.methods import get_method

        m = get_method(v)
        if m.oracle or v == "generative_finetune":
            raise ValueError(f"generative_finetune: 'then' cannot be '{v}' (use a non-oracle W2S method)")
        return v

    @model_validator(mode="after")
    def _then_options(self) -> GenerativeConfig:
        from w2sg.methods import get_method

        get_method(self.then).config_cls.model_validate(self.then_options)
        return self


def _precheck(cfg: GenerativeConfig, spec) -> str | None:
    from w2sg.methods import get_method

    then = get_method(cfg.then)
    if spec.train.mode not in then.modes:
        return f"its W2S step '{cfg.then}' cannot run in {spec.train.mode} mode"
    if then.precheck:
        return then.precheck(then.config_cls.model_validate(cfg.then_options), spec)
    return None


@register_method("generative_finetune", """
Unsupervised / generative finetuning before the W2S step (Burns et al. 2024 sec. 5.2.2, there for reward
modelling): first train the pretrained strong model on the task's unlabelled student-side texts (B, V and the
extra rows; never A's or T's) with its own pretraining objective — masked-LM loss for encoders (15% of
tokens, 80/10/10), causal LM loss L = -sum_t log p(x_t | x_<t) for decoders — then run the W2S method `then`
(default naive) on the adapted model. In frozen mode the linear probe reads the adapted model's features. The
ceiling is the unadapted strong model (the paper also adapted its ceiling). Options: then, then_options,
epochs, lr, head_lr, batch_size, mlm_probability.""", GenerativeConfig, precheck=_precheck)
def generative_finetune(ctx: StudentContext, transfer: WeakLabelled, val: WeakLabelled, cfg: GenerativeConfig):
    from w2sg.methods import get_method
    from w2sg.train.generative import generative_finetune as lm_finetune
    from w2sg.train.learner import Backbone
    from w2sg.train.loop import resolve_device

    if ctx.strong_backbone is None or ctx.learner_on is None:
        raise ValueError("generative_finetune needs the pipeline's strong backbone (run it through w2sg run)")
    texts = sorted(set(transfer.texts) | set(val.texts) | (set(ctx.extra.texts) if ctx.extra else set()))
    pretrained: Backbone = ctx.strong_backbone
    _, _, pooling = pretrained.get()
    base, tok, _ = lm_finetune(
        pretrained.path, pooling, texts, max_length=ctx.train.max_length, epochs=cfg.epochs, lr=cfg.lr,
        head_lr=cfg.head_lr, batch_size=cfg.batch_size, seed=ctx.seed, mlm_probability=cfg.mlm_probability,
        device=resolve_device(ctx.train.device),
    )
    adapted = Backbone.from_loaded(pretrained.path, pretrained.arch, base, tok, pooling)
    tag = content_hash("generative", cfg, ctx.seed, texts)
    then = get_method(cfg.then)
    if ctx.mode not in then.modes:
        raise ValueError(f"generative_finetune: '{cfg.then}' cannot run in {ctx.mode} mode")
    inner = dataclasses.replace(ctx, new_student=lambda: ctx.learner_on(adapted, tag))
    student = then.fn(inner, transfer, val, then.config_cls.model_validate(cfg.then_options))
    ctx.supervisor_test = inner.supervisor_test
    return student
