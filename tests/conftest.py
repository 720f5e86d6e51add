"""Shared fixtures: tiny random models built from a config (no download) and a synthetic task; and the helpers
tests share (`tiny_spec`, `FitSpy`), imported as `from .conftest import tiny_spec, FitSpy`."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = (REPO / ".." / "shared" / "data").resolve()

POS = ["great", "wonderful", "superb", "delightful", "moving", "brilliant", "charming", "fine"]
NEG = ["awful", "boring", "dreadful", "dull", "clumsy", "tedious", "bland", "weak"]
FILLER = ["the", "movie", "plot", "actors", "story", "was", "quite", "really", "and", "film", "a", "it",
          "scenes", "music", "ending", "felt"]


# the splits of a tiny experiment: A 150, B 200, V 50, T 200 rows of the 700-row synthetic task
TINY_SPLITS = {"n_weak_train": 150, "n_transfer": 200, "n_val": 50, "n_test": 200}


def tiny_spec(task, weak, strong, mode="frozen", method="naive", seed=0, **train):
    """An ExperimentSpec of a tiny experiment (`TINY_SPLITS`) in `mode`, with settings that let the tiny random
    models learn when finetuned (frozen: the defaults); `train` overrides TrainSpec fields."""
    from w2sg.config import ExperimentSpec, SplitSpec, TrainSpec

    defaults = {"frozen": {}, "full": {"epochs": 8, "lr": 2e-3, "batch_size": 16},
                "lora": {"epochs": 4, "lr": 5e-3, "batch_size": 16}}[mode]
    return ExperimentSpec(task=str(task), weak=str(weak), strong=str(strong), method=method, seed=seed,
                          splits=SplitSpec(**TINY_SPLITS), train=TrainSpec(mode=mode, **{**defaults, **train}))


class FitSpy:
    """Wraps a Pipeline's `res.new_learner` to record what every learner is fitted on."""

    def __init__(self, pipe):
        import numpy as np

        self.calls = []  # (model, texts, targets) per fit
        self.losses = []  # the loss object of each fit
        self.learners = []  # the fitted learner of each fit (still usable for predictions)
        orig = pipe.res.new_learner

        def new_learner(name, spec, **student):
            learner = orig(name, spec, **student)
            fit = learner.fit

            def spy_fit(texts, targets, loss, seed, **kw):
                self.calls.append((name, list(texts), np.asarray(targets).copy()))
                self.losses.append(loss)
                self.learners.append(learner)
                return fit(texts, targets, loss, seed, **kw)

            learner.fit = spy_fit
            return learner

        pipe.res.new_learner = new_learner


def synthetic_rows(n: int, seed: int = 0) -> list[dict]:
    """Reviews whose label is carried by sentiment words, with 10% label noise and varied lengths."""
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        y = rng.random() < 0.5
        words = rng.choices(FILLER, k=rng.randint(3, 14))
        for _ in range(rng.randint(1, 2)):
            words.insert(rng.randrange(len(words) + 1), rng.choice(POS if y else NEG))
        label = int(y) if rng.random() > 0.1 else int(not y)
        rows.append({"id": f"r{i}", "review": " ".join(words) + f" #{i}", "label": label})
    return rows


def vocab_texts() -> list[str]:
    return [" ".join(POS + NEG + FILLER)] + [f"#{i}" for i in range(5000)]


def _tokenizer(out: Path, decoder: bool):
    from tokenizers import Tokenizer, models, pre_tokenizers, processors, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.WordLevel(unk_token="[UNK]"))
    tok.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    trainer = trainers.WordLevelTrainer(special_tokens=["[PAD]", "[UNK]", "[CLS]", "[SEP]", "</s>", "[MASK]"])
    tok.train_from_iterator(vocab_texts(), trainer)
    if decoder:  # decoders: no pad token (like SmolLM2/Qwen), an eos token, no special tokens around text
        fast = PreTrainedTokenizerFast(tokenizer_object=tok, unk_token="[UNK]", eos_token="</s>")
    else:
        tok.post_processor = processors.TemplateProcessing(
            single="[CLS] $A [SEP]", special_tokens=[("[CLS]", 2), ("[SEP]", 3)])
        fast = PreTrainedTokenizerFast(tokenizer_object=tok, unk_token="[UNK]", pad_token="[PAD]",
                                       cls_token="[CLS]", sep_token="[SEP]", mask_token="[MASK]")
    fast.save_pretrained(out)
    return fast


@pytest.fixture(scope="session")
def tiny_encoder(tmp_path_factory) -> Path:
    """A 2-layer BERT with random weights and a word-level tokenizer, saved as a local checkpoint."""
    import torch
    from transformers import BertConfig, BertModel

    out = tmp_path_factory.mktemp("tiny-bert")
    tok = _tokenizer(out, decoder=False)
    torch.manual_seed(0)
    cfg = BertConfig(vocab_size=len(tok), hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                     intermediate_size=64, max_position_embeddings=128, pad_token_id=tok.pad_token_id)
    BertModel(cfg).save_pretrained(out)
    return out


@pytest.fixture(scope="session")
def tiny_decoder(tmp_path_factory) -> Path:
    """A 2-layer Llama with random weights; its tokenizer has no pad token (eos is used)."""
    import torch
    from transformers import LlamaConfig, LlamaModel

    out = tmp_path_factory.mktemp("tiny-llama")
    tok = _tokenizer(out, decoder=True)
    torch.manual_seed(0)
    cfg = LlamaConfig(vocab_size=len(tok), hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                      num_attention_heads=2, num_key_value_heads=2, max_position_embeddings=128,
                      eos_token_id=tok.eos_token_id)
    LlamaModel(cfg).save_pretrained(out)
    return out


@pytest.fixture(scope="session")
def synthetic_task(tmp_path_factory) -> Path:
    """A YAML task over a jsonl pool and a csv test file (no Python needed to define it)."""
    d = tmp_path_factory.mktemp("synthetic-task")
    rows = synthetic_rows(700, seed=1)
    with open(d / "pool.jsonl", "w") as f:
        for r in rows[:500]:
            f.write(json.dumps(r) + "\n")
    with open(d / "test.csv", "w") as f:
        f.write("id,review,label\n")
        for r in rows[500:]:
            f.write(f"{r['id']},{r['review']},{r['label']}\n")
    (d / "task.yaml").write_text(
        "name: synthetic_reviews\n"
        "description: synthetic reviews whose label is carried by sentiment words\n"
        "files: {pool: pool.jsonl, test: test.csv}\n"
        "text: '{review}'\n"
        "label: label\n"
    )
    return d / "task.yaml"
