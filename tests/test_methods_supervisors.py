"""Weak ensembles, generative finetuning and the up-front method checks."""

import numpy as np
import pytest
import torch

from w2sg.config import MethodSpec, SplitSpec
from w2sg.methods import METHODS, check_method, register_method
from w2sg.pipeline import Pipeline
from w2sg.sweep import SweepSpec, expand
from w2sg.train.generative import generative_finetune, mask_tokens

from .test_pipeline_tiny import _spec, _Spy

SPLITS = SplitSpec(n_weak_train=150, n_transfer=200, n_val=50, n_test=200)


def test_weak_ensemble_trains_on_the_mean_of_its_members(tmp_path, tiny_encoder, tiny_decoder, synthetic_task):
    pipe = Pipeline(tmp_path / "runs")
    spy = _Spy(pipe)
    spec = _spec(synthetic_task, tiny_encoder, tiny_encoder).model_copy(update={"method": MethodSpec(
        name="weak_ensemble", options={"members": 3, "models": [str(tiny_decoder)], "bagging": True})})
    rec = pipe.run(spec)
    splits = pipe.splits(spec)
    a_texts = {r.text for r in splits.weak_train}
    # fits: weak, ceiling, 2 bagged refits of the weak model, 1 decoder member, the student
    names = [c[0] for c in spy.calls]
    assert names == [str(tiny_encoder)] * 4 + [str(tiny_decoder), str(tiny_encoder)]
    members = spy.calls[2:5]
    for _, texts, targets in members:  # every member trains on A (bagged refits: a resample of A)
        assert set(texts) <= a_texts and set(targets) <= {0.0, 1.0}
    assert len(set(spy.calls[2][1])) < len(a_texts)  # a bootstrap resample repeats rows
    assert spy.calls[2][1] != spy.calls[3][1]  # members draw different resamples
    weak = pipe.cache.load("weak", pipe.keys(spec)["weak"])[0]
    preds = [weak["transfer"]] + [pipe.weak_member(spec, str(tiny_encoder), m, True).transfer.weak_p1
                                  for m in (1, 2)]
    preds.append(pipe.weak_member(spec, str(tiny_decoder), 0, False).transfer.weak_p1)
    student_targets = spy.calls[-1][2]
    assert np.allclose(student_targets, np.mean(preds, axis=0), atol=1e-6)
    assert not np.allclose(student_targets, weak["transfer"])
    assert 0 <= rec["supervisor_acc"] <= 1 and rec["supervisor_auroc"] is not None
    assert "supervisor_acc" not in pipe.run(spec.model_copy(update={"method": MethodSpec(name="naive")}))


def test_weak_member_zero_is_the_weak_step(tmp_path, tiny_encoder, synthetic_task):
    pipe = Pipeline(tmp_path / "runs")
    spec = _spec(synthetic_task, tiny_encoder, tiny_encoder)
    weak = pipe.weak_step(spec)
    member = pipe.weak_member(spec, str(tiny_encoder), 0, False)
    assert np.array_equal(member.transfer.weak_p1, weak["transfer"])
    assert np.array_equal(member.test_p1, weak["test"])
    assert not hasattr(member.transfer, "labels")  # predictions only


def test_mask_tokens_follows_bert_masking():
    gen = torch.Generator().manual_seed(0)
    ids = torch.randint(10, 1000, (512, 50), generator=torch.Generator().manual_seed(1))
    attn = torch.ones_like(ids)
    attn[:, 40:] = 0
    special = torch.zeros_like(ids, dtype=torch.bool)
    special[:, 0] = True
    inputs, labels = mask_tokens(ids, attn, special, mask_id=3, vocab=1000, probability=0.15, gen=gen)
    chosen = labels != -100
    assert not chosen[:, 0].any() and not chosen[:, 40:].any()  # never special tokens or padding
    assert abs(chosen.float().sum() / (512 * 39) - 0.15) < 0.01
    assert torch.equal(labels[chosen], ids[chosen])
    masked = (inputs == 3) & chosen
    assert 0.77 < masked.sum() / chosen.sum() < 0.83  # 80% -> [MASK]
    assert torch.equal(inputs[~chosen], ids[~chosen])  # unchosen tokens untouched


@pytest.mark.parametrize("fixture,objective", [("tiny_encoder", "mlm"), ("tiny_decoder", "clm")])
def test_generative_finetuning_lowers_the_lm_loss(request, fixture, objective):
    from .conftest import synthetic_rows

    path = str(request.getfixturevalue(fixture))
    texts = [r["review"] for r in synthetic_rows(64, seed=5)]
    pooling = "mean" if objective == "mlm" else "last"
    from transformers import AutoModel

    before = AutoModel.from_pretrained(path).state_dict()
    base, tok, res = generative_finetune(path, pooling, texts, max_length=32, epochs=6, lr=3e-3, head_lr=3e-3,
                                         batch_size=16, seed=0)
    assert res.objective == objective and res.steps == 24
    assert res.last_loss < 0.8 * res.first_loss
    after = base.state_dict()
    assert any(not torch.equal(before[k], after[k]) for k in before if k in after)
    assert type(base).__name__ == type(AutoModel.from_pretrained(path)).__name__


@pytest.mark.parametrize("mode", ["frozen", "full"])
def test_generative_finetune_adapts_on_student_texts_only(tmp_path, tiny_encoder, synthetic_task, monkeypatch,
                                                          mode):
    import w2sg.train.generative as gen

    seen = {}
    real = gen.generative_finetune

    def spy(path, pooling, texts, **kw):
        seen["texts"] = list(texts)
        return real(path, pooling, texts, **kw)

    monkeypatch.setattr(gen, "generative_finetune", spy)
    pipe = Pipeline(tmp_path / "runs")
    fits = []
    orig = pipe.learner_on

    def learner_on(backbone, identity, spec, **student):
        learner = orig(backbone, identity, spec, **student)
        fit = learner.fit
        learner.fit = lambda texts, targets, *a, **k: (fits.append((backbone, np.asarray(targets))),
                                                         fit(texts, targets, *a, **k))[1]
        return learner

    pipe.learner_on = learner_on
    spec = _spec(synthetic_task, tiny_encoder, tiny_encoder, mode=mode).model_copy(update={
        "method": MethodSpec(name="generative_finetune", options={"epochs": 1, "batch_size": 32}),
        "splits": SPLITS})
    rec = pipe.run(spec)
    splits = pipe.splits(spec)
    assert set(seen["texts"]) == {r.text for r in splits.transfer + splits.val}  # never A's or T's texts
    weak = pipe.cache.load("weak", pipe.keys(spec)["weak"])[0]
    (backbone, targets), = fits  # one student, on the adapted backbone, trained on the weak labels
    assert np.allclose(targets, weak["transfer"])
    assert backbone._loaded is not None and backbone._loaded[0] is not pipe._backbone(str(tiny_encoder)).get()[0]
    assert 0 <= rec["student_acc"] <= 1


def test_generative_then_must_be_a_non_oracle_method():

    from w2sg.methods import get_method

    cfg_cls = get_method("generative_finetune").config_cls
    with pytest.raises(ValueError, match="non-oracle"):
        cfg_cls(then="early_stop_oracle")
    with pytest.raises(ValueError):
        cfg_cls(then="confidence", then_options={"a_maxx": 0.3})
    assert cfg_cls(then="confidence", then_options={"a_max": 0.3}).then == "confidence"


def test_a_method_that_cannot_run_in_a_mode_says_so_before_any_work(tmp_path, tiny_encoder, synthetic_task):
    register_method("frozen_only_test", "test method", modes=("frozen",))(lambda *a: None)
    try:
        spec = _spec(synthetic_task, tiny_encoder, tiny_encoder, mode="full", method="frozen_only_test")
        pipe = Pipeline(tmp_path / "runs")
        with pytest.raises(ValueError, match="cannot run in full mode.*supports: frozen"):
            pipe.run(spec)
        assert not (tmp_path / "runs" / "cache" / "weak").exists()  # nothing was computed
        with pytest.raises(ValueError, match="cannot run in full mode"):
            expand(SweepSpec(tasks=[str(synthetic_task)], methods=["frozen_only_test"], train={"mode": "full"}))
    finally:
        METHODS.pop("frozen_only_test")


def test_bad_options_and_missing_prerequisites_fail_up_front(tiny_encoder, synthetic_task):
    spec = _spec(synthetic_task, tiny_encoder, tiny_encoder)
    with pytest.raises(ValueError, match="method 'confidence': invalid options"):
        check_method(spec.model_copy(update={"method": MethodSpec(name="confidence", options={"amax": 1})}))
    with pytest.raises(ValueError, match="n_extra"):
        check_method(spec.model_copy(update={"method": MethodSpec(name="bootstrap", options={"chain": ["x"]})}))
    with pytest.raises(ValueError, match="n_extra"):
        expand(SweepSpec(methods=[{"name": "bootstrap", "options": {"chain": ["minilm"]}}]))


def test_s2s_relabel_trains_each_round_on_the_previous_students_predictions(tmp_path, tiny_encoder,
                                                                            synthetic_task):
    pipe = Pipeline(tmp_path / "runs")
    spy = _Spy(pipe)
    spec = _spec(synthetic_task, tiny_encoder, tiny_encoder).model_copy(
        update={"method": MethodSpec(name="s2s_relabel", options={"rounds": 2})})
    pipe.run(spec)
    students = spy.calls[2:]  # after the weak model and the ceiling
    weak = pipe.cache.load("weak", pipe.keys(spec)["weak"])[0]
    assert len(students) == 3 and all(s[1] == students[0][1] for s in students)
    assert np.allclose(students[0][2], weak["transfer"])
    for prev, (_, texts, targets) in zip(spy.learners[2:], students[1:], strict=False):
        assert np.allclose(targets, prev.predict(texts), atol=1e-6)  # targets: the last student's P(y=1)
    assert not np.allclose(students[1][2], students[0][2])


def test_naive_hard_trains_on_thresholded_weak_labels(tmp_path, tiny_encoder, synthetic_task):
    from w2sg.train.losses import HardXent

    pipe = Pipeline(tmp_path / "runs")
    spy = _Spy(pipe)
    pipe.run(_spec(synthetic_task, tiny_encoder, tiny_encoder, method="naive_hard"))
    targets, loss = spy.calls[-1][2], spy.losses[-1]
    assert isinstance(loss, HardXent)
    t = loss.batch_targets(torch.zeros(len(targets), 2), torch.as_tensor(targets), 0.0)[:, 1]
    assert torch.equal(t, torch.as_tensor((targets >= 0.5).astype(np.float32)))
