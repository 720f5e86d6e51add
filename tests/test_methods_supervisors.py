"""Supervisor kinds (ensemble, chain, synthetic), method chains (generative finetuning), up-front checks."""

import numpy as np
import pytest
import torch

from w2sg.config import ExperimentSpec, MethodSpec, SplitSpec
from w2sg.methods import METHODS, check_method, register_method
from w2sg.pipeline import Pipeline
from w2sg.sweep import SweepSpec, expand
from w2sg.train.generative import generative_finetune, mask_tokens

from .conftest import FitSpy, tiny_spec

SPLITS = SplitSpec(n_weak_train=150, n_transfer=200, n_val=50, n_test=200)


def _balanced_acc(p, y) -> float:
    """Mean per-class recall of P(y=1) > 0.5 (the record's accuracy on T), by hand."""
    hard, y = np.asarray(p) > 0.5, np.asarray(y)
    return 0.5 * (hard[y == 1].mean() + (~hard[y == 0]).mean())


def test_ensemble_supervisor_averages_its_members(tmp_path, tiny_encoder, tiny_decoder, synthetic_task):
    pipe = Pipeline(tmp_path / "runs")
    spy = FitSpy(pipe)
    weak = {"kind": "ensemble", "model": str(tiny_encoder), "members": 3, "models": [str(tiny_decoder)],
            "bagging": True}
    spec = tiny_spec(synthetic_task, tiny_encoder, tiny_encoder).model_copy(update={"weak": ExperimentSpec(
        weak=weak).weak})
    rec = pipe.run(spec)
    splits = pipe.splits(spec)
    a_texts = {r.text for r in splits.weak_train}
    # fits: the weak model, 2 bagged refits of it, 1 decoder member (the supervisor), the ceiling, the student
    names = [c[0] for c in spy.calls]
    assert names == [str(tiny_encoder)] * 3 + [str(tiny_decoder)] + [str(tiny_encoder)] * 2
    members = spy.calls[:4]
    for _, texts, targets in members:  # every member trains on A (bagged refits: a resample of A)
        assert set(texts) <= a_texts and set(targets) <= {0.0, 1.0}
    assert len(set(spy.calls[1][1])) < len(a_texts)  # a bootstrap resample repeats rows
    assert spy.calls[1][1] != spy.calls[2][1]  # members draw different resamples
    # each member's output is cached on its own; the supervision is their mean, and the student trains on it
    plain = pipe.weak_step(spec.model_copy(update={"weak": str(tiny_encoder)}))
    sup = pipe.weak_step(spec)
    preds = [spy.learners[i].predict([r.text for r in splits.transfer]) for i in range(4)]
    assert np.allclose(preds[0], plain["transfer"], atol=1e-6)
    assert np.allclose(sup["transfer"], np.mean(preds, axis=0), atol=1e-6)
    assert np.allclose(spy.calls[-1][2], sup["transfer"], atol=1e-6)
    # the ensemble is the supervisor: its own test predictions are the PGR floor, and the record names it
    assert rec["weak"].startswith("ensemble(") and rec["supervisor_kind"] == "ensemble"
    labels = np.array([r.label for r in splits.test])
    assert rec["weak_acc"] == pytest.approx(
        0.5 * (((sup["test"] > 0.5) & (labels == 1)).sum() / (labels == 1).sum()
               + ((sup["test"] <= 0.5) & (labels == 0)).sum() / (labels == 0).sum()), abs=1e-6)


def test_an_ensemble_of_one_is_the_model_supervisor(tmp_path, tiny_encoder, synthetic_task):
    pipe = Pipeline(tmp_path / "runs")
    spec = tiny_spec(synthetic_task, tiny_encoder, tiny_encoder)
    weak = pipe.weak_step(spec)
    one = pipe.weak_step(spec.model_copy(update={"weak": ExperimentSpec(
        weak={"kind": "ensemble", "model": str(tiny_encoder), "members": 1}).weak}))
    for k in ("transfer", "val", "test"):
        assert np.array_equal(one[k], weak[k])


def test_model_mapping_is_the_alias_shorthand(tiny_encoder):
    a = ExperimentSpec(weak=str(tiny_encoder))
    b = ExperimentSpec(weak={"kind": "model", "model": str(tiny_encoder)})
    assert a == b and a.hash() == b.hash() and b.weak == str(tiny_encoder)


def test_synthetic_supervisor_runs_end_to_end_with_its_error_rate(tmp_path, tiny_encoder, synthetic_task):
    from w2sg.store import ResultsStore

    pipe = Pipeline(tmp_path / "runs")
    spy = FitSpy(pipe)
    base = tiny_spec(synthetic_task, tiny_encoder, tiny_encoder)
    spec = base.model_copy(update={"weak": ExperimentSpec(weak={"kind": "synthetic", "error_rate": 0.25}).weak})
    rec = pipe.run(spec)
    assert [c[0] for c in spy.calls] == [str(tiny_encoder)] * 2  # no weak model: ceiling and student only
    splits = pipe.splits(spec)
    y = np.array([r.label for r in splits.transfer])
    sup = pipe.weak_step(spec)
    assert set(np.unique(sup["transfer"])) <= {0.0, 1.0}
    assert (sup["transfer"] != y).sum() == 50  # exactly round(0.25 * 200) wrong labels
    y_test = np.array([r.label for r in splits.test])
    assert (sup["test"] != y_test).sum() == 50
    assert abs(rec["weak_acc"] - 0.75) < 0.05  # the PGR floor is the supervisor's own (balanced) accuracy on T
    np.testing.assert_array_equal(spy.calls[-1][2], sup["transfer"])  # the student sees the flipped labels
    assert rec["weak"] == "synthetic(error_rate=0.25)" and rec["supervisor"] == rec["weak"]
    assert rec["supervisor_kind"] == "synthetic"
    stored = ResultsStore(tmp_path / "runs" / "results.sqlite").records()[0]
    assert stored["spec"]["weak"] == {"kind": "synthetic", "error_rate": 0.25}
    # another error rate is another supervisor (its own cache key); the ceiling is shared
    rec2 = pipe.run(base.model_copy(update={"weak": ExperimentSpec(
        weak={"kind": "synthetic", "error_rate": 0.0}).weak}))
    assert rec2["weak_acc"] == 1.0 and rec2["cached_ceiling"] and not rec2["cached_weak"]


def test_bad_supervisor_options_fail_before_any_work(tmp_path, tiny_encoder, synthetic_task):
    from w2sg.supervisors import check_supervisor

    spec = tiny_spec(synthetic_task, tiny_encoder, tiny_encoder)
    with pytest.raises(ValueError, match="supervisor kind 'oracle' not found"):
        check_supervisor(ExperimentSpec(weak={"kind": "oracle"}))
    with pytest.raises(ValueError, match="'synthetic': invalid options.*error_rat"):
        check_supervisor(ExperimentSpec(weak={"kind": "synthetic", "error_rat": 0.1}))
    with pytest.raises(ValueError, match="n_extra"):
        check_supervisor(spec.model_copy(update={"weak": ExperimentSpec(
            weak={"kind": "chain", "model": "minilm", "rungs": ["x"]}).weak}))
    with pytest.raises(ValueError, match="n_extra"):
        expand(SweepSpec(weak=[{"kind": "chain", "model": "minilm", "rungs": ["mpnet"]}]))
    with pytest.raises(ValueError, match="supervisor kind: use weak: {kind: chain"):
        check_method(spec.model_copy(update={"method": MethodSpec(name="bootstrap")}))
    with pytest.raises(ValueError, match="kind: ensemble"):
        check_method(spec.model_copy(update={"method": MethodSpec(name="weak_ensemble")}))


def test_chain_supervisor_bootstraps_through_fresh_slices(tmp_path, tiny_encoder, tiny_decoder, synthetic_task):
    pipe = Pipeline(tmp_path / "runs")
    spy = FitSpy(pipe)
    splits_spec = SplitSpec(n_weak_train=150, n_transfer=200, n_val=50, n_test=200, n_extra=100)
    plain = tiny_spec(synthetic_task, tiny_encoder, tiny_encoder).model_copy(update={"splits": splits_spec})
    spec = plain.model_copy(update={"weak": ExperimentSpec(
        weak={"kind": "chain", "model": str(tiny_encoder), "rungs": [str(tiny_decoder)]}).weak})
    rec = pipe.run(spec)
    assert rec["n_extra"] == 100
    (_, a_texts, _), (rung, r_texts, r_targets), (_, b_texts, _), (student, s_texts, s_targets) = spy.calls
    weak = pipe.weak_step(plain)  # the chain's first link is the plain weak model (shared cache entry)
    splits = pipe.splits(spec)
    assert rung == str(tiny_decoder) and student == str(tiny_encoder)
    assert r_texts == [r.text for r in splits.extra] and np.allclose(r_targets, weak["extra"])
    assert not set(r_texts) & set(b_texts)  # the rung trains on a fresh slice, not on B
    assert s_texts == b_texts  # the student trains on the ceiling's rows ...
    assert not np.allclose(s_targets, weak["transfer"])  # ... labelled by the rung, not by the weak model
    chain = pipe.weak_step(spec)
    assert np.array_equal(chain["test"], weak["test"])  # PGR floor: the weak model the chain starts from
    y_test = np.array([r.label for r in splits.test])
    # the record scores the last rung's own test predictions as the supervisor, the weak model as the floor
    assert not np.allclose(chain["labeller_test"], chain["test"])
    assert rec["supervisor_acc"] == pytest.approx(_balanced_acc(chain["labeller_test"], y_test), abs=1e-9)
    assert rec["weak_acc"] == pytest.approx(_balanced_acc(chain["test"], y_test), abs=1e-9)
    student = pipe.cache.load("student", pipe.keys(spec)["student"])[0]["test"]
    assert rec["student_acc"] == pytest.approx(_balanced_acc(student, y_test), abs=1e-9)
    with pytest.raises(ValueError, match="--n-extra"):
        pipe.run(spec.model_copy(update={"splits": SplitSpec(n_weak_train=150, n_transfer=200, n_val=50,
                                                              n_test=200)}))


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
    orig = pipe.res.learner_on

    def learner_on(backbone, identity, spec, **student):
        learner = orig(backbone, identity, spec, **student)
        fit = learner.fit
        learner.fit = lambda texts, targets, *a, **k: (fits.append((backbone, np.asarray(targets))),
                                                         fit(texts, targets, *a, **k))[1]
        return learner

    pipe.res.learner_on = learner_on
    spec = tiny_spec(synthetic_task, tiny_encoder, tiny_encoder, mode=mode).model_copy(update={
        "method": MethodSpec.model_validate([{"name": "generative_finetune", "options": {"epochs": 1,
                                              "batch_size": 32}}, "naive"]),
        "splits": SPLITS})
    rec = pipe.run(spec)
    splits = pipe.splits(spec)
    assert set(seen["texts"]) == {r.text for r in splits.transfer + splits.val}  # never A's or T's texts
    weak = pipe.cache.load("weak", pipe.keys(spec)["weak"])[0]
    (backbone, targets), = fits  # one student, on the adapted backbone, trained on the weak labels
    assert np.allclose(targets, weak["transfer"])
    assert backbone._loaded is not None and backbone._loaded[0] is not pipe.res.backbone(str(tiny_encoder)).get()[0]
    assert rec["method"] == "generative_finetune(batch_size=32,epochs=1)+naive"
    # the record scores the adapted student's own test predictions
    student = pipe.cache.load("student", pipe.keys(spec)["student"])[0]["test"]
    assert rec["student_acc"] == pytest.approx(_balanced_acc(student, [r.label for r in splits.test]), abs=1e-9)


def test_method_chains_put_adapters_first(tiny_encoder, synthetic_task):
    spec = tiny_spec(synthetic_task, tiny_encoder, tiny_encoder)

    def chain(text):
        return spec.model_copy(update={"method": MethodSpec.model_validate(text)})

    stages = check_method(chain("generative_finetune+confidence"))
    assert [m.name for m, _ in stages] == ["generative_finetune", "confidence"]
    assert chain("generative_finetune+confidence").method.label == "generative_finetune+confidence"
    with pytest.raises(ValueError, match="must be followed by a method that trains the student"):
        check_method(chain("generative_finetune"))
    with pytest.raises(ValueError, match="must be the last stage"):
        check_method(chain("naive+confidence"))
    with pytest.raises(ValueError, match="invalid options"):
        check_method(spec.model_copy(update={"method": MethodSpec.model_validate(
            [{"name": "generative_finetune", "options": {"then": "naive"}}, "naive"])}))
    from w2sg.methods import is_oracle

    assert is_oracle(check_method(chain("generative_finetune+early_stop_oracle")))
    # a single method serialises exactly as before chains existed (so stored hashes stay valid)
    assert "then" not in MethodSpec(name="naive").model_dump()


def test_a_method_that_cannot_run_in_a_mode_says_so_before_any_work(tmp_path, tiny_encoder, synthetic_task):
    register_method("frozen_only_test", "test method", modes=("frozen",))(lambda *a: None)
    try:
        spec = tiny_spec(synthetic_task, tiny_encoder, tiny_encoder, mode="full", method="frozen_only_test")
        pipe = Pipeline(tmp_path / "runs")
        with pytest.raises(ValueError, match="cannot run in full mode.*supports: frozen"):
            pipe.run(spec)
        assert not (tmp_path / "runs" / "cache" / "weak").exists()  # nothing was computed
        with pytest.raises(ValueError, match="cannot run in full mode"):
            expand(SweepSpec(tasks=[str(synthetic_task)], methods=["frozen_only_test"], train={"mode": "full"}))
    finally:
        METHODS.pop("frozen_only_test")


def test_bad_options_fail_up_front(tiny_encoder, synthetic_task):
    spec = tiny_spec(synthetic_task, tiny_encoder, tiny_encoder)
    with pytest.raises(ValueError, match="method 'confidence': invalid options"):
        check_method(spec.model_copy(update={"method": MethodSpec(name="confidence", options={"amax": 1})}))


def test_s2s_relabel_trains_each_round_on_the_previous_students_predictions(tmp_path, tiny_encoder,
                                                                            synthetic_task):
    pipe = Pipeline(tmp_path / "runs")
    spy = FitSpy(pipe)
    spec = tiny_spec(synthetic_task, tiny_encoder, tiny_encoder).model_copy(
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
    spy = FitSpy(pipe)
    pipe.run(tiny_spec(synthetic_task, tiny_encoder, tiny_encoder, method="naive_hard"))
    targets, loss = spy.calls[-1][2], spy.losses[-1]
    assert isinstance(loss, HardXent)
    t = loss.batch_targets(torch.zeros(len(targets), 2), torch.as_tensor(targets), 0.0)[:, 1]
    assert torch.equal(t, torch.as_tensor((targets >= 0.5).astype(np.float32)))
