"""Unsupervised (generative) finetuning of a backbone on unlabelled task texts.

Encoders get the masked-LM loss (BERT-style 80/10/10 masking of 15% of tokens), decoders the causal LM loss.
The result is the adapted *base* model (the LM head is dropped), ready to be pooled and given a classifier
head like any pretrained backbone. Sentence-transformers checkpoints (MiniLM, MPNet) ship without their MLM
head: its transform layer starts fresh, its decoder is tied to the input embeddings (as in pretraining).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np
import torch

from w2sg.train.batching import length_grouped_batches, tokenize
from w2sg.train.loop import NonFiniteLossError, autocast_for, seed_everything, warmup_cosine


@dataclass
class GenerativeResult:
    objective: str  # "mlm" or "clm"
    steps: int
    seconds: float
    first_loss: float
    last_loss: float


def load_lm(path: str, pooling: str, dtype: torch.dtype = torch.float32):
    """The backbone at `path` with its language-modelling head: MLM for encoders ('mean' pooling), causal
    LM for decoders ('last' pooling)."""
    from transformers import AutoModelForCausalLM, AutoModelForMaskedLM

    cls = AutoModelForMaskedLM if pooling == "mean" else AutoModelForCausalLM
    try:
        return cls.from_pretrained(path, dtype=dtype)
    except (ValueError, KeyError) as e:
        kind = "masked-LM" if pooling == "mean" else "causal-LM"
        raise ValueError(f"generative finetuning needs a {kind} head for the model at {path}, and transformers "
                         f"has none for it ({e}); use a method without generative finetuning") from e


def mask_tokens(ids: torch.Tensor, attention: torch.Tensor, special: torch.Tensor, mask_id: int, vocab: int,
                probability: float, gen: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """BERT masking: choose `probability` of the real, non-special tokens; of those 80% -> [MASK], 10% -> a
    random token, 10% unchanged. Returns (inputs, labels) with labels -100 where no prediction is asked."""
    candidates = attention.bool() & ~special
    chosen = (torch.rand(ids.shape, generator=gen) < probability) & candidates
    # at least one prediction per row that has a candidate, so short texts still train
    none = ~chosen.any(1) & candidates.any(1)
    if none.any():
        first = torch.argmax(candidates[none].int(), dim=1)
        chosen[none.nonzero().squeeze(1), first] = True
    labels = torch.where(chosen, ids, torch.full_like(ids, -100))
    inputs = ids.clone()
    roll = torch.rand(ids.shape, generator=gen)
    inputs[chosen & (roll < 0.8)] = mask_id
    rand = chosen & (roll >= 0.8) & (roll < 0.9)
    inputs[rand] = torch.randint(vocab, ids.shape, generator=gen)[rand]
    return inputs, labels


def generative_finetune(backbone_path: str, pooling: str, texts: list[str], *, max_length: int, epochs: float,
                        lr: float, batch_size: int, seed: int, head_lr: float = 1e-3, mlm_probability: float = 0.15,
                        weight_decay: float = 0.01, warmup_frac: float = 0.1,
                        device: torch.device | None = None) -> tuple[torch.nn.Module, object, GenerativeResult]:
    """Train the LM objective on `texts` (no labels); return (adapted base model on CPU, tokenizer, result)."""
    from transformers import AutoTokenizer

    if not texts:
        raise ValueError("generative finetuning needs unlabelled texts; got none")
    device = device or torch.device("cpu")
    tok = AutoTokenizer.from_pretrained(backbone_path)
    if tok.pad_token_id is None:
        tok.pad_token = tok.eos_token
    seed_everything(seed)
    lm = load_lm(backbone_path, pooling).to(device)
    objective = "mlm" if pooling == "mean" else "clm"
    if objective == "mlm" and tok.mask_token_id is None:
        raise ValueError(f"the tokenizer at {backbone_path} has no mask token: masked-LM finetuning is impossible")
    rows = tokenize(tok, list(texts), max_length)
    special = torch.tensor(sorted(set(tok.all_special_ids)), dtype=torch.long)
    lengths = rows.lengths
    total = max(1, math.ceil(epochs * math.ceil(len(rows) / batch_size)))
    # the LM head may be partly new (sentence-transformers checkpoints): it learns at head_lr, the base at lr
    base_ids = {id(p) for p in getattr(lm, lm.base_model_prefix).parameters()}
    head = [p for p in lm.parameters() if id(p) not in base_ids]
    groups = [{"params": [p for p in lm.parameters() if id(p) in base_ids], "lr": lr}]
    if head:
        groups.append({"params": head, "lr": head_lr})
    opt = torch.optim.AdamW(groups, weight_decay=weight_decay)
    warmup = int(warmup_frac * total)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: warmup_cosine(s, warmup, total))
    rng = np.random.default_rng(seed)
    gen = torch.Generator().manual_seed(seed)
    vocab = lm.get_input_embeddings().weight.shape[0]
    lm.train(False)  # dropout off, as in the classification loop
    losses: list[float] = []
    t0 = time.perf_counter()
    step = 0
    while step < total:
        for idx in length_grouped_batches(lengths, batch_size, rng):
            if step >= total:
                break
            batch = rows.collate(idx)
            ids, attn = batch["input_ids"], batch["attention_mask"]
            if objective == "mlm":
                inputs, labels = mask_tokens(ids, attn, torch.isin(ids, special), tok.mask_token_id, vocab,
                                             mlm_probability, gen)
            else:
                inputs, labels = ids, torch.where(attn.bool(), ids, torch.full_like(ids, -100))
            with autocast_for(device):
                out = lm(input_ids=inputs.to(device), attention_mask=attn.to(device), labels=labels.to(device))
            loss = out.loss
            if not torch.isfinite(loss):
                raise NonFiniteLossError(f"generative finetuning loss became {float(loss)} at step {step}/{total}; "
                                         f"lower its learning rate (now {lr:g})")
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            losses.append(float(loss.detach()))
            step += 1
    base = getattr(lm, lm.base_model_prefix).cpu()
    result = GenerativeResult(objective, step, time.perf_counter() - t0, losses[0], float(np.mean(losses[-5:])))
    return base, tok, result
