"""Frozen features of a `steps` task: a causal decoder reads every step of a solution from one forward pass over
the solution (`w2sg.train.step_features`), and the features equal those of one pass per step; prompts, encoders
and steps whose tokens do not line up with their solution's go through the per-text pass."""

from __future__ import annotations

import random

import numpy as np
import pytest
import torch

from w2sg.config import TrainSpec
from w2sg.items import Steps
from w2sg.pipeline.resources import Resources
from w2sg.tasks.schema import Example, TaskData
from w2sg.train import featurizer as featurizer_module
from w2sg.train.featurizer import Backbone, Featurizer
from w2sg.train.step_features import StepIndex, align

from .conftest import FILLER, NEG, POS, _tokenizer, llama_config, save_lm_tokenizer

CPU = torch.device("cpu")
WORDS = POS + NEG + FILLER


def solutions(n: int = 7, seed: int = 0) -> list[Steps]:
    """Solutions of 1 to 6 steps, each with its own last step; solutions i and i + 3 share their problem and, when
    longer than one step, their first step: many prefixes, some shared, one distinct full text per solution."""
    rng = random.Random(seed)
    out = []
    for i in range(n):
        same = random.Random(10 * seed + i % 3)
        problem = f"{' '.join(same.choices(WORDS, k=3))} #{i % 3}"
        extra = i % 6
        first = f"{same.choice(WORDS)} #{100 + i % 3}" if extra else f"fine #{150 + i}"
        steps = [first] + [f"{' '.join(rng.choices(WORDS, k=rng.randint(1, 5)))} #{200 + 10 * i + k}"
                           for k in range(extra)]
        out.append(Steps(problem, tuple(steps), len(steps), f"s{i}"))
    return out


def prefixes_of(sols: list[Steps]) -> list[str]:
    return sorted({p for s in sols for p in s.prefixes()})


def _featurizer(path, cache, arch="auto", **kw) -> Featurizer:
    kw.setdefault("max_length", 64)
    kw.setdefault("batch_size", 3)
    return Featurizer(Backbone(str(path), arch), f"tiny:{path.name}", cache, device=CPU, **kw)


def count_rows(f: Featurizer) -> list[int]:
    """A list the backbone's forward appends its batch size to."""
    rows: list[int] = []
    f.backbone.get()[0].register_forward_pre_hook(
        lambda m, args, kwargs: rows.append(kwargs["input_ids"].shape[0]), with_kwargs=True)
    return rows


def _save_decoder(out, tok) -> str:
    from transformers import LlamaModel

    torch.manual_seed(0)
    LlamaModel(llama_config(tok)).save_pretrained(out)
    return out


@pytest.fixture(scope="module")
def decoder(tmp_path_factory):
    """A 2-layer Llama, word-level tokenizer without special tokens (as SmolLM2 and Qwen: nothing added)."""
    out = tmp_path_factory.mktemp("step-llama")
    return _save_decoder(out, save_lm_tokenizer(out))


def _wordlevel_decoder(out, single: str, specials: list[tuple[str, int]]):
    """A decoder whose tokenizer wraps each text as `single` (e.g. '<s> $A': a BOS; '$A </s>': an EOS)."""
    from tokenizers import processors

    tok = save_lm_tokenizer(out)
    inner = tok.backend_tokenizer
    inner.post_processor = processors.TemplateProcessing(single=single, special_tokens=specials)
    from transformers import PreTrainedTokenizerFast

    fast = PreTrainedTokenizerFast(tokenizer_object=inner, unk_token="[UNK]", eos_token="</s>", bos_token="[PAD]")
    fast.save_pretrained(out)
    return _save_decoder(out, fast)


def _same(a: torch.Tensor, b: torch.Tensor) -> bool:
    return a.shape == b.shape and torch.allclose(a, b, atol=1e-4, rtol=1e-4)


# ---- one pass per solution equals one pass per step --------------------------------------------------------------
@pytest.mark.parametrize("layer", ["last", "middle"])
def test_one_pass_per_solution_equals_one_pass_per_step(decoder, tmp_path, layer):
    sols = solutions()
    texts = prefixes_of(sols)
    random.Random(1).shuffle(texts)
    stepped = _featurizer(decoder, tmp_path / "a", layer=layer)
    assert stepped.know_steps(sols) > 0
    plain = _featurizer(decoder, tmp_path / "b", layer=layer)
    rows_stepped, rows_plain = count_rows(stepped), count_rows(plain)
    got, want = stepped(texts), plain(texts)
    assert _same(got, want), (got - want).abs().max()
    assert stepped.key == plain.key  # steps are not part of what is cached, nor of its key
    # a pass per solution (each has its own last step) and the causality check (a solution and a step of it,
    # once per featurizer), against a pass per step
    assert len(texts) > 2 * len(sols) + 2
    assert stepped.n_step_passes == len(sols) and stepped.n_step_reads == len(texts)
    assert sum(rows_stepped) == len(sols) + 2
    assert sum(rows_plain) == len(texts) and plain.n_step_passes == 0
    assert stepped.n_computed == plain.n_computed == len(texts)
    # cached: a fresh featurizer on the same cache runs nothing
    again = _featurizer(decoder, tmp_path / "a", layer=layer)
    again.know_steps(sols)
    rows_again = count_rows(again)
    assert _same(again(texts), got) and sum(rows_again) == 0 and again.n_computed == 0


def test_a_row_asks_for_its_own_step_and_other_texts_mix_in(decoder, tmp_path):
    """Rows ask for one prefix each (not every prefix); unregistered texts in the same call are embedded alone."""
    sols = solutions(5, seed=3)
    texts = [s.prefix(max(1, s.n_steps - 1)) for s in sols] + ["great movie", "the plot was dull #9"]
    f = _featurizer(decoder, tmp_path / "a")
    f.know_steps(sols)
    ref = _featurizer(decoder, tmp_path / "b")
    assert _same(f(texts), ref(texts))
    asked = set(texts[: len(sols)])
    assert f.n_step_reads == len(asked) and 0 < f.n_step_passes <= len(asked)


def test_shared_and_nested_solutions_need_one_pass(decoder, tmp_path):
    """A solution that begins another (same problem, the same first steps) is read from the longer one's pass."""
    short = Steps("the movie #1", ("great #2", "dull #3"), 2, "a")
    long = Steps("the movie #1", ("great #2", "dull #3", "fine and quite moving #4"), 3, "b")
    f = _featurizer(decoder, tmp_path / "a")
    assert f.know_steps([short, long]) == 5 and f.know_steps([short, long]) == 0
    assert f.know_steps([short], source="task") == 0 and f.know_steps([Steps("x #5", ("y",), 1, "c")], "task") == 0
    texts = prefixes_of([short, long])
    rows = count_rows(f)
    assert _same(f(texts), _featurizer(decoder, tmp_path / "b")(texts))
    assert f.n_step_passes == 1 and f.n_step_reads == 3 and sum(rows) == 1 + 2  # + the check


def test_plan_prefers_a_solution_already_chosen():
    a = Steps("p", ("s1", "a2"), 2, "a")
    b = Steps("p", ("s1", "b2", "b3"), 3, "b")
    index = StepIndex()
    index.add([a, b])
    assert "p\ns1" in index and "p" not in index and len(index) == 4
    plan = index.plan(["p\ns1", "p\ns1\nb2", "unregistered"])
    assert plan == {b.full: ["p\ns1\nb2", "p\ns1"]}
    assert index.plan(["p\ns1"]) == {b.full: ["p\ns1"]}  # alone: its longest solution


# ---- the per-text pass where a prefix's feature cannot be read from its solution -------------------------------------
@pytest.mark.parametrize("prompt", ["auto", "Is this step right? {text} Answer:"])
def test_a_prompt_template_reads_each_step_alone(decoder, tmp_path, prompt):
    sols = solutions(4)
    texts = prefixes_of(sols)
    f = _featurizer(decoder, tmp_path / "a", prompt=prompt)
    f.know_steps(sols)
    rows = count_rows(f)
    assert _same(f(texts), _featurizer(decoder, tmp_path / "b", prompt=prompt)(texts))
    assert f.n_step_passes == 0 and sum(rows) == len(texts)


def test_an_encoder_reads_each_step_alone(tiny_encoder, tmp_path):
    sols = solutions(4)
    texts = prefixes_of(sols)
    f = _featurizer(tiny_encoder, tmp_path / "a")
    f.know_steps(sols)
    assert _same(f(texts), _featurizer(tiny_encoder, tmp_path / "b")(texts))
    assert f.n_step_passes == 0


def test_comparisons_are_not_steps(decoder, tmp_path):
    sols = solutions(3)
    texts = prefixes_of(sols)
    f = _featurizer(decoder, tmp_path / "a")
    f.know_steps(sols)
    assert _same(f(texts, kind="comparison"), _featurizer(decoder, tmp_path / "b")(texts, kind="comparison"))
    assert f.n_step_passes == 0


def test_a_bos_token_lines_up(tmp_path):
    """A tokenizer that puts a BOS before every text: a prefix's ids still begin its solution's."""
    path = _wordlevel_decoder(tmp_path / "m", "[PAD] $A", [("[PAD]", 0)])
    sols = solutions(5)
    texts = prefixes_of(sols)
    f = _featurizer(path, tmp_path / "a")
    assert f.backbone.tokenizer()("great")["input_ids"][0] == 0
    f.know_steps(sols)
    assert _same(f(texts), _featurizer(path, tmp_path / "b")(texts))
    assert f.n_step_passes == len(sols) and f.n_step_reads == len(texts)


def test_an_eos_token_at_the_end_falls_back(tmp_path):
    """A tokenizer that appends EOS to every text: a prefix alone ends with EOS, its solution's pass does not
    have it there, so every step but the last is read alone (and right)."""
    path = _wordlevel_decoder(tmp_path / "m", "$A </s>", [("</s>", 2)])
    sols = solutions(5)
    texts = prefixes_of(sols)
    f = _featurizer(path, tmp_path / "a")
    f.know_steps(sols)
    rows = count_rows(f)
    assert _same(f(texts), _featurizer(path, tmp_path / "b")(texts))
    assert f.n_step_reads == len(sols)  # the full texts only: read where they end
    assert sum(rows) == len(texts)  # a pass per solution + one per other step


def test_a_solution_beyond_max_length_falls_back(decoder, tmp_path):
    """Left truncation of a long solution shifts its positions: its steps are read alone (truncated alike)."""
    long = Steps("the movie was quite #1", tuple(f"{w} and {w} #{10 + i}" for i, w in enumerate(WORDS[:12])),
                 12, "long")
    short = solutions(3)
    texts = prefixes_of([long, *short])
    f = _featurizer(decoder, tmp_path / "a", max_length=20)
    f.know_steps([long, *short])
    reads = align(f.backbone.tokenizer(), f.steps.plan(texts), 20)
    assert long.full not in reads.fulls and long.prefix(1) in reads.fallback
    assert _same(f(texts), _featurizer(decoder, tmp_path / "b", max_length=20)(texts))
    assert f.n_step_passes == len(short)


def test_a_merge_across_the_step_boundary_falls_back(tmp_path):
    """A BPE with no pre-tokenizer merges a step's end with the next line: that prefix is read alone."""
    from tokenizers import Tokenizer, models, trainers
    from transformers import PreTrainedTokenizerFast

    bpe = Tokenizer(models.BPE(unk_token="[UNK]"))
    bpe.train_from_iterator(["x = 1 + 2\n3 * 4\n5"] * 50 + ["great movie\nthe plot\ndull"] * 50,
                            trainers.BpeTrainer(special_tokens=["[PAD]", "[UNK]", "</s>"], vocab_size=200))
    tok = PreTrainedTokenizerFast(tokenizer_object=bpe, unk_token="[UNK]", eos_token="</s>")
    tok.save_pretrained(tmp_path / "m")
    path = _save_decoder(tmp_path / "m", tok)
    merged = Steps("x = 1 + 2", ("3 * 4", "5", "great movie", "the plot", "dull"), 5, "merged")
    names = tok.convert_ids_to_tokens
    assert names(tok(merged.full)["input_ids"]) == ["x = 1 + 2\n3 * 4\n5", "\n", "great movie\nthe plot\ndull"]
    assert names(tok(merged.prefix(1))["input_ids"]) == ["x = 1 + 2", "\n3 *", " 4"]  # as many ids, not the same
    texts = merged.prefixes()
    f = _featurizer(path, tmp_path / "a")
    f.know_steps([merged])
    reads = align(tok, f.steps.plan(texts), 64)
    assert sorted(reads.fallback) == sorted([merged.prefix(1), merged.prefix(3), merged.prefix(4)])
    assert sorted(p for r in reads.reads for p, _ in r) == sorted([merged.prefix(2), merged.full])
    assert _same(f(texts), _featurizer(path, tmp_path / "b")(texts))
    assert f.n_step_reads == 2 and f.n_step_passes == 1


def test_a_bidirectional_model_read_at_the_last_token_is_caught(tmp_path, monkeypatch):
    """A model that reads later steps (BERT forced to 'decoder' pooling, its type not known as an encoder's): the
    one check against the per-text pass fails, a warning says so, and every step is read alone from then on."""
    from transformers import BertConfig, BertModel

    out = tmp_path / "bert"
    tok = _tokenizer(out, decoder=True)  # no [CLS]/[SEP]: every prefix lines up
    torch.manual_seed(0)
    BertModel(BertConfig(vocab_size=len(tok), hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                         intermediate_size=64, max_position_embeddings=128)).save_pretrained(out)
    monkeypatch.setattr(featurizer_module, "ENCODER_MODEL_TYPES", frozenset())
    sols = solutions(4)
    texts = prefixes_of(sols)
    f = _featurizer(out, tmp_path / "a", arch="decoder")
    f.know_steps(sols)
    with pytest.warns(UserWarning, match="not a causal decoder"):
        got = f(texts)
    assert _same(got, _featurizer(out, tmp_path / "b", arch="decoder")(texts))
    assert f.n_step_passes == 0 and f._steps_checked is False


# ---- the pipeline registers a steps task's solutions; other tasks register nothing ----------------------------------
def _task(name: str, sols: list[Steps] | None, texts: list[str] | None = None) -> TaskData:
    if sols is None:
        rows = [Example(f"r{i}", f"g{i}", t, i % 2) for i, t in enumerate(texts or [])]
    else:
        rows = [Example(f"{s.solution}-{k}", s.solution, Steps(s.problem, s.steps, k, s.solution).text, k % 2,
                        steps=Steps(s.problem, s.steps, k, s.solution)) for s in sols for k in range(1, s.n_steps + 1)]
    return TaskData(name, rows, fingerprint=f"fp-{name}")


def test_resources_register_steps_with_every_featurizer(decoder, tmp_path):
    res = Resources(tmp_path)
    res.tasks["plain"] = _task("plain", None, ["great movie", "dull plot"])
    spec = TrainSpec(device="cpu", eval_batch_size=4)
    f = res.featurizer(str(decoder), spec)
    assert len(f.steps) == 0 and not f._steps_sources  # no steps task: nothing registered
    sols = solutions(4)
    res.tasks["chains"] = _task("chains", sols)
    f = res.featurizer(str(decoder), spec)
    assert len(f.steps) == len(prefixes_of(sols)) and len(f._steps_sources) == 1
    assert res.featurizer(str(decoder), spec) is f and len(f._steps_sources) == 1  # registered once
    rows = res.tasks["chains"].pool
    feats = res.item_features(str(decoder), spec, [r.item for r in rows])
    assert f.n_step_passes == len(sols) and feats.shape[0] == len(rows)
    learner = res.learner_on(Backbone(str(decoder)), "adapted", spec)
    assert len(learner.featurizer.steps) == len(prefixes_of(sols))


def test_no_steps_no_change(decoder, tmp_path):
    """Without steps the featurizer is the one it was: same key, same features, one pass per text."""
    texts = ["great movie", "the plot was dull #3", "it felt really charming #7"]
    f = _featurizer(decoder, tmp_path / "a")
    rows = count_rows(f)
    x = f(texts)
    assert f.n_step_passes == 0 and sum(rows) == len(texts) and x.shape == (3, 32)
    assert np.isfinite(x.numpy()).all()
