"""Shared fixtures: tiny random models built from a config (no download) and a synthetic task; and the helpers
tests share (`tiny_spec`, `FitSpy`, the synthetic report records, the comparison pairs), imported as
`from .conftest import tiny_spec, FitSpy`."""

from __future__ import annotations

import json
import random
from pathlib import Path

import numpy as np
import pytest

from w2sg.items import Comparison
from w2sg.metrics import pgr

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = (REPO / ".." / "shared" / "data").resolve()

POS = ["great", "wonderful", "superb", "delightful", "moving", "brilliant", "charming", "fine"]
NEG = ["awful", "boring", "dreadful", "dull", "clumsy", "tedious", "bland", "weak"]
FILLER = ["the", "movie", "plot", "actors", "story", "was", "quite", "really", "and", "film", "a", "it",
          "scenes", "music", "ending", "felt"]


# ---- tiny experiments: specs and a spy on the fits -------------------------------------------------------------------

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

# ---- the synthetic task and tiny random models (fixtures) ------------------------------------------------------------


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


# ---- a tiny causal LM with an LM head that can answer Yes / No (test_zero_shot, test_debate) ----------------------

def lm_words() -> list[str]:
    """The prompt templates' words, Yes and No: the vocabulary of `tiny_lm` beside `vocab_texts`."""
    from w2sg.prompts import TEMPLATES

    words = {w for t in TEMPLATES.values() for w in t.replace("{text}", " ").split()}
    return sorted(words | {"Yes", "No"})


def save_lm_tokenizer(out):
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.WordLevel(unk_token="[UNK]"))
    tok.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    trainer = trainers.WordLevelTrainer(special_tokens=["[PAD]", "[UNK]", "</s>"])
    tok.train_from_iterator([" ".join(lm_words())] + vocab_texts(), trainer)
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, unk_token="[UNK]", eos_token="</s>")
    fast.save_pretrained(out)
    return fast


def llama_config(tok):
    from transformers import LlamaConfig

    return LlamaConfig(vocab_size=len(tok), hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                       num_attention_heads=2, num_key_value_heads=2, max_position_embeddings=128,
                       eos_token_id=tok.eos_token_id, tie_word_embeddings=False)


@pytest.fixture(scope="session")
def tiny_lm(tmp_path_factory):
    """A 2-layer Llama *with its LM head* whose word-level vocabulary holds the prompts' words, Yes and No."""
    import torch
    from transformers import LlamaForCausalLM

    out = tmp_path_factory.mktemp("tiny-causal-lm")
    tok = save_lm_tokenizer(out)
    torch.manual_seed(0)
    model = LlamaForCausalLM(llama_config(tok))
    with torch.no_grad():  # a larger output scale than the init's, so that P(yes) varies visibly between texts
        model.lm_head.weight.mul_(40.0)
    model.save_pretrained(out)
    return out


# ---- report records (no model training): the grid of test_report_html ------------------------------------------------

# 2 tasks × weak {a, b} × strong {b, c} × methods {naive, confidence} × 3 seeds; b → b has (almost) no gap: in
# t1 one seed is undefined and the others unstable, in t2 every seed is undefined
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
WEAK_ACC = {"a": 0.70, "b": 0.80}
CEILING_ACC = {"b": 0.80, "c": 0.90}
METHOD_PGR = {"naive": 0.45, "confidence": 0.70}
SAME_MODEL_GAP = {"t1": (-0.005, 0.006, 0.004), "t2": (-0.004, 0.0, -0.002)}  # b → b gaps by seed


def budget_keys(budget: str) -> dict:
    """The budget keys of `pipeline.training_record` for a budget label."""
    if budget.startswith("steps="):
        kind, steps = "steps", int(budget[6:])
    elif budget.startswith("early_stop"):
        kind, steps = budget.split("(")[0], None
    else:
        kind, steps = "full", None
    return {"budget": budget, "budget_kind": kind, "budget_steps": steps, "oracle": kind == "early_stop_oracle"}


def make_record(task: str, weak: str, strong: str, method: str, seed: int, budget: str = "converged") -> dict:
    """A flat record with the keys of `metrics.evaluate` and `pipeline.training_record` that the report reads
    (accuracy class-balanced, so the majority baseline is 0.5; no per-question scoring)."""
    t_off = 0.0 if task == "t1" else 0.03
    w = WEAK_ACC[weak] + t_off + 0.01 * (seed - 1)
    if weak == strong:
        c = w + SAME_MODEL_GAP[task][seed]
    else:
        c = CEILING_ACC[strong] + t_off + 0.005 * (seed - 1)
    gap = c - w
    target = METHOD_PGR[method] + 0.05 * (seed - 1) + (0.1 if strong == "c" else 0.0)
    s = w + target * gap if gap > 0 else w + 0.002
    value = pgr(w, c, s)
    half = 0.02 / gap if gap > 0 else None
    unstable = value is None or gap - 0.025 <= 0
    r = {"task": task, "weak": weak, "strong": strong, "method": method, "seed": seed, "mode": "frozen",
         "status": "ok", "weak_acc": w, "ceiling_acc": c, "student_acc": s,
         "gap_acc": gap, "gap_acc_ci_low": gap - 0.025, "gap_acc_ci_high": gap + 0.025,
         "pgr_acc": value, "pgr_acc_ci_low": None if value is None else value - half,
         "pgr_acc_ci_high": None if value is None else value + half,
         "pgr_acc_reason": (f"ceiling accuracy {c:.3f} <= weak {w:.3f}: no gap to recover" if value is None else
                            f"gap {gap:.3f} within noise" if unstable else None),
         "unstable": unstable, "unstable_auroc": unstable,
         "pgr_auroc": None if value is None else 0.9 * value,
         "pgr_auroc_ci_low": None if value is None else 0.9 * value - half,
         "pgr_auroc_ci_high": None if value is None else 0.9 * value + half,
         "agree_transfer_weak_right": 0.96 - 0.01 * seed, "agree_transfer_weak_wrong": 0.75 - 0.4 * target,
         "agree_test_weak_right": 0.95, "agree_test_weak_wrong": 0.7 - 0.4 * target,
         "ceiling_agree_transfer_weak_right": 0.93 + 0.005 * seed,
         "ceiling_agree_transfer_weak_wrong": 0.22 + 0.02 * seed}
    for name, v in (("weak", w), ("ceiling", c), ("student", s)):
        r[f"{name}_acc_ci_low"], r[f"{name}_acc_ci_high"] = v - 0.02, v + 0.02
        r[f"{name}_auroc"] = min(1.0, v + 0.05)
        r[f"{name}_q_acc"] = r[f"{name}_q_acc_ci_low"] = r[f"{name}_q_acc_ci_high"] = None
        r[f"l2_{name}"], r[f"grad_norm_{name}"], r[f"steps_{name}"] = 1e-3, 1e-6, 40
    r |= {"majority_acc": 0.5, "test_balanced": True, "weak_below_majority": w < 0.5,
          "ceiling_below_majority": c < 0.5, "pgr_q_acc": None, "pgr_q_acc_ci_low": None, "pgr_q_acc_ci_high": None,
          "pgr_q_acc_reason": None, "unstable_q_acc": None, "solver": "lbfgs", "variant": None,
          "student_selected_step": None, **budget_keys(budget)}
    return r


def grid_records() -> list[dict]:
    return [make_record(t, w, s, m, seed) for t in ("t1", "t2") for w in ("a", "b") for s in ("b", "c")
            for m in ("naive", "confidence") for seed in range(3)]


def wide_records() -> list[dict]:
    """The grid as a sweep with split overrides: half the cells at a long variant, methods with long options, so
    that the tables are as wide as a real sweep's (a variant column, long method names)."""
    out = []
    for i, r in enumerate(grid_records()):
        variant = "splits.n_test=100,splits.n_transfer=400,splits.n_val=50,splits.n_weak_train=400" if i % 2 else ""
        method = r["method"] + ("(a_max=0.75,warmup=0.2,threshold_schedule=linear)" if r["method"] == "confidence"
                                else "")
        out.append(r | {"variant": variant, "method": method, "hash": f"h{i:04d}" * 8})
    return out


# ---- report records across training budgets: the grid of test_report_budget ------------------------------------------

BUDGETS = ("steps=16", "steps=256", "converged", "early_stop(auroc,steps=4096)",
           "early_stop_oracle(auroc,steps=4096)")
# PGR by budget: naive recovers more with more training; confidence only looks good when under-trained
TARGET = {"naive": (0.10, 0.30, 0.50, 0.45, 0.60), "confidence": (0.80, 0.50, 0.20, 0.30, 0.40)}
WILD = 5.0  # the unstable row's PGR


def budget_record(task: str, method: str, budget: str, seed: int) -> dict:
    r = make_record(task, "a", "c", method, seed, budget=budget)
    w, c = r["weak_acc"], r["ceiling_acc"]
    target = TARGET[method][BUDGETS.index(budget)] + 0.02 * (seed - 1)
    s = w + target * (c - w)
    r["student_auroc"] = r["weak_auroc"] + 0.9 * target * (r["ceiling_auroc"] - r["weak_auroc"])
    r |= {"student_acc": s, "student_acc_ci_low": s - 0.02, "student_acc_ci_high": s + 0.02,
          "pgr_acc": target, "pgr_acc_ci_low": target - 0.1, "pgr_acc_ci_high": target + 0.1,
          "pgr_auroc": 0.9 * target, "pgr_auroc_ci_low": 0.9 * target - 0.1, "pgr_auroc_ci_high": 0.9 * target + 0.1,
          "unstable": False, "unstable_auroc": False, "pgr_acc_reason": None}
    if (task, method, budget, seed) == ("t1", "naive", "steps=256", 2):
        r |= {"ceiling_acc": w + 0.01, "student_acc": w + 0.01 * WILD, "gap_acc": 0.01,
              "ceiling_auroc": r["weak_auroc"] + 0.01, "student_auroc": r["weak_auroc"] + 0.01 * WILD,
              "pgr_acc": WILD, "pgr_acc_ci_low": None, "pgr_acc_ci_high": None, "pgr_auroc": WILD,
              "pgr_auroc_ci_low": None, "pgr_auroc_ci_high": None,
              "unstable": True, "unstable_auroc": True, "pgr_acc_reason": "gap 0.010 within noise"}
    return r


def budget_grid() -> list[dict]:
    return [budget_record(t, m, b, seed) for t in ("t1", "t2") for m in TARGET for b in BUDGETS for seed in range(3)]


# ---- comparisons: pairs whose longer response is preferred (test_train_pairwise) -------------------------------------

WORDS = FILLER + POS + NEG


def length_pairs(n: int, seed: int, min_gap: int = 5) -> tuple[list[Comparison], np.ndarray]:
    """Comparisons of two random reviews whose preferred one (label 1: a > b) is the longer one (by at least
    `min_gap` words); random orientation, so both labels occur."""
    rng = random.Random(seed)
    items, labels = [], []
    for _ in range(n):
        la = rng.randint(2, 24)
        lb = rng.randint(2, 24)
        while abs(la - lb) < min_gap:
            lb = rng.randint(2, 24)
        a, b = (" ".join(rng.choices(WORDS, k=k)) for k in (la, lb))
        items.append(Comparison(" ".join(rng.choices(FILLER, k=3)), a, b))
        labels.append(float(la > lb))
    return items, np.array(labels)


def accuracy(p, y) -> float:
    return float(((np.asarray(p) > 0.5) == (np.asarray(y) > 0.5)).mean())


def swapped(items):
    return [c.swapped() for c in items]


# ---- a constructed reading task: who keeps what (test_debate) --------------------------------------------------------

NAMES = ["Alice", "Bruno", "Chen", "Dana", "Emil", "Farah", "Gita", "Hugo", "Ines", "Jonas", "Kofi", "Lena", "Mateo",
         "Nora", "Omar", "Priya", "Quinn", "Rosa", "Sven", "Tara"]
OBJECTS = [f"{c} {t}" for c in ("red", "blue", "green", "yellow", "black", "white", "purple", "orange")
           for t in ("key", "box", "lamp", "book", "coin", "ring", "map", "cup", "hat", "bell")]


def facts_records(n_passages: int, seed: int = 0, people: int = 6, questions: int = 2) -> list[dict]:
    """Passages that say who keeps which object (plus filler), with `questions` two-answer questions each ("What
    does X keep?": the object X keeps, and one another person keeps). Only a reader that ties the question's
    person to the answer in one sentence can tell the candidates apart: the answer is in the passage, and so is
    the wrong one. Records as a YAML multiple-choice task reads them (context, question, answers, correct)."""
    rng = random.Random(seed)
    out = []
    for p in range(n_passages):
        who, objs = rng.sample(NAMES, people), rng.sample(OBJECTS, people)
        verb = rng.choice(["keeps", "hides", "carries", "guards"])
        body = [f"{w} {verb} the {o}." for w, o in zip(who, objs, strict=True)]
        body += [f"The weather in town {rng.choice(['was mild', 'turned cold', 'stayed dry'])} that day."] * 2
        rng.shuffle(body)
        for q in range(questions):
            wrong = rng.choice([o for k, o in enumerate(objs) if k != q])
            answers = [objs[q], wrong] if rng.random() < 0.5 else [wrong, objs[q]]
            out.append({"id": f"p{p}_q{q}", "passage_id": f"p{p}", "context": " ".join(body),
                        "question": f"What does {who[q]} {verb[:-1]}?", "answers": answers,
                        "correct": answers.index(objs[q])})
    return out


def facts_task(folder: Path, n_passages: int = 60, seed: int = 0) -> Path:
    """The facts reading task as a YAML task in `folder` (group: the passage, question: the question id)."""
    with open(folder / "facts.jsonl", "w") as f:
        for r in facts_records(n_passages, seed):
            f.write(json.dumps(r) + "\n")
    (folder / "facts.yaml").write_text(
        "name: facts\nkind: multiple_choice\ndescription: constructed reading task (who keeps what)\n"
        "files: {pool: facts.jsonl}\ntext: \"{context}\\nQuestion: {question}\\nAnswer: {answer}\"\n"
        "answers: answers\ncorrect: correct\ngroup: passage_id\nquestion: id\ncontext: context\n")
    return folder / "facts.yaml"


class FixedFeatures:
    """A featurizer over a fixed table: text 'i' -> row i of `x` (tests of the frozen learner on given features)."""

    def __init__(self, x):
        import numpy as np

        self.x = np.asarray(x, dtype=np.float32)

    def __call__(self, texts):
        import torch

        return torch.from_numpy(self.x[[int(t) for t in texts]])


def index_texts(n: int) -> list[str]:
    """The texts '0' .. 'n-1' that `FixedFeatures` maps to its rows."""
    return [str(i) for i in range(n)]

