"""The `zero_shot` supervisor: a weak causal LM's zero-shot answer to the task's question, with no labels at all.

Its P(yes) after the task prompt (`w2sg.train.zero_shot`) on B, V and the extra rows are the weak labels, and on
T the PGR floor. It trains nothing and never reads ground truth (nor A: it needs no training rows).
"""

from __future__ import annotations

import numpy as np
from pydantic import Field

from w2sg.config import content_hash
from w2sg.items import item_texts, kind_of
from w2sg.prompts import KINDS
from w2sg.supervisors.base import ROLES, Supervision, SupervisionContext, SupervisorConfig
from w2sg.supervisors.registry import register_supervisor
from w2sg.train.zero_shot import ANSWERS, ZeroShotLM, ZeroShotPrompt, decoder_problem, resolve_template


class ZeroShotConfig(SupervisorConfig):
    model: str = Field(min_length=1, description="the weak causal LM: a decoder alias (e.g. smollm2-135m), a "
                       "local causal-LM checkpoint directory or a Hub id")
    prompt: ZeroShotPrompt = "auto"


def _key(cfg: ZeroShotConfig, ctx: SupervisionContext) -> str:
    templates = [resolve_template(cfg.prompt, kind, ctx.spec.task)[1] for kind in KINDS]
    return content_hash("zero-shot-supervisor", ctx.split_key, ctx.identity(cfg.model), templates,
                        ctx.train.max_length, ANSWERS)


def _precheck(cfg: ZeroShotConfig, spec) -> str | None:
    return decoder_problem(cfg.model)


@register_supervisor("zero_shot", """
A weak causal LM answering the task's question zero-shot, with no labels and no training: each text is read
inside the task prompt (`prompt`, as train.prompt: auto = the task's template) and P(yes) = softmax over the
next-token logits of " Yes" and " No" at "Answer:" (a comparison: P(a > b) = sigma(lo(a) - lo(b)) of the two
sides' yes-log-odds). Its P on B, V and the extra rows are the weak labels, on T the PGR floor; it never reads
ground truth (nor A). Decoders only (e.g. weak: {kind: zero_shot, model: smollm2-135m}). Options: model,
prompt.""", ZeroShotConfig, key=_key, precheck=_precheck, reads=lambda cfg, spec: [cfg.model])
def zero_shot(cfg: ZeroShotConfig, ctx: SupervisionContext) -> Supervision:
    from w2sg.models.zoo import resolve

    if ctx.zero_shot is not None:  # the pipeline's scorer: answers cached per text in the workdir
        lm = ctx.zero_shot(cfg.model)
    else:
        m = resolve(cfg.model)
        lm = ZeroShotLM(m.path, arch=m.arch, identity=m.identity, max_length=ctx.train.max_length,
                        batch_size=ctx.train.eval_batch_size, device=ctx.train.device, task=ctx.spec.task,
                        name=cfg.model)
    s = ctx.splits
    items = {role: [r.item for r in rows] for role, rows in
             zip(ROLES, (s.transfer, s.val, s.test, s.extra), strict=True)}
    p, mass = {}, {}
    for role in ROLES:
        p[role], m_role = lm.answer(items[role], cfg.prompt)
        mass[role] = float(f"{m_role.mean():.4g}") if len(m_role) else None
    kind = kind_of(items["test"])
    name, template = lm.template(cfg.prompt, kind)
    texts = sorted({t for role in ROLES for t in item_texts(items[role])})
    return Supervision({k: np.asarray(v, dtype=np.float32) for k, v in p.items()}, {
        "model": cfg.model, "prompt": name, "answer_tokens": list(lm.answer_words), "answer_mass": mass,
        "n_truncated": lm.count_truncated(texts, template) if texts else 0, "items": kind})
