"""Zero-shot elicitation: P(yes) of a causal LM after the task prompt (train.zero_shot), the `zero_shot` supervisor
and the `zero_shot` method, on a tiny causal LM built here (no download)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from w2sg.config import ExperimentSpec
from w2sg.items import Comparison
from w2sg.metrics import accuracy, auroc
from w2sg.pipeline import Pipeline
from w2sg.pipeline import steps as protocol
from w2sg.prompts import TEMPLATES, template_for
from w2sg.supervisors import check_supervisor
from w2sg.train import zero_shot as zs

from .conftest import FitSpy, llama_config, tiny_spec

TEXTS = ["the movie was great", "dull", "the plot and the actors and the music and the ending felt really quite "
         "tedious and bland and the story was weak", "a film"]


def _reference(path, prompted: list[str], max_length: int = 64) -> np.ndarray:
    """P(yes) by a bare AutoModelForCausalLM: one left-padded batch (position ids from the mask), softmax over
    the two answer logits at the last position."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(path)
    model = AutoModelForCausalLM.from_pretrained(path, dtype=torch.float32).eval()
    ids = [tok(t)["input_ids"][-max_length:] for t in prompted]  # left truncation
    width = max(len(x) for x in ids)
    input_ids = torch.tensor([[tok.eos_token_id] * (width - len(x)) + x for x in ids])
    mask = torch.tensor([[0] * (width - len(x)) + [1] * len(x) for x in ids])
    position_ids = (mask.cumsum(-1) - 1).clamp_min(0)
    with torch.no_grad():
        logits = model(input_ids=input_ids, attention_mask=mask, position_ids=position_ids).logits[:, -1]
    yes, no = tok.convert_tokens_to_ids("Yes"), tok.convert_tokens_to_ids("No")
    return torch.softmax(logits[:, [yes, no]], -1)[:, 0].numpy()


def test_p_yes_is_the_softmax_of_the_two_answer_logits_at_the_last_real_token(tiny_lm):
    long = " ".join(["the movie"] * 60)  # longer than max_length: its beginning is cut, "Answer:" is kept
    texts = [*TEXTS, long]
    template = template_for("auto", "text")[1]
    p = zs.zero_shot_p(tiny_lm, texts, "auto", max_length=64, batch_size=8, device="cpu")
    ref = _reference(tiny_lm, [template.replace("{text}", t) for t in texts])
    assert p.dtype == np.float32 and p.shape == (len(texts),)
    np.testing.assert_allclose(p, ref, atol=1e-5)
    assert p.std() > 0.01  # the texts get different answers
    # one text alone (no padding at all) gives the same answer as inside the padded batch
    alone = zs.zero_shot_p(tiny_lm, texts[1:2], "auto", max_length=64, device="cpu")
    assert alone[0] == pytest.approx(p[1], abs=1e-6)
    # a named template and a literal one are read as train.prompt reads them
    named = zs.zero_shot_p(tiny_lm, texts, "sentiment", max_length=64, device="cpu")
    literal = zs.zero_shot_p(tiny_lm, texts, TEMPLATES["sentiment"], max_length=64, device="cpu")
    np.testing.assert_array_equal(named, literal)
    np.testing.assert_allclose(named, _reference(tiny_lm, [TEMPLATES["sentiment"].replace("{text}", t)
                                                           for t in texts]), atol=1e-5)


def test_a_comparison_is_the_difference_of_its_sides_log_odds_and_swapping_gives_one_minus_p(tiny_lm):
    comps = [Comparison("the story", "was great", "was dull"), Comparison("", "a film", "the movie was weak"),
             Comparison("the plot", "felt really quite tedious and bland", "felt fine")]
    p = zs.zero_shot_p(tiny_lm, comps, "auto", max_length=64, device="cpu")
    q = zs.zero_shot_p(tiny_lm, [c.swapped() for c in comps], "auto", max_length=64, device="cpu")
    np.testing.assert_array_equal(q, np.float32(1) - p)  # exactly
    template = template_for("auto", "comparison")[1]  # each side is a response
    side = _reference(tiny_lm, [template.replace("{text}", t) for c in comps for t in c.texts()]).astype(np.float64)
    lo = np.log(side) - np.log1p(-side)
    np.testing.assert_allclose(p, 1 / (1 + np.exp(-(lo[0::2] - lo[1::2]))), atol=1e-5)


def test_only_the_last_real_tokens_reach_the_output_projection(tiny_lm):
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(tiny_lm, dtype=torch.float32).eval()
    ids = torch.tensor([[5, 6, 7, 8], [9, 10, 2, 2], [11, 2, 2, 2]])
    mask = torch.tensor([[1, 1, 1, 1], [1, 1, 0, 0], [1, 0, 0, 0]])
    seen = []
    model.get_output_embeddings().register_forward_hook(lambda m, a, out: seen.append(tuple(out.shape)))
    with torch.no_grad():
        picked = zs.next_token_logits(model, ids, mask)
        full = model(input_ids=ids, attention_mask=mask).logits[torch.arange(3), torch.tensor([3, 1, 0])]
    assert seen[0] == (3, 1, model.config.vocab_size)  # not (3, 4, vocab)
    torch.testing.assert_close(picked, full, atol=1e-5, rtol=0)
    model.get_output_embeddings = lambda: None  # a model whose head the hook cannot see: read the full logits
    with torch.no_grad():
        torch.testing.assert_close(zs.next_token_logits(model, ids, mask), full, atol=1e-5, rtol=0)


def test_answer_tokens_prefer_the_spaced_single_token_and_name_the_model_otherwise():
    class Tok:
        unk_token_id = 0

        def __init__(self, vocab):
            self.vocab = vocab

        def __call__(self, text, add_special_tokens=False):
            return {"input_ids": self.vocab.get(text, [7, 8])}

    both = Tok({" Yes": [5], "Yes": [6], " No": [9], "No": [10]})
    assert zs.answer_tokens(both, "m") == ((5, 9), (" Yes", " No"))
    bare = Tok({" Yes": [3, 6], "Yes": [6], " No": [3, 10], "No": [10]})
    assert zs.answer_tokens(bare, "m") == ((6, 10), ("Yes", "No"))
    with pytest.raises(ValueError, match=r"model 'some/model': neither ' No' nor 'No' is a single token"):
        zs.answer_tokens(Tok({" Yes": [5], " No": [3, 10], "No": [0]}), "some/model")  # [UNK] is no answer


def test_models_that_cannot_answer_give_clear_errors(tiny_lm, tiny_encoder, tiny_decoder, tmp_path):
    with pytest.raises(ValueError, match=r"zero-shot elicitation needs a causal LM \(a decoder rung such as "
                                         r"smollm2-135m or qwen2\.5-coder-0\.5b\).*encoder"):
        zs.zero_shot_p(tiny_encoder, TEXTS, "auto", device="cpu")
    assert "needs a causal LM" in zs.decoder_problem(str(tiny_encoder))
    assert "needs a causal LM" in zs.decoder_problem("minilm") and "classic" in zs.decoder_problem("tfidf")
    assert zs.decoder_problem(str(tiny_lm)) is None and zs.decoder_problem("smollm2-135m") is None
    with pytest.raises(ValueError, match=f"model '{tiny_decoder}': neither ' Yes' nor 'Yes'"):
        zs.zero_shot_p(tiny_decoder, TEXTS, "auto", device="cpu")  # its vocabulary has no Yes
    from transformers import AutoTokenizer, LlamaModel

    headless = tmp_path / "headless"  # a decoder saved without its LM head: its answers would be random
    tok = AutoTokenizer.from_pretrained(tiny_lm)
    tok.save_pretrained(headless)
    LlamaModel(llama_config(tok)).save_pretrained(headless)
    with pytest.raises(ValueError, match="no LM head weights"):
        zs.zero_shot_p(headless, TEXTS, "auto", device="cpu")
    with pytest.raises(ValueError, match="asks no question"):
        zs.zero_shot_p(tiny_lm, TEXTS, "none", device="cpu")


def test_answers_are_cached_per_text_and_the_model_is_not_loaded_again(tiny_lm, tmp_path, monkeypatch):
    loads = []
    load = zs.load_causal_lm
    monkeypatch.setattr(zs, "load_causal_lm", lambda *a, **k: loads.append(a) or load(*a, **k))
    monkeypatch.setattr(zs, "_LOADED", type(zs._LOADED)())

    def scorer():
        return zs.ZeroShotLM(tiny_lm, identity="tiny", cache_root=tmp_path, max_length=64, device="cpu")

    first = scorer()
    p = first.predict(TEXTS)
    assert first.n_computed == len(TEXTS) and len(loads) == 1
    zs._LOADED.clear()
    again = scorer()
    np.testing.assert_array_equal(again.predict(TEXTS[::-1]), p[::-1])
    assert again.n_computed == 0 and len(loads) == 1  # all cached: no forward, no load
    more = again.predict([*TEXTS, "a new text"])
    assert again.n_computed == 1 and len(loads) == 2 and np.array_equal(more[:-1], p)
    other = zs.ZeroShotLM(tiny_lm, identity="tiny", cache_root=tmp_path, max_length=32, device="cpu")
    other.predict(TEXTS)
    assert other.n_computed == len(TEXTS)  # max_length is part of the key (as are the template and the model)


def _zero_shot_weak(spec, model) -> ExperimentSpec:
    return spec.model_copy(update={"weak": ExperimentSpec(weak={"kind": "zero_shot", "model": str(model)}).weak})


def test_zero_shot_supervisor_runs_end_to_end_without_labels(tmp_path, tiny_lm, tiny_encoder, synthetic_task):
    pipe = Pipeline(tmp_path / "runs")
    spy = FitSpy(pipe)
    spec = _zero_shot_weak(tiny_spec(synthetic_task, tiny_lm, tiny_lm), tiny_lm)
    rec = pipe.run(spec)
    assert [c[0] for c in spy.calls] == [str(tiny_lm)] * 2  # no weak model is trained: ceiling and student only
    assert rec["supervisor_kind"] == "zero_shot" and rec["weak"].startswith("zero_shot(")
    splits = pipe.splits(spec)
    weak = pipe.weak_step(spec)
    # the record scores the zero-shot answers on T as the weak model (the PGR floor)
    labels = np.array([r.label for r in splits.test])
    assert rec["weak_acc"] == pytest.approx(accuracy(weak["test"], labels, balanced=True), abs=1e-12)
    assert rec["weak_auroc"] == pytest.approx(auroc(weak["test"], labels), abs=1e-12)
    for role, rows in (("transfer", splits.transfer), ("val", splits.val), ("test", splits.test)):
        expect = zs.zero_shot_p(tiny_lm, [r.item for r in rows], "auto", max_length=spec.train.max_length,
                                batch_size=spec.train.eval_batch_size, device="cpu", task=spec.task)
        np.testing.assert_allclose(weak[role], expect, atol=1e-6)
    assert np.allclose(spy.calls[-1][2], weak["transfer"], atol=1e-6)  # the student trains on its answers
    # it never reads ground truth: flipped labels give the same supervision
    ctx = protocol.supervision_context(spec, pipe.res)
    flip = {name: [dataclasses.replace(r, label=1 - r.label) for r in rows] for name, rows in splits.items()}
    out = zs_supervise(dataclasses.replace(ctx, splits=dataclasses.replace(splits, **flip)), spec)
    for role in ("transfer", "val", "test"):
        np.testing.assert_array_equal(out.p[role], weak[role])
    assert out.meta["prompt"] == "statement" and out.meta["answer_tokens"] == [" Yes", " No"]
    assert 0 < out.meta["answer_mass"]["test"] <= 1 and out.meta["n_truncated"] == 0
    # an encoder as the zero-shot model fails before any work, with the reason
    with pytest.raises(ValueError, match="needs a causal LM"):
        pipe.run(_zero_shot_weak(spec, tiny_encoder))
    no_question = ExperimentSpec(weak={"kind": "zero_shot", "model": str(tiny_lm), "prompt": "none"}).weak
    with pytest.raises(ValueError, match="asks no question"):
        check_supervisor(spec.model_copy(update={"weak": no_question}))


def zs_supervise(ctx, spec):
    sup, cfg = check_supervisor(spec)
    return sup.supervise(cfg, ctx)


@pytest.mark.parametrize("mode", ["frozen", "full"])
def test_zero_shot_method_is_the_strong_models_own_answers(tmp_path, tiny_lm, synthetic_task, mode, monkeypatch):
    computed = []
    compute = zs.ZeroShotLM._compute
    monkeypatch.setattr(zs.ZeroShotLM, "_compute", lambda self, texts, t: computed.append(len(texts))
                        or compute(self, texts, t))
    pipe = Pipeline(tmp_path / "runs")
    spy = FitSpy(pipe)
    extra = {"epochs": 1} if mode == "full" else {}
    base = tiny_spec(synthetic_task, tiny_lm, tiny_lm, mode=mode, method="zero_shot", **extra)
    spec = base.model_copy(update={"weak": ExperimentSpec(weak={"kind": "synthetic", "error_rate": 0.2}).weak})
    rec = pipe.run(spec)
    assert [c[0] for c in spy.calls] == [str(tiny_lm)]  # the ceiling only: the student is never trained
    splits = pipe.splits(spec)
    stud, meta = pipe.cache.load("student", protocol.student_key(spec, pipe.res))
    for role, rows in (("test", splits.test), ("transfer", splits.transfer)):
        expect = zs.zero_shot_p(tiny_lm, [r.item for r in rows], "auto", max_length=spec.train.max_length,
                                batch_size=spec.train.eval_batch_size, device="cpu", task=spec.task)
        np.testing.assert_allclose(stud[role], expect, atol=1e-6)
    assert meta["zero_shot"] is True and meta["prompt"] == "statement" and 0 < meta["answer_mass"] <= 1
    assert rec["method"] == "zero_shot"
    labels = np.array([r.label for r in splits.test])  # the record scores those answers as the student
    assert rec["student_acc"] == pytest.approx(accuracy(stud["test"], labels, balanced=True), abs=1e-12)
    assert rec["student_auroc"] == pytest.approx(auroc(stud["test"], labels), abs=1e-12)
    # another supervisor, same strong model: the student step is new, its answers come from the per-text cache
    n = len(computed)
    other = spec.model_copy(update={"weak": ExperimentSpec(weak={"kind": "synthetic", "error_rate": 0.3}).weak})
    stud2 = Pipeline(tmp_path / "runs").run(other)
    assert len(computed) == n and stud2["student_acc"] == rec["student_acc"]


def test_zero_shot_method_checks_its_strong_model_and_chain(tmp_path, tiny_encoder, tiny_lm, synthetic_task):
    from w2sg.methods import check_method

    spec = tiny_spec(synthetic_task, tiny_encoder, tiny_encoder, method="zero_shot")
    with pytest.raises(ValueError, match="method 'zero_shot': .*needs a causal LM"):
        check_method(spec)
    chained = tiny_spec(synthetic_task, tiny_lm, tiny_lm, method="generative_finetune+zero_shot")
    with pytest.raises(ValueError, match="use method zero_shot alone"):
        check_method(chained)
    with pytest.raises(ValueError, match="asks no question"):
        check_method(spec.model_copy(update={"method": ExperimentSpec(
            method={"name": "zero_shot", "options": {"prompt": "none"}}).method}))


def test_zero_shot_supervisors_model_identity_enters_the_experiment_key():
    """A zero-shot weak LM is read without frozen features, yet its content identity keys the experiment: new
    weights under the same alias give a new row, not a stale one."""
    from types import SimpleNamespace

    from w2sg.config import ExperimentSpec
    from w2sg.pipeline.steps import experiment_key

    spec = ExperimentSpec(task="sst2", weak={"kind": "zero_shot", "model": "smollm2-135m"}, strong="mpnet")
    task = SimpleNamespace(fingerprint="f")

    def res(version):
        return SimpleNamespace(identity=lambda m: f"{m}@{version if m == 'smollm2-135m' else 0}",
                               task=lambda name: task)

    assert experiment_key(spec, res(1)) != experiment_key(spec, res(2))
    plain = ExperimentSpec(task="sst2", weak="minilm", strong="mpnet")
    assert experiment_key(plain, res(1)) == experiment_key(plain, res(2))
