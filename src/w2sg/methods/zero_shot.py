"""The `zero_shot` baseline: the strong model's own zero-shot answers, with no training and no labels.

It ignores the weak labels: what the pretrained strong LM already knows when asked the task's question
(`w2sg.train.zero_shot`), reported beside PGR as "elicitation without supervision". Frozen and finetune modes
alike, it only reads the model.
"""

from __future__ import annotations

import numpy as np

from w2sg.items import Item, kind_of
from w2sg.methods.base import MethodConfig, StudentContext, WeakLabelled
from w2sg.methods.registry import register_method
from w2sg.train.zero_shot import ZeroShotLM, ZeroShotPrompt, decoder_problem


class ZeroShotConfig(MethodConfig):
    prompt: ZeroShotPrompt = "auto"


class ZeroShotStudent:
    """Learner-like: `predict(items)` is the strong LM's zero-shot P(item positive); it is never fitted."""

    def __init__(self, lm: ZeroShotLM, prompt: str):
        self.lm, self.prompt = lm, prompt
        self.kind = "text"  # of the items predicted (the template depends on it)

    def predict(self, items: list[Item]) -> np.ndarray:
        items = list(items)
        self.kind = kind_of(items)
        return self.lm.predict(items, self.prompt)

    @property
    def info(self) -> dict:
        return {"zero_shot": True, "prompt": self.lm.template(self.prompt, self.kind)[0],
                "answer_tokens": list(self.lm.answer_words), "answer_mass": self.lm.answer_mass}


def _precheck(cfg: ZeroShotConfig, spec) -> str | None:
    if spec.lock is not None:
        return "it reads the pretrained strong model's answers, not a locked one: drop `lock`"
    if len(spec.method.stages()) > 1:
        return ("it reads the pretrained strong model, so an adapter before it would change nothing: use "
                "method zero_shot alone")
    return decoder_problem(spec.strong)


@register_method("zero_shot", """
Zero-shot elicitation of the strong model, a baseline that uses no labels (it ignores the weak labels and
trains nothing): each text is read inside the task prompt (`prompt`, as train.prompt: auto = the task's
template) and P(yes) = softmax over the strong LM's next-token logits of " Yes" and " No" at "Answer:" (a
comparison: sigma(lo(a) - lo(b)) of the two sides' yes-log-odds). What the pretrained model already knows,
reported beside PGR. Decoders only; the same in every train.mode. Options: prompt.""", ZeroShotConfig,
                 precheck=_precheck)
def zero_shot(ctx: StudentContext, transfer: WeakLabelled, val: WeakLabelled, cfg: ZeroShotConfig):
    lm = ctx.zero_shot
    if lm is None:  # a context built without the pipeline's scorer: read the strong backbone, uncached
        if ctx.strong_backbone is None:
            raise ValueError("method zero_shot needs the pretrained strong model (a decoder); this context has none")
        lm = ZeroShotLM(ctx.strong_backbone, max_length=ctx.train.max_length, batch_size=ctx.train.eval_batch_size,
                        device=ctx.train.device)
    return ZeroShotStudent(lm, cfg.prompt)
