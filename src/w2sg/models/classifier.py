"""A classifier is a backbone plus a linear head; pooling follows the architecture and uses the attention mask.

Every model here returns two-class logits per row, so every loss applies unchanged. A reward model scores
comparisons: its rows are pairs (a, b) and its logits [r(b), r(a)], so P(a > b) = sigma(r(a) - r(b)).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Literal

import torch
from torch import nn

Pooling = Literal["mean", "last"]

# Bidirectional encoders pool by masked mean; everything else (causal decoders) pools the last real token.
ENCODER_MODEL_TYPES = {
    "bert", "mpnet", "roberta", "xlm-roberta", "distilbert", "deberta", "deberta-v2", "electra", "albert",
    "camembert", "modernbert", "ernie", "nomic_bert", "xlm", "funnel", "longformer", "big_bird", "mobilebert",
}


def pooling_for(model_type: str, arch: str = "auto") -> Pooling:
    """'mean' for encoders, 'last' for decoders; `arch` ('encoder'|'decoder') overrides the model_type guess."""
    if arch == "encoder":
        return "mean"
    if arch == "decoder":
        return "last"
    return "mean" if model_type in ENCODER_MODEL_TYPES else "last"


def masked_mean(hidden: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean of hidden states over positions where mask == 1."""
    m = mask.unsqueeze(-1).to(hidden.dtype)
    return (hidden * m).sum(1) / m.sum(1).clamp_min(1.0)


def last_token(hidden: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Hidden state at the last position where mask == 1 (works for left or right padding).

    Never "count the non-zero ids": id 0 is a real token in many vocabularies (GPT-2's "!").
    """
    positions = torch.arange(mask.shape[1], device=mask.device).expand_as(mask)
    idx = torch.where(mask.bool(), positions, torch.full_like(positions, -1)).max(dim=1).values.clamp_min(0)
    return hidden[torch.arange(hidden.shape[0], device=hidden.device), idx]


def pool(hidden: torch.Tensor, mask: torch.Tensor, pooling: Pooling) -> torch.Tensor:
    return masked_mean(hidden, mask) if pooling == "mean" else last_token(hidden, mask)


def layer_last_token(backbone: nn.Module, input_ids: torch.Tensor, attention_mask: torch.Tensor,
                     layer: int | None = None) -> torch.Tensor:
    """A decoder's hidden state at the last real token, from `hidden_states[layer]` (None: the last hidden
    state, as `TextClassifier.features` reads it, without keeping the other layers)."""
    if layer is None:
        out = backbone(input_ids=input_ids, attention_mask=attention_mask)
        return last_token(out.last_hidden_state, attention_mask)
    out = backbone(input_ids=input_ids, attention_mask=attention_mask, output_hidden_states=True)
    return last_token(out.hidden_states[layer], attention_mask)


def num_layers_of(config) -> int | None:
    """Number of hidden layers of an HF config (object or config.json dict); None if it does not say."""
    get = config.get if isinstance(config, dict) else lambda k, d=None: getattr(config, k, d)
    for key in ("num_hidden_layers", "n_layer", "num_layers", "n_layers"):
        value = get(key)
        if isinstance(value, int) and not isinstance(value, bool) and value > 0:
            return value
    text = get("text_config")
    return num_layers_of(text) if text is not None else None


class TextClassifier(nn.Module):
    """Backbone (an HF `AutoModel`) + pooling + a zero-initialised linear head with two logits."""

    def __init__(self, backbone: nn.Module, hidden_size: int, pooling: Pooling):
        super().__init__()
        self.backbone = backbone
        self.pooling = pooling
        self.head = nn.Linear(hidden_size, 2)
        nn.init.zeros_(self.head.weight)
        nn.init.zeros_(self.head.bias)

    def features(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        out = self.backbone(input_ids=input_ids, attention_mask=attention_mask)
        return pool(out.last_hidden_state, attention_mask, self.pooling)

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        feats = self.features(input_ids, attention_mask)
        return self.head(feats.to(self.head.weight.dtype))


class RewardClassifier(nn.Module):
    """Backbone + pooling + a zero-initialised scalar reward head without bias (it would cancel in r(a) - r(b)).

    `forward` takes the collated texts of k comparisons, all k `a` sides first, then the k `b` sides (see
    `train.batching.PairedTexts`), scores all 2k in one pass and returns the two-class logits [r(b), r(a)].
    """

    def __init__(self, backbone: nn.Module, hidden_size: int, pooling: Pooling):
        super().__init__()
        self.backbone = backbone
        self.pooling = pooling
        self.head = nn.Linear(hidden_size, 1, bias=False)
        nn.init.zeros_(self.head.weight)

    def reward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        """r(x) of each text, shape (rows,)."""
        out = self.backbone(input_ids=input_ids, attention_mask=attention_mask)
        feats = pool(out.last_hidden_state, attention_mask, self.pooling)
        return self.head(feats.to(self.head.weight.dtype)).squeeze(-1)

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        r = self.reward(input_ids, attention_mask)
        k = r.shape[0] // 2
        return torch.stack([r[k:], r[:k]], dim=-1)


class FeatureClassifier(nn.Module):
    """Linear head on frozen, cached features, standardised with statistics of its own training rows.

    `bias=False` (the reward model on feature differences phi(a) - phi(b), with mean 0: scaled, not centred)
    makes the logits odd in the features, so negated features give exactly the complementary probability.
    """

    def __init__(self, dim: int, mean: torch.Tensor | None = None, std: torch.Tensor | None = None,
                 bias: bool = True):
        super().__init__()
        self.register_buffer("mean", mean if mean is not None else torch.zeros(dim))
        self.register_buffer("std", std if std is not None else torch.ones(dim))
        self.head = nn.Linear(dim, 2, bias=bias)
        nn.init.zeros_(self.head.weight)
        if bias:
            nn.init.zeros_(self.head.bias)

    @classmethod
    def fit_standardizer(cls, train_features: torch.Tensor) -> FeatureClassifier:
        mean = train_features.mean(0)
        std = train_features.std(0).clamp_min(1e-6)
        return cls(train_features.shape[1], mean, std)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return self.head((features - self.mean) / self.std)


# Position ids of these start after the padding index (pad_token_id + 1), so they hold fewer tokens than
# max_position_embeddings (e.g. RoBERTa and MPNet: 514 embeddings, 512 tokens).
_OFFSET_POSITIONS = {"roberta", "xlm-roberta", "mpnet", "camembert", "longformer", "data2vec-text", "ibert",
                     "xmod", "roberta-prelayernorm"}
_POSITION_KEYS = ("max_position_embeddings", "n_positions", "max_seq_len")
_RELATIVE_POSITIONS = {"t5", "mt5", "umt5", "longt5"}  # n_positions is only a hint there


def position_limit(config: dict) -> int | None:
    """The most tokens a checkpoint's position embeddings hold, from its config.json (as a dict); None when the
    config does not say (e.g. relative positions)."""
    if config.get("model_type") in _RELATIVE_POSITIONS:
        return None
    for cfg in (config, config.get("text_config") or {}):
        for key in _POSITION_KEYS:
            value = cfg.get(key)
            if isinstance(value, int) and not isinstance(value, bool) and value > 0:
                model_type = cfg.get("model_type") or config.get("model_type")
                if key == "max_position_embeddings" and model_type in _OFFSET_POSITIONS:
                    pad = cfg.get("pad_token_id")
                    return value - ((pad if isinstance(pad, int) else 1) + 1)
                return value
    return None


def checkpoint_position_limit(path: str | Path) -> int | None:
    """position_limit of a local checkpoint directory's config.json; None if it has none (e.g. a Hub id)."""
    try:
        cfg = json.loads((Path(path) / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return position_limit(cfg) if isinstance(cfg, dict) else None


def load_backbone(path: str, arch: str = "auto", dtype: torch.dtype = torch.float32):
    """Load (backbone, tokenizer, pooling) from a checkpoint dir or Hub id; decoders get a pad token."""
    from transformers import AutoModel, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(path)
    backbone = AutoModel.from_pretrained(path, dtype=dtype)
    if tokenizer.pad_token_id is None:
        tokenizer.pad_token = tokenizer.eos_token
    pooling = pooling_for(getattr(backbone.config, "model_type", ""), arch)
    return backbone, tokenizer, pooling


def hidden_size_of(backbone: nn.Module) -> int:
    cfg = backbone.config
    for attr in ("hidden_size", "d_model", "n_embd", "dim"):
        if getattr(cfg, attr, None):
            return int(getattr(cfg, attr))
    text_cfg = getattr(cfg, "text_config", None)
    if text_cfg is not None and getattr(text_cfg, "hidden_size", None):
        return int(text_cfg.hidden_size)
    raise ValueError(f"cannot find the hidden size in the config of {type(backbone).__name__}")


def apply_lora(backbone: nn.Module, r: int, alpha: int) -> nn.Module:
    """Wrap the backbone with LoRA adapters on all linear layers (peft); only adapters + head train."""
    from peft import LoraConfig, get_peft_model

    cfg = LoraConfig(r=r, lora_alpha=alpha, lora_dropout=0.0, target_modules="all-linear", bias="none")
    return get_peft_model(backbone, cfg)
