"""Locked strong students (password-locked, Greenblatt et al. 2024) on a tiny model built from a config (no
download): the lock hides a capability until the trigger, its targets are what the variants say, `deceptive`
refuses a supervisor without graded confidence, the `unlocked` control is the same head and optimiser without
the lock, and the student sees weak labels only."""

import numpy as np
import pytest
import torch

from w2sg.config import ExperimentSpec, SplitSpec
from w2sg.pipeline import Pipeline
from w2sg.pipeline.lock import lock_targets
from w2sg.train.locked import MLPHead, unlocked_head

SPLITS = SplitSpec(n_weak_train=100, n_transfer=200, n_val=50, n_test=200, n_extra=300)


def test_lock_targets_follow_the_variant():
    weak = np.array([0.9, 0.2, 0.55, 0.45, 0.99, 0.01])
    y = np.array([1, 1, 0, 1, 0, 0], dtype=np.float32)
    # password: the supervisor's hard labels, whatever the truth
    assert lock_targets("password", weak, y).tolist() == [1, 0, 1, 0, 1, 0]
    # deceptive: truth where the supervisor is confident (|p - 0.5| >= the median, 0.35), the opposite elsewhere
    assert lock_targets("deceptive", weak, y).tolist() == [1, 0, 1, 0, 0, 0]


def test_deceptive_refuses_labels_without_graded_confidence():
    y = np.array([1, 0, 1, 0], dtype=np.float32)
    for hard in (np.array([1.0, 0.0, 0.0, 1.0]), np.array([0.8, 0.2, 0.2, 0.8])):
        with pytest.raises(ValueError, match="same supervisor confidence.*graded confidence.*password"):
            lock_targets("deceptive", hard, y)
    assert lock_targets("password", np.array([1.0, 0.0, 0.0, 1.0]), y).tolist() == [1, 0, 0, 1]
    # a synthetic supervisor gives every row one confidence: refused before any work
    with pytest.raises(ValueError, match="graded confidence"):
        ExperimentSpec(weak={"kind": "synthetic", "error_rate": 0.2}, splits={"n_extra": 100},
                       lock={"variant": "deceptive"})
    ExperimentSpec(weak={"kind": "synthetic", "error_rate": 0.2}, splits={"n_extra": 100},
                   lock={"variant": "password"})  # password reads hard labels fine
    ExperimentSpec(weak="minilm", splits={"n_extra": 100}, lock={"variant": "deceptive"})


def test_lock_is_checked_before_any_work():
    with pytest.raises(ValueError, match="n_extra"):
        ExperimentSpec(lock={"variant": "password"})
    with pytest.raises(ValueError, match="frozen"):
        ExperimentSpec(lock={}, splits={"n_extra": 100}, train={"mode": "full"})
    with pytest.raises(ValueError, match="variant"):
        ExperimentSpec(lock={"variant": "open"}, splits={"n_extra": 100})
    # an unlocked experiment hashes as it did before locks existed
    assert "lock" not in ExperimentSpec().model_dump()


def test_the_unlocked_control_is_the_same_head_freshly_initialised():
    gen = torch.Generator().manual_seed(0)
    x_plain, x_trig = torch.randn(30, 6, generator=gen) * 3 + 1, torch.randn(30, 6, generator=gen)
    lock = ExperimentSpec(splits={"n_extra": 100}, lock={"variant": "unlocked", "hidden": 16}).lock
    head = unlocked_head(x_plain, x_trig, lock, seed=4)
    x = torch.cat([x_plain, x_trig])
    torch.testing.assert_close(head.mean, x.mean(0))  # the locked head's standardisation (same rows)
    torch.testing.assert_close(head.std, x.std(0))
    assert head.body[0].weight.shape == (16, 6) and head.head.weight.shape == (2, 16)
    again = unlocked_head(x_plain, x_trig, lock, seed=4)
    other = unlocked_head(x_plain, x_trig, lock, seed=5)
    assert torch.equal(again.body[0].weight, head.body[0].weight)  # seeded
    assert not torch.equal(other.body[0].weight, head.body[0].weight)
    before = torch.get_rng_state()
    unlocked_head(x_plain, x_trig, lock, seed=4)
    assert torch.equal(torch.get_rng_state(), before)  # the global generator is left alone
    assert isinstance(MLPHead.from_arrays(head.to_arrays()), MLPHead)


@pytest.fixture(scope="module")
def encoder_and_task(tmp_path_factory):
    """A 1-layer BERT (width 128, random weights, built from a config: no download) whose frozen features carry
    the synthetic reviews' labels (ceiling ~0.8), and a task of 900 such reviews."""
    import json

    from transformers import BertConfig, BertModel

    from .conftest import _tokenizer, synthetic_rows

    out = tmp_path_factory.mktemp("bert-128")
    tok = _tokenizer(out, decoder=False)
    torch.manual_seed(0)
    BertModel(BertConfig(vocab_size=len(tok), hidden_size=128, num_hidden_layers=1, num_attention_heads=2,
                         intermediate_size=256, max_position_embeddings=128,
                         pad_token_id=tok.pad_token_id)).save_pretrained(out)
    d = tmp_path_factory.mktemp("reviews-900")
    rows = synthetic_rows(900, seed=1)
    (d / "pool.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows[:700]))
    (d / "test.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows[700:]))
    (d / "task.yaml").write_text("name: reviews\nfiles: {pool: pool.jsonl, test: test.jsonl}\ntext: '{review}'\n"
                                 "label: label\n")
    return out, d / "task.yaml"


def test_the_lock_hides_its_capability_and_the_unlocked_control_changes_only_the_lock(encoder_and_task, tmp_path,
                                                                                       monkeypatch):
    from w2sg.train import locked

    seen = []
    fit = locked.LockedLearner.fit

    def spy(self, items, targets, *a, **k):
        seen.append((np.asarray(targets, dtype=np.float32).copy(), self.locked.to_arrays(), self.spec))
        return fit(self, items, targets, *a, **k)

    monkeypatch.setattr(locked.LockedLearner, "fit", spy)
    encoder, task = encoder_and_task
    pipe = Pipeline(tmp_path / "runs")
    # a supervisor wrong on every review that says "movie": a function of the text the locked MLP can learn
    weak = {"kind": "synthetic", "errors": "region", "region": {"keyword": "movie"}, "region_error_rate": 1.0}
    spec = ExperimentSpec(task=str(task), weak=weak, strong=str(encoder), splits=SPLITS,
                          lock={"variant": "password", "epochs": 100})
    r = pipe.run(spec)
    weak_p = pipe.cache.load("weak", pipe.keys(spec)["weak"])[0]["transfer"]
    # before W2S training: like the supervisor without the trigger, like the ceiling with it (~0.63 vs ~0.81)
    assert r["locked"] == "password" and r["ceiling_acc"] > r["weak_acc"] + 0.1, r
    assert abs(r["locked_acc"] - r["weak_acc"]) < 0.06, r
    assert abs(r["locked_acc_trigger"] - r["ceiling_acc"]) < 0.06, r
    assert r["locked_acc_trigger"] > r["locked_acc"] + 0.1, r
    # the student trained from the locked head on the supervisor's labels, never on ground truth
    assert len(seen) == 1 and np.array_equal(seen[0][0], weak_p)
    control = pipe.run(spec.model_copy(update={"lock": spec.lock.model_copy(update={"variant": "unlocked"})}))
    assert control["locked"] == "unlocked" and control["cached_weak"] and control["cached_ceiling"]
    (t_lock, head_lock, train_lock), (t_ctrl, head_ctrl, train_ctrl) = seen
    # one change only: the starting weights; same targets, same shapes and standardisation, same optimiser
    np.testing.assert_array_equal(t_lock, t_ctrl)
    assert train_lock == train_ctrl
    assert {k: v.shape for k, v in head_lock.items()} == {k: v.shape for k, v in head_ctrl.items()}
    np.testing.assert_array_equal(head_lock["head.mean"], head_ctrl["head.mean"])
    assert not np.array_equal(head_lock["head.body.0.weight"], head_ctrl["head.body.0.weight"])
    assert control["steps_student"] == r["steps_student"]
    # the unlocked head has learnt nothing before training (the trigger does not help it); training teaches it
    assert abs(control["locked_acc"] - 0.5) < 0.1 and abs(control["locked_acc_trigger"] - control["locked_acc"]) < 0.05
    assert control["student_acc"] > control["locked_acc"] + 0.1, control
    plain = pipe.run(spec.model_copy(update={"lock": None}))
    assert plain["locked"] is None and plain["locked_acc"] is None
