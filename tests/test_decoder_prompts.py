"""What a decoder reads: task prompts per item kind and the layer of its frozen features (train.prompt,
train.layer), checked on the tiny random models of conftest against a bare transformers forward pass."""

import numpy as np
import pytest
import torch

from w2sg.config import ExperimentSpec, SplitSpec, TrainSpec, content_hash
from w2sg.items import Comparison
from w2sg.pipeline import Pipeline
from w2sg.pipeline.resources import Resources
from w2sg.prompts import (
    AUTO,
    TASK_TEMPLATES,
    TEMPLATES,
    apply_template,
    check_prompt,
    resolve_layer,
    task_template,
    template_for,
)
from w2sg.sweep import SweepSpec, expand
from w2sg.train.featurizer import Backbone, Featurizer, item_features

CPU = torch.device("cpu")
TEXTS = ["great movie", "the plot was dull and the actors bland #3", "it felt really charming #7", "awful",
         "the film was quite moving and the music superb and the ending fine #12"]


def _featurizer(path, cache, **kw):
    return Featurizer(Backbone(str(path)), f"tiny:{path.name}", cache, max_length=64, batch_size=2, device=CPU, **kw)


# ---- templates --------------------------------------------------------------------------------------
def test_templates_per_kind_exact():
    assert template_for("none", "text") == ("none", None)
    assert template_for("auto", "text") == (
        "statement", "{text}\nQuestion: Is the text above true, correct or positive? Answer:")
    assert template_for("auto", "comparison") == (
        "response", "{text}\nQuestion: Is the last response above good: helpful, harmless and correct? Answer:")
    assert template_for("qa", "comparison") == ("qa", "{text}\nQuestion: Is the answer above correct? Answer:")
    assert template_for("Review: {text}\nGood?", "text") == ("custom", "Review: {text}\nGood?")
    # a task named in TASK_TEMPLATES selects its own template under "auto"
    assert template_for("auto", "text", task="sst2") == (
        "sentiment", "{text}\nQuestion: Is the sentiment of the text above positive? Answer:")
    assert template_for("auto", "text", task="not-a-builtin")[0] == "statement"
    assert set(AUTO.values()) | set(TASK_TEMPLATES.values()) <= set(TEMPLATES)
    assert all(t.startswith("{text}") and t.endswith(" Answer:") for t in TEMPLATES.values())


def test_auto_follows_a_derived_tasks_source(tmp_path):
    """A cipher of sst2 (derive: {from: sst2}, directly or through another YAML) reads sst2's template under auto,
    so represented and novel forms of a task are asked the same question."""
    (tmp_path / "a.yaml").write_text("name: a\nderive: {from: sst2}\ntransform: {cipher: {seed: 0}}\n")
    (tmp_path / "b.yaml").write_text("name: b\nderive: {from: a.yaml}\n")
    (tmp_path / "c.yaml").write_text("name: c\nkind: binary\n")
    assert task_template(str(tmp_path / "a.yaml")) == task_template(str(tmp_path / "b.yaml")) == "sentiment"
    assert task_template(str(tmp_path / "c.yaml")) is None and task_template("nope.yaml") is None
    spec = ExperimentSpec(task=str(tmp_path / "b.yaml"), weak="minilm", strong="smollm2-135m",
                          train={"prompt": "auto"})
    assert spec.train.prompt == "sentiment"
    assert template_for("auto", "text", task=str(tmp_path / "c.yaml"))[0] == "statement"


def test_apply_template_on_texts_and_comparison_sides():
    qa = "Question: What do plants absorb?\nAnswer: carbon dioxide"
    _, t = template_for("auto", "text")
    assert apply_template(t, [qa]) == [
        "Question: What do plants absorb?\nAnswer: carbon dioxide\n"
        "Question: Is the text above true, correct or positive? Answer:"]
    _, t = template_for("auto", "comparison")
    sides = Comparison("Human: hi\n\nAssistant:", "hello!", "go away").texts()
    assert apply_template(t, list(sides)) == [
        "Human: hi\n\nAssistant:\nhello!\nQuestion: Is the last response above good: helpful, harmless and "
        "correct? Answer:",
        "Human: hi\n\nAssistant:\ngo away\nQuestion: Is the last response above good: helpful, harmless and "
        "correct? Answer:"]
    assert apply_template(None, ["a {text} b"]) == ["a {text} b"]
    # only {text} is replaced: other braces (and braces inside the text) are kept as they are
    assert apply_template("{x} {text}! {text}", ["{y}"]) == ["{x} {y}! {y}"]


def test_prompt_and_layer_checks():
    with pytest.raises(ValueError, match="template containing"):
        check_prompt("bogus")
    assert [resolve_layer(x, 2) for x in ("last", "middle", -1, -3, 0, 2)] == [2, 1, 2, 0, 0, 2]
    assert resolve_layer("middle", 24) == 12 and resolve_layer(-4, 24) == 21
    for bad in (3, -4):
        with pytest.raises(ValueError, match="out of range"):
            resolve_layer(bad, 2)
    assert TrainSpec(mode="full", prompt="auto").prompt == "auto"  # finetuning reads the prompt too
    with pytest.raises(ValueError, match="layer is a frozen-mode option"):
        TrainSpec(mode="lora", layer="middle")
    assert TrainSpec(layer="-4").layer == -4  # a CLI string becomes the int
    with pytest.raises(ValueError, match="layer must be"):
        TrainSpec(layer=True)


def test_default_specs_hash_as_before():
    assert ExperimentSpec().hash() == "d8424500a47a9c8c"  # computed before prompt/layer existed
    assert content_hash(TrainSpec()) == "6078edd7ccefe2f2"
    assert ExperimentSpec(train=TrainSpec(mode="lora", max_length=64)).hash() == "2e52e4a19f393ce3"
    assert {"prompt", "layer"}.isdisjoint(TrainSpec().model_dump())
    assert TrainSpec(prompt="auto", layer=-4).model_dump()["layer"] == -4
    hashes = {ExperimentSpec(train=TrainSpec(**kw)).hash() for kw in
              ({}, {"prompt": "auto"}, {"layer": "middle"}, {"layer": -1}, {"prompt": "qa"})}
    assert len(hashes) == 5
    assert ExperimentSpec.model_validate(ExperimentSpec(train=TrainSpec(prompt="auto", layer=3)).model_dump()) \
        .train.layer == 3


# ---- features --------------------------------------------------------------------------------------
def _bare(path, texts, layer):
    """Independent reference: one unpadded forward per text, hidden_states[layer] at its last token."""
    from transformers import AutoModel, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(path)
    model = AutoModel.from_pretrained(path).eval()
    out = []
    with torch.no_grad():
        for t in texts:
            ids = torch.tensor([tok(t)["input_ids"]])
            hs = model(input_ids=ids, output_hidden_states=True).hidden_states
            out.append(hs[layer][0, -1].numpy())
    return np.stack(out)


@pytest.mark.parametrize(("prompt", "layer", "index"), [("auto", 1, 1), ("auto", "last", 2), ("none", "middle", 1),
                                                        ("qa", 0, 0), ("auto", -1, 2)])
def test_decoder_features_equal_a_bare_forward(tiny_decoder, tmp_path, prompt, layer, index):
    f = _featurizer(tiny_decoder, tmp_path, prompt=prompt, layer=layer)
    assert f.layer_index == index
    got = f(TEXTS).numpy()  # batches of 2 with padding: the last real token is read, not a pad
    _, template = template_for(prompt, "text")
    want = _bare(tiny_decoder, apply_template(template, TEXTS), index)
    np.testing.assert_allclose(got, want, atol=1e-5, rtol=1e-5)


def test_comparison_sides_read_the_comparison_template(tiny_decoder, tmp_path):
    f = _featurizer(tiny_decoder, tmp_path, prompt="auto", layer="middle")
    items = [Comparison("the movie", "was great", "was awful #1"), Comparison("", "dull plot", "charming story")]
    kind, d = item_features(f, items)
    assert kind == "comparison"
    sides = [t for c in items for t in c.texts()]
    ref = _bare(tiny_decoder, apply_template(TEMPLATES["response"], sides), 1)
    np.testing.assert_allclose(d.numpy(), ref[0::2] - ref[1::2], atol=1e-5, rtol=1e-5)
    assert f.key_for("comparison") != f.key_for("text")


def test_cache_keys_per_prompt_and_layer_and_reuse(tiny_decoder, tmp_path):
    plain = _featurizer(tiny_decoder, tmp_path)
    keys = {}
    for prompt, layer in [("none", "last"), ("auto", "last"), ("auto", "middle"), ("auto", 0), ("none", "middle"),
                          ("qa", "middle"), ("{text} ok?", "middle")]:
        keys[(prompt, layer)] = _featurizer(tiny_decoder, tmp_path, prompt=prompt, layer=layer).key
    assert len(set(keys.values())) == len(keys)
    assert keys[("none", "last")] == plain.key == content_hash("features", f"tiny:{tiny_decoder.name}", 64, "left")
    # names of the same reading share a key: -1 / 2 are the last layer of this 2-layer model, 1 its middle
    assert _featurizer(tiny_decoder, tmp_path, layer=-1).key == plain.key
    assert _featurizer(tiny_decoder, tmp_path, prompt="auto", layer=1).key == keys[("auto", "middle")]
    # computed once per text and reading; a new featurizer with the same reading reuses the cache
    a = _featurizer(tiny_decoder, tmp_path, prompt="auto", layer="middle")
    x = a(TEXTS)
    assert a.n_computed == len(TEXTS)
    a(TEXTS[:2])
    assert a.n_computed == len(TEXTS)
    b = _featurizer(tiny_decoder, tmp_path, prompt="auto", layer="middle")
    assert torch.equal(b(TEXTS), x) and b.n_computed == 0
    c = _featurizer(tiny_decoder, tmp_path, prompt="auto", layer=0)
    assert not torch.equal(c(TEXTS), x) and c.n_computed == len(TEXTS)
    p = _featurizer(tiny_decoder, tmp_path)
    assert not torch.equal(p(TEXTS), x) and p.n_computed == len(TEXTS)


def test_encoders_ignore_prompt_and_layer(tiny_encoder, tmp_path):
    plain = _featurizer(tiny_encoder, tmp_path)
    x = plain(TEXTS)
    for kw in ({"prompt": "auto"}, {"layer": "middle"}, {"prompt": "qa", "layer": 0}):
        f = _featurizer(tiny_encoder, tmp_path, **kw)
        assert f.key == plain.key and f.key_for("comparison") == plain.key and f.layer_index is None
        assert torch.equal(f(TEXTS), x) and f.n_computed == 0


# ---- sweeps and the pipeline ------------------------------------------------------------------------
def test_layer_sweep_expands_and_each_layer_has_its_own_key(tiny_decoder, tmp_path, synthetic_task):
    sweep = SweepSpec(tasks=[str(synthetic_task)], weak=[str(tiny_decoder)], strong=[str(tiny_decoder)],
                      seeds=[0], grid={"train.layer": ["last", "middle", -3], "train.prompt": ["auto"]})
    cells = expand(sweep)
    assert [c.train.layer for c in cells] == ["last", "middle", -3]
    assert {c.train.prompt for c in cells} == {"auto"} and len({c.hash() for c in cells}) == 3
    res = Resources(tmp_path)
    feats = [res.featurizer(str(tiny_decoder), c.train) for c in cells]
    assert [f.layer_index for f in feats] == [2, 1, 0]
    assert len({f.key for f in feats}) == 3


def test_pipeline_records_what_each_model_read(tmp_path, tiny_encoder, tiny_decoder, synthetic_task):
    pipe = Pipeline(tmp_path / "runs")
    splits = SplitSpec(n_weak_train=150, n_transfer=200, n_val=50, n_test=200)
    spec = ExperimentSpec(task=str(synthetic_task), weak=str(tiny_encoder), strong=str(tiny_decoder),
                          splits=splits, train=TrainSpec(prompt="auto", layer="middle"))
    rec = pipe.run(spec)
    assert (rec["prompt_strong"], rec["layer_strong"]) == ("statement", 1)
    assert (rec["prompt_weak"], rec["layer_weak"]) == ("none", 2)  # an encoder: the bare text, its last layer
    # the strong model's features were read at the prompted middle layer, not the plain ones
    f = pipe.res.featurizer(str(tiny_decoder), spec.train)
    assert f.n_computed > 0 and f.key != pipe.res.featurizer(str(tiny_decoder), TrainSpec()).key
    # ... and the ceiling is the head on exactly those features: refitted here (same l2, B's ground truth), it
    # predicts T as the cached ceiling does, and the record scores those predictions; on plain features it would not
    from w2sg.metrics import accuracy
    from w2sg.train.frozen import FrozenLearner
    from w2sg.train.losses import SoftXent

    rows = pipe.res.splits(spec)
    test_items, test_y = [r.text for r in rows.test], np.array([r.label for r in rows.test])

    def ceiling_on(train_spec):
        head = FrozenLearner(pipe.res.featurizer(str(tiny_decoder), train_spec), train_spec, l2=rec["l2_ceiling"])
        head.fit([r.text for r in rows.transfer], np.array([r.label for r in rows.transfer], dtype=float),
                 SoftXent(), seed=spec.seed)
        return head.predict(test_items)

    cached = pipe.cache.load("ceiling", pipe.keys(spec)["ceiling"])[0]["test"]
    np.testing.assert_allclose(ceiling_on(spec.train), cached, atol=1e-5)
    assert rec["ceiling_acc"] == pytest.approx(accuracy(cached, test_y, balanced=True), abs=1e-12)
    assert np.abs(ceiling_on(TrainSpec()) - cached).max() > 1e-3
    plain = pipe.run(spec.model_copy(update={"train": TrainSpec()}))
    assert (plain["prompt_strong"], plain["layer_strong"], plain["prompt_weak"]) == ("none", 2, "none")


def test_finetuning_a_decoder_reads_the_template_and_an_encoder_the_bare_text(tiny_decoder, tiny_encoder):
    """The finetune learner tokenizes what the frozen featurizer reads: each text (each side of a comparison)
    inside the template for a decoder; an encoder's texts unchanged."""
    from w2sg.train.finetune import FinetuneLearner

    name, template = template_for("sentiment", "text")
    dec = FinetuneLearner(Backbone(str(tiny_decoder)), TrainSpec(mode="full", prompt=name, max_length=64), CPU)
    _, tok, _ = dec.backbone.get()
    kind, rows = dec._rows(TEXTS[:2])
    assert kind == "text"
    assert [tok.decode(ids, skip_special_tokens=True) for ids in rows.input_ids] == [
        tok.decode(tok(t)["input_ids"], skip_special_tokens=True) for t in apply_template(template, TEXTS[:2])]
    c = Comparison("Q: hi", " fine", " bad")
    kind, pairs = dec._rows([c])
    assert kind == "comparison"
    assert pairs.texts.input_ids == [tok(t)["input_ids"] for t in apply_template(template, list(c.texts()))]
    enc = FinetuneLearner(Backbone(str(tiny_encoder)), TrainSpec(mode="full", prompt=name, max_length=64), CPU)
    _, etok, _ = enc.backbone.get()
    _, erows = enc._rows(TEXTS[:1])
    assert erows.input_ids == [etok(TEXTS[0])["input_ids"]]


def test_a_zero_shot_supervisor_records_its_own_prompt(tiny_decoder):
    """prompt_weak of a zero-shot weak LM is the prompt it answered through (its option), not train.prompt, and
    layer_weak its last layer (where the answer logits come from)."""
    from w2sg.pipeline.record import reading_record

    spec = ExperimentSpec(task="sst2", weak={"kind": "zero_shot", "model": str(tiny_decoder), "prompt": "qa"},
                          strong=str(tiny_decoder), train=TrainSpec(prompt="none", layer="middle"))
    rec = reading_record(spec, {"weak": {"prompt": "qa", "answer_tokens": [" Yes", " No"]}})
    assert (rec["prompt_weak"], rec["layer_weak"]) == ("qa", 2)
    assert (rec["prompt_strong"], rec["layer_strong"]) == ("none", 1)
